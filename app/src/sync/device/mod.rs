//! The device's side of sync as the screens use it: a snapshot signal every screen can read
//! (pending count, last sync, refused writes, the local view of records) and [`queue`] to make
//! a write.
//!
//! In the browser the engine runs over IndexedDB (`sync::idb`), one database per person, in one
//! [`runtime`] per page; one tab per person syncs (`leader`), through the one HTTP client
//! (`transport`), uploading photos first (`uploads`), in sync runs (`run`). On the server the
//! snapshot stays at its default, so the first render matches the server's HTML; the real state
//! arrives right after hydration.

mod first_screen;
mod status;
pub mod transport;

#[cfg(feature = "hydrate")]
pub(crate) mod kept;
#[cfg(feature = "hydrate")]
mod lazy;
#[cfg(feature = "hydrate")]
mod leader;
#[cfg(feature = "hydrate")]
mod older;
#[cfg(feature = "hydrate")]
mod run;
#[cfg(feature = "hydrate")]
mod runtime;
#[cfg(feature = "hydrate")]
mod uploads;

pub use first_screen::{FirstScreen, ELEMENT_ID as FIRST_SCREEN_ELEMENT, SYNCED_COOKIE};
pub use status::{storage_warning, Connection, SyncProblem, SyncSnapshot, SyncStatus};

use crate::sync::mutation::Mutation;
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct SyncHandle {
    pub snapshot: RwSignal<SyncSnapshot>,
}

pub fn use_sync() -> SyncHandle {
    use_context::<SyncHandle>()
        .unwrap_or_else(|| SyncHandle { snapshot: RwSignal::new(SyncSnapshot::default()) })
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// The runtime to start once the page has hydrated ([`start_after_hydration`]).
    static WAITING: std::cell::Cell<Option<(SyncHandle, uuid::Uuid)>> = const { std::cell::Cell::new(None) };
}

/// Provides the handle to every page; in the browser the device's runtime starts once the page
/// has hydrated ([`start_after_hydration`]).
pub fn provide_sync() {
    // The rows the page came with (a device's first visit): the server rendered them, so the
    // browser starts from them too.
    let mut snapshot = SyncSnapshot::default();
    if let Some(first) = FirstScreen::of_page() {
        snapshot.view = std::sync::Arc::new(first.records());
        snapshot.status.first_screen = true;
        #[cfg(feature = "hydrate")]
        first_screen::keep(snapshot.view.clone());
    }
    let handle = SyncHandle { snapshot: RwSignal::new(snapshot) };
    provide_context(handle);
    #[cfg(feature = "hydrate")]
    if let Some(me) = crate::ui::current_user() {
        WAITING.with(|w| w.set(Some((handle, me.user_id))));
    }
}

/// Opens the device's records and starts syncing: called once the page has hydrated. Opened
/// earlier, while a lazy page's code was still loading, the records could be there before the
/// page first renders, which would then render the records instead of the server's "opening"
/// HTML: a hydration mismatch, which stops the page.
#[cfg(feature = "hydrate")]
pub fn start_after_hydration() {
    if let Some((handle, user_id)) = WAITING.with(|w| w.take()) {
        runtime::start(handle, user_id);
    }
}

/// Validates and queues a local write; resolves once it is safe on the device.
pub async fn queue(mutations: Vec<Mutation>) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        lazy::save(mutations).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = mutations;
        Err("changes can only be made in the browser".into())
    }
}

/// [`queue`]'s work, in the device's lazy chunk (`lazy`): every mutation's validation and
/// serializer stay out of the first load, which only shows records. [`preload_saving`] fetches
/// it once the first screen is up, so a save offline never waits for it.
#[cfg(feature = "hydrate")]
async fn save_now(mutations: Vec<Mutation>) -> Result<(), String> {
    if mutations.is_empty() {
        return Ok(());
    }
    for m in &mutations {
        m.validate().map_err(|e| e.to_string())?;
    }
    runtime::opened().await.ok_or(runtime::NOT_OPEN)?.queue(&mutations).await
}

/// Fetches the code that saves writes (see [`queue`]).
pub async fn preload_saving() {
    #[cfg(feature = "hydrate")]
    let _ = lazy::save(Vec::new()).await;
}

/// Removes this person's records from the device on sign-out, keeping only what was never sent.
pub async fn forget_records() -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    first_screen::mark_synced(None);
    #[cfg(feature = "hydrate")]
    if let Some(rt) = runtime::runtime() {
        return rt.store.forget_records().await.map_err(|e| format!("Could not clear this device: {e}"));
    }
    Ok(())
}

/// Finds older work on the server (`GET /api/sync/search`) and keeps it on this device, so what
/// was opened once reads offline afterwards; returns how many consultations were found.
pub async fn search_older(words: &str) -> Result<usize, transport::Failure> {
    #[cfg(feature = "hydrate")]
    return lazy::search(words.to_string()).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = words;
        Ok(0)
    }
}

/// Asks for a sync now (the Sync tab's button).
pub fn sync_now() {
    #[cfg(feature = "hydrate")]
    run::kick();
}

/// Saves the writes the server has not accepted (pending and refused) as a JSON file: they stay on
/// the device whatever happens to the account, and this gets them off it.
pub fn download_unsent() {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async {
        if let Some(rt) = runtime::runtime() {
            let json = rt.unsent_json().await;
            runtime::download("fieldclose-unsent-changes.json", &json);
        }
    });
}

/// Keeps a photo or signature on the device until it is uploaded.
#[cfg(feature = "hydrate")]
pub async fn put_blob(sha256: &str, blob: &web_sys::Blob) -> Result<(), String> {
    runtime::opened().await.ok_or(runtime::NOT_OPEN)?.put_blob(sha256, blob).await
}

/// A photo or signature kept on this device, if it is.
#[cfg(feature = "hydrate")]
pub async fn get_blob(sha256: &str) -> Option<web_sys::Blob> {
    runtime::runtime()?.store.blob(sha256).await.ok().flatten()
}
