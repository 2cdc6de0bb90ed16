-- A new consultation re-stamps its lead's own events (lead_created); without this index that
-- update scanned every event of the company, and pushes slowed as history grew (ingest bench).
create index stage_events_lead_idx on stage_events (company_id, lead_id);
