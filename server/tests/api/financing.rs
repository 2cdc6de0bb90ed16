//! Financing plans are the company's own: managers set lenders and terms, every device gets
//! them, and an option financed on one carries that plan's payment or is refused with why.

use crate::{
    helpers::spawn_app,
    sync_fixtures::{new_consultation, Company},
};
use app::{
    domain::{pricing::PlanTerms, Cents, Role},
    sync::{
        mutation::{LineItem, Mutation, OptionUpsert},
        protocol::Entity,
    },
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

fn greensky() -> Value {
    json!({ "lender": "GreenSky", "apr_bps": 999, "months": 60, "min_amount_cents": 500_000, "promo_months": 12 })
}

fn financed(consultation: Uuid, price: i64, code: &str, monthly: Cents) -> Mutation {
    Mutation::OptionUpsert(OptionUpsert {
        id: Uuid::now_v7(),
        consultation_id: consultation,
        tier: "Better".into(),
        position: 1,
        line_items: vec![LineItem {
            price_book_item_id: None,
            description: "Heat pump, installed".into(),
            quantity: 1,
            unit_price_cents: Cents(price),
            discount_cents: Cents(0),
        }],
        price_cents: Cents(price),
        financing_plan: Some(code.into()),
        monthly_payment_cents: Some(monthly),
        presented: false,
    })
}

#[tokio::test]
async fn a_companys_plan_reaches_devices_and_prices_its_options() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let (manager, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;

    let resp = manager.post(app.url("/api/financing-plans")).json(&greensky()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let plan: Value = resp.json().await.unwrap();
    let code = plan["code"].as_str().unwrap().to_string();
    assert!(code.starts_with("greensky_60m_999_"), "{code}");
    let id: Uuid = plan["id"].as_str().unwrap().parse().unwrap();
    tech.sync().await;
    assert_eq!(tech.row(Entity::FinancingPlan, id).unwrap()["min_amount_cents"], 500_000);

    let terms = PlanTerms { apr_bps: 999, months: 60 };
    let (_, _, visit) = new_consultation(&mut tech).await;
    tech.mutate(financed(visit, 1_000_000, &code, terms.monthly_payment(Cents(1_000_000)))).await;
    tech.mutate(financed(visit, 400_000, &code, terms.monthly_payment(Cents(400_000)))).await;
    tech.sync().await;
    let reasons: Vec<&str> = tech.engine.state().rejected.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons, ["financing_plan: GreenSky finances from $5,000.00; this option is $4,000.00"]);

    // New terms apply to options sent from now on; one sent with the old payment says why.
    let mut longer = greensky();
    longer["months"] = json!(120);
    let resp =
        manager.put(app.url(&format!("/api/financing-plans/{id}"))).json(&longer).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], code, "the code never changes");
    tech.mutate(financed(visit, 1_000_000, &code, terms.monthly_payment(Cents(1_000_000)))).await;
    tech.sync().await;
    let last = tech.engine.state().rejected.last().unwrap().reason.clone();
    assert!(last.starts_with("monthly_payment_cents: must be") && last.contains("120 months"), "{last}");

    let resp = manager.delete(app.url(&format!("/api/financing-plans/{id}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    tech.sync().await;
    assert!(!tech.has(Entity::FinancingPlan, id));
}

#[tokio::test]
async fn plans_are_checked_field_by_field_and_stay_inside_their_company() {
    let app = spawn_app().await;
    let acme = app.create_company("Acme").await;
    let other = app.create_company("Other").await;
    let (manager, _) = app.signed_in(acme, "boss@acme.test", Role::Manager).await;
    let (tech, _) = app.signed_in(acme, "tech@acme.test", Role::Technician).await;
    let (stranger, _) = app.signed_in(other, "boss@other.test", Role::Manager).await;
    for (field, value) in [
        ("lender", json!(" ")),
        ("apr_bps", json!(10_000)),
        ("months", json!(0)),
        ("promo_months", json!(200)),
        ("min_amount_cents", json!(-1)),
    ] {
        let mut bad = greensky();
        bad[field] = value;
        let resp = manager.post(app.url("/api/financing-plans")).json(&bad).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(resp.json::<Value>().await.unwrap()["error"]["field"], field);
    }
    let plan: Value = manager
        .post(app.url("/api/financing-plans"))
        .json(&greensky())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = app.url(&format!("/api/financing-plans/{}", plan["id"].as_str().unwrap()));
    for resp in [
        tech.get(app.url("/api/financing-plans")).send().await.unwrap(),
        tech.post(app.url("/api/financing-plans")).json(&greensky()).send().await.unwrap(),
        tech.put(&url).json(&greensky()).send().await.unwrap(),
        tech.delete(&url).send().await.unwrap(),
    ] {
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let theirs: Value =
        stranger.get(app.url("/api/financing-plans")).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs, json!([]));
    assert_eq!(stranger.put(&url).json(&greensky()).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(stranger.delete(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}
