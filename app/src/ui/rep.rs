//! The sales rep's follow-up queue (filled in by issue 5).

use leptos::prelude::*;

#[component]
pub fn Queue() -> impl IntoView {
    view! {
        <h1>"Follow-up queue"</h1>
        <section class="card empty">
            <p>"No open quotes are assigned to you."</p>
        </section>
    }
}
