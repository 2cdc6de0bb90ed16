-- Web Push (issue 21): the server's VAPID key pair, each device's subscription, and which kinds
-- of notice each person has turned off.

-- One key pair per deployment, made by the server on its first start (`push::vapid`). A new key
-- would orphan every subscription (browsers bind a subscription to the key), so it is never
-- rotated by the server itself.
create table push_vapid_key (
    id           boolean primary key default true check (id),
    private_key  bytea not null check (length(private_key) = 32),
    created_at   timestamptz not null default now()
);

-- A device's push subscription belongs to the session that made it: signing out, a password
-- change elsewhere, deactivation or expiry deletes the session and, with it, the subscription,
-- so a signed-out phone is never sent a customer's name.
create table push_subscriptions (
    id            uuid primary key,
    company_id    uuid not null,
    user_id       uuid not null,
    session_hash  bytea not null references sessions (token_hash) on delete cascade,
    endpoint      text not null unique check (length(endpoint) between 1 and 2048),
    p256dh        bytea not null check (length(p256dh) = 65),
    auth          bytea not null check (length(auth) = 16),
    user_agent    text check (length(user_agent) <= 512),
    created_at    timestamptz not null default now(),
    last_sent_at  timestamptz,
    -- Refusals in a row from the push service other than "gone"; at 5 the subscription is dropped.
    failures      integer not null default 0,
    foreign key (company_id, user_id) references users (company_id, id) on delete cascade
);
create index push_subscriptions_user_idx on push_subscriptions (company_id, user_id);

alter table users add column notify_off text[] not null default '{}'
    check (notify_off <@ array['new_lead', 'visit', 'follow_up']);
