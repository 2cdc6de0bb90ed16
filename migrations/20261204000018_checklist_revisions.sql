-- The checklist editor (issue 20). A company keeps one checklist for every service without its
-- own (service_type null) and may give a service its own. An edit never changes a row: it writes
-- the next revision as a new row and retires the one it replaces, so a consultation that points
-- at the revision it was captured with (consultations.checklist_template_id) keeps it, on every
-- device and in every report, after any later edit. Retired rows still sync (they are small).
alter table checklist_templates add column revision integer not null default 1 check (revision >= 1);
alter table checklist_templates add column retired boolean not null default false;
alter table checklist_templates add column changed_by uuid;
alter table checklist_templates add column changed_at timestamptz not null default now();

-- Companies made before this migration may hold several live templates per service; only the
-- newest stays live.
update checklist_templates t set retired = true
where exists (select 1 from checklist_templates n
              where n.company_id = t.company_id and not n.deleted and n.id > t.id
                and n.service_type is not distinct from t.service_type)
  and not t.deleted;

-- At most one live checklist per service (and one general one) in a company.
create unique index checklist_templates_live_idx
    on checklist_templates (company_id, coalesce(service_type, ''))
    where not retired and not deleted;

alter table consultations add column checklist_template_id uuid;
