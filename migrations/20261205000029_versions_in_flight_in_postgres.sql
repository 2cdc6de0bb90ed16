-- Versions in flight live in Postgres, so that any number of server processes can write one
-- database (server/src/sync/clock.rs, ADR 0060). A writer takes its version and registers it
-- as in flight in one statement; a pull reads up to one below the company's lowest version
-- still in flight. Whether a version is still in flight is read from its transaction's status
-- (`pg_xact_status`), so a writer that died never holds a company back: its transaction was
-- rolled back when its connection closed.
--
-- `sync_clock.reserved` is now the last version handed out (it was the end of a block reserved
-- by the one writing process); it only ever grows, so versions stay unique and increasing.

create table sync_in_flight (
    company_id uuid not null,
    version    bigint not null,
    -- The writing transaction: in progress, committed or rolled back.
    xid        xid8 not null,
    created_at timestamptz not null default now(),
    primary key (company_id, version)
);

-- The one-writer lock's fence is gone: several processes write.
drop function fieldclose_writer_epoch(bigint);
drop table sync_writer;
