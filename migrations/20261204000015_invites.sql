-- A manager invites a person by link (issue 20): single use, expiring, revocable; the token is
-- kept only as its SHA-256.
create table invites (
    company_id  uuid not null references companies (id),
    id          uuid not null,
    token_hash  bytea not null unique,
    role        text not null check (role in ('technician', 'sales_rep', 'manager')),
    created_by  uuid not null,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    used_at     timestamptz,
    used_by     uuid,
    revoked_at  timestamptz,
    primary key (company_id, id)
);
