//! The list of consultations on this device (the technician's Today, the manager's dashboard),
//! each with its sync state: a dot while a change waits to be sent.

use super::visit::text;
use crate::sync::device::use_sync;
use crate::sync::protocol::Entity;
use leptos::prelude::*;
use uuid::Uuid;

#[derive(Clone, PartialEq)]
struct Row {
    id: Uuid,
    customer: String,
    /// Name, phone and address in lower case, for the search box.
    haystack: String,
    problem: String,
    status: String,
    pending: bool,
    rejected: bool,
}

/// `query` filters by customer name, phone or address; `link` opens a row's visit; `recent`
/// (when set) lists only that many of the newest until something is searched for.
#[component]
pub fn ConsultationList(
    #[prop(into)] empty: String,
    #[prop(optional)] query: Option<RwSignal<String>>,
    #[prop(optional)] link: bool,
    #[prop(optional)] recent: Option<usize>,
) -> impl IntoView {
    let sync = use_sync();
    let rows = Memo::new(move |_| {
        let snap = sync.snapshot.get();
        let needle = query.map(|q| q.get().trim().to_lowercase()).unwrap_or_default();
        let rejected: Vec<Uuid> = snap
            .status
            .rejected
            .iter()
            .filter_map(|r| crate::sync::optimistic::shown_under(&r.mutation.name, &r.mutation.args))
            .collect();
        let row = |(id, c): (&Uuid, &serde_json::Value)| {
            let cust = super::schedule::customer_of(&snap, c);
            let customer = cust.map(|cust| text(cust, "name")).unwrap_or_else(|| "Unknown customer".into());
            let haystack = cust
                .map(|c| {
                    format!("{} {} {}", text(c, "name"), text(c, "phone"), text(c, "address")).to_lowercase()
                })
                .unwrap_or_default();
            Row {
                id: *id,
                customer,
                haystack,
                problem: text(c, "problem"),
                status: text(c, "status"),
                pending: snap.is_pending(Entity::Consultation, *id),
                rejected: rejected.contains(id),
            }
        };
        let matches = |r: &Row| {
            needle.is_empty()
                || r.haystack.contains(&needle)
                // "5125550143" finds "+15125550143" however the phone was typed.
                || super::find::phone_has_digits(&needle, &r.haystack)
        };
        // UUIDv7: newest first. Without a search only the newest `recent` rows are built: a
        // device holds hundreds of consultations and the list shows twenty.
        let mut newest: Vec<(&Uuid, &serde_json::Value)> = snap.records(Entity::Consultation).collect();
        newest.reverse();
        let total = newest.len();
        let (rows, total) = match recent.filter(|_| needle.is_empty()) {
            Some(n) => (newest.into_iter().take(n).map(row).collect::<Vec<Row>>(), total),
            None => {
                let rows: Vec<Row> = newest.into_iter().map(row).filter(matches).collect();
                let found = rows.len();
                (rows, found)
            }
        };
        (rows, total)
    });
    let hidden = move || rows.with(|(shown, total)| total - shown.len());
    let rows = Memo::new(move |_| rows.with(|(r, _)| r.clone()));
    view! {
        <Show
            when=move || !rows.get().is_empty()
            fallback=move || {
                let text = if sync.snapshot.with(|s| s.status.loaded) { empty.clone() } else { "Opening this device's records…".to_string() };
                view! { <section class="card empty" data-testid="consultations-empty"><p>{text}</p></section> }
            }
        >
            <ul class="list card" data-testid="consultation-list">
                <For each=move || rows.get() key=|r| (r.id, r.pending, r.rejected, r.status.clone(), r.problem.clone(), r.customer.clone()) let:row>
                    <li data-testid="consultation" data-pending=row.pending.to_string()>
                        {if link {
                            view! { <a class="row-link" href=crate::ui::visit::href(row.id, crate::ui::visit::Step::Home)><strong>{row.customer.clone()}</strong></a> }.into_any()
                        } else {
                            view! { <strong>{row.customer.clone()}</strong> }.into_any()
                        }}
                        {row.pending.then(|| view! { <span class="pending-dot" title="Not synced yet" aria-label="Not synced yet"></span> })}
                        {row.rejected.then(|| view! { <a href="/sync" class="rejected-mark" data-testid="rejected-mark">"⚠ change rejected"</a> })}
                        <span class="status">{row.status.clone()}</span>
                        <div class="muted">{row.problem.clone()}</div>
                    </li>
                </For>
            </ul>
            <Show when=move || { hidden() > 0 }>
                <p class="muted small" data-testid="more-history">{move || format!("{} older consultations: search to find them.", hidden())}</p>
            </Show>
        </Show>
    }
}
