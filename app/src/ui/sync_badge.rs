//! The sync state at a glance, in the header of every page.
//!
//! Connectivity, how many changes wait to be sent and how many were rejected; it links to the
//! Sync tab. `navigator.onLine` is read in an effect, never during render, so hydration matches.

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

    view! {
        <a href="/sync" class="sync-badge" class:offline=move || !online.get() aria-live="polite" data-testid="sync-badge">
            <span class="dot" aria-hidden="true"></span>
            <span class="state">{move || if online.get() { "Online" } else { "Offline" }}</span>
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
