//! Company versions: handed out in memory to each writing transaction, and the watermark a pull
//! (or the analytics refresh) reads up to.
//!
//! A pull cookie must be exact: once a device holds cookie `c`, no row may later become
//! visible at a version `<= c`. The first design took the company's next version from a row
//! under its lock, held to commit, so versions became visible in commit order; but then every
//! push of a company queued behind the previous one's last statements and its commit (the WAL
//! flush), and that queue capped a company at about 250 pushes a second on this machine.
//!
//! Here a writer takes its version at the start ([`VersionClock::begin`]), writes every row at
//! it, and the version stays *in flight* until the transaction has committed or rolled back.
//! A pull reads only up to the company's watermark: one below its lowest version still in
//! flight, or, with none in flight, the last version handed out. Everything at or below the
//! watermark is settled, and every later writer gets a higher version, so the cookie stays
//! exact while writers of one company overlap all the way through their commits.
//!
//! Versions come from blocks reserved in `sync_clock` (one row, moved forward by each
//! reservation), so they are unique and increasing across restarts. The in-flight set lives in
//! this process: one process writes a database at a time (`seed-demo` runs before the server
//! starts), and [`VersionClock::start`] refuses to start a second one (an advisory lock held
//! for the clock's life). Several instances would need the set shared, e.g. in Postgres.

use sqlx::{PgConnection, PgPool};
use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::events::Poke;

/// Versions reserved at a time: one reservation per this many writes (or per start).
const BLOCK: i64 = 1 << 20;

/// The advisory lock the writing process holds ("fieldclo" in ASCII).
const WRITER_LOCK: i64 = 0x6669_656c_6463_6c6f;

/// How long a version whose commit failed half-way stays in flight: the commit may still have
/// happened, and a pull must not pass it before that would be visible.
const DOUBTFUL_FOR: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "another Fieldclose process is writing this database (a server, or seed-demo): stop it first; \
         pulls are exact only with one writer (see server/src/sync/clock.rs)"
    )]
    AnotherWriter,
    #[error("cannot start the version clock: {0}")]
    Database(#[from] sqlx::Error),
}

pub struct VersionClock {
    pool: PgPool,
    /// Holds the database's writer lock (see [`WRITER_LOCK`]) until the clock is dropped.
    _writer: Mutex<PgConnection>,
    state: Mutex<State>,
    /// Serialises reservations (the fast path never waits on it).
    reserving: tokio::sync::Mutex<()>,
    /// "Pull now", sent when a version settles by commit.
    pokes: broadcast::Sender<Poke>,
}

#[derive(Default)]
struct State {
    next: i64,
    /// Versions below this are ours to hand out.
    end: i64,
    in_flight: HashMap<Uuid, BTreeSet<i64>>,
}

impl VersionClock {
    /// Takes the database's writer lock and reserves the first block, so that the watermark is
    /// known from the start. Another process holding the lock is an error, with what to do.
    pub async fn start(pool: PgPool) -> Result<Arc<Self>, StartError> {
        let mut writer = pool.acquire().await?.detach();
        let alone: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(WRITER_LOCK)
            .fetch_one(&mut writer)
            .await?;
        if !alone {
            return Err(StartError::AnotherWriter);
        }
        let (pokes, _) = broadcast::channel(1024);
        let clock = Arc::new(Self {
            pool,
            _writer: Mutex::new(writer),
            state: Mutex::new(State::default()),
            reserving: tokio::sync::Mutex::new(()),
            pokes,
        });
        clock.reserve().await?;
        Ok(clock)
    }

    pub fn pokes(&self) -> &broadcast::Sender<Poke> {
        &self.pokes
    }

    async fn reserve(&self) -> Result<(), sqlx::Error> {
        let _one_at_a_time = self.reserving.lock().await;
        {
            let s = self.lock();
            if s.next < s.end {
                return Ok(()); // another task reserved meanwhile
            }
        }
        let end: i64 =
            sqlx::query_scalar("update sync_clock set reserved = reserved + $1 returning reserved")
                .bind(BLOCK)
                .fetch_one(&self.pool)
                .await?;
        let mut s = self.lock();
        // The block's first version is never handed out: with nothing in flight the watermark
        // is `next - 1`, which is then that unused version, at least 1 (0 would read as "never
        // loaded" to the analytics refresh) and above everything an earlier process wrote.
        s.next = end - BLOCK + 1;
        s.end = end;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("version clock lock")
    }

    /// The next version, in flight for `company` until the returned ticket settles.
    pub async fn begin(self: &Arc<Self>, company: Uuid) -> Result<Ticket, sqlx::Error> {
        loop {
            {
                let mut s = self.lock();
                if s.next < s.end {
                    let version = s.next;
                    s.next += 1;
                    s.in_flight.entry(company).or_default().insert(version);
                    return Ok(Ticket { clock: self.clone(), company, version, committed: false });
                }
            }
            self.reserve().await?;
        }
    }

    /// The highest version of `company` a reader may go up to: everything at or below it has
    /// committed or never will. Read it *before* taking the snapshot the rows are read in.
    pub fn watermark(&self, company: Uuid) -> i64 {
        let s = self.lock();
        match s.in_flight.get(&company).and_then(|v| v.first()) {
            Some(lowest) => lowest - 1,
            None => s.next - 1,
        }
    }

    fn settle(&self, company: Uuid, version: i64) {
        let mut s = self.lock();
        if let Some(versions) = s.in_flight.get_mut(&company) {
            versions.remove(&version);
            if versions.is_empty() {
                s.in_flight.remove(&company);
            }
        }
    }
}

/// A version in flight. Dropping it settles the version: right for a transaction that was
/// rolled back or dropped (sqlx never commits a dropped transaction). Commit with
/// [`Ticket::commit`].
pub struct Ticket {
    clock: Arc<VersionClock>,
    company: Uuid,
    version: i64,
    committed: bool,
}

impl Ticket {
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Commits the writer's transaction `tx` and settles this version as that went.
    pub async fn commit(self, tx: sqlx::Transaction<'_, sqlx::Postgres>) -> Result<(), sqlx::Error> {
        match tx.commit().await {
            Ok(()) => {
                self.committed();
                Ok(())
            }
            Err(e) => {
                self.commit_failed();
                Err(e)
            }
        }
    }

    /// The transaction committed (for a single statement run outside one, once it returned):
    /// settle, and tell the company's devices to pull (after the settling, so their pull
    /// reaches this version).
    pub fn committed(mut self) {
        self.committed = true;
    }

    /// The commit call failed, so it may or may not have happened: keep the version in flight a
    /// while longer, so that no pull passes it before its rows could be visible.
    fn commit_failed(self) {
        tokio::spawn(async move {
            tokio::time::sleep(DOUBTFUL_FOR).await;
            drop(self);
        });
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.clock.settle(self.company, self.version);
        if self.committed {
            let poke = Poke { company_id: self.company, version: self.clock.watermark(self.company) };
            let _ = self.clock.pokes.send(poke);
        }
    }
}
