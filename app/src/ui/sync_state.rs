//! The device's sync engine as the UI sees it: a snapshot signal every screen can read (pending
//! count, last sync, rejected writes, the local view of records) and `queue()` to make a write.
//!
//! In the browser the engine runs over IndexedDB (`sync::idb`), one database per person, and a
//! loop syncs after every write, when the network comes back, every 30 s, and after a failure
//! on the engine's backoff (1 s doubling to 5 minutes, with full jitter). On the server the
//! snapshot stays at its default, so the first render matches the server's HTML; the real state
//! arrives right after hydration.

use crate::sync::{engine::Rejected, mutation::Mutation, protocol::Entity};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde_json::Value;
use std::{collections::BTreeMap, sync::Arc};
use uuid::Uuid;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncSnapshot {
    /// False until the device's store has been opened (render nothing stale before that).
    pub loaded: bool,
    pub online: bool,
    pub syncing: bool,
    pub pending: usize,
    /// Records with unsent local changes, for the "not yet synced" dots.
    pub pending_targets: Vec<(Entity, Uuid)>,
    pub rejected: Vec<Rejected>,
    pub last_synced_at: Option<DateTime<Utc>>,
    /// The last problem talking to the server, in words.
    pub problem: Option<String>,
    /// Photos and signatures stored here and not yet uploaded.
    pub uploads_pending: usize,
    /// Set when the device is running out of room for offline work.
    pub storage_warning: Option<String>,
    /// False in a second tab of the app: another tab does the syncing.
    pub syncing_tab: bool,
    pub view: Arc<BTreeMap<(Entity, Uuid), Value>>,
}

impl SyncSnapshot {
    pub fn records(&self, entity: Entity) -> impl Iterator<Item = (&Uuid, &Value)> {
        // The view is ordered by entity first: one entity's records are one range of it.
        self.view.range((entity, Uuid::nil())..=(entity, Uuid::max())).map(|((_, id), v)| (id, v))
    }

    pub fn get(&self, entity: Entity, id: Uuid) -> Option<&Value> {
        self.view.get(&(entity, id))
    }

    pub fn is_pending(&self, entity: Entity, id: Uuid) -> bool {
        self.pending_targets.contains(&(entity, id))
    }

    /// The revision of a record as the server last sent it (0 for one made on this device):
    /// the `base_version` of an `update_fields`, so a concurrent edit is detected.
    pub fn revision(&self, entity: Entity, id: Uuid) -> i64 {
        self.get(entity, id).and_then(|r| r.get("revision")).and_then(Value::as_i64).unwrap_or(0)
    }
}

/// How full the device's storage is, in words, when it is worth a warning: below 50 MB free or
/// over 90% used, a technician is a few hundred photos from losing the ability to save.
pub fn storage_warning(usage: f64, quota: f64) -> Option<String> {
    if quota <= 0.0 {
        return None;
    }
    let free_mb = (quota - usage) / 1_000_000.0;
    // Whole megabytes, rounded here: formatting the float with `{:.0}` would need core's exact
    // float formatting in the first load for this one message.
    let shown = free_mb.max(0.0).round() as u64;
    (free_mb < 50.0 || usage / quota > 0.9).then(|| {
        format!(
            "This device is almost out of room for offline work ({shown} MB left). Sync, then free up space."
        )
    })
}

#[derive(Clone, Copy)]
pub struct SyncHandle {
    pub snapshot: RwSignal<SyncSnapshot>,
}

pub fn use_sync() -> SyncHandle {
    use_context::<SyncHandle>()
        .unwrap_or_else(|| SyncHandle { snapshot: RwSignal::new(SyncSnapshot::default()) })
}

/// Starts the device's engine (in the browser) and provides the handle to every page.
pub fn provide_sync() {
    let handle = SyncHandle { snapshot: RwSignal::new(SyncSnapshot::default()) };
    provide_context(handle);
    #[cfg(feature = "hydrate")]
    if let Some(me) = super::current_user() {
        Effect::new(move |_| browser::start(handle, me.user_id));
    }
}

/// Validates and queues a local write; resolves once it is safe on the device.
pub async fn queue(mutations: Vec<Mutation>) -> Result<(), String> {
    for m in &mutations {
        m.validate().map_err(|e| e.to_string())?;
    }
    #[cfg(feature = "hydrate")]
    {
        browser::queue(mutations).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Err("changes can only be made in the browser".into())
    }
}

/// Removes this person's records from the device on sign-out, keeping only what was never sent.
pub async fn forget_records() -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        browser::forget_records().await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Ok(())
    }
}

/// Asks for a sync now (the Sync tab's button).
pub fn sync_now() {
    #[cfg(feature = "hydrate")]
    browser::kick();
}

#[cfg(feature = "hydrate")]
pub use browser::{get_blob, put_blob};

#[cfg(feature = "hydrate")]
mod browser {
    use super::*;
    use crate::sync::{
        engine::Engine,
        idb::IdbStore,
        protocol::{PullResponse, PushResponse},
    };
    use futures_util::lock::Mutex;
    use std::{cell::RefCell, rc::Rc};
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};

    type DeviceEngine = Engine<IdbStore>;

    thread_local! {
        /// Saves started on this page, to name each one's User Timing mark.
        static SAVES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
        static ENGINE: RefCell<Option<Rc<Mutex<DeviceEngine>>>> = const { RefCell::new(None) };
        static HANDLE: RefCell<Option<SyncHandle>> = const { RefCell::new(None) };
        /// The same database as the engine's, for photos and signatures.
        static BLOBS: RefCell<Option<IdbStore>> = const { RefCell::new(None) };
        /// Tells this person's other tabs that the device's store changed.
        static CHANNEL: RefCell<Option<web_sys::BroadcastChannel>> = const { RefCell::new(None) };
        /// Whether this tab holds the sync lock.
        static LEADER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        /// Whether [`sync_once`] is running in this tab (one run at a time).
        static SYNCING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    fn blob_store() -> Option<IdbStore> {
        BLOBS.with(|b| b.borrow().clone())
    }

    pub async fn put_blob(sha256: &str, blob: &web_sys::Blob) -> Result<(), String> {
        let store = once_open(blob_store).await.ok_or(NOT_OPEN)?;
        store
            .put_blob(sha256, blob)
            .await
            .map_err(|e| format!("Could not keep the picture on this device: {e}"))?;
        announce();
        refresh_counts().await;
        Ok(())
    }

    pub async fn forget_records() -> Result<(), String> {
        let Some(store) = blob_store() else { return Ok(()) };
        store.forget_records().await.map_err(|e| format!("Could not clear this device: {e}"))
    }

    pub async fn get_blob(sha256: &str) -> Option<web_sys::Blob> {
        blob_store()?.blob(sha256).await.ok().flatten()
    }

    /// Updates the upload count and the storage warning.
    async fn refresh_counts() {
        let Some(handle) = HANDLE.with(|h| *h.borrow()) else { return };
        if let Some(store) = blob_store() {
            let unsent = store.unsent_blobs().await.map(|b| b.len()).unwrap_or(0);
            handle.snapshot.maybe_update(|s| std::mem::replace(&mut s.uploads_pending, unsent) != unsent);
        }
        let estimate = web_sys::window().map(|w| w.navigator().storage()).and_then(|s| s.estimate().ok());
        if let Some(promise) = estimate {
            if let Ok(e) = wasm_bindgen_futures::JsFuture::from(promise).await {
                let e: web_sys::StorageEstimate = e.unchecked_into();
                let warning = storage_warning(e.get_usage().unwrap_or(0.0), e.get_quota().unwrap_or(0.0));
                handle
                    .snapshot
                    .maybe_update(|s| std::mem::replace(&mut s.storage_warning, warning.clone()) != warning);
            }
        }
    }

    /// Tells the other tabs to re-read the store (they show this tab's write; the syncing tab
    /// sends it).
    fn announce() {
        CHANNEL.with(|c| {
            if let Some(c) = c.borrow().as_ref() {
                let _ = c.post_message(&JsValue::from_str("changed"));
            }
        });
    }

    /// Another tab changed the store: read it again, and send what it queued if this tab syncs.
    fn on_announce() {
        leptos::task::spawn_local(async {
            let Some(engine) = engine() else { return };
            {
                let mut engine = engine.lock().await;
                if engine.reload().await.is_ok() {
                    publish(&engine, |_| {});
                }
            }
            refresh_counts().await;
            if LEADER.with(|l| l.get()) {
                kick();
            }
        });
    }

    /// One tab per person syncs: the one holding the Web Lock `fieldclose-sync-{user}`. The
    /// lock is held until the tab closes (the callback's promise never settles); the next tab
    /// in line then gets it. Two tabs never push the same outbox at once. A browser without
    /// Web Locks syncs from every tab, which the server's exactly-once rule keeps correct.
    fn become_leader_then(user_id: Uuid, start: impl FnOnce() + 'static) {
        let Some(window) = web_sys::window() else { return };
        let locks = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("locks"))
            .unwrap_or(JsValue::UNDEFINED);
        let request = js_sys::Reflect::get(&locks, &JsValue::from_str("request"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let Some(request) = request.filter(|_| !locks.is_undefined()) else {
            LEADER.with(|l| l.set(true));
            start();
            return;
        };
        let start = std::rc::Rc::new(std::cell::RefCell::new(Some(start)));
        let on_grant = start.clone();
        let granted = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
            if let Some(start) = on_grant.borrow_mut().take() {
                LEADER.with(|l| l.set(true));
                start();
            }
            js_sys::Promise::new(&mut |_, _| {}).into()
        });
        if request.call2(&locks, &JsValue::from_str(&format!("fieldclose-sync-{user_id}")), &granted).is_err()
        {
            // The lock cannot be asked for (a sandboxed frame): sync from this tab anyway.
            if let Some(start) = start.borrow_mut().take() {
                LEADER.with(|l| l.set(true));
                start();
            }
        }
    }

    fn engine() -> Option<Rc<Mutex<DeviceEngine>>> {
        ENGINE.with(|e| e.borrow().clone())
    }

    /// What a save says when the device storage never opened (see [`once_open`]).
    const NOT_OPEN: &str =
        "The device storage has not opened yet; try again in a moment. What you typed is still here.";

    /// `get`, waiting up to 10 s for the device storage to open. A save tapped in the first
    /// moments after a page load waits for it instead of failing (the e2e suite caught a second
    /// tab's first save refused that way on a busy machine).
    async fn once_open<T>(get: impl Fn() -> Option<T>) -> Option<T> {
        for _ in 0..200 {
            if let Some(v) = get() {
                return Some(v);
            }
            gloo_timers::future::TimeoutFuture::new(50).await;
        }
        get()
    }

    fn online() -> bool {
        web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true)
    }

    /// Everything the page shows, the records too. Rebuilding the view copies every record on
    /// the device (thousands after a year of work): only for changes to what the records look
    /// like, i.e. a pull that brought rows, or a write the server refused. Anything else is
    /// [`publish_status`].
    fn publish(engine: &DeviceEngine, tweak: impl FnOnce(&mut SyncSnapshot)) {
        let Some(handle) = HANDLE.with(|h| *h.borrow()) else { return };
        let state = engine.state();
        let pending_targets =
            state.pending.iter().filter_map(|m| crate::sync::optimistic::target(&m.name, &m.args)).collect();
        handle.snapshot.update(|s| {
            set_status(s, state);
            s.pending_targets = pending_targets;
            s.view = Arc::new(engine.view());
            tweak(s);
        });
    }

    /// The sync state alone (online, syncing, counts, last sync, problem), without touching the
    /// records; and nothing at all, so no page recomputes, when it has not changed.
    fn publish_status(engine: &DeviceEngine, tweak: impl FnOnce(&mut SyncSnapshot)) {
        let Some(handle) = HANDLE.with(|h| *h.borrow()) else { return };
        let state = engine.state();
        handle.snapshot.maybe_update(|s| {
            let before = status_of(s);
            set_status(s, state);
            tweak(s);
            status_of(s) != before
        });
    }

    fn set_status(s: &mut SyncSnapshot, state: &crate::sync::engine::ClientState) {
        s.loaded = true;
        s.online = online();
        s.pending = state.pending.len();
        s.rejected.clone_from(&state.rejected);
        s.last_synced_at = state.last_synced_at;
        s.syncing_tab = LEADER.with(|l| l.get());
    }

    type Status = (bool, bool, bool, usize, Vec<u64>, Option<DateTime<Utc>>, bool, Option<String>);

    fn status_of(s: &SyncSnapshot) -> Status {
        (
            s.loaded,
            s.online,
            s.syncing,
            s.pending,
            s.rejected.iter().map(|r| r.mutation.id).collect(),
            s.last_synced_at,
            s.syncing_tab,
            s.problem.clone(),
        )
    }

    /// What a sync step can change in the records shown: the outbox (a refused write leaves
    /// it) and the refused writes.
    fn records_shape(engine: &DeviceEngine) -> (usize, usize) {
        (engine.state().pending.len(), engine.state().rejected.len())
    }

    /// After local writes only: lays the last `appended` writes of the outbox over the view
    /// already on screen instead of rebuilding it from every record (a save must not cost a copy
    /// of the whole device).
    fn publish_appended(engine: &DeviceEngine, appended: usize) {
        let Some(handle) = HANDLE.with(|h| *h.borrow()) else { return };
        let pending = &engine.state().pending;
        let new = &pending[pending.len().saturating_sub(appended)..];
        handle.snapshot.update(|s| {
            s.pending = pending.len();
            let view = Arc::make_mut(&mut s.view);
            for m in new {
                s.pending_targets.extend(crate::sync::optimistic::target(&m.name, &m.args));
                crate::sync::optimistic::apply(view, &m.name, &m.args, m.client_ts);
            }
        });
    }

    pub fn start(handle: SyncHandle, user_id: Uuid) {
        if HANDLE.with(|h| h.borrow().is_some()) {
            return;
        }
        HANDLE.with(|h| *h.borrow_mut() = Some(handle));
        leptos::task::spawn_local(async move {
            let opened = async {
                let store = IdbStore::open(&format!("fieldclose-{user_id}")).await?;
                BLOBS.with(|b| *b.borrow_mut() = Some(store.clone()));
                Engine::open(store).await
            };
            // Ask the browser not to evict this origin's storage under pressure: unsent work
            // lives there. (Chromium grants it to installed or much-used apps.)
            if let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) {
                if let Ok(promise) = storage.persist() {
                    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
                }
            }
            match opened.await {
                Ok(mut engine) => {
                    replay_drafts(&mut engine, user_id).await;
                    publish(&engine, |_| {});
                    ENGINE.with(|e| *e.borrow_mut() = Some(Rc::new(Mutex::new(engine))));
                }
                Err(e) => {
                    handle
                        .snapshot
                        .update(|s| s.problem = Some(format!("This device cannot store work offline: {e}")));
                    return;
                }
            }
            if let Ok(channel) = web_sys::BroadcastChannel::new(&format!("fieldclose-{user_id}")) {
                let cb = Closure::<dyn Fn()>::new(on_announce);
                channel.set_onmessage(Some(cb.as_ref().unchecked_ref()));
                cb.forget(); // lives as long as the page
                CHANNEL.with(|c| *c.borrow_mut() = Some(channel));
            }
            refresh_counts().await;
            become_leader_then(user_id, move || leptos::task::spawn_local(lead()));
        });
    }

    /// Queues the field edits a killed or reloaded tab left in the draft journal. In wire form
    /// (`FieldUpdate::consultation_wire`): this runs in the first load, and going through
    /// `Engine::mutate` would bring every mutation's validation and serializer into it.
    async fn replay_drafts(engine: &mut DeviceEngine, user_id: Uuid) {
        use crate::{sync::mutation::FieldUpdate, ui::drafts};
        for (key, written, draft) in drafts::left_behind(user_id) {
            let base_version = engine
                .state()
                .rows
                .get(&(Entity::Consultation, draft.consultation))
                .and_then(|r| r.data.get("revision"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let update = FieldUpdate { id: draft.consultation, base_version, fields: draft.fields };
            match update.consultation_wire() {
                // Queued; or invalid, which it was when typed too: nothing to keep either way.
                Ok((name, args)) => {
                    if engine.append(name, args, Utc::now()).await.is_ok() {
                        drafts::clear_if(&key, &written);
                    }
                }
                Err(_) => drafts::clear_if(&key, &written),
            }
        }
    }

    /// The syncing tab's loop: after every write, when the network or the server says so, every
    /// 30 s, and after a run that could not reach the server, on the engine's backoff.
    async fn lead() {
        if let Some(engine) = engine() {
            // Writes other tabs made before this one took over.
            let mut engine = engine.lock().await;
            let _ = engine.reload().await;
            publish(&engine, |_| {});
        }
        if let Some(window) = web_sys::window() {
            for event in ["online", "offline"] {
                let cb = Closure::<dyn Fn()>::new(kick);
                let _ = window.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
                cb.forget();
            }
        }
        // "Pull now" from the server when someone else's change lands; the browser
        // reconnects the stream by itself after a network loss.
        if let Ok(events) = web_sys::EventSource::new("/api/sync/events") {
            let cb = Closure::<dyn Fn()>::new(kick);
            let _ = events.add_event_listener_with_callback("poke", cb.as_ref().unchecked_ref());
            cb.forget();
            Box::leak(Box::new(events)); // lives as long as the page
        }
        loop {
            let wait = match sync_once().await {
                // The engine's backoff, with full jitter: 1 s doubling to 5 minutes, so devices
                // do not all come back at the same moment to a server that was down.
                Run::Unreachable => match engine() {
                    Some(engine) => engine.lock().await.on_failure(random_u64()),
                    None => IDLE,
                },
                Run::Finished | Run::Skipped => IDLE,
            };
            gloo_timers::future::TimeoutFuture::new(wait.as_millis().min(u128::from(u32::MAX)) as u32).await;
        }
    }

    /// Between syncs when nothing is wrong: writes and pokes start one sooner.
    const IDLE: std::time::Duration = std::time::Duration::from_secs(30);

    fn random_u64() -> u64 {
        (js_sys::Math::random() * u64::MAX as f64) as u64
    }

    /// How a sync run ended, which sets the wait before the loop's next one.
    enum Run {
        Finished,
        /// The network or the server was not there (no answer, or a 5xx): back off.
        Unreachable,
        /// Another run was going, or this device is not ready to sync.
        Skipped,
    }

    /// Syncs now if this is the syncing tab; another tab hears of the write and syncs it.
    pub fn kick() {
        if LEADER.with(|l| l.get()) {
            leptos::task::spawn_local(async {
                sync_once().await;
            });
        }
    }

    /// Uploads stored photos and signatures the server does not have yet.
    async fn upload_blobs() -> Result<(), Failure> {
        let Some(store) = blob_store() else { return Ok(()) };
        let unsent = store.unsent_blobs().await.map_err(|e| Failure::Refused(e.to_string()))?;
        for (sha, content_type, blob) in unsent {
            let resp = gloo_net::http::Request::put(&format!("/api/blobs/{sha}"))
                .header("content-type", &content_type)
                .body(JsValue::from(blob))
                .map_err(|e| Failure::Refused(e.to_string()))?
                .send()
                .await
                .map_err(|_| Failure::Offline)?;
            match resp.status() {
                200..=299 => {
                    let _ = store.mark_uploaded(&sha).await;
                }
                // 507: the company's storage is full; that is for a person to read, not to retry.
                500.. if resp.status() != 507 => return Err(Failure::Offline),
                status => {
                    let message = resp
                        .json::<crate::api::ErrorBody>()
                        .await
                        .map(|b| b.error.message)
                        .unwrap_or_else(|_| format!("The server answered {status}."));
                    return Err(Failure::Refused(format!("A photo could not be uploaded: {message}")));
                }
            }
        }
        Ok(())
    }

    pub async fn queue(mutations: Vec<Mutation>) -> Result<(), String> {
        let engine = once_open(engine).await.ok_or(NOT_OPEN)?;
        let performance = web_sys::window().and_then(|w| w.performance());
        // A mark of its own per save: saves overlap when taps come quickly, and a shared name
        // would measure an earlier save from a later one's start.
        let start = format!("fc:save-start:{}", SAVES.with(|n| n.replace(n.get() + 1)));
        if let Some(p) = &performance {
            let _ = p.mark(&start);
        }
        {
            let mut engine = engine.lock().await;
            let now = Utc::now();
            for (i, m) in mutations.iter().enumerate() {
                if let Err(e) = engine.mutate(m, now).await {
                    publish_appended(&engine, i);
                    return Err(e.to_string());
                }
            }
            publish_appended(&engine, mutations.len());
        }
        // "fc:save" in the browser's User Timing: from the tap to the write being durable in
        // IndexedDB and laid over the records on screen (end2end/bench/save-time.spec.ts reads
        // it; so does DevTools' Performance panel).
        if let Some(p) = performance {
            let _ = p.measure_with_start_mark("fc:save", &start);
            p.clear_marks_with_mark_name(&start);
        }
        announce();
        kick();
        Ok(())
    }

    /// Why a request of the sync run did not succeed, which decides what the run does next.
    enum Failure {
        /// No answer, or a 5xx: the writes wait here and the loop backs off.
        Offline,
        /// The server holds mutation ids this device reuses (its storage went back in time):
        /// continue under a new client id (`Engine::on_client_id_reused`).
        ClientIdReused,
        /// Refused for a reason a person can read.
        Refused(String),
    }

    impl Failure {
        /// What the sync state shows when this stops a run.
        fn message(self) -> String {
            match self {
                Failure::Offline => "No connection to the server right now.".into(),
                Failure::ClientIdReused => {
                    "This device's sync numbering went back in time; it continues under a new id.".into()
                }
                Failure::Refused(m) => m,
            }
        }
    }

    async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        url: &str,
        body: &B,
    ) -> Result<T, Failure> {
        let req =
            gloo_net::http::Request::post(url).json(body).map_err(|e| Failure::Refused(e.to_string()))?;
        let resp = req.send().await.map_err(|_| Failure::Offline)?;
        if resp.ok() {
            return resp.json().await.map_err(|e| Failure::Refused(e.to_string()));
        }
        let status = resp.status();
        if status >= 500 {
            return Err(Failure::Offline);
        }
        match resp.json::<crate::api::ErrorBody>().await {
            Ok(b) if b.error.code == crate::api::CLIENT_ID_REUSED => Err(Failure::ClientIdReused),
            Ok(b) => Err(Failure::Refused(b.error.message)),
            Err(_) => Err(Failure::Refused(format!("The server answered {status}."))),
        }
    }

    /// Marks [`sync_once`] running for as long as it lives.
    struct Running;

    impl Running {
        fn start() -> Option<Running> {
            (!SYNCING.with(|s| s.replace(true))).then_some(Running)
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            SYNCING.with(|s| s.set(false));
        }
    }

    /// Pushes everything pending, then pulls until up to date. One at a time per tab.
    ///
    /// The engine is locked only to build a request and to apply its response, never across
    /// the network: on one bar of signal a push or pull takes seconds, and a save waiting for
    /// the engine would wait for it.
    ///
    /// Its own wasm chunk (`#[lazy]`, fetched at the first sync, right after the store opens):
    /// the first screen shows and searches the device's records without it, and it brings the
    /// push and pull requests and responses, the uploads and their errors. A failed fetch of the
    /// chunk is retried by `pwa.js` until it arrives (no sync could run without signal anyway).
    #[leptos::lazy]
    async fn sync_once() -> Run {
        let Some(engine) = engine() else { return Run::Skipped };
        let Some(_running) = Running::start() else { return Run::Skipped }; // one run at a time
        if !online() {
            publish_status(&*engine.lock().await, |s| s.syncing = false);
            return Run::Unreachable;
        }
        publish_status(&*engine.lock().await, |s| s.syncing = true);
        // Whether the records on screen are out of date: a refused write leaves the outbox.
        let mut records_changed = false;
        // A photo the server refuses is kept and reported, but does not hold up the writes.
        let mut unreachable = false;
        let (mut problem, upload_problem) = match upload_blobs().await {
            Ok(()) => (None, None),
            Err(Failure::Offline) => {
                unreachable = true;
                (Some("No connection to the server; photos wait here and will be sent.".to_string()), None)
            }
            // Uploads carry no mutation ids: a refusal is all that is left.
            Err(failure) => (None, Some(failure.message())),
        };
        refresh_counts().await;
        loop {
            let req = engine.lock().await.push_request(50);
            let Some(req) = req.filter(|_| problem.is_none()) else { break };
            match post::<_, PushResponse>("/api/sync/push", &req).await {
                Ok(resp) => {
                    let mut engine = engine.lock().await;
                    let before = records_shape(&engine);
                    let applied = engine.on_push_response(&resp).await;
                    records_changed |= records_shape(&engine) != before;
                    if let Err(e) = applied {
                        problem = Some(e.to_string());
                        break;
                    }
                }
                Err(Failure::ClientIdReused) => {
                    records_changed = true;
                    if engine.lock().await.on_client_id_reused().await.is_err() {
                        break;
                    }
                }
                Err(Failure::Offline) => {
                    unreachable = true;
                    problem = Some(
                        "No connection to the server; your changes are safe here and will be sent.".into(),
                    );
                    break;
                }
                Err(Failure::Refused(m)) => {
                    problem = Some(m);
                    break;
                }
            }
        }
        // Said where the sync state is shown, like a problem, without stopping anything.
        let mut held_back = None;
        if problem.is_none() {
            loop {
                let req = engine.lock().await.pull_request(None);
                match post::<_, PullResponse>("/api/sync/pull", &req).await {
                    Ok(resp) => {
                        let mut engine = engine.lock().await;
                        let before = records_shape(&engine);
                        if let Err(e) = engine.on_pull_response(&resp, Utc::now()).await {
                            problem = Some(e.to_string());
                            break;
                        }
                        // Most pulls bring nothing new: then only "last synced" changes.
                        if records_changed
                            || resp.reset
                            || !resp.patch.is_empty()
                            || records_shape(&engine) != before
                        {
                            publish(&engine, |_| {});
                            records_changed = false;
                        } else {
                            publish_status(&engine, |_| {});
                        }
                        if !resp.has_more {
                            held_back = resp.held_back.then(|| {
                                "The server is still confirming a colleague's change, so the newest changes \
                                 may take up to 30 seconds to arrive."
                                    .to_string()
                            });
                            break;
                        }
                    }
                    Err(failure) => {
                        unreachable |= matches!(failure, Failure::Offline);
                        problem = Some(failure.message());
                        break;
                    }
                }
            }
        }
        // A write saved while this run was on the network has not been pushed yet: go again.
        let engine = engine.lock().await;
        let again = problem.is_none() && engine.push_request(1).is_some();
        let finish = |s: &mut SyncSnapshot| {
            s.syncing = false;
            s.problem = problem.or(upload_problem).or(held_back);
        };
        if records_changed {
            publish(&engine, finish);
        } else {
            publish_status(&engine, finish);
        }
        drop(engine);
        drop(_running);
        announce(); // other tabs show what this pull brought
        if again {
            kick();
        }
        if unreachable {
            Run::Unreachable
        } else {
            Run::Finished
        }
    }
}

#[cfg(test)]
mod tests {
    use super::storage_warning;

    #[test]
    fn storage_is_low_below_50_mb_free_or_over_90_percent_used() {
        assert_eq!(storage_warning(0.0, 0.0), None, "no quota reported: no warning");
        assert_eq!(storage_warning(100e6, 1000e6), None);
        let nearly_full = storage_warning(980.4e6, 1000e6).unwrap();
        assert!(nearly_full.contains("(20 MB left)"), "{nearly_full}");
        let over_90 = storage_warning(9.5e9, 10e9).unwrap();
        assert!(over_90.contains("(500 MB left)"), "{over_90}");
    }
}
