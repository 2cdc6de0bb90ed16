//! What a device keeps (docs/sync.md, "What a device keeps"): open work, upcoming visits, every
//! customer, the reference data, and the company's window of finished work. The server sends a
//! first sync by these rules (`server::sync::window`, the same rules in SQL); a device that has
//! been syncing for months evicts the rows that have left the window since, with [`outside`].
//!
//! Eviction is local: the server still has every row, and a row changed later (a quote
//! reopened, which stamps its whole family again) comes back in the next pull like any change.
//! Nothing a pending write names is evicted.

use super::{
    engine::ServerRow,
    protocol::{Entity, MutationEnvelope},
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

fn time(row: &Value, key: &str) -> Option<DateTime<Utc>> {
    row.get(key)?.as_str()?.parse().ok()
}

fn id(row: &Value, key: &str) -> Option<Uuid> {
    row.get(key)?.as_str()?.parse().ok()
}

/// Whether a consultation row is kept at `cutoff`.
pub fn consultation_kept(row: &Value, cutoff: DateTime<Utc>) -> bool {
    let open =
        row.get("status").and_then(Value::as_str) == Some("open") && time(row, "cancelled_at").is_none();
    let last = ["decided_at", "cancelled_at", "scheduled_at", "created_at"].iter().find_map(|k| time(row, k));
    open || last.is_some_and(|t| t >= cutoff)
}

/// The rows of `rows` outside the window at `cutoff`, except those a `pending` write names (its
/// record, or the consultation it belongs to) and the consultations `kept` (found by a search
/// of older work), each with its family.
pub fn outside(
    rows: &BTreeMap<(Entity, Uuid), ServerRow>,
    pending: &[MutationEnvelope],
    kept: &[Uuid],
    cutoff: DateTime<Utc>,
) -> Vec<(Entity, Uuid)> {
    let named: HashSet<Uuid> = pending
        .iter()
        .flat_map(|m| ["id", "consultation_id", "lead_id"].map(|k| id(&m.args, k)))
        .flatten()
        .chain(kept.iter().copied())
        .collect();
    let kept_consultations: HashSet<Uuid> = rows
        .iter()
        .filter(|((e, _), _)| *e == Entity::Consultation)
        .filter(|((_, i), r)| named.contains(i) || consultation_kept(&r.data, cutoff))
        .map(|((_, i), _)| *i)
        .collect();
    let leads_with_kept: HashSet<Uuid> = rows
        .iter()
        .filter(|((e, i), _)| *e == Entity::Consultation && kept_consultations.contains(i))
        .filter_map(|(_, r)| id(&r.data, "lead_id"))
        .collect();
    let lead_kept = |lead: Uuid| {
        named.contains(&lead)
            || leads_with_kept.contains(&lead)
            || rows
                .get(&(Entity::Lead, lead))
                .and_then(|r| time(&r.data, "lead_created_at"))
                .is_some_and(|t| t >= cutoff)
    };
    let with_consultation =
        |r: &ServerRow| id(&r.data, "consultation_id").is_some_and(|c| kept_consultations.contains(&c));
    rows.iter()
        .filter(|((entity, row_id), r)| {
            if named.contains(row_id) {
                return false;
            }
            let kept = match entity {
                Entity::Consultation => kept_consultations.contains(row_id),
                Entity::Option | Entity::Activity | Entity::Followup | Entity::Attachment => {
                    with_consultation(r)
                }
                Entity::Lead => lead_kept(*row_id),
                Entity::StageEvent => match id(&r.data, "consultation_id") {
                    Some(_) => with_consultation(r),
                    None => id(&r.data, "lead_id").is_some_and(lead_kept),
                },
                Entity::TimeEntry => {
                    r.data.get("ended_at").is_none_or(Value::is_null)
                        || time(&r.data, "started_at").is_some_and(|t| t >= cutoff)
                }
                _ => true,
            };
            !kept
        })
        .map(|(k, _)| *k)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(data: Value) -> ServerRow {
        ServerRow { version: 1, data }
    }

    #[test]
    fn finished_work_leaves_with_its_family_open_work_and_customers_stay() {
        let now: DateTime<Utc> = "2026-12-05T12:00:00Z".parse().unwrap();
        let cutoff = now - chrono::Duration::days(90);
        let old = "2026-03-01T12:00:00Z";
        let ids: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
        let (old_won, old_open, old_lead, open_lead, customer, option, event, lead_event, entry, running) =
            (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8], ids[9]);
        let mut rows = BTreeMap::new();
        rows.insert(
            (Entity::Consultation, old_won),
            row(json!({"status": "won", "decided_at": old, "lead_id": old_lead, "created_at": old})),
        );
        rows.insert(
            (Entity::Consultation, old_open),
            row(json!({"status": "open", "scheduled_at": old, "lead_id": open_lead, "created_at": old})),
        );
        rows.insert((Entity::Lead, old_lead), row(json!({"lead_created_at": old})));
        rows.insert((Entity::Lead, open_lead), row(json!({"lead_created_at": old})));
        rows.insert((Entity::Customer, customer), row(json!({"name": "Ann", "created_at": old})));
        rows.insert((Entity::Option, option), row(json!({"consultation_id": old_won})));
        rows.insert(
            (Entity::StageEvent, event),
            row(json!({"consultation_id": old_won, "lead_id": old_lead})),
        );
        rows.insert(
            (Entity::StageEvent, lead_event),
            row(json!({"consultation_id": null, "lead_id": open_lead})),
        );
        rows.insert((Entity::TimeEntry, entry), row(json!({"started_at": old, "ended_at": old})));
        rows.insert((Entity::TimeEntry, running), row(json!({"started_at": old, "ended_at": null})));
        let mut gone = outside(&rows, &[], &[], cutoff);
        gone.sort();
        let mut expected = vec![
            (Entity::Consultation, old_won),
            (Entity::Lead, old_lead),
            (Entity::Option, option),
            (Entity::StageEvent, event),
            (Entity::TimeEntry, entry),
        ];
        expected.sort();
        assert_eq!(gone, expected);

        // A pending write on the old sale keeps it and its family.
        let pending = MutationEnvelope {
            id: 1,
            name: "activity.log".into(),
            args: json!({"id": Uuid::now_v7(), "consultation_id": old_won}),
            client_ts: now,
        };
        let gone = outside(&rows, &[pending], &[], cutoff);
        assert_eq!(gone, vec![(Entity::TimeEntry, entry)]);
        // So does having found it by a search.
        assert_eq!(outside(&rows, &[], &[old_won], cutoff), vec![(Entity::TimeEntry, entry)]);
    }
}
