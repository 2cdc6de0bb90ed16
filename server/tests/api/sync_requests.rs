//! Pushes and pulls that must be refused with a clear 4xx and leave everything stored as it was,
//! and mutations that are rejected one by one and kept.

use crate::{
    helpers::{error_message, spawn_app, TestApp},
    sync_fixtures::*,
};
use app::{domain::Role, sync::protocol::*};
use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

async fn fingerprint(app: &TestApp) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "select (select coalesce(sum(version), 0)::bigint from consultations), (select count(*) from customers),
                (select count(*) from mutation_log), (select coalesce(sum(last_mutation_id), 0)::bigint from sync_clients)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

fn envelope(id: u64, name: &str, args: Value) -> Value {
    json!({ "id": id, "name": name, "args": args, "client_ts": Utc::now() })
}

#[tokio::test]
async fn bad_pushes_get_a_clear_4xx_and_change_nothing() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let (c, m) = customer("Kept");
    tech.mutate(m).await;
    tech.push_all().await.unwrap();
    let before = fingerprint(&app).await;
    let url = app.url("/api/sync/push");
    let client_id = tech.engine.client_id();
    let good = |id| envelope(id, "customer.create", json!({ "id": Uuid::now_v7(), "name": "New" }));

    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({ "client_id": client_id, "mutations": [] }), 400, "missing field"),
        (json!({ "client_id": "nope", "schema_version": 1, "mutations": [] }), 400, "JSON"),
        (
            json!({ "client_id": client_id, "schema_version": 99, "mutations": [good(2)] }),
            409,
            "Reload the app",
        ),
        (
            json!({ "client_id": client_id, "schema_version": 1, "mutations": [good(2), envelope(3, "consultation.explode", json!({}))] }),
            400,
            "Unknown mutation \"consultation.explode\"",
        ),
        (
            json!({ "client_id": client_id, "schema_version": 1, "mutations": [good(3), good(2)] }),
            400,
            "increase",
        ),
        (
            json!({ "client_id": client_id, "schema_version": 1, "mutations": (2..=502).map(good).collect::<Vec<_>>() }),
            413,
            "at most 500",
        ),
    ];
    for (body, status, says) in cases {
        let resp = tech.http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{says}");
        let message = error_message(resp).await;
        assert!(message.contains(says), "{message:?} should say {says:?}");
        assert_eq!(fingerprint(&app).await, before, "{says}: nothing changed");
    }
    let resp = tech
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{ not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let huge = "x".repeat(2 * 1024 * 1024);
    let resp = tech.http.post(&url).json(&json!({ "client_id": client_id, "schema_version": 1, "mutations": [envelope(2, "customer.create", json!({ "id": Uuid::now_v7(), "name": huge }))] })).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(fingerprint(&app).await, before);

    // Signed out: 401.
    let resp = app
        .client()
        .post(&url)
        .json(&json!({ "client_id": client_id, "schema_version": 1, "mutations": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        tech.has(Entity::Customer, c) || {
            tech.pull_all(None).await.unwrap();
            tech.has(Entity::Customer, c)
        }
    );
}

#[tokio::test]
async fn another_persons_or_companys_client_id_is_forbidden() {
    let app = spawn_app().await;
    let acme = Company::new(&app, "Acme Air").await;
    let rival = Company::new(&app, "Rival").await;
    let mut tech = acme.device(&app, "t@acme.test", Role::Technician).await;
    let colleague = acme.device(&app, "t2@acme.test", Role::Technician).await;
    let outsider = rival.device(&app, "m@rival.test", Role::Manager).await;
    tech.mutate(customer("Mine").1).await;
    tech.push_all().await.unwrap();
    let before = fingerprint(&app).await;

    let stolen = PushRequest {
        client_id: tech.engine.client_id(),
        schema_version: SCHEMA_VERSION,
        mutations: vec![MutationEnvelope {
            id: 2,
            name: "customer.create".into(),
            args: json!({ "id": Uuid::now_v7(), "name": "Sneaky" }),
            client_ts: Utc::now(),
        }],
    };
    for d in [&colleague, &outsider] {
        let resp = d.http.post(app.url("/api/sync/push")).json(&stolen).send().await.unwrap();
        assert_eq!(resp.status(), 403);
        assert!(error_message(resp).await.contains("belongs to another user"));
        let pull = PullRequest {
            client_id: tech.engine.client_id(),
            cookie: None,
            limit: None,
            pending_from: None,
            kinds_version: app::sync::protocol::KINDS_VERSION,
        };
        let resp = d.http.post(app.url("/api/sync/pull")).json(&pull).send().await.unwrap();
        assert_eq!(resp.status(), 403);
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn an_invalid_mutation_is_rejected_kept_and_does_not_block_the_queue() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let (_, _, k) = new_consultation(&mut tech).await;
    tech.push_all().await.unwrap();
    // Built by hand: the engine itself refuses to queue these.
    let req = PushRequest {
        client_id: tech.engine.client_id(),
        schema_version: SCHEMA_VERSION,
        mutations: vec![
            MutationEnvelope {
                id: 4,
                name: "consultation.set_outcome".into(),
                args: json!({ "id": k, "outcome": { "status": "lost", "reason": "" }, "at": Utc::now() }),
                client_ts: Utc::now(),
            },
            MutationEnvelope {
                id: 5,
                name: "activity.log".into(),
                args: json!({ "id": 7 }),
                client_ts: Utc::now(),
            },
            MutationEnvelope {
                id: 6,
                name: "consultation.set_outcome".into(),
                args: json!({ "id": k, "outcome": { "status": "lost", "reason": "price" }, "at": Utc::now() }),
                client_ts: Utc::now(),
            },
        ],
    };
    let resp = tech.send_push(&req).await.unwrap();
    assert_eq!(resp.last_mutation_id, 6);
    let statuses: Vec<_> = resp.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [MutationStatus::Rejected, MutationStatus::Rejected, MutationStatus::Applied]);
    assert!(resp.results[0].error.as_deref().unwrap().contains("reason: must be one of"));
    assert!(resp.results[1].error.as_deref().unwrap().contains("activity.log: the arguments do not fit"));

    // The payloads are kept server-side with their reasons.
    let kept: Vec<(i64, Value, String)> = sqlx::query_as(
        "select mutation_id, args, reason from mutation_log where status = 'rejected' order by mutation_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].1["outcome"]["status"], "lost");

    // The state machine: lost twice is refused; reopen, then won, is fine. (A fresh profile:
    // the hand-built push above bypassed this one's outbox numbering.)
    let mut tech = crate::device::Device::new(&app, tech.http.clone(), tech.user_id).await;
    tech.pull_all(None).await.unwrap();
    tech.mutate(app::sync::mutation::Mutation::SetOutcome(app::sync::mutation::SetOutcome {
        id: k,
        outcome: app::sync::mutation::Outcome::Lost { reason: "timing".into(), competitor: None, note: None },
        at: Utc::now(),
    }))
    .await;
    tech.mutate(app::sync::mutation::Mutation::SetOutcome(app::sync::mutation::SetOutcome {
        id: k,
        outcome: app::sync::mutation::Outcome::Reopened,
        at: Utc::now(),
    }))
    .await;
    tech.mutate(won(k, 900_000)).await;
    tech.sync().await;
    let rejected = &tech.engine.state().rejected;
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].reason.contains("already lost; reopen it first"), "{}", rejected[0].reason);
    let kinds: Vec<String> = sqlx::query_scalar(
        "select kind from stage_events where consultation_id = $1 order by occurred_at, created_at",
    )
    .bind(k)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(kinds, ["consultation_scheduled", "lost", "reopened", "won"]);
}

#[tokio::test]
async fn stage_events_record_the_funnel_as_it_happens() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let (_, lead, k) = new_consultation(&mut tech).await;
    tech.mutate(activity(k).1).await;
    tech.mutate(update(k, 0, json!({ "held_at": Utc::now() }))).await;
    tech.mutate(app::sync::mutation::Mutation::OptionUpsert(app::sync::mutation::OptionUpsert {
        id: Uuid::now_v7(),
        consultation_id: k,
        tier: "Better".into(),
        position: 1,
        line_items: vec![],
        price_cents: app::domain::Cents(1_200_000),
        financing_plan: None,
        monthly_payment_cents: None,
        presented: true,
    }))
    .await;
    tech.mutate(activity(k).1).await;
    tech.mutate(won(k, 1_200_000)).await;
    tech.sync().await;
    let kinds: Vec<String> =
        sqlx::query_scalar("select kind from stage_events where lead_id = $1 order by occurred_at")
            .bind(lead)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        kinds,
        [
            "lead_created",
            "consultation_scheduled",
            "first_contact",
            "consultation_held",
            "options_presented",
            "follow_up",
            "won"
        ]
    );
    let first_contact: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("select first_contact_at from leads where id = $1")
            .bind(lead)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(first_contact.is_some());
    assert_eq!(
        tech.engine.state().rows.keys().filter(|(e, _)| *e == Entity::StageEvent).count(),
        7,
        "events sync down too"
    );
}

#[tokio::test]
async fn a_device_whose_storage_went_back_in_time_loses_nothing() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let backup = tech.engine.state().clone();
    tech.mutate(customer("Before the backup was restored").1).await;
    tech.push_all().await.unwrap();

    // The device restores its old storage: same client id, numbering from 1 again.
    use app::sync::engine::Store;
    tech.store.init(&backup).await.unwrap();
    tech.restart().await;
    let (after, m) = customer("Typed after the restore");
    tech.mutate(m).await;
    // The server refuses the reused id 1 (409 client_id_reused); the engine re-keys and resends.
    tech.push_all().await.unwrap();
    assert_eq!(count(&app, "select count(*) from customers").await, 2);
    assert_ne!(tech.engine.client_id(), backup.client_id);
    tech.pull_all(None).await.unwrap();
    assert!(tech.has(Entity::Customer, after), "the write made after the restore reached the server");
}

#[tokio::test]
async fn options_are_priced_by_the_book_and_discounts_stay_within_its_limits() {
    use app::{
        domain::{pricing::FinancingPlan, Cents},
        sync::mutation::{LineItem, Mutation, OptionUpsert},
    };
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    server::catalog::seed_starter(&app.pool, &app.clock, co.id).await.unwrap();
    server::catalog::seed_starter(&app.pool, &app.clock, co.id).await.unwrap(); // idempotent
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    tech.pull_all(None).await.unwrap();
    // The price book and the checklist reached the device.
    let book = tech.engine.state().rows.iter().filter(|((e, _), _)| *e == Entity::PriceBookItem).count();
    assert!(book >= 20, "{book} price book items on the device");
    assert_eq!(
        tech.engine.state().rows.iter().filter(|((e, _), _)| *e == Entity::ChecklistTemplate).count(),
        1
    );
    let (furnace, price, limit): (Uuid, i64, i16) = sqlx::query_as(
        "select id, price_cents, max_discount_pct from price_book_items where company_id = $1 and sku = 'HV-FUR-80'",
    )
    .bind(co.id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (_, _, k) = new_consultation(&mut tech).await;
    let option = |discount: i64, book_item: Option<Uuid>| {
        let items = vec![LineItem {
            price_book_item_id: book_item,
            description: "80% gas furnace".into(),
            quantity: 1,
            unit_price_cents: Cents(price),
            discount_cents: Cents(discount),
        }];
        let total = Cents(price - discount);
        let plan = FinancingPlan::find("apr_999_60").unwrap();
        Mutation::OptionUpsert(OptionUpsert {
            id: Uuid::now_v7(),
            consultation_id: k,
            tier: "Good".into(),
            position: 0,
            line_items: items,
            price_cents: total,
            financing_plan: Some(plan.code.into()),
            monthly_payment_cents: Some(plan.monthly_payment(total)),
            presented: false,
        })
    };
    let at_limit = price * i64::from(limit) / 100;
    tech.mutate(option(at_limit, Some(furnace))).await;
    tech.mutate(option(at_limit + 1, Some(furnace))).await;
    tech.mutate(option(1, None)).await; // a custom line takes no discount
    tech.mutate(option(0, Some(Uuid::now_v7()))).await; // not in the book
    tech.sync().await;
    let reasons: Vec<&str> = tech.engine.state().rejected.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("line 1") && reasons[0].contains("allowed on this line"), "{}", reasons[0]);
    assert!(reasons[1].contains("discount_cents"), "{}", reasons[1]);
    assert!(reasons[2].contains("not in this company's price book"), "{}", reasons[2]);
    let stored: i64 = sqlx::query_scalar("select count(*) from options where consultation_id = $1")
        .bind(k)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);

    // Totals that do not add up never reach the outbox, nor the server.
    let Mutation::OptionUpsert(mut bad) = option(0, Some(furnace)) else { unreachable!() };
    bad.price_cents = Cents(price + 1);
    let err = Mutation::OptionUpsert(bad.clone()).validate().unwrap_err();
    assert_eq!(err.field, "price_cents");
    // A payment that is not the plan's, a plan the company does not offer, and an amount under
    // the plan's minimum are the server's to refuse: the plans are the company's own rows.
    bad.price_cents = Cents(price);
    bad.monthly_payment_cents = Some(Cents(1));
    tech.mutate(Mutation::OptionUpsert(bad.clone())).await;
    let mut unknown = bad.clone();
    unknown.id = Uuid::now_v7();
    unknown.financing_plan = Some("apr_0_999".into());
    tech.mutate(Mutation::OptionUpsert(unknown)).await;
    tech.sync().await;
    sqlx::query(
        "update financing_plans set min_amount_cents = $2 where company_id = $1 and code = 'apr_999_60'",
    )
    .bind(co.id)
    .bind(price + 1)
    .execute(&app.pool)
    .await
    .unwrap();
    let Mutation::OptionUpsert(mut small) = option(0, Some(furnace)) else { unreachable!() };
    small.id = Uuid::now_v7();
    tech.mutate(Mutation::OptionUpsert(small)).await;
    tech.sync().await;
    let reasons: Vec<&str> = tech.engine.state().rejected.iter().skip(3).map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].starts_with("monthly_payment_cents: must be"), "{}", reasons[0]);
    assert!(reasons[1].contains("apr_0_999 is not a plan of this company"), "{}", reasons[1]);
    assert!(reasons[2].contains("finances from"), "{}", reasons[2]);
}

#[tokio::test]
async fn one_push_that_creates_a_visit_and_assigns_a_rep_shares_all_its_stage_events_with_the_rep() {
    // A push holds its stage events back and writes them at its version: what it changes about
    // them on the way (scope, "presented already?") must land as if each had been written at once.
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let mut rep = co.device(&app, "r@acme.test", Role::SalesRep).await;
    let (_, lead, k) = new_consultation(&mut manager).await;
    manager.mutate(update(k, 0, json!({ "held_at": Utc::now() }))).await;
    for tier in ["Good", "Best"] {
        manager
            .mutate(app::sync::mutation::Mutation::OptionUpsert(app::sync::mutation::OptionUpsert {
                id: Uuid::now_v7(),
                consultation_id: k,
                tier: tier.into(),
                position: 0,
                line_items: vec![],
                price_cents: app::domain::Cents(900_000),
                financing_plan: None,
                monthly_payment_cents: None,
                presented: true,
            }))
            .await;
    }
    manager.mutate(activity(k).1).await;
    manager.mutate(activity(k).1).await;
    manager.mutate(assign_rep(k, 0, rep.user_id)).await;
    let pushes_before = count(&app, "select count(distinct version) from mutation_log").await;
    manager.sync().await;
    assert_eq!(
        count(&app, "select count(distinct version) from mutation_log").await,
        pushes_before + 1,
        "all in one push"
    );
    assert!(manager.engine.state().rejected.is_empty());

    let kinds: Vec<String> =
        sqlx::query_scalar("select kind from stage_events where lead_id = $1 order by occurred_at, kind")
            .bind(lead)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(kinds.iter().filter(|k| *k == "options_presented").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "first_contact").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "follow_up").count(), 1, "{kinds:?}");
    let outside: i64 = sqlx::query_scalar(
        "select count(*) from stage_events where lead_id = $1 and not ($2 = any(scope_users))",
    )
    .bind(lead)
    .bind(rep.user_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(outside, 0, "the rep sees the lead's and the consultation's events");
    let stamped: i64 = sqlx::query_scalar(
        "select count(*) from stage_events e where lead_id = $1
         and e.version = (select max(version) from mutation_log where client_id = $2)",
    )
    .bind(lead)
    .bind(manager.engine.state().client_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stamped as usize, kinds.len(), "written at the push's version");

    rep.pull_all(None).await.unwrap();
    let seen = rep.rows().keys().filter(|(e, _)| *e == Entity::StageEvent).count();
    assert_eq!(seen, kinds.len());
}

#[tokio::test]
async fn an_option_or_time_entry_id_already_taken_is_updated_when_it_is_ones_own_and_refused_when_not() {
    use app::sync::mutation::{Mutation, OptionUpsert, TimeEntryLog};
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut other = co.device(&app, "o@acme.test", Role::Technician).await;
    let (_, _, k) = new_consultation(&mut tech).await;
    let (_, _, k2) = new_consultation(&mut tech).await;
    let option = |consultation_id, price| {
        Mutation::OptionUpsert(OptionUpsert {
            id: Uuid::from_u128(7),
            consultation_id,
            tier: "Good".into(),
            position: 0,
            line_items: vec![],
            price_cents: app::domain::Cents(price),
            financing_plan: None,
            monthly_payment_cents: None,
            presented: false,
        })
    };
    let entry = |category: &str| {
        Mutation::TimeEntryLog(TimeEntryLog {
            id: Uuid::from_u128(8),
            category: category.into(),
            started_at: Utc::now(),
            ended_at: None,
        })
    };
    tech.mutate(option(k, 100_000)).await;
    tech.mutate(option(k, 150_000)).await; // the same option, edited: an update
    tech.mutate(option(k2, 1)).await; // the same id under another consultation: refused
    tech.mutate(entry("driving")).await;
    tech.mutate(entry("on_site")).await; // corrected: an update
    tech.sync().await;
    other.mutate(entry("admin")).await; // someone else's entry: refused
    other.sync().await;

    let reasons: Vec<String> = tech.engine.state().rejected.iter().map(|r| r.reason.clone()).collect();
    assert_eq!(reasons, ["the option belongs to another consultation"]);
    let reasons: Vec<String> = other.engine.state().rejected.iter().map(|r| r.reason.clone()).collect();
    assert_eq!(reasons, ["the time entry is someone else's"]);
    let (price, parent): (i64, Uuid) =
        sqlx::query_as("select price_cents, consultation_id from options where id = $1")
            .bind(Uuid::from_u128(7))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((price, parent), (150_000, k));
    // A deleted option stays deleted.
    tech.mutate(delete(Entity::Option, Uuid::from_u128(7))).await;
    tech.mutate(option(k, 175_000)).await;
    tech.sync().await;
    let reasons: Vec<String> = tech.engine.state().rejected.iter().map(|r| r.reason.clone()).collect();
    assert_eq!(reasons, ["the option belongs to another consultation", "the option was deleted"]);
    let category: String = sqlx::query_scalar("select category from time_entries where id = $1")
        .bind(Uuid::from_u128(8))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(category, "on_site");
}

#[tokio::test]
async fn an_activity_whose_id_is_taken_is_rejected_alone_in_a_run_of_activities() {
    // A run of activities is inserted in one statement; a taken id fails that attempt and the
    // careful one must name the right mutation and apply the others.
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let (_, _, k) = new_consultation(&mut tech).await;
    let (taken, m) = activity(k);
    tech.mutate(m).await;
    tech.sync().await;
    let again = |id| match activity(k).1 {
        app::sync::mutation::Mutation::ActivityLog(a) => {
            app::sync::mutation::Mutation::ActivityLog(app::sync::mutation::ActivityLog { id, ..a })
        }
        _ => unreachable!(),
    };
    let (first, m) = activity(k);
    tech.mutate(m).await;
    tech.mutate(again(taken)).await;
    let (last, m) = activity(k);
    tech.mutate(m).await;
    tech.sync().await;
    let rejected = &tech.engine.state().rejected;
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].reason, format!("a record with id {taken} already exists"));
    for id in [first, last] {
        assert_eq!(count(&app, &format!("select count(*) from activities where id = '{id}'")).await, 1);
    }
    // The same when the run ends before another mutation rather than with the push.
    tech.mutate(again(first)).await;
    tech.mutate(update(k, 0, json!({ "notes": "after the calls" }))).await;
    tech.sync().await;
    let rejected = &tech.engine.state().rejected;
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[1].reason, format!("a record with id {first} already exists"));
    assert_eq!(
        count(
            &app,
            &format!("select count(*) from consultations where id = '{k}' and notes = 'after the calls'")
        )
        .await,
        1
    );
}

/// The consultation a push has read stays known through its later mutations, but not past a
/// change that takes the actor's sight of it away: a rep who hands a quote on to another rep
/// cannot write to it later in the same push.
#[tokio::test]
async fn a_rep_who_hands_a_quote_on_cannot_write_to_it_later_in_the_same_push() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut rep = co.device(&app, "r@acme.test", Role::SalesRep).await;
    let other = co.device(&app, "r2@acme.test", Role::SalesRep).await;
    let (_, _, k) = new_consultation(&mut tech).await;
    tech.mutate(assign_rep(k, 0, rep.user_id)).await;
    tech.sync().await;
    rep.sync().await;
    assert!(rep.has(Entity::Consultation, k));

    let base = rep.revision_of(Entity::Consultation, k);
    rep.mutate(assign_rep(k, base, other.user_id)).await;
    let (call, m) = activity(k);
    rep.mutate(m).await;
    rep.push_all().await.unwrap();

    let rejected = &rep.engine.state().rejected;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].mutation.id, 2);
    assert!(rejected[0].reason.contains("not yours"), "{}", rejected[0].reason);
    assert_eq!(count(&app, &format!("select count(*) from activities where id = '{call}'")).await, 0);
    let owner: Option<uuid::Uuid> =
        sqlx::query_scalar("select sales_rep_id from consultations where id = $1")
            .bind(k)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(owner, Some(other.user_id), "the hand-over itself applied");
}

/// A push holds the rows it creates (activities, options, follow-ups, time entries) and writes
/// them together. Deciding a quote in the same push must still close the follow-up it scheduled
/// and mark the option it sold, exactly as when they came in earlier pushes.
#[tokio::test]
async fn a_quote_decided_in_the_push_that_scheduled_its_follow_up_closes_it_and_marks_the_sold_option() {
    use app::sync::mutation::{FollowupSchedule, Mutation, OptionUpsert, Outcome, SetOutcome};
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let followup = |consultation_id| {
        let id = Uuid::now_v7();
        let m = Mutation::FollowupSchedule(FollowupSchedule {
            id,
            consultation_id,
            due_at: Utc::now() + chrono::Duration::days(1),
            assignee_id: None,
            note: "call back".into(),
        });
        (id, m)
    };
    let decided_at = Utc::now();
    let option_id = Uuid::now_v7();

    // Won: a follow-up and the sold option, both new in this push.
    let (_, _, won) = new_consultation(&mut tech).await;
    let (f_won, m) = followup(won);
    tech.mutate(m).await;
    tech.mutate(Mutation::OptionUpsert(OptionUpsert {
        id: option_id,
        consultation_id: won,
        tier: "Best".into(),
        position: 0,
        line_items: vec![],
        price_cents: app::domain::Cents(900_000),
        financing_plan: None,
        monthly_payment_cents: None,
        presented: false,
    }))
    .await;
    tech.mutate(Mutation::SetOutcome(SetOutcome {
        id: won,
        outcome: Outcome::Won { option_id: Some(option_id), amount_cents: app::domain::Cents(900_000) },
        at: decided_at,
    }))
    .await;
    // Lost, in the same push: its follow-up closes too; another quote's stays open.
    let (_, _, lost) = new_consultation(&mut tech).await;
    let (f_lost, m) = followup(lost);
    tech.mutate(m).await;
    let (_, _, open) = new_consultation(&mut tech).await;
    let (f_open, m) = followup(open);
    tech.mutate(m).await;
    tech.mutate(Mutation::SetOutcome(SetOutcome {
        id: lost,
        outcome: Outcome::Lost { reason: "price".into(), competitor: None, note: None },
        at: decided_at,
    }))
    .await;
    tech.sync().await;
    assert!(tech.engine.state().rejected.is_empty(), "{:?}", tech.engine.state().rejected);

    let done = |id: Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<chrono::DateTime<Utc>>>(
                "select done_at from followups where id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let micros = |t: chrono::DateTime<Utc>| t.timestamp_micros();
    assert_eq!(done(f_won).await.map(micros), Some(micros(decided_at)));
    assert_eq!(done(f_lost).await.map(micros), Some(micros(decided_at)));
    assert_eq!(done(f_open).await, None);
    let (presented, sold_option): (bool, Option<Uuid>) = sqlx::query_as(
        "select o.presented, c.sold_option_id from options o join consultations c on c.id = o.consultation_id
         where o.id = $1",
    )
    .bind(option_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((presented, sold_option), (true, Some(option_id)));
}

/// A value Postgres cannot store (a NUL anywhere, a time in no plausible year) rejects only its
/// own mutation, with a reason that names the field; the push answers 200, a retry of it is a
/// plain replay, and the device's later writes still sync.
#[tokio::test]
async fn a_nul_or_an_impossible_date_rejects_its_mutation_alone_and_never_blocks_the_device() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let (_, _, k) = new_consultation(&mut tech).await;
    tech.push_all().await.unwrap();
    let kept = Uuid::now_v7();
    let customer = |name: &str| json!({ "id": Uuid::now_v7(), "name": name });
    let mut ignored_nul = customer("Ignored Field");
    ignored_nul["not_a_field"] = json!({ "deep": ["fine", "has\u{0}nul"] });
    let year = |y| chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let at = |ts: chrono::DateTime<Utc>| json!({ "id": Uuid::now_v7(), "consultation_id": k, "kind": "call", "at": ts });
    let envelopes = vec![
        envelope(4, "customer.create", customer("Nul\u{0}Name")),
        envelope(5, "customer.create", ignored_nul),
        envelope(
            6,
            "consultation.update_fields",
            json!({ "id": k, "base_version": 1, "fields": { "notes": "bell\u{7}" } }),
        ),
        envelope(
            7,
            "consultation.update_fields",
            json!({ "id": k, "base_version": 1, "fields": { "home": { "k\u{0}": 1 } } }),
        ),
        envelope(8, "activity.log", at(year(50_000))),
        json!({ "id": 9, "name": "customer.create", "args": customer("Old Clock"), "client_ts": year(-5000) }),
        envelope(10, "customer.create", json!({ "id": kept, "name": "Kept Fine" })),
    ];
    let body = json!({ "client_id": tech.engine.client_id(), "schema_version": 1, "mutations": envelopes });
    let url = app.url("/api/sync/push");
    for attempt in 0..2 {
        let resp = tech.http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 200, "attempt {attempt}");
        let resp: PushResponse = resp.json().await.unwrap();
        assert_eq!(resp.last_mutation_id, 10);
        if attempt == 1 {
            assert!(resp.results.is_empty(), "a retry is a replay: {:?}", resp.results);
            continue;
        }
        let errors: Vec<String> = resp.results.iter().map(|r| r.error.clone().unwrap_or_default()).collect();
        let says = [
            "name: must not contain control characters",
            "args.not_a_field.deep[1] contains a NUL character",
            "notes: must not contain control characters (found U+0007)",
            "home: must not contain control characters (found U+0000)",
            "at: must be a date between 1900 and 2200",
            "client_ts: must be a date between 1900 and 2200",
            "",
        ];
        for (error, says) in errors.iter().zip(says) {
            assert!(error.contains(says), "{error:?} should say {says:?}");
        }
        assert_eq!(resp.results[6].status, MutationStatus::Applied);
    }
    // Kept with their reasons, in a form the log can hold.
    let logged: Vec<(String, Value)> = sqlx::query_as(
        "select status, args from mutation_log where mutation_id between 4 and 10 order by mutation_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(logged.len(), 7);
    assert_eq!(logged[0].1["name"], "Nul\u{FFFD}Name");
    // The device's next write syncs.
    let mut tech = crate::device::Device::new(&app, tech.http.clone(), tech.user_id).await;
    let (c, m) = crate::sync_fixtures::customer("After");
    tech.mutate(m).await;
    tech.sync().await;
    assert!(tech.has(Entity::Customer, c) && tech.has(Entity::Customer, kept));
}

/// `base_version` is the row's revision: a base the row never had (a company version sent by
/// mistake) is rejected with its reason instead of silently skipping the conflict record.
#[tokio::test]
async fn a_base_version_that_is_not_a_revision_of_the_row_is_rejected() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let (_, _, k) = new_consultation(&mut tech).await;
    tech.sync().await;
    let revision = tech.revision_of(Entity::Consultation, k);
    let version = tech.engine.state().cookie.unwrap().version;
    assert!(version > revision, "the company version is not the row's revision");
    tech.mutate(update(k, version, json!({ "notes": "sent against the version" }))).await;
    tech.mutate(update(k, revision, json!({ "problem": "sent against the revision" }))).await;
    tech.sync().await;
    let rejected = &tech.engine.state().rejected;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(rejected[0].reason.contains("is not a revision of this consultation"), "{}", rejected[0].reason);
    let row = tech.row(Entity::Consultation, k).unwrap();
    assert_eq!(row["problem"], "sent against the revision");
    assert_ne!(row["notes"], "sent against the version");
}
