//! Web Push, with no outside push service: a local one stands in for the browsers' (FCM,
//! Mozilla, Apple). It decrypts each notice with the device keys the test made, and checks the
//! VAPID signature against the server's public key, as a real push service and browser would.

use crate::{
    device::Device,
    helpers::{error_message, spawn_app_with, TestApp},
    sync_fixtures::{customer, lead, Company},
};
use app::{domain::Role, sync::mutation::*};
use axum::{body::Bytes, extract::Path, http::HeaderMap, http::StatusCode, routing::post, Router};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use p256::ecdsa::{signature::Verifier, Signature, VerifyingKey};
use rand::RngCore;
use reqwest::Client;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// A notice as the push service received it.
struct Received {
    device: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A push service on 127.0.0.1: `/push/{device}` takes a notice (201); `/push/gone-…` says
/// the subscription has expired (410), as FCM does for an uninstalled app.
async fn push_service() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/push/{device}",
        post(move |Path(device): Path<String>, headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let gone = device.starts_with("gone");
                let _ = tx.send(Received { device, headers, body });
                if gone {
                    StatusCode::GONE
                } else {
                    StatusCode::CREATED
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, rx)
}

/// A browser's side of a subscription: its key pair and auth secret.
struct BrowserKeys {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl BrowserKeys {
    fn new() -> Self {
        let mut auth = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut auth);
        let secret = loop {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            if let Ok(s) = p256::SecretKey::from_slice(&bytes) {
                break s;
            }
        };
        BrowserKeys { secret, auth }
    }

    fn subscription(&self, endpoint: &str) -> Value {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let public = self.secret.public_key().to_encoded_point(false);
        json!({ "endpoint": endpoint, "keys": {
            "p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
            "auth": URL_SAFE_NO_PAD.encode(self.auth),
        }})
    }

    /// What the service worker's `push` event would be given.
    fn open(&self, body: &[u8]) -> Value {
        let auth = web_push_native::Auth::clone_from_slice(&self.auth);
        let plain =
            web_push_native::decrypt(body.to_vec(), &self.secret, &auth).expect("the notice decrypts");
        serde_json::from_slice(&plain).unwrap()
    }
}

async fn subscribe(app: &TestApp, http: &Client, push: &str, device: &str) -> BrowserKeys {
    let keys = BrowserKeys::new();
    let resp = http
        .put(app.url("/api/push/subscription"))
        .json(&keys.subscription(&format!("{push}/push/{device}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
    keys
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.expect("a notice within 20 s").unwrap()
}

/// Open every day, all day: the office is on duty whenever the test runs.
async fn always_open(app: &TestApp, company: Uuid) {
    let settings =
        app::domain::settings::Settings { business_hours: [Some([0, 1440]); 7], ..Default::default() };
    sqlx::query("insert into analytics_settings (company_id, settings) values ($1, $2)")
        .bind(company)
        .bind(serde_json::to_value(settings).unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
}

async fn intake(app: &TestApp, company: Uuid, name: &str, phone: &str) {
    let key: String = sqlx::query_scalar("select intake_key from companies where id = $1")
        .bind(company)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let resp = Client::new()
        .post(app.url(&format!("/api/intake/{key}")))
        .json(&json!({ "name": name, "phone": phone, "service": "hvac", "address": "12 Elm St" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn notices_reach_the_right_people_encrypted_signed_and_as_each_chose() {
    let app = spawn_app_with(|c| c.push.allow_loopback = true).await;
    let (push, mut rx) = push_service().await;
    let co = Company::new(&app, "Acme Air").await;
    always_open(&app, co.id).await;
    let (boss, boss_id) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let (office, _) = app.signed_in(co.id, "office@acme.test", Role::Office).await;
    let (tech, tech_id) = app.signed_in(co.id, "tech@acme.test", Role::Technician).await;
    let other = Company::new(&app, "Other Co").await;
    let (rival, _) = app.signed_in(other.id, "boss@other.test", Role::Manager).await;

    let key: Value = boss.get(app.url("/api/push/key")).send().await.unwrap().json().await.unwrap();
    let server_key =
        VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(key["public_key"].as_str().unwrap()).unwrap())
            .expect("the key is an uncompressed P-256 point");
    let boss_keys = subscribe(&app, &boss, &push, "boss").await;
    let office_keys = subscribe(&app, &office, &push, "office").await;
    let tech_keys = subscribe(&app, &tech, &push, "tech").await;
    subscribe(&app, &rival, &push, "rival").await;

    // A website lead: the manager and the office person on duty, nobody else.
    intake(&app, co.id, "Rosa Diaz", "5125550143").await;
    let mut told = vec![];
    for _ in 0..2 {
        let n = next(&mut rx).await;
        assert_eq!(n.headers["content-encoding"], "aes128gcm");
        assert_eq!(n.headers["urgency"], "high");
        assert!(n.headers["ttl"].to_str().unwrap().parse::<u64>().unwrap() > 0);
        // The VAPID token: for this push service, signed by the server's key.
        let authorization = n.headers["authorization"].to_str().unwrap();
        let (t, k) = authorization.strip_prefix("vapid t=").unwrap().split_once(", k=").unwrap();
        assert_eq!(k, key["public_key"].as_str().unwrap());
        let (signed, signature) = t.rsplit_once('.').unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        server_key.verify(signed.as_bytes(), &signature).expect("signed with the server's VAPID key");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(signed.split('.').nth(1).unwrap()).unwrap())
                .unwrap();
        assert_eq!(claims["aud"], push.as_str());
        let keys = match n.device.as_str() {
            "boss" => &boss_keys,
            "office" => &office_keys,
            other => panic!("{other} was told of Acme's lead"),
        };
        let notice = keys.open(&n.body);
        assert_eq!(notice["title"], "New lead: Rosa Diaz");
        assert_eq!(notice["url"], "/inbox");
        assert_eq!(notice["kind"], "new_lead");
        told.push(n.device);
    }
    told.sort();
    assert_eq!(told, ["boss", "office"]);

    // The office turns lead notices off; the manager books a visit for the technician.
    let prefs: Value = office
        .put(app.url("/api/push/preferences"))
        .json(&json!({ "new_lead": false, "visit": true, "follow_up": true }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((prefs["new_lead"].as_bool(), prefs["devices"].as_u64()), (Some(false), Some(1)));
    intake(&app, co.id, "Sam Okafor", "5125550199").await;
    // A technician's lead on site comes with its visit: nobody is asked to answer it.
    let mut on_site = Device::new(&app, tech.clone(), tech_id).await;
    let (c, m) = customer("Eve Fox");
    on_site.mutate(m).await;
    let (l, m) = lead(c);
    on_site.mutate(m).await;
    on_site.mutate(crate::sync_fixtures::consultation(l, None).1).await;
    on_site.push_all().await.unwrap();
    let mut manager = Device::new(&app, boss.clone(), boss_id).await;
    let (c, m) = customer("Ann Lee");
    manager.mutate(m).await;
    let (l, m) = lead(c);
    manager.mutate(m).await;
    let visit = Uuid::now_v7();
    manager
        .mutate(Mutation::ConsultationCreate(ConsultationCreate {
            id: visit,
            lead_id: l,
            technician_id: Some(tech_id),
            scheduled_at: Some(chrono::Utc::now() + chrono::Duration::days(1)),
            window_minutes: Some(120),
            ..Default::default()
        }))
        .await;
    manager.push_all().await.unwrap();
    // Notices go out in order: by the technician's, the second lead's have all been sent.
    let mut second = vec![];
    loop {
        let n = next(&mut rx).await;
        if n.device == "tech" {
            let notice = tech_keys.open(&n.body);
            assert_eq!(notice["title"], "Visit booked: Ann Lee");
            assert_eq!(notice["url"], "/today");
            assert!(notice["body"].as_str().unwrap().contains("12 Elm St"), "{notice}");
            break;
        }
        second.push(boss_keys.open(&n.body)["title"].as_str().unwrap().to_string());
        assert_eq!(n.device, "boss", "the office turned new leads off");
    }
    // The manager's own lead (written with no first contact) is no notice to themselves.
    assert_eq!(second, ["New lead: Sam Okafor"]);

    // Signing out ends the subscription with the session.
    let out = office.post(app.url("/api/auth/logout")).send().await.unwrap();
    assert!(out.status().is_success(), "{}", out.status());
    let left: i64 = sqlx::query_scalar("select count(*) from push_subscriptions where company_id = $1")
        .bind(co.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 2);
}

#[tokio::test]
async fn a_subscription_the_push_service_calls_gone_is_forgotten() {
    let app = spawn_app_with(|c| c.push.allow_loopback = true).await;
    let (push, mut rx) = push_service().await;
    let co = Company::new(&app, "Acme Air").await;
    let (boss, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    subscribe(&app, &boss, &push, "gone-phone").await;
    intake(&app, co.id, "Rosa Diaz", "5125550143").await;
    assert_eq!(next(&mut rx).await.device, "gone-phone");
    let mut left = 1;
    for _ in 0..100 {
        left = crate::sync_fixtures::count(&app, "select count(*) from push_subscriptions").await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_subscription_is_refused_with_its_reason_unless_it_is_a_browsers_push_service() {
    // As in production: no loopback endpoints.
    let app = spawn_app_with(|_| {}).await;
    let co = Company::new(&app, "Acme Air").await;
    let (boss, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let keys = BrowserKeys::new();
    let good = keys.subscription("https://fcm.googleapis.com/fcm/send/abc:def");
    let mut cases = vec![];
    for endpoint in
        ["http://127.0.0.1:5432/x", "https://10.0.0.1/push", "https://fcm.googleapis.com.evil.test/x"]
    {
        let mut body = good.clone();
        body["endpoint"] = json!(endpoint);
        cases.push(("endpoint", body));
    }
    let mut short = good.clone();
    short["keys"]["auth"] = json!("AAAA");
    cases.push(("keys.auth", short));
    let mut off_curve = good.clone();
    off_curve["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode([4u8; 65]));
    cases.push(("keys.p256dh", off_curve));
    for (field, body) in cases {
        let resp = boss.put(app.url("/api/push/subscription")).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 422, "{body}");
        let error: Value = resp.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let resp = boss.put(app.url("/api/push/subscription")).json(&good).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let stranger = Client::new().put(app.url("/api/push/subscription")).json(&good).send().await.unwrap();
    assert_eq!(stranger.status(), 401);
    assert!(!error_message(stranger).await.is_empty());
    let prefs: Value = boss.get(app.url("/api/push/preferences")).send().await.unwrap().json().await.unwrap();
    assert_eq!(prefs, json!({ "new_lead": true, "visit": true, "follow_up": true, "devices": 1 }));
}
