//! Booked visits: a technician's window must not overlap another of their booked visits, and a
//! visit that will not happen is cancelled, not deleted, so its history stays.

use super::{deferred::Deferred, Actor, ApplyError};
use app::sync::mutation::{Cancel, Reschedule};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A window on a technician's day.
pub struct Window {
    pub technician: Uuid,
    pub start: DateTime<Utc>,
    pub minutes: u16,
}

impl Window {
    fn end(&self) -> DateTime<Utc> {
        self.start + Duration::minutes(self.minutes.into())
    }
}

/// Refuses `window` if it overlaps another live, open, not yet held booked visit of the same
/// technician (`visit` itself aside, when it moves). Two pushes booking one technician at once
/// are serialised by a transaction lock on the technician, so both cannot pass the check.
pub async fn check_clash(
    db: &mut PgConnection,
    actor: &Actor,
    visit: Uuid,
    window: &Window,
) -> Result<(), ApplyError> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('booking:' || $1, 0))",
        window.technician.to_string()
    )
    .execute(&mut *db)
    .await?;
    let clash = sqlx::query!(
        r#"select cu.name, c.scheduled_at as "start!", c.window_minutes as "minutes!", co.time_zone, u.name as tech
         from consultations c
         join customers cu on cu.company_id = c.company_id and cu.id = c.customer_id
         join companies co on co.id = c.company_id
         join users u on u.company_id = c.company_id and u.id = c.technician_id
         where c.company_id = $1 and c.technician_id = $2 and c.id <> $3 and not c.deleted
           and c.cancelled_at is null and c.held_at is null and c.status = 'open' and c.window_minutes is not null
           and c.scheduled_at < $5 and c.scheduled_at + make_interval(mins => c.window_minutes) > $4
         order by c.scheduled_at limit 1"#,
        actor.company_id,
        window.technician,
        visit,
        window.start,
        window.end()
    )
    .fetch_optional(&mut *db)
    .await?;
    let Some(clash) = clash else { return Ok(()) };
    let tz: chrono_tz::Tz = clash.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = |t: DateTime<Utc>| t.with_timezone(&tz);
    let end = clash.start + Duration::minutes(clash.minutes.into());
    Err(ApplyError::rejected(format!(
        "{} already has a visit {}–{} ({}): pick another time or technician",
        clash.tech,
        local(clash.start).format("%a %b %-d %H:%M"),
        local(end).format("%H:%M"),
        clash.name
    )))
}

/// The booked visit as it stands, locked: who it is for and whether it can still move.
struct Booked {
    lead_id: Uuid,
    technician_id: Uuid,
    scope_users: Vec<Uuid>,
}

async fn booked_for_change(db: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Booked, ApplyError> {
    let row = sqlx::query!(
        "select lead_id, technician_id, scope_users, deleted, held_at, cancelled_at, status from consultations
         where company_id = $1 and id = $2 and ($3 or $4 = any(scope_users)) for update",
        actor.company_id,
        id,
        actor.sees_all(),
        actor.user_id
    )
    .fetch_optional(&mut *db)
    .await?
    .ok_or_else(|| ApplyError::rejected("the visit does not exist or is not yours"))?;
    if row.deleted {
        return Err(ApplyError::rejected("the visit was deleted"));
    }
    if row.cancelled_at.is_some() {
        return Err(ApplyError::rejected("the visit was cancelled; book a new one"));
    }
    if row.held_at.is_some() || row.status != "open" {
        return Err(ApplyError::rejected("the visit has already taken place"));
    }
    Ok(Booked { lead_id: row.lead_id, technician_id: row.technician_id, scope_users: row.scope_users })
}

pub async fn reschedule(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &Reschedule,
    version: i64,
) -> Result<(), ApplyError> {
    // What a previous mutation of this push read of it no longer holds after this.
    deferred.consultation = None;
    let visit = booked_for_change(db, actor, m.id).await?;
    let window = Window { technician: visit.technician_id, start: m.scheduled_at, minutes: m.window_minutes };
    check_clash(db, actor, m.id, &window).await?;
    sqlx::query!(
        "update consultations set scheduled_at = $3, window_minutes = $4, version = $5, revision = revision + 1,
            updated_by = $6, updated_at = now()
         where company_id = $1 and id = $2",
        actor.company_id,
        m.id,
        m.scheduled_at,
        i32::from(m.window_minutes),
        version,
        actor.user_id
    )
    .execute(&mut *db)
    .await?;
    let details = serde_json::json!({ "rescheduled": true });
    deferred.stage_event(
        actor.user_id,
        visit.lead_id,
        Some(m.id),
        "consultation_scheduled",
        m.scheduled_at,
        details,
        &visit.scope_users,
    );
    Ok(())
}

pub async fn cancel(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &Cancel,
    version: i64,
) -> Result<(), ApplyError> {
    deferred.consultation = None;
    let visit = booked_for_change(db, actor, m.id).await?;
    sqlx::query!(
        "update consultations set cancelled_at = $3, cancel_reason = $4, version = $5, revision = revision + 1,
            updated_by = $6, updated_at = now()
         where company_id = $1 and id = $2",
        actor.company_id,
        m.id,
        m.at,
        &m.reason,
        version,
        actor.user_id
    )
    .execute(&mut *db)
    .await?;
    let details = serde_json::json!({ "reason": m.reason });
    deferred.stage_event(
        actor.user_id,
        visit.lead_id,
        Some(m.id),
        "consultation_cancelled",
        m.at,
        details,
        &visit.scope_users,
    );
    Ok(())
}
