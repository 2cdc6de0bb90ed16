//! The follow-up side of a quote: hand-off credit, reopen, stale quotes (with a clock the test
//! controls), reminders that stop, reassignment, the conflict view, and scope.

use crate::{helpers::spawn_app, sync_fixtures::*};
use app::{
    domain::{
        cadence::{next_follow_up, DEFAULT_CADENCE_DAYS},
        Cents, Role,
    },
    sync::{mutation::*, protocol::Entity},
};
use chrono::{Duration, Utc};
use serde_json::json;
use uuid::Uuid;

fn option(consultation: Uuid, price: i64) -> (Uuid, Mutation) {
    let id = Uuid::now_v7();
    (
        id,
        Mutation::OptionUpsert(OptionUpsert {
            id,
            consultation_id: consultation,
            tier: "Better".into(),
            position: 1,
            line_items: vec![LineItem {
                price_book_item_id: None,
                description: "Heat pump".into(),
                quantity: 1,
                unit_price_cents: Cents(price),
                discount_cents: Cents(0),
            }],
            price_cents: Cents(price),
            financing_plan: None,
            monthly_payment_cents: None,
            presented: true,
        }),
    )
}

fn followup(consultation: Uuid, assignee: Uuid, due: chrono::DateTime<Utc>) -> (Uuid, Mutation) {
    let id = Uuid::now_v7();
    (
        id,
        Mutation::FollowupSchedule(FollowupSchedule {
            id,
            consultation_id: consultation,
            due_at: due,
            assignee_id: Some(assignee),
            note: String::new(),
        }),
    )
}

#[tokio::test]
async fn a_handed_off_sale_credits_who_generated_it_and_who_closed_it_and_reminders_stop() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut rep = co.device(&app, "r@acme.test", Role::SalesRep).await;
    let mut other_rep = co.device(&app, "o@acme.test", Role::SalesRep).await;
    let (_, _, k) = new_consultation(&mut tech).await;
    let (option_id, m) = option(k, 1_250_000);
    tech.mutate(m).await;
    // The hand-off from the outcome step: a follow-up for the rep, and the quote is theirs.
    let (f, m) = followup(k, rep.user_id, Utc::now() + Duration::days(1));
    tech.mutate(m).await;
    tech.mutate(assign_rep(k, 0, rep.user_id)).await;
    tech.sync().await;
    assert!(tech.engine.state().rejected.is_empty(), "{:?}", tech.engine.state().rejected);

    // The rep sees it after sync; the other rep never does.
    rep.pull_all(None).await.unwrap();
    other_rep.pull_all(None).await.unwrap();
    assert!(
        rep.has(Entity::Consultation, k)
            && rep.has(Entity::Followup, f)
            && rep.has(Entity::Option, option_id)
    );
    assert!(!other_rep.has(Entity::Consultation, k), "a rep receives only quotes assigned to them");
    assert!(!other_rep.has(Entity::Followup, f));

    // The rep logs a call, then closes it.
    rep.mutate(activity(k).1).await;
    rep.mutate(Mutation::SetOutcome(SetOutcome {
        id: k,
        outcome: Outcome::Won { option_id: Some(option_id), amount_cents: Cents(1_200_000) },
        at: Utc::now(),
    }))
    .await;
    rep.sync().await;
    assert!(rep.engine.state().rejected.is_empty(), "{:?}", rep.engine.state().rejected);
    let (technician, sold_by, amount): (Uuid, Option<Uuid>, Option<i64>) =
        sqlx::query_as("select technician_id, sold_by, sold_amount_cents from consultations where id = $1")
            .bind(k)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((technician, sold_by, amount), (tech.user_id, Some(rep.user_id), Some(1_200_000)));
    let won_by: Uuid =
        sqlx::query_scalar("select actor_id from stage_events where consultation_id = $1 and kind = 'won'")
            .bind(k)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(won_by, rep.user_id);
    // Won: the reminder stopped.
    let open: i64 =
        sqlx::query_scalar("select count(*) from followups where consultation_id = $1 and done_at is null")
            .bind(k)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(open, 0);

    // Reopening is explicit, keeps the history and is a stage event.
    rep.mutate(Mutation::SetOutcome(SetOutcome { id: k, outcome: Outcome::Reopened, at: Utc::now() })).await;
    rep.sync().await;
    let kinds: Vec<String> = sqlx::query_scalar(
        "select kind from stage_events where consultation_id = $1 order by occurred_at, created_at",
    )
    .bind(k)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(kinds.iter().filter(|k| *k == "won").count(), 1);
    assert_eq!(kinds.last().map(String::as_str), Some("reopened"));
    let status: String = sqlx::query_scalar("select status from consultations where id = $1")
        .bind(k)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "open");
}

#[tokio::test]
async fn quotes_idle_past_the_stale_window_are_lost_no_decision_as_of_when_they_went_stale() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let (_, _, idle) = new_consultation(&mut tech).await;
    tech.mutate(option(idle, 800_000).1).await;
    let (_, m) = followup(idle, tech.user_id, Utc::now() + Duration::days(2));
    tech.mutate(m).await;
    let (_, _, busy) = new_consultation(&mut tech).await;
    tech.mutate(option(busy, 900_000).1).await;
    let (_, _, no_quote) = new_consultation(&mut tech).await; // no option: not a quote
    tech.sync().await;
    let now = Utc::now();

    // Within the window (45 days by default): nothing happens.
    assert_eq!(server::stale::run(&app.pool, &app.clock, now + Duration::days(30)).await.unwrap(), 0);
    // Someone calls about `busy` on day 40 (the clock here is the test's).
    tech.mutate(Mutation::ActivityLog(ActivityLog {
        id: Uuid::now_v7(),
        consultation_id: busy,
        kind: "call".into(),
        outcome: Some("talked_thinking".into()),
        at: now + Duration::days(40),
        note: String::new(),
    }))
    .await;
    tech.sync().await;
    // Day 50: `idle` has had nothing since its follow-up was due (day 2) → stale as of day 47.
    assert_eq!(server::stale::run(&app.pool, &app.clock, now + Duration::days(50)).await.unwrap(), 1);
    let (status, reason, decided): (String, Option<String>, Option<chrono::DateTime<Utc>>) =
        sqlx::query_as("select status, lost_reason, decided_at from consultations where id = $1")
            .bind(idle)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), reason.as_deref()), ("lost", Some("no_decision")));
    let went_stale = now + Duration::days(2 + 45);
    assert!((decided.unwrap() - went_stale).num_seconds().abs() < 5, "{decided:?} vs {went_stale}");
    let open_reminders: i64 =
        sqlx::query_scalar("select count(*) from followups where consultation_id = $1 and done_at is null")
            .bind(idle)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(open_reminders, 0, "a lost quote's reminders stop");
    for k in [busy, no_quote] {
        let s: String = sqlx::query_scalar("select status from consultations where id = $1")
            .bind(k)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(s, "open");
    }
    // Running again marks nothing twice; the device hears of it like any change.
    assert_eq!(server::stale::run(&app.pool, &app.clock, now + Duration::days(51)).await.unwrap(), 0);
    tech.pull_all(None).await.unwrap();
    assert_eq!(tech.row(Entity::Consultation, idle).unwrap()["status"], "lost");

    // Reversible: reopened, it starts a fresh window.
    tech.mutate(Mutation::SetOutcome(SetOutcome {
        id: idle,
        outcome: Outcome::Reopened,
        at: now + Duration::days(52),
    }))
    .await;
    tech.sync().await;
    assert!(tech.engine.state().rejected.is_empty(), "{:?}", tech.engine.state().rejected);
    assert_eq!(server::stale::run(&app.pool, &app.clock, now + Duration::days(60)).await.unwrap(), 0);
    // Day 98: `idle` (reopened on day 52) and `busy` (last call on day 40) are both past it.
    assert_eq!(server::stale::run(&app.pool, &app.clock, now + Duration::days(98)).await.unwrap(), 2);
}

#[tokio::test]
async fn cadence_suggestions_follow_the_visit() {
    let visit = Utc::now() - Duration::days(2);
    let now = Utc::now();
    // One attempt made, two days after the visit: day 3 is tomorrow-ish but under a day away → day 7.
    let next = next_follow_up(&DEFAULT_CADENCE_DAYS, visit, 1, now);
    assert_eq!((next - visit).num_days(), 7);
    // No attempt yet, right after the visit: day 1.
    assert_eq!((next_follow_up(&DEFAULT_CADENCE_DAYS, now, 0, now) - now).num_days(), 1);
}

#[tokio::test]
async fn managers_reassign_follow_ups_and_both_editors_see_the_values_that_crossed() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut rep = co.device(&app, "r@acme.test", Role::SalesRep).await;
    let mut rep2 = co.device(&app, "r2@acme.test", Role::SalesRep).await;
    let mut boss = co.device(&app, "m@acme.test", Role::Manager).await;
    let (_, _, k) = new_consultation(&mut tech).await;
    let (f, m) = followup(k, rep.user_id, Utc::now() + Duration::days(1));
    tech.mutate(m).await;
    tech.mutate(assign_rep(k, 0, rep.user_id)).await;
    tech.sync().await;
    rep.pull_all(None).await.unwrap();

    // The rep cannot hand someone else's follow-up on; the manager can.
    boss.pull_all(None).await.unwrap();
    let base = boss.revision_of(Entity::Consultation, k);
    boss.mutate(Mutation::FollowupReassign(FollowupReassign { id: f, assignee_id: rep2.user_id })).await;
    boss.mutate(assign_rep(k, base, rep2.user_id)).await;
    boss.sync().await;
    assert!(boss.engine.state().rejected.is_empty(), "{:?}", boss.engine.state().rejected);
    rep2.pull_all(None).await.unwrap();
    assert!(rep2.has(Entity::Consultation, k) && rep2.has(Entity::Followup, f));
    assert_eq!(rep2.row(Entity::Followup, f).unwrap()["assignee_id"], json!(rep2.user_id));

    // Both offline: the technician and the new rep edit the same quote.
    tech.pull_all(None).await.unwrap();
    let (tb, rb) = (tech.revision_of(Entity::Consultation, k), rep2.revision_of(Entity::Consultation, k));
    tech.mutate(update(
        k,
        tb,
        json!({ "problem": "No heat upstairs, short cycling", "notes": "Prefers mornings" }),
    ))
    .await;
    rep2.mutate(update(k, rb, json!({ "notes": "Call after 5 pm" }))).await;
    tech.sync().await;
    rep2.sync().await;
    tech.pull_all(None).await.unwrap();
    // Converged: the later arrival won the shared field, the other field is the technician's.
    for device in [&tech, &rep2] {
        let c = device.row(Entity::Consultation, k).unwrap();
        assert_eq!(c["notes"], "Call after 5 pm");
        assert_eq!(c["problem"], "No heat upstairs, short cycling");
    }
    // Both of them see what was overwritten; the first rep, who no longer has the quote, does not.
    for who in [&tech, &rep2] {
        let resp = who
            .http
            .get(app.url(&format!("/api/conflicts?entity=consultation&id={k}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let list: Vec<app::api::ConflictEntry> = resp.json().await.unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0].field, "notes");
        assert_eq!(list[0].overwritten_value, json!("Prefers mornings"));
        assert_eq!(list[0].new_value, json!("Call after 5 pm"));
    }
    let resp =
        rep.http.get(app.url(&format!("/api/conflicts?entity=consultation&id={k}"))).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let resp = tech.http.get(app.url(&format!("/api/conflicts?entity=lead&id={k}"))).send().await.unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn the_company_cadence_reaches_every_signed_in_device() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let (boss, _) = app.signed_in(co.id, "m@acme.test", Role::Manager).await;
    let (rep, _) = app.signed_in(co.id, "r@acme.test", Role::SalesRep).await;
    let me: serde_json::Value = rep.get(app.url("/api/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["cadence_days"], json!([1, 3, 7, 14]), "the default until a manager sets one");

    let bad = boss
        .put(app.url("/api/analytics/settings"))
        .json(&json!({ "follow_up_cadence_days": [3, 2] }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(crate::helpers::error_message(bad).await.contains("follow_up_cadence_days"));
    let ok = boss
        .put(app.url("/api/analytics/settings"))
        .json(&json!({ "follow_up_cadence_days": [2, 5, 10] }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let me: serde_json::Value = rep.get(app.url("/api/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["cadence_days"], json!([2, 5, 10]));
    // The page carries it too, so the queue suggests from it offline.
    let page = rep.get(app.url("/queue")).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("&quot;cadence_days&quot;:[2,5,10]") || page.contains("\"cadence_days\":[2,5,10]"),
        "{page}"
    );
}
