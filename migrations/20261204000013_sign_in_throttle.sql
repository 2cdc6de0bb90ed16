-- The sign-in throttle (server/src/auth/rate_limit.rs). An attempt is recorded as a failure
-- before its password is checked and marked succeeded after, so parallel guesses count each
-- other; `client` is who tried: a device that signed into the account before ("device:" + the
-- hash of its cookie) or else the address ("ip:" + address).
alter table login_attempts add column client text;
create index login_attempts_client_idx on login_attempts (email, client, attempted_at);

-- Devices that signed into an account: their owner is throttled by their own failures only,
-- never locked out by a stranger's.
create table known_devices (
    token_hash   bytea not null,
    email        text not null,
    created_at   timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    primary key (token_hash, email)
);
