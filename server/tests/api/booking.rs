//! The office's side of a lead: quick-add, answer, judge, book, move and cancel a visit — through
//! sync like every other write, with clashes refused and the office seeing every lead.

use crate::{helpers::spawn_app, sync_fixtures::*};
use app::{
    domain::Role,
    sync::{mutation::*, protocol::Entity},
};
use chrono::{DateTime, Duration, DurationRound, Utc};
use uuid::Uuid;

fn nine_tomorrow() -> DateTime<Utc> {
    (Utc::now() + Duration::days(1)).duration_trunc(Duration::days(1)).unwrap() + Duration::hours(15)
}

fn booking(lead_id: Uuid, technician: Uuid, at: DateTime<Utc>, minutes: u16) -> (Uuid, Mutation) {
    let id = Uuid::now_v7();
    (
        id,
        Mutation::ConsultationCreate(ConsultationCreate {
            id,
            lead_id,
            technician_id: Some(technician),
            scheduled_at: Some(at),
            window_minutes: Some(minutes),
            problem: "Furnace short-cycles".into(),
        }),
    )
}

fn reasons(device: &crate::device::Device) -> Vec<String> {
    device.engine.state().rejected.iter().map(|r| r.reason.clone()).collect()
}

#[tokio::test]
async fn the_office_books_a_lead_for_a_technician_and_a_clash_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut office = co.device(&app, "office@acme.test", Role::Office).await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;
    let (rosa, m) = customer("Rosa Diaz");
    office.mutate(m).await;
    let (lead_id, m) = lead(rosa);
    office.mutate(m).await;
    office
        .mutate(Mutation::LeadContact(LeadContact { id: lead_id, kind: "call".into(), at: Utc::now() }))
        .await;
    office
        .mutate(Mutation::LeadQualify(LeadQualify {
            id: lead_id,
            qualification: "qualified".into(),
            reason: None,
            at: Utc::now(),
        }))
        .await;
    let at = nine_tomorrow();
    let (visit, m) = booking(lead_id, tech.user_id, at, 120);
    office.mutate(m).await;
    // A second lead, booked over the first visit's window for the same technician.
    let (other_customer, m) = customer("Sam Okafor");
    office.mutate(m).await;
    let (other_lead, m) = lead(other_customer);
    office.mutate(m).await;
    let (clash, m) = booking(other_lead, tech.user_id, at + Duration::minutes(60), 60);
    office.mutate(m).await;
    // Right after the first window it fits.
    let (after, m) = booking(other_lead, tech.user_id, at + Duration::minutes(120), 60);
    office.mutate(m).await;
    office.sync().await;

    let refused = reasons(&office);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("already has a visit") && refused[0].contains("Rosa Diaz"), "{}", refused[0]);
    assert!(!office.has(Entity::Consultation, clash));
    assert!(office.has(Entity::Consultation, after));
    let lead_row = office.row(Entity::Lead, lead_id).unwrap();
    assert_eq!(lead_row["qualification"], "qualified");
    assert!(lead_row["first_contact_at"].is_string(), "the call stopped the clock: {lead_row}");

    // The technician's device gets the visit with its window, the lead and the customer.
    tech.sync().await;
    let row = tech.row(Entity::Consultation, visit).expect("the booked visit reaches its technician");
    assert_eq!(row["window_minutes"], 120);
    assert_eq!(row["scheduled_at"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap(), at);
    assert!(tech.has(Entity::Lead, lead_id) && tech.has(Entity::Customer, rosa));

    // Moving the first visit onto the second clashes; moving it to the afternoon does not.
    office
        .mutate(Mutation::Reschedule(Reschedule {
            id: visit,
            scheduled_at: at + Duration::minutes(150),
            window_minutes: 60,
        }))
        .await;
    office
        .mutate(Mutation::Reschedule(Reschedule {
            id: visit,
            scheduled_at: at + Duration::hours(5),
            window_minutes: 60,
        }))
        .await;
    office.sync().await;
    assert_eq!(reasons(&office).len(), 2, "{:?}", reasons(&office));
    tech.sync().await;
    let moved = tech.row(Entity::Consultation, visit).unwrap();
    assert_eq!(
        moved["scheduled_at"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap(),
        at + Duration::hours(5)
    );

    // Cancelled: off the schedule, its row and reason kept, and it cannot be moved again.
    office
        .mutate(Mutation::Cancel(Cancel { id: visit, reason: "customer_cancelled".into(), at: Utc::now() }))
        .await;
    office.mutate(Mutation::Reschedule(Reschedule { id: visit, scheduled_at: at, window_minutes: 60 })).await;
    office.sync().await;
    let refused = reasons(&office);
    assert!(refused.last().unwrap().contains("cancelled"), "{refused:?}");
    tech.sync().await;
    assert_eq!(tech.row(Entity::Consultation, visit).unwrap()["cancel_reason"], "customer_cancelled");
    // Its slot is free again.
    let (_, m) = booking(other_lead, tech.user_id, at, 60);
    office.mutate(m).await;
    office.sync().await;
    assert_eq!(reasons(&office).len(), 3, "{:?}", reasons(&office));
}

#[tokio::test]
async fn a_deactivated_technician_cannot_be_booked_and_a_technician_books_only_themselves() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut office = co.device(&app, "office@acme.test", Role::Office).await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;
    let gone = app.create_user(co.id, "gone@acme.test", Role::Technician).await;
    sqlx::query("update users set active = false where id = $1").bind(gone).execute(&app.pool).await.unwrap();
    let (lee, m) = customer("Lee Park");
    office.mutate(m).await;
    let (lead_id, m) = lead(lee);
    office.mutate(m).await;
    let (_, m) = booking(lead_id, gone, nine_tomorrow(), 60);
    office.mutate(m).await;
    office.sync().await;
    assert!(reasons(&office)[0].contains("not an active technician"), "{:?}", reasons(&office));

    // A technician sees the lead once booked, and may not book a colleague.
    let (_, m) = booking(lead_id, tech.user_id, nine_tomorrow(), 60);
    office.mutate(m).await;
    office.sync().await;
    tech.sync().await;
    let colleague = app.create_user(co.id, "t2@acme.test", Role::Technician).await;
    let (_, m) = booking(lead_id, colleague, nine_tomorrow(), 60);
    tech.mutate(m).await;
    tech.sync().await;
    assert!(reasons(&tech)[0].contains("only a manager or the office"), "{:?}", reasons(&tech));
}

#[tokio::test]
async fn the_office_sees_every_lead_and_a_disqualified_lead_keeps_its_reason() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;
    let mut office = co.device(&app, "office@acme.test", Role::Office).await;
    let mut rep = co.device(&app, "rep@acme.test", Role::SalesRep).await;
    let (_, lead_id, visit) = new_consultation(&mut tech).await;
    let (junk_customer, m) = customer("Spam Bot");
    tech.mutate(m).await;
    let (junk, m) = lead(junk_customer);
    tech.mutate(m).await;
    tech.sync().await;
    office.sync().await;
    rep.sync().await;
    assert!(
        office.has(Entity::Lead, lead_id)
            && office.has(Entity::Consultation, visit)
            && office.has(Entity::Lead, junk)
    );
    assert!(!rep.has(Entity::Lead, junk), "a rep sees only their own leads");
    // Another company's office sees none of it, and cannot answer or book it.
    let other = Company::new(&app, "Other Air").await;
    let mut stranger = other.device(&app, "office@other.test", Role::Office).await;
    stranger
        .mutate(Mutation::LeadContact(LeadContact { id: lead_id, kind: "call".into(), at: Utc::now() }))
        .await;
    let (_, m) = booking(lead_id, stranger.user_id, nine_tomorrow(), 60);
    stranger.mutate(m).await;
    stranger.sync().await;
    assert!(!stranger.has(Entity::Lead, lead_id) && !stranger.has(Entity::Consultation, visit));
    let refused = reasons(&stranger);
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|r| r.contains("does not exist or is not yours") || r.contains("not an active technician")),
        "{refused:?}"
    );

    let disqualify = |id| {
        Mutation::LeadQualify(LeadQualify {
            id,
            qualification: "disqualified".into(),
            reason: Some("spam".into()),
            at: Utc::now(),
        })
    };
    office.mutate(disqualify(junk)).await;
    // A lead whose visit took place was real.
    tech.mutate(update(
        visit,
        tech.revision_of(Entity::Consultation, visit),
        serde_json::json!({ "held_at": Utc::now() }),
    ))
    .await;
    tech.sync().await;
    office.mutate(disqualify(lead_id)).await;
    office.sync().await;
    assert_eq!(office.row(Entity::Lead, junk).unwrap()["disqualified_reason"], "spam");
    let refused = reasons(&office);
    assert!(refused.len() == 1 && refused[0].contains("already had a visit"), "{refused:?}");
    let events: i64 = sqlx::query_scalar(
        "select count(*) from stage_events where lead_id = $1 and kind = 'disqualified' and details->>'reason' = 'spam'",
    )
    .bind(junk)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(events, 1);
}
