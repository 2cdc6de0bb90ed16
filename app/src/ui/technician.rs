//! The technician's tabs: Today, New and Sync.
//!
//! The walking skeleton renders the frame of each; capturing a consultation (issue 4) and the
//! outbox behind the Sync tab (issue 3) fill them in.

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Today() -> impl IntoView {
    view! {
        <h1>"Today"</h1>
        <section class="card empty" data-testid="today-empty">
            <p>"No consultations on this device yet."</p>
            <A href="/new" attr:class="button primary">"Start a consultation"</A>
        </section>
    }
}

#[component]
pub fn NewConsultation() -> impl IntoView {
    view! {
        <h1>"New consultation"</h1>
        <ol class="steps" aria-label="Consultation steps">
            <li>"Customer"</li>
            <li>"Home & equipment"</li>
            <li>"Checklist"</li>
            <li>"Options"</li>
            <li>"Outcome"</li>
        </ol>
        <section class="card">
            <p>"Capturing a consultation offline is not available in this build yet."</p>
        </section>
    }
}

#[component]
pub fn SyncPage() -> impl IntoView {
    view! {
        <h1>"Sync"</h1>
        <section class="card" data-testid="sync-status">
            <dl class="facts">
                <dt>"Waiting to send"</dt><dd>"0 changes"</dd>
                <dt>"Rejected"</dt><dd>"none"</dd>
                <dt>"Offline copy"</dt><dd class="offline-copy" data-testid="offline-copy"></dd>
            </dl>
        </section>
    }
}
