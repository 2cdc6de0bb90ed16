//! The website lead form: the only write without a signed-in person. Each refusal writes
//! nothing; a lead that is taken reaches the office's devices like any other.

use crate::{
    helpers::{error_message, spawn_app, spawn_app_with, TestApp},
    sync_fixtures::Company,
};
use app::{domain::Role, sync::protocol::Entity};
use serde_json::{json, Value};
use uuid::Uuid;

async fn key_of(app: &TestApp, company: Uuid) -> String {
    sqlx::query_scalar("select intake_key from companies where id = $1")
        .bind(company)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn leads(app: &TestApp, company: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from leads where company_id = $1")
        .bind(company)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn allow(app: &TestApp, company: Uuid, origin: &str) {
    sqlx::query("update companies set intake_origins = array[$2] where id = $1")
        .bind(company)
        .bind(origin)
        .execute(&app.pool)
        .await
        .unwrap();
}

/// A company with a manager (whom the leads are written as) and its key.
async fn company(app: &TestApp) -> (Company, String) {
    let co = Company::new(app, "Acme Air").await;
    app.create_user(co.id, "boss@acme.test", Role::Manager).await;
    let key = key_of(app, co.id).await;
    (co, key)
}

fn enquiry() -> Value {
    json!({ "name": "Rosa Diaz", "phone": "(512) 555-0143", "address": "12 Elm St", "service": "HVAC",
            "message": "Furnace makes a banging noise", "utm_source": "google", "utm_campaign": "fall-tuneup" })
}

#[tokio::test]
async fn a_web_enquiry_becomes_one_lead_that_reaches_the_office() {
    let app = spawn_app().await;
    let (co, key) = company(&app).await;
    let mut office = co.device(&app, "office@acme.test", Role::Office).await;
    let http = reqwest::Client::new();
    let url = app.url(&format!("/api/intake/{key}"));
    let resp = http.post(&url).header("Idempotency-Key", "form-1").json(&enquiry()).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let lead: Uuid = body["lead_id"].as_str().unwrap().parse().unwrap();
    // Double-submitted: the same key makes no second lead.
    let again = http.post(&url).header("Idempotency-Key", "form-1").json(&enquiry()).send().await.unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (again["lead_id"].as_str(), again["duplicate"].as_bool()),
        (Some(lead.to_string().as_str()), Some(true))
    );
    // Without a key, the same person within minutes is the same enquiry too.
    let form = [("name", "Sam Okafor"), ("email", "sam@example.com"), ("service", "plumbing")];
    let first = http.post(&url).form(&form).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.text().await.unwrap().contains("Thank you"));
    http.post(&url).form(&form).send().await.unwrap();
    assert_eq!(leads(&app, co.id).await, 2);

    office.sync().await;
    let row = office.row(Entity::Lead, lead).expect("the office's device has the lead");
    assert_eq!(row["source"], "website");
    assert_eq!(row["service_type"], "hvac");
    assert_eq!(row["campaign"], "fall-tuneup");
    assert_eq!(row["utm"]["utm_source"], "google");
    assert_eq!(row["notes"], "Furnace makes a banging noise");
    assert!(row["first_contact_at"].is_null(), "the speed-to-lead clock runs until someone answers");
    let customer: Uuid = row["customer_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(office.row(Entity::Customer, customer).unwrap()["phone"], "+15125550143");
    let events: i64 =
        sqlx::query_scalar("select count(*) from stage_events where lead_id = $1 and kind = 'lead_created'")
            .bind(lead)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn every_refused_post_says_why_and_writes_nothing() {
    let app = spawn_app().await;
    let (co, key) = company(&app).await;
    allow(&app, co.id, "https://www.acmeair.test").await;
    let http = reqwest::Client::new();
    let url = app.url(&format!("/api/intake/{key}"));

    let wrong = http
        .post(app.url("/api/intake/0123456789abcdef0123456789abcdef"))
        .json(&enquiry())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let odd = http.post(app.url("/api/intake/not-a-key")).json(&enquiry()).send().await.unwrap();
    assert_eq!(odd.status(), 404);

    let big = json!({ "name": "Rosa Diaz", "phone": "5125550143", "message": "x".repeat(17 * 1024) });
    let resp = http.post(&url).json(&big).send().await.unwrap();
    assert_eq!(resp.status(), 413);

    let elsewhere =
        http.post(&url).header("Origin", "https://evil.test").json(&enquiry()).send().await.unwrap();
    assert_eq!(elsewhere.status(), 403);
    assert!(elsewhere.headers().get("access-control-allow-origin").is_none());
    assert!(error_message(elsewhere).await.contains("Settings"));

    for (field, body) in [
        ("name", json!({ "name": "Rosa\u{7}Diaz", "phone": "5125550143" })),
        ("message", json!({ "name": "Rosa Diaz", "phone": "5125550143", "message": "m".repeat(2001) })),
        ("utm_campaign", json!({ "name": "Rosa Diaz", "phone": "5125550143", "utm_campaign": "a\u{0}b" })),
        ("phone", json!({ "name": "Rosa Diaz" })),
        ("service", json!({ "name": "Rosa Diaz", "phone": "5125550143", "service": "roofing" })),
    ] {
        let resp = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 422, "{field}");
        let error: Value = resp.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let not_json = http.post(&url).header("content-type", "text/plain").body("hello").send().await.unwrap();
    assert_eq!(not_json.status(), 415);

    // The honeypot: a bot is answered as a person would be, and nothing is kept.
    let mut bot = enquiry();
    bot["website"] = json!("http://spam.test");
    let resp = http.post(&url).json(&bot).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["lead_id"].is_null());
    assert_eq!(leads(&app, co.id).await, 0);

    // The allowed site gets its grant, on the preflight and on the answer.
    let preflight = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", "https://www.acmeair.test")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://www.acmeair.test");
    let denied = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", "https://evil.test")
        .send()
        .await
        .unwrap();
    assert!(denied.headers().get("access-control-allow-origin").is_none());
    let ok =
        http.post(&url).header("Origin", "https://www.acmeair.test").json(&enquiry()).send().await.unwrap();
    assert_eq!(ok.status(), 201);
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://www.acmeair.test");
    // A form post goes back to the site's own thank-you page; never to another site.
    let form =
        [("name", "Lee Park"), ("phone", "5125550199"), ("redirect", "https://www.acmeair.test/thanks")];
    let resp = app
        .client()
        .post(&url)
        .header("Origin", "https://www.acmeair.test")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "https://www.acmeair.test/thanks");
    assert_eq!(leads(&app, co.id).await, 2);
}

#[tokio::test]
async fn a_flood_is_throttled_per_address_and_per_key() {
    let app = spawn_app_with(|c| {
        c.intake_limits.per_ip_per_minute = 3;
        c.intake_limits.per_key_per_minute = 100;
    })
    .await;
    let (co, key) = company(&app).await;
    let http = reqwest::Client::new();
    let url = app.url(&format!("/api/intake/{key}"));
    for i in 0..3 {
        let body = json!({ "name": "Rosa Diaz", "phone": format!("51255501{i:02}") });
        assert_eq!(http.post(&url).json(&body).send().await.unwrap().status(), 201);
    }
    let resp =
        http.post(&url).json(&json!({ "name": "Rosa Diaz", "phone": "5125550199" })).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(leads(&app, co.id).await, 3);

    let app = spawn_app_with(|c| {
        c.intake_limits.per_ip_per_minute = 100;
        c.intake_limits.per_key_per_minute = 2;
    })
    .await;
    let (co, key) = company(&app).await;
    let url = app.url(&format!("/api/intake/{key}"));
    let statuses: Vec<u16> = futures_util::future::join_all((0..3).map(|i| {
        let body = json!({ "name": "Rosa Diaz", "phone": format!("51255502{i:02}") });
        let req = http.post(&url).json(&body).send();
        async move { req.await.unwrap().status().as_u16() }
    }))
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 1, "{statuses:?}");
    assert_eq!(leads(&app, co.id).await, 2);
}

#[tokio::test]
async fn a_manager_rotates_the_key_and_lists_the_sites_and_nobody_else_can() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let (boss, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let (office, _) = app.signed_in(co.id, "office@acme.test", Role::Office).await;
    let old = key_of(&app, co.id).await;
    assert_eq!(office.get(app.url("/api/intake-settings")).send().await.unwrap().status(), 403);

    let resp = boss
        .put(app.url("/api/intake-settings"))
        .json(&json!({ "allowed_origins": ["https://WWW.AcmeAir.test/", "ftp://x"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = boss
        .put(app.url("/api/intake-settings"))
        .json(&json!({ "allowed_origins": ["https://WWW.AcmeAir.test/"] }))
        .send()
        .await
        .unwrap();
    let settings: Value = resp.json().await.unwrap();
    assert_eq!(settings["allowed_origins"], json!(["https://www.acmeair.test"]));

    let http = reqwest::Client::new();
    let post = |key: String| http.post(app.url(&format!("/api/intake/{key}"))).json(&enquiry()).send();
    // The old key works (and its company is now looked up from memory)...
    assert_eq!(post(old.clone()).await.unwrap().status(), 201);
    let rotated: Value =
        boss.post(app.url("/api/intake-settings/rotate")).send().await.unwrap().json().await.unwrap();
    let new = rotated["key"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    // ...and stops the moment a new one is made.
    assert_eq!(post(old).await.unwrap().status(), 404);
    // The new key reaches the company: the same person again within minutes is that first lead.
    assert_eq!(post(new).await.unwrap().status(), 200);
}

#[tokio::test]
async fn enquiries_arriving_at_once_each_make_one_lead_even_a_form_sent_twice() {
    let app = spawn_app_with(|c| c.intake_limits.per_ip_per_minute = 1000).await;
    let (co, key) = company(&app).await;
    let http = reqwest::Client::new();
    let url = app.url(&format!("/api/intake/{key}"));
    let posts = (0..40).map(|i| {
        // Every fourth post repeats the one before it (the same form sent twice at once).
        let form = i - (i % 4 == 3) as i32;
        let body = json!({ "name": format!("Caller {form}"), "phone": format!("51255503{form:02}") });
        let req = http.post(&url).header("Idempotency-Key", format!("form-{form}")).json(&body).send();
        async move {
            let resp = req.await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap();
            (status, body["lead_id"].as_str().map(str::to_string).unwrap_or_else(|| body.to_string()))
        }
    });
    let answers = futures_util::future::join_all(posts).await;
    assert!(answers.iter().all(|(s, _)| *s == 201 || *s == 200), "{answers:?}");
    let distinct: std::collections::HashSet<&String> = answers.iter().map(|(_, id)| id).collect();
    assert_eq!(distinct.len(), 30);
    assert_eq!(leads(&app, co.id).await, 30);
}
