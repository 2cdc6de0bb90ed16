//! What a push keeps in memory until its end instead of writing at once: the stage events its
//! mutations record, the rows nothing reads back (`batch`), and the consultation a run of
//! mutations works on.
//!
//! Stage events are never updated by the mutation that records them and are read back within a
//! push in only three places (has this consultation had its options presented; a consultation's
//! and a lead's events following a change of scope). Those three have twins here that look at
//! and change the deferred events the same way the SQL does the stored ones. So the events of a
//! push are inserted in one statement at its end: one statement instead of one per event.

use super::{
    batch::{self, Batch, DeferredEvent, Log, Row},
    scope::ConsultationRef,
    Actor, ApplyError,
};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Snapshot with `clone` before a mutation that may be rejected alone (`push`'s careful
/// attempt), restore it if it is: a rejected mutation leaves nothing here either.
#[derive(Clone, Default)]
pub struct Deferred {
    /// The consultation a previous mutation of this push created or read and locked (the lock
    /// holds until commit), as it now stands: a visit's steps, options, activities, follow-up
    /// and outcome come in runs, and each one but the first reuses it
    /// (`apply::consultation_ref`). A mutation that changes what was read of it updates it
    /// here; a delete clears it.
    pub consultation: Option<(Uuid, ConsultationRef)>,
    /// Set for the optimistic attempt only: rows nothing in the push reads back are batched and
    /// written together (`batch`). An id already taken then fails the whole attempt, and the
    /// careful attempt, which writes each mutation at once, names the mutation.
    batch_rows: bool,
    rows: Batch,
    events: Vec<DeferredEvent>,
}

impl Deferred {
    /// A push's deferred state; `batch_rows` for its optimistic attempt.
    pub fn new(batch_rows: bool) -> Self {
        Self { batch_rows, ..Self::default() }
    }

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
        self.events.push(DeferredEvent {
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

    /// Twin of `scope::spread_children` for deferred events: a consultation's events are seen by
    /// exactly `users`.
    pub fn set_consultation_scope(&mut self, consultation: Uuid, users: &[Uuid]) {
        for e in self.events.iter_mut().filter(|e| e.consultation_id == Some(consultation)) {
            e.scope_users = distinct(users.iter());
        }
    }

    /// Twin of `scope::spread_up` for deferred events: a lead's own events are seen by `users` too.
    pub fn widen_lead_scope(&mut self, lead: Uuid, users: &[Uuid]) {
        for e in self.events.iter_mut().filter(|e| e.lead_id == lead && e.consultation_id.is_none()) {
            if !users.iter().all(|u| e.scope_users.contains(u)) {
                e.scope_users = distinct(e.scope_users.iter().chain(users));
            }
        }
    }

    /// Twin of `set_outcome`'s closing of a decided quote's follow-ups, for the deferred ones.
    pub fn close_batched_followups(&mut self, consultation: Uuid, at: DateTime<Utc>) {
        self.rows.close_followups(consultation, at);
    }

    pub fn has_option(&self, id: Uuid) -> bool {
        self.rows.has_option(id)
    }

    /// Keeps `row` until the batched rows are written (`write_rows`, `finish`) in the optimistic
    /// attempt; in the careful one writes it at once, so that a row not written (`batch`'s rules)
    /// rejects this mutation alone. A second write of a batched id first writes the batch.
    pub async fn keep(
        &mut self,
        db: &mut PgConnection,
        actor: &Actor,
        version: i64,
        row: Row,
    ) -> Result<(), ApplyError> {
        if self.rows.contains(&row) {
            self.write_rows(db, actor, version).await?;
        }
        self.rows.add(row);
        if !self.batch_rows {
            self.write_rows(db, actor, version).await?;
        }
        Ok(())
    }

    /// Writes the batched rows now, in one statement: before a mutation that may read them.
    pub async fn write_rows(
        &mut self,
        db: &mut PgConnection,
        actor: &Actor,
        version: i64,
    ) -> Result<(), ApplyError> {
        batch::write_rows(db, &mut self.rows, actor, version).await
    }

    /// The push's last statement: the batched rows, the events, the log and the client's progress.
    pub async fn finish(
        &mut self,
        db: &mut PgConnection,
        log: &Log,
        actor: &Actor,
        version: i64,
        last: u64,
    ) -> Result<(), ApplyError> {
        batch::finish(db, &mut self.rows, &self.events, log, actor, version, last).await
    }
}

/// The ids once each, in order (as `array(select distinct unnest(...))` gives them).
fn distinct<'a>(ids: impl Iterator<Item = &'a Uuid>) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = ids.copied().collect();
    out.sort();
    out.dedup();
    out
}
