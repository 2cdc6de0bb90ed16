-- Companies, their people, sign-in sessions and the sign-in attempt log.
--
-- Tenant tables lead their keys with company_id so the schema can later be distributed by
-- company (Citus) without a rewrite. `users` is the exception that proves the rule: sign-in
-- looks a person up by email alone, so email is unique across companies; the table is small
-- and would be a reference table.

create table companies (
    id          uuid primary key,
    name        text not null check (length(name) between 1 and 200),
    -- One IANA zone per company: periods and "today" in the metrics follow it.
    time_zone   text not null default 'America/Chicago',
    created_at  timestamptz not null default now()
);

create table users (
    company_id     uuid not null references companies (id),
    id             uuid not null,
    email          text not null check (email = lower(email) and position('@' in email) > 1),
    name           text not null check (length(name) between 1 and 100),
    role           text not null check (role in ('technician', 'sales_rep', 'manager')),
    password_hash  text not null,
    active         boolean not null default true,
    created_at     timestamptz not null default now(),
    created_by     uuid,
    primary key (company_id, id)
);
create unique index users_email_key on users (email);
create unique index users_id_key on users (id);

-- A session is a random token in an HttpOnly cookie; only its SHA-256 is stored, so a leaked
-- table cannot be replayed as cookies.
create table sessions (
    token_hash    bytea primary key,
    company_id    uuid not null,
    user_id       uuid not null,
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    expires_at    timestamptz not null,
    user_agent    text,
    foreign key (company_id, user_id) references users (company_id, id) on delete cascade
);
create index sessions_user_idx on sessions (company_id, user_id);
create index sessions_expiry_idx on sessions (expires_at);

-- Every sign-in attempt, for the per-account and per-IP limits (and for an audit trail).
create table login_attempts (
    id            bigint generated always as identity primary key,
    email         text not null,
    ip            text not null,
    succeeded     boolean not null,
    attempted_at  timestamptz not null default now()
);
create index login_attempts_email_idx on login_attempts (email, attempted_at);
create index login_attempts_ip_idx on login_attempts (ip, attempted_at);
