//! What a pending mutation looks like on the device before the server has applied it: the same
//! shape of row the server will send back, so the screen does not jump when it arrives.

use super::{mutation::*, protocol::Entity};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

type View = BTreeMap<(Entity, Uuid), Value>;

fn merge(view: &mut View, key: (Entity, Uuid), fields: &Map<String, Value>) {
    if let Some(Value::Object(row)) = view.get_mut(&key) {
        for (k, v) in fields {
            row.insert(k.clone(), v.clone());
        }
    }
}

fn put(view: &mut View, entity: Entity, id: Uuid, row: Value) {
    view.insert((entity, id), row);
}

pub fn apply(view: &mut View, mutation: &Mutation, at: DateTime<Utc>) {
    match mutation {
        Mutation::CustomerCreate(m) => put(
            view,
            Entity::Customer,
            m.id,
            json!({ "id": m.id, "name": m.name.trim(), "phone": m.phone, "email": m.email, "address": m.address }),
        ),
        Mutation::CustomerUpdate(m) => merge(view, (Entity::Customer, m.id), &m.fields),
        Mutation::LeadCreate(m) => put(
            view,
            Entity::Lead,
            m.id,
            json!({ "id": m.id, "customer_id": m.customer_id, "source": m.source, "service_type": m.service_type,
                    "lead_created_at": m.created_at, "first_contact_at": null }),
        ),
        Mutation::ConsultationCreate(m) => put(
            view,
            Entity::Consultation,
            m.id,
            json!({ "id": m.id, "lead_id": m.lead_id, "technician_id": m.technician_id, "scheduled_at": m.scheduled_at,
                    "problem": m.problem, "status": "open", "home": {}, "checklist": {}, "notes": "" }),
        ),
        Mutation::ConsultationUpdate(m) => merge(view, (Entity::Consultation, m.id), &m.fields),
        Mutation::SetOutcome(m) => {
            let fields = match &m.outcome {
                Outcome::Won { option_id, amount_cents } => {
                    json!({ "status": "won", "sold_option_id": option_id,
                    "sold_amount_cents": amount_cents.0, "decided_at": m.at })
                }
                Outcome::Lost { reason, competitor, note } => {
                    json!({ "status": "lost", "lost_reason": reason,
                    "competitor": competitor, "outcome_note": note, "decided_at": m.at })
                }
                Outcome::Reopened => json!({ "status": "open", "decided_at": null }),
            };
            if let Value::Object(fields) = fields {
                merge(view, (Entity::Consultation, m.id), &fields);
            }
        }
        Mutation::OptionUpsert(m) => put(
            view,
            Entity::Option,
            m.id,
            json!({ "id": m.id, "consultation_id": m.consultation_id, "tier": m.tier, "position": m.position,
                    "line_items": m.line_items, "price_cents": m.price_cents.0, "financing_plan": m.financing_plan,
                    "monthly_payment_cents": m.monthly_payment_cents.map(|c| c.0), "presented": m.presented }),
        ),
        Mutation::ActivityLog(m) => put(
            view,
            Entity::Activity,
            m.id,
            json!({ "id": m.id, "consultation_id": m.consultation_id, "kind": m.kind, "outcome": m.outcome,
                    "occurred_at": m.at, "note": m.note }),
        ),
        Mutation::FollowupSchedule(m) => put(
            view,
            Entity::Followup,
            m.id,
            json!({ "id": m.id, "consultation_id": m.consultation_id, "due_at": m.due_at, "assignee_id": m.assignee_id,
                    "done_at": null, "note": m.note }),
        ),
        Mutation::FollowupComplete(m) => {
            let fields = json!({ "done_at": m.at });
            if let Value::Object(fields) = fields {
                merge(view, (Entity::Followup, m.id), &fields);
            }
        }
        Mutation::FollowupReassign(m) => {
            let fields = json!({ "assignee_id": m.assignee_id });
            if let Value::Object(fields) = fields {
                merge(view, (Entity::Followup, m.id), &fields);
            }
        }
        Mutation::TimeEntryLog(m) => put(
            view,
            Entity::TimeEntry,
            m.id,
            json!({ "id": m.id, "category": m.category, "started_at": m.started_at, "ended_at": m.ended_at }),
        ),
        Mutation::AttachmentAdd(m) => put(
            view,
            Entity::Attachment,
            m.id,
            json!({ "id": m.id, "consultation_id": m.consultation_id, "kind": m.kind, "sha256": m.sha256,
                    "content_type": m.content_type, "byte_size": m.byte_size, "uploaded_at": at }),
        ),
        Mutation::Delete(m) => {
            view.remove(&(m.entity, m.id));
        }
    }
}
