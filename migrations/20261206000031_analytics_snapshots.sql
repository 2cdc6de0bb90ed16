-- Each company's folded analytics facts, stored (ADR 0065): a process that starts, or that
-- forgot a company over its memory budget, reads them back in about a second instead of
-- folding every lead again (49 s at a million consultations), then re-folds only what changed
-- since `version`. Written off the request path by whichever process refreshed the facts.
--
-- One header row per company: the codec's `format`, the `zone` the facts were folded in (a
-- company that changes zones must fold again), the company version the facts are exact at, the
-- names the facts' small integers stand for, and a `token` that changes with every write (a
-- process adds to the stored snapshot only when it is the one its own facts came from).
create table analytics_snapshots (
    company_id uuid primary key references companies (id) on delete cascade,
    format     integer not null,
    zone       text not null,
    version    bigint not null,
    token      uuid not null,
    dictionary bytea not null,
    written_at timestamptz not null default now()
);

-- The facts in the chunks the reports summarise (4,096 facts each): a write replaces only the
-- chunks that changed since the last one. `kind`: 0 leads, 1 consultations, 2 time entries.
create table analytics_snapshot_chunks (
    company_id uuid not null references analytics_snapshots (company_id) on delete cascade,
    kind       smallint not null check (kind between 0 and 2),
    chunk      integer not null check (chunk >= 0),
    bytes      bytea not null,
    primary key (company_id, kind, chunk)
);
-- Already compact (varints, times relative to the chunk): Postgres's own compression would
-- cost time on every read and save little.
alter table analytics_snapshot_chunks alter column bytes set storage external;
