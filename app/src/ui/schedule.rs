//! Booked visits on the device: the office's schedule (each technician's day in time order,
//! with its gaps; move or cancel a visit), the booking form, and a technician's visits of the
//! day at the top of Today. All of it from the device's records, offline; the server checks
//! clashes again when the writes arrive.

use super::visit::{href, label, text, Step};
use crate::sync::{
    device::{queue, use_sync, SyncSnapshot},
    mutation::{ActivityLog, Cancel, ConsultationCreate, FieldUpdate, Mutation, Reschedule, CANCEL_REASONS},
    protocol::Entity,
};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use leptos::prelude::*;
use serde_json::Value;
use uuid::Uuid;

/// A visit with a window on a technician's day.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub id: Uuid,
    pub technician: Uuid,
    pub start: DateTime<Utc>,
    pub minutes: u16,
    pub customer: String,
    pub phone: String,
    pub address: String,
    pub service: String,
    pub problem: String,
    /// It took place (the technician started it): it stays on the day, it no longer clashes.
    pub held: bool,
    pub pending: bool,
}

impl Visit {
    pub fn end(&self) -> DateTime<Utc> {
        self.start + Duration::minutes(self.minutes.into())
    }

    pub fn window(&self) -> String {
        format!("{}–{}", hhmm(self.start), hhmm(self.end()))
    }
}

pub fn hhmm(t: DateTime<Utc>) -> String {
    crate::ui::clock::format(t, "%H:%M")
}

/// The customer of a consultation or lead record (a record made offline knows only its lead).
pub fn customer_of<'a>(s: &'a SyncSnapshot, record: &Value) -> Option<&'a Value> {
    let id = record.get("customer_id").and_then(Value::as_str).map(str::to_string).or_else(|| {
        let lead = record.get("lead_id")?.as_str()?.parse().ok()?;
        s.get(Entity::Lead, lead)?.get("customer_id")?.as_str().map(str::to_string)
    })?;
    s.get(Entity::Customer, id.parse().ok()?)
}

fn time_of(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key)?.as_str()?.parse().ok()
}

/// Every booked visit on the device that is not cancelled, in time order.
pub fn booked_visits(s: &SyncSnapshot) -> Vec<Visit> {
    booked_visits_where(s, |_, _| true)
}

/// The booked visits `keep(technician, start)` wants, in time order: the rest are never built
/// (Today asks for one person's day among a device's months of visits).
pub fn booked_visits_where(s: &SyncSnapshot, keep: impl Fn(Uuid, DateTime<Utc>) -> bool) -> Vec<Visit> {
    let mut visits: Vec<Visit> = s
        .records(Entity::Consultation)
        .filter(|(_, c)| c.get("cancelled_at").is_none_or(Value::is_null))
        .filter_map(|(id, c)| {
            let minutes = c.get("window_minutes")?.as_u64()? as u16;
            let start = time_of(c, "scheduled_at")?;
            let technician = c.get("technician_id")?.as_str()?.parse().ok()?;
            if !keep(technician, start) {
                return None;
            }
            let customer = customer_of(s, c);
            let lead = c.get("lead_id").and_then(Value::as_str).and_then(|l| l.parse().ok());
            let service = lead.and_then(|l| s.get(Entity::Lead, l)).map(|l| label(&text(l, "service_type")));
            Some(Visit {
                id: *id,
                technician,
                start,
                minutes,
                customer: customer.map(|c| text(c, "name")).unwrap_or_else(|| "Unknown customer".into()),
                phone: customer.map(|c| text(c, "phone")).unwrap_or_default(),
                address: customer.map(|c| text(c, "address")).unwrap_or_default(),
                service: service.unwrap_or_default(),
                problem: text(c, "problem"),
                held: c.get("held_at").is_some_and(|h| !h.is_null()) || text(c, "status") != "open",
                pending: s.is_pending(Entity::Consultation, *id),
            })
        })
        .collect();
    visits.sort_by_key(|v| (v.start, v.id));
    visits
}

/// The visit a window would overlap on the technician's day, as the server checks it.
pub fn clash(
    visits: &[Visit],
    technician: Uuid,
    start: DateTime<Utc>,
    minutes: u16,
    except: Option<Uuid>,
) -> Option<&Visit> {
    let end = start + Duration::minutes(minutes.into());
    visits.iter().find(|v| {
        v.technician == technician && Some(v.id) != except && !v.held && v.start < end && v.end() > start
    })
}

/// The active technicians on the device (the team as synced), by name.
pub fn technicians(s: &SyncSnapshot) -> Vec<(Uuid, String)> {
    let mut out: Vec<(Uuid, String)> = s
        .records(Entity::TeamMember)
        .filter(|(_, m)| {
            matches!(text(m, "role").as_str(), "technician" | "manager")
                && m.get("active") != Some(&Value::Bool(false))
        })
        .map(|(id, m)| (*id, text(m, "name")))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

pub fn map_link(address: &str) -> String {
    format!("https://www.google.com/maps/search/?api=1&query={}", super::percent_encode(address))
}

/// The window lengths offered when booking.
const LENGTHS: &[(u16, &str)] =
    &[(60, "1 hour"), (90, "1½ hours"), (120, "2 hours"), (180, "3 hours"), (240, "4 hours")];

/// Books a visit for `lead`: a technician, a day, a start and a length. Refused on the device
/// when it clashes with a visit the device knows; the server checks again.
#[component]
pub fn BookVisit(lead: Uuid, #[prop(into)] on_booked: Callback<String>) -> impl IntoView {
    let sync = use_sync();
    let techs = Memo::new(move |_| sync.snapshot.with(technicians));
    let tech = RwSignal::new(String::new());
    let tomorrow = crate::ui::clock::today() + Duration::days(1);
    let day = RwSignal::new(tomorrow.format("%Y-%m-%d").to_string());
    let time = RwSignal::new("09:00".to_string());
    let length = RwSignal::new("120".to_string());
    let problem = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let checked = (|| {
            let technician: Uuid =
                tech.get_untracked().parse().map_err(|_| "Choose a technician.".to_string())?;
            let d = NaiveDate::parse_from_str(&day.get_untracked(), "%Y-%m-%d")
                .map_err(|_| "Choose a day.".to_string())?;
            let t = NaiveTime::parse_from_str(&time.get_untracked(), "%H:%M")
                .map_err(|_| "Choose a start time.".to_string())?;
            let start =
                crate::ui::clock::at(d, t).ok_or("That time does not exist on this day (clock change).")?;
            let minutes: u16 = length.get_untracked().parse().unwrap_or(120);
            if let Some(v) = sync
                .snapshot
                .with_untracked(|s| clash(&booked_visits(s), technician, start, minutes, None).cloned())
            {
                return Err(format!(
                    "That overlaps {} {} ({}): pick another time or technician.",
                    v.customer,
                    v.window(),
                    crate::ui::clock::day_of(v.start).format("%a %b %-d")
                ));
            }
            Ok((technician, start, minutes))
        })();
        let (technician, start, minutes) = match checked {
            Ok(v) => v,
            Err(e) => return error.set(Some(e)),
        };
        let name = techs
            .get_untracked()
            .into_iter()
            .find(|(id, _)| *id == technician)
            .map(|(_, n)| n)
            .unwrap_or_default();
        let booking = Mutation::ConsultationCreate(ConsultationCreate {
            id: Uuid::now_v7(),
            lead_id: lead,
            technician_id: Some(technician),
            scheduled_at: Some(start),
            window_minutes: Some(minutes),
            problem: problem.get_untracked(),
        });
        leptos::task::spawn_local(async move {
            match queue(vec![booking]).await {
                Ok(()) => on_booked.run(format!(
                    "Booked with {name}, {} {}–{}.",
                    crate::ui::clock::day_of(start).format("%a %b %-d"),
                    hhmm(start),
                    hhmm(start + Duration::minutes(minutes.into()))
                )),
                Err(e) => crate::ui::set_if_alive(error, Some(e)),
            }
        });
    };
    view! {
        <form class="stack book-visit" on:submit=submit data-testid="book-visit" novalidate>
            <label for=format!("tech-{lead}")>"Technician"</label>
            <select id=format!("tech-{lead}") on:change=move |ev| tech.set(event_target_value(&ev))>
                <option value="">"Choose…"</option>
                {move || techs.get().into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
            </select>
            <label for=format!("day-{lead}")>"Day"</label>
            <input id=format!("day-{lead}") type="date" bind:value=day />
            <label for=format!("time-{lead}")>"Arrival from"</label>
            <input id=format!("time-{lead}") type="time" step="900" bind:value=time />
            <label for=format!("len-{lead}")>"Window"</label>
            <select id=format!("len-{lead}") on:change=move |ev| length.set(event_target_value(&ev))>
                {LENGTHS.iter().map(|(m, l)| view! { <option value=m.to_string() selected=*m == 120>{*l}</option> }).collect_view()}
            </select>
            <label for=format!("problem-{lead}")>"What it is about"</label>
            <input id=format!("problem-{lead}") bind:value=problem />
            {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <button type="submit" class="primary">"Book visit"</button>
        </form>
    }
}

/// At the door, by this device's clock: the visit logged (the lead's first contact, if it had
/// none) and the consultation held. `base` is its revision as the device has it (0 when made
/// here). Starting a booked visit and starting one on site write the same.
pub fn at_the_door(id: Uuid, base: i64, now: DateTime<Utc>) -> [Mutation; 2] {
    [
        Mutation::ActivityLog(ActivityLog {
            id: Uuid::now_v7(),
            consultation_id: id,
            kind: "visit".into(),
            outcome: Some("on_site".into()),
            at: now,
            note: String::new(),
        }),
        Mutation::ConsultationUpdate(FieldUpdate {
            id,
            base_version: base,
            fields: serde_json::json!({ "held_at": now }).as_object().cloned().unwrap_or_default(),
        }),
    ]
}

/// At the door of a booked visit: the visit is logged (the lead's contact, if it had none) and
/// the consultation held, as a consultation started on site is; then its first step opens.
fn start_visit(
    snapshot: &SyncSnapshot,
    id: Uuid,
    navigate: impl Fn(&str, leptos_router::NavigateOptions) + 'static,
) {
    let writes = at_the_door(id, snapshot.revision(Entity::Consultation, id), Utc::now()).to_vec();
    leptos::task::spawn_local(async move {
        if queue(writes).await.is_ok() {
            navigate(&href(id, Step::Home), Default::default());
        }
    });
}

/// A technician's booked visits of the day, in time order, with the address, a map link and a
/// call button: the top of their Today.
#[component]
pub fn TodaysVisits(me: Uuid) -> impl IntoView {
    let sync = use_sync();
    // Copy, so every row's button can reach it.
    let navigate = StoredValue::new_local(leptos_router::hooks::use_navigate());
    let visits = Memo::new(move |_| {
        let today = crate::ui::clock::today();
        sync.snapshot.with(|s| {
            booked_visits_where(s, |technician, start| {
                technician == me && crate::ui::clock::day_of(start) == today
            })
        })
    });
    view! {
        <Show when=move || !visits.with(Vec::is_empty)>
            <section class="card" data-testid="todays-visits">
                <h2>"Today's visits"</h2>
                <ul class="list">
                    {move || visits.get().into_iter().map(|v| view! {
                        <li data-testid="todays-visit" data-pending=v.pending.to_string() class:done=v.held>
                            <div class="row-head">
                                <strong class="window">{v.window()}</strong>
                                <a class="row-link" href=href(v.id, Step::Home)><strong>{v.customer.clone()}</strong></a>
                            </div>
                            <div class="muted">{format!("{} · {}", v.service, v.problem)}</div>
                            <div class="choice">
                                {(!v.held).then(|| { let id = v.id; view! {
                                    <button type="button" class="primary" data-testid="start-visit"
                                        on:click=move |_| sync.snapshot.with_untracked(|s| start_visit(s, id, navigate.get_value()))>"Start visit"</button>
                                }})}
                                {(!v.address.is_empty()).then(|| view! {
                                    <a class="button" href=map_link(&v.address) target="_blank" rel="noopener">{format!("📍 {}", v.address)}</a>
                                })}
                                {(!v.phone.is_empty()).then(|| view! { <a class="button" href=format!("tel:{}", v.phone)>"📞 Call"</a> })}
                            </div>
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        </Show>
    }
}

/// `/schedule` (office, managers): each technician's booked visits of a day in time order,
/// the gaps between them, and moving or cancelling a visit.
#[component]
pub fn Schedule() -> impl IntoView {
    let sync = use_sync();
    let day = RwSignal::new(crate::ui::clock::today().format("%Y-%m-%d").to_string());
    let date = Memo::new(move |_| {
        NaiveDate::parse_from_str(&day.get(), "%Y-%m-%d").unwrap_or_else(|_| crate::ui::clock::today())
    });
    let loaded = Memo::new(move |_| sync.snapshot.with(|s| s.status.loaded));
    let shift = move |days: i64| {
        day.set((date.get_untracked() + Duration::days(days)).format("%Y-%m-%d").to_string())
    };
    let columns = Memo::new(move |_| {
        let d = date.get();
        sync.snapshot.with(|s| {
            let visits: Vec<Visit> = booked_visits_where(s, |_, start| crate::ui::clock::day_of(start) == d);
            let mut techs = technicians(s);
            // A visit of someone no longer active stays visible: it needs rebooking.
            for v in &visits {
                if !techs.iter().any(|(id, _)| *id == v.technician) {
                    let name = s
                        .get(Entity::TeamMember, v.technician)
                        .map(|m| format!("{} (inactive)", text(m, "name")));
                    techs
                        .push((v.technician, name.unwrap_or_else(|| "Someone no longer on the team".into())));
                }
            }
            techs
                .into_iter()
                .map(|(id, name)| {
                    (id, name, visits.iter().filter(|v| v.technician == id).cloned().collect::<Vec<_>>())
                })
                .collect::<Vec<_>>()
        })
    });
    view! {
        <h1>"Schedule"</h1>
        <div class="choice day-picker">
            <button type="button" on:click=move |_| shift(-1) aria-label="Previous day">"◀"</button>
            <label for="schedule-day" class="visually-hidden">"Day"</label>
            <input id="schedule-day" type="date" bind:value=day data-testid="schedule-day" />
            <button type="button" on:click=move |_| shift(1) aria-label="Next day">"▶"</button>
        </div>
        <p class="muted">{move || date.get().format("%A %B %-d").to_string()}</p>
        <Show when=move || loaded.get() fallback=|| view! { <p class="card muted">"Opening this device's records…"</p> }>
        {move || columns.get().into_iter().map(|(tech, name, visits)| view! {
            <section class="card" data-testid="tech-day">
                <h2>{name}</h2>
                {if visits.is_empty() {
                    view! { <p class="muted">"Free all day."</p> }.into_any()
                } else {
                    let gaps = gaps(&visits);
                    view! {
                        <ol class="list">
                            {visits.into_iter().zip(gaps).map(|(v, gap)| view! {
                                {gap.map(|g| view! { <li class="gap muted">{g}</li> })}
                                <ScheduledVisit v tech />
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }}
            </section>
        }).collect_view()}
        </Show>
    }
}

/// Before each visit: the free time since the one before it, when there is any.
fn gaps(visits: &[Visit]) -> Vec<Option<String>> {
    let mut out = vec![None];
    for pair in visits.windows(2) {
        let free = pair[1].start - pair[0].end();
        out.push(
            (free >= Duration::minutes(15))
                .then(|| format!("Free {}–{}", hhmm(pair[0].end()), hhmm(pair[1].start))),
        );
    }
    out
}

#[component]
fn ScheduledVisit(v: Visit, tech: Uuid) -> impl IntoView {
    let sync = use_sync();
    let moving = RwSignal::new(false);
    let cancelling = RwSignal::new(false);
    let day = RwSignal::new(crate::ui::clock::day_of(v.start).format("%Y-%m-%d").to_string());
    let time = RwSignal::new(hhmm(v.start));
    let minutes = v.minutes;
    let reason = RwSignal::new(CANCEL_REASONS[0].to_string());
    let error = RwSignal::new(None::<String>);
    let id = v.id;
    let save = move |m: Mutation| {
        leptos::task::spawn_local(async move {
            match queue(vec![m]).await {
                Ok(()) => {
                    crate::ui::set_if_alive(moving, false);
                    crate::ui::set_if_alive(cancelling, false);
                }
                Err(e) => crate::ui::set_if_alive(error, Some(e)),
            }
        })
    };
    let do_move = move |_| {
        let start = NaiveDate::parse_from_str(&day.get_untracked(), "%Y-%m-%d")
            .ok()
            .zip(NaiveTime::parse_from_str(&time.get_untracked(), "%H:%M").ok())
            .and_then(|(d, t)| crate::ui::clock::at(d, t));
        let Some(start) = start else { return error.set(Some("Choose a day and a time.".into())) };
        if let Some(c) = sync
            .snapshot
            .with_untracked(|s| clash(&booked_visits(s), tech, start, minutes, Some(id)).cloned())
        {
            return error.set(Some(format!("That overlaps {} {}.", c.customer, c.window())));
        }
        save(Mutation::Reschedule(Reschedule { id, scheduled_at: start, window_minutes: minutes }));
    };
    let do_cancel =
        move |_| save(Mutation::Cancel(Cancel { id, reason: reason.get_untracked(), at: Utc::now() }));
    view! {
        <li data-testid="scheduled-visit" data-pending=v.pending.to_string()>
            <div class="row-head">
                <strong class="window">{v.window()}</strong>
                <strong>{v.customer.clone()}</strong>
                {v.held.then(|| view! { <span class="status">"done"</span> })}
            </div>
            <div class="muted">{[v.address.clone(), v.service.clone()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ")}</div>
            {(!v.held).then(|| view! {
                <div class="choice">
                    <button type="button" on:click=move |_| moving.update(|m| *m = !*m)>"Move"</button>
                    <button type="button" on:click=move |_| cancelling.update(|c| *c = !*c)>"Cancel visit"</button>
                </div>
            })}
            <Show when=move || moving.get()>
                <div class="stack">
                    <label>"Day" <input type="date" bind:value=day /></label>
                    <label>"Arrival from" <input type="time" step="900" bind:value=time /></label>
                    <button type="button" class="primary" on:click=do_move>"Move visit"</button>
                </div>
            </Show>
            <Show when=move || cancelling.get()>
                <div class="stack">
                    <label>"Why"
                        <select on:change=move |ev| reason.set(event_target_value(&ev))>
                            {CANCEL_REASONS.iter().map(|r| view! { <option value=*r>{label(r)}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="button" class="danger" on:click=do_cancel>"Cancel this visit"</button>
                </div>
            </Show>
            {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
        </li>
    }
}
