//! The Postgres pool and the schema: the database is created if missing and migrations (embedded
//! from `migrations/`) are applied before the server accepts a request.

use sqlx::{
    migrate::MigrateDatabase,
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool, Postgres,
};
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot reach Postgres at {url}: {source}")]
    Unreachable { url: String, source: sqlx::Error },
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Hides the password of a database URL before it is printed.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Connects, creating the database first when it does not exist, and migrates.
/// Whether creating a database failed because it now exists: `duplicate_database` (42P04), or
/// the unique index on database names when two `create database` ran at once (23505).
fn created_meanwhile(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("42P04" | "23505")))
}

pub async fn connect_and_migrate(url: &str) -> Result<PgPool, DbSetupError> {
    let unreachable = |source| DbSetupError::Unreachable { url: redact(url), source };
    if !Postgres::database_exists(url).await.map_err(unreachable)? {
        tracing::info!(url = %redact(url), "creating database");
        match Postgres::create_database(url).await {
            Ok(()) => {}
            // Another process starting at the same moment created it first (a deploy of
            // several at once): that is the database this one wanted.
            Err(e) if created_meanwhile(&e) => {}
            Err(e) => return Err(unreachable(e)),
        }
    }
    let options: PgConnectOptions = url.parse().map_err(unreachable)?;
    // Each connection asks the kernel to write the data pages it evicts once 256 kB of them
    // are dirty, instead of leaving them to the kernel's 30-second writeback: under a steady
    // stream of pushes that writeback came as one burst (150 MB in a second here), every
    // commit's WAL flush queued behind it, and pushes stalled for most of a second.
    let options = options.options([("backend_flush_after", "256kB")]);
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(unreachable)?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// A second, smaller pool to the same database whose statements always run their generic plan
/// (`plan_cache_mode`): for the website lead form's hot path, a few statements run thousands of
/// times a second, where Postgres otherwise re-plans each execution (its custom plans looked
/// cheaper), which cost a tenth of the machine at 2,000 leads a second. Kept apart so the
/// reports' and pulls' statements, whose best plan depends on their parameters, keep choosing.
pub fn generic_plan_pool(pool: &PgPool, max_connections: u32) -> PgPool {
    let options = (*pool.connect_options()).clone().options([("plan_cache_mode", "force_generic_plan")]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options)
}

/// True when every embedded migration has been applied successfully.
pub async fn migrations_applied(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let applied: Vec<i64> =
        sqlx::query_scalar!("select version from _sqlx_migrations where success order by version")
            .fetch_all(pool)
            .await?;
    Ok(MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()).all(|m| applied.contains(&m.version)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords_only() {
        assert_eq!(super::redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(super::redact("postgres://postgres@h/db"), "postgres://postgres@h/db");
    }
}
