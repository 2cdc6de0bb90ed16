//! Changing your own password, and a manager's one-time reset link.

use crate::helpers::{error_message, spawn_app, PASSWORD};
use app::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

const NEW: &str = "a brand new long passphrase";

#[tokio::test]
async fn a_person_changes_their_password_and_their_other_devices_are_signed_out() {
    let app = spawn_app().await;
    let company = app.create_company("Acme").await;
    let (phone, _) = app.signed_in(company, "tech@acme.test", Role::Technician).await;
    let tablet = app.client();
    app.login(&tablet, "tech@acme.test", PASSWORD).await;

    let wrong = phone
        .post(app.url("/api/me/password"))
        .json(&json!({ "current_password": "not it at all", "new_password": NEW }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["field"], "current_password");
    let weak = phone
        .post(app.url("/api/me/password"))
        .json(&json!({ "current_password": PASSWORD, "new_password": "short" }))
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = weak.json().await.unwrap();
    assert_eq!(body["error"]["field"], "new_password");

    let ok = phone
        .post(app.url("/api/me/password"))
        .json(&json!({ "current_password": PASSWORD, "new_password": NEW }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        phone.get(app.url("/api/me")).send().await.unwrap().status(),
        StatusCode::OK,
        "this device stays in"
    );
    assert_eq!(
        tablet.get(app.url("/api/me")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "the others are out"
    );
    assert_eq!(app.login(&app.client(), "tech@acme.test", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&app.client(), "tech@acme.test", NEW).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reset_link_works_once_for_its_person_and_only_a_companys_manager_makes_one() {
    let app = spawn_app().await;
    let company = app.create_company("Acme").await;
    let other = app.create_company("Other").await;
    let (manager, _) = app.signed_in(company, "boss@acme.test", Role::Manager).await;
    let (tech, tech_id) = app.signed_in(company, "tech@acme.test", Role::Technician).await;
    let (stranger, _) = app.signed_in(other, "boss@other.test", Role::Manager).await;

    let url = app.url(&format!("/api/users/{tech_id}/password-reset"));
    assert_eq!(tech.post(&url).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(stranger.post(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let first: Value = manager.post(&url).send().await.unwrap().json().await.unwrap();
    let link: Value = manager.post(&url).send().await.unwrap().json().await.unwrap();
    let token = |l: &Value| l["url"].as_str().unwrap().split("token=").nth(1).unwrap().to_string();
    assert!(link["url"].as_str().unwrap().contains("/reset?token="));

    let reset = |token: String, password: &'static str| {
        app.client()
            .post(app.url("/api/password-reset"))
            .json(&json!({ "token": token, "password": password }))
            .send()
    };
    let replaced = reset(token(&first), NEW).await.unwrap();
    assert_eq!(replaced.status(), StatusCode::GONE, "a newer link replaces the older");
    let weak = reset(token(&link), "short").await.unwrap();
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY, "a weak password leaves the link usable");
    let done = reset(token(&link), NEW).await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let me: Value = done.json().await.unwrap();
    assert_eq!(me["email"], "tech@acme.test");
    assert_eq!(
        tech.get(app.url("/api/me")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "old sessions end"
    );
    let again = reset(token(&link), NEW).await.unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(error_message(again).await.contains("no longer works"));
    assert_eq!(app.login(&app.client(), "tech@acme.test", NEW).await.status(), StatusCode::OK);
}
