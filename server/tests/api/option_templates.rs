//! Option templates: managers' good / better / best bundles, synced to devices that read them,
//! never sent to a device whose build predates them.

use crate::{helpers::spawn_app, sync_fixtures::Company};
use app::{
    domain::Role,
    sync::protocol::{Cookie, Entity, PullResponse, KINDS_VERSION},
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

async fn item(manager: &reqwest::Client, app: &crate::helpers::TestApp, sku: &str, price: i64) -> String {
    let made: Value = manager
        .post(app.url("/api/price-book/items"))
        .json(&json!({ "sku": sku, "name": sku, "service_type": "hvac", "price_cents": price }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    made["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn templates_reach_devices_that_read_them_and_never_older_builds() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let (manager, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;
    let furnace = item(&manager, &app, "FUR-96", 612_500).await;
    let stat = item(&manager, &app, "TSTAT", 39_500).await;

    // An older build's device pulls before the template exists, and keeps its cookie.
    let old_client = Uuid::now_v7();
    let pull = |cookie: Option<Cookie>, kinds: Option<u32>| {
        let mut body = json!({ "client_id": old_client, "cookie": cookie });
        if let Some(k) = kinds {
            body["kinds_version"] = json!(k);
        }
        let http = tech.http.clone();
        let url = app.url("/api/sync/pull");
        async move {
            let resp = http.post(url).json(&body).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.json::<PullResponse>().await.unwrap()
        }
    };
    let first = pull(None, None).await;
    assert_eq!(first.cookie.kinds_version, 1, "a build that does not say reads the first kinds");

    let template = json!({ "service_type": "hvac", "tier": "better", "name": "Comfort upgrade",
                           "items": [{ "price_book_item_id": furnace, "quantity": 1 },
                                     { "price_book_item_id": stat, "quantity": 2 }] });
    let resp = manager.post(app.url("/api/option-templates")).json(&template).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let made: Value = resp.json().await.unwrap();
    let id: Uuid = made["id"].as_str().unwrap().parse().unwrap();

    // The older build is not sent it (its whole pull would fail on an unknown kind)...
    let old = pull(Some(first.cookie), None).await;
    assert!(!old.reset);
    assert!(old.patch.is_empty(), "nothing it can read changed: {:?}", old.patch);
    // ...and once updated, the same device starts over once and gets it.
    let updated = pull(Some(old.cookie), Some(KINDS_VERSION)).await;
    assert!(updated.reset, "a cookie made under older kinds starts over");
    assert!(updated.patch.iter().any(|op| op.key() == (Entity::OptionTemplate, id)));
    assert_eq!(updated.cookie.kinds_version, KINDS_VERSION);
    let after = pull(Some(updated.cookie), Some(KINDS_VERSION)).await;
    assert!(!after.reset && after.patch.is_empty(), "once only");

    // A current device gets it on its ordinary sync, and its removal.
    tech.sync().await;
    assert_eq!(tech.row(Entity::OptionTemplate, id).unwrap()["name"], "Comfort upgrade");
    let resp = manager.delete(app.url(&format!("/api/option-templates/{id}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    tech.sync().await;
    assert!(!tech.has(Entity::OptionTemplate, id));
}

#[tokio::test]
async fn a_template_holds_active_items_of_the_companys_own_book_and_only_managers_touch_it() {
    let app = spawn_app().await;
    let acme = app.create_company("Acme").await;
    let other = app.create_company("Other").await;
    let (manager, _) = app.signed_in(acme, "boss@acme.test", Role::Manager).await;
    let (tech, _) = app.signed_in(acme, "tech@acme.test", Role::Technician).await;
    let (stranger, _) = app.signed_in(other, "boss@other.test", Role::Manager).await;
    let ours = item(&manager, &app, "FUR-80", 429_000).await;
    let theirs = item(&stranger, &app, "THEIRS", 100).await;
    let good = json!({ "service_type": "hvac", "tier": "good", "name": "Like for like",
                       "items": [{ "price_book_item_id": ours, "quantity": 1 }] });

    for (field, bad) in [
        ("tier", json!({ "tier": "platinum" })),
        ("service_type", json!({ "service_type": "roofing" })),
        ("name", json!({ "name": " " })),
        ("items", json!({ "items": [] })),
        ("items", json!({ "items": [{ "price_book_item_id": ours, "quantity": 0 }] })),
        ("items", json!({ "items": [{ "price_book_item_id": theirs, "quantity": 1 }] })),
        (
            "items",
            json!({ "items": [{ "price_book_item_id": ours, "quantity": 1 }, { "price_book_item_id": ours, "quantity": 2 }] }),
        ),
    ] {
        let mut body = good.clone();
        for (k, v) in bad.as_object().unwrap() {
            body[k] = v.clone();
        }
        let resp = manager.post(app.url("/api/option-templates")).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(resp.json::<Value>().await.unwrap()["error"]["field"], field);
    }
    let made: Value = manager
        .post(app.url("/api/option-templates"))
        .json(&good)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = app.url(&format!("/api/option-templates/{}", made["id"].as_str().unwrap()));

    for resp in [
        tech.get(app.url("/api/option-templates")).send().await.unwrap(),
        tech.post(app.url("/api/option-templates")).json(&good).send().await.unwrap(),
        tech.put(&url).json(&good).send().await.unwrap(),
        tech.delete(&url).send().await.unwrap(),
    ] {
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let listed: Value =
        stranger.get(app.url("/api/option-templates")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!([]));
    assert_eq!(stranger.put(&url).json(&good).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let mut theirs_template = good.clone();
    theirs_template["items"] = json!([{ "price_book_item_id": theirs, "quantity": 1 }]);
    assert_eq!(
        stranger.put(&url).json(&theirs_template).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(stranger.delete(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let ours_now: Value =
        manager.get(app.url("/api/option-templates")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ours_now[0]["name"], "Like for like");
}
