//! Inviting people by link: made by a manager, single use, expiring, revocable, company-scoped.

use crate::helpers::{error_message, spawn_app, TestApp, PASSWORD};
use app::domain::Role;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

async fn invite(app: &TestApp, manager: &Client, role: &str) -> Value {
    let resp = manager.post(app.url("/api/invites")).json(&json!({ "role": role })).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

fn token_of(invite: &Value) -> String {
    let url = invite["url"].as_str().unwrap();
    url.split("token=").nth(1).unwrap().to_string()
}

async fn accept(app: &TestApp, token: &str, email: &str) -> reqwest::Response {
    app.client()
        .post(app.url("/api/invites/accept"))
        .json(&json!({ "token": token, "name": "Tess Tech", "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invited_technician_joins_once_with_the_invites_role() {
    let app = spawn_app().await;
    let company = app.create_company("Acme").await;
    let (manager, _) = app.signed_in(company, "boss@acme.test", Role::Manager).await;

    let made = invite(&app, &manager, "technician").await;
    let url = made["url"].as_str().unwrap();
    assert!(url.contains("/join?token="), "{url}");
    assert!(made["qr_svg"].as_str().unwrap().starts_with("<?xml"), "a QR code to scan");
    let listed: Value = manager.get(app.url("/api/invites")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("url").is_none(), "the link is shown once: only its hash is kept");
    let stored: Vec<u8> =
        sqlx::query_scalar("select token_hash from invites").fetch_one(&app.pool).await.unwrap();
    assert_ne!(stored, token_of(&made).as_bytes(), "stored hashed");

    let token = token_of(&made);
    let preview: Value = app
        .client()
        .get(app.url(&format!("/api/invites/preview?token={token}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (preview["company_name"].as_str(), preview["role"].as_str()),
        (Some("Acme"), Some("technician"))
    );

    let joined = accept(&app, &token, "tess@acme.test").await;
    assert_eq!(joined.status(), StatusCode::CREATED);
    let me: Value = joined.json().await.unwrap();
    assert_eq!((me["role"].as_str(), me["company_name"].as_str()), (Some("technician"), Some("Acme")));

    // Single use: a second person with the same link is told it was used, and nothing is made.
    let again = accept(&app, &token, "someone@else.test").await;
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(error_message(again).await.contains("already used"));
    let gone =
        app.client().get(app.url(&format!("/api/invites/preview?token={token}"))).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    let people: i64 = sqlx::query_scalar("select count(*) from users").fetch_one(&app.pool).await.unwrap();
    assert_eq!(people, 2);
    let pending: Value = manager.get(app.url("/api/invites")).send().await.unwrap().json().await.unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn revoked_expired_and_unknown_links_say_why_and_make_nobody() {
    let app = spawn_app().await;
    let company = app.create_company("Acme").await;
    let (manager, _) = app.signed_in(company, "boss@acme.test", Role::Manager).await;

    let revoked = invite(&app, &manager, "sales_rep").await;
    let id = revoked["id"].as_str().unwrap();
    let resp = manager.delete(app.url(&format!("/api/invites/{id}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = accept(&app, &token_of(&revoked), "rita@acme.test").await;
    assert_eq!(resp.status(), StatusCode::GONE);
    assert!(error_message(resp).await.contains("withdrawn"));

    let expired = invite(&app, &manager, "technician").await;
    sqlx::query("update invites set expires_at = now() - interval '1 minute' where id = $1::text::uuid")
        .bind(expired["id"].as_str().unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    let resp = accept(&app, &token_of(&expired), "ed@acme.test").await;
    assert_eq!(resp.status(), StatusCode::GONE);
    assert!(error_message(resp).await.contains("expired"));

    let resp = accept(&app, "not-a-real-token", "x@acme.test").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let people: i64 = sqlx::query_scalar("select count(*) from users").fetch_one(&app.pool).await.unwrap();
    assert_eq!(people, 1, "only the manager");

    // A taken email leaves the invite unused for the right person.
    let fresh = invite(&app, &manager, "technician").await;
    let resp = accept(&app, &token_of(&fresh), "boss@acme.test").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(accept(&app, &token_of(&fresh), "tess@acme.test").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn only_a_companys_managers_invite_and_revoke_and_only_their_own() {
    let app = spawn_app().await;
    let acme = app.create_company("Acme").await;
    let other = app.create_company("Other").await;
    let (manager, _) = app.signed_in(acme, "boss@acme.test", Role::Manager).await;
    let (tech, _) = app.signed_in(acme, "tech@acme.test", Role::Technician).await;
    let (stranger, _) = app.signed_in(other, "boss@other.test", Role::Manager).await;

    for (who, client) in [("technician", &tech)] {
        let resp =
            client.post(app.url("/api/invites")).json(&json!({ "role": "manager" })).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{who} invites");
        assert_eq!(client.get(app.url("/api/invites")).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    }
    let resp = manager.post(app.url("/api/invites")).json(&json!({ "role": "owner" })).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let made = invite(&app, &manager, "technician").await;
    let id = made["id"].as_str().unwrap();
    let listed: Value = stranger.get(app.url("/api/invites")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 0, "another company's invites are not listed");
    let resp = stranger.delete(app.url(&format!("/api/invites/{id}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "nor revocable by it");
    let resp = tech.delete(app.url(&format!("/api/invites/{id}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(accept(&app, &token_of(&made), "tess@acme.test").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_join_form_works_without_script_and_lands_on_the_first_tab() {
    let app = spawn_app().await;
    let company = app.create_company("Acme").await;
    let (manager, _) = app.signed_in(company, "boss@acme.test", Role::Manager).await;
    let token = token_of(&invite(&app, &manager, "sales_rep").await);
    let browser = app.client();
    let page = browser.get(app.url(&format!("/join?token={token}"))).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the join page is open to the invited");

    let form =
        [("token", token.as_str()), ("name", "Rita Rep"), ("email", "rita@acme.test"), ("password", "short")];
    let resp = browser.post(app.url("/api/invites/accept")).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let back = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        back.starts_with("/join?") && back.contains("password") && back.contains("rita%40acme.test"),
        "{back}"
    );
    assert!(!back.contains("short"), "{back}");

    let form = [
        ("token", token.as_str()),
        ("name", "Rita Rep"),
        ("email", "rita@acme.test"),
        ("password", PASSWORD),
    ];
    let resp = browser.post(app.url("/api/invites/accept")).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/queue?welcome=1");
    assert_eq!(browser.get(app.url("/api/me")).send().await.unwrap().status(), StatusCode::OK);
}
