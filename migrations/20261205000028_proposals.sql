-- The customer's proposal (issue 22): what the company prints under every proposal, the name the
-- customer printed beside their signature, and the links a customer opens their copy at.

-- Terms and conditions a manager writes once (Settings → Company); every proposal shows them.
alter table companies add column proposal_terms text not null default '';

-- The customer's printed name, written with the signature (consultation.update_fields).
alter table consultations add column signed_name text;

-- A copy's link: an unguessable token (32 random bytes, base64url) for one consultation. One per
-- consultation, made on the first "send a copy" and reused after, so a link sent twice is the
-- same link. The page behind it is read-only and reads the consultation as it is now.
create table proposal_links (
    token            text primary key,
    company_id       uuid not null references companies (id),
    consultation_id  uuid not null,
    created_by       uuid not null,
    created_at       timestamptz not null default now(),
    revoked_at       timestamptz,
    unique (company_id, consultation_id)
);
