//! The technician's tabs: Today, New and Sync.

use super::{
    consultations::ConsultationList,
    sync_state::{queue, sync_now, use_sync},
};
use crate::{
    domain::{PersonName, PhoneNumber},
    sync::mutation::{ConsultationCreate, CustomerCreate, LeadCreate, Mutation, LEAD_SOURCES, SERVICE_TYPES},
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_navigate};
use uuid::Uuid;

#[component]
pub fn Today() -> impl IntoView {
    view! {
        <h1>"Today"</h1>
        <ConsultationList empty="No consultations on this device yet. Start one from New." />
        <A href="/new" attr:class="button primary">"Start a consultation"</A>
    }
}

fn label(code: &str) -> String {
    if code == "hvac" {
        return "HVAC".into();
    }
    let s = code.replace('_', " ");
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// The first step of a consultation: who, how they found us, what for. Saved on the device at
/// once (works with no signal) and sent when there is a connection.
#[component]
pub fn NewConsultation() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let source = RwSignal::new(LEAD_SOURCES[0].to_string());
    let service = RwSignal::new(SERVICE_TYPES[0].to_string());
    let problem = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let navigate = use_navigate();

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let checked = (|| {
            let name = PersonName::parse(&name.get_untracked())?;
            let phone = phone.get_untracked();
            if !phone.trim().is_empty() {
                PhoneNumber::parse(&phone)?;
            }
            Ok::<_, crate::domain::ValidationError>(name)
        })();
        let name = match checked {
            Ok(n) => n,
            Err(e) => return error.set(Some(format!("{}: {}", e.field, e.message))),
        };
        let now = chrono::Utc::now();
        let (customer, lead, consultation) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mutations = vec![
            Mutation::CustomerCreate(CustomerCreate {
                id: customer,
                name: name.into(),
                phone: Some(phone.get_untracked()).filter(|p| !p.trim().is_empty()),
                email: None,
                address: Some(address.get_untracked()).filter(|a| !a.trim().is_empty()),
            }),
            Mutation::LeadCreate(LeadCreate {
                id: lead,
                customer_id: customer,
                source: source.get_untracked(),
                service_type: service.get_untracked(),
                created_at: now,
            }),
            Mutation::ConsultationCreate(ConsultationCreate {
                id: consultation,
                lead_id: lead,
                technician_id: None,
                scheduled_at: Some(now),
                problem: problem.get_untracked(),
            }),
        ];
        saving.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match queue(mutations).await {
                Ok(()) => navigate("/today", Default::default()),
                Err(e) => error.set(Some(e)),
            }
            saving.set(false);
        });
    };

    view! {
        <h1>"New consultation"</h1>
        <form class="card stack" on:submit=on_submit data-testid="new-consultation">
            {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <label for="c-name">"Customer name"</label>
            <input id="c-name" autocomplete="name" required bind:value=name />
            <label for="c-phone">"Phone"</label>
            <input id="c-phone" type="tel" inputmode="tel" autocomplete="tel" bind:value=phone />
            <label for="c-address">"Address"</label>
            <input id="c-address" autocomplete="street-address" bind:value=address />
            <label for="c-source">"How they found us"</label>
            <select id="c-source" on:change=move |ev| source.set(event_target_value(&ev))>
                {LEAD_SOURCES.iter().map(|s| view! { <option value=*s>{label(s)}</option> }).collect_view()}
            </select>
            <label for="c-service">"Service"</label>
            <select id="c-service" on:change=move |ev| service.set(event_target_value(&ev))>
                {SERVICE_TYPES.iter().map(|s| view! { <option value=*s>{label(s)}</option> }).collect_view()}
            </select>
            <label for="c-problem">"Problem, in the customer's words"</label>
            <textarea id="c-problem" rows="3" bind:value=problem></textarea>
            <button type="submit" class="primary" disabled=move || saving.get()>"Save consultation"</button>
            <p class="hint">"Saved on this device at once; sent when there is signal."</p>
        </form>
    }
}

#[component]
pub fn SyncPage() -> impl IntoView {
    let sync = use_sync();
    let snap = move || sync.snapshot.get();
    view! {
        <h1>"Sync"</h1>
        <section class="card" data-testid="sync-status">
            <dl class="facts">
                <dt>"Waiting to send"</dt>
                <dd data-testid="pending-count">{move || format!("{} changes", snap().pending)}</dd>
                <dt>"Last synced"</dt>
                <dd data-testid="last-synced">{move || snap().last_synced_at.map(|t| t.format("%b %-d, %H:%M UTC").to_string()).unwrap_or_else(|| "never".into())}</dd>
                <dt>"Connection"</dt>
                <dd>{move || if snap().online { "online" } else { "offline — changes are kept on this device" }}</dd>
                <dt>"Offline copy"</dt><dd class="offline-copy" data-testid="offline-copy"></dd>
            </dl>
            {move || snap().problem.map(|p| view! { <p class="error" role="alert">{p}</p> })}
            <button type="button" class="primary" on:click=move |_| sync_now() disabled=move || snap().syncing>
                {move || if snap().syncing { "Syncing…" } else { "Sync now" }}
            </button>
        </section>
        <section class="card">
            <h2>"Rejected changes"</h2>
            <Show when=move || !snap().rejected.is_empty() fallback=|| view! { <p class="muted">"None. Every change was accepted."</p> }>
                <ul class="list" data-testid="rejected-list">
                    {move || snap().rejected.into_iter().map(|r| view! {
                        <li>
                            <strong>{r.mutation.name.clone()}</strong>
                            <p class="error">{r.reason.clone()}</p>
                            <details><summary>"What was typed"</summary><pre>{serde_json::to_string_pretty(&r.mutation.args).unwrap_or_default()}</pre></details>
                        </li>
                    }).collect_view()}
                </ul>
            </Show>
        </section>
    }
}
