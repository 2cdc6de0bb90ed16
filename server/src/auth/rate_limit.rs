//! The sign-in limit: failed attempts per account and per client IP within a window, counted in
//! Postgres so that every server instance sees the same numbers.

use crate::{config::LoginLimits, error::ApiError};
use sqlx::PgPool;

/// Refuses with 429 when the account or the IP has failed too often in the window. An account's
/// count restarts after a successful sign-in, so its owner is not locked out by old typos.
pub async fn check(pool: &PgPool, limits: &LoginLimits, email: &str, ip: &str) -> Result<(), ApiError> {
    let window_secs = limits.window.as_secs_f64();
    let (account_failures, ip_failures): (i64, i64) = sqlx::query_as(
        r#"
        select
          (select count(*) from login_attempts a
            where a.email = $1 and not a.succeeded
              and a.attempted_at > now() - make_interval(secs => $3)
              and a.attempted_at > coalesce((select max(attempted_at) from login_attempts s
                                             where s.email = $1 and s.succeeded), '-infinity')),
          (select count(*) from login_attempts
            where ip = $2 and not succeeded and attempted_at > now() - make_interval(secs => $3))
        "#,
    )
    .bind(email)
    .bind(ip)
    .bind(window_secs)
    .fetch_one(pool)
    .await?;

    let minutes = limits.window.as_secs().div_ceil(60);
    if account_failures >= limits.per_account || ip_failures >= limits.per_ip {
        return Err(ApiError::TooManyRequests(format!(
            "Too many failed sign-ins. Wait {minutes} minutes and try again, or ask your manager to reset your password."
        )));
    }
    Ok(())
}

pub async fn record(pool: &PgPool, email: &str, ip: &str, succeeded: bool) -> Result<(), ApiError> {
    sqlx::query("insert into login_attempts (email, ip, succeeded) values ($1, $2, $3)")
        .bind(email)
        .bind(ip)
        .bind(succeeded)
        .execute(pool)
        .await?;
    Ok(())
}
