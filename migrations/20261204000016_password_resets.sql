-- A manager issues a one-time password-reset link for a person of their company (issue 20):
-- single use, 24 hours, kept only as the token's SHA-256.
create table password_resets (
    company_id  uuid not null,
    id          uuid not null,
    user_id     uuid not null,
    token_hash  bytea not null unique,
    created_by  uuid not null,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    used_at     timestamptz,
    primary key (company_id, id),
    foreign key (company_id, user_id) references users (company_id, id)
);
