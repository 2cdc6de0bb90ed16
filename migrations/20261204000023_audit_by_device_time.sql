-- The audit trail lists a company's changes newest first by when they were made (the device's
-- time, not arrival: migration 19's index on arrival is dropped, every push pays for each index
-- on the log), and a record's timeline finds its children's writes by their parent's id.
drop index mutation_log_company_received_idx;
create index mutation_log_company_client_ts_idx on mutation_log (company_id, client_ts);
-- Not partial: a timeline asks `args ->> 'consultation_id' = any(…)`, which the planner cannot
-- match to a predicate like `args ? 'consultation_id'`.
create index mutation_log_consultation_idx on mutation_log (company_id, ((args ->> 'consultation_id')));
