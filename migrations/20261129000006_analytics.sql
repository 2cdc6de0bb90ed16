-- Manager analytics (docs/metrics.md): per-company settings, dated process changes for
-- before/after comparisons, and the index the facts loader reads consultations by.

create table analytics_settings (
    company_id  uuid primary key references companies (id),
    -- Absent keys take METRICS.md's defaults (server/src/analytics/settings.rs).
    settings    jsonb not null default '{}',
    updated_by  uuid,
    updated_at  timestamptz not null default now()
);

create table process_changes (
    company_id  uuid not null references companies (id),
    id          uuid not null,
    name        text not null check (length(name) between 1 and 200),
    changed_on  date not null,
    created_by  uuid not null,
    created_at  timestamptz not null default now(),
    primary key (company_id, id)
);

create index consultations_lead_idx on consultations (company_id, lead_id);

-- Leads imported from another system (CSV): re-importing the same external id changes nothing.
alter table leads add column external_id text;
create unique index leads_external_id_key on leads (company_id, external_id) where external_id is not null;
