use crate::helpers::{error_message, spawn_app, PASSWORD};
use app::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn new_person(email: &str, role: &str) -> Value {
    json!({ "name": "Sam Carter", "email": email, "role": role, "password": PASSWORD })
}

#[tokio::test]
async fn a_manager_adds_a_person_who_can_then_sign_in() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let (manager, manager_id) = app.signed_in(company, "m@acme.test", Role::Manager).await;

    let resp = manager
        .post(app.url("/api/users"))
        .json(&new_person("Sam@Acme.test", "sales_rep"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let member: Value = resp.json().await.unwrap();
    assert_eq!(member["email"], "sam@acme.test");
    assert_eq!(member["role"], "sales_rep");

    let created_by: Option<uuid::Uuid> =
        sqlx::query_scalar("select created_by from users where email = 'sam@acme.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(created_by, Some(manager_id));
    let hash: String = sqlx::query_scalar("select password_hash from users where email = 'sam@acme.test'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));

    let sam = app.client();
    assert_eq!(app.login(&sam, "sam@acme.test", PASSWORD).await.status(), 200);

    let team: Vec<Value> = manager.get(app.url("/api/users")).send().await.unwrap().json().await.unwrap();
    assert_eq!(team.len(), 2);
}

#[tokio::test]
async fn only_managers_manage_the_team() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    for (email, role) in [("t@acme.test", Role::Technician), ("r@acme.test", Role::SalesRep)] {
        let (client, _) = app.signed_in(company, email, role).await;
        let resp = client
            .post(app.url("/api/users"))
            .json(&new_person("x@acme.test", "manager"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{role:?}");
        assert_eq!(error_message(resp).await, "Only managers can add people.");
        assert_eq!(client.get(app.url("/api/users")).send().await.unwrap().status(), 403);
    }
    let anonymous = app.client();
    let resp = anonymous
        .post(app.url("/api/users"))
        .json(&new_person("x@acme.test", "manager"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let count: i64 = sqlx::query_scalar("select count(*) from users").fetch_one(&app.pool).await.unwrap();
    assert_eq!(count, 2, "nothing was added");
}

#[tokio::test]
async fn bad_fields_are_named_in_the_error() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let (manager, _) = app.signed_in(company, "m@acme.test", Role::Manager).await;
    let cases = [
        (json!({ "name": "  ", "email": "a@acme.test", "role": "technician", "password": PASSWORD }), "name"),
        (
            json!({ "name": "Al", "email": "not-an-email", "role": "technician", "password": PASSWORD }),
            "email",
        ),
        (json!({ "name": "Al", "email": "a@acme.test", "role": "boss", "password": PASSWORD }), "role"),
        (
            json!({ "name": "Al", "email": "a@acme.test", "role": "technician", "password": "elevenchars" }),
            "password",
        ),
        // Long enough, but among the first guesses.
        (
            json!({ "name": "Al", "email": "a@acme.test", "role": "technician", "password": "password1234" }),
            "password",
        ),
        (
            json!({ "name": "Al Rivera", "email": "arivera@acme.test", "role": "technician", "password": "arivera@acme.test" }),
            "password",
        ),
    ];
    for (body, field) in cases {
        let resp = manager.post(app.url("/api/users")).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 422, "{field}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["field"], field);
        assert!(body["error"]["message"].as_str().unwrap().starts_with(field));
    }
    let resp = manager.post(app.url("/api/users")).json(&json!({ "name": "Al" })).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(error_message(resp).await.contains("missing field"));
}

#[tokio::test]
async fn an_email_in_use_is_a_conflict() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let other = app.create_company("Other Co").await;
    app.create_user(other, "taken@other.test", Role::Technician).await;
    let (manager, _) = app.signed_in(company, "m@acme.test", Role::Manager).await;
    let resp = manager
        .post(app.url("/api/users"))
        .json(&new_person("TAKEN@other.test", "technician"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert!(error_message(resp).await.contains("already in use"));
}

#[tokio::test]
async fn one_company_cannot_read_anothers_people() {
    let app = spawn_app().await;
    let acme = app.create_company("Acme Air").await;
    let rival = app.create_company("Rival Plumbing").await;
    let acme_tech = app.create_user(acme, "t@acme.test", Role::Technician).await;
    let (rival_manager, rival_manager_id) = app.signed_in(rival, "m@rival.test", Role::Manager).await;
    let (acme_manager, _) = app.signed_in(acme, "m@acme.test", Role::Manager).await;

    // By id: another company's person is indistinguishable from one that does not exist.
    let resp = rival_manager.get(app.url(&format!("/api/users/{acme_tech}"))).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let missing =
        rival_manager.get(app.url(&format!("/api/users/{}", uuid::Uuid::now_v7()))).send().await.unwrap();
    assert_eq!(error_message(resp).await, error_message(missing).await);

    // By list: only their own.
    let team: Vec<Value> =
        rival_manager.get(app.url("/api/users")).send().await.unwrap().json().await.unwrap();
    assert_eq!(team.len(), 1);
    assert_eq!(team[0]["id"], rival_manager_id.to_string());

    // And the pages: a rival's shell never names Acme.
    let html = rival_manager.get(app.url("/team")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("Acme"));

    // The owner still sees their person.
    let resp = acme_manager.get(app.url(&format!("/api/users/{acme_tech}"))).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_deactivated_person_is_signed_out_at_once_and_can_come_back() {
    let app = spawn_app().await;
    let company = app.create_company("Acme").await;
    let (manager, _) = app.signed_in(company, "boss@acme.test", Role::Manager).await;
    let (tech, tech_id) = app.signed_in(company, "tech@acme.test", Role::Technician).await;
    let patch =
        |body: serde_json::Value| manager.patch(app.url(&format!("/api/users/{tech_id}"))).json(&body).send();

    let resp = patch(json!({ "active": false })).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let changed: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(changed["member"]["active"], false);
    assert_eq!(changed["sessions_ended"], 1);
    assert_eq!(changed["open_followups"], 0);
    // Their device is refused from its next request, and they cannot sign in again.
    assert_eq!(tech.get(app.url("/api/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let push = tech
        .post(app.url("/api/sync/push"))
        .json(&json!({ "client_id": uuid::Uuid::now_v7(), "schema_version": app::sync::protocol::SCHEMA_VERSION, "mutations": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&app.client(), "tech@acme.test", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);

    let resp = patch(json!({ "active": true })).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(app.login(&app.client(), "tech@acme.test", PASSWORD).await.status(), StatusCode::OK);

    // A new role applies at their next sign-in.
    let again = app.client();
    app.login(&again, "tech@acme.test", PASSWORD).await;
    let resp = patch(json!({ "role": "sales_rep" })).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(again.get(app.url("/api/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let me: serde_json::Value = app.login(&again, "tech@acme.test", PASSWORD).await.json().await.unwrap();
    assert_eq!(me["role"], "sales_rep");
}

#[tokio::test]
async fn a_company_keeps_an_active_manager_and_changes_stay_inside_it() {
    let app = spawn_app().await;
    let company = app.create_company("Acme").await;
    let other = app.create_company("Other").await;
    let (manager, boss) = app.signed_in(company, "boss@acme.test", Role::Manager).await;
    let (tech, tech_id) = app.signed_in(company, "tech@acme.test", Role::Technician).await;
    let (stranger, _) = app.signed_in(other, "boss@other.test", Role::Manager).await;

    for body in [json!({ "active": false }), json!({ "role": "technician" })] {
        let resp = manager.patch(app.url(&format!("/api/users/{boss}"))).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::CONFLICT, "{body}");
        assert!(error_message(resp).await.contains("only active manager"));
    }
    let resp =
        manager.patch(app.url(&format!("/api/users/{tech_id}"))).json(&json!({})).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = manager
        .patch(app.url(&format!("/api/users/{tech_id}")))
        .json(&json!({ "role": "boss" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = tech
        .patch(app.url(&format!("/api/users/{tech_id}")))
        .json(&json!({ "role": "manager" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = stranger
        .patch(app.url(&format!("/api/users/{tech_id}")))
        .json(&json!({ "active": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "another company's person is not there");
    assert_eq!(tech.get(app.url("/api/me")).send().await.unwrap().status(), StatusCode::OK, "untouched");

    // With a second manager, the first may step down.
    let resp = manager
        .patch(app.url(&format!("/api/users/{tech_id}")))
        .json(&json!({ "role": "manager" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = manager
        .patch(app.url(&format!("/api/users/{boss}")))
        .json(&json!({ "role": "sales_rep" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
