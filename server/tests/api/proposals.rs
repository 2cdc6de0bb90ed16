//! The customer's copy of a proposal: a link that opens without an account, shows what the
//! customer signed (option, lines, discounts, financing with its terms, the company's terms,
//! printed name and signature), is the same link each time, ends when revoked, and is made only
//! by someone who may see the consultation.

use crate::{
    helpers::spawn_app,
    sync_fixtures::{new_consultation, update, Company},
};
use app::{
    domain::{pricing::PlanTerms, Cents, Role},
    sync::{
        mutation::{AttachmentAdd, LineItem, Mutation, OptionUpsert, Outcome, SetOutcome},
        protocol::Entity,
    },
};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

fn option(consultation: Uuid, tier: &str, position: u8, plan: Option<(&str, Cents)>) -> (Uuid, Mutation) {
    let id = Uuid::now_v7();
    let lines = vec![
        LineItem {
            price_book_item_id: None,
            description: format!("{tier} heat pump, installed"),
            quantity: 1,
            unit_price_cents: Cents(1_000_000),
            // Custom lines take no discount (the domain's tests print discounts).
            discount_cents: Cents(0),
        },
        LineItem {
            price_book_item_id: None,
            description: "Smart thermostat".into(),
            quantity: 2,
            unit_price_cents: Cents(20_000),
            discount_cents: Cents(0),
        },
    ];
    let m = Mutation::OptionUpsert(OptionUpsert {
        id,
        consultation_id: consultation,
        tier: tier.into(),
        position,
        line_items: lines,
        price_cents: Cents(1_040_000),
        financing_plan: plan.map(|p| p.0.to_string()),
        monthly_payment_cents: plan.map(|p| p.1),
        presented: true,
    });
    (id, m)
}

/// `POST /api/proposals` for `consultation` (an id, or anything a client might send).
async fn ask_link(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    consultation: Value,
) -> reqwest::Response {
    client
        .post(app.url("/api/proposals"))
        .json(&json!({ "consultation_id": consultation }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_customer_opens_their_signed_proposal_at_a_link_only_people_in_sight_can_make() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let (manager, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let (other_tech, _) = app.signed_in(co.id, "tech2@acme.test", Role::Technician).await;
    let stranger = Company::new(&app, "Other").await;
    let (outsider, _) = app.signed_in(stranger.id, "boss@other.test", Role::Manager).await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;

    let mut profile: Value = manager.get(app.url("/api/company")).send().await.unwrap().json().await.unwrap();
    profile["trades"] = json!(["hvac"]);
    profile["proposal_terms"] = json!("50% deposit on acceptance.\nLicense #HVAC-123.");
    let resp = manager.put(app.url("/api/company")).json(&profile).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{}", resp.text().await.unwrap());
    profile["proposal_terms"] = json!("bell \u{7}");
    let resp = manager.put(app.url("/api/company")).json(&profile).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "control characters are refused");
    let plan: Value = manager
        .post(app.url("/api/financing-plans"))
        .json(&json!({ "lender": "GreenSky", "apr_bps": 999, "months": 60, "min_amount_cents": 100_000, "promo_months": 0 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = plan["code"].as_str().unwrap().to_string();
    let monthly = PlanTerms { apr_bps: 999, months: 60 }.monthly_payment(Cents(1_040_000));

    let (_, _, visit) = new_consultation(&mut tech).await;
    let (_, good) = option(visit, "Good", 0, None);
    let (best_id, best) = option(visit, "Best", 2, Some((&code, monthly)));
    tech.mutate(good).await;
    tech.mutate(best).await;
    tech.sync().await;
    assert!(tech.engine.state().rejected.is_empty(), "{:?}", tech.engine.state().rejected);

    // Before it is signed: a link for review shows every option, no signature.
    let resp = ask_link(&app, &tech.http, json!(visit)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let path = resp.json::<Value>().await.unwrap()["path"].as_str().unwrap().to_string();
    assert!(path.starts_with("/p/") && path.len() == 3 + 43, "{path}");
    let anonymous = reqwest::Client::new();
    let page = anonymous.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Proposal for your review") && html.contains("Ann Lee") && html.contains("12 Elm St"),
        "{html}"
    );
    assert!(html.contains("Good heat pump") && html.contains("Best heat pump"));
    assert!(html.contains("50% deposit on acceptance."));
    assert!(
        html.contains(&format!("{monthly}/month for 60 months at 9.99% APR")),
        "financing with its terms"
    );

    // Signed: the printed name, the signature and the sale.
    let png = b"\x89PNG\r\n\x1a\n-a-signature-".to_vec();
    let sha: String = Sha256::digest(&png).iter().map(|b| format!("{b:02x}")).collect();
    let resp = tech
        .http
        .put(app.url(&format!("/api/blobs/{sha}")))
        .header(header::CONTENT_TYPE, "image/png")
        .body(png)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let base = tech.revision_of(Entity::Consultation, visit);
    tech.mutate(Mutation::AttachmentAdd(AttachmentAdd {
        id: Uuid::now_v7(),
        consultation_id: visit,
        kind: "signature".into(),
        sha256: sha,
        content_type: "image/png".into(),
        byte_size: 23,
    }))
    .await;
    tech.mutate(update(visit, base, json!({ "signed_name": "Ann B. Lee" }))).await;
    tech.mutate(Mutation::SetOutcome(SetOutcome {
        id: visit,
        outcome: Outcome::Won { option_id: Some(best_id), amount_cents: Cents(1_040_000) },
        at: chrono::Utc::now(),
    }))
    .await;
    tech.sync().await;
    assert!(tech.engine.state().rejected.is_empty(), "{:?}", tech.engine.state().rejected);

    let again = ask_link(&app, &tech.http, json!(visit)).await;
    assert_eq!(again.json::<Value>().await.unwrap()["path"], path, "the same link each time");
    let html = anonymous.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Signed proposal") && html.contains("Ann B. Lee"), "{html}");
    assert!(html.contains("Best heat pump") && !html.contains("Good heat pump"), "only the option bought");
    assert!(html.contains("$10,400.00") && html.contains("$200.00"), "the total and a line's price");
    assert!(html.contains("data:image/png;base64,"), "the signature travels inside the page");

    // Only people who may see the consultation make links; other companies cannot even tell.
    for client in [&other_tech, &outsider] {
        let resp = ask_link(&app, client, json!(visit)).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let resp = client.delete(app.url(&format!("/api/proposals/{visit}"))).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
    let resp = ask_link(&app, &manager, json!(visit)).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["path"], path);

    // Revoked: the link ends; a new one is new.
    let resp = manager.delete(app.url(&format!("/api/proposals/{visit}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let gone = anonymous.get(app.url(&path)).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert!(gone.text().await.unwrap().contains("no longer opens a proposal"));
    let fresh = ask_link(&app, &tech.http, json!(visit)).await;
    assert_ne!(fresh.json::<Value>().await.unwrap()["path"], path);

    // Bad input: a guessed or malformed token is a plain 404 page; a bad body a clear 4xx.
    for bad in ["/p/nope", "/p/%00", &format!("/p/{}", "A".repeat(43))] {
        let resp = anonymous.get(app.url(bad)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    let resp = ask_link(&app, &tech.http, json!("x")).await;
    assert!(resp.status().is_client_error());
}
