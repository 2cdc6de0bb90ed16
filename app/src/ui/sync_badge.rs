//! The sync state at a glance, in the header of every page.
//!
//! Connectivity (offline, a network that cannot reach Fieldclose, or online), how many changes
//! wait to be sent and how many were rejected; it links to the Sync tab. `navigator.onLine` is
//! read in an effect, never during render, so hydration matches.

use crate::sync::device::Connection;
use leptos::prelude::*;

#[component]
pub fn SyncBadge() -> impl IntoView {
    // Render "online" on the server and on first hydration; correct it after mount.
    let online = RwSignal::new(true);
    let sync = crate::sync::device::use_sync();

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::{closure::Closure, JsCast};
        let Some(window) = web_sys::window() else { return };
        online.set(window.navigator().on_line());
        for (event, value) in [("online", true), ("offline", false)] {
            let cb = Closure::<dyn Fn()>::new(move || online.set(value));
            let _ = window.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
            // The badge lives as long as the page: leaking the two listeners is intended.
            cb.forget();
        }
    });

    let connection = move || sync.snapshot.with(|s| Connection::of(online.get(), s.status.problem.as_ref()));
    view! {
        <a href="/sync" class="sync-badge" class:offline=move || connection() != Connection::Online
            aria-live="polite" data-testid="sync-badge" data-connection=move || format!("{:?}", connection()).to_lowercase()>
            <span class="dot" aria-hidden="true"></span>
            <span class="state">{move || connection().label()}</span>
            <span class="pending" data-testid="badge-pending">{move || {
                sync.snapshot.with(|s| {
                let snap = &s.status;
                let rejected = if snap.rejected.is_empty() { String::new() } else { format!(" · {} rejected", snap.rejected.len()) };
                let photos = match snap.uploads_pending { 0 => String::new(), n => format!(" · {n} photo(s)") };
                let storage = if snap.storage_warning.is_some() { " · storage low" } else { "" };
                format!("· {} pending{photos}{rejected}{storage}", snap.pending)
                })
            }}</span>
        </a>
    }
}
