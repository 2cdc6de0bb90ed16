//! Analytics over HTTP against real Postgres: numbers follow what devices pushed (and change
//! when they push more), bad requests get a 400 that says what to fix, only managers see them,
//! and one company never sees another's.

use crate::{
    helpers::{error_message, spawn_app, spawn_app_with, OtherProcess, TestApp},
    sync_fixtures::{activity, held_consultation, new_consultation, update, won, Company},
};
use app::domain::Role;
use chrono::{Duration, Utc};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

fn today() -> String {
    // Demo-less test companies default to America/Chicago; a range of the last 3 days covers
    // "today" there whatever the UTC hour.
    (Utc::now() + Duration::days(1)).date_naive().to_string()
}

fn from() -> String {
    (Utc::now() - Duration::days(3)).date_naive().to_string()
}

/// Acme with a technician's device and a signed-in manager, the cast of most tests here.
async fn acme(app: &TestApp) -> (Company, crate::device::Device, Client) {
    let co = Company::new(app, "Acme").await;
    let tech = co.device(app, "tech@acme.test", Role::Technician).await;
    let (manager, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    (co, tech, manager)
}

/// GETs `path` and returns its JSON body, which must come with a 200.
async fn get_json(app: &TestApp, http: &Client, path: &str) -> Value {
    let resp = http.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.json().await.unwrap()
}

async fn dashboard(app: &TestApp, http: &Client) -> Value {
    get_json(app, http, &format!("/api/analytics/dashboard?from={}&to={}", from(), today())).await
}

fn kpi<'a>(d: &'a Value, key: &str) -> &'a Value {
    d["headline"].as_array().unwrap().iter().find(|k| k["key"] == key).unwrap()
}

#[tokio::test]
async fn the_dashboard_counts_what_devices_pushed_and_follows_new_pushes() {
    let app = spawn_app().await;
    let (_, mut tech, manager) = acme(&app).await;

    // Two consultations held; one won on the spot.
    let (_, _, k1) = new_consultation(&mut tech).await;
    let (_, _, k2) = new_consultation(&mut tech).await;
    for k in [k1, k2] {
        tech.mutate(update(k, 0, json!({ "held_at": Utc::now() }))).await;
        tech.mutate(activity(k).1).await;
    }
    tech.mutate(won(k1, 1_250_000)).await;
    tech.sync().await;

    let d = dashboard(&app, &manager).await;
    let close = kpi(&d, "close_rate");
    assert_eq!(close["rate"]["hits"], 1);
    assert_eq!(close["rate"]["n"], 2);
    assert_eq!(close["rate"]["too_small"], true);
    assert_eq!(d["close_rate"]["first_visit"]["hits"], 1);
    assert_eq!(d["revenue"]["revenue_cents"], 1_250_000);
    assert_eq!(d["win_rate"]["count"]["hits"], 1);
    assert_eq!(d["win_rate"]["count"]["n"], 1);
    assert_eq!(d["speed_to_lead"]["contacted"], 2, "the first call stops the clock");
    for s in d["funnel"]["stages"].as_array().unwrap() {
        let parts = ["advanced", "lost", "moved_back", "still_in"]
            .iter()
            .map(|k| s[k].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(s["entries"].as_u64().unwrap(), parts);
    }

    // A later push shows up on the next request (the facts refresh by version).
    tech.mutate(won(k2, 800_000)).await;
    tech.sync().await;
    let d = dashboard(&app, &manager).await;
    assert_eq!(kpi(&d, "close_rate")["rate"]["hits"], 2);
    assert_eq!(d["revenue"]["revenue_cents"], 2_050_000);

    // Breakdown by technician names the person; CSV export has a header and a row.
    let path = format!("/api/analytics/breakdown?dimension=technician&from={}&to={}", from(), today());
    let rows = get_json(&app, &manager, &path).await;
    assert_eq!(rows[0]["won"], 2);
    assert!(rows[0]["key"].as_str().unwrap().contains("tech"), "{rows}");
    let csv = manager
        .get(app.url(&format!("/api/analytics/export/breakdown-technician?from={}&to={}", from(), today())))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = csv.text().await.unwrap();
    assert!(body.starts_with("technician,held,close_rate"), "{body}");
    assert_eq!(body.lines().count(), 2);
    let raw =
        manager.get(app.url("/api/analytics/export/events")).send().await.unwrap().text().await.unwrap();
    assert!(raw.contains(",won,"), "raw events export carries the won events: {raw}");
}

#[tokio::test]
async fn only_managers_see_numbers_and_only_their_companys() {
    let app = spawn_app().await;
    let acme = Company::new(&app, "Acme").await;
    let mut tech = acme.device(&app, "tech@acme.test", Role::Technician).await;
    let k = held_consultation(&mut tech).await;
    tech.mutate(won(k, 500_000)).await;
    tech.sync().await;

    let other = Company::new(&app, "Other").await;
    let (other_manager, _) = app.signed_in(other.id, "boss@other.test", Role::Manager).await;
    let d = dashboard(&app, &other_manager).await;
    assert_eq!(d["revenue"]["revenue_cents"], 0, "another company's wins never show");
    assert_eq!(kpi(&d, "close_rate")["rate"]["n"], 0);
    let raw = other_manager
        .get(app.url("/api/analytics/export/consultations"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(raw.lines().count(), 1, "only the header: {raw}");

    let resp = tech.http.get(app.url("/api/analytics/dashboard")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let page = tech.http.get(app.url("/reports")).send().await.unwrap();
    assert!(page.status().is_redirection(), "a technician is sent back to the app");
    assert_eq!(page.headers()["location"], "/");
    let anonymous = app.client().get(app.url("/api/analytics/dashboard")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_report_requests_say_what_to_fix() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let (m, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    for (query, says) in [
        ("/api/analytics/dashboard?from=yesterday", "from: expected a date like 2026-03-01"),
        ("/api/analytics/dashboard?from=2026-05-01&to=2026-04-01", "is after to"),
        ("/api/analytics/dashboard?period=fortnight", "period: week, month, quarter or year"),
        ("/api/analytics/dashboard?technician=bob", "technician: expected a person's id"),
        ("/api/analytics/breakdown?dimension=colour", "dimension: technician, rep, source, service or tier"),
        ("/api/analytics/export/everything", "unknown export"),
    ] {
        let resp = m.get(app.url(query)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{query}");
        let msg = error_message(resp).await;
        assert!(msg.contains(says), "{query}: {msg}");
    }
}

#[tokio::test]
async fn settings_and_process_changes_round_trip_and_validate() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let (m, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let defaults: Value = get_json(&app, &m, "/api/analytics/settings").await;
    assert_eq!(defaults["stale_days"], 45);
    assert_eq!(defaults["targets"]["close_rate"], 0.6);

    let bad =
        m.put(app.url("/api/analytics/settings")).json(&json!({ "stale_days": 0 })).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(bad).await.contains("stale_days"));
    let unknown =
        m.put(app.url("/api/analytics/settings")).json(&json!({ "stail_days": 30 })).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST, "a misspelt key is refused, not ignored");

    let ok = m
        .put(app.url("/api/analytics/settings"))
        .json(&json!({ "stale_days": 30, "sold_threshold_cents": { "hvac": 50000 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let now: Value = get_json(&app, &m, "/api/analytics/settings").await;
    assert_eq!(now["stale_days"], 30);
    assert_eq!(now["close_window_days"], 60, "keys left out keep their defaults");

    let bad = m
        .post(app.url("/api/analytics/changes"))
        .json(&json!({ "name": " ", "changed_on": "2026-03-01" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let bad = m
        .post(app.url("/api/analytics/changes"))
        .json(&json!({ "name": "Script", "changed_on": "March" }))
        .send()
        .await
        .unwrap();
    assert!(error_message(bad).await.contains("changed_on"));
    let made = m
        .post(app.url("/api/analytics/changes"))
        .json(&json!({ "name": "New price book", "changed_on": "2026-03-01" }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let d = dashboard(&app, &m).await;
    assert_eq!(d["before_after"][0]["change"], "New price book");

    // Whatever a person types is shown as text on the report page, never run as markup.
    let hostile = m
        .post(app.url("/api/analytics/changes"))
        .json(&json!({ "name": "<script>alert('x')</script> & co", "changed_on": "2026-02-01" }))
        .send()
        .await
        .unwrap();
    assert_eq!(hostile.status(), StatusCode::CREATED);

    let page = m.get(app.url("/reports")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for text in [
        "Close rate",
        "Funnel and leaks",
        "New price book",
        "Cohorts",
        "Time to close",
        "Definition",
        "Business time",
        "Never contacted",
    ] {
        assert!(html.contains(text), "the report page shows {text}");
    }
    assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; co"), "escaped: {html}");
    assert!(!html.contains("<script>alert"), "a typed name never becomes a script");
    assert!(html.contains(r#"<script src="/reports.js" defer></script>"#), "the page's script is a file");
}

const HISTORY: &str = "\
customer_name,external_id,created_at,source,service_type,phone,first_contact_at,consultation_at,technician_email,options_presented,quoted_amount,outcome,decided_at,sold_amount,lost_reason,closed_by_email
Ann Lee,X-1,2025-03-01T09:00:00-06:00,website,hvac,(512) 555-0143,2025-03-01T09:10:00-06:00,2025-03-04T10:00:00-06:00,tech@acme.test,3,\"$12,000.00\",won,2025-03-04T15:00:00-06:00,11500,,rep@acme.test
Bo Diaz,X-2,2025-03-02T09:00:00-06:00,referral,plumbing,,,2025-03-05T10:00:00-06:00,tech@acme.test,2,4000,lost,2025-03-20T10:00:00-06:00,,price,
Cy Fox,X-3,2025-03-03T09:00:00-06:00,google_ads,hvac,,,,,,,open,,,,
";

async fn import(app: &TestApp, m: &Client, csv: &str, dry_run: bool) -> (StatusCode, Value) {
    let resp = m
        .post(app.url(&format!("/api/analytics/import?dry_run={dry_run}")))
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

#[tokio::test]
async fn history_imports_all_or_nothing_and_only_once() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let (m, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    app.create_user(co.id, "tech@acme.test", Role::Technician).await;
    app.create_user(co.id, "rep@acme.test", Role::SalesRep).await;
    app.create_user(co.id, "other@acme.test", Role::Technician).await;
    let leads = || crate::sync_fixtures::count(&app, "select count(*) from leads");

    let (status, dry) = import(&app, &m, HISTORY, true).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!((dry["rows"].as_u64(), dry["imported"].as_u64()), (Some(3), Some(3)));
    assert_eq!(leads().await, 0, "a dry run writes nothing");

    // One bad row among good ones: every problem by line, nothing written.
    let bad = format!(
        "{HISTORY}Di Ng,X-4,yesterday,carrier_pigeon,hvac,,,,,,,lost,,,,\nAnn Lee,X-1,2025-03-01T09:00:00-06:00,website,hvac,,,,,,,open,,,,\n"
    );
    let (status, report) = import(&app, &m, &bad, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = report["errors"].as_array().unwrap();
    let on_line = |n: u64| {
        errors.iter().filter(|e| e["line"] == n).map(|e| e["message"].as_str().unwrap()).collect::<Vec<_>>()
    };
    let line5 = on_line(5).join(" | ");
    for says in ["created_at", "source", "decided_at", "lost_reason"] {
        assert!(line5.contains(says), "line 5 explains {says}: {line5}");
    }
    assert!(on_line(6)[0].contains("appears twice"), "{errors:?}");
    assert_eq!(leads().await, 0, "nothing is half-imported");

    // Values the app's own forms would refuse: an id too long, a year no business has, an amount
    // whose sum would overflow the reports.
    let long_id = "X".repeat(101);
    let out_of_range = format!(
        "{HISTORY}Ed Ray,{long_id},2025-03-01T09:00:00-06:00,website,hvac,,,,,,,open,,,,\n\
         Flo Wu,X-7,0300-03-01T09:00:00-06:00,website,hvac,,,,,,,open,,,,\n\
         Gus Li,X-8,2025-03-01T09:00:00-06:00,website,hvac,,,2025-03-04T10:00:00-06:00,tech@acme.test,1,\
         92233720368547758,won,2025-03-04T15:00:00-06:00,92233720368547758,,rep@acme.test\n\
         Hal Oz,X-9,2025-03-01T09:00:00-06:00,website,hvac,,,2025-03-04T10:00:00-06:00,tech@acme.test,5,\
         100,won,2025-03-04T15:00:00-06:00,100,,other@acme.test\n"
    );
    let (status, report) = import(&app, &m, &out_of_range, true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = report["errors"].as_array().unwrap();
    let on_line = |n: u64| {
        errors
            .iter()
            .filter(|e| e["line"] == n)
            .map(|e| e["message"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(on_line(5).contains("external_id: must be at most 100 characters"), "{errors:?}");
    assert!(on_line(6).contains("is not between 1900 and 2200"), "{errors:?}");
    assert!(on_line(7).contains("quoted_amount") && on_line(7).contains("sold_amount"), "{errors:?}");
    assert!(on_line(8).contains("options_presented: \"5\" is not a number from 0 to 4"), "{errors:?}");
    assert!(on_line(8).contains("a technician can close only their own consultation"), "{errors:?}");

    let (status, done) = import(&app, &m, HISTORY, false).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["imported"], 3);
    assert_eq!(leads().await, 3);
    let (_, again) = import(&app, &m, HISTORY, false).await;
    assert_eq!((again["imported"].as_u64(), again["already_imported"].as_u64()), (Some(0), Some(3)));
    assert_eq!(leads().await, 3, "re-importing changes nothing");

    // Written as devices write: each presented option kept (its tier unknown), and every write
    // in the mutation log, from the manager's import client and each closer's.
    let count = |sql: &'static str| crate::sync_fixtures::count(&app, sql);
    assert_eq!(count("select count(*) from options where presented and tier = 'Unknown'").await, 5);
    assert_eq!(
        count("select count(*) from consultations where sales_rep_id is not null").await,
        1,
        "handed to the rep"
    );
    assert_eq!(count("select count(*) from mutation_log where status <> 'applied'").await, 0);
    assert_eq!(count("select count(distinct client_id) from mutation_log").await, 3);

    // The baseline counts: March 2025 — one won (the day it was held), one lost.
    let d = get_json(&app, &m, "/api/analytics/dashboard?from=2025-03-01&to=2025-03-31").await;
    assert_eq!(d["win_rate"]["count"]["hits"], 1);
    assert_eq!(d["win_rate"]["count"]["n"], 2);
    assert_eq!(d["close_rate"]["first_visit"]["hits"], 1, "won the day it was held");
    assert_eq!(d["revenue"]["revenue_cents"], 1_150_000);
    assert_eq!(d["speed_to_lead"]["median_seconds"], 600);
    let reps =
        get_json(&app, &m, "/api/analytics/breakdown?dimension=rep&from=2025-03-01&to=2025-03-31").await;
    assert!(
        reps.as_array().unwrap().iter().any(|r| r["won"] == 1 && r["key"].as_str().unwrap().contains("rep")),
        "{reps}"
    );

    let tech = app.signed_in(co.id, "tech2@acme.test", Role::Technician).await.0;
    let resp = tech.post(app.url("/api/analytics/import")).body(HISTORY).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

/// With a memory budget too small for any company (`FactsCache`, ADR 0064), every company still
/// gets its own right numbers, folded again for each report, and a new push shows at once.
#[tokio::test]
async fn over_the_memory_budget_every_company_still_gets_its_numbers() {
    let app = spawn_app_with(|c| c.analytics_memory_bytes = 1).await;
    let mut managers = vec![];
    for (name, amount) in [("Acme", 1_250_000), ("Globex", 800_000)] {
        let co = Company::new(&app, name).await;
        let mut tech = co.device(&app, &format!("tech@{name}.test"), Role::Technician).await;
        let (manager, _) = app.signed_in(co.id, &format!("boss@{name}.test"), Role::Manager).await;
        let k = held_consultation(&mut tech).await;
        tech.mutate(won(k, amount)).await;
        tech.sync().await;
        managers.push((manager, amount, tech, co));
    }
    for _ in 0..2 {
        for (manager, amount, _, _) in &managers {
            let d = dashboard(&app, manager).await;
            assert_eq!(d["revenue"]["revenue_cents"], *amount);
        }
    }
    let (manager, _, tech, _) = &mut managers[0];
    let k = held_consultation(tech).await;
    tech.mutate(won(k, 100)).await;
    tech.sync().await;
    assert_eq!(dashboard(&app, manager).await["revenue"]["revenue_cents"], 1_250_100);
}

/// The version of the company's stored snapshot of its facts (ADR 0065), once it is past `after`.
async fn stored_snapshot(app: &TestApp, company: uuid::Uuid, after: i64) -> i64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let version: Option<i64> =
            sqlx::query_scalar("select version from analytics_snapshots where company_id = $1")
                .bind(company)
                .fetch_optional(&app.pool)
                .await
                .unwrap();
        if let Some(version) = version.filter(|v| *v > after) {
            return version;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the facts' snapshot was not written past {after} in 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Facts come back from their stored snapshot (ADR 0065): a new process's first dashboard reads
/// them instead of folding every lead, re-folds only the leads changed since, and a snapshot it
/// cannot read (another codec) is ignored for a fold.
#[tokio::test]
async fn a_new_process_reads_the_stored_facts_and_folds_only_what_changed_since() {
    let app = spawn_app().await;
    let (co, mut tech, manager) = acme(&app).await;
    let k = held_consultation(&mut tech).await;
    tech.mutate(won(k, 1_250_000)).await;
    tech.sync().await;
    assert_eq!(dashboard(&app, &manager).await["revenue"]["revenue_cents"], 1_250_000);
    // The first fold is written at once, off the request path, at the version it is exact at.
    let first = stored_snapshot(&app, co.id, 0).await;

    // Behind the facts' back, a change no version records (no device can make one): a fold
    // would see it, facts read from the snapshot do not. That tells the two apart below.
    sqlx::query(
        "update stage_events set details = details || '{\"amount_cents\": 999}' where company_id = $1 and kind = 'won'",
    )
    .bind(co.id)
    .execute(&app.pool)
    .await
    .unwrap();
    // A change that does take a version: the new process re-folds that lead on top.
    let k2 = held_consultation(&mut tech).await;
    tech.mutate(won(k2, 100)).await;
    tech.sync().await;

    let dashboard_of = |process: &OtherProcess| {
        let url = process.url(&format!("/api/analytics/dashboard?from={}&to={}", from(), today()));
        let manager = manager.clone();
        async move {
            let resp = manager.get(url).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.json::<Value>().await.unwrap()
        }
    };
    let other = app.another_process().await;
    let d = dashboard_of(&other).await;
    assert_eq!(d["revenue"]["revenue_cents"], 1_250_100, "the stored facts, and the new lead re-folded");
    assert_eq!(d["revenue"]["won"], 2);
    // It adds the re-folded chunks to the snapshot it read, which is now exact at a later version.
    stored_snapshot(&app, co.id, first).await;

    // A snapshot in a codec this build does not read is ignored: the next process folds.
    sqlx::query("update analytics_snapshots set format = format + 1000 where company_id = $1")
        .bind(co.id)
        .execute(&app.pool)
        .await
        .unwrap();
    let third = app.another_process().await;
    let d = dashboard_of(&third).await;
    assert_eq!(d["revenue"]["revenue_cents"], 999 + 100, "folded from the rows");
}

/// The close-probability page (issue 24): with few decisions it says it uses the base rate and
/// why, lists the company's open quotes (never another company's) with the base rate, and only
/// managers see it.
#[tokio::test]
async fn the_close_model_page_falls_back_to_the_base_rate_and_lists_only_our_open_quotes() {
    let app = spawn_app().await;
    let (_, mut tech, manager) = acme(&app).await;
    let sold = held_consultation(&mut tech).await;
    tech.mutate(won(sold, 500_000)).await;
    let open = held_consultation(&mut tech).await;
    tech.sync().await;
    let other = Company::new(&app, "Globex").await;
    let mut their_tech = other.device(&app, "tech@globex.test", Role::Technician).await;
    let (their_manager, _) = app.signed_in(other.id, "boss@globex.test", Role::Manager).await;
    let theirs = held_consultation(&mut their_tech).await;
    their_tech.sync().await;

    let page = get_json(&app, &manager, "/api/analytics/close-model").await;
    assert_eq!(page["card"]["uses_model"], false);
    assert_eq!(page["card"]["decided"], 1);
    assert_eq!(page["card"]["base_rate"], 1.0);
    let reason = page["card"]["reason"].as_str().unwrap();
    assert!(reason.contains("1 decided consultations so far") && reason.contains("needs 300"), "{reason}");
    assert_eq!(page["open_quotes"], 1);
    assert_eq!(page["top"][0]["consultation_id"], open.to_string());
    assert_eq!(page["top"][0]["probability"], 1.0);
    assert_eq!(page["top"][0]["technician"], "Person tech@acme.test");
    assert_eq!(page["top"][0]["factors"], json!([]));

    let theirs_page = get_json(&app, &their_manager, "/api/analytics/close-model").await;
    assert_eq!(theirs_page["open_quotes"], 1);
    assert_eq!(theirs_page["top"][0]["consultation_id"], theirs.to_string());
    assert_eq!(theirs_page["card"]["decided"], 0);

    let resp = tech.http.get(app.url("/api/analytics/close-model")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(error_message(resp).await.contains("Only managers"));

    // The model's page says the same in words; a technician is sent to the app instead.
    let html = manager.get(app.url("/reports/close-model")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("No: every open quote gets the base rate, 100.0%"), "{html}");
    assert!(html.contains("1 open quotes, worth $0"), "{html}");
    let resp = tech.http.get(app.url("/reports/close-model")).send().await.unwrap();
    assert!(resp.url().path() == "/" || resp.status().is_redirection(), "{}", resp.url());
}

/// Coaching effects (issue 24) count the company's own held consultations on each side of each
/// behaviour, say an empty side has no difference, and are for managers only.
#[tokio::test]
async fn coaching_effects_count_our_held_consultations_on_each_side() {
    let app = spawn_app().await;
    let (_, mut tech, manager) = acme(&app).await;
    for amount in [Some(400_000), None] {
        let k = held_consultation(&mut tech).await;
        if let Some(amount) = amount {
            // The sale had its data plate photographed (a checklist step done).
            let done = json!({ "checklist": { "photos": { "state": "done", "note": "" } } });
            tech.mutate(update(k, 0, done)).await;
            tech.mutate(won(k, amount)).await;
        }
    }
    tech.sync().await;
    let other = Company::new(&app, "Globex").await;
    let mut their_tech = other.device(&app, "tech@globex.test", Role::Technician).await;
    held_consultation(&mut their_tech).await;
    their_tech.sync().await;

    let c =
        get_json(&app, &manager, &format!("/api/analytics/coaching?from={}&to={}", from(), today())).await;
    let effects = c["effects"].as_array().unwrap();
    // The fixed three, then the one checklist step done in the range.
    assert_eq!(effects.len(), 4, "{c}");
    assert_eq!(effects[2]["behaviour"], "Financing offered");
    let step = &effects[3];
    assert!(step["behaviour"].as_str().unwrap().starts_with("Checklist: "), "{step}");
    assert_eq!((step["with_n"].as_u64(), step["with_closed"].as_u64()), (Some(1), Some(1)));
    assert_eq!((step["without_n"].as_u64(), step["without_closed"].as_u64()), (Some(1), Some(0)));
    assert_eq!(c["technicians"][0]["shares"].as_array().unwrap().len(), 4);
    let options = &effects[0];
    assert_eq!(options["behaviour"], "Three or more options presented");
    assert_eq!((options["without_n"].as_u64(), options["without_closed"].as_u64()), (Some(2), Some(1)));
    assert_eq!(options["with_n"], 0);
    assert!(options["difference"].is_null() && options["p_value"].is_null());
    assert_eq!(options["flagged"], false);
    assert!(c["note"].as_str().unwrap().contains("not proof of a cause"));
    assert_eq!(c["technicians"][0]["technician"], "Person tech@acme.test");
    assert_eq!(c["technicians"][0]["held"], 2);
    assert_eq!(c["technicians"][0]["opportunities"], json!([]));
    let html = manager.get(app.url("/reports/coaching")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("What goes with closing") && html.contains("Could be chance"), "{html}");
    assert!(html.contains("Person tech@acme.test · 2 visits"), "{html}");

    let resp = tech.http.get(app.url("/api/analytics/coaching")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = manager.get(app.url("/api/analytics/coaching?from=yesterday")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

/// The process map (issue 24) is the company's own leads' events in the order they happened,
/// read from the facts, filtered as the dashboard is, and equal to the graph of the raw events.
#[tokio::test]
async fn the_process_map_follows_our_leads_events_in_order() {
    let app = spawn_app().await;
    let (co, mut tech, manager) = acme(&app).await;
    let k = held_consultation(&mut tech).await;
    tech.mutate(won(k, 400_000)).await;
    // A second lead from another source that went nowhere yet.
    let (c, m) = crate::sync_fixtures::customer("Bo Diaz");
    tech.mutate(m).await;
    let (_, mut m) = crate::sync_fixtures::lead(c);
    if let app::sync::mutation::Mutation::LeadCreate(l) = &mut m {
        l.source = "referral".into();
    }
    tech.mutate(m).await;
    tech.sync().await;
    let other = Company::new(&app, "Globex").await;
    let mut their_tech = other.device(&app, "tech@globex.test", Role::Technician).await;
    new_consultation(&mut their_tech).await;
    their_tech.sync().await;

    let range = format!("from={}&to={}", from(), today());
    let map = get_json(&app, &manager, &format!("/api/analytics/process-map?{range}")).await;
    assert_eq!(map["graph"]["leads"], 2, "{map}");
    assert_eq!(map["graph"]["main_path_share"], 0.5, "{map}");

    // The oracle: the graph of the stage events as Postgres has them, in time then commit order.
    let rows: Vec<(uuid::Uuid, String, chrono::DateTime<Utc>)> = sqlx::query_as(
        "select e.lead_id, e.kind, e.occurred_at from stage_events e
         where e.company_id = $1 and not e.deleted order by e.lead_id, e.occurred_at, e.version",
    )
    .bind(co.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut paths: Vec<Vec<(server::analytics::facts::EventKind, i64)>> = vec![];
    let mut current = None;
    for (lead, kind, at) in rows {
        if current != Some(lead) {
            current = Some(lead);
            paths.push(vec![]);
        }
        let kind = server::analytics::facts::EventKind::parse(&kind).unwrap();
        paths.last_mut().unwrap().push((kind, at.timestamp()));
    }
    let paths: Vec<_> = paths.into_iter().map(server::analytics::facts::path).collect();
    let oracle = server::analytics::process_map::build(paths.iter().map(|p| &p[..]));
    assert_eq!(map["graph"], serde_json::to_value(&oracle).unwrap());

    // The dashboard's filters: only the website lead, whose path ends in a sale.
    let map = get_json(&app, &manager, &format!("/api/analytics/process-map?{range}&source=website")).await;
    assert_eq!(map["graph"]["leads"], 1, "{map}");
    let path: Vec<&str> =
        map["graph"]["main_path"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(path.first(), Some(&"lead_created"), "{map}");
    assert_eq!(path.last(), Some(&"won"), "{map}");
    let edges = map["graph"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), path.len() - 1);
    assert!(edges.iter().all(|e| e["count"] == 1 && e["share"] == 1.0 && e["rework"] == false), "{map}");
    // The funnel's four stages, with the dashboard's own figures.
    let dashboard =
        get_json(&app, &manager, &format!("/api/analytics/dashboard?{range}&source=website")).await;
    let leaks = map["leaks"].as_array().unwrap();
    assert_eq!(leaks.len(), 4);
    for (leak, stage) in leaks.iter().zip(dashboard["funnel"]["stages"].as_array().unwrap()) {
        assert_eq!(
            (&leak["stage"], &leak["entries"], &leak["lost"]),
            (&stage["name"], &stage["entries"], &stage["lost"])
        );
    }
    assert_eq!(leaks[0]["from"], "lead_created");

    // The page draws it, with the filters kept.
    let html = manager
        .get(app.url(&format!("/reports/process-map?{range}&source=website")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<svg") && html.contains("Main path") && html.contains("Every step"), "{html}");
    assert!(html.contains(r#"<option selected>website</option>"#), "{html}");

    let resp = tech.http.get(app.url("/api/analytics/process-map")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = tech.http.get(app.url("/reports/process-map")).send().await.unwrap();
    assert!(resp.url().path() == "/" || resp.status().is_redirection(), "{}", resp.url());
    let resp = manager.get(app.url("/api/analytics/process-map?source=web&from=bad")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

/// The quarterly review (issue 24): two quarters side by side, the map, changes and coaching, for
/// managers; and a technician's own coaching page, which shows only their own figures.
#[tokio::test]
async fn the_quarterly_review_compares_quarters_and_a_technician_sees_only_their_own_coaching() {
    let app = spawn_app().await;
    let (co, mut tech, manager) = acme(&app).await;
    let idle = co.device(&app, "idle@acme.test", Role::Technician).await;
    let k = held_consultation(&mut tech).await;
    tech.mutate(won(k, 400_000)).await;
    tech.sync().await;

    // Test companies are in America/Chicago.
    use chrono::Datelike;
    let day = Utc::now().with_timezone(&chrono_tz::America::Chicago).date_naive();
    let (year, number) = (day.year(), day.month0() / 3 + 1);
    let previous = if number == 1 { format!("Q4 {}", year - 1) } else { format!("Q{} {year}", number - 1) };
    let page = |path: String| {
        let http = manager.clone();
        let url = app.url(&path);
        async move {
            let resp = http.get(url).send().await.unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let (status, html) = page(format!("/reports/quarterly?quarter={year}-Q{number}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("Quarterly review, Q{number} {year}")), "{html}");
    for part in
        [previous.as_str(), "Headline KPIs", "<svg", "Leaks", "Before / after", "What goes with closing"]
    {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert!(html.contains("Person tech@acme.test · 1 visits"), "coaching per person: {html}");
    // Without a quarter: the last one that has ended.
    let (status, html) = page("/reports/quarterly".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("Quarterly review, {previous}")), "{html}");
    let (status, body) = page("/reports/quarterly?quarter=2026-Q5".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("expected a quarter like 2026-Q3"), "{body}");

    // A technician: sent away from the review, shown their own coaching.
    let resp = tech.http.get(app.url("/reports/quarterly")).send().await.unwrap();
    assert!(resp.url().path() == "/" || resp.status().is_redirection(), "{}", resp.url());
    let resp = tech.http.get(app.url("/me/coaching?technician=anyone")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Your biggest opportunities") && html.contains("1 visit held"), "{html}");
    assert!(html.contains("What goes with closing"), "{html}");
    let html = idle.http.get(app.url("/me/coaching")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("No visits of yours were held"), "{html}");
    let resp = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/me/coaching"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection(), "signed out: {}", resp.status());
}

/// The rep's queue is valued by the close model's scores (issue 24): each person gets the open
/// quotes synced to them, a manager the company's, never another company's, with the model named.
#[tokio::test]
async fn quote_scores_cover_the_quotes_a_person_may_see_and_name_their_model() {
    let app = spawn_app().await;
    let (co, mut tech, manager) = acme(&app).await;
    let mut other_tech = co.device(&app, "tech2@acme.test", Role::Technician).await;
    let mine = held_consultation(&mut tech).await;
    tech.sync().await;
    let theirs = held_consultation(&mut other_tech).await;
    other_tech.sync().await;
    let globex = Company::new(&app, "Globex").await;
    let mut their_tech = globex.device(&app, "tech@globex.test", Role::Technician).await;
    let elsewhere = held_consultation(&mut their_tech).await;
    their_tech.sync().await;

    let ids = |v: &Value| -> Vec<String> {
        v["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["consultation_id"].as_str().unwrap().to_string())
            .collect()
    };
    let scores = get_json(&app, &tech.http, "/api/quote-scores").await;
    assert_eq!(ids(&scores), [mine.to_string()], "{scores}");
    // Two held consultations and no decision: the base rate, and it says so.
    assert_eq!(scores["uses_model"], false);
    assert!(scores["model_version"].as_str().unwrap().starts_with("base rate of "), "{scores}");
    assert_eq!(scores["scores"][0]["probability"], scores["base_rate"]);

    let all = get_json(&app, &manager, "/api/quote-scores").await;
    let mut expected = vec![mine.to_string(), theirs.to_string()];
    expected.sort();
    assert_eq!(ids(&all), expected, "{all}");
    assert!(!ids(&all).contains(&elsewhere.to_string()));

    // The reports page names the model its company-wide pipeline comes from.
    let html = manager.get(app.url("/reports")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"data-testid="pipeline-model">base rate of "#), "{html}");

    let resp = Client::new().get(app.url("/api/quote-scores")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
