//! The device's sync runtime in the browser: the engine over IndexedDB, the photos stored
//! beside it, the channel to this person's other tabs, and the snapshot every screen reads.
//! One [`Runtime`] per page, opened by [`start`].

use super::{
    status::{storage_warning, SyncProblem, SyncStatus},
    SyncHandle,
};
use crate::sync::{
    engine::{ClientState, Engine},
    idb::IdbStore,
    mutation::Mutation,
    protocol::Entity,
};
use chrono::Utc;
use futures_util::lock::Mutex;
use leptos::prelude::Update;
use serde_json::Value;
use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    sync::Arc,
};
use uuid::Uuid;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

pub(super) type DeviceEngine = Engine<IdbStore>;

pub(super) struct Runtime {
    pub handle: SyncHandle,
    /// Whose records these are.
    user_id: Uuid,
    /// Locked only to build a request or apply a response, never across the network (see
    /// `run::sync_once_now`).
    pub engine: Mutex<DeviceEngine>,
    /// The engine's database, for photos and signatures (kept outside the engine's state).
    pub store: IdbStore,
    /// Tells this person's other tabs that the device's store changed.
    channel: Option<web_sys::BroadcastChannel>,
    /// Whether this tab holds the sync lock (`leader`).
    pub leader: Cell<bool>,
    /// Whether a sync run is going in this tab (one at a time).
    pub running: Cell<bool>,
    /// Saves started on this page, to name each one's User Timing mark.
    saves: Cell<u64>,
}

/// The page's runtime, from the moment the store opens.
enum Device {
    NotStarted,
    Opening,
    Open(Rc<Runtime>),
}

thread_local! {
    static DEVICE: RefCell<Device> = const { RefCell::new(Device::NotStarted) };
}

pub(super) fn runtime() -> Option<Rc<Runtime>> {
    DEVICE.with(|d| match &*d.borrow() {
        Device::Open(rt) => Some(rt.clone()),
        _ => None,
    })
}

/// What a save says when the device storage never opened (see [`opened`]).
pub(super) const NOT_OPEN: &str =
    "The device storage has not opened yet; try again in a moment. What you typed is still here.";

/// The runtime, waiting up to 10 s for the device storage to open. A save tapped in the first
/// moments after a page load waits for it instead of failing (the e2e suite caught a second
/// tab's first save refused that way on a busy machine).
pub(super) async fn opened() -> Option<Rc<Runtime>> {
    for _ in 0..200 {
        if let Some(rt) = runtime() {
            return Some(rt);
        }
        gloo_timers::future::TimeoutFuture::new(50).await;
    }
    runtime()
}

/// Opens this person's store and starts syncing (once per page).
pub(super) fn start(handle: SyncHandle, user_id: Uuid) {
    let first = DEVICE.with(|d| {
        let mut d = d.borrow_mut();
        matches!(*d, Device::NotStarted).then(|| *d = Device::Opening).is_some()
    });
    if !first {
        return;
    }
    leptos::task::spawn_local(async move {
        let name = format!("fieldclose-{user_id}");
        let opened = async {
            let store = IdbStore::open(&name).await?;
            Ok::<_, crate::sync::idb::IdbError>((store.clone(), Engine::open(store).await?))
        };
        // Ask the browser not to evict this origin's storage under pressure: unsent work
        // lives there. (Chromium grants it to installed or much-used apps.)
        if let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) {
            if let Ok(promise) = storage.persist() {
                let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
            }
        }
        let (store, mut engine) = match opened.await {
            Ok(opened) => opened,
            Err(e) => {
                handle.snapshot.update(|s| s.status.problem = Some(SyncProblem::Storage(e.to_string())));
                return;
            }
        };
        replay_drafts(&mut engine, user_id).await;
        let channel = web_sys::BroadcastChannel::new(&name).ok();
        if let Some(channel) = &channel {
            let cb = Closure::<dyn Fn()>::new(on_announce);
            channel.set_onmessage(Some(cb.as_ref().unchecked_ref()));
            cb.forget(); // lives as long as the page
        }
        let rt = Rc::new(Runtime {
            handle,
            user_id,
            engine: Mutex::new(engine),
            store,
            channel,
            leader: Cell::new(false),
            running: Cell::new(false),
            saves: Cell::new(0),
        });
        rt.publish(&*rt.engine.lock().await, |_| {});
        DEVICE.with(|d| *d.borrow_mut() = Device::Open(rt.clone()));
        rt.refresh_counts().await;
        super::leader::elect(user_id, move || {
            rt.leader.set(true);
            leptos::task::spawn_local(super::run::lead());
        });
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

/// Another tab changed the store: read it again, and send what it queued if this tab syncs.
fn on_announce() {
    leptos::task::spawn_local(async {
        let Some(rt) = runtime() else { return };
        {
            let mut engine = rt.engine.lock().await;
            if engine.reload().await.is_ok() {
                rt.publish(&engine, |_| {});
            }
        }
        rt.refresh_counts().await;
        super::run::kick();
    });
}

fn online() -> bool {
    web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true)
}

impl Runtime {
    /// Tells the other tabs to re-read the store (they show this tab's write; the syncing tab
    /// sends it).
    pub fn announce(&self) {
        if let Some(c) = &self.channel {
            let _ = c.post_message(&JsValue::from_str("changed"));
        }
    }

    fn set_status(&self, s: &mut SyncStatus, state: &ClientState) {
        s.loaded = true;
        s.online = online();
        s.pending = state.pending.len();
        s.rejected.clone_from(&state.rejected);
        s.last_synced_at = state.last_synced_at;
        s.syncing_tab = self.leader.get();
    }

    /// Everything the page shows, the records too. Rebuilding the view copies every record on
    /// the device (thousands after a year of work): only for changes to what the records look
    /// like, i.e. a pull that brought rows, or a write the server refused. Anything else is
    /// [`Runtime::publish_status`].
    pub fn publish(&self, engine: &DeviceEngine, tweak: impl FnOnce(&mut SyncStatus)) {
        let state = engine.state();
        let pending_targets =
            state.pending.iter().filter_map(|m| crate::sync::optimistic::target(&m.name, &m.args)).collect();
        let first = super::first_screen::shown(state.last_synced_at.is_some(), self.user_id);
        self.handle.snapshot.update(|s| {
            self.set_status(&mut s.status, state);
            s.status.first_screen = first.is_some();
            s.pending_targets = pending_targets;
            s.view = Arc::new(engine.view_over(first.as_deref()));
            tweak(&mut s.status);
        });
    }

    /// The sync status alone (online, syncing, counts, last sync, problem), without touching
    /// the records; and nothing at all, so no page recomputes, when it has not changed.
    pub fn publish_status(&self, engine: &DeviceEngine, tweak: impl FnOnce(&mut SyncStatus)) {
        self.handle.snapshot.maybe_update(|s| {
            let before = s.status.clone();
            self.set_status(&mut s.status, engine.state());
            tweak(&mut s.status);
            s.status != before
        });
    }

    /// After local writes only: lays the last `appended` writes of the outbox over the view
    /// already on screen instead of rebuilding it from every record (a save must not cost a copy
    /// of the whole device).
    fn publish_appended(&self, engine: &DeviceEngine, appended: usize) {
        let pending = &engine.state().pending;
        let new = &pending[pending.len().saturating_sub(appended)..];
        self.handle.snapshot.update(|s| {
            s.status.pending = pending.len();
            let view = Arc::make_mut(&mut s.view);
            for m in new {
                s.pending_targets.extend(crate::sync::optimistic::target(&m.name, &m.args));
                crate::sync::optimistic::apply(view, &m.name, &m.args, m.client_ts);
            }
        });
    }

    /// Updates the upload count and the storage warning.
    pub async fn refresh_counts(&self) {
        let unsent = self.store.unsent_blobs().await.map(|b| b.len()).unwrap_or(0);
        self.handle
            .snapshot
            .maybe_update(|s| std::mem::replace(&mut s.status.uploads_pending, unsent) != unsent);
        let estimate = web_sys::window().map(|w| w.navigator().storage()).and_then(|s| s.estimate().ok());
        if let Some(promise) = estimate {
            if let Ok(e) = wasm_bindgen_futures::JsFuture::from(promise).await {
                let e: web_sys::StorageEstimate = e.unchecked_into();
                let warning = storage_warning(e.get_usage().unwrap_or(0.0), e.get_quota().unwrap_or(0.0));
                self.handle.snapshot.maybe_update(|s| {
                    std::mem::replace(&mut s.status.storage_warning, warning.clone()) != warning
                });
            }
        }
    }

    /// Saves local writes in the outbox, all or up to the first the engine refuses.
    pub async fn queue(&self, mutations: &[Mutation]) -> Result<(), String> {
        let performance = web_sys::window().and_then(|w| w.performance());
        // A mark of its own per save: saves overlap when taps come quickly, and a shared name
        // would measure an earlier save from a later one's start.
        let start = format!("fc:save-start:{}", self.saves.replace(self.saves.get() + 1));
        if let Some(p) = &performance {
            let _ = p.mark(&start);
        }
        {
            let mut engine = self.engine.lock().await;
            let now = Utc::now();
            for (i, m) in mutations.iter().enumerate() {
                if let Err(e) = engine.mutate(m, now).await {
                    self.publish_appended(&engine, i);
                    return Err(e.to_string());
                }
            }
            self.publish_appended(&engine, mutations.len());
        }
        // "fc:save" in the browser's User Timing: from the tap to the write being durable in
        // IndexedDB and laid over the records on screen (end2end/bench/save-time.spec.ts reads
        // it; so does DevTools' Performance panel).
        if let Some(p) = performance {
            let _ = p.measure_with_start_mark("fc:save", &start);
            p.clear_marks_with_mark_name(&start);
        }
        self.announce();
        super::run::kick();
        Ok(())
    }

    /// The outbox and the refused writes, with this device's client id, as pretty JSON.
    pub async fn unsent_json(&self) -> String {
        let engine = self.engine.lock().await;
        let state = engine.state();
        let unsent = serde_json::json!({
            "client_id": state.client_id,
            "exported_at": Utc::now(),
            "pending": state.pending,
            "rejected": state.rejected,
        });
        serde_json::to_string_pretty(&unsent).unwrap_or_default()
    }

    pub async fn put_blob(&self, sha256: &str, blob: &web_sys::Blob) -> Result<(), String> {
        self.store
            .put_blob(sha256, blob)
            .await
            .map_err(|e| format!("Could not keep the picture on this device: {e}"))?;
        self.announce();
        self.refresh_counts().await;
        Ok(())
    }
}

/// Offers `text` as a file download (a Blob URL behind a clicked link).
pub(super) fn download(name: &str, text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Ok(link) = document.create_element("a") {
        let _ = link.set_attribute("href", &url);
        let _ = link.set_attribute("download", name);
        if let Some(link) = link.dyn_ref::<web_sys::HtmlElement>() {
            link.click();
        }
    }
    // Revoked once the browser has surely started the download.
    gloo_timers::callback::Timeout::new(60_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
}
