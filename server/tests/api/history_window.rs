//! What a device keeps: a first sync brings open work, customers and the company's window of
//! finished work, not the whole history; the device's own eviction (`app::sync::window`) keeps
//! exactly what a first sync would send; a quote reopened brings its family back.

use crate::{
    helpers::spawn_app,
    sync_fixtures::{activity, consultation, customer, lead, Company},
};
use app::{
    domain::{Cents, Role},
    sync::{
        mutation::{ConsultationCreate, LeadCreate, Mutation, Outcome, SetOutcome},
        protocol::Entity,
        window,
    },
};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;
use uuid::Uuid;

#[tokio::test]
async fn a_first_sync_brings_the_window_and_eviction_keeps_the_same_rows() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let (manager, _) = app.signed_in(co.id, "boss@acme.test", Role::Manager).await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;
    let long_ago = Utc::now() - Duration::days(200);

    // A sale decided 200 days ago, with its activity; an open quote from then; a recent sale.
    let (old_customer, m) = customer("Old Sale");
    tech.mutate(m).await;
    let old_lead = Uuid::now_v7();
    tech.mutate(Mutation::LeadCreate(LeadCreate {
        id: old_lead,
        customer_id: old_customer,
        source: "website".into(),
        service_type: "hvac".into(),
        created_at: long_ago,
        ..Default::default()
    }))
    .await;
    let old_sale = Uuid::now_v7();
    tech.mutate(Mutation::ConsultationCreate(ConsultationCreate {
        id: old_sale,
        lead_id: old_lead,
        scheduled_at: Some(long_ago),
        problem: "No heat".into(),
        ..Default::default()
    }))
    .await;
    let (old_activity, m) = activity(old_sale);
    tech.mutate(m).await;
    tech.mutate(Mutation::SetOutcome(SetOutcome {
        id: old_sale,
        outcome: Outcome::Won { option_id: None, amount_cents: Cents(500_000) },
        at: long_ago + Duration::days(2),
    }))
    .await;
    let (c2, m) = customer("Old Open");
    tech.mutate(m).await;
    let (l2, m) = lead(c2);
    tech.mutate(m).await;
    let (old_open, mut m) = consultation(l2, None);
    if let Mutation::ConsultationCreate(c) = &mut m {
        c.scheduled_at = Some(long_ago);
    }
    tech.mutate(m).await;
    let (c3, m) = customer("Recent");
    tech.mutate(m).await;
    let (l3, m) = lead(c3);
    tech.mutate(m).await;
    let (recent, m) = consultation(l3, None);
    tech.mutate(m).await;
    tech.sync().await;
    assert!(tech.engine.state().rejected.is_empty(), "{:?}", tech.engine.state().rejected);

    // A new phone of the same person: the default window is 90 days.
    let http = tech.http.clone();
    let mut phone = crate::device::Device::new(&app, http.clone(), tech.user_id).await;
    phone.sync().await;
    for (entity, id) in
        [(Entity::Consultation, old_open), (Entity::Consultation, recent), (Entity::Customer, old_customer)]
    {
        assert!(phone.has(entity, id), "{entity:?} {id} kept");
    }
    for (entity, id) in
        [(Entity::Consultation, old_sale), (Entity::Activity, old_activity), (Entity::Lead, old_lead)]
    {
        assert!(!phone.has(entity, id), "{entity:?} {id} left behind");
    }
    let old_events = phone
        .rows()
        .values()
        .filter(|(_, data)| data["consultation_id"] == json!(old_sale) || data["lead_id"] == json!(old_lead))
        .count();
    assert_eq!(old_events, 0, "nor the old sale's events");
    let windowed: BTreeSet<(Entity, Uuid)> = phone.rows().keys().copied().collect();

    // With the longest window a phone gets everything; evicting at 90 days leaves exactly what a
    // first sync at 90 days sends.
    let resp = manager
        .put(app.url("/api/analytics/settings"))
        .json(&json!({ "device_history_days": 730 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut everything = crate::device::Device::new(&app, http.clone(), tech.user_id).await;
    everything.sync().await;
    assert!(everything.has(Entity::Consultation, old_sale) && everything.has(Entity::Activity, old_activity));
    let evicted = everything.engine.evict_outside(&[], Utc::now() - Duration::days(90)).await.unwrap();
    assert!(evicted > 0);
    let after: BTreeSet<(Entity, Uuid)> = everything.rows().keys().copied().collect();
    assert_eq!(after, windowed, "the device's rules and the server's agree");
    let left = window::outside(&everything.engine.state().rows, &[], &[], Utc::now() - Duration::days(90));
    assert!(left.is_empty(), "nothing more to evict");

    // Older work is found on the server and kept: the phone that lacked the old sale adopts it,
    // and eviction spares it while it is kept.
    let resp = phone.http.get(app.url("/api/sync/search?q=old%20sale")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let found: app::sync::protocol::SearchResponse = resp.json().await.unwrap();
    assert_eq!(found.found, vec![old_sale]);
    let mut searched = crate::device::Device::new(&app, http.clone(), tech.user_id).await;
    searched.sync().await;
    searched.engine.adopt(found.patch.clone()).await.unwrap();
    for (entity, id) in
        [(Entity::Consultation, old_sale), (Entity::Activity, old_activity), (Entity::Lead, old_lead)]
    {
        assert!(searched.has(entity, id), "{entity:?} {id} found and kept");
    }
    let cutoff = Utc::now() - Duration::days(90);
    assert_eq!(searched.engine.evict_outside(&[old_sale], cutoff).await.unwrap(), 0);
    assert!(searched.engine.evict_outside(&[], cutoff).await.unwrap() > 0, "unpinned, it leaves again");
    searched.sync().await;
    assert!(!searched.has(Entity::Consultation, old_sale), "a pull after adopting goes on from its cookie");
    // Digits find a phone however it was typed; nobody else's work is found; bad words say why.
    let by_phone: app::sync::protocol::SearchResponse = phone
        .http
        .get(app.url("/api/sync/search?q=512-555-0143"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(by_phone.found.contains(&old_sale));
    let other = Company::new(&app, "Other").await;
    let (outsider, _) = app.signed_in(other.id, "boss@other.test", Role::Manager).await;
    let theirs: app::sync::protocol::SearchResponse =
        outsider.get(app.url("/api/sync/search?q=old%20sale")).send().await.unwrap().json().await.unwrap();
    assert!(theirs.found.is_empty() && theirs.patch.is_empty());
    for bad in ["x", "%00", "a%07b"] {
        let resp = phone.http.get(app.url(&format!("/api/sync/search?q={bad}"))).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let wildcard: app::sync::protocol::SearchResponse =
        phone.http.get(app.url("/api/sync/search?q=%25%25")).send().await.unwrap().json().await.unwrap();
    assert!(wildcard.found.is_empty(), "% is a character, not a wildcard");

    // A manager reopens the old sale: it comes back with its family on the phone that lacked it.
    let resp = manager
        .put(app.url("/api/analytics/settings"))
        .json(&json!({ "device_history_days": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "a window shorter than two weeks is refused");
    assert!(crate::helpers::error_message(resp).await.contains("device_history_days"));
    let mut boss = co.device(&app, "boss2@acme.test", Role::Manager).await;
    boss.sync().await;
    boss.mutate(Mutation::SetOutcome(SetOutcome {
        id: old_sale,
        outcome: Outcome::Reopened,
        at: Utc::now(),
    }))
    .await;
    boss.sync().await;
    assert!(boss.engine.state().rejected.is_empty(), "{:?}", boss.engine.state().rejected);
    phone.sync().await;
    for (entity, id) in
        [(Entity::Consultation, old_sale), (Entity::Activity, old_activity), (Entity::Lead, old_lead)]
    {
        assert!(phone.has(entity, id), "{entity:?} {id} back with the reopened quote");
    }
}
