-- The audit trail (issue 20). Changes to records made by devices are in mutation_log already
-- (who, when, which device, what it became; what it was is the value an earlier entry set).
-- Changes to configuration are made online, outside sync: each is kept here with what it was
-- and what it became. Nothing updates or deletes these rows.
create table audit_events (
    company_id  uuid not null references companies (id),
    id          bigint generated always as identity,
    at          timestamptz not null default now(),
    user_id     uuid not null,
    -- A short description of the browser or app that made the change ("Chrome on Android").
    device      text not null default '',
    record_type text not null,
    record_id   uuid,
    action      text not null,
    summary     text not null,
    before      jsonb,
    after       jsonb,
    primary key (company_id, id),
    foreign key (company_id, user_id) references users (company_id, id)
);
create index audit_events_at_idx on audit_events (company_id, at);
create index audit_events_record_idx on audit_events (company_id, record_id) where record_id is not null;
-- The audit page and a record's timeline read the log by time and by record.
create index mutation_log_company_received_idx on mutation_log (company_id, received_at);
create index mutation_log_record_idx on mutation_log (company_id, ((args ->> 'id')));
