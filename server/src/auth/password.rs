//! argon2id password hashes (the crate's defaults: m=19 MiB, t=2, p=1, as OWASP recommends).
//! Hashing is CPU-bound for tens of milliseconds, so it runs on the blocking pool, and at most
//! [`AT_ONCE`] run together: unbounded, a burst of parallel sign-ins took 19 MiB each, on threads
//! the blocking pool kept adding (docs/perf-log.md). The rest wait their turn for a few seconds,
//! then get a 503 with Retry-After instead of exhausting the machine.

use crate::error::ApiError;
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use std::{sync::OnceLock, time::Duration};
use tokio::sync::Semaphore;

/// Hashes computed at once: a few per core keeps every core busy under a burst.
const AT_ONCE: usize = 4;
static TURNS: Semaphore = Semaphore::const_new(AT_ONCE);
/// How long a sign-in waits for its turn before it is told to come back.
const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// Runs `work` (an argon2 computation) on the blocking pool once one of the [`AT_ONCE`] turns
/// is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let _turn = tokio::time::timeout(LONGEST_WAIT, TURNS.acquire())
        .await
        .map_err(|_| ApiError::Busy("Too many sign-ins at once. Try again in a few seconds.".into()))?
        .map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)
}

pub async fn hash(password: String) -> Result<String, ApiError> {
    bounded(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await?
    .map_err(|e| ApiError::Internal(e.to_string().into()))
}

/// Checks `password` against `stored`; with no stored hash (unknown email) it verifies against a
/// dummy so that the answer takes as long either way and does not reveal which emails exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    bounded(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else { return false };
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        ok && known
    })
    .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not a real password, only for timing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".into(), Some(h)).await.unwrap());
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }
}
