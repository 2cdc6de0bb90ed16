//! The company profile: managers change the name, trades, time zone and logo of their own
//! company; everyone signed in gets the name and logo with their session.

use crate::helpers::spawn_app;
use app::domain::Role;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn png() -> (Vec<u8>, String) {
    let bytes: Vec<u8> = b"\x89PNG\r\n\x1a\n-a-logo-".to_vec();
    let sha = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    (bytes, sha)
}

#[tokio::test]
async fn a_manager_sets_the_profile_and_everyone_gets_the_logo() {
    let app = spawn_app().await;
    let acme = app.create_company("Acme").await;
    let other = app.create_company("Other").await;
    let (manager, _) = app.signed_in(acme, "boss@acme.test", Role::Manager).await;
    let (tech, _) = app.signed_in(acme, "tech@acme.test", Role::Technician).await;
    let (stranger, _) = app.signed_in(other, "boss@other.test", Role::Manager).await;
    let (bytes, sha) = png();
    let profile = json!({ "name": "Acme Heating & Plumbing", "trades": ["plumbing", "hvac"],
                          "time_zone": "America/Denver", "logo_sha256": sha });

    // The logo must be one of the company's own uploads.
    let resp = manager.put(app.url("/api/company")).json(&profile).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["field"], "logo_sha256");
    let resp = manager
        .put(app.url(&format!("/api/blobs/{sha}")))
        .header(header::CONTENT_TYPE, "image/png")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let resp = manager.put(app.url("/api/company")).json(&profile).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let saved: Value = resp.json().await.unwrap();
    assert_eq!(saved["trades"], json!(["hvac", "plumbing"]), "each once, in a fixed order");

    let me: Value = tech.get(app.url("/api/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (me["company_name"].clone(), me["company_logo"].clone()),
        (json!("Acme Heating & Plumbing"), json!(sha))
    );

    // Another company cannot use Acme's image, nor see or change Acme's profile.
    let resp = stranger.put(app.url("/api/company")).json(&profile).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let theirs: Value = stranger.get(app.url("/api/company")).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs["name"], "Other");

    for (field, value) in [
        ("name", json!(" ")),
        ("trades", json!([])),
        ("trades", json!(["roofing"])),
        ("time_zone", json!("Mars/Olympus")),
        ("logo_sha256", json!("ab\u{0}cd")),
    ] {
        let mut bad = profile.clone();
        bad[field] = value;
        let resp = manager.put(app.url("/api/company")).json(&bad).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(resp.json::<Value>().await.unwrap()["error"]["field"], field);
    }
    for resp in [
        tech.get(app.url("/api/company")).send().await.unwrap(),
        tech.put(app.url("/api/company")).json(&profile).send().await.unwrap(),
    ] {
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }

    // The change is in the audit trail with what it was.
    let trail: Vec<Value> =
        manager.get(app.url("/api/audit?record_type=company")).send().await.unwrap().json().await.unwrap();
    assert_eq!(trail.len(), 1);
    let zone = trail[0]["changes"].as_array().unwrap().iter().find(|c| c["field"] == "time_zone").unwrap();
    assert_eq!(
        (zone["before"].clone(), zone["after"].clone()),
        (json!("America/Chicago"), json!("America/Denver"))
    );
}
