//! The list of consultations on this device (the technician's Today, the manager's dashboard),
//! each with its sync state: a dot while a change waits to be sent.

use super::sync_state::use_sync;
use crate::sync::protocol::Entity;
use leptos::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Clone, PartialEq)]
struct Row {
    id: Uuid,
    customer: String,
    problem: String,
    status: String,
    pending: bool,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

#[component]
pub fn ConsultationList(#[prop(into)] empty: String) -> impl IntoView {
    let sync = use_sync();
    let rows = Memo::new(move |_| {
        let snap = sync.snapshot.get();
        let mut rows: Vec<Row> = snap
            .records(Entity::Consultation)
            .map(|(id, c)| {
                // The customer hangs off the lead (a consultation made offline knows only its lead).
                let customer_id =
                    c.get("customer_id").and_then(Value::as_str).map(str::to_string).or_else(|| {
                        let lead = c.get("lead_id")?.as_str()?.parse().ok()?;
                        snap.get(Entity::Lead, lead)?.get("customer_id")?.as_str().map(str::to_string)
                    });
                let customer = customer_id
                    .and_then(|cid| cid.parse().ok())
                    .and_then(|cid| snap.get(Entity::Customer, cid))
                    .map(|cust| text(cust, "name"))
                    .unwrap_or_else(|| "Unknown customer".into());
                Row {
                    id: *id,
                    customer,
                    problem: text(c, "problem"),
                    status: text(c, "status"),
                    pending: snap.is_pending(Entity::Consultation, *id),
                }
            })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.id)); // UUIDv7: newest first
        rows
    });
    view! {
        <Show
            when=move || !rows.get().is_empty()
            fallback=move || {
                let text = if sync.snapshot.with(|s| s.loaded) { empty.clone() } else { "Opening this device's records…".to_string() };
                view! { <section class="card empty" data-testid="consultations-empty"><p>{text}</p></section> }
            }
        >
            <ul class="list card" data-testid="consultation-list">
                <For each=move || rows.get() key=|r| (r.id, r.pending, r.status.clone(), r.problem.clone()) let:row>
                    <li data-testid="consultation" data-pending=row.pending.to_string()>
                        <strong>{row.customer.clone()}</strong>
                        {row.pending.then(|| view! { <span class="pending-dot" title="Not synced yet" aria-label="Not synced yet"></span> })}
                        <span class="status">{row.status.clone()}</span>
                        <div class="muted">{row.problem.clone()}</div>
                    </li>
                </For>
            </ul>
        </Show>
    }
}
