//! My day: one tap says what the person is doing now (driving, on site, follow-up contact,
//! proposal prep, admin, break). Each tap ends the running time entry and starts the next, on
//! the device, offline too; today's entries can be corrected afterwards. These entries are the
//! only source of the non-selling-time metric.

use super::{
    current_user,
    schedule::hhmm,
    visit::{
        label,
        save::{SaveIndicator, Saver},
        text,
    },
};
use crate::sync::device::use_sync;
use crate::sync::{
    mutation::{Mutation, TimeEntryLog},
    protocol::Entity,
};
use chrono::{DateTime, NaiveTime, Utc};
use leptos::prelude::*;
use uuid::Uuid;

/// The statuses on the strip, in the order of a field day.
pub const STRIP: [(&str, &str); 6] = [
    ("driving", "Driving"),
    ("on_site", "On site"),
    ("follow_up_contact", "Follow-up contact"),
    ("proposal_prep", "Proposal prep"),
    ("admin", "Admin"),
    ("break", "Break"),
];

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    id: Uuid,
    category: String,
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl Entry {
    fn log(&self) -> Mutation {
        Mutation::TimeEntryLog(TimeEntryLog {
            id: self.id,
            category: self.category.clone(),
            started_at: self.started_at,
            ended_at: self.ended_at,
        })
    }
}

/// `HH:MM` on the local day of `day`, as an instant.
fn at_local(day: DateTime<Utc>, raw: &str) -> Option<DateTime<Utc>> {
    let time = NaiveTime::parse_from_str(raw, "%H:%M").ok()?;
    crate::ui::clock::at(crate::ui::clock::day_of(day), time)
}

#[component]
pub fn MyDay() -> impl IntoView {
    let sync = use_sync();
    let saver = Saver::provide();
    let me = current_user().map(|m| m.user_id.to_string()).unwrap_or_default();
    let entries = Memo::new(move |_| {
        let today = crate::ui::clock::today();
        sync.snapshot.with(|s| {
            let mut e: Vec<Entry> = s
                .records(Entity::TimeEntry)
                .filter(|(_, t)| t.get("user_id").and_then(|u| u.as_str()).is_none_or(|u| u == me))
                .filter_map(|(id, t)| {
                    Some(Entry {
                        id: *id,
                        category: text(t, "category"),
                        started_at: text(t, "started_at").parse().ok()?,
                        ended_at: text(t, "ended_at").parse().ok(),
                    })
                })
                .filter(|e| crate::ui::clock::day_of(e.started_at) == today || e.ended_at.is_none())
                .collect();
            e.sort_by_key(|e| e.started_at);
            e
        })
    });
    let running =
        Memo::new(move |_| entries.with(|e| e.iter().rev().find(|e| e.ended_at.is_none()).cloned()));
    let switch = move |category: &'static str| {
        let now = Utc::now();
        let mut mutations = vec![];
        let current = running.get_untracked();
        if let Some(cur) = &current {
            mutations.push(Entry { ended_at: Some(now), ..cur.clone() }.log());
        }
        // Tapping what is running stops the clock; anything else starts it.
        if current.as_ref().map(|c| c.category.as_str()) != Some(category) {
            mutations.push(
                Entry { id: Uuid::now_v7(), category: category.into(), started_at: now, ended_at: None }
                    .log(),
            );
        }
        saver.queue(mutations);
    };
    view! {
        <h1>"My day"</h1>
        <SaveIndicator />
        <section class="card" data-testid="status-strip">
            <p class="step-label">{move || match running.get() {
                Some(e) => format!("Now: {} since {}", label(&e.category), hhmm(e.started_at)),
                None => "The clock is stopped. Tap what you are doing.".to_string(),
            }}</p>
            <div class="choice strip">
                {STRIP.into_iter().map(|(code, name)| view! {
                    <button type="button" aria-pressed=move || running.with(|r| r.as_ref().is_some_and(|e| e.category == code)).to_string()
                        on:click=move |_| switch(code)>{name}</button>
                }).collect_view()}
            </div>
        </section>
        <section class="card">
            <h2>"Today"</h2>
            <ul class="list" data-testid="time-entries">
                {move || entries.get().into_iter().map(|e| {
                    let (start_id, end_id) = (format!("start-{}", e.id), format!("end-{}", e.id));
                    let (e1, e2) = (e.clone(), e.clone());
                    view! {
                        <li class="entry" data-testid="time-entry">
                            <strong>{label(&e.category)}</strong>
                            <div class="times">
                                <label for=start_id.clone() class="small">"From"</label>
                                <input id=start_id type="time" prop:value=hhmm(e.started_at) on:change=move |ev| {
                                    if let Some(t) = at_local(e1.started_at, &event_target_value(&ev)) {
                                        saver.queue(vec![Entry { started_at: t, ..e1.clone() }.log()]);
                                    }
                                } />
                                <label for=end_id.clone() class="small">"to"</label>
                                <input id=end_id type="time" prop:value=e.ended_at.map(hhmm).unwrap_or_default() on:change=move |ev| {
                                    let end = at_local(e2.started_at, &event_target_value(&ev));
                                    saver.queue(vec![Entry { ended_at: end, ..e2.clone() }.log()]);
                                } />
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <p class="hint">"Correct a time by tapping it. An end before the start is refused with a reason."</p>
        </section>
        // A server page (the company's numbers are not on the device): needs a connection.
        <section class="card">
            <h2>"Coaching"</h2>
            <p class="hint">"What closes more in this company, and where your visits differ. Needs a connection."</p>
            <a class="button" href="/me/coaching" rel="external" data-testid="my-coaching">"My biggest opportunities"</a>
        </section>
    }
}
