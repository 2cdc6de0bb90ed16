//! The sessions this server has just looked up, kept in memory for a few seconds.
//!
//! A device in use sends a request every few seconds (a push, a pull, a photo), and each would
//! otherwise cost a query joining sessions, users, companies and the company's settings before
//! it could start. Under the ingest bench that query was one in every dozen statements a push
//! made. A cached session is at most [`FRESH_FOR`] old and never outlives its `expires_at`.
//!
//! What any process changes, every process forgets at once (`caches`): signing out forgets the
//! session, and a change of a company's settings (which [`Me`] carries) forgets the company's
//! sessions. Deactivating a person or changing their role deletes their sessions and forgets
//! each one (`users::change`). A change made outside the server (SQL by hand) is seen within
//! [`FRESH_FOR`].
//!
//! A lookup that started before a forget and ends after it must not put back what it read
//! before the change: [`SessionCache::generation`] tells it whether anything was forgotten
//! meanwhile.

use app::api::Me;
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};
use uuid::Uuid;

/// How long a looked-up session is trusted without asking Postgres again.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

/// Past this many entries the expired ones are dropped; if none are, everything is (a burst of
/// sign-ins costs a query each once more, never unbounded memory).
const MAX_ENTRIES: usize = 20_000;

/// A session token's SHA-256, the form in which sessions are stored.
pub type TokenHash = [u8; 32];

pub struct SessionCache {
    entries: Mutex<HashMap<TokenHash, Entry>>,
    /// Moves on with every forget (see [`SessionCache::put_unless_forgotten`]).
    forgets: AtomicU64,
    /// Sessions ended by signing out here: open event streams of that session end with them.
    ended: tokio::sync::broadcast::Sender<TokenHash>,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
            forgets: AtomicU64::new(0),
            ended: tokio::sync::broadcast::channel(256).0,
        }
    }
}

struct Entry {
    me: Me,
    until: Instant,
}

impl SessionCache {
    /// The person behind the session, if it was looked up within [`FRESH_FOR`] and has not expired.
    pub fn get(&self, token: &TokenHash) -> Option<Me> {
        self.get_at(token, Instant::now())
    }

    /// Where the forgets stand: read it before looking a session up in Postgres.
    pub fn generation(&self) -> u64 {
        self.forgets.load(Ordering::SeqCst)
    }

    /// Keeps a session just looked up that stays valid for `valid_for` more, unless something
    /// was forgotten since [`generation`](Self::generation) read `generation` (what the lookup
    /// read may be what was forgotten; the next request looks it up again).
    pub fn put_unless_forgotten(&self, token: TokenHash, me: Me, valid_for: Duration, generation: u64) {
        let mut entries = self.lock();
        if self.generation() == generation {
            Self::insert(&mut entries, token, me, valid_for, Instant::now());
        }
    }

    /// Forgets a session that ended (signed out), and tells its open event streams.
    pub fn forget(&self, token: &TokenHash) {
        self.forgetting(|entries| {
            entries.remove(token);
        });
        let _ = self.ended.send(*token);
    }

    /// Forgets everything (the announcements of other processes may have been missed).
    pub fn forget_all(&self) {
        self.forgetting(HashMap::clear);
    }

    /// Sessions as they end by signing out on this server.
    pub fn ended(&self) -> tokio::sync::broadcast::Receiver<TokenHash> {
        self.ended.subscribe()
    }

    pub fn forget_company(&self, company_id: Uuid) {
        self.forgetting(|entries| entries.retain(|_, e| e.me.company_id != company_id));
    }

    /// Drops entries under the lock and moves the generation on with it, so that a lookup in
    /// flight does not put back what was dropped ([`SessionCache::put_unless_forgotten`]).
    fn forgetting(&self, drop_entries: impl FnOnce(&mut HashMap<TokenHash, Entry>)) {
        let mut entries = self.lock();
        self.forgets.fetch_add(1, Ordering::SeqCst);
        drop_entries(&mut entries);
    }

    fn get_at(&self, token: &TokenHash, now: Instant) -> Option<Me> {
        let entries = self.lock();
        entries.get(token).filter(|e| now < e.until).map(|e| e.me.clone())
    }

    #[cfg(test)]
    fn put_at(&self, token: TokenHash, me: Me, valid_for: Duration, now: Instant) {
        Self::insert(&mut self.lock(), token, me, valid_for, now);
    }

    fn insert(
        entries: &mut HashMap<TokenHash, Entry>,
        token: TokenHash,
        me: Me,
        valid_for: Duration,
        now: Instant,
    ) {
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now < e.until);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(token, Entry { me, until: now + valid_for.min(FRESH_FOR) });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenHash, Entry>> {
        // A panic while holding the lock leaves a map that is still whole: keep using it.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::Role;

    fn me(company_id: Uuid) -> Me {
        Me {
            user_id: Uuid::now_v7(),
            name: "Tess".into(),
            email: "t@acme.test".into(),
            role: Role::Technician,
            company_id,
            company_name: "Acme Air".into(),
            company_logo: None,
            time_zone: "America/Chicago".into(),
            proposal_terms: String::new(),
            cadence_days: vec![1, 3],
            history_days: app::domain::settings::DEFAULT_DEVICE_HISTORY_DAYS,
        }
    }

    #[test]
    fn a_session_is_trusted_for_a_few_seconds_and_never_past_its_expiry() {
        let cache = SessionCache::default();
        let t0 = Instant::now();
        cache.put_at([1; 32], me(Uuid::now_v7()), Duration::from_secs(3600), t0);
        assert!(cache.get_at(&[1; 32], t0 + FRESH_FOR - Duration::from_millis(1)).is_some());
        assert!(cache.get_at(&[1; 32], t0 + FRESH_FOR).is_none(), "asks Postgres again");

        cache.put_at([2; 32], me(Uuid::now_v7()), Duration::from_secs(2), t0);
        assert!(cache.get_at(&[2; 32], t0 + Duration::from_secs(2)).is_none(), "the session expired");
        assert!(cache.get_at(&[3; 32], t0).is_none());
    }

    #[test]
    fn signing_out_and_a_settings_change_forget_at_once() {
        let cache = SessionCache::default();
        let (acme, other) = (Uuid::now_v7(), Uuid::now_v7());
        for (token, company) in [([1; 32], acme), ([2; 32], acme), ([3; 32], other)] {
            cache.put_unless_forgotten(token, me(company), FRESH_FOR, cache.generation());
        }
        cache.forget(&[1; 32]);
        assert!(cache.get(&[1; 32]).is_none());
        cache.forget_company(acme);
        assert!(cache.get(&[2; 32]).is_none());
        assert!(cache.get(&[3; 32]).is_some(), "another company's sessions stay");
    }

    #[test]
    fn a_lookup_that_overlapped_a_forget_is_not_kept() {
        let cache = SessionCache::default();
        let before = cache.generation();
        // Another process's sign-out of some session arrives while this lookup runs.
        cache.forget(&[9; 32]);
        cache.put_unless_forgotten([1; 32], me(Uuid::now_v7()), FRESH_FOR, before);
        assert!(cache.get(&[1; 32]).is_none(), "what it read may be what was forgotten");
        cache.put_unless_forgotten([1; 32], me(Uuid::now_v7()), FRESH_FOR, cache.generation());
        assert!(cache.get(&[1; 32]).is_some());
        cache.forget_all();
        assert!(cache.get(&[1; 32]).is_none());
    }

    #[test]
    fn stays_bounded() {
        let cache = SessionCache::default();
        let t0 = Instant::now();
        for i in 0..MAX_ENTRIES + 10 {
            let mut token = [0; 32];
            token[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.put_at(token, me(Uuid::nil()), FRESH_FOR, t0);
        }
        assert!(cache.lock().len() <= MAX_ENTRIES);
    }
}
