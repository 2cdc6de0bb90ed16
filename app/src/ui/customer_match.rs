//! "Already a customer?": the device's customers that may be the one being typed (same phone,
//! same address, a similar name), shown before a new customer is made — on the technician's
//! new consultation and the office's lead from a call alike.

use super::visit::text;
use crate::{
    domain::duplicates::{CustomerKey, MatchReason},
    sync::{device::SyncSnapshot, protocol::Entity},
};
use leptos::prelude::*;
use uuid::Uuid;

/// A customer already on this device who may be the one being typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: Uuid,
    pub name: String,
    pub detail: String,
    pub reasons: String,
}

/// The five likeliest, strongest match first.
pub fn likely_customers(s: &SyncSnapshot, name: &str, phone: &str, address: &str) -> Vec<Candidate> {
    let typed = CustomerKey::new(name, Some(phone), Some(address));
    let mut out: Vec<(Vec<MatchReason>, Candidate)> = s
        .records(Entity::Customer)
        .filter_map(|(id, c)| {
            let (n, p, a) = (text(c, "name"), text(c, "phone"), text(c, "address"));
            let reasons = typed.reasons(&CustomerKey::new(&n, Some(&p), Some(&a)));
            (!reasons.is_empty()).then(|| {
                let labels: Vec<&str> = reasons.iter().map(|r| r.label()).collect();
                let detail = [p, a].into_iter().filter(|x| !x.is_empty()).collect::<Vec<_>>().join(" · ");
                (reasons.clone(), Candidate { id: *id, name: n, detail, reasons: labels.join(", ") })
            })
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().take(5).map(|(_, c)| c).collect()
}

/// The warning with its choices: use one of them (`existing`) or say it is someone else
/// (`different`).
#[component]
pub fn DuplicateCheck(
    candidates: Memo<Vec<Candidate>>,
    existing: RwSignal<Option<Uuid>>,
    different: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <Show when=move || !candidates.get().is_empty()>
            <div class="card warn" role="status" data-testid="duplicate-warning">
                <p><strong>"Already a customer?"</strong></p>
                <ul class="list">
                    {move || candidates.get().into_iter().map(|c| {
                        let cid = c.id;
                        view! {
                            <li>
                                <strong>{c.name}</strong>
                                <div class="muted">{c.detail}</div>
                                <div class="small">{format!("Matches: {}", c.reasons)}</div>
                                <button type="button" aria-pressed=move || (existing.get() == Some(cid)).to_string()
                                    on:click=move |_| { existing.set(Some(cid)); different.set(false); }>"Use this customer"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <button type="button" aria-pressed=move || different.get().to_string()
                    on:click=move |_| { different.set(true); existing.set(None); }>"A different person"</button>
            </div>
        </Show>
    }
}

/// The message when a likely match was neither chosen nor waved off.
pub const CHOOSE_FIRST: &str =
    "This may be a customer you already have (listed above): use them, or tap \"A different person\".";
