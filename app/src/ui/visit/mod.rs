//! One in-home consultation, step by step: home and equipment, checklist, options (with the
//! customer-facing presentation), outcome. The customer step is [`super::technician::NewConsultation`].
//!
//! The page lives at `/visit?id=…&step=…` — one path, so the service worker's single cached
//! copy of `/visit` opens any consultation offline; nothing that depends on the id renders
//! before the device's store is open, so that copy hydrates cleanly for every id.

mod checklist;
mod home;
pub mod options;
mod outcome;
mod present;
pub mod proposal;
pub mod save;

use crate::sync::device::use_sync;
use crate::sync::protocol::Entity;
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};
use save::{SaveIndicator, Saver};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Home,
    Checklist,
    Options,
    Present,
    Outcome,
}

impl Step {
    const FLOW: [Step; 4] = [Step::Home, Step::Checklist, Step::Options, Step::Outcome];

    fn parse(s: &str) -> Option<Step> {
        [Step::Home, Step::Checklist, Step::Options, Step::Present, Step::Outcome]
            .into_iter()
            .find(|step| step.slug() == s)
    }

    fn slug(self) -> &'static str {
        match self {
            Step::Home => "home",
            Step::Checklist => "checklist",
            Step::Options => "options",
            Step::Present => "present",
            Step::Outcome => "outcome",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Step::Home => "Home",
            Step::Checklist => "Checklist",
            Step::Options => "Options",
            Step::Present => "Present",
            Step::Outcome => "Outcome",
        }
    }
}

/// The address of a step of a consultation.
pub fn href(id: Uuid, step: Step) -> String {
    format!("/visit?id={id}&step={}", step.slug())
}

/// A string field of a JSON record, or "".
pub(crate) fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Whether the consultation a page is about is on this device yet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Found {
    Opening,
    Missing,
    Here(Uuid),
}

/// The consultation `id` (from the page's query) as a page sees it. Changes only when the record
/// appears or goes, so typing into the page does not rebuild it.
pub(crate) fn consultation_on_device(id: Memo<Option<Uuid>>) -> Memo<Found> {
    let sync = use_sync();
    Memo::new(move |_| {
        sync.snapshot.with(|s| match id.get() {
            // Shown as soon as it is there: from the device, or with the page (first screen).
            Some(id) if s.get(Entity::Consultation, id).is_some() => Found::Here(id),
            // A device whose first sync is not complete may still receive it.
            _ if !s.status.loaded || s.status.last_synced_at.is_none() => Found::Opening,
            _ => Found::Missing,
        })
    })
}

#[component]
pub fn Visit() -> impl IntoView {
    let query = use_query_map();
    Saver::provide();
    let id = Memo::new(move |_| query.with(|q| q.get("id").and_then(|s| s.parse::<Uuid>().ok())));
    let step = Memo::new(move |_| {
        query.with(|q| q.get("step").as_deref().and_then(Step::parse).unwrap_or(Step::Home))
    });
    let found = consultation_on_device(id);
    move || match found.get() {
        Found::Opening => view! { <p class="card muted">"Opening this device's records…"</p> }.into_any(),
        Found::Missing => view! {
            <section class="card" role="alert">
                <h1>"Consultation not on this device"</h1>
                <p>"It may have been removed, or it belongs to someone else."</p>
                <A href="/today">"Back to Today"</A>
            </section>
        }
        .into_any(),
        Found::Here(id) => {
            let body = match step.get() {
                Step::Home => view! { <home::HomeStep id /> }.into_any(),
                Step::Checklist => view! { <checklist::ChecklistStep id /> }.into_any(),
                Step::Options => view! { <options::OptionsStep id /> }.into_any(),
                Step::Present => return view! { <present::Presentation id /> }.into_any(),
                Step::Outcome => view! {
                    <outcome::OutcomeStep id />
                    <crate::ui::audit::History id />
                    <crate::ui::audit::CustomerHistory consultation=id />
                }
                .into_any(),
            };
            view! {
                <VisitHeader id step=step.get() />
                <SaveIndicator />
                {body}
            }
            .into_any()
        }
    }
}

/// Who, what for, and the steps as tabs (any step can be visited in any order).
#[component]
fn VisitHeader(id: Uuid, step: Step) -> impl IntoView {
    let sync = use_sync();
    let summary = Memo::new(move |_| {
        sync.snapshot.with(|s| {
            let c = s.get(Entity::Consultation, id);
            let lead = c
                .and_then(|c| c.get("lead_id"))
                .and_then(Value::as_str)
                .and_then(|l| l.parse().ok())
                .and_then(|l| s.get(Entity::Lead, l));
            let customer = lead
                .and_then(|l| l.get("customer_id"))
                .and_then(Value::as_str)
                .and_then(|c| c.parse().ok())
                .and_then(|c| s.get(Entity::Customer, c));
            let status = c.map(|c| text(c, "status")).unwrap_or_default();
            (
                customer.map(|c| text(c, "name")).unwrap_or_else(|| "Customer".into()),
                lead.map(|l| {
                    format!("{} · from {}", label(&text(l, "service_type")), label(&text(l, "source")))
                })
                .unwrap_or_default(),
                status,
            )
        })
    });
    view! {
        <header class="visit-head">
            <h1>{move || summary.get().0}</h1>
            <p class="muted">
                {move || summary.get().1}
                <span class="status" data-testid="visit-status">{move || summary.get().2}</span>
            </p>
            <nav aria-label="Consultation steps">
                <ol class="steps">
                    <li class="done">"Customer ✓"</li>
                    {Step::FLOW
                        .into_iter()
                        .map(|s| {
                            view! {
                                <li class:current=s == step>
                                    <a href=href(id, s) aria-current=(s == step).then_some("step")>{s.label()}</a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </nav>
        </header>
    }
}

/// `water_heater` → "Water heater", `hvac` → "HVAC".
pub fn label(code: &str) -> String {
    if code == "hvac" {
        return "HVAC".into();
    }
    let s = code.replace('_', " ");
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// The step's bar, kept within thumb reach at the bottom however long the step: back to the
/// step before, and on to `to` (the step's primary action).
#[component]
fn NextStep(id: Uuid, to: Step, #[prop(into)] text: String) -> impl IntoView {
    let back =
        Step::FLOW.iter().position(|s| *s == to).and_then(|next| next.checked_sub(2)).map(|i| Step::FLOW[i]);
    view! {
        <nav class="step-bar" aria-label="Back and next">
            {back.map(|b| view! {
                <a href=href(id, b) class="button back" aria-label=format!("Back to {}", b.label())>"‹"</a>
            })}
            <a href=href(id, to) class="button primary next">{text}</a>
        </nav>
    }
}
