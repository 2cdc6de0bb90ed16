-- The sales domain and the sync bookkeeping (docs/sync.md).
--
-- Every synced table carries the same columns:
--   company_id, id              the key (id is a UUIDv7 made on the device)
--   version                     the company version of the push that last changed the row
--   deleted                     tombstone: deletes are kept, and win
--   scope_users                 non-managers who may see the row (managers see the company)
--   field_versions              {"field": [version, "client_id"]} of the last write of each
--                               field, for per-field last-writer-wins and conflict detection
--   created_by/at, updated_by/at

-- One row per company: the commit-ordered version. A push takes it with a row lock held to
-- commit, so versions become visible in order and `version > cookie` never skips a row.
create table company_versions (
    company_id  uuid primary key references companies (id),
    version     bigint not null default 0
);
insert into company_versions (company_id) select id from companies;
create function company_versions_row() returns trigger language plpgsql as $$
begin
    insert into company_versions (company_id) values (new.id) on conflict do nothing;
    return new;
end $$;
create trigger companies_version_row after insert on companies
    for each row execute function company_versions_row();

-- Takes the company's next version. The row lock it takes is held to commit: the writers of one
-- company queue here, and their versions become visible in order.
create function next_company_version(company uuid) returns bigint language sql as $$
    update company_versions set version = version + 1 where company_id = company returning version
$$;

-- A person's scope epoch: bumped when what they may see shrinks, which resets their devices.
alter table users add column scope_epoch bigint not null default 0;
alter table users add column version bigint not null default 0;
-- People who existed before sync must reach devices too: give them version 1.
update users set version = 1;
update company_versions set version = greatest(version, 1);

create table customers (
    company_id      uuid not null references companies (id),
    id              uuid not null,
    name            text not null,
    phone           text,
    email           text,
    address         text,
    version         bigint not null,
    deleted         boolean not null default false,
    scope_users     uuid[] not null default '{}',
    field_versions  jsonb not null default '{}',
    created_by      uuid not null,
    created_at      timestamptz not null default now(),
    updated_by      uuid not null,
    updated_at      timestamptz not null default now(),
    primary key (company_id, id)
);

create table leads (
    company_id        uuid not null references companies (id),
    id                uuid not null,
    customer_id       uuid not null,
    -- Fixed at creation; a correction is an audited change, not an update_fields.
    source            text not null,
    service_type      text not null,
    lead_created_at   timestamptz not null,
    first_contact_at  timestamptz,
    version           bigint not null,
    deleted           boolean not null default false,
    scope_users       uuid[] not null default '{}',
    field_versions    jsonb not null default '{}',
    created_by        uuid not null,
    created_at        timestamptz not null default now(),
    updated_by        uuid not null,
    updated_at        timestamptz not null default now(),
    primary key (company_id, id),
    foreign key (company_id, customer_id) references customers (company_id, id)
);

create table consultations (
    company_id        uuid not null references companies (id),
    id                uuid not null,
    lead_id           uuid not null,
    customer_id       uuid not null,
    technician_id     uuid not null,
    sales_rep_id      uuid,
    scheduled_at      timestamptz,
    held_at           timestamptz,
    home              jsonb not null default '{}',
    problem           text not null default '',
    notes             text not null default '',
    checklist         jsonb not null default '{}',
    status            text not null default 'open' check (status in ('open', 'won', 'lost')),
    lost_reason       text,
    competitor        text,
    outcome_note      text,
    sold_option_id    uuid,
    sold_amount_cents bigint,
    sold_by           uuid,
    decided_at        timestamptz,
    version           bigint not null,
    deleted           boolean not null default false,
    scope_users       uuid[] not null default '{}',
    field_versions    jsonb not null default '{}',
    created_by        uuid not null,
    created_at        timestamptz not null default now(),
    updated_by        uuid not null,
    updated_at        timestamptz not null default now(),
    primary key (company_id, id),
    foreign key (company_id, lead_id) references leads (company_id, id),
    foreign key (company_id, technician_id) references users (company_id, id)
);

create table options (
    company_id             uuid not null references companies (id),
    id                     uuid not null,
    consultation_id        uuid not null,
    tier                   text not null,
    position               smallint not null,
    line_items             jsonb not null default '[]',
    price_cents            bigint not null,
    financing_plan         text,
    monthly_payment_cents  bigint,
    presented              boolean not null default false,
    version                bigint not null,
    deleted                boolean not null default false,
    scope_users            uuid[] not null default '{}',
    field_versions         jsonb not null default '{}',
    created_by             uuid not null,
    created_at             timestamptz not null default now(),
    updated_by             uuid not null,
    updated_at             timestamptz not null default now(),
    primary key (company_id, id),
    foreign key (company_id, consultation_id) references consultations (company_id, id)
);

create table activities (
    company_id       uuid not null references companies (id),
    id               uuid not null,
    consultation_id  uuid not null,
    kind             text not null,
    outcome          text,
    occurred_at      timestamptz not null,
    note             text not null default '',
    version          bigint not null,
    deleted          boolean not null default false,
    scope_users      uuid[] not null default '{}',
    field_versions   jsonb not null default '{}',
    created_by       uuid not null,
    created_at       timestamptz not null default now(),
    updated_by       uuid not null,
    updated_at       timestamptz not null default now(),
    primary key (company_id, id),
    foreign key (company_id, consultation_id) references consultations (company_id, id)
);

create table followups (
    company_id       uuid not null references companies (id),
    id               uuid not null,
    consultation_id  uuid not null,
    due_at           timestamptz not null,
    assignee_id      uuid not null,
    done_at          timestamptz,
    note             text not null default '',
    version          bigint not null,
    deleted          boolean not null default false,
    scope_users      uuid[] not null default '{}',
    field_versions   jsonb not null default '{}',
    created_by       uuid not null,
    created_at       timestamptz not null default now(),
    updated_by       uuid not null,
    updated_at       timestamptz not null default now(),
    primary key (company_id, id),
    foreign key (company_id, consultation_id) references consultations (company_id, id)
);

-- What happened when: the metrics are computed from these, never from current status.
create table stage_events (
    company_id       uuid not null references companies (id),
    id               uuid not null,
    lead_id          uuid not null,
    consultation_id  uuid,
    kind             text not null check (kind in ('lead_created', 'first_contact', 'consultation_scheduled',
                       'consultation_held', 'options_presented', 'follow_up', 'won', 'lost', 'reopened')),
    occurred_at      timestamptz not null,
    actor_id         uuid not null,
    details          jsonb not null default '{}',
    version          bigint not null,
    deleted          boolean not null default false,
    scope_users      uuid[] not null default '{}',
    field_versions   jsonb not null default '{}',
    created_by       uuid not null,
    created_at       timestamptz not null default now(),
    updated_by       uuid not null,
    updated_at       timestamptz not null default now(),
    primary key (company_id, id)
);
create index stage_events_kind_idx on stage_events (company_id, kind, occurred_at);

create table time_entries (
    company_id   uuid not null references companies (id),
    id           uuid not null,
    user_id      uuid not null,
    category     text not null,
    started_at   timestamptz not null,
    ended_at     timestamptz,
    version      bigint not null,
    deleted      boolean not null default false,
    scope_users  uuid[] not null default '{}',
    field_versions jsonb not null default '{}',
    created_by   uuid not null,
    created_at   timestamptz not null default now(),
    updated_by   uuid not null,
    updated_at   timestamptz not null default now(),
    primary key (company_id, id)
);

create table attachments (
    company_id       uuid not null references companies (id),
    id               uuid not null,
    consultation_id  uuid not null,
    kind             text not null check (kind in ('photo', 'signature')),
    sha256           text not null,
    content_type     text not null,
    byte_size        bigint not null,
    version          bigint not null,
    deleted          boolean not null default false,
    scope_users      uuid[] not null default '{}',
    field_versions   jsonb not null default '{}',
    created_by       uuid not null,
    created_at       timestamptz not null default now(),
    updated_by       uuid not null,
    updated_at       timestamptz not null default now(),
    primary key (company_id, id),
    foreign key (company_id, consultation_id) references consultations (company_id, id)
);

-- Read-only on devices: managers maintain them.
create table price_book_items (
    company_id    uuid not null references companies (id),
    id            uuid not null,
    sku           text not null,
    name          text not null,
    service_type  text not null,
    price_cents   bigint not null check (price_cents >= 0),
    active        boolean not null default true,
    version       bigint not null,
    deleted       boolean not null default false,
    primary key (company_id, id),
    unique (company_id, sku)
);

create table checklist_templates (
    company_id  uuid not null references companies (id),
    id          uuid not null,
    name        text not null,
    -- [{"key": "...", "label": "...", "required": true}]
    steps       jsonb not null default '[]',
    version     bigint not null,
    deleted     boolean not null default false,
    primary key (company_id, id)
);

-- Pull reads `version > cookie` per table within a company.
create index customers_version_idx on customers (company_id, version);
create index leads_version_idx on leads (company_id, version);
create index consultations_version_idx on consultations (company_id, version);
create index options_version_idx on options (company_id, version);
create index activities_version_idx on activities (company_id, version);
create index followups_version_idx on followups (company_id, version);
create index stage_events_version_idx on stage_events (company_id, version);
create index time_entries_version_idx on time_entries (company_id, version);
create index attachments_version_idx on attachments (company_id, version);
create index price_book_items_version_idx on price_book_items (company_id, version);
create index checklist_templates_version_idx on checklist_templates (company_id, version);
create index users_version_idx on users (company_id, version);
create index consultations_children_idx on options (company_id, consultation_id);
create index activities_consultation_idx on activities (company_id, consultation_id);
create index followups_consultation_idx on followups (company_id, consultation_id);
create index attachments_consultation_idx on attachments (company_id, consultation_id);
create index stage_events_consultation_idx on stage_events (company_id, consultation_id);

-- A device profile. Its mutations are numbered 1, 2, 3...; last_mutation_id is the highest
-- processed (applied or rejected).
create table sync_clients (
    client_id         uuid primary key,
    company_id        uuid not null,
    user_id           uuid not null,
    last_mutation_id  bigint not null default 0,
    created_at        timestamptz not null default now(),
    last_push_at      timestamptz,
    foreign key (company_id, user_id) references users (company_id, id)
);

-- Every processed mutation, applied or rejected, with its payload: nothing typed is lost.
create table mutation_log (
    company_id   uuid not null,
    client_id    uuid not null,
    mutation_id  bigint not null,
    user_id      uuid not null,
    name         text not null,
    args         jsonb not null,
    client_ts    timestamptz not null,
    status       text not null check (status in ('applied', 'rejected')),
    reason       text,
    version      bigint not null,
    received_at  timestamptz not null default now(),
    primary key (client_id, mutation_id)
);
create index mutation_log_rejected_idx on mutation_log (company_id, client_id) where status = 'rejected';

-- A concurrent edit that lost: the value it overwrote, who wrote it, who overwrote it.
create table conflicts (
    company_id          uuid not null,
    id                  bigint generated always as identity,
    entity              text not null,
    row_id              uuid not null,
    field               text not null,
    overwritten_value   jsonb,
    overwritten_version bigint not null,
    overwritten_client  uuid,
    new_value           jsonb,
    client_id           uuid not null,
    mutation_id         bigint not null,
    user_id             uuid not null,
    version             bigint not null,
    created_at          timestamptz not null default now(),
    primary key (company_id, id)
);
create index conflicts_row_idx on conflicts (company_id, entity, row_id);
