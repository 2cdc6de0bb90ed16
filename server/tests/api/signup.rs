//! `POST /api/signup`: a company signs itself up and its first manager is signed in.

use crate::helpers::{spawn_app, spawn_app_with, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn owner(email: &str) -> Value {
    json!({
        "company_name": "  Polar   Air & Plumbing ",
        "trades": ["plumbing", "hvac"],
        "time_zone": "America/Denver",
        "name": "Pat Owner",
        "email": email,
        "password": PASSWORD,
        "starter": true,
    })
}

#[tokio::test]
async fn an_owner_signs_the_company_up_and_is_signed_in_as_its_manager() {
    let app = spawn_app().await;
    let browser = app.client();
    let resp = browser.post(app.url("/api/signup")).json(&owner("Pat@Polar.test")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["role"], "manager");
    assert_eq!(me["company_name"], "Polar Air & Plumbing");
    assert_eq!(me["email"], "pat@polar.test");

    // Signed in: the session cookie works at once.
    let again: Value = browser.get(app.url("/api/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["user_id"], me["user_id"]);
    let company: (String, String, Vec<String>) =
        sqlx::query_as("select name, time_zone, trades from companies where id = $1::text::uuid")
            .bind(me["company_id"].as_str().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        company,
        ("Polar Air & Plumbing".into(), "America/Denver".into(), vec!["hvac".into(), "plumbing".into()])
    );

    // The starter price book holds the company's trades only, and a checklist to edit.
    let services: Vec<String> = sqlx::query_scalar(
        "select distinct service_type from price_book_items where company_id = $1::text::uuid order by 1",
    )
    .bind(me["company_id"].as_str().unwrap())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(services, ["hvac", "plumbing", "water_heater"]);
    let checklists: i64 =
        sqlx::query_scalar("select count(*) from checklist_templates where company_id = $1::text::uuid")
            .bind(me["company_id"].as_str().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(checklists, 1);

    // Without the starter: an empty price book.
    let mut bare = owner("solo@sparks.test");
    bare["starter"] = json!(false);
    bare["trades"] = json!(["electrical"]);
    let resp = app.client().post(app.url("/api/signup")).json(&bare).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let me: Value = resp.json().await.unwrap();
    let items: i64 =
        sqlx::query_scalar("select count(*) from price_book_items where company_id = $1::text::uuid")
            .bind(me["company_id"].as_str().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(items, 0);
}

#[tokio::test]
async fn a_bad_sign_up_names_its_field_and_writes_nothing() {
    let app = spawn_app().await;
    let cases = [
        ("company_name", json!("   ")),
        ("trades", json!([])),
        ("trades", json!(["roofing"])),
        ("time_zone", json!("Mars/Olympus")),
        ("name", json!("")),
        ("email", json!("not-an-email")),
        ("password", json!("short")),
        ("password", json!("password1234")),
    ];
    for (field, value) in cases {
        let mut body = owner("pat@polar.test");
        body[field] = value.clone();
        let resp = app.client().post(app.url("/api/signup")).json(&body).send().await.unwrap();
        assert!(resp.status().is_client_error(), "{field} = {value}: {}", resp.status());
        let error: Value = resp.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{field} = {value}: {error}");
    }
    let companies: i64 =
        sqlx::query_scalar("select count(*) from companies").fetch_one(&app.pool).await.unwrap();
    assert_eq!(companies, 0, "nothing written");
}

#[tokio::test]
async fn a_taken_email_is_refused_without_saying_whose_it_is() {
    let app = spawn_app().await;
    let first =
        app.client().post(app.url("/api/signup")).json(&owner("pat@polar.test")).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let mut second = owner("PAT@polar.test");
    second["company_name"] = json!("Another Co");
    let resp = app.client().post(app.url("/api/signup")).json(&second).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let message = crate::helpers::error_message(resp).await;
    assert!(message.contains("already has a Fieldclose account"), "{message}");
    assert!(!message.contains("Polar"), "the company is not named: {message}");
    let companies: i64 =
        sqlx::query_scalar("select count(*) from companies").fetch_one(&app.pool).await.unwrap();
    assert_eq!(companies, 1);
}

#[tokio::test]
async fn the_sign_up_form_works_without_script_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let browser = app.client();
    let page = browser.get(app.url("/signup")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the sign-up page is open to strangers");
    let form = [
        ("company_name", "Polar Air"),
        ("trades", "hvac"),
        ("trades", "electrical"),
        ("time_zone", "America/Chicago"),
        ("name", "Pat Owner"),
        ("email", "pat@polar.test"),
        ("password", "short"),
        ("starter", "on"),
    ];
    let resp = browser.post(app.url("/api/signup")).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let back = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with("/signup?"), "{back}");
    for kept in ["field=password", "company_name=Polar+Air", "trades=hvac", "trades=electrical", "starter=on"]
    {
        assert!(back.contains(kept), "{kept} in {back}");
    }
    assert!(!back.contains("short"), "the password is never sent back: {back}");

    let mut good = form.to_vec();
    good[6] = ("password", PASSWORD);
    let resp = browser.post(app.url("/api/signup")).form(&good).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/start");
    let me = browser.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "signed in");
}

#[tokio::test]
async fn sign_ups_are_throttled_like_sign_ins() {
    // Asking whether emails have accounts, one sign-up after another, is slowed down.
    let app = spawn_app_with(|c| c.login_limits.per_ip = 3).await;
    let first =
        app.client().post(app.url("/api/signup")).json(&owner("pat@polar.test")).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let mut statuses = vec![];
    for _ in 0..8 {
        let resp =
            app.client().post(app.url("/api/signup")).json(&owner("pat@polar.test")).send().await.unwrap();
        statuses.push(resp.status());
    }
    assert_eq!(statuses[0], StatusCode::CONFLICT);
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}
