//! A lead's life before its visit: answered (the first answer stops the speed-to-lead clock)
//! and judged worth a visit or not.

use super::{deferred::Deferred, Actor, ApplyError};
use app::sync::mutation::{LeadContact, LeadQualify};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

struct LeadRow {
    created: DateTime<Utc>,
    first_contact_at: Option<DateTime<Utc>>,
    scope_users: Vec<Uuid>,
}

/// The lead, locked, if the actor may write it.
async fn lead_for_write(db: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<LeadRow, ApplyError> {
    let row = sqlx::query!(
        "select lead_created_at, first_contact_at, scope_users, deleted from leads
         where company_id = $1 and id = $2 and ($3 or $4 = any(scope_users)) for update",
        actor.company_id,
        id,
        actor.sees_all(),
        actor.user_id
    )
    .fetch_optional(&mut *db)
    .await?
    .ok_or_else(|| ApplyError::rejected("the lead does not exist or is not yours"))?;
    if row.deleted {
        return Err(ApplyError::rejected("the lead was deleted"));
    }
    Ok(LeadRow {
        created: row.lead_created_at,
        first_contact_at: row.first_contact_at,
        scope_users: row.scope_users,
    })
}

pub async fn contact(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &LeadContact,
    version: i64,
) -> Result<(), ApplyError> {
    let lead = lead_for_write(db, actor, m.id).await?;
    // A phone's clock a few seconds behind the server's must not make a call answered before
    // the web lead arrived (a negative speed to lead): the contact counts from the arrival.
    let at = m.at.max(lead.created);
    sqlx::query!(
        "update leads set first_contact_at = coalesce(first_contact_at, $3),
            last_contact_at = greatest(last_contact_at, $3), version = $4, revision = revision + 1,
            updated_by = $5, updated_at = now()
         where company_id = $1 and id = $2",
        actor.company_id,
        m.id,
        at,
        version,
        actor.user_id
    )
    .execute(&mut *db)
    .await?;
    if lead.first_contact_at.is_none() {
        let details = serde_json::json!({ "kind": m.kind });
        deferred.stage_event(actor.user_id, m.id, None, "first_contact", at, details, &lead.scope_users);
    }
    Ok(())
}

pub async fn qualify(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &LeadQualify,
    version: i64,
) -> Result<(), ApplyError> {
    let lead = lead_for_write(db, actor, m.id).await?;
    if m.qualification == "disqualified" {
        let visited = sqlx::query_scalar!(
            r#"select exists(select 1 from consultations where company_id = $1 and lead_id = $2 and not deleted
                             and held_at is not null) as "visited!""#,
            actor.company_id,
            m.id
        )
        .fetch_one(&mut *db)
        .await?;
        if visited {
            return Err(ApplyError::rejected("the lead already had a visit, so it cannot be disqualified"));
        }
    }
    sqlx::query!(
        "update leads set qualification = $3, disqualified_reason = $4, version = $5, revision = revision + 1,
            updated_by = $6, updated_at = now()
         where company_id = $1 and id = $2",
        actor.company_id,
        m.id,
        &m.qualification,
        m.reason.as_deref(),
        version,
        actor.user_id
    )
    .execute(&mut *db)
    .await?;
    let details = serde_json::json!({ "reason": m.reason });
    deferred.stage_event(actor.user_id, m.id, None, &m.qualification, m.at, details, &lead.scope_users);
    Ok(())
}
