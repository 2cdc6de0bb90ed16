//! What a push keeps in memory until its end instead of writing at once: the stage events its
//! mutations record, and the consultation a run of mutations works on.
//!
//! Stage events are never updated by the mutation that records them and are read back within a
//! push in only three places (has this consultation had its options presented; a consultation's
//! and a lead's events following a change of scope). Those three have twins here that look at
//! and change the held events the same way the SQL does the stored ones. So the events of a
//! push are inserted in one statement at its end: one statement instead of one per event.

use super::scope::ConsultationRef;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Snapshot with `clone` before a mutation that may be rejected alone (`push`'s careful
/// attempt), restore it if it is: a rejected mutation leaves nothing here either.
#[derive(Clone, Default)]
pub struct Pending {
    events: Vec<PendingEvent>,
    /// The consultation a previous mutation of this push created or read and locked (the lock
    /// holds until commit), as it now stands: a visit's steps, options, activities, follow-up
    /// and outcome come in runs, and each one but the first reuses it
    /// (`apply::consultation_ref`). A mutation that changes what was read of it updates it
    /// here; a delete clears it.
    pub consultation: Option<(Uuid, ConsultationRef)>,
    /// Set for the optimistic attempt only: a run of activities is held and inserted in one
    /// statement when the run ends (`apply`) or the push does. Nothing reads activities back
    /// within a run. An id already taken then fails the whole attempt, and the careful attempt,
    /// which inserts each at once, names the mutation.
    pub hold_activities: bool,
    activities: Vec<HeldActivity>,
}

#[derive(Clone)]
pub struct HeldActivity {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub kind: String,
    pub outcome: Option<String>,
    pub at: DateTime<Utc>,
    pub note: String,
    pub scope_users: Vec<Uuid>,
}

#[derive(Clone)]
struct PendingEvent {
    id: Uuid,
    lead_id: Uuid,
    consultation_id: Option<Uuid>,
    kind: String,
    at: DateTime<Utc>,
    actor: Uuid,
    details: serde_json::Value,
    scope_users: Vec<Uuid>,
}

impl Pending {
    /// Records a stage event of `lead` (and `consultation`), seen by `scope_users`.
    #[allow(clippy::too_many_arguments)]
    pub fn stage_event(
        &mut self,
        actor: Uuid,
        lead_id: Uuid,
        consultation_id: Option<Uuid>,
        kind: &str,
        at: DateTime<Utc>,
        details: serde_json::Value,
        scope_users: &[Uuid],
    ) {
        self.events.push(PendingEvent {
            id: Uuid::now_v7(),
            lead_id,
            consultation_id,
            kind: kind.to_string(),
            at,
            actor,
            details,
            scope_users: scope_users.to_vec(),
        });
    }

    /// This push has recorded a `kind` event of `consultation`.
    pub fn has_event(&self, consultation: Uuid, kind: &str) -> bool {
        self.events.iter().any(|e| e.consultation_id == Some(consultation) && e.kind == kind)
    }

    /// Twin of `scope::spread_children` for held events: a consultation's events are seen by
    /// exactly `users`.
    pub fn set_consultation_scope(&mut self, consultation: Uuid, users: &[Uuid]) {
        for e in self.events.iter_mut().filter(|e| e.consultation_id == Some(consultation)) {
            e.scope_users = distinct(users.iter());
        }
    }

    /// Twin of `scope::spread_up` for held events: a lead's own events are seen by `users` too.
    pub fn widen_lead_scope(&mut self, lead: Uuid, users: &[Uuid]) {
        for e in self.events.iter_mut().filter(|e| e.lead_id == lead && e.consultation_id.is_none()) {
            if !users.iter().all(|u| e.scope_users.contains(u)) {
                e.scope_users = distinct(e.scope_users.iter().chain(users));
            }
        }
    }

    pub fn hold_activity(&mut self, activity: HeldActivity) {
        self.activities.push(activity);
    }

    /// Inserts the held activities at `version`, in one statement; an id already taken is a
    /// rejection (of the attempt when a run was held: see `hold_activities`).
    pub async fn write_activities(
        &mut self,
        db: &mut PgConnection,
        actor: &super::Actor,
        version: i64,
    ) -> Result<(), super::ApplyError> {
        if self.activities.is_empty() {
            return Ok(());
        }
        let held = std::mem::take(&mut self.activities);
        let written: Vec<Uuid> = sqlx::query_scalar(
            "insert into activities (company_id, id, consultation_id, kind, outcome, occurred_at, note, version,
               scope_users, field_versions, created_by, updated_by)
             select $1, a.id, a.consultation_id, a.kind, a.outcome, a.at, a.note, $2, a.scope::uuid[], $3, $4, $4
             from unnest($5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::timestamptz[], $10::text[], $11::text[])
                  as a(id, consultation_id, kind, outcome, at, note, scope)
             on conflict (company_id, id) do nothing
             returning id",
        )
        .bind(actor.company_id)
        .bind(version)
        .bind(super::fields::created(actor))
        .bind(actor.user_id)
        .bind(held.iter().map(|a| a.id).collect::<Vec<_>>())
        .bind(held.iter().map(|a| a.consultation_id).collect::<Vec<_>>())
        .bind(held.iter().map(|a| a.kind.clone()).collect::<Vec<_>>())
        .bind(held.iter().map(|a| a.outcome.clone()).collect::<Vec<_>>())
        .bind(held.iter().map(|a| a.at).collect::<Vec<_>>())
        .bind(held.iter().map(|a| a.note.clone()).collect::<Vec<_>>())
        .bind(held.iter().map(|a| uuid_array(&a.scope_users)).collect::<Vec<_>>())
        .fetch_all(db)
        .await?;
        match held.iter().find(|a| !written.contains(&a.id)) {
            Some(taken) => Err(super::ApplyError::id_taken(taken.id)),
            None => Ok(()),
        }
    }

    /// Inserts the held events at `version`, in one statement.
    pub async fn write(&self, db: &mut PgConnection, company: Uuid, version: i64) -> Result<(), sqlx::Error> {
        if self.events.is_empty() {
            return Ok(());
        }
        let column = |f: fn(&PendingEvent) -> Uuid| self.events.iter().map(f).collect::<Vec<_>>();
        let scopes: Vec<String> = self.events.iter().map(|e| uuid_array(&e.scope_users)).collect();
        sqlx::query(
            "insert into stage_events (company_id, id, lead_id, consultation_id, kind, occurred_at, actor_id, details,
                version, scope_users, created_by, updated_by)
             select $1, e.id, e.lead_id, e.consultation_id, e.kind, e.at, e.actor, e.details, $2, e.scope::uuid[],
                e.actor, e.actor
             from unnest($3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::timestamptz[], $8::uuid[], $9::jsonb[],
                  $10::text[]) as e(id, lead_id, consultation_id, kind, at, actor, details, scope)",
        )
        .bind(company)
        .bind(version)
        .bind(column(|e| e.id))
        .bind(column(|e| e.lead_id))
        .bind(self.events.iter().map(|e| e.consultation_id).collect::<Vec<_>>())
        .bind(self.events.iter().map(|e| e.kind.clone()).collect::<Vec<_>>())
        .bind(self.events.iter().map(|e| e.at).collect::<Vec<_>>())
        .bind(column(|e| e.actor))
        .bind(self.events.iter().map(|e| e.details.clone()).collect::<Vec<_>>())
        .bind(scopes)
        .execute(db)
        .await?;
        Ok(())
    }
}

/// A uuid[] as text ('{a,b}'): how a list of scopes travels, as Postgres has no array of arrays
/// of varying length.
fn uuid_array(ids: &[Uuid]) -> String {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    format!("{{{}}}", ids.join(","))
}

/// The ids once each, in order (as `array(select distinct unnest(...))` gives them).
fn distinct<'a>(ids: impl Iterator<Item = &'a Uuid>) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = ids.copied().collect();
    out.sort();
    out.dedup();
    out
}
