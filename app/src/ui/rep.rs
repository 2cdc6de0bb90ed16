//! The sales rep's follow-up queue and a quote's page: one-tap call and text that log the
//! attempt, one tap for the result, the next follow-up suggested by the cadence, won / lost /
//! reopen. All of it on the device's records, offline.

use super::{
    conflicts::ConflictView,
    current_user,
    quotes::{apply_scores, page_of, queue_of, quotes, rank, Quote},
    visit::{
        consultation_on_device, label,
        options::options_of,
        save::{SaveIndicator, Saver},
        text, Found,
    },
};
use crate::sync::device::use_sync;
use crate::{
    domain::{
        cadence::{next_follow_up, ContactResult, DEFAULT_CADENCE_DAYS},
        Cents,
    },
    sync::{
        mutation::{
            ActivityLog, FollowupComplete, FollowupSchedule, Mutation, Outcome, SetOutcome, LOST_REASONS,
        },
        protocol::Entity,
    },
};
use chrono::Utc;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde_json::{json, Value};
use uuid::Uuid;

/// The address of a quote's page.
pub fn quote_href(id: Uuid) -> String {
    format!("/quote?id={id}")
}

/// The text message, filled from the quote.
fn sms_body(q: &Quote, me: &str, company: &str) -> String {
    let first = q.customer.split_whitespace().next().unwrap_or("there");
    let quoted = if q.tiers.is_empty() { String::new() } else { format!(" ({})", q.quoted()) };
    format!(
        "Hi {first}, this is {me} from {company}. Following up on your {} quote{quoted}. Any questions? \
         Reply here or call me.",
        q.service
    )
}

/// Logs a contact attempt and what it came to; closes the follow-ups it answers and schedules the
/// next one on the cadence unless the chase is over.
fn log_contact(
    q: &Quote,
    kind: &'static str,
    result: ContactResult,
    me: Uuid,
    cadence: &[u32],
) -> Vec<Mutation> {
    let now = Utc::now();
    let mut out = vec![Mutation::ActivityLog(ActivityLog {
        id: Uuid::now_v7(),
        consultation_id: q.id,
        kind: kind.into(),
        outcome: Some(result.code().into()),
        at: now,
        note: String::new(),
    })];
    if let Some((followup, _, _)) = q.next_due {
        out.push(Mutation::FollowupComplete(FollowupComplete { id: followup, at: now }));
    }
    if result.keeps_chasing() {
        let visit = q.visit.unwrap_or(now);
        out.push(Mutation::FollowupSchedule(FollowupSchedule {
            id: Uuid::now_v7(),
            consultation_id: q.id,
            due_at: next_follow_up(cadence, visit, q.attempts + 1, now),
            assignee_id: Some(me),
            note: String::new(),
        }));
    }
    out
}

/// Quotes the queue shows at first and adds per "Show more": a phone's screen holds about six,
/// and every row shown is work for the page when it opens and again whenever the device's
/// records change (a first sync, a logged call).
const QUEUE_PAGE: usize = 20;

#[component]
pub fn Queue() -> impl IntoView {
    let sync = use_sync();
    let me = current_user();
    let my_id = me.as_ref().map(|m| m.user_id).unwrap_or_default();
    let now = Utc::now();
    // The company's close model scores the quotes while online; with no signal (or before the
    // answer) the device's own close rates value them, and the page says which.
    let scores = LocalResource::new(|| async {
        crate::sync::device::transport::get_json::<crate::api::QuoteScores>("/api/quote-scores").await.ok()
    });
    let scored = move || scores.get().flatten();
    let queue = Memo::new(move |_| {
        let mut q = sync.snapshot.with(|s| queue_of(s, my_id));
        if let Some(s) = scored() {
            apply_scores(&mut q, &s);
        }
        rank(&mut q, now);
        q
    });
    let basis = move || match scored() {
        Some(s) => format!("by the {}", s.model_version),
        None => "by this device's close rates".to_string(),
    };
    // The page's own rows (a first visit) are enough to show the queue.
    let loaded = Memo::new(move |_| sync.snapshot.with(|s| s.status.loaded || s.status.first_screen));
    // What a quote is worth uses the close rates of every decided consultation on the device:
    // not shown until the device has them.
    let estimated = Memo::new(move |_| sync.snapshot.with(|s| !s.status.first_screen));
    // The page's saver, shared by its rows: a row's own would be disposed with the row, which is
    // rebuilt as soon as its write changes the records (while the write is still being saved).
    let _ = Saver::get();
    // Row state lives here: the rows are rebuilt whenever the device's records change.
    let contacting = RwSignal::new(None::<(Uuid, &'static str)>);
    let logged = RwSignal::new(None::<(Uuid, String)>);
    let find = RwSignal::new(String::new());
    let shown = RwSignal::new(QUEUE_PAGE);
    // Only the first `shown` quotes found are built (all of them without a search).
    let page = Memo::new(move |_| find.with(|f| queue.with(|q| page_of(q, f, shown.get()))));
    let rows = Memo::new(move |_| page.with(|(rows, _)| rows.clone()));
    let more = move || page.with(|(_, more)| *more);
    view! {
        <h1>"Follow-up queue"</h1>
        <p><a class="button" href="/inbox" data-testid="rep-leads">"+ Lead from a call, and my leads"</a></p>
        <Show when=move || loaded.get() fallback=|| view! { <p class="card muted">"Opening this device's records…"</p> }>
            <Show when=move || !queue.with(Vec::is_empty) fallback=|| view! {
                <section class="card empty" data-testid="queue-empty"><p>"No open quotes are assigned to you."</p></section>
            }>
                <p class="muted">{move || format!("{} open quotes · overdue first, then by expected value", queue.with(Vec::len))}
                    " " <span class="small" data-testid="queue-basis">{basis}</span></p>
                <input type="search" aria-label="Find a quote" data-testid="queue-find"
                    placeholder="Find: name, phone, address or service"
                    prop:value=move || find.get()
                    on:input=move |ev| { find.set(event_target_value(&ev)); shown.set(QUEUE_PAGE); } />
                <Show when=move || !rows.with(Vec::is_empty) fallback=|| view! {
                    <p class="card muted" data-testid="queue-none-found">"No open quote matches. Try part of the name or the last digits of the phone."</p>
                }>
                    <ul class="list card" data-testid="queue">
                        {move || rows.get().into_iter().map(|q| view! { <QueueRow q contacting logged estimated /> }).collect_view()}
                    </ul>
                </Show>
                <Show when=move || { more() > 0 }>
                    <button type="button" class="wide" data-testid="queue-more"
                        on:click=move |_| shown.update(|n| *n += QUEUE_PAGE)>
                        {move || format!("Show {} more ({} not shown)", more().min(QUEUE_PAGE), more())}
                    </button>
                </Show>
            </Show>
        </Show>
    }
}

#[component]
fn QueueRow(
    q: Quote,
    contacting: RwSignal<Option<(Uuid, &'static str)>>,
    logged: RwSignal<Option<(Uuid, String)>>,
    estimated: Memo<bool>,
) -> impl IntoView {
    let me = current_user();
    let (my_id, my_name, company, cadence) = me
        .map(|m| (m.user_id, m.name, m.company_name, m.cadence_days))
        .unwrap_or_else(|| (Uuid::nil(), String::new(), String::new(), DEFAULT_CADENCE_DAYS.to_vec()));
    let saver = Saver::get();
    let now = Utc::now();
    let id = q.id;
    let due = match q.next_due {
        Some((_, d, _)) if d <= now => format!("Overdue since {}", crate::ui::clock::format(d, "%b %-d")),
        Some((_, d, _)) => format!("Next: {}", crate::ui::clock::format(d, "%b %-d")),
        None => "No follow-up set".into(),
    };
    let days = q.days_since_visit(now).map(|d| format!("{d} days since the visit")).unwrap_or_default();
    let attempts = match (q.attempts, q.last_result.as_deref()) {
        (0, _) => "no attempts yet".to_string(),
        (n, Some(last)) => format!("{n} attempts, last: {}", label(last)),
        (n, None) => format!("{n} attempts"),
    };
    let tel = format!("tel:{}", q.phone);
    let sms = format!("sms:{}?&body={}", q.phone, super::percent_encode(&sms_body(&q, &my_name, &company)));
    let has_phone = !q.phone.is_empty();
    let q2 = q.clone();
    view! {
        <li class="queue-row" data-testid="queue-row" data-overdue=q.overdue(now).to_string()>
            <div class="row-head">
                <a class="row-link" href=quote_href(q.id)><strong>{q.customer.clone()}</strong></a>
                <span class="due" class:overdue=q.overdue(now)>{due}</span>
            </div>
            <div class="muted">{format!("{} · {}", q.service, q.quoted())}</div>
            <div class="small">
                {format!("{days} · {attempts}")}
                {move || estimated.get().then(|| format!(" · worth about {}", q.expected_value))}
            </div>
            <div class="choice">
                <a class="button" href=tel.clone() class:disabled=!has_phone on:click=move |_| contacting.set(Some((id, "call")))>"📞 Call"</a>
                <a class="button" href=sms class:disabled=!has_phone on:click=move |_| contacting.set(Some((id, "text")))>"💬 Text"</a>
            </div>
            {move || contacting.get().filter(|(c, _)| *c == id).map(|(_, kind)| {
                let q = q2.clone();
                let cadence = cadence.clone();
                view! {
                    <div class="result-chips" role="group" aria-label="How did it go?" data-testid="contact-result">
                        <p class="step-label">{format!("How did the {kind} go?")}</p>
                        {ContactResult::ALL.into_iter().map(|r| {
                            let q = q.clone();
                            let cadence = cadence.clone();
                            view! {
                                <button type="button" on:click=move |_| {
                                    let mutations = log_contact(&q, kind, r, my_id, &cadence);
                                    let next = mutations.iter().find_map(|m| match m {
                                        Mutation::FollowupSchedule(f) => Some(f.due_at),
                                        _ => None,
                                    });
                                    saver.queue(mutations);
                                    contacting.set(None);
                                    logged.set(Some((id, match (r, next) {
                                        (ContactResult::Booked, _) => "Booked: mark it won on the quote's page.".to_string(),
                                        (ContactResult::Lost, _) => "Lost: record the reason on the quote's page.".to_string(),
                                        (_, Some(n)) => format!("Logged. Next follow-up {}.", crate::ui::clock::format(n, "%a %b %-d")),
                                        _ => "Logged.".to_string(),
                                    })));
                                }>{r.label()}</button>
                            }
                        }).collect_view()}
                    </div>
                }
            })}
            {move || logged.get().filter(|(l, _)| *l == id).map(|(_, d)| view! { <p class="ok" data-testid="contact-logged">{d}</p> })}
        </li>
    }
}

/// One quote: contact history, notes, won / lost / reopen, and the changes that crossed.
#[component]
pub fn QuotePage() -> impl IntoView {
    let query = use_query_map();
    Saver::provide();
    let id = Memo::new(move |_| query.with(|q| q.get("id").and_then(|s| s.parse::<Uuid>().ok())));
    let found = consultation_on_device(id);
    move || match found.get() {
        Found::Opening => view! { <p class="card muted">"Opening this device's records…"</p> }.into_any(),
        Found::Missing => view! {
            <section class="card" role="alert">
                <h1>"Quote not on this device"</h1>
                <p><a href="/queue">"Back to the queue"</a></p>
            </section>
        }
        .into_any(),
        Found::Here(id) => view! { <QuoteDetail id /> }.into_any(),
    }
}

#[component]
fn QuoteDetail(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let saver = Saver::get();
    let quote =
        Memo::new(move |_| sync.snapshot.with(|s| quotes(s, |c| text(c, "id") == id.to_string()).pop()));
    let history = Memo::new(move |_| {
        sync.snapshot.with(|s| {
            let mut h: Vec<(String, String, String)> = s
                .records(Entity::Activity)
                .filter(|(_, a)| text(a, "consultation_id") == id.to_string())
                .map(|(_, a)| (text(a, "occurred_at"), text(a, "kind"), text(a, "outcome")))
                .collect();
            h.sort();
            h.reverse();
            h
        })
    });
    let notes = sync
        .snapshot
        .with_untracked(|s| s.get(Entity::Consultation, id).map(|c| text(c, "notes")).unwrap_or_default());
    let remote_notes = Memo::new(move |_| {
        sync.snapshot.with(|s| s.get(Entity::Consultation, id).map(|c| text(c, "notes")).unwrap_or_default())
    });
    Effect::new(move |_| crate::ui::visit::save::refresh_field("q-notes", &remote_notes.get()));
    let save_notes = move |value: String, at_once: bool| {
        saver.edit(id, "notes", json!({ "notes": value }).as_object().cloned().unwrap_or_default(), at_once);
    };
    view! {
        {move || quote.get().map(|q| view! {
            <h1>{q.customer.clone()}</h1>
            <p class="muted">{format!("{} · {} · {}", q.service, q.phone, q.address)}</p>
            <p>{q.quoted()}</p>
            <p class="status" data-testid="quote-status">{q.status.clone()}</p>
        })}
        <SaveIndicator />
        <FromTheVisit id />
        <crate::ui::visit::proposal::CustomerCopy id />
        <section class="card stack">
            <label for="q-notes">"Notes"</label>
            <textarea id="q-notes" rows="3" prop:value=notes
                on:input=move |ev| save_notes(event_target_value(&ev), false)
                on:change=move |ev| save_notes(event_target_value(&ev), true)></textarea>
        </section>
        <ConflictView entity="consultation" id />
        {move || {
            let status = quote.get().map(|q| q.status).unwrap_or_default();
            if status == "open" {
                view! { <Decide id /> }.into_any()
            } else {
                view! {
                    <section class="card">
                        <p class="decided">{format!("Recorded as {status}.")}</p>
                        <button type="button" on:click=move |_| saver.queue(vec![Mutation::SetOutcome(SetOutcome {
                            id, outcome: Outcome::Reopened, at: Utc::now(),
                        })])>"Reopen (keeps the history)"</button>
                    </section>
                }.into_any()
            }
        }}
        <section class="card">
            <h2>"Contact history"</h2>
            <ul class="list" data-testid="history">
                {move || history.get().into_iter().map(|(at, kind, outcome)| view! {
                    <li>{format!("{} · {} · {}", at.get(..16).unwrap_or(&at).replace('T', " "), label(&kind), label(&outcome))}</li>
                }).collect_view()}
            </ul>
        </section>
        <crate::ui::audit::History id />
        <crate::ui::audit::CustomerHistory consultation=id />
    }
}

/// What the technician saw and offered, for the rep who takes the quote over: the hand-off note,
/// the problem, the equipment, the photos, and what each option contains.
#[component]
fn FromTheVisit(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let visit = Memo::new(move |_| {
        sync.snapshot.with(|s| {
            let c = s.get(Entity::Consultation, id)?;
            let handoff: Vec<String> = s
                .records(Entity::Followup)
                .filter(|(_, f)| text(f, "consultation_id") == id.to_string())
                .map(|(_, f)| text(f, "note"))
                .filter(|n| !n.is_empty())
                .collect();
            let home = c.get("home").and_then(Value::as_object).cloned().unwrap_or_default();
            // A field as typed (text, or a number for the age), if there is one.
            let field = |k: &str| {
                home.get(k)
                    .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                    .filter(|v| !v.is_empty() && v != "null")
            };
            let equipment: Vec<String> = [
                field("system_type").map(|v| label(&v)),
                field("brand"),
                field("model").map(|v| format!("model {v}")),
                field("age_years").map(|v| format!("{v} years old")),
                field("fuel").map(|v| format!("fuel: {}", label(&v))),
            ]
            .into_iter()
            .flatten()
            .collect();
            let photos: Vec<String> = s
                .records(Entity::Attachment)
                .filter(|(_, a)| text(a, "consultation_id") == id.to_string() && text(a, "kind") == "photo")
                .map(|(_, a)| text(a, "sha256"))
                .collect();
            let options: Vec<(String, Vec<String>, Cents)> = options_of(s, id)
                .into_iter()
                .map(|o| {
                    let items = o
                        .items
                        .iter()
                        .map(|i| {
                            if i.quantity > 1 {
                                format!("{} × {}", i.quantity, i.description)
                            } else {
                                i.description.clone()
                            }
                        })
                        .collect();
                    (label(&o.tier), items, o.total())
                })
                .collect();
            Some((handoff, text(c, "problem"), equipment, photos, options))
        })
    });
    move || {
        visit.get().map(|(handoff, problem, equipment, photos, options)| {
            view! {
                <section class="card stack" data-testid="from-the-visit">
                    <h2>"From the visit"</h2>
                    {handoff.into_iter().map(|n| view! { <p class="handoff" data-testid="handoff-note"><strong>"Hand-off note: "</strong>{n}</p> }).collect_view()}
                    {(!problem.is_empty()).then(|| view! { <p><strong>"Problem: "</strong>{problem}</p> })}
                    {(!equipment.is_empty()).then(|| view! { <p><strong>"Equipment: "</strong>{equipment.join(" · ")}</p> })}
                    {(!photos.is_empty()).then(|| view! {
                        <ul class="thumbs">{photos.into_iter().map(|sha| view! { <li><super::media::Thumb sha /></li> }).collect_view()}</ul>
                    })}
                    {(!options.is_empty()).then(|| view! {
                        <ul class="list" data-testid="quote-options">
                            {options.into_iter().map(|(tier, items, total)| view! {
                                <li><strong>{format!("{tier} · {total}")}</strong><br/><span class="muted">{items.join(", ")}</span></li>
                            }).collect_view()}
                        </ul>
                    })}
                </section>
            }
        })
    }
}

/// Won (which option, at what amount) or lost (a required reason).
#[component]
fn Decide(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let saver = Saver::get();
    let options = Memo::new(move |_| sync.snapshot.with(|s| options_of(s, id)));
    let chosen = RwSignal::new(None::<Uuid>);
    let amount = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let won = move |_| {
        let Some(option) = chosen.get_untracked() else {
            return error.set(Some("Choose the option the customer took.".into()));
        };
        let amount = match Cents::parse("amount", &amount.get_untracked()) {
            Ok(a) => a,
            Err(e) => return error.set(Some(e.to_string())),
        };
        error.set(None);
        saver.queue(vec![Mutation::SetOutcome(SetOutcome {
            id,
            outcome: Outcome::Won { option_id: Some(option), amount_cents: amount },
            at: Utc::now(),
        })]);
    };
    let lost = move |_| {
        if reason.get_untracked().is_empty() {
            return error.set(Some("Choose why it was lost.".into()));
        }
        error.set(None);
        saver.queue(vec![Mutation::SetOutcome(SetOutcome {
            id,
            outcome: Outcome::Lost { reason: reason.get_untracked(), competitor: None, note: None },
            at: Utc::now(),
        })]);
    };
    view! {
        <section class="card stack" data-testid="decide">
            <h2>"Won?"</h2>
            <div class="choice column" role="radiogroup">
                {move || options.get().into_iter().filter(|o| !o.items.is_empty()).map(|o| {
                    let (oid, total) = (o.id, o.total());
                    view! {
                        <button type="button" role="radio" aria-checked=move || (chosen.get() == Some(oid)).to_string()
                            on:click=move |_| {
                                chosen.set(Some(oid));
                                amount.set(format!("{}.{:02}", total.0 / 100, total.0 % 100));
                            }>{format!("{} — {}", o.tier, total)}</button>
                    }
                }).collect_view()}
            </div>
            <label for="w-amount">"Sold for"</label>
            <input id="w-amount" inputmode="decimal" bind:value=amount />
            <button type="button" class="primary" on:click=won>"Mark won"</button>
            <h2>"Lost?"</h2>
            <label for="w-reason">"Reason (required)"</label>
            <select id="w-reason" on:change=move |ev| reason.set(event_target_value(&ev))>
                <option value="">"Choose…"</option>
                {LOST_REASONS.iter().map(|r| view! { <option value=*r>{label(r)}</option> }).collect_view()}
            </select>
            <button type="button" on:click=lost>"Mark lost"</button>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
