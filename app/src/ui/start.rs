//! `/start`: where a manager lands after signing the company up — the few things to do before the
//! team's first consultation, each marked done once it is, read from the device's records.

use super::current_user;
use crate::{
    sync::{device::use_sync, protocol::Entity},
    ui::visit::text,
};
use leptos::prelude::*;
use serde_json::Value;

#[component]
pub fn GetStarted() -> impl IntoView {
    let sync = use_sync();
    let company = current_user().map(|me| me.company_name).unwrap_or_default();
    // (others on the team, price book items, checklist steps)
    let counts = Memo::new(move |_| {
        sync.snapshot.with(|s| {
            let team = s.records(Entity::TeamMember).filter(|(_, m)| text(m, "role") != "manager").count();
            let items = s.records(Entity::PriceBookItem).count();
            let steps = s
                .records(Entity::ChecklistTemplate)
                .filter(|(_, t)| !t.get("retired").and_then(Value::as_bool).unwrap_or(false))
                .map(|(_, t)| t.get("steps").and_then(Value::as_array).map_or(0, Vec::len))
                .sum::<usize>();
            (team, items, steps)
        })
    });
    let loaded = Memo::new(move |_| sync.snapshot.with(|s| s.status.loaded));
    let step = move |done: bool| if done { "done" } else { "" };
    view! {
        <h1>"Get started"</h1>
        <p>{format!("{company} is set up. Three things before your team's first consultation:")}</p>
        <Show when=move || loaded.get() fallback=|| view! { <p class="muted">"Opening this device's records…"</p> }>
            <ol class="get-started card" data-testid="get-started">
                <li class=move || step(counts.get().0 > 0)>
                    <a href="/team">"Add your technicians and reps"</a>
                    {move || match counts.get().0 {
                        0 => " — nobody yet.".to_string(),
                        n => format!(" — {n} on the team. ✓"),
                    }}
                </li>
                <li class=move || step(counts.get().1 > 0)>
                    <a href="/price-book">"Your price book"</a>": "
                    {move || match counts.get().1 {
                        0 => "empty; options are priced by hand until it has items.".to_string(),
                        n => format!("{n} items, on every technician's device, offline too. ✓"),
                    }}
                </li>
                <li class=move || step(counts.get().2 > 0)>
                    <a href="/checklist">"Your in-home checklist"</a>": "
                    {move || match counts.get().2 {
                        0 => "none; consultations are captured without one.".to_string(),
                        n => format!("{n} steps in every new consultation. ✓"),
                    }}
                </li>
            </ol>
        </Show>
        <p><a href="/settings">"Set your targets"</a>" · "<a href="/dashboard">"Go to your dashboard"</a>" · "<a href="/reports">"Reports"</a></p>
    }
}
