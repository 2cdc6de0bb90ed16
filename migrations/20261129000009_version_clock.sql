-- Company versions now come from the server's version clock (server/src/sync/clock.rs): each
-- writer takes its version when it starts and writes every row at it; a pull reads only up to
-- the versions that have settled. The clock reserves versions in blocks from this one row, so
-- they stay unique and increasing across restarts, and above every version handed out before.
--
-- Pushes no longer queue on the company's version row from their stamp to their commit, so the
-- stamp and the per-company counter go. `company_versions` stays as a row to lock when one
-- company's one-off setup (the starter catalog) must not run twice at once.

create table sync_clock (
    one boolean primary key default true check (one),
    reserved bigint not null
);
insert into sync_clock (reserved) select coalesce(max(version), 0) + 1 from company_versions;

drop function stamp_company_version(uuid, bigint);
drop function next_company_version(uuid);
