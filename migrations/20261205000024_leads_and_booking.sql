-- Leads arrive and become booked visits (issue 21).

-- The office role: takes calls, books visits, works the lead inbox and the schedule.
alter table users drop constraint users_role_check;
alter table users add constraint users_role_check check (role in ('technician', 'sales_rep', 'manager', 'office'));
alter table invites drop constraint invites_role_check;
alter table invites add constraint invites_role_check check (role in ('technician', 'sales_rep', 'manager', 'office'));

-- A lead's life before its visit. `qualification` is null while nobody has judged it; a
-- disqualified lead leaves the lead → consultation denominator, with its reason (METRICS.md).
-- `campaign` and `utm` come from the web form and, like `source`, are fixed at creation.
alter table leads
    add column qualification text check (qualification in ('qualified', 'disqualified')),
    add column disqualified_reason text,
    add column notes text not null default '',
    add column campaign text,
    add column utm jsonb not null default '{}',
    add column last_contact_at timestamptz,
    add constraint leads_disqualified_has_reason
        check ((qualification = 'disqualified') = (disqualified_reason is not null));
-- The inbox: a company's live leads that are not yet judged out, oldest first.
create index leads_inbox_idx on leads (company_id, lead_created_at) where not deleted;

-- A booked visit is a window, not an instant; a cancelled one keeps its row and its history.
alter table consultations
    add column window_minutes integer check (window_minutes between 15 and 720),
    add column cancelled_at timestamptz,
    add column cancel_reason text,
    add constraint consultations_cancel_has_reason check ((cancelled_at is null) = (cancel_reason is null));
-- A technician's day: the clash check and the schedule read visits by technician and time.
create index consultations_schedule_idx on consultations (company_id, technician_id, scheduled_at)
    where not deleted and cancelled_at is null;

alter table stage_events drop constraint stage_events_kind_check;
alter table stage_events add constraint stage_events_kind_check check (kind in ('lead_created', 'first_contact',
    'consultation_scheduled', 'consultation_held', 'options_presented', 'follow_up', 'won', 'lost', 'reopened',
    'qualified', 'disqualified', 'consultation_cancelled'));

-- The website's lead form: a company key (in the form's action; rotated by a manager, the old
-- one stops at once) and the origins whose pages may post to it from script.
alter table companies
    add column intake_key text not null unique default replace(gen_random_uuid()::text, '-', ''),
    add column intake_origins text[] not null default '{}';
