-- No query filters, joins or groups on a synced row's JSON payloads or free text: they are only
-- read back whole. ANALYZE still built statistics for them (detoasting and sorting up to
-- 30,000 sampled values each), and on the young tables of a new company, which cross the 10%
-- re-analyze line every few seconds, that was most of each ANALYZE's 200–500 ms on one core:
-- under the ingest bench, a stall of every push while a table was small. A statistics target
-- of 0 tells ANALYZE to skip the column; the planner never needed its figures.

do $$
declare
    col record;
begin
    for col in
        select c.table_name, c.column_name
        from information_schema.columns c
        where c.table_schema = current_schema()
          and c.table_name in ('customers', 'leads', 'consultations', 'options', 'activities', 'followups',
                               'stage_events', 'time_entries', 'attachments', 'mutation_log', 'conflicts')
          and (c.data_type = 'jsonb'
               or (c.table_name, c.column_name) in (('customers', 'address'), ('consultations', 'problem'),
                                                    ('consultations', 'notes'), ('consultations', 'outcome_note'),
                                                    ('activities', 'note'), ('followups', 'note'),
                                                    ('mutation_log', 'reason')))
    loop
        execute format('alter table %I alter column %I set statistics 0', col.table_name, col.column_name);
    end loop;
end $$;
