//! What a pending mutation looks like on the device before the server has applied it: the same
//! shape of row the server will send back, so the screen does not jump when it arrives.
//!
//! It reads a mutation in its wire form (name and JSON arguments, as the outbox holds it), not
//! as a typed [`Mutation`](super::mutation::Mutation): the first screen lays every pending write
//! over the records each time it opens, and parsing each argument type there put every
//! mutation's deserializer into the browser's first load (52 KB of wasm, 17 KB gzipped). The
//! arguments were made on this device by `Mutation::args` from a validated mutation, so their
//! fields are there.

use super::protocol::Entity;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

type View = BTreeMap<(Entity, Uuid), Value>;

fn uuid(args: &Value, key: &str) -> Option<Uuid> {
    args.get(key)?.as_str()?.parse().ok()
}

/// The record a pending write changes: the entity its name starts with (`record.delete` names
/// it in its arguments), and its `id`.
pub fn target(name: &str, args: &Value) -> Option<(Entity, Uuid)> {
    let entity = match name.split_once('.')? {
        ("record", "delete") => Entity::parse(args.get("entity")?.as_str()?)?,
        (entity, _) => Entity::parse(entity)?,
    };
    Some((entity, uuid(args, "id")?))
}

/// The consultation a pending or refused write belongs to, for the marks on its row: an option
/// or a photo is shown under its consultation, anything else under itself.
pub fn shown_under(name: &str, args: &Value) -> Option<Uuid> {
    match name {
        "option.upsert" | "attachment.add" => uuid(args, "consultation_id"),
        _ => target(name, args).map(|(_, id)| id),
    }
}

/// A row of the listed argument fields, plus fixed ones.
fn row(args: &Value, fields: &[&str], extra: Value) -> Value {
    let mut row: Map<String, Value> =
        fields.iter().map(|f| (f.to_string(), args.get(*f).cloned().unwrap_or(Value::Null))).collect();
    if let Value::Object(extra) = extra {
        row.extend(extra);
    }
    Value::Object(row)
}

fn merge(view: &mut View, key: (Entity, Uuid), fields: Value) {
    if let (Some(Value::Object(row)), Value::Object(fields)) = (view.get_mut(&key), fields) {
        row.extend(fields);
    }
}

/// Lays the pending write `name(args)`, queued at `at`, over `view`. A name this build does not
/// know changes nothing (the server will say what it did).
pub fn apply(view: &mut View, name: &str, args: &Value, at: DateTime<Utc>) {
    let Some(key) = target(name, args) else { return };
    let get = |field: &str| args.get(field).cloned().unwrap_or(Value::Null);
    let put = |view: &mut View, row: Value| {
        view.insert(key, row);
    };
    match name {
        "customer.create" => {
            let name = args.get("name").and_then(Value::as_str).unwrap_or("").trim();
            put(view, row(args, &["id", "phone", "email", "address"], json!({ "name": name })))
        }
        "lead.create" => put(
            view,
            row(
                args,
                &["id", "customer_id", "source", "service_type", "external_id", "campaign"],
                json!({ "lead_created_at": get("created_at"), "first_contact_at": get("first_contact_at"),
                    "notes": args.get("notes").cloned().unwrap_or(json!("")), "qualification": null,
                    "disqualified_reason": null, "last_contact_at": get("first_contact_at") }),
            ),
        ),
        "consultation.create" => put(
            view,
            row(
                args,
                &["id", "lead_id", "technician_id", "scheduled_at", "window_minutes", "problem"],
                json!({ "status": "open", "home": {}, "checklist": {}, "notes": "", "held_at": null,
                    "cancelled_at": null, "cancel_reason": null }),
            ),
        ),
        "customer.update_fields" | "consultation.update_fields" => merge(view, key, get("fields")),
        "consultation.set_outcome" => {
            let outcome = get("outcome");
            let field = |f: &str| outcome.get(f).cloned().unwrap_or(Value::Null);
            let fields = match outcome.get("status").and_then(Value::as_str) {
                Some("won") => json!({ "status": "won", "sold_option_id": field("option_id"),
                    "sold_amount_cents": field("amount_cents"), "decided_at": get("at") }),
                Some("lost") => json!({ "status": "lost", "lost_reason": field("reason"),
                    "competitor": field("competitor"), "outcome_note": field("note"), "decided_at": get("at") }),
                Some("reopened") => json!({ "status": "open", "decided_at": null }),
                _ => return,
            };
            merge(view, key, fields)
        }
        "option.upsert" => put(
            view,
            row(
                args,
                &[
                    "id",
                    "consultation_id",
                    "tier",
                    "position",
                    "line_items",
                    "price_cents",
                    "financing_plan",
                    "monthly_payment_cents",
                    "presented",
                ],
                json!({}),
            ),
        ),
        "activity.log" => put(
            view,
            row(
                args,
                &["id", "consultation_id", "kind", "outcome", "note"],
                json!({ "occurred_at": get("at") }),
            ),
        ),
        "followup.schedule" => put(
            view,
            row(
                args,
                &["id", "consultation_id", "due_at", "assignee_id", "note"],
                json!({ "done_at": null }),
            ),
        ),
        "followup.complete" => merge(view, key, json!({ "done_at": get("at") })),
        "followup.reassign" => merge(view, key, json!({ "assignee_id": get("assignee_id") })),
        "time_entry.log" => put(view, row(args, &["id", "category", "started_at", "ended_at"], json!({}))),
        "attachment.add" => put(
            view,
            row(
                args,
                &["id", "consultation_id", "kind", "sha256", "content_type", "byte_size"],
                json!({ "uploaded_at": at }),
            ),
        ),
        "record.delete" => {
            view.remove(&key);
        }
        "lead.contact" => {
            // The first contact stays the first; the latest is the latest.
            let first =
                view.get(&key).and_then(|l| l.get("first_contact_at")).filter(|v| !v.is_null()).cloned();
            merge(
                view,
                key,
                json!({ "first_contact_at": first.unwrap_or(get("at")), "last_contact_at": get("at") }),
            )
        }
        "lead.qualify" => merge(
            view,
            key,
            json!({ "qualification": get("qualification"), "disqualified_reason": get("reason") }),
        ),
        "consultation.reschedule" => merge(
            view,
            key,
            json!({ "scheduled_at": get("scheduled_at"), "window_minutes": get("window_minutes") }),
        ),
        "consultation.cancel" => {
            merge(view, key, json!({ "cancelled_at": get("at"), "cancel_reason": get("reason") }))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{domain::Cents, sync::mutation::*};

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn at() -> DateTime<Utc> {
        "2026-11-30T08:00:00Z".parse().unwrap()
    }

    /// A view holding a customer, a consultation and a follow-up, for the writes that merge.
    fn seeded() -> View {
        let mut view = View::new();
        view.insert(
            (Entity::Customer, id(1)),
            json!({ "id": id(1), "name": "Ada", "phone": null, "revision": 4 }),
        );
        view.insert(
            (Entity::Consultation, id(2)),
            json!({ "id": id(2), "status": "open", "problem": "no heat", "revision": 7 }),
        );
        view.insert((Entity::Followup, id(3)), json!({ "id": id(3), "done_at": null, "assignee_id": id(8) }));
        view
    }

    fn overlay(m: Mutation) -> View {
        let mut view = seeded();
        apply(&mut view, m.name(), &m.args(), at());
        view
    }

    fn row(view: &View, entity: Entity, n: u128) -> Value {
        view.get(&(entity, id(n))).cloned().unwrap_or(Value::Null)
    }

    #[test]
    fn a_new_record_looks_like_the_row_the_server_will_send() {
        let v = overlay(Mutation::CustomerCreate(CustomerCreate {
            id: id(10),
            name: "  Grace Hopper ".into(),
            phone: Some("+15125550143".into()),
            email: None,
            address: Some("1 Main St".into()),
        }));
        assert_eq!(
            row(&v, Entity::Customer, 10),
            json!({ "id": id(10), "name": "Grace Hopper", "phone": "+15125550143", "email": null, "address": "1 Main St" })
        );
        let v = overlay(Mutation::LeadCreate(LeadCreate {
            id: id(11),
            customer_id: id(1),
            source: "referral".into(),
            service_type: "hvac".into(),
            created_at: at(),
            first_contact_at: None,
            external_id: None,
            ..Default::default()
        }));
        assert_eq!(
            row(&v, Entity::Lead, 11),
            json!({ "id": id(11), "customer_id": id(1), "source": "referral", "service_type": "hvac",
                    "external_id": null, "campaign": null, "notes": "", "qualification": null,
                    "disqualified_reason": null, "last_contact_at": null,
                    "lead_created_at": at(), "first_contact_at": null })
        );
        let v = overlay(Mutation::ConsultationCreate(ConsultationCreate {
            id: id(12),
            lead_id: id(11),
            technician_id: None,
            scheduled_at: None,
            problem: "no heat".into(),
            ..Default::default()
        }));
        assert_eq!(
            row(&v, Entity::Consultation, 12),
            json!({ "id": id(12), "lead_id": id(11), "technician_id": null, "scheduled_at": null, "problem": "no heat",
                    "window_minutes": null, "held_at": null, "cancelled_at": null, "cancel_reason": null,
                    "status": "open", "home": {}, "checklist": {}, "notes": "" })
        );
        let line = LineItem {
            price_book_item_id: Some(id(20)),
            description: "Furnace".into(),
            quantity: 1,
            unit_price_cents: Cents(450_000),
            discount_cents: Cents(0),
        };
        let v = overlay(Mutation::OptionUpsert(OptionUpsert {
            id: id(13),
            consultation_id: id(2),
            tier: "good".into(),
            position: 0,
            line_items: vec![line.clone()],
            price_cents: Cents(450_000),
            financing_plan: Some("60m".into()),
            monthly_payment_cents: Some(Cents(8_900)),
            presented: true,
        }));
        assert_eq!(
            row(&v, Entity::Option, 13),
            json!({ "id": id(13), "consultation_id": id(2), "tier": "good", "position": 0, "line_items": [line],
                    "price_cents": 450_000, "financing_plan": "60m", "monthly_payment_cents": 8_900, "presented": true })
        );
        let v = overlay(Mutation::ActivityLog(ActivityLog {
            id: id(14),
            consultation_id: id(2),
            kind: "call".into(),
            outcome: None,
            at: at(),
            note: "left a message".into(),
        }));
        assert_eq!(
            row(&v, Entity::Activity, 14),
            json!({ "id": id(14), "consultation_id": id(2), "kind": "call", "outcome": null, "occurred_at": at(),
                    "note": "left a message" })
        );
        let v = overlay(Mutation::FollowupSchedule(FollowupSchedule {
            id: id(15),
            consultation_id: id(2),
            due_at: at(),
            assignee_id: None,
            note: String::new(),
        }));
        assert_eq!(
            row(&v, Entity::Followup, 15),
            json!({ "id": id(15), "consultation_id": id(2), "due_at": at(), "assignee_id": null, "done_at": null, "note": "" })
        );
        let v = overlay(Mutation::TimeEntryLog(TimeEntryLog {
            id: id(16),
            category: "driving".into(),
            started_at: at(),
            ended_at: None,
        }));
        assert_eq!(
            row(&v, Entity::TimeEntry, 16),
            json!({ "id": id(16), "category": "driving", "started_at": at(), "ended_at": null })
        );
        let sha = "a".repeat(64);
        let v = overlay(Mutation::AttachmentAdd(AttachmentAdd {
            id: id(17),
            consultation_id: id(2),
            kind: "photo".into(),
            sha256: sha.clone(),
            content_type: "image/jpeg".into(),
            byte_size: 1234,
        }));
        assert_eq!(
            row(&v, Entity::Attachment, 17),
            json!({ "id": id(17), "consultation_id": id(2), "kind": "photo", "sha256": sha,
                    "content_type": "image/jpeg", "byte_size": 1234, "uploaded_at": at() })
        );
    }

    #[test]
    fn an_edit_changes_only_its_fields_and_a_delete_removes_the_record() {
        let mut fields = Map::new();
        fields.insert("phone".into(), json!("+15125550143"));
        let v = overlay(Mutation::CustomerUpdate(FieldUpdate { id: id(1), base_version: 4, fields }));
        assert_eq!(
            row(&v, Entity::Customer, 1),
            json!({ "id": id(1), "name": "Ada", "phone": "+15125550143", "revision": 4 })
        );
        let mut fields = Map::new();
        fields.insert("problem".into(), json!("no heat upstairs"));
        let v = overlay(Mutation::ConsultationUpdate(FieldUpdate { id: id(2), base_version: 7, fields }));
        assert_eq!(row(&v, Entity::Consultation, 2)["problem"], "no heat upstairs");
        assert_eq!(row(&v, Entity::Consultation, 2)["revision"], 7);

        let won = |outcome| Mutation::SetOutcome(SetOutcome { id: id(2), outcome, at: at() });
        let v = overlay(won(Outcome::Won { option_id: Some(id(13)), amount_cents: Cents(450_000) }));
        assert_eq!(
            row(&v, Entity::Consultation, 2),
            json!({ "id": id(2), "status": "won", "problem": "no heat", "revision": 7, "sold_option_id": id(13),
                    "sold_amount_cents": 450_000, "decided_at": at() })
        );
        let v = overlay(won(Outcome::Lost {
            reason: "price".into(),
            competitor: Some("Acme".into()),
            note: None,
        }));
        assert_eq!(
            row(&v, Entity::Consultation, 2),
            json!({ "id": id(2), "status": "lost", "problem": "no heat", "revision": 7, "lost_reason": "price",
                    "competitor": "Acme", "outcome_note": null, "decided_at": at() })
        );
        let v = overlay(won(Outcome::Reopened));
        assert_eq!(row(&v, Entity::Consultation, 2)["status"], "open");
        assert_eq!(row(&v, Entity::Consultation, 2)["decided_at"], Value::Null);

        let v = overlay(Mutation::FollowupComplete(FollowupComplete { id: id(3), at: at() }));
        assert_eq!(
            row(&v, Entity::Followup, 3),
            json!({ "id": id(3), "done_at": at(), "assignee_id": id(8) })
        );
        let v = overlay(Mutation::FollowupReassign(FollowupReassign { id: id(3), assignee_id: id(9) }));
        assert_eq!(row(&v, Entity::Followup, 3)["assignee_id"], json!(id(9)));

        // An edit of a record this device does not hold changes nothing (and makes no record).
        let v = overlay(Mutation::FollowupComplete(FollowupComplete { id: id(99), at: at() }));
        assert_eq!(v, seeded());

        let v = overlay(Mutation::Delete(DeleteRecord { entity: Entity::Followup, id: id(3) }));
        assert!(!v.contains_key(&(Entity::Followup, id(3))));
        assert_eq!(v.len(), seeded().len() - 1);
    }

    #[test]
    fn a_write_is_found_under_its_record_and_its_consultation() {
        let option = Mutation::OptionUpsert(OptionUpsert {
            id: id(13),
            consultation_id: id(2),
            tier: "good".into(),
            position: 0,
            line_items: vec![],
            price_cents: Cents(0),
            financing_plan: None,
            monthly_payment_cents: None,
            presented: false,
        });
        assert_eq!(target(option.name(), &option.args()), Some((Entity::Option, id(13))));
        assert_eq!(shown_under(option.name(), &option.args()), Some(id(2)));
        let delete = Mutation::Delete(DeleteRecord { entity: Entity::Attachment, id: id(17) });
        assert_eq!(target(delete.name(), &delete.args()), Some((Entity::Attachment, id(17))));
        let edit =
            Mutation::ConsultationUpdate(FieldUpdate { id: id(2), base_version: 1, fields: Map::new() });
        assert_eq!(target(edit.name(), &edit.args()), Some((Entity::Consultation, id(2))));
        assert_eq!(shown_under(edit.name(), &edit.args()), Some(id(2)));
        // Every mutation name starts with the entity it writes (or is the one delete).
        for name in NAMES {
            let entity = name.split_once('.').unwrap().0;
            assert!(Entity::parse(entity).is_some() || *name == "record.delete", "{name}");
        }
        assert_eq!(target("customer.create", &json!({ "id": "not a uuid" })), None);
    }

    #[test]
    fn booking_and_the_inbox_show_before_the_server_answers() {
        let mut view = seeded();
        view.insert((Entity::Lead, id(5)), json!({ "id": id(5), "first_contact_at": null }));
        let contact = |n: u32| LeadContact {
            id: id(5),
            kind: "call".into(),
            at: at() + chrono::Duration::minutes(n.into()),
        };
        for m in [Mutation::LeadContact(contact(1)), Mutation::LeadContact(contact(9))] {
            apply(&mut view, m.name(), &m.args(), at());
        }
        let lead = row(&view, Entity::Lead, 5);
        assert_eq!(
            lead["first_contact_at"],
            json!(at() + chrono::Duration::minutes(1)),
            "the first stays first"
        );
        assert_eq!(lead["last_contact_at"], json!(at() + chrono::Duration::minutes(9)));
        let m = Mutation::LeadQualify(LeadQualify {
            id: id(5),
            qualification: "disqualified".into(),
            reason: Some("spam".into()),
            at: at(),
        });
        apply(&mut view, m.name(), &m.args(), at());
        assert_eq!(row(&view, Entity::Lead, 5)["disqualified_reason"], json!("spam"));
        let m = Mutation::Reschedule(Reschedule { id: id(2), scheduled_at: at(), window_minutes: 90 });
        apply(&mut view, m.name(), &m.args(), at());
        let m = Mutation::Cancel(Cancel { id: id(2), reason: "no_access".into(), at: at() });
        apply(&mut view, m.name(), &m.args(), at());
        let visit = row(&view, Entity::Consultation, 2);
        assert_eq!(
            (visit["window_minutes"].clone(), visit["cancel_reason"].clone()),
            (json!(90), json!("no_access"))
        );
    }
}
