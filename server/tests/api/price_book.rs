//! The price book editor: managers only, inside their company; every change reaches devices by
//! sync; CSV out and in, all or nothing, problems by line.

use crate::{helpers::spawn_app, sync_fixtures::Company};
use app::{domain::Role, sync::protocol::Entity};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn furnace() -> Value {
    json!({ "sku": "FUR-96", "name": "96% furnace", "service_type": "hvac", "price_cents": 612_500,
            "cost_cents": 380_000, "max_discount_pct": 10, "description": "Two-stage, variable speed" })
}

#[tokio::test]
async fn a_manager_edits_the_book_and_technicians_devices_get_it() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let (manager, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;

    let made = manager.post(app.url("/api/price-book/items")).json(&furnace()).send().await.unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let item: Value = made.json().await.unwrap();
    let id = item["id"].as_str().unwrap().to_string();
    tech.sync().await;
    let seen = tech.engine.view().into_iter().find(|((e, _), _)| *e == Entity::PriceBookItem).map(|(_, v)| v);
    assert_eq!(
        seen.as_ref().map(|v| v["price_cents"].clone()),
        Some(json!(612_500)),
        "on the device: {seen:?}"
    );

    let mut cheaper = furnace();
    cheaper["price_cents"] = json!(599_900);
    let resp =
        manager.put(app.url(&format!("/api/price-book/items/{id}"))).json(&cheaper).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    tech.sync().await;
    let seen = tech
        .engine
        .view()
        .into_iter()
        .find(|((e, _), _)| *e == Entity::PriceBookItem)
        .map(|(_, v)| v)
        .unwrap();
    assert_eq!(seen["price_cents"], 599_900);

    // A second item with the same SKU is refused; bad fields are named.
    let dup = manager.post(app.url("/api/price-book/items")).json(&furnace()).send().await.unwrap();
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    for (field, value) in [
        ("sku", json!(" ")),
        ("service_type", json!("roofing")),
        ("price_cents", json!(-1)),
        ("max_discount_pct", json!(150)),
    ] {
        let mut bad = furnace();
        bad["sku"] = json!("OTHER-1");
        bad[field] = value;
        let resp = manager.post(app.url("/api/price-book/items")).json(&bad).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["field"], field);
    }

    let resp = manager.delete(app.url(&format!("/api/price-book/items/{id}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    tech.sync().await;
    assert!(tech.engine.view().keys().all(|(e, _)| *e != Entity::PriceBookItem), "removed from the device");
}

#[tokio::test]
async fn only_a_companys_managers_reach_its_price_book() {
    let app = spawn_app().await;
    let acme = app.create_company("Acme").await;
    let other = app.create_company("Other").await;
    let (manager, _) = app.signed_in(acme, "boss@acme.test", Role::Manager).await;
    let (tech, _) = app.signed_in(acme, "tech@acme.test", Role::Technician).await;
    let (rep, _) = app.signed_in(acme, "rep@acme.test", Role::SalesRep).await;
    let (stranger, _) = app.signed_in(other, "boss@other.test", Role::Manager).await;
    let item: Value = manager
        .post(app.url("/api/price-book/items"))
        .json(&furnace())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = item["id"].as_str().unwrap();

    for client in [&tech, &rep] {
        assert_eq!(
            client.get(app.url("/api/price-book")).send().await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        let resp = client.post(app.url("/api/price-book/items")).json(&furnace()).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let resp = client.post(app.url("/api/price-book/import")).body("sku\n").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            client.get(app.url("/api/price-book/export")).send().await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
    }
    let theirs: Value = stranger.get(app.url("/api/price-book")).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs.as_array().unwrap().len(), 0);
    let resp =
        stranger.put(app.url(&format!("/api/price-book/items/{id}"))).json(&furnace()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = stranger.delete(app.url(&format!("/api/price-book/items/{id}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_book_goes_out_and_comes_back_as_csv_all_or_nothing() {
    let app = spawn_app().await;
    let company = app.create_company("Acme").await;
    let (manager, _) = app.signed_in(company, "boss@acme.test", Role::Manager).await;
    manager.post(app.url("/api/price-book/items")).json(&furnace()).send().await.unwrap();
    let import = |csv: String, dry_run: bool| {
        manager
            .post(app.url(&format!("/api/price-book/import?dry_run={dry_run}")))
            .header("content-type", "text/csv")
            .body(csv)
            .send()
    };

    let out = manager.get(app.url("/api/price-book/export")).send().await.unwrap().text().await.unwrap();
    assert!(out.starts_with("sku,name,service_type,price,cost,max_discount_pct,description,active"), "{out}");
    assert!(
        out.contains("FUR-96,96% furnace,hvac,6125.00,3800.00,10,\"Two-stage, variable speed\",true"),
        "{out}"
    );

    // The exported file, with a price changed and a row added, goes back in.
    let edited =
        out.replace("6125.00", "6300.00") + "WH-50,50 gal water heater,water_heater,\"$1,850\",,5,,yes\r\n";
    let (status, report) = {
        let resp = import(edited.clone(), true).await.unwrap();
        (resp.status(), resp.json::<Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["added"].as_u64(), report["updated"].as_u64()), (Some(1), Some(1)));
    let book: Value = manager.get(app.url("/api/price-book")).send().await.unwrap().json().await.unwrap();
    assert_eq!(book[0]["price_cents"], 612_500, "a dry run writes nothing");

    // One bad row: every problem by line, nothing written.
    let bad =
        format!("{edited}GEN-1,,electrical,12,,,,\nGEN-2,Panel,roofing,12,,,,\nWH-50,Again,plumbing,1,,,,\n");
    let resp = import(bad, false).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let report: Value = resp.json().await.unwrap();
    let lines: Vec<u64> =
        report["errors"].as_array().unwrap().iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [4, 5, 6], "{report}");
    let book: Value = manager.get(app.url("/api/price-book")).send().await.unwrap().json().await.unwrap();
    assert_eq!(book.as_array().unwrap().len(), 1, "nothing half-imported");

    let resp = import(edited, false).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let book: Value = manager.get(app.url("/api/price-book")).send().await.unwrap().json().await.unwrap();
    let prices: Vec<i64> =
        book.as_array().unwrap().iter().map(|i| i["price_cents"].as_i64().unwrap()).collect();
    assert_eq!(prices, [630_000, 185_000]);
}
