//! The sign-in throttle, counted in Postgres so that every server instance sees the same numbers.
//!
//! - **Counted before the password is checked.** An attempt is stored as a failure first and
//!   marked succeeded after its check, so parallel guesses see each other: of any number sent at
//!   once, only the first few reach the (expensive) password check.
//! - **Growing delays, not a hard lock.** After a few failures each further try waits 30 s, then
//!   1, 2, 4… minutes (at most the window) after the last failure, and a refused try does not
//!   count. A stranger can slow an account down, never shut its owner out for a fixed time.
//! - **Per account and client.** A device that signed into the account before (its `fc_device`
//!   cookie, see [`KNOWN_DEVICE_COOKIE`]) is throttled by its own failures only: someone else's
//!   guesses at the account, or junk from the same office address, do not lock out its owner.
//!   Any other client is throttled by its own failures, by the account's failures from unknown
//!   clients, and by its address's failures across accounts.

use crate::{config::LoginLimits, error::ApiError};
use axum::http::{HeaderMap, HeaderValue};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::time::Duration;

/// The cookie that marks a device which signed in before (HttpOnly, a year, only sent to
/// `/api/auth`). It says nothing about who is signed in; Postgres keeps its hash per account.
pub const KNOWN_DEVICE_COOKIE: &str = "fc_device";

/// The first delay once the free failures are used up; each further failure doubles it.
const FIRST_DELAY: Duration = Duration::from_secs(30);

/// Who is trying to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// `device:<hash>` for a known device, else `ip:<address>`.
    key: String,
    known: bool,
    ip: String,
    /// The SHA-256 of the request's device cookie, if it carried one (known here or not).
    device: Option<Vec<u8>>,
}

impl Client {
    /// The client of a sign-in for `email`: a known device if the request carries a device cookie
    /// that signed into this account before, else its address.
    pub async fn identify(
        pool: &PgPool,
        headers: &HeaderMap,
        email: &str,
        ip: &str,
    ) -> Result<Self, ApiError> {
        let device = device_token(headers).map(|token| Sha256::digest(token.as_bytes()).to_vec());
        if let Some(hash) = &device {
            let known = sqlx::query_scalar!(
                r#"update known_devices set last_seen_at = now() where token_hash = $1 and email = $2
                   returning true as "known!""#,
                hash,
                email
            )
            .fetch_optional(pool)
            .await?
            .unwrap_or(false);
            if known {
                let key = format!("device:{}", URL_SAFE_NO_PAD.encode(&hash[..16]));
                return Ok(Self { key, known: true, ip: ip.to_string(), device });
            }
        }
        Ok(Self { key: format!("ip:{ip}"), known: false, ip: ip.to_string(), device })
    }
}

/// An attempt counted as failed until [`Attempt::finish`] says otherwise.
#[must_use]
pub struct Attempt {
    id: i64,
}

/// A failure in the window, as the throttle weighs it.
#[derive(Debug, Clone)]
pub struct Past {
    pub email: String,
    pub client: Option<String>,
    pub ip: String,
    pub succeeded: bool,
    pub attempted_at: DateTime<Utc>,
}

/// Records an attempt of `client` at `email` and lets it through, or refuses it (429 with how
/// long to wait) without counting it.
pub async fn begin(
    pool: &PgPool,
    limits: &LoginLimits,
    email: &str,
    client: &Client,
) -> Result<Attempt, ApiError> {
    let id = sqlx::query_scalar!(
        "insert into login_attempts (email, ip, client, succeeded) values ($1, $2, $3, false) returning id",
        email,
        client.ip,
        client.key
    )
    .fetch_one(pool)
    .await?;
    // Read after the insert committed: every attempt that committed before this one is seen.
    let past = sqlx::query_as!(
        Past,
        "select email, client, ip, succeeded, attempted_at from login_attempts
         where (email = $1 or ip = $2) and id <> $3 and attempted_at > now() - make_interval(secs => $4)",
        email,
        client.ip,
        id,
        limits.window.as_secs_f64()
    )
    .fetch_all(pool)
    .await?;
    match wait(limits, email, client, &past, Utc::now()) {
        None => Ok(Attempt { id }),
        Some(wait) => {
            Attempt { id }.abandon(pool).await?;
            Err(ApiError::TooManyRequests(too_many(wait), wait.as_secs_f64().ceil() as u64))
        }
    }
}

fn too_many(wait: Duration) -> String {
    let secs = (wait.as_secs_f64().ceil() as u64).max(1);
    let when = if secs < 90 { format!("{secs} seconds") } else { format!("{} minutes", secs.div_ceil(60)) };
    format!(
        "Too many failed sign-ins. Wait {when} and try again, or ask your manager to reset your password."
    )
}

impl Attempt {
    /// The password was never checked (refused by the throttle, or the server was saturated):
    /// the attempt does not count.
    pub async fn abandon(self, pool: &PgPool) -> Result<(), ApiError> {
        sqlx::query!("delete from login_attempts where id = $1", self.id).execute(pool).await?;
        Ok(())
    }

    /// Marks the attempt as it went. A success also makes the client's device (or a new one,
    /// whose cookie is returned to set) known to this account.
    pub async fn finish(
        self,
        pool: &PgPool,
        email: &str,
        succeeded: bool,
        client: &Client,
        secure: bool,
    ) -> Result<Option<HeaderValue>, ApiError> {
        sqlx::query!("update login_attempts set succeeded = $2 where id = $1", self.id, succeeded)
            .execute(pool)
            .await?;
        // A known device was marked seen when it was identified.
        if !succeeded || client.known {
            return Ok(None);
        }
        let (hash, new_token) = match &client.device {
            Some(hash) => (hash.clone(), None),
            None => {
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                let token = URL_SAFE_NO_PAD.encode(bytes);
                (Sha256::digest(token.as_bytes()).to_vec(), Some(token))
            }
        };
        sqlx::query!(
            "insert into known_devices (token_hash, email) values ($1, $2)
             on conflict (token_hash, email) do update set last_seen_at = now()",
            hash,
            email
        )
        .execute(pool)
        .await?;
        Ok(new_token.map(|token| device_cookie(&token, secure)))
    }
}

fn device_token(headers: &HeaderMap) -> Option<String> {
    super::session::cookie_value(headers, KNOWN_DEVICE_COOKIE)
        .filter(|t| t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

fn device_cookie(token: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{KNOWN_DEVICE_COOKIE}={token}; Path=/api/auth; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}"
    ))
    .expect("a base64url token is a valid header value")
}

/// How long `client` must still wait before trying `email`, given the failures in the window.
pub fn wait(
    limits: &LoginLimits,
    email: &str,
    client: &Client,
    past: &[Past],
    now: DateTime<Utc>,
) -> Option<Duration> {
    let mine = |p: &&Past| p.email == email && p.client.as_deref() == Some(client.key.as_str());
    let from_unknown = |p: &&Past| !p.client.as_deref().unwrap_or("").starts_with("device:");
    let mut scopes: Vec<(Vec<&Past>, i64)> =
        vec![(since_success(past.iter().filter(mine)), limits.per_client)];
    if !client.known {
        let account =
            since_success(past.iter().filter(|p| p.email == email)).into_iter().filter(from_unknown);
        scopes.push((account.collect(), limits.per_account));
        let address = past.iter().filter(|p| p.ip == client.ip && !p.succeeded).filter(from_unknown);
        scopes.push((address.collect(), limits.per_ip));
    }
    scopes
        .into_iter()
        .filter_map(|(failures, free)| {
            let n = failures.len() as i64;
            let last = failures.iter().map(|p| p.attempted_at).max()?;
            (n >= free).then(|| {
                let doublings = u32::try_from(n - free).unwrap_or(u32::MAX).min(16);
                let delay = (FIRST_DELAY * 2u32.pow(doublings)).min(limits.window);
                (last + delay - now).to_std().unwrap_or_default()
            })
        })
        .filter(|left| !left.is_zero())
        .max()
}

/// The failures after the last success among `attempts`.
fn since_success<'a>(attempts: impl Iterator<Item = &'a Past>) -> Vec<&'a Past> {
    let attempts: Vec<&Past> = attempts.collect();
    let last_success = attempts.iter().filter(|p| p.succeeded).map(|p| p.attempted_at).max();
    attempts.into_iter().filter(|p| !p.succeeded && last_success.is_none_or(|s| p.attempted_at > s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(key: &str, known: bool) -> Client {
        Client { key: key.into(), known, ip: "203.0.113.5".into(), device: None }
    }

    fn fail(email: &str, client: &str, secs_ago: i64, now: DateTime<Utc>) -> Past {
        Past {
            email: email.into(),
            client: Some(client.into()),
            ip: "203.0.113.5".into(),
            succeeded: false,
            attempted_at: now - chrono::Duration::seconds(secs_ago),
        }
    }

    #[test]
    fn delays_grow_after_the_free_failures_and_pass() {
        let limits = LoginLimits::default();
        let now = Utc::now();
        let me = client("ip:203.0.113.5", false);
        let four: Vec<Past> = (0..4).map(|i| fail("a@b.co", &me.key, 10 + i, now)).collect();
        assert_eq!(wait(&limits, "a@b.co", &me, &four, now), None);
        let five: Vec<Past> = (0..5).map(|i| fail("a@b.co", &me.key, 10 + i, now)).collect();
        assert_eq!(wait(&limits, "a@b.co", &me, &five, now), Some(Duration::from_secs(20)));
        let seven: Vec<Past> = (0..7).map(|i| fail("a@b.co", &me.key, 10 + i, now)).collect();
        assert_eq!(wait(&limits, "a@b.co", &me, &seven, now), Some(Duration::from_secs(110)));
        let later = now + chrono::Duration::minutes(3);
        assert_eq!(wait(&limits, "a@b.co", &me, &seven, later), None, "a delay, not a lock");
    }

    #[test]
    fn a_known_device_is_not_held_back_by_a_strangers_failures() {
        let limits = LoginLimits::default();
        let now = Utc::now();
        let stranger: Vec<Past> = (0..40).map(|i| fail("owner@b.co", "ip:203.0.113.5", i, now)).collect();
        let owner = client("device:abc", true);
        assert_eq!(wait(&limits, "owner@b.co", &owner, &stranger, now), None);
        // An unknown client at the same account is held back by them.
        let other =
            Client { key: "ip:198.51.100.1".into(), known: false, ip: "198.51.100.1".into(), device: None };
        assert!(wait(&limits, "owner@b.co", &other, &stranger, now).is_some());
    }
}
