//! A year of realistic history for the demo company, written through the very code path devices
//! use (`sync::push`), so the demo, the benchmarks and the metrics all exercise the real thing.
//!
//! Deterministic (a fixed seed): every fresh demo has the same numbers. Device clocks are
//! simulated: each mutation's `client_ts` and its `at`/`created_at` fields are the moment the
//! work happened, which is what stage events record.

use crate::{
    error::ApiError,
    sync::{
        on_behalf::{self, Purpose},
        push, Actor,
    },
};
use app::domain::pricing::FinancingPlan;
use app::{
    domain::{Cents, Role},
    sync::{mutation::*, protocol::*},
};
use chrono::{DateTime, Duration, Utc};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use serde_json::json;
use sqlx::PgPool;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The plan a demo option is financed on, when financing is offered.
const PLAN: FinancingPlan = app::domain::pricing::STARTER_PLANS[1];

/// Each technician's habits, by their place in the team: how often they present all three
/// options, offer financing, and show the customer what they found (the starter checklist's
/// `findings` step). The demo's outcomes follow them (see [`lift`]), so the close model and the
/// coaching page have real effects to find; a company's own history shows its own.
const HABITS: [(f64, f64, f64); 4] = [(0.9, 0.8, 0.9), (0.5, 0.3, 0.6), (0.7, 0.6, 0.3), (0.3, 0.5, 0.8)];

/// How much more likely a sale is with these behaviours (−0.15 to +0.15 around the average).
fn lift(three_options: bool, financing: bool, findings: bool) -> f64 {
    0.12 * f64::from(u8::from(three_options))
        + 0.10 * f64::from(u8::from(financing))
        + 0.08 * f64::from(u8::from(findings))
        - 0.15
}

const SOURCES: &[(&str, u32)] = &[
    ("website", 30),
    ("phone", 25),
    ("referral", 15),
    ("google_ads", 15),
    ("repeat_customer", 10),
    ("yard_sign", 5),
];
const SERVICES: &[(&str, u32)] = &[("hvac", 55), ("plumbing", 25), ("water_heater", 12), ("electrical", 8)];
const LOST: &[&str] = &["price", "financing_declined", "competitor", "timing", "repair_instead"];
const FIRST_NAMES: &[&str] =
    &["Ann", "Ben", "Carla", "Dev", "Erin", "Frank", "Gia", "Hank", "Ivy", "Jon", "Kim", "Luis"];
const LAST_NAMES: &[&str] =
    &["Lee", "Moore", "Nguyen", "Ortiz", "Patel", "Quinn", "Reed", "Shaw", "Tran", "Usher"];

fn weighted<'a>(rng: &mut StdRng, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.gen_range(0..total);
    for (item, w) in items {
        if pick < *w {
            return item;
        }
        pick -= w;
    }
    items[0].0
}

/// The outboxes of the demo's devices, one per person, flushed in dependency order.
struct Outboxes {
    queued: BTreeMap<Uuid, Vec<(Mutation, DateTime<Utc>)>>,
}

impl Outboxes {
    fn add(&mut self, user: Uuid, at: DateTime<Utc>, m: Mutation) {
        self.queued.entry(user).or_default().push((m, at));
    }

    async fn flush(
        &mut self,
        pool: &PgPool,
        clock: &std::sync::Arc<crate::sync::clock::VersionClock>,
        company: Uuid,
        people: &BTreeMap<Uuid, Role>,
    ) -> Result<(), ApiError> {
        for (user, mutations) in std::mem::take(&mut self.queued) {
            let actor = Actor {
                company_id: company,
                user_id: user,
                role: people[&user],
                client_id: on_behalf::client_id(user, Purpose::Demo),
            };
            let mut next: u64 = sqlx::query_scalar!(
                r#"select coalesce(max(last_mutation_id), 0) as "last!" from sync_clients where client_id = $1"#,
                actor.client_id
            )
            .fetch_one(pool)
            .await? as u64
                + 1;
            for chunk in mutations.chunks(MAX_PUSH_MUTATIONS) {
                let envelopes = chunk
                    .iter()
                    .map(|(m, at)| {
                        let e = MutationEnvelope {
                            id: next,
                            name: m.name().into(),
                            args: m.args(),
                            client_ts: *at,
                        };
                        next += 1;
                        e
                    })
                    .collect();
                let req = PushRequest {
                    client_id: actor.client_id,
                    schema_version: SCHEMA_VERSION,
                    mutations: envelopes,
                };
                let parsed = push::check_shape(&req)?;
                let resp = push::process(pool, clock, &actor, &req, &parsed).await?;
                if let Some(bad) = resp.results.iter().find(|r| r.status == MutationStatus::Rejected) {
                    tracing::warn!(reason = ?bad.error, "a demo mutation was rejected");
                }
            }
        }
        Ok(())
    }
}

/// Writes about `leads_per_week` leads a week for the last `days` days, ending `now`.
pub async fn generate(
    pool: &PgPool,
    clock: &std::sync::Arc<crate::sync::clock::VersionClock>,
    company: Uuid,
    now: DateTime<Utc>,
    days: i64,
    leads_per_week: u32,
) -> Result<u64, ApiError> {
    let rows = sqlx::query!(
        r#"select id, role as "role: Role" from users where company_id = $1 and active order by email"#,
        company
    )
    .fetch_all(pool)
    .await?;
    let people: BTreeMap<Uuid, Role> = rows.iter().map(|r| (r.id, r.role)).collect();
    let of = |role| people.iter().filter(|(_, r)| **r == role).map(|(id, _)| *id).collect::<Vec<_>>();
    let (techs, reps, managers) = (of(Role::Technician), of(Role::SalesRep), of(Role::Manager));
    let (Some(&manager), false, false) = (managers.first(), techs.is_empty(), reps.is_empty()) else {
        return Ok(0);
    };

    let mut rng = StdRng::seed_from_u64(0x00F1_E1DC_1053);
    let (mut field, mut office, mut follow) = (
        Outboxes { queued: BTreeMap::new() },
        Outboxes { queued: BTreeMap::new() },
        Outboxes { queued: BTreeMap::new() },
    );
    let leads = (days as u64 * leads_per_week as u64) / 7;
    let start = now - Duration::days(days);
    for _ in 0..leads {
        let created = start + Duration::minutes(rng.gen_range(0..days * 24 * 60));
        let tech = *techs.choose(&mut rng).expect("there are technicians");
        let habit = HABITS[techs.iter().position(|t| *t == tech).unwrap_or(0) % HABITS.len()];
        let (customer, lead, k) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let name =
            format!("{} {}", FIRST_NAMES.choose(&mut rng).unwrap(), LAST_NAMES.choose(&mut rng).unwrap());
        field.add(
            tech,
            created,
            Mutation::CustomerCreate(CustomerCreate {
                id: customer,
                name,
                phone: Some(format!("512555{:04}", rng.gen_range(0..10000))),
                email: None,
                address: Some(format!("{} Oak St, Austin TX", rng.gen_range(1..9999))),
            }),
        );
        let service = weighted(&mut rng, SERVICES);
        field.add(
            tech,
            created,
            Mutation::LeadCreate(LeadCreate {
                id: lead,
                customer_id: customer,
                source: weighted(&mut rng, SOURCES).into(),
                service_type: service.into(),
                created_at: created,
                first_contact_at: None,
                external_id: None,
                ..Default::default()
            }),
        );
        let scheduled = created + Duration::hours(rng.gen_range(2..96));
        field.add(
            tech,
            created,
            Mutation::ConsultationCreate(ConsultationCreate {
                id: k,
                lead_id: lead,
                technician_id: Some(tech),
                scheduled_at: Some(scheduled),
                problem: "Customer reports the system is not keeping up".into(),
                ..Default::default()
            }),
        );
        let contacted = created + Duration::minutes(rng.gen_range(3..240));
        field.add(
            tech,
            contacted,
            Mutation::ActivityLog(ActivityLog {
                id: Uuid::now_v7(),
                consultation_id: k,
                kind: "call".into(),
                outcome: Some("booked".into()),
                at: contacted,
                note: String::new(),
            }),
        );
        if scheduled > now || rng.gen_bool(0.12) {
            continue; // not held (yet, or a no-show)
        }
        let (three, financed, findings) =
            (rng.gen_bool(habit.0), rng.gen_bool(habit.1), rng.gen_bool(habit.2));
        let done = json!({ "state": "done", "note": "" });
        let mut checklist = json!({ "intro": done, "listen": done, "inspect": done });
        if findings {
            checklist["findings"] = done.clone();
        }
        if financed {
            checklist["financing"] = done.clone();
        }
        field.add(tech, scheduled, Mutation::ConsultationUpdate(FieldUpdate {
            id: k,
            base_version: 0,
            fields: json!({ "held_at": scheduled, "checklist": checklist, "home": { "system_age_years": rng.gen_range(3..25), "sqft": rng.gen_range(900..4200) } })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        }));
        let base = match service {
            "hvac" => 900_000,
            "water_heater" => 280_000,
            "electrical" => 350_000,
            _ => 420_000,
        };
        let mut prices = vec![];
        for (pos, tier) in ["Good", "Better", "Best"].iter().enumerate() {
            let price = base * (10 + pos as i64 * 4) / 10 + rng.gen_range(0..50_000);
            prices.push((Uuid::now_v7(), price));
            field.add(
                tech,
                scheduled,
                Mutation::OptionUpsert(OptionUpsert {
                    id: prices[pos].0,
                    consultation_id: k,
                    tier: tier.to_string(),
                    position: pos as u8,
                    line_items: vec![LineItem {
                        price_book_item_id: None,
                        description: format!("{tier} {service} package"),
                        quantity: 1,
                        unit_price_cents: Cents(price),
                        discount_cents: Cents(0),
                    }],
                    price_cents: Cents(price),
                    financing_plan: financed.then(|| PLAN.code.into()),
                    monthly_payment_cents: financed.then(|| PLAN.monthly_payment(Cents(price))),
                    // Good and Better always; Best only when all three are shown.
                    presented: three || pos < 2,
                }),
            );
        }
        let on_site = scheduled + Duration::minutes(rng.gen_range(60..150));
        field.add(
            tech,
            on_site,
            Mutation::TimeEntryLog(TimeEntryLog {
                id: Uuid::now_v7(),
                category: "on_site".into(),
                started_at: scheduled,
                ended_at: Some(on_site),
            }),
        );
        let lift = lift(three, financed, findings);
        let roll: f64 = rng.gen();
        let (option, amount) = prices[rng.gen_range(0..if three { 3 } else { 2 })];
        let on_the_spot = 0.25 + lift / 2.0;
        if roll < on_the_spot {
            // Sold on the spot.
            field.add(tech, on_site, won(k, option, amount, on_site));
            continue;
        }
        if roll < on_the_spot + 0.15 {
            field.add(tech, on_site, lost(k, LOST.choose(&mut rng).unwrap(), on_site));
            continue;
        }
        // Handed to a rep for follow-up.
        let rep = *reps.choose(&mut rng).expect("there are reps");
        let handoff = on_site + Duration::hours(2);
        office.add(
            manager,
            handoff,
            Mutation::ConsultationUpdate(FieldUpdate {
                id: k,
                // The manager's device had pulled the consultation as created (revision 1); the
                // rep is a field nobody else writes, so this is never a concurrent edit.
                base_version: 1,
                fields: json!({ "sales_rep_id": rep }).as_object().cloned().unwrap_or_default(),
            }),
        );
        let mut when = handoff;
        for day in [1, 3, 7, 14] {
            when = on_site + Duration::days(day) + Duration::minutes(rng.gen_range(0..300));
            if when > now {
                break;
            }
            let outcome = ["no_answer", "left_message", "thinking"].choose(&mut rng).unwrap();
            follow.add(
                rep,
                when,
                Mutation::ActivityLog(ActivityLog {
                    id: Uuid::now_v7(),
                    consultation_id: k,
                    kind: "call".into(),
                    outcome: Some(outcome.to_string()),
                    at: when,
                    note: String::new(),
                }),
            );
            if rng.gen_bool(0.25) {
                break;
            }
        }
        let decided = when + Duration::hours(1);
        let later: f64 = rng.gen();
        match later {
            _ if decided > now => {}
            x if x < 0.45 + lift => follow.add(rep, decided, won(k, option, amount, decided)),
            x if x < 0.80 => follow.add(rep, decided, lost(k, LOST.choose(&mut rng).unwrap(), decided)),
            _ if now - on_site > Duration::days(45) => follow.add(
                rep,
                on_site + Duration::days(45),
                lost(k, "no_decision", on_site + Duration::days(45)),
            ),
            _ => {} // still open
        }
    }
    field.flush(pool, clock, company, &people).await?;
    office.flush(pool, clock, company, &people).await?;
    follow.flush(pool, clock, company, &people).await?;
    Ok(leads)
}

fn won(k: Uuid, option: Uuid, amount: i64, at: DateTime<Utc>) -> Mutation {
    Mutation::SetOutcome(SetOutcome {
        id: k,
        outcome: Outcome::Won { option_id: Some(option), amount_cents: Cents(amount) },
        at,
    })
}

fn lost(k: Uuid, reason: &str, at: DateTime<Utc>) -> Mutation {
    Mutation::SetOutcome(SetOutcome {
        id: k,
        outcome: Outcome::Lost { reason: reason.into(), competitor: None, note: None },
        at,
    })
}
