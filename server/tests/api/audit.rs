//! The audit trail: every change to a record or to the configuration, with who, when, from
//! which device, before and after; filters and CSV for managers; a record's timeline for
//! whoever may see the record; nothing of another company.

use crate::{
    helpers::spawn_app,
    sync_fixtures::{new_consultation, update, won, Company},
};
use app::{domain::Role, sync::protocol::Entity};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn furnace(price: i64) -> Value {
    json!({ "sku": "FUR-96", "name": "96% furnace", "service_type": "hvac", "price_cents": price })
}

async fn trail(client: &reqwest::Client, url: String) -> Vec<Value> {
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn the_trail_says_who_changed_what_from_what_to_what() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let (manager, boss) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;

    // Configuration, online: a price book item added, then its price changed.
    let item: Value = manager
        .post(app.url("/api/price-book/items"))
        .header("user-agent", "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) Version/17.5 Safari/604.1")
        .json(&furnace(612_500))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = item["id"].as_str().unwrap();
    let resp = manager
        .put(app.url(&format!("/api/price-book/items/{id}")))
        .json(&furnace(629_900))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // Records, by sync: a consultation's notes written twice, then won.
    let (customer, _, visit) = new_consultation(&mut tech).await;
    tech.mutate(update(visit, 0, json!({ "notes": "Old furnace, 22 years" }))).await;
    tech.sync().await;
    let revision = tech.revision_of(Entity::Consultation, visit);
    tech.mutate(update(visit, revision, json!({ "notes": "Old furnace, 24 years" }))).await;
    tech.mutate(won(visit, 629_900)).await;
    tech.sync().await;

    let all = trail(&manager, app.url("/api/audit")).await;
    let price =
        all.iter().find(|e| e["record_type"] == "price_book_item" && e["action"] == "changed").unwrap();
    assert_eq!(price["summary"], "96% furnace: price $6,125.00 → $6,299.00");
    assert_eq!(price["person_id"], boss.to_string());
    let change = price["changes"].as_array().unwrap().iter().find(|c| c["field"] == "price").unwrap();
    assert_eq!((change["before"].clone(), change["after"].clone()), (json!("$6,125.00"), json!("$6,299.00")));
    let added =
        all.iter().find(|e| e["record_type"] == "price_book_item" && e["action"] == "created").unwrap();
    assert_eq!(added["device"], "Safari on iPad");

    let notes: Vec<&Value> =
        all.iter().filter(|e| e["record_type"] == "consultation" && e["action"] == "changed").collect();
    assert_eq!(notes.len(), 2, "{all:#?}");
    let latest = &notes[0]["changes"][0];
    assert_eq!(
        (latest["field"].clone(), latest["before"].clone(), latest["after"].clone()),
        (json!("notes"), json!("Old furnace, 22 years"), json!("Old furnace, 24 years")),
        "what it was is what the earlier write set"
    );
    assert_eq!(notes[1]["changes"][0]["before"], Value::Null, "the first write had nothing before it");
    assert!(notes[0]["device"].as_str().unwrap().starts_with("device "), "{}", notes[0]["device"]);
    let sold = all.iter().find(|e| e["action"] == "won").unwrap();
    assert_eq!(
        (sold["summary"].clone(), sold["person_id"].clone(), sold["record_id"].clone()),
        (json!("Won at $6,299.00"), json!(tech.user_id), json!(visit))
    );

    // Filters: by person, by record type, by dates; bad ones are named.
    let techs = trail(&manager, app.url(&format!("/api/audit?person={}", tech.user_id))).await;
    assert!(!techs.is_empty() && techs.iter().all(|e| e["person_id"] == tech.user_id.to_string()));
    let prices = trail(&manager, app.url("/api/audit?record_type=price_book_item")).await;
    assert_eq!(prices.len(), 2);
    let future = trail(&manager, app.url("/api/audit?from=2099-01-01")).await;
    assert!(future.is_empty());
    for bad in
        ["record_type=roof", "from=2026-12-05&to=2026-12-01", "limit=0", "from=yesterday", "to=+262142-01-01"]
    {
        let resp = manager.get(app.url(&format!("/api/audit?{bad}"))).send().await.unwrap();
        assert!(resp.status().is_client_error(), "{bad}: {}", resp.status());
    }

    // CSV: the same entries, one per row.
    let resp = manager.get(app.url("/api/audit/export?record_type=price_book_item")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let csv = resp.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("at,recorded_at,person,device,record_type,record_id,action,summary,changes")
    );
    assert_eq!(lines.count(), 2, "{csv}");

    // The consultation's timeline, for the technician who can see it.
    let history = trail(&tech.http, app.url(&format!("/api/history/{visit}"))).await;
    let actions: Vec<&str> = history.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["won", "changed", "changed", "created"], "{history:#?}");
    // The customer's: itself, its lead and its consultation with everything written to it.
    let history = trail(&tech.http, app.url(&format!("/api/history/{customer}"))).await;
    let kinds: Vec<&str> = history.iter().map(|e| e["record_type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["consultation", "consultation", "consultation", "consultation", "lead", "customer"],
        "{history:#?}"
    );
}

#[tokio::test]
async fn the_trail_is_the_companys_managers_and_a_timeline_its_viewers() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let other = app.create_company("Other").await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;
    let (rep, _) = app.signed_in(co.id, "rep@acme.test", Role::SalesRep).await;
    let (manager, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let (stranger, _) = app.signed_in(other, "boss@other.test", Role::Manager).await;
    let (customer, _, visit) = new_consultation(&mut tech).await;
    tech.sync().await;

    for path in ["/api/audit", "/api/audit/export"] {
        for client in [&tech.http, &rep] {
            assert_eq!(
                client.get(app.url(path)).send().await.unwrap().status(),
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        let theirs = stranger.get(app.url(path)).send().await.unwrap();
        assert_eq!(theirs.status(), StatusCode::OK);
        assert!(
            !theirs.text().await.unwrap().contains(&visit.to_string()),
            "another company's trail holds none of Acme's"
        );
    }
    for id in [visit, customer] {
        let url = app.url(&format!("/api/history/{id}"));
        assert_eq!(manager.get(&url).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(tech.http.get(&url).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(rep.get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND, "not the rep's");
        assert_eq!(stranger.get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    }
}
