//! The checklist editor: managers save steps as the next revision; devices get every revision,
//! and a consultation keeps the one it was answered against after later edits.

use crate::{
    helpers::spawn_app,
    sync_fixtures::{count, new_consultation, update, Company},
};
use app::{domain::checklist::pick, domain::Role, sync::protocol::Entity};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test]
async fn each_save_is_a_revision_and_a_captured_consultation_keeps_its_own() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let (manager, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;

    let first: Value = manager
        .put(app.url("/api/checklists/general"))
        .json(&json!({ "steps": [{ "label": "Introduce yourself", "required": true }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["revision"], 1, "{first}");
    let first_id: Uuid = first["id"].as_str().unwrap().parse().unwrap();
    let key = first["steps"][0]["key"].as_str().unwrap().to_string();
    assert_eq!(key, "introduce_yourself");

    // The technician answers against revision 1, offline as far as the server knows.
    tech.sync().await;
    let (_, _, visit) = new_consultation(&mut tech).await;
    let mut answers = serde_json::Map::new();
    answers.insert(key.clone(), json!({ "state": "done", "note": "" }));
    tech.mutate(update(visit, 0, json!({ "checklist": answers, "checklist_template_id": first_id }))).await;
    tech.sync().await;

    // The manager adds a required step and moves it first: revision 2, a new row.
    let edit = json!({ "steps": [
        { "label": "Check the flue and venting", "required": true },
        { "key": key, "label": "Introduce yourself", "required": true },
    ] });
    let resp = manager.put(app.url("/api/checklists/general")).json(&edit).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let second: Value = resp.json().await.unwrap();
    assert_eq!(second["revision"], 2);
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["steps"][1]["key"], key, "a kept step keeps its key");
    // Saving the same steps again (a double tap, a retry) makes no revision.
    let again: Value = manager
        .put(app.url("/api/checklists/general"))
        .json(&edit)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((again["revision"].clone(), again["id"].clone()), (json!(2), second["id"].clone()));
    assert_eq!(count(&app, "select count(*) from checklist_templates").await, 2);

    tech.sync().await;
    let templates: Vec<Value> = tech
        .rows()
        .into_iter()
        .filter(|((e, _), _)| *e == Entity::ChecklistTemplate)
        .map(|(_, (_, v))| v)
        .collect();
    assert_eq!(templates.len(), 2, "the device keeps every revision: {templates:?}");
    let pinned = tech.row(Entity::Consultation, visit).unwrap()["checklist_template_id"]
        .as_str()
        .and_then(|s| s.parse().ok());
    assert_eq!(pinned, Some(first_id));
    let (_, kept) = pick(templates.iter(), pinned, Some("hvac")).unwrap();
    assert_eq!(kept.len(), 1, "the captured consultation still shows revision 1: {kept:?}");
    let (_, new) = pick(templates.iter(), None, Some("hvac")).unwrap();
    assert_eq!(new.len(), 2, "a new consultation gets revision 2");

    // A service's own checklist comes and goes; the general one stays.
    let resp = manager
        .put(app.url("/api/checklists/water_heater"))
        .json(&json!({ "steps": [{ "label": "Check the expansion tank" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let live: Vec<Value> =
        manager.get(app.url("/api/checklists")).send().await.unwrap().json().await.unwrap();
    let services: Vec<&Value> = live.iter().map(|c| &c["service_type"]).collect();
    assert_eq!(services, [&Value::Null, &json!("water_heater")]);
    let resp = manager.delete(app.url("/api/checklists/water_heater")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = manager.delete(app.url("/api/checklists/water_heater")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = manager.delete(app.url("/api/checklists/general")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Bad input is refused by field, and nothing is written.
    for (path, body, field) in [
        ("roofing", json!({ "steps": [] }), "service"),
        ("general", json!({ "steps": [{ "label": "  " }] }), "steps"),
        ("general", json!({ "steps": [{ "key": "Bad Key", "label": "x" }] }), "steps"),
        (
            "general",
            json!({ "steps": [{ "key": "a", "label": "x" }, { "key": "a", "label": "y" }] }),
            "steps",
        ),
    ] {
        let resp = manager.put(app.url(&format!("/api/checklists/{path}"))).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["field"], field);
    }
    assert_eq!(count(&app, "select count(*) from checklist_templates where not retired").await, 1);

    // A device cannot point a consultation at a checklist that is not its company's.
    tech.mutate(update(visit, 0, json!({ "checklist_template_id": Uuid::now_v7() }))).await;
    tech.sync().await;
    assert_eq!(
        count(&app, "select count(*) from mutation_log where status = 'rejected' and reason like 'checklist_template_id:%'")
            .await,
        1
    );
}

#[tokio::test]
async fn only_a_companys_managers_reach_its_checklists() {
    let app = spawn_app().await;
    let acme = app.create_company("Acme").await;
    let other = app.create_company("Other").await;
    let (tech, _) = app.signed_in(acme, "tech@acme.test", Role::Technician).await;
    let (rep, _) = app.signed_in(acme, "rep@acme.test", Role::SalesRep).await;
    let (manager, _) = app.signed_in(acme, "boss@acme.test", Role::Manager).await;
    let (stranger, _) = app.signed_in(other, "boss@other.test", Role::Manager).await;
    let steps = json!({ "steps": [{ "label": "Shoe covers on", "required": true }] });
    manager.put(app.url("/api/checklists/hvac")).json(&steps).send().await.unwrap();
    for client in [&tech, &rep] {
        assert_eq!(
            client.get(app.url("/api/checklists")).send().await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        let resp = client.put(app.url("/api/checklists/general")).json(&steps).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let resp = client.delete(app.url("/api/checklists/hvac")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let theirs: Value = stranger.get(app.url("/api/checklists")).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs, json!([]), "another company sees none of Acme's");
    let resp = stranger.delete(app.url("/api/checklists/hvac")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "and cannot remove Acme's");
    let ours: Value = manager.get(app.url("/api/checklists")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ours.as_array().unwrap().len(), 1);
}
