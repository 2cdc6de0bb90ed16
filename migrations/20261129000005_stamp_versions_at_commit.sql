-- Pushes of one company no longer hold the company's version lock for their whole transaction.
-- A push writes its rows with a placeholder version (minus its transaction id, unique among the
-- transactions in flight and invisible to everyone else until commit), and only at its very end
-- takes the next company version under the row lock and stamps that version on everything it
-- wrote, in one call. The lock is held for the stamping and the commit only, so pushes overlap,
-- while versions still become visible in commit order (the pull cursor stays exact).
--
-- Per-field conflict detection can no longer use company versions (unknown until the end), so
-- every synced row gets a revision, bumped by each write under the row's lock: field_versions
-- now hold [revision, client], and update_fields' base_version is the revision the device saw.

alter table customers add column revision bigint not null default 1;
alter table leads add column revision bigint not null default 1;
alter table consultations add column revision bigint not null default 1;
alter table options add column revision bigint not null default 1;
alter table activities add column revision bigint not null default 1;
alter table followups add column revision bigint not null default 1;
alter table stage_events add column revision bigint not null default 1;
alter table time_entries add column revision bigint not null default 1;
alter table attachments add column revision bigint not null default 1;

create index mutation_log_version_idx on mutation_log (company_id, version);
create index conflicts_version_idx on conflicts (company_id, version);

create function stamp_company_version(company uuid, placeholder bigint) returns bigint
language plpgsql as $$
declare
    v bigint;
begin
    v := next_company_version(company);
    update customers set version = v where company_id = company and version = placeholder;
    update leads set version = v where company_id = company and version = placeholder;
    update consultations set version = v where company_id = company and version = placeholder;
    update options set version = v where company_id = company and version = placeholder;
    update activities set version = v where company_id = company and version = placeholder;
    update followups set version = v where company_id = company and version = placeholder;
    update stage_events set version = v where company_id = company and version = placeholder;
    update time_entries set version = v where company_id = company and version = placeholder;
    update attachments set version = v where company_id = company and version = placeholder;
    update mutation_log set version = v where company_id = company and version = placeholder;
    update conflicts set version = v where company_id = company and version = placeholder;
    return v;
end $$;
