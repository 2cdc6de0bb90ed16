-- Every synced row referenced companies(id) directly. Each insert's foreign-key check takes a
-- KEY SHARE lock on the company's one row, so every push of a company, and every row of it,
-- queued to add itself to that row's lockers (a new multixact each time, written to the WAL):
-- under the ingest bench, 200 devices of one company shared one hot row.
--
-- The synced tables keep their company-scoped foreign keys to their parents (a lead's
-- (company_id, customer_id) is a customer of that company, an option's consultation is of its
-- company, and so on), so a row still cannot point across companies. What is dropped is only
-- the direct check that the company exists: company_id is never taken from a request (it is
-- the signed-in person's), and companies are never deleted.

do $$
declare
    fk record;
begin
    for fk in
        select c.conrelid::regclass as tbl, c.conname
        from pg_constraint c
        where c.contype = 'f'
          and c.confrelid = 'companies'::regclass
          and c.conrelid::regclass::text in ('customers', 'leads', 'consultations', 'options', 'activities',
                                             'followups', 'stage_events', 'time_entries', 'attachments')
    loop
        execute format('alter table %s drop constraint %I', fk.tbl, fk.conname);
    end loop;
end $$;
