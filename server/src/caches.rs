//! What a process keeps in memory for a few seconds (sessions, lead form keys), and how a change
//! made through any process empties it in every process at once (ADR 0062).
//!
//! A change that a cache holds (a sign-out, a deactivation, a company's settings, a rotated lead
//! form key) is forgotten here at once and announced on the Postgres channel
//! [`CHANNEL`]; every process listens ([`listen`]) and forgets it too, within a round trip.
//! Should the announcement or the listener's connection be lost, the caches' own expiry bounds
//! the harm (`session_cache::FRESH_FOR`, `intake::Guards::TRUST`), and a listener that lost its
//! connection forgets everything when it is back, since it may have missed announcements.

use crate::{
    auth::session_cache::{SessionCache, TokenHash},
    intake::Guards,
    state::AppState,
};
use sqlx::{postgres::PgListener, PgPool};
use std::{sync::Arc, time::Duration};
use uuid::Uuid;

/// The channel announcements travel on between processes.
const CHANNEL: &str = "fieldclose_forget";

/// Something every process must stop trusting from its cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forget {
    /// A session that ended (signed out, password changed, person deactivated or re-roled).
    Session(TokenHash),
    /// Every session of a company whose settings (carried in `Me`) changed.
    Company(Uuid),
    /// The lead form keys (one was rotated, or a company's allowed sites changed).
    LeadFormKeys,
}

impl Forget {
    fn payload(&self) -> String {
        match self {
            Forget::Session(hash) => format!("session:{}", hex::encode(hash)),
            Forget::Company(id) => format!("company:{id}"),
            Forget::LeadFormKeys => "lead-form-keys".into(),
        }
    }

    fn parse(payload: &str) -> Option<Self> {
        match payload.split_once(':') {
            Some(("session", hash)) => {
                let mut bytes = [0; 32];
                hex::decode_to_slice(hash, &mut bytes).ok()?;
                Some(Forget::Session(bytes))
            }
            Some(("company", id)) => id.parse().ok().map(Forget::Company),
            None if payload == "lead-form-keys" => Some(Forget::LeadFormKeys),
            _ => None,
        }
    }
}

/// Forgets `what` in this process now, and tells every other process to. Call it after the
/// change committed (a lookup then reads the new state).
pub async fn forget(state: &AppState, what: Forget) {
    apply(&state.sessions, &state.intake, what);
    let announced =
        sqlx::query!("select pg_notify($1, $2)", CHANNEL, what.payload()).execute(&state.pool).await;
    if let Err(error) = announced {
        // The other processes' entries expire by themselves within seconds.
        tracing::warn!(%error, ?what, "could not tell the other processes to forget a cached entry");
    }
}

/// [`forget`] for several sessions (a person's, ended together).
pub async fn forget_sessions(state: &AppState, hashes: &[Vec<u8>]) {
    for hash in hashes {
        if let Ok(hash) = <TokenHash>::try_from(hash.as_slice()) {
            forget(state, Forget::Session(hash)).await;
        }
    }
}

fn apply(sessions: &SessionCache, intake: &Guards, what: Forget) {
    match what {
        Forget::Session(hash) => sessions.forget(&hash),
        Forget::Company(id) => sessions.forget_company(id),
        Forget::LeadFormKeys => intake.forget(),
    }
}

/// Starts listening for every process's announcements (this one's included, which are already
/// applied: forgetting twice is harmless).
pub async fn listen(
    pool: &PgPool,
    sessions: Arc<SessionCache>,
    intake: Arc<Guards>,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    let (sessions, intake) = (Arc::downgrade(&sessions), Arc::downgrade(&intake));
    tokio::spawn(async move {
        loop {
            let received = listener.try_recv().await;
            // The server (its state) is gone: so is the need to listen.
            let (Some(sessions), Some(intake)) = (sessions.upgrade(), intake.upgrade()) else { return };
            match received {
                Ok(Some(notice)) => match Forget::parse(notice.payload()) {
                    Some(what) => apply(&sessions, &intake, what),
                    None => tracing::warn!(payload = notice.payload(), "unknown cache announcement"),
                },
                // The connection was lost: announcements made meanwhile are gone. The next call
                // reconnects; what this process holds may be stale, so it holds nothing.
                Ok(None) => {
                    sessions.forget_all();
                    intake.forget();
                }
                // The server closed its pool: it is stopping.
                Err(sqlx::Error::PoolClosed) => return,
                Err(error) => {
                    tracing::warn!(%error, "cache announcements: cannot reconnect yet");
                    sessions.forget_all();
                    intake.forget();
                    drop((sessions, intake));
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_read_back_as_written_and_nothing_else_parses() {
        for what in [Forget::Session([7; 32]), Forget::Company(Uuid::now_v7()), Forget::LeadFormKeys] {
            assert_eq!(Forget::parse(&what.payload()), Some(what));
        }
        for junk in ["", "session:zz", "session:0707", "company:nope", "lead-form-keys:1", "poke:1"] {
            assert_eq!(Forget::parse(junk), None, "{junk:?}");
        }
    }
}
