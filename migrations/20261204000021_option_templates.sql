-- Option templates (issue 20): a manager's good / better / best bundles of price book items per
-- service, which a technician starts an option from. Synced read-only like the price book (to
-- devices whose build reads kinds version 2). An option made from one copies the lines at the prices of
-- that moment: later price changes never reach it.
create table option_templates (
    company_id   uuid not null references companies (id),
    id           uuid not null,
    service_type text not null,
    tier         text not null check (tier in ('good', 'better', 'best')),
    name         text not null check (length(name) between 1 and 100),
    -- [{"price_book_item_id": "…", "quantity": 1}]
    items        jsonb not null default '[]',
    version      bigint not null,
    deleted      boolean not null default false,
    created_at   timestamptz not null default now(),
    primary key (company_id, id)
);
create index option_templates_version_idx on option_templates (company_id, version);
