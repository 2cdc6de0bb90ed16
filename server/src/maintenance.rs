//! Keeps planner statistics fresh (and dead rows cleaned) when the cluster's autovacuum is off,
//! as it is on these machines.
//!
//! Why it matters: sqlx prepares every statement once per connection, and Postgres keeps a
//! prepared statement's generic plan until the table's statistics change. Planned while a table
//! was empty, "is this id taken?" stays a sequential scan forever without an ANALYZE, and every
//! push gets slower as the tables grow: the ingest bench measured ~750 mutations/s with
//! autovacuum off, ~2,000/s with statistics kept fresh. With autovacuum on, this task does nothing.

use sqlx::{Connection, PgConnection, PgPool};
use std::time::Duration;

/// How often tables are checked.
const EVERY: Duration = Duration::from_secs(5);

/// Starts the task; it checks autovacuum on its own connection and ends at once if it is on,
/// else when the server shuts down or the pool closes. It never takes a pooled connection.
pub fn spawn(pool: PgPool, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let options = pool.connect_options().as_ref().clone();
    tokio::spawn(async move {
        match autovacuum_is_off(&options).await {
            Ok(true) => {
                tracing::warn!(
                    "autovacuum is off in this Postgres: the server analyzes and vacuums its own tables"
                )
            }
            Ok(false) => return,
            Err(e) => {
                tracing::debug!(error = %e, "cannot tell whether autovacuum is on; no table maintenance");
                return;
            }
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = shutdown.changed() => return,
            }
            if pool.is_closed() {
                return;
            }
            if let Err(e) = round(options.clone()).await {
                tracing::debug!(error = %e, "table maintenance skipped");
            }
        }
    });
}

async fn autovacuum_is_off(options: &sqlx::postgres::PgConnectOptions) -> Result<bool, sqlx::Error> {
    let mut conn = PgConnection::connect_with(options).await?;
    let setting: String = sqlx::query_scalar!(r#"select current_setting('autovacuum') as "setting!""#)
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(setting == "off")
}

/// Autovacuum's own default thresholds: analyze after 50 + 10% of rows changed, vacuum after
/// 50 + 20% of rows died; but a table of 1,000 rows or more at most once a minute. A growing
/// table crosses 10% every few seconds under load, and each ANALYZE samples up to 30,000 rows
/// and makes every connection plan its statements again: the ingest bench spent 7% of
/// Postgres's time here, and on 2 cores an ANALYZE of a few thousand rows with JSON columns
/// took 200–500 ms of one core, every 5 s, while the bench's tables were young. Plans stop
/// changing long before a table is that big: the first analyses are what turn sequential scans
/// into index scans, and between analyses the planner scales the row counts it knows by the
/// table's current size.
async fn round(options: sqlx::postgres::PgConnectOptions) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect_with(&options).await?;
    let due = sqlx::query!(
        r#"select quote_ident(schemaname) || '.' || quote_ident(relname) as "table!",
                  n_dead_tup > 50 + 0.2 * n_live_tup as "vacuum!"
         from pg_stat_user_tables
         where (n_mod_since_analyze > 50 + 0.1 * n_live_tup or n_dead_tup > 50 + 0.2 * n_live_tup)
           and (n_live_tup < 1000
                or greatest(last_analyze, last_vacuum, last_autoanalyze, last_autovacuum) is null
                or greatest(last_analyze, last_vacuum, last_autoanalyze, last_autovacuum) < now() - interval '1 minute')"#
    )
    .fetch_all(&mut conn)
    .await?;
    for row in due {
        let (table, vacuum) = (row.table, row.vacuum);
        // Names come from the catalog, quoted by quote_ident.
        let sql = if vacuum { format!("vacuum (analyze) {table}") } else { format!("analyze {table}") };
        // Dynamic: ANALYZE and VACUUM take no parameters.
        sqlx::query(&sql).persistent(false).execute(&mut conn).await?;
    }
    conn.close().await
}
