//! Company versions: each writing transaction takes one, and a pull (or the analytics refresh)
//! reads up to the company's watermark. Any number of server processes may write one database
//! (ADR 0060): what is in flight lives in Postgres, not in a process.
//!
//! A pull cookie must be exact: once a device holds cookie `c`, no row may later become visible
//! at a version `<= c`. Writers take their version when they start ([`VersionClock::begin`]),
//! write every row at it, and commit in any order; a version stays *in flight* until its
//! transaction has finished. A pull reads only up to the company's watermark: one below its
//! lowest version still in flight, or, with none, the last version handed out. Everything at or
//! below it has finished, and every later writer gets a higher version, so the cookie stays
//! exact while writers of one company, in one process or several, overlap through their commits.
//!
//! - **Taking a version.** One statement moves the company's `company_clocks.reserved` forward
//!   and records the new version in `sync_in_flight` with the writing transaction's id, so no
//!   reader can see the version handed out without seeing it in flight. Versions are per company
//!   (ADR 0061): one company's writes never move another's cookie. It runs on the clock's own
//!   connections, outside the writer's transaction, so it is visible at once.
//! - **In flight until finished.** A reader counts a version as in flight while its transaction
//!   is not complete *in the reader's own snapshot* (`pg_visible_in_snapshot`), and then reads
//!   its rows in a later snapshot: whatever was complete for the first is complete for the
//!   second, so the watermark never passes a commit the rows' snapshot cannot see. (The commit
//!   log's status would not do: a transaction is marked committed there a moment before new
//!   snapshots see it.) A writer that died, or whose commit's answer was lost, holds nobody
//!   back: Postgres rolls its transaction back when its connection closes, or has committed it.
//! - **Settling.** After its commit a writer deletes its row and notifies `fieldclose_poke`;
//!   every process listens and tells the company's open event streams to pull. A row a writer
//!   could not delete is harmless (its transaction is complete) and is swept later.
//!
//! Bookkeeping statements run with `synchronous_commit = off`: they wait for no disk flush. A
//! crash that loses one also lost the writer's transaction, or kept it: a writer's own commit
//! flushes the log up to and including its earlier bookkeeping.

use sqlx::{
    postgres::{PgListener, PgPoolOptions},
    PgConnection, PgPool,
};
use std::{sync::Arc, time::Duration};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::events::Poke;

/// The channel "pull now" travels on between processes: `<company id>:<version>`.
const POKE_CHANNEL: &str = "fieldclose_poke";

/// How often a process sweeps finished versions whose writer could not settle them.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[error("cannot start the version clock: {0}")]
pub struct StartError(#[from] sqlx::Error);

pub struct VersionClock {
    /// The clock's own connections: bookkeeping without a flush to disk (see the module's text).
    book: PgPool,
    /// "Pull now", received from every process (this one included) on [`POKE_CHANNEL`].
    pokes: broadcast::Sender<Poke>,
}

impl VersionClock {
    /// Opens the clock's connections and starts listening for pokes (and the sweep). Another
    /// process writing the same database is expected.
    pub async fn start(pool: PgPool) -> Result<Arc<Self>, StartError> {
        let options = (*pool.connect_options()).clone().options([("synchronous_commit", "off")]);
        let book = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(options);
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(POKE_CHANNEL).await?;
        let (pokes, _) = broadcast::channel(1024);
        let clock = Arc::new(Self { book, pokes });
        tokio::spawn(relay_pokes(Arc::downgrade(&clock), listener));
        tokio::spawn(sweep(Arc::downgrade(&clock)));
        Ok(clock)
    }

    pub fn pokes(&self) -> &broadcast::Sender<Poke> {
        &self.pokes
    }

    /// The next version, in flight for `company` until the transaction `tx` has finished. Call it
    /// inside `tx`, before writing any row at the version.
    pub async fn begin(
        self: &Arc<Self>,
        company: Uuid,
        tx: &mut PgConnection,
    ) -> Result<Ticket, sqlx::Error> {
        // Gives the transaction its id now (it may have none until its first write).
        let xid =
            sqlx::query_scalar!(r#"select pg_current_xact_id()::text as "xid!""#).fetch_one(&mut *tx).await?;
        // A company's first version creates its clock (sign-up takes it before the company commits).
        let version = sqlx::query_scalar!(
            "with next as (insert into company_clocks as c (company_id, reserved) values ($1, 1)
                           on conflict (company_id) do update set reserved = c.reserved + 1
                           returning reserved)
             insert into sync_in_flight (company_id, version, xid)
             select $1, reserved, $2::text::xid8 from next
             returning version",
            company,
            xid
        )
        .fetch_one(&self.book)
        .await?;
        Ok(Ticket { clock: self.clone(), company, version, settled: false })
    }

    /// The highest version of `company` a reader may go up to: everything at or below it has
    /// finished. Read it *before* taking the snapshot the rows are read in.
    pub async fn watermark(&self, company: Uuid) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar!(
            r#"select coalesce(
                   (select min(version) - 1 from sync_in_flight
                     where company_id = $1 and not pg_visible_in_snapshot(xid, pg_current_snapshot())),
                   (select reserved from company_clocks where company_id = $1),
                   0) as "version!""#,
            company
        )
        .fetch_one(&self.book)
        .await
    }

    /// Deletes a finished version's row, then tells every process's event streams of `company`
    /// to pull (the notification goes out when this statement commits, after the delete).
    async fn settle(&self, company: Uuid, version: i64, poke: bool) -> Result<(), sqlx::Error> {
        let payload = poke.then(|| format!("{company}:{version}"));
        sqlx::query!(
            "with gone as (delete from sync_in_flight where company_id = $1 and version = $2)
             select pg_notify($3, $4) from (values (1)) v where $4::text is not null",
            company,
            version,
            POKE_CHANNEL,
            payload
        )
        .fetch_optional(&self.book)
        .await?;
        Ok(())
    }
}

/// Carries the pokes of every process (its own included) to this process's event streams.
async fn relay_pokes(weak: std::sync::Weak<VersionClock>, mut listener: PgListener) {
    loop {
        // `recv` reconnects by itself after a lost connection; pokes sent meanwhile are lost,
        // and devices fall back to their regular pull (every 30–60 s).
        let received = listener.recv().await;
        let Some(clock) = weak.upgrade() else { return };
        match received {
            Ok(n) => {
                let parsed =
                    n.payload().split_once(':').and_then(|(c, v)| Some((c.parse().ok()?, v.parse().ok()?)));
                if let Some((company_id, version)) = parsed {
                    let _ = clock.pokes.send(Poke { company_id, version });
                }
            }
            // The server closed its pool: it is stopping.
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "poke listener: connection lost, reconnecting");
                drop(clock);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Deletes the rows of finished versions whose writer could not settle them (it died after its
/// commit, or lost the database meanwhile). They hold nobody back; this only keeps the table
/// small.
async fn sweep(weak: std::sync::Weak<VersionClock>) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        let Some(clock) = weak.upgrade() else { return };
        if clock.book.is_closed() {
            return;
        }
        let swept = sqlx::query!(
            "delete from sync_in_flight
              where created_at < now() - interval '10 seconds'
                and pg_visible_in_snapshot(xid, pg_current_snapshot())"
        )
        .execute(&clock.book)
        .await;
        if let Err(e) = swept {
            tracing::debug!(error = %e, "version sweep failed; the next one retries");
        }
    }
}

/// A version in flight. Commit its transaction with [`Ticket::commit`]; dropping it instead
/// (the transaction rolled back or dropped: sqlx never commits a dropped transaction) removes
/// its row in the background.
pub struct Ticket {
    clock: Arc<VersionClock>,
    company: Uuid,
    version: i64,
    settled: bool,
}

impl Ticket {
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Commits `tx`, then settles the version and pokes the company's devices. A lost answer
    /// from the commit is an error for the caller (the device retries; the push is idempotent),
    /// and holds no reader back: the transaction is complete either way once its connection is.
    pub async fn commit(mut self, tx: sqlx::Transaction<'_, sqlx::Postgres>) -> Result<(), sqlx::Error> {
        tx.commit().await?;
        self.settled = true;
        if let Err(e) = self.clock.settle(self.company, self.version, true).await {
            // Committed all the same; the sweep removes the row, and devices pull on their own.
            tracing::warn!(error = %e, "could not settle a committed version");
        }
        Ok(())
    }

    /// The version's writes were committed by a single statement outside a transaction (which
    /// has finished by the time it returned): settle and poke. Only for tests and set-up code.
    pub async fn committed(mut self) -> Result<(), sqlx::Error> {
        self.settled = true;
        self.clock.settle(self.company, self.version, true).await
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (clock, company, version) = (self.clock.clone(), self.company, self.version);
        // Outside a runtime (a test's teardown) the sweep removes it instead.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = clock.settle(company, version, false).await;
            });
        }
    }
}
