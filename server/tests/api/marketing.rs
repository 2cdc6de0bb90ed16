//! Marketing spend: entered and imported by managers, refused with reasons, and divided by what
//! it bought, per source and campaign, for the month the leads came in.

use crate::{
    helpers::{error_message, spawn_app},
    sync_fixtures::{activity, customer, update, won, Company},
};
use app::{domain::Role, sync::mutation::*};
use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

fn lead(customer_id: Uuid, source: &str, campaign: Option<&str>) -> (Uuid, Mutation) {
    let id = Uuid::now_v7();
    let m = LeadCreate {
        id,
        customer_id,
        source: source.into(),
        service_type: "hvac".into(),
        created_at: Utc::now(),
        first_contact_at: Some(Utc::now()),
        campaign: campaign.map(str::to_string),
        ..Default::default()
    };
    (id, Mutation::LeadCreate(m))
}

fn row<'a>(report: &'a Value, source: &str, campaign: Option<&str>) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["month"].is_null() && r["source"] == source && r["campaign"].as_str() == campaign)
        .unwrap_or_else(|| panic!("no row for {source} {campaign:?} in {report}"))
}

#[tokio::test]
async fn spend_is_divided_by_the_leads_consultations_and_sales_it_bought() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;
    let (boss, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;

    // Three Google Ads leads this month (two from the "furnace" campaign), one referral.
    let mut consultations = vec![];
    for (name, source, campaign) in [
        ("Ann Lee", "google_ads", Some("furnace")),
        ("Bo Chan", "google_ads", Some("furnace")),
        ("Cy Diaz", "google_ads", None),
        ("Di Evans", "referral", None),
    ] {
        let (c, m) = customer(name);
        tech.mutate(m).await;
        let (l, m) = lead(c, source, campaign);
        tech.mutate(m).await;
        let k = Uuid::now_v7();
        tech.mutate(Mutation::ConsultationCreate(ConsultationCreate {
            id: k,
            lead_id: l,
            ..Default::default()
        }))
        .await;
        consultations.push(k);
    }
    // The first furnace lead is visited and sold; the referral is visited, not sold yet.
    for &k in [consultations[0], consultations[3]].iter() {
        tech.mutate(update(k, 0, json!({ "held_at": Utc::now() }))).await;
        tech.mutate(activity(k).1).await;
    }
    tech.mutate(won(consultations[0], 900_000)).await;
    tech.sync().await;

    let month = Utc::now().format("%Y-%m").to_string();
    for (source, campaign, cents) in [("google_ads", "", 60_000), ("google_ads", "furnace", 90_000)] {
        let resp = boss
            .put(app.url("/api/marketing-spend"))
            .json(&json!({ "month": month, "source": source, "campaign": campaign, "amount_cents": cents }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    }
    let csv = format!("month,source,campaign,amount\n{month},Referral,,\"$1,200.00\"\n");
    let imported: Value = boss
        .post(app.url("/api/marketing-spend/import"))
        .header("content-type", "text/csv")
        .body(csv.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (imported["imported"].as_u64(), imported["errors"].as_array().map(Vec::len)),
        (Some(1), Some(0))
    );
    // The same file again replaces, never doubles.
    boss.post(app.url("/api/marketing-spend/import"))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();

    let report: Value =
        boss.get(app.url("/api/analytics/marketing")).send().await.unwrap().json().await.unwrap();
    let google = row(&report, "google_ads", None);
    assert_eq!(google["spend_cents"], 150_000);
    assert_eq!(google["leads"], 3);
    assert_eq!(google["cost_per_lead_cents"], 50_000);
    assert_eq!(
        (google["consultation"]["hits"].as_u64(), google["consultation"]["n"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(google["cost_per_consultation"]["cents"], 150_000);
    let (low, high) = (
        google["cost_per_consultation"]["low_cents"].as_i64(),
        google["cost_per_consultation"]["high_cents"].as_i64(),
    );
    assert!(low.unwrap() < 150_000 && 150_000 < high.unwrap(), "{google}");
    assert_eq!(google["cost_per_sale"]["cents"], 150_000);
    assert_eq!(google["revenue_cents"], 900_000);
    assert_eq!(google["return_on_spend"], 6.0);
    let furnace = row(&report, "google_ads", Some("furnace"));
    assert_eq!((furnace["spend_cents"].as_i64(), furnace["leads"].as_u64()), (Some(90_000), Some(2)));
    assert_eq!(furnace["cost_per_lead_cents"], 45_000);
    let referral = row(&report, "referral", None);
    assert_eq!((referral["spend_cents"].as_i64(), referral["leads"].as_u64()), (Some(120_000), Some(1)));
    assert_eq!(referral["cost_per_sale"]["cents"], Value::Null, "nothing sold yet: no cost per sale");
    assert_eq!(referral["still_open"], 1.0, "its quote is still open");
    assert!(report["rows"].as_array().unwrap().iter().any(|r| r["month"] == month.as_str()));

    // Another company sees none of it.
    let other = Company::new(&app, "Other Co").await;
    let (rival, _) = app.signed_in(other.id, "boss@other.test", Role::Manager).await;
    let theirs: Value =
        rival.get(app.url("/api/marketing-spend")).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs, json!([]));
}

#[tokio::test]
async fn bad_spend_is_refused_with_its_reason_and_nothing_written() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let (boss, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let (tech, _) = app.signed_in(co.id, "tech@acme.test", Role::Technician).await;
    for (field, body) in [
        ("month", json!({ "month": "November", "source": "referral", "amount_cents": 100 })),
        ("source", json!({ "month": "2026-11", "source": "billboards", "amount_cents": 100 })),
        ("amount_cents", json!({ "month": "2026-11", "source": "referral", "amount_cents": -5 })),
        (
            "campaign",
            json!({ "month": "2026-11", "source": "referral", "campaign": "a\u{7}b", "amount_cents": 5 }),
        ),
    ] {
        let resp = boss.put(app.url("/api/marketing-spend")).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 422, "{body}");
        let error: Value = resp.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let csv = "month,source,amount\n2026-10,referral,100\n2026-11,billboards,50\n2026-12,referral,lots\n";
    let resp = boss
        .post(app.url("/api/marketing-spend/import"))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let report: Value = resp.json().await.unwrap();
    let lines: Vec<u64> =
        report["errors"].as_array().unwrap().iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [3, 4]);
    let wrong = boss
        .post(app.url("/api/marketing-spend/import"))
        .header("content-type", "text/csv")
        .body("when,where\n1,2\n")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    assert!(error_message(wrong).await.contains("unknown column"));
    let stored = crate::sync_fixtures::count(&app, "select count(*) from marketing_spend").await;
    assert_eq!(stored, 0, "an import with any bad row writes nothing");
    let resp = tech.get(app.url("/api/marketing-spend")).send().await.unwrap();
    assert_eq!(resp.status(), 403);
}
