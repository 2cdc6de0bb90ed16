//! A company's analytics settings (the type and its checks are `app::domain::settings`, which the
//! manager's settings screen edits too), and its time zone.

pub use app::domain::settings::{Settings, Targets};
use chrono_tz::Tz;

/// A company's IANA zone, parsed; periods and "today" follow it.
pub fn parse_zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// The company's zone, as stored.
pub async fn load_zone(pool: &sqlx::PgPool, company: uuid::Uuid) -> Result<Tz, sqlx::Error> {
    let zone =
        sqlx::query_scalar!("select time_zone from companies where id = $1", company).fetch_one(pool).await?;
    Ok(parse_zone(&zone))
}
