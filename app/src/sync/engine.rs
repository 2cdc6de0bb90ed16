//! The client half of the protocol, written once for the browser and for native tests and the
//! load generator: an outbox of numbered mutations, patches applied from pulls, pending
//! mutations rebased over the server's state, and backoff with jitter.
//!
//! The engine holds no I/O: callers take a request from it, send it however they send things
//! (gloo-net in the browser, reqwest in tests), and hand the response back. Durability is the
//! [`Store`]'s job: every change of state goes through it before the engine reports success.

use super::{
    mutation::Mutation,
    protocol::{
        Cookie, Entity, MutationEnvelope, MutationStatus, PatchOp, PullRequest, PullResponse, PushRequest,
        PushResponse, SCHEMA_VERSION,
    },
};
use crate::domain::ValidationError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A record as the server last sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerRow {
    pub version: i64,
    pub data: Value,
}

/// A mutation the server refused, with its reason and the payload the person typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    pub mutation: MutationEnvelope,
    pub reason: String,
}

/// Everything a device keeps about sync. A [`Store`] persists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientState {
    pub client_id: Uuid,
    pub cookie: Option<Cookie>,
    /// The highest mutation id the server has confirmed processing.
    pub last_mutation_id: u64,
    pub next_mutation_id: u64,
    /// Mutations not yet confirmed by a pull (sent or not), oldest first.
    pub pending: Vec<MutationEnvelope>,
    pub rejected: Vec<Rejected>,
    pub rows: BTreeMap<(Entity, Uuid), ServerRow>,
    pub last_synced_at: Option<DateTime<Utc>>,
}

impl ClientState {
    pub fn new(client_id: Uuid) -> Self {
        Self {
            client_id,
            cookie: None,
            last_mutation_id: 0,
            next_mutation_id: 1,
            pending: vec![],
            rejected: vec![],
            rows: BTreeMap::new(),
            last_synced_at: None,
        }
    }
}

/// Durable storage of a [`ClientState`]. Each method is one atomic step: in IndexedDB one
/// transaction, so a killed tab leaves either all of a step or none of it.
#[allow(async_fn_in_trait)]
pub trait Store {
    type Error: std::fmt::Display;
    async fn load(&self) -> Result<Option<ClientState>, Self::Error>;
    /// Appends to the outbox (and bumps the next id) in one step, and returns the id it was
    /// stored under: the stored next id if another tab of the same profile took `mutation.id`
    /// first. Numbering inside the store's transaction keeps ids unique across tabs.
    async fn append(&self, mutation: &MutationEnvelope) -> Result<u64, Self::Error>;
    /// Records what a push response says: rejected mutations with their reasons, and the last
    /// processed id.
    async fn record_push(&self, last_mutation_id: u64, rejected: &[Rejected]) -> Result<(), Self::Error>;
    /// Applies a pull: patch (after clearing on reset), cookie, and drops confirmed pending.
    async fn apply_pull(&self, response: &PullResponse, at: DateTime<Utc>) -> Result<(), Self::Error>;
    /// Writes a whole state (first start).
    async fn init(&self, state: &ClientState) -> Result<(), Self::Error>;
}

/// The pure state transitions every store applies, so the memory store and IndexedDB agree.
impl ClientState {
    /// Continues under a new client id: pending mutations are renumbered 1, 2, 3...
    pub fn rekey(&mut self, client_id: Uuid) {
        self.client_id = client_id;
        for (i, m) in self.pending.iter_mut().enumerate() {
            m.id = i as u64 + 1;
        }
        self.last_mutation_id = 0;
        self.next_mutation_id = self.pending.len() as u64 + 1;
    }

    /// Appends `mutation` under the first free id at or above its own; returns that id.
    pub fn apply_append(&mut self, mutation: &MutationEnvelope) -> u64 {
        let id = mutation.id.max(self.next_mutation_id);
        self.next_mutation_id = id + 1;
        self.pending.push(MutationEnvelope { id, ..mutation.clone() });
        id
    }

    pub fn apply_push(&mut self, last_mutation_id: u64, rejected: &[Rejected]) {
        for r in rejected {
            if !self.rejected.iter().any(|x| x.mutation.id == r.mutation.id) {
                self.rejected.push(r.clone());
            }
        }
        // A rejected mutation will never show up in a pull: drop it from pending now.
        self.pending.retain(|m| !rejected.iter().any(|r| r.mutation.id == m.id));
        self.last_mutation_id = self.last_mutation_id.max(last_mutation_id);
    }

    pub fn apply_pull(&mut self, response: &PullResponse, at: DateTime<Utc>) {
        if response.reset {
            self.rows.clear();
        }
        for op in &response.patch {
            match op {
                PatchOp::Put { entity, id, version, data } => {
                    self.rows.insert((*entity, *id), ServerRow { version: *version, data: data.clone() });
                }
                PatchOp::Del { entity, id, .. } => {
                    self.rows.remove(&(*entity, *id));
                }
            }
        }
        self.cookie = Some(response.cookie);
        self.last_mutation_id = self.last_mutation_id.max(response.last_mutation_id);
        // The patch contains the effects of everything up to last_mutation_id; what the server
        // rejected moves to `rejected` (with its reason), never simply away.
        let confirmed = response.last_mutation_id;
        for m in self.pending.iter().filter(|m| m.id <= confirmed) {
            if let Some(r) = response.rejected.iter().find(|r| r.id == m.id) {
                if !self.rejected.iter().any(|x| x.mutation.id == m.id) {
                    self.rejected
                        .push(Rejected { mutation: m.clone(), reason: r.error.clone().unwrap_or_default() });
                }
            }
        }
        self.pending.retain(|m| m.id > confirmed);
        if !response.has_more {
            self.last_synced_at = Some(at);
        }
    }
}

/// The engine: one per device profile.
pub struct Engine<S: Store> {
    store: S,
    state: ClientState,
    backoff: Backoff,
}

impl<S: Store> Engine<S> {
    /// Opens the profile in `store`, creating it with a fresh client id the first time.
    pub async fn open(store: S) -> Result<Self, S::Error> {
        let state = match store.load().await? {
            Some(state) => state,
            None => {
                let state = ClientState::new(Uuid::now_v7());
                store.init(&state).await?;
                state
            }
        };
        Ok(Self { store, state, backoff: Backoff::default() })
    }

    pub fn state(&self) -> &ClientState {
        &self.state
    }

    pub fn client_id(&self) -> Uuid {
        self.state.client_id
    }

    /// Validates and queues a local write. Once this returns, the write survives a killed tab.
    pub async fn mutate(
        &mut self,
        mutation: &Mutation,
        now: DateTime<Utc>,
    ) -> Result<u64, MutateError<S::Error>> {
        mutation.validate().map_err(MutateError::Invalid)?;
        self.append(mutation.name(), mutation.args(), now).await.map_err(MutateError::Store)
    }

    /// Queues a write in its wire form, validated by the caller. For a caller that makes one
    /// kind of write and must not reach every mutation's code through [`Mutation`]: the browser's
    /// draft replay at start-up, which is in the first load (`FieldUpdate::consultation_wire`).
    pub async fn append(&mut self, name: &str, args: Value, now: DateTime<Utc>) -> Result<u64, S::Error> {
        let envelope = MutationEnvelope {
            id: self.state.next_mutation_id,
            name: name.to_string(),
            args,
            client_ts: now,
        };
        let id = self.store.append(&envelope).await?;
        self.state.apply_append(&MutationEnvelope { id, ..envelope });
        Ok(id)
    }

    /// Reads the whole state again from the store: another tab of this profile wrote to it.
    pub async fn reload(&mut self) -> Result<(), S::Error> {
        if let Some(state) = self.store.load().await? {
            self.state = state;
        }
        Ok(())
    }

    /// The next push: pending mutations the server has not processed, oldest first.
    pub fn push_request(&self, max: usize) -> Option<PushRequest> {
        let mutations: Vec<_> = self
            .state
            .pending
            .iter()
            .filter(|m| m.id > self.state.last_mutation_id)
            .take(max)
            .cloned()
            .collect();
        (!mutations.is_empty()).then_some(PushRequest {
            client_id: self.state.client_id,
            schema_version: SCHEMA_VERSION,
            mutations,
        })
    }

    pub async fn on_push_response(&mut self, response: &PushResponse) -> Result<(), S::Error> {
        if response.last_mutation_id >= self.state.next_mutation_id {
            // The server has processed ids this profile never made: its storage went back in time.
            return self.on_client_id_reused().await;
        }
        let rejected: Vec<Rejected> = response
            .results
            .iter()
            .filter(|r| r.status == MutationStatus::Rejected)
            .filter_map(|r| {
                let mutation = self.state.pending.iter().find(|m| m.id == r.id)?.clone();
                Some(Rejected { mutation, reason: r.error.clone().unwrap_or_default() })
            })
            .collect();
        self.store.record_push(response.last_mutation_id, &rejected).await?;
        self.state.apply_push(response.last_mutation_id, &rejected);
        self.backoff.reset();
        Ok(())
    }

    /// The server answered `409 client_id_reused`: this profile's storage went back in time (a
    /// restored backup) and reuses mutation numbers the server already holds. Replays of those
    /// ids would be skipped as duplicates and the pending writes lost, so continue under a new
    /// client id with the pending writes renumbered.
    pub async fn on_client_id_reused(&mut self) -> Result<(), S::Error> {
        let mut fresh = self.state.clone();
        fresh.rekey(Uuid::now_v7());
        self.store.init(&fresh).await?;
        self.state = fresh;
        Ok(())
    }

    pub fn pull_request(&self, limit: Option<u32>) -> PullRequest {
        PullRequest {
            client_id: self.state.client_id,
            cookie: self.state.cookie,
            limit,
            pending_from: self.state.pending.first().map(|m| m.id),
            kinds_version: crate::sync::protocol::KINDS_VERSION,
        }
    }

    pub async fn on_pull_response(
        &mut self,
        response: &PullResponse,
        now: DateTime<Utc>,
    ) -> Result<(), S::Error> {
        self.store.apply_pull(response, now).await?;
        self.state.apply_pull(response, now);
        self.backoff.reset();
        Ok(())
    }

    /// Drops the server rows that have left the history window ([`super::window::outside`]),
    /// through [`Engine::adopt`]. Returns how many rows left.
    pub async fn evict_outside(&mut self, kept: &[Uuid], cutoff: DateTime<Utc>) -> Result<usize, S::Error> {
        if self.state.cookie.is_none() {
            return Ok(0);
        }
        let gone = super::window::outside(&self.state.rows, &self.state.pending, kept, cutoff);
        if gone.is_empty() {
            return Ok(0);
        }
        let patch = gone
            .iter()
            .map(|key| PatchOp::Del {
                entity: key.0,
                id: key.1,
                version: self.state.rows.get(key).map(|r| r.version).unwrap_or_default(),
            })
            .collect();
        self.adopt(patch).await?;
        Ok(gone.len())
    }

    /// Applies a patch that did not come from a pull — rows a search of older work found, or
    /// the `del`s of an eviction — as a pull the device makes to itself: the same store step, at
    /// the cookie it has (so the next pull goes on from where it was), `has_more` so the last
    /// sync time stands. A found row comes at its current version, so it agrees with what later
    /// pulls send.
    pub async fn adopt(&mut self, patch: Vec<PatchOp>) -> Result<(), S::Error> {
        let Some(cookie) = self.state.cookie else { return Ok(()) };
        let response = PullResponse {
            cookie,
            last_mutation_id: self.state.last_mutation_id,
            patch,
            has_more: true,
            reset: false,
            rejected: vec![],
        };
        let at = self.state.last_synced_at.unwrap_or_else(Utc::now);
        self.store.apply_pull(&response, at).await?;
        self.state.apply_pull(&response, at);
        Ok(())
    }

    /// A request failed (no network, 5xx): how long to wait before the next try.
    pub fn on_failure(&mut self, random: u64) -> std::time::Duration {
        self.backoff.next(random)
    }

    /// What a person sees: the server's rows with pending local writes laid over them.
    pub fn view(&self) -> BTreeMap<(Entity, Uuid), Value> {
        self.view_over(None)
    }

    /// [`Engine::view`] over `under`, rows the device does not keep (the page's first screen,
    /// `device::first_screen`): a row the device has wins, and pending writes apply to both.
    pub fn view_over(
        &self,
        under: Option<&BTreeMap<(Entity, Uuid), Value>>,
    ) -> BTreeMap<(Entity, Uuid), Value> {
        let mut view = under.cloned().unwrap_or_default();
        view.extend(self.state.rows.iter().map(|(k, r)| (*k, r.data.clone())));
        for m in &self.state.pending {
            super::optimistic::apply(&mut view, &m.name, &m.args, m.client_ts);
        }
        view
    }

    /// How many local writes wait for the server.
    pub fn pending_count(&self) -> usize {
        self.state.pending.len()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MutateError<E: std::fmt::Display> {
    #[error("{0}")]
    Invalid(ValidationError),
    #[error("could not save on this device: {0}")]
    Store(E),
}

/// Exponential backoff with full jitter (AWS's "full jitter"): 1 s doubling to 5 minutes,
/// the wait drawn uniformly below the cap so that devices coming back together spread out.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    pub const BASE_MS: u64 = 1_000;
    pub const CAP_MS: u64 = 300_000;

    pub fn next(&mut self, random: u64) -> std::time::Duration {
        let ceiling = Self::BASE_MS.saturating_mul(1u64 << self.failures.min(20)).min(Self::CAP_MS);
        self.failures = self.failures.saturating_add(1);
        std::time::Duration::from_millis(random % (ceiling + 1))
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A [`Store`] in memory, shared by clones: the "disk" of native tests and the load generator.
/// Dropping an [`Engine`] and opening another over a clone is a killed and restarted tab.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: std::sync::Arc<std::sync::Mutex<Option<ClientState>>>,
}

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut ClientState) -> T) -> Result<T, std::convert::Infallible> {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(guard.as_mut().expect("init runs before any other step")))
    }
}

impl Store for MemoryStore {
    type Error = std::convert::Infallible;

    async fn load(&self) -> Result<Option<ClientState>, Self::Error> {
        Ok(self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    async fn append(&self, mutation: &MutationEnvelope) -> Result<u64, Self::Error> {
        self.with(|s| s.apply_append(mutation))
    }

    async fn record_push(&self, last_mutation_id: u64, rejected: &[Rejected]) -> Result<(), Self::Error> {
        self.with(|s| s.apply_push(last_mutation_id, rejected))
    }

    async fn apply_pull(&self, response: &PullResponse, at: DateTime<Utc>) -> Result<(), Self::Error> {
        self.with(|s| s.apply_pull(response, at))
    }

    async fn init(&self, state: &ClientState) -> Result<(), Self::Error> {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = Some(state.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_and_resets() {
        let mut b = Backoff::default();
        let ceilings: Vec<u64> = (0..12).map(|_| b.next(u64::MAX).as_millis() as u64).collect();
        // With random = MAX the wait is (MAX mod (ceiling+1)) — below the ceiling, never above.
        let mut c = Backoff::default();
        for (i, _) in ceilings.iter().enumerate() {
            let ceiling = (Backoff::BASE_MS << i.min(20)).min(Backoff::CAP_MS);
            assert!(c.next(u64::MAX) <= std::time::Duration::from_millis(ceiling));
        }
        let mut d = Backoff::default();
        for _ in 0..30 {
            d.next(7);
        }
        assert!(d.next(Backoff::CAP_MS).as_millis() as u64 <= Backoff::CAP_MS);
        d.reset();
        assert!(d.next(5_000).as_millis() as u64 <= Backoff::BASE_MS);
    }

    #[test]
    fn a_pull_drops_confirmed_pending_and_keeps_the_rest() {
        let mut s = ClientState::new(Uuid::now_v7());
        for id in 1..=3 {
            s.apply_append(&MutationEnvelope {
                id,
                name: "x".into(),
                args: Value::Null,
                client_ts: Utc::now(),
            });
        }
        let resp = PullResponse {
            cookie: Cookie { version: 5, epoch: 0, after: None, kinds_version: 2 },
            last_mutation_id: 2,
            patch: vec![],
            has_more: false,
            reset: false,
            rejected: vec![],
        };
        s.apply_pull(&resp, Utc::now());
        assert_eq!(s.pending.iter().map(|m| m.id).collect::<Vec<_>>(), vec![3]);
        assert_eq!(s.next_mutation_id, 4);
        assert!(s.last_synced_at.is_some());
    }

    #[test]
    fn two_tabs_sharing_a_store_never_reuse_an_id() {
        let store = MemoryStore::default();
        let run = async {
            let mut a = Engine::open(store.clone()).await.unwrap();
            let mut b = Engine::open(store.clone()).await.unwrap();
            let note = |n: &str| {
                Mutation::ActivityLog(super::super::mutation::ActivityLog {
                    id: Uuid::now_v7(),
                    consultation_id: Uuid::now_v7(),
                    kind: "note".into(),
                    outcome: None,
                    at: Utc::now(),
                    note: n.into(),
                })
            };
            // Both tabs believe the next id is 1.
            assert_eq!(a.mutate(&note("a"), Utc::now()).await.unwrap(), 1);
            assert_eq!(b.mutate(&note("b"), Utc::now()).await.unwrap(), 2);
            a.reload().await.unwrap();
            let ids: Vec<u64> = a.state().pending.iter().map(|m| m.id).collect();
            assert_eq!(ids, vec![1, 2], "the syncing tab sees the other tab's write after a reload");
        };
        futures_lite_block_on(run);
    }

    /// Runs a future that never waits on I/O (the memory store) to completion.
    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn a_reset_clears_rows_but_never_pending() {
        let mut s = ClientState::new(Uuid::now_v7());
        s.rows.insert((Entity::Customer, Uuid::now_v7()), ServerRow { version: 1, data: Value::Null });
        s.apply_append(&MutationEnvelope {
            id: 1,
            name: "x".into(),
            args: Value::Null,
            client_ts: Utc::now(),
        });
        let resp = PullResponse {
            cookie: Cookie { version: 9, epoch: 1, after: None, kinds_version: 2 },
            last_mutation_id: 0,
            patch: vec![],
            has_more: false,
            reset: true,
            rejected: vec![],
        };
        s.apply_pull(&resp, Utc::now());
        assert!(s.rows.is_empty());
        assert_eq!(s.pending.len(), 1);
    }
}
