//! The device's sync engine as the UI sees it: a snapshot signal every screen can read (pending
//! count, last sync, rejected writes, the local view of records) and `queue()` to make a write.
//!
//! In the browser the engine runs over IndexedDB (`sync::idb`), one database per person, and a
//! loop syncs after every write, when the network comes back, and every 30 s. On the server the
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
    pub view: Arc<BTreeMap<(Entity, Uuid), Value>>,
}

impl SyncSnapshot {
    pub fn records(&self, entity: Entity) -> impl Iterator<Item = (&Uuid, &Value)> {
        self.view.iter().filter(move |((e, _), _)| *e == entity).map(|((_, id), v)| (id, v))
    }

    pub fn get(&self, entity: Entity, id: Uuid) -> Option<&Value> {
        self.view.get(&(entity, id))
    }

    pub fn is_pending(&self, entity: Entity, id: Uuid) -> bool {
        self.pending_targets.contains(&(entity, id))
    }
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

/// Asks for a sync now (the Sync tab's button).
pub fn sync_now() {
    #[cfg(feature = "hydrate")]
    browser::kick();
}

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
    use wasm_bindgen::{closure::Closure, JsCast};

    type DeviceEngine = Engine<IdbStore>;

    thread_local! {
        static ENGINE: RefCell<Option<Rc<Mutex<DeviceEngine>>>> = const { RefCell::new(None) };
        static HANDLE: RefCell<Option<SyncHandle>> = const { RefCell::new(None) };
    }

    fn engine() -> Option<Rc<Mutex<DeviceEngine>>> {
        ENGINE.with(|e| e.borrow().clone())
    }

    fn online() -> bool {
        web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true)
    }

    fn publish(engine: &DeviceEngine, tweak: impl FnOnce(&mut SyncSnapshot)) {
        let Some(handle) = HANDLE.with(|h| *h.borrow()) else { return };
        let state = engine.state();
        let pending_targets = state
            .pending
            .iter()
            .filter_map(|m| Mutation::from_parts(&m.name, &m.args).ok())
            .map(|m| m.target())
            .collect();
        handle.snapshot.update(|s| {
            s.loaded = true;
            s.online = online();
            s.pending = state.pending.len();
            s.pending_targets = pending_targets;
            s.rejected = state.rejected.clone();
            s.last_synced_at = state.last_synced_at;
            s.view = Arc::new(engine.view());
            tweak(s);
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
                Ok(engine) => {
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
                std::mem::forget(events); // lives as long as the page
            }
            loop {
                sync_once().await;
                gloo_timers::future::TimeoutFuture::new(30_000).await;
            }
        });
    }

    pub fn kick() {
        leptos::task::spawn_local(sync_once());
    }

    pub async fn queue(mutations: Vec<Mutation>) -> Result<(), String> {
        let engine = engine().ok_or("The device storage is still opening; try again in a moment.")?;
        {
            let mut engine = engine.lock().await;
            for m in &mutations {
                engine.mutate(m, Utc::now()).await.map_err(|e| e.to_string())?;
            }
            publish(&engine, |_| {});
        }
        kick();
        Ok(())
    }

    enum Failure {
        Offline,
        Refused(String),
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
        let message = resp
            .json::<crate::api::ErrorBody>()
            .await
            .map(|b| {
                if b.error.code == "client_id_reused" {
                    "client_id_reused".to_string()
                } else {
                    b.error.message
                }
            })
            .unwrap_or_else(|_| format!("The server answered {status}."));
        if status >= 500 {
            Err(Failure::Offline)
        } else {
            Err(Failure::Refused(message))
        }
    }

    /// Pushes everything pending, then pulls until up to date. One at a time per tab.
    async fn sync_once() {
        let Some(engine) = engine() else { return };
        let Some(mut engine) = engine.try_lock() else { return }; // a sync is already running
        if !online() {
            publish(&engine, |s| s.syncing = false);
            return;
        }
        publish(&engine, |s| s.syncing = true);
        let mut problem = None;
        while let Some(req) = engine.push_request(50) {
            match post::<_, PushResponse>("/api/sync/push", &req).await {
                Ok(resp) => {
                    if let Err(e) = engine.on_push_response(&resp).await {
                        problem = Some(e.to_string());
                        break;
                    }
                }
                Err(Failure::Refused(m)) if m == "client_id_reused" => {
                    if engine.on_client_id_reused().await.is_err() {
                        break;
                    }
                }
                Err(Failure::Offline) => {
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
        if problem.is_none() {
            loop {
                let req = engine.pull_request(None);
                match post::<_, PullResponse>("/api/sync/pull", &req).await {
                    Ok(resp) => {
                        if let Err(e) = engine.on_pull_response(&resp, Utc::now()).await {
                            problem = Some(e.to_string());
                            break;
                        }
                        publish(&engine, |_| {});
                        if !resp.has_more {
                            break;
                        }
                    }
                    Err(Failure::Offline) => {
                        problem = Some("No connection to the server right now.".into());
                        break;
                    }
                    Err(Failure::Refused(m)) => {
                        problem = Some(m);
                        break;
                    }
                }
            }
        }
        // A write queued while this run was pulling has not been pushed yet: go again.
        let again = problem.is_none() && engine.push_request(1).is_some();
        publish(&engine, |s| {
            s.syncing = false;
            s.problem = problem;
        });
        drop(engine);
        if again {
            kick();
        }
    }
}
