//! `/inbox` (office, managers; reps for their own): the leads waiting for an answer or a visit,
//! oldest first with their age ticking; one tap to call or text, which logs the first contact
//! (speed to lead stops there); qualify, disqualify with a reason, or book the visit. And a
//! lead from a phone call, added in a few taps. All of it on the device's records, offline.

use super::{
    customer_match::{likely_customers, DuplicateCheck, CHOOSE_FIRST},
    schedule::{customer_of, BookVisit},
    visit::{label, text},
};
use crate::{
    domain::{PersonName, PhoneNumber},
    sync::{
        device::{queue, use_sync, SyncSnapshot},
        mutation::{
            CustomerCreate, LeadContact, LeadCreate, LeadQualify, Mutation, DISQUALIFY_REASONS, LEAD_SOURCES,
            SERVICE_TYPES,
        },
        protocol::Entity,
    },
};
use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;
use serde_json::Value;
use std::collections::HashSet;
use uuid::Uuid;

/// A lead waiting in the inbox.
#[derive(Debug, Clone, PartialEq)]
struct Waiting {
    id: Uuid,
    customer: String,
    phone: String,
    address: String,
    service: String,
    source: String,
    notes: String,
    created: DateTime<Utc>,
    contacted: Option<DateTime<Utc>>,
    qualified: bool,
    pending: bool,
}

/// How far back the inbox looks: a lead with no visit after a month is not waiting any more
/// (lead → consultation counts visits within 30 days); it stays in the reports.
pub const INBOX_DAYS: i64 = 30;

fn time(v: &Value, k: &str) -> Option<DateTime<Utc>> {
    v.get(k).and_then(Value::as_str).and_then(|t| t.parse::<DateTime<Utc>>().ok())
}

/// The leads the inbox lists, unsorted, with when each came in: live leads of the last
/// [`INBOX_DAYS`] that are not disqualified and have no visit booked or held. The Leads tab's
/// badge counts the unanswered among them.
pub fn waiting_leads(s: &SyncSnapshot) -> Vec<(Uuid, &Value, DateTime<Utc>)> {
    let since = Utc::now() - Duration::days(INBOX_DAYS);
    let visited: HashSet<String> = s
        .records(Entity::Consultation)
        .filter(|(_, c)| c.get("cancelled_at").is_none_or(Value::is_null))
        .map(|(_, c)| text(c, "lead_id"))
        .collect();
    s.records(Entity::Lead)
        .filter(|(id, l)| text(l, "qualification") != "disqualified" && !visited.contains(&id.to_string()))
        .map(|(id, l)| (*id, l, time(l, "lead_created_at").unwrap_or_else(Utc::now)))
        .filter(|(_, _, created)| *created >= since)
        .collect()
}

/// The inbox's rows: unanswered first, oldest first.
fn waiting(s: &SyncSnapshot) -> Vec<Waiting> {
    let mut out: Vec<Waiting> = waiting_leads(s)
        .into_iter()
        .map(|(id, l, created)| {
            let customer = customer_of(s, l);
            let campaign = text(l, "campaign");
            Waiting {
                id,
                customer: customer.map(|c| text(c, "name")).unwrap_or_else(|| "Unknown caller".into()),
                phone: customer.map(|c| text(c, "phone")).unwrap_or_default(),
                address: customer.map(|c| text(c, "address")).unwrap_or_default(),
                service: label(&text(l, "service_type")),
                source: if campaign.is_empty() {
                    label(&text(l, "source"))
                } else {
                    format!("{} · {campaign}", label(&text(l, "source")))
                },
                notes: text(l, "notes"),
                created,
                contacted: time(l, "first_contact_at"),
                qualified: text(l, "qualification") == "qualified",
                pending: s.is_pending(Entity::Lead, id),
            }
        })
        .collect();
    out.sort_by_key(|w| (w.contacted.is_some(), w.created));
    out
}

/// "4 min", "2 h 05 min", "3 days".
fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let m = (now - since).num_minutes().max(0);
    match m {
        0..=59 => format!("{m} min"),
        60..=1439 => format!("{} h {:02} min", m / 60, m % 60),
        _ => format!("{} days", m / 1440),
    }
}

#[component]
pub fn Inbox() -> impl IntoView {
    let sync = use_sync();
    let now = RwSignal::new(Utc::now());
    // The ages tick: a lead waiting is a lead going cold. (A browser timer: the server renders
    // the page once.)
    #[cfg(feature = "hydrate")]
    if let Ok(handle) =
        set_interval_with_handle(move || now.set(Utc::now()), std::time::Duration::from_secs(20))
    {
        on_cleanup(move || handle.clear());
    }
    let leads = Memo::new(move |_| sync.snapshot.with(waiting));
    let loaded = Memo::new(move |_| sync.snapshot.with(|s| s.status.loaded));
    let adding = RwSignal::new(false);
    let done = RwSignal::new(None::<(Uuid, String)>);
    // Which lead's booking or "More…" is open: kept here, not in the row, because a row is
    // rebuilt when its lead changes (a sync confirming the call just logged), and a form must
    // not close under the person's thumb.
    let open = RwSignal::new(None::<(Uuid, Panel)>);
    view! {
        <h1>"Leads"</h1>
        <div class="choice">
            <button type="button" class="primary" data-testid="add-lead" on:click=move |_| adding.update(|a| *a = !*a)>
                "+ Lead from a call"
            </button>
            {super::current_user().is_some_and(|m| m.role.sees_all()).then(|| view! {
                <a class="button" href="/schedule">"Schedule"</a>
            })}
        </div>
        <Show when=move || adding.get()>
            <QuickAdd on_saved=Callback::new(move |_| adding.set(false)) />
        </Show>
        <Show when=move || loaded.get() fallback=|| view! { <p class="card muted">"Opening this device's records…"</p> }>
            <p class="muted" data-testid="inbox-summary">{move || {
                let l = leads.get();
                let unanswered = l.iter().filter(|w| w.contacted.is_none()).count();
                format!("{} waiting (last {INBOX_DAYS} days) · {unanswered} not answered yet · oldest first", l.len())
            }}</p>
            // A lead booked or disqualified leaves the list: what was done is said here instead.
            {move || done.get().filter(|(id, _)| !leads.with(|l| l.iter().any(|w| w.id == *id))).map(|(_, d)| view! {
                <p class="ok" role="status" data-testid="inbox-done">{d}</p>
            })}
            <Show when=move || !leads.with(Vec::is_empty) fallback=|| view! {
                <section class="card empty" data-testid="inbox-empty"><p>"No leads waiting. New ones from the website and calls land here."</p></section>
            }>
                <ul class="list card" data-testid="inbox">
                    // Not keyed on the sync state: a confirmed write changes only the dot.
                    <For each=move || leads.get() key=|w| (w.id, w.contacted, w.qualified) let:w>
                        {
                            let id = w.id;
                            let pending = Signal::derive(move || leads.with(|l| l.iter().any(|x| x.id == id && x.pending)));
                            view! { <LeadRow w now done open pending /> }
                        }
                    </For>
                </ul>
            </Show>
        </Show>
    }
}

/// A lead row's form that is open.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Panel {
    Booking,
    Judging,
}

#[component]
fn LeadRow(
    w: Waiting,
    now: RwSignal<DateTime<Utc>>,
    done: RwSignal<Option<(Uuid, String)>>,
    open: RwSignal<Option<(Uuid, Panel)>>,
    pending: Signal<bool>,
) -> impl IntoView {
    let id = w.id;
    let created = w.created;
    let contacted = w.contacted;
    let toggle = move |panel: Panel| {
        open.update(|o| *o = if *o == Some((id, panel)) { None } else { Some((id, panel)) })
    };
    let is_open = move |panel: Panel| open.get() == Some((id, panel));
    let reason = RwSignal::new(DISQUALIFY_REASONS[0].to_string());
    let error = RwSignal::new(None::<String>);
    let save = move |mutations: Vec<Mutation>, said: String| {
        leptos::task::spawn_local(async move {
            match queue(mutations).await {
                Ok(()) => crate::ui::set_if_alive(done, Some((id, said))),
                Err(e) => crate::ui::set_if_alive(error, Some(e)),
            }
        })
    };
    let contact = move |kind: &'static str| {
        save(
            vec![Mutation::LeadContact(LeadContact { id, kind: kind.into(), at: Utc::now() })],
            format!("{} logged.", label(kind)),
        )
    };
    let qualify = move |_| {
        save(
            vec![Mutation::LeadQualify(LeadQualify {
                id,
                qualification: "qualified".into(),
                reason: None,
                at: Utc::now(),
            })],
            "Qualified: book the visit.".into(),
        )
    };
    let disqualify = move |_| {
        save(
            vec![Mutation::LeadQualify(LeadQualify {
                id,
                qualification: "disqualified".into(),
                reason: Some(reason.get_untracked()),
                at: Utc::now(),
            })],
            "Disqualified.".into(),
        )
    };
    let has_phone = !w.phone.is_empty();
    // Booking someone else's day is the office's and managers' (the server refuses it to others).
    let books = super::current_user().is_some_and(|m| m.role.sees_all());
    // Unanswered past 15 minutes: the speed-to-lead target is missed.
    let cold = move || contacted.is_none() && now.get() - created > Duration::minutes(15);
    view! {
        <li class="lead-row" data-testid="lead" data-contacted=contacted.is_some().to_string() data-pending=move || pending.get().to_string()>
            <div class="row-head">
                <strong>{w.customer.clone()}</strong>
                <span class="due" class:overdue=cold data-testid="lead-age">
                    {move || match contacted {
                        Some(at) => format!("answered after {}", age(created, at)),
                        None => format!("waiting {}", age(created, now.get())),
                    }}
                </span>
            </div>
            <div class="muted">{format!("{} · {}{}", w.service, w.source, if w.qualified { " · qualified" } else { "" })}</div>
            {(!w.address.is_empty()).then(|| view! { <div class="small">{w.address.clone()}</div> })}
            {(!w.notes.is_empty()).then(|| view! { <p class="small">{format!("“{}”", w.notes)}</p> })}
            <div class="choice">
                <a class="button" href=format!("tel:{}", w.phone) class:disabled=!has_phone data-testid="lead-call" on:click=move |_| contact("call")>"📞 Call"</a>
                <a class="button" href=format!("sms:{}", w.phone) class:disabled=!has_phone on:click=move |_| contact("text")>"💬 Text"</a>
                {books.then(|| view! {
                    <button type="button" class="primary" data-testid="lead-book" on:click=move |_| toggle(Panel::Booking)>"Book visit"</button>
                })}
                <button type="button" on:click=move |_| toggle(Panel::Judging)>"More…"</button>
            </div>
            <Show when=move || is_open(Panel::Judging)>
                <div class="stack">
                    <button type="button" on:click=qualify>"Qualified"</button>
                    <label>"Not a lead because"
                        <select on:change=move |ev| reason.set(event_target_value(&ev))>
                            {DISQUALIFY_REASONS.iter().map(|r| view! { <option value=*r>{label(r)}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="button" class="danger" on:click=disqualify>"Disqualify"</button>
                </div>
            </Show>
            <Show when=move || is_open(Panel::Booking)>
                <BookVisit lead=id on_booked=Callback::new(move |said: String| { open.set(None); done.set(Some((id, said))); }) />
            </Show>
            {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            {move || done.get().filter(|(l, _)| *l == id).map(|(_, d)| view! { <p class="ok" data-testid="lead-done">{d}</p> })}
        </li>
    }
}

/// A lead from a phone call: who, where, what for and how they found us (required: the source
/// is fixed from here on). The call itself is the first contact, so the lead is answered as it
/// comes in.
#[component]
fn QuickAdd(on_saved: Callback<()>) -> impl IntoView {
    let sync = use_sync();
    let name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let service = RwSignal::new(SERVICE_TYPES[0].to_string());
    let source = RwSignal::new(String::new());
    let notes = RwSignal::new(String::new());
    let existing = RwSignal::new(None::<Uuid>);
    let different = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let candidates = Memo::new(move |_| {
        sync.snapshot.with(|s| likely_customers(s, &name.get(), &phone.get(), &address.get()))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let reuse = existing.get_untracked();
        if reuse.is_none() && !candidates.get_untracked().is_empty() && !different.get_untracked() {
            return error.set(Some(CHOOSE_FIRST.into()));
        }
        if source.get_untracked().is_empty() {
            return error.set(Some("How they found us: choose one (it is kept as first recorded).".into()));
        }
        let now = Utc::now();
        let mut mutations = vec![];
        let customer = match reuse {
            Some(id) => id,
            None => {
                let checked = PersonName::parse(&name.get_untracked()).and_then(|n| {
                    let p = phone.get_untracked();
                    if !p.trim().is_empty() {
                        PhoneNumber::parse(&p)?;
                    }
                    Ok(n)
                });
                let n = match checked {
                    Ok(n) => n,
                    Err(e) => return error.set(Some(e.to_string())),
                };
                let id = Uuid::now_v7();
                let blank_none = |s: String| Some(s).filter(|s| !s.trim().is_empty());
                mutations.push(Mutation::CustomerCreate(CustomerCreate {
                    id,
                    name: n.into(),
                    phone: blank_none(phone.get_untracked()),
                    email: None,
                    address: blank_none(address.get_untracked()),
                }));
                id
            }
        };
        mutations.push(Mutation::LeadCreate(LeadCreate {
            id: Uuid::now_v7(),
            customer_id: customer,
            source: source.get_untracked(),
            service_type: service.get_untracked(),
            created_at: now,
            first_contact_at: Some(now),
            notes: notes.get_untracked(),
            ..Default::default()
        }));
        leptos::task::spawn_local(async move {
            match queue(mutations).await {
                Ok(()) => on_saved.run(()),
                Err(e) => crate::ui::set_if_alive(error, Some(e)),
            }
        });
    };
    view! {
        <form class="card stack" on:submit=submit data-testid="quick-add" novalidate>
            <label for="q-name">"Caller's name"</label>
            <input id="q-name" autocomplete="off" required bind:value=name />
            <label for="q-phone">"Phone"</label>
            <input id="q-phone" type="tel" inputmode="tel" bind:value=phone />
            <label for="q-address">"Address"</label>
            <input id="q-address" bind:value=address />
            <DuplicateCheck candidates existing different />
            <label for="q-service">"Service"</label>
            <select id="q-service" on:change=move |ev| service.set(event_target_value(&ev))>
                {SERVICE_TYPES.iter().map(|s| view! { <option value=*s>{label(s)}</option> }).collect_view()}
            </select>
            <label for="q-source">"How they found us"</label>
            <select id="q-source" required on:change=move |ev| source.set(event_target_value(&ev))>
                <option value="">"Choose…"</option>
                {LEAD_SOURCES.iter().map(|s| view! { <option value=*s>{label(s)}</option> }).collect_view()}
            </select>
            <label for="q-notes">"Notes"</label>
            <textarea id="q-notes" rows="2" bind:value=notes></textarea>
            {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <button type="submit" class="primary">"Save lead"</button>
            <p class="hint">"Saved on this device at once; sent when there is signal."</p>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_say_them() {
        let t: DateTime<Utc> = "2026-12-05T08:00:00Z".parse().unwrap();
        assert_eq!(age(t, t + Duration::minutes(4)), "4 min");
        assert_eq!(age(t, t + Duration::minutes(125)), "2 h 05 min");
        assert_eq!(age(t, t + Duration::days(3)), "3 days");
        assert_eq!(age(t, t - Duration::minutes(1)), "0 min");
    }
}
