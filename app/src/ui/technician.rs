//! The technician's tabs: Today, New and Sync.

use super::{
    consultations::ConsultationList,
    customer_match::{likely_customers, DuplicateCheck, CHOOSE_FIRST},
    schedule::{at_the_door, TodaysVisits},
    visit::{href, label, Step},
};
use crate::sync::device::{queue, sync_now, use_sync};
use crate::{
    domain::{EmailAddress, PersonName, PhoneNumber},
    sync::mutation::{ConsultationCreate, CustomerCreate, LeadCreate, Mutation, LEAD_SOURCES, SERVICE_TYPES},
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_navigate};
use uuid::Uuid;

/// Today: the day's booked visits in time order, then recent work; what the device keeps is one
/// search away, and older work one more tap (found on the server).
#[component]
pub fn Today() -> impl IntoView {
    let query = RwSignal::new(String::new());
    let me = super::current_user().map(|m| m.user_id).unwrap_or_default();
    view! {
        <h1>"Today"</h1>
        <TodaysVisits me />
        <label for="search" class="visually-hidden">"Search by name, phone or address"</label>
        <input id="search" type="search" placeholder="Search all your customers: name, phone or address" bind:value=query data-testid="search" />
        <ConsultationList empty="No consultations on this device yet. Start one from New." query=query link=true recent=super::RECENT_CONSULTATIONS />
        <Show when=move || query.with(|q| q.trim().chars().count() >= 2)>
            <SearchOlder query />
        </Show>
        <A href="/new" attr:class="button primary">"Start a consultation"</A>
    }
}

/// Work older than this device keeps (the company's history window) is found on the server and
/// kept here from then on.
#[component]
fn SearchOlder(query: RwSignal<String>) -> impl IntoView {
    let message = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let search = move |_| {
        let words = query.get_untracked().trim().to_string();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let said = match crate::sync::device::search_older(&words).await {
                Ok(0) => Ok(format!("Nothing older matches \"{words}\".")),
                Ok(n) => Ok(format!("{n} found on the server, listed above; they stay on this device.")),
                Err(f) if f.is_unreachable() => {
                    Err("No connection: older work is searched online.".to_string())
                }
                Err(f) => Err(f.into_detail().message),
            };
            super::set_if_alive(message, Some(said));
            super::set_if_alive(busy, false);
        });
    };
    view! {
        <div class="stack" data-testid="search-older">
            <button type="button" class="link" disabled=move || busy.get() on:click=search>"Search older work on the server"</button>
            {move || message.get().map(|r| match r {
                Ok(t) => view! { <p class="ok" role="status">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
            })}
        </div>
    }
}

/// The first step's fields as typed (`drafts::keep_form`).
#[derive(serde::Serialize, serde::Deserialize)]
struct NewForm {
    name: String,
    phone: String,
    email: String,
    address: String,
    source: String,
    service: String,
    problem: String,
}

/// The first step of a consultation: who, how they found us, what for. The device's customers
/// are searched as the name, phone and address are typed, and a likely duplicate is shown before
/// a new customer is made. Saved on the device at once (no signal needed), then the visit goes on
/// to the home and equipment step.
#[component]
pub fn NewConsultation() -> impl IntoView {
    let sync = use_sync();
    let name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let source = RwSignal::new(LEAD_SOURCES[0].to_string());
    let service = RwSignal::new(SERVICE_TYPES[0].to_string());
    let problem = RwSignal::new(String::new());
    let existing = RwSignal::new(None::<Uuid>);
    let different = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let navigate = use_navigate();

    // Kept as typed (an offline reload or a killed tab loses nothing), restored once on opening,
    // dropped when the consultation is saved.
    let kept = super::drafts::form_key(super::current_user().map(|m| m.user_id).unwrap_or_default(), "new");
    let restored = RwSignal::new(false);
    {
        let kept = kept.clone();
        Effect::new(move |_| {
            if let Some(f) = super::drafts::kept_form::<NewForm>(&kept) {
                name.set(f.name);
                phone.set(f.phone);
                email.set(f.email);
                address.set(f.address);
                source.set(f.source);
                service.set(f.service);
                problem.set(f.problem);
            }
            restored.set(true);
        });
    }
    {
        let kept = kept.clone();
        Effect::new(move |_| {
            let form = NewForm {
                name: name.get(),
                phone: phone.get(),
                email: email.get(),
                address: address.get(),
                source: source.get(),
                service: service.get(),
                problem: problem.get(),
            };
            // Not before the kept copy is back: the empty form would overwrite it.
            if restored.get() {
                super::drafts::keep_form(&kept, &form);
            }
        });
    }

    let candidates = Memo::new(move |_| {
        sync.snapshot.with(|s| likely_customers(s, &name.get(), &phone.get(), &address.get()))
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let reuse = existing.get_untracked();
        if reuse.is_none() && !candidates.get_untracked().is_empty() && !different.get_untracked() {
            return error.set(Some(CHOOSE_FIRST.into()));
        }
        let checked = (|| {
            if reuse.is_some() {
                return Ok(None);
            }
            let name = PersonName::parse(&name.get_untracked())?;
            let phone = phone.get_untracked();
            if !phone.trim().is_empty() {
                PhoneNumber::parse(&phone)?;
            }
            let email = email.get_untracked();
            if !email.trim().is_empty() {
                EmailAddress::parse(&email)?;
            }
            Ok::<_, crate::domain::ValidationError>(Some(name))
        })();
        let new_name = match checked {
            Ok(n) => n,
            Err(e) => return error.set(Some(e.to_string())),
        };
        let now = chrono::Utc::now();
        let (lead, consultation) = (Uuid::now_v7(), Uuid::now_v7());
        let blank_none = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        let mut mutations = vec![];
        let customer = match reuse {
            Some(id) => id,
            None => {
                let id = Uuid::now_v7();
                mutations.push(Mutation::CustomerCreate(CustomerCreate {
                    id,
                    name: new_name.map(Into::into).unwrap_or_default(),
                    phone: blank_none(phone.get_untracked()),
                    email: blank_none(email.get_untracked()),
                    address: blank_none(address.get_untracked()),
                }));
                id
            }
        };
        mutations.extend([
            Mutation::LeadCreate(LeadCreate {
                id: lead,
                customer_id: customer,
                source: source.get_untracked(),
                service_type: service.get_untracked(),
                created_at: now,
                first_contact_at: None,
                external_id: None,
                ..Default::default()
            }),
            Mutation::ConsultationCreate(ConsultationCreate {
                id: consultation,
                lead_id: lead,
                technician_id: None,
                scheduled_at: Some(now),
                problem: problem.get_untracked(),
                ..Default::default()
            }),
        ]);
        mutations.extend(at_the_door(consultation, 0, now));
        saving.set(true);
        let navigate = navigate.clone();
        let kept = kept.clone();
        leptos::task::spawn_local(async move {
            match queue(mutations).await {
                Ok(()) => {
                    super::drafts::drop_form(&kept);
                    navigate(&href(consultation, Step::Home), Default::default())
                }
                Err(e) => crate::ui::set_if_alive(error, Some(e)),
            }
            // The page may be gone already (the visit opened): nothing left to tell.
            let _ = saving.try_set(false);
        });
    };

    view! {
        <h1>"New consultation"</h1>
        <form class="card stack" on:submit=on_submit data-testid="new-consultation" novalidate>
            <label for="c-name">"Customer name"</label>
            <input id="c-name" autocomplete="name" required bind:value=name />
            <label for="c-phone">"Phone"</label>
            <input id="c-phone" type="tel" inputmode="tel" autocomplete="tel" bind:value=phone />
            <label for="c-email">"Email"</label>
            <input id="c-email" type="email" inputmode="email" autocomplete="email" bind:value=email />
            <label for="c-address">"Address"</label>
            <input id="c-address" autocomplete="street-address" bind:value=address />
            <DuplicateCheck candidates existing different />
            <label for="c-source">"How they found us"</label>
            <select id="c-source" prop:value=move || source.get() on:change=move |ev| source.set(event_target_value(&ev))>
                {LEAD_SOURCES.iter().map(|s| view! { <option value=*s>{label(s)}</option> }).collect_view()}
            </select>
            <p class="hint">"The source is kept as first recorded; a manager corrects it if it was wrong."</p>
            <label for="c-service">"Service"</label>
            <select id="c-service" prop:value=move || service.get() on:change=move |ev| service.set(event_target_value(&ev))>
                {SERVICE_TYPES.iter().map(|s| view! { <option value=*s>{label(s)}</option> }).collect_view()}
            </select>
            <label for="c-problem">"Problem, in the customer's words"</label>
            <textarea id="c-problem" rows="3" bind:value=problem></textarea>
            {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <button type="submit" class="primary" disabled=move || saving.get()>"Save and continue"</button>
            <p class="hint">"Saved on this device at once; sent when there is signal."</p>
        </form>
    }
}

#[component]
pub fn SyncPage() -> impl IntoView {
    let sync = use_sync();
    let snap = move || sync.snapshot.with(|s| s.status.clone());
    view! {
        <h1>"Sync"</h1>
        <section class="card" data-testid="sync-status">
            <dl class="facts">
                <dt>"Waiting to send"</dt>
                <dd data-testid="pending-count">{move || format!("{} changes", snap().pending)}</dd>
                <dt>"Photos to upload"</dt>
                <dd data-testid="uploads-pending">{move || snap().uploads_pending}</dd>
                <dt>"Last synced"</dt>
                <dd data-testid="last-synced">{move || snap().last_synced_at.map(|t| crate::ui::clock::format(t, "%b %-d, %H:%M")).unwrap_or_else(|| "never".into())}</dd>
                <dt>"Connection"</dt>
                <dd data-testid="connection">{move || {
                    let s = snap();
                    crate::sync::device::Connection::of(s.online, s.problem.as_ref()).explained()
                }}</dd>
                <dt>"Offline copy"</dt><dd class="offline-copy" data-testid="offline-copy"></dd>
            </dl>
            {move || snap().problem.map(|p| view! { <p class="error" role="alert">{p.message()}</p> })}
            {move || snap().storage_warning.map(|w| view! { <p class="error" role="alert" data-testid="storage-warning">{w}</p> })}
            {move || (snap().loaded && !snap().syncing_tab).then(|| view! {
                <p class="muted">"Another tab of Fieldclose is sending this device's changes."</p>
            })}
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
        <Show when=move || { let s = snap(); s.pending > 0 || !s.rejected.is_empty() }>
            <section class="card">
                <h2>"Keep a copy"</h2>
                <p class="muted">"Everything not yet accepted by the server, as a file: for a manager or support if this device cannot sync (a sign-in that no longer works, a phone being replaced)."</p>
                <button type="button" data-testid="export-unsent" on:click=move |_| crate::sync::device::download_unsent()>
                    "Download unsent changes"
                </button>
            </section>
        </Show>
    }
}
