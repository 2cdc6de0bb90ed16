-- A push now writes its mutation log and its stage events after it has its company version, at
-- that version (they are never read back by version within the push), so the end-of-push stamp
-- no longer rewrites them. Stage events stay in the stamp: a change of a consultation's scope
-- rewrites its stored events at the placeholder. The mutation log's version index served only
-- the stamp.

create or replace function stamp_company_version(company uuid, placeholder bigint) returns bigint
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
    update conflicts set version = v where company_id = company and version = placeholder;
    return v;
end $$;

drop index if exists mutation_log_version_idx;
