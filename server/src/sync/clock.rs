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
//!
//! The lock lives on one connection, and a connection can die (its backend terminated, the
//! network cut) while the server goes on. Two things keep a second writer from ever overlapping
//! this one's acknowledged writes:
//!
//! - **The fence.** Each start bumps `sync_writer.epoch` and keeps the value; every writing
//!   transaction checks, just before its commit, that the epoch is still its own, under a shared
//!   transaction-level advisory lock that a starting writer's bump waits for. So a write either
//!   commits before the next writer has started, or it is rolled back and refused (503). The
//!   fence alone makes a lost lock safe.
//! - **The watchdog** ([`watch_writer_lock`]) listens on the lock's connection and notices its
//!   loss at once: writes are refused from then on (503 with Retry-After, devices keep their
//!   changes and retry), it tries to take the lock back, with a new epoch and a new block of
//!   versions, and if another process holds it this one stops writing for good and shuts down.

use sqlx::{postgres::PgListener, PgPool};
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

/// The advisory lock of the fence: each writing transaction holds it shared through its commit;
/// a starting writer takes it exclusively to bump the epoch ("fcfence" in ASCII).
const FENCE_LOCK: i64 = 0x0066_6366_656e_6365;

/// How long a version whose commit had an unknown outcome stays in flight: the commit may still
/// have happened, and a pull must not pass it before that would be visible.
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

/// Why a write could not take a version or commit.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    /// This process does not hold the writer lock (lost, being taken back, or taken by another
    /// process): nothing was written.
    #[error("this server is not the database's writer at the moment")]
    NotWriter,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub struct VersionClock {
    pool: PgPool,
    state: Mutex<State>,
    /// Serialises reservations (the fast path never waits on it).
    reserving: tokio::sync::Mutex<()>,
    /// "Pull now", sent when a version settles by commit.
    pokes: broadcast::Sender<Poke>,
    /// Turns true when another process holds the writer lock: the server shuts down.
    superseded: tokio::sync::watch::Sender<bool>,
}

#[derive(Default)]
struct State {
    next: i64,
    /// Versions below this are ours to hand out.
    end: i64,
    in_flight: HashMap<Uuid, BTreeSet<i64>>,
    /// Our fence value while we hold the writer lock; `None` while we do not.
    epoch: Option<i64>,
    /// Versions whose commit had an unknown outcome, per company, still held in flight.
    doubtful: HashMap<Uuid, usize>,
}

impl VersionClock {
    /// Takes the database's writer lock, bumps the fence and reserves the first block, so that the
    /// watermark is known from the start; then watches the lock (see the module's text). Another
    /// process holding the lock is an error, with what to do.
    pub async fn start(pool: PgPool) -> Result<Arc<Self>, StartError> {
        let mut writer = PgListener::connect_with(&pool).await?;
        // Reconnect only when the watchdog asks to: it must take the lock on the new connection.
        writer.eager_reconnect(false);
        let epoch = take_writer_lock(&mut writer).await?.ok_or(StartError::AnotherWriter)?;
        let (pokes, _) = broadcast::channel(1024);
        let clock = Arc::new(Self {
            pool,
            state: Mutex::new(State { epoch: Some(epoch), ..State::default() }),
            reserving: tokio::sync::Mutex::new(()),
            pokes,
            superseded: tokio::sync::watch::channel(false).0,
        });
        clock.reserve().await?;
        tokio::spawn(watch_writer_lock(Arc::downgrade(&clock), writer));
        Ok(clock)
    }

    pub fn pokes(&self) -> &broadcast::Sender<Poke> {
        &self.pokes
    }

    /// Turns true when another process took the writer lock: this one must stop.
    pub fn superseded(&self) -> tokio::sync::watch::Receiver<bool> {
        self.superseded.subscribe()
    }

    /// Whether this process may write now.
    pub fn is_writer(&self) -> bool {
        self.lock().epoch.is_some()
    }

    async fn reserve(&self) -> Result<(), sqlx::Error> {
        let _one_at_a_time = self.reserving.lock().await;
        {
            let s = self.lock();
            if s.next < s.end {
                return Ok(()); // another task reserved meanwhile
            }
        }
        let end =
            sqlx::query_scalar!("update sync_clock set reserved = reserved + $1 returning reserved", BLOCK)
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

    /// The next version, in flight for `company` until the returned ticket settles. Refused
    /// while this process is not the writer.
    pub async fn begin(self: &Arc<Self>, company: Uuid) -> Result<Ticket, ClockError> {
        loop {
            {
                let mut s = self.lock();
                let epoch = s.epoch.ok_or(ClockError::NotWriter)?;
                if s.next < s.end {
                    let version = s.next;
                    s.next += 1;
                    s.in_flight.entry(company).or_default().insert(version);
                    return Ok(Ticket { clock: self.clone(), company, version, epoch, committed: false });
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

    /// Whether a write of `company` whose commit had an unknown outcome is holding its newer
    /// changes back from pulls (for up to [`DOUBTFUL_FOR`]); devices show it.
    pub fn awaiting_commit(&self, company: Uuid) -> bool {
        self.lock().doubtful.contains_key(&company)
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

    /// The writer lock is gone: refuse writes until it is back.
    fn lost(&self) {
        self.lock().epoch = None;
    }

    /// The lock is ours again under a new `epoch`: versions from a fresh block only, since
    /// another writer may have reserved and written above ours meanwhile.
    fn regained(&self, epoch: i64) {
        let mut s = self.lock();
        s.next = s.end;
        s.epoch = Some(epoch);
    }
}

/// Takes the writer lock on `conn` and bumps the fence: `Some(epoch)` when this process is now the
/// writer, `None` when another process holds the lock.
async fn take_writer_lock(conn: &mut PgListener) -> Result<Option<i64>, sqlx::Error> {
    let alone = sqlx::query_scalar!(r#"select pg_try_advisory_lock($1) as "alone!""#, WRITER_LOCK)
        .fetch_one(&mut *conn)
        .await?;
    if !alone {
        return Ok(None);
    }
    // The bump waits, under the fence's exclusive lock, for every write of an earlier writer
    // that already passed its check to commit; later checks of that writer see the new epoch.
    let epoch = sqlx::query_scalar!(
        "with fence as (select pg_advisory_xact_lock($1))
         update sync_writer set epoch = epoch + 1 from fence returning epoch",
        FENCE_LOCK
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(epoch))
}

/// Watches the writer lock's connection for as long as the clock lives: on its loss refuses
/// writes, takes the lock back (retrying while the database is away), or, when another process
/// has it, marks the clock superseded so the server stops.
async fn watch_writer_lock(weak: std::sync::Weak<VersionClock>, mut conn: PgListener) {
    loop {
        // Nothing is ever notified here: `try_recv` returns when the connection is lost.
        let lost = conn.try_recv().await;
        let Some(clock) = weak.upgrade() else { return };
        if clock.pool.is_closed() {
            return;
        }
        if let Ok(Some(_)) = lost {
            continue;
        }
        clock.lost();
        tracing::error!("lost the database writer lock: refusing writes until it is taken back");
        let mut wait = Duration::from_millis(50);
        loop {
            match take_writer_lock(&mut conn).await {
                Ok(Some(epoch)) => {
                    clock.regained(epoch);
                    tracing::warn!(epoch, "took the database writer lock back: writing again");
                    break;
                }
                Ok(None) => {
                    tracing::error!(
                        "another Fieldclose process took the database writer lock: this one stops writing and shuts down"
                    );
                    let _ = clock.superseded.send(true);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the database writer lock back yet");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
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
    /// The fence value this write must still find at its commit.
    epoch: i64,
    committed: bool,
}

impl Ticket {
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Checks the fence in `tx` and commits it, settling this version as that went. A write
    /// of a process that is no longer the writer is rolled back: [`ClockError::NotWriter`].
    pub async fn commit(self, mut tx: sqlx::Transaction<'_, sqlx::Postgres>) -> Result<(), ClockError> {
        // Shared until the commit: a starting writer's bump waits for this write to finish.
        let epoch = sqlx::query_scalar!(r#"select fieldclose_writer_epoch($1) as "epoch!""#, FENCE_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if epoch != self.epoch {
            // Dropping `tx` rolls it back; dropping `self` settles the version. (The watchdog
            // notices the lost lock itself; this is the case it cannot see in time.)
            tracing::error!(epoch, ours = self.epoch, "another writer started: this write is refused");
            return Err(ClockError::NotWriter);
        }
        match tx.commit().await {
            Ok(()) => {
                self.committed();
                Ok(())
            }
            // The server answered: the transaction was rolled back, nothing to wait for.
            Err(e @ sqlx::Error::Database(_)) => Err(e.into()),
            Err(e) => {
                self.commit_outcome_unknown();
                Err(e.into())
            }
        }
    }

    /// The transaction committed: settle, and tell the company's devices to pull (after the
    /// settling, so their pull reaches this version). Only for a single statement run outside
    /// a transaction, once it returned; it skips the fence, so production writes use
    /// [`Ticket::commit`].
    pub fn committed(mut self) {
        self.committed = true;
    }

    /// The commit's answer was lost (the connection dropped): it may or may not have happened,
    /// so keep the version in flight a while longer, so that no pull passes it before its rows
    /// could be visible. Pulls say so meanwhile ([`VersionClock::awaiting_commit`]).
    fn commit_outcome_unknown(self) {
        *self.clock.lock().doubtful.entry(self.company).or_default() += 1;
        tokio::spawn(async move {
            tokio::time::sleep(DOUBTFUL_FOR).await;
            let mut s = self.clock.lock();
            if let Some(n) = s.doubtful.get_mut(&self.company) {
                *n -= 1;
                if *n == 0 {
                    s.doubtful.remove(&self.company);
                }
            }
            drop(s);
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
