-- The writer fence (server/src/sync/clock.rs). Each server that becomes the database's writer
-- bumps `epoch` under the exclusive FENCE advisory lock; every writing transaction reads it,
-- holding that lock shared until its commit, and is rolled back if the epoch is no longer the
-- one its server started with. A server that lost its writer lock without noticing can then
-- never commit after another one has started.

create table sync_writer (
    one boolean primary key default true check (one),
    epoch bigint not null
);
insert into sync_writer (epoch) values (0);

-- Two statements in one call, each with its own snapshot (a volatile function in READ
-- COMMITTED): the epoch is read only once the shared lock is held, so it cannot be the value
-- from before a bump that the lock waited for.
create function fieldclose_writer_epoch(fence bigint) returns bigint
language plpgsql volatile as $$
begin
    perform pg_advisory_xact_lock_shared(fence);
    return (select epoch from sync_writer);
end
$$;
