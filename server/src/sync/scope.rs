//! Who may see what, written into each row's `scope_users` so that every pull and every write
//! filters in SQL (`$manager or $user = any(scope_users)`), never only in a handler.

use super::{deferred::Deferred, Actor, ApplyError};
use sqlx::PgConnection;
use uuid::Uuid;

/// The people who see a consultation and everything under it: its technician, its sales rep
/// and whoever created it.
pub fn consultation_users(technician: Uuid, rep: Option<Uuid>, creator: Uuid) -> Vec<Uuid> {
    let mut users = vec![technician, creator];
    users.extend(rep);
    users.sort();
    users.dedup();
    users
}

/// A consultation the actor may write to, locked for the rest of the push.
#[derive(Clone)]
pub struct ConsultationRef {
    pub lead_id: Uuid,
    pub customer_id: Uuid,
    pub scope_users: Vec<Uuid>,
    pub status: String,
    pub technician_id: Uuid,
    pub sales_rep_id: Option<Uuid>,
    pub created_by: Uuid,
    pub held_at: Option<chrono::DateTime<chrono::Utc>>,
    pub deleted: bool,
    /// Its lead has had its first contact (a committed fact, or this push's own write).
    pub lead_contacted: bool,
    /// Whether its options were presented (a stored `options_presented` event), once a
    /// mutation needed to know: `None` until then.
    pub presented: Option<bool>,
}

pub async fn consultation_for_write(
    db: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<ConsultationRef, ApplyError> {
    // `presented` is not read here: it starts unknown and is looked up once a mutation needs it.
    let row = sqlx::query_as!(
        ConsultationRef,
        r#"select c.lead_id, c.customer_id, c.scope_users, c.status, c.technician_id, c.sales_rep_id, c.created_by,
                c.held_at, c.deleted, l.first_contact_at is not null as "lead_contacted!",
                null::boolean as "presented?"
         from consultations c join leads l on l.company_id = c.company_id and l.id = c.lead_id
         where c.company_id = $1 and c.id = $2 and ($3 or $4 = any(c.scope_users))
         for update of c"#,
        actor.company_id,
        id,
        actor.sees_all(),
        actor.user_id
    )
    .fetch_optional(&mut *db)
    .await?;
    match row {
        None => Err(ApplyError::rejected("the consultation does not exist or is not yours")),
        Some(c) if c.deleted => Err(ApplyError::rejected("the consultation was deleted")),
        Some(c) => Ok(c),
    }
}

/// Makes a consultation's family visible to exactly `users` (plus, for the shared customer and
/// lead, whoever saw them already), stamping every row with `version` so devices pull them.
#[allow(clippy::too_many_arguments)]
pub async fn spread(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    consultation_id: Uuid,
    lead_id: Uuid,
    customer_id: Uuid,
    users: &[Uuid],
    version: i64,
) -> Result<(), ApplyError> {
    spread_children(db, actor, consultation_id, users, version).await?;
    // The push's own events, not stored yet, follow the same way.
    deferred.set_consultation_scope(consultation_id, users);
    spread_up(db, deferred, actor, lead_id, customer_id, users, version).await
}

/// A consultation's own records (options, activities, ...) follow it to exactly `users`.
async fn spread_children(
    db: &mut PgConnection,
    actor: &Actor,
    consultation_id: Uuid,
    users: &[Uuid],
    version: i64,
) -> Result<(), ApplyError> {
    for table in ["options", "activities", "followups", "attachments", "stage_events"] {
        // Follow-ups also stay visible to their assignee.
        let extra = if table == "followups" { " || array[assignee_id]" } else { "" };
        // Dynamic: one statement per child table.
        sqlx::query(&format!(
            "update {table} set scope_users = array(select distinct unnest($3::uuid[]{extra})), version = $4
             where company_id = $1 and consultation_id = $2"
        ))
        .bind(actor.company_id)
        .bind(consultation_id)
        .bind(users)
        .bind(version)
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

/// The consultation's lead and customer (and the lead's own stage events) become visible to
/// `users` too, on top of whoever saw them already. All a new consultation needs: it has no
/// records of its own yet (they reference it), so [`spread`]'s other five updates would find
/// nothing.
pub async fn spread_up(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    lead_id: Uuid,
    customer_id: Uuid,
    users: &[Uuid],
    version: i64,
) -> Result<(), ApplyError> {
    // One statement: the lead, the customer and the lead's own stage events (lead_created).
    // Dynamic: the lead-widening CTEs are shared text (`widen_lead_ctes`).
    sqlx::query(&format!(
        "with {} select 1",
        widen_lead_ctes(WidenLead {
            lead: "$2",
            customer: "$3",
            users: "$4::uuid[]",
            version: "$5",
            when: "true"
        })
    ))
    .bind(actor.company_id)
    .bind(lead_id)
    .bind(customer_id)
    .bind(users)
    .bind(version)
    .execute(&mut *db)
    .await?;
    deferred.widen_lead_scope(lead_id, users);
    Ok(())
}

/// The SQL expressions, in the statement that embeds [`widen_lead_ctes`], of what it widens
/// (its company is `$1`). `when` is a condition the updates also need.
pub struct WidenLead<'a> {
    pub lead: &'a str,
    pub customer: &'a str,
    pub users: &'a str,
    pub version: &'a str,
    pub when: &'a str,
}

/// [`spread_up`]'s three updates as CTEs, so that a statement creating a consultation can make
/// them too (`apply::consultation_create`): the one SQL for both, whose in-memory twin is
/// `Deferred::widen_lead_scope`.
pub fn widen_lead_ctes(w: WidenLead) -> String {
    let WidenLead { lead, customer, users, version, when } = w;
    let widened =
        format!("scope_users = array(select distinct unnest(scope_users || {users})), version = {version}");
    let not_yet = format!("not (scope_users @> {users}) and {when}");
    format!(
        "lead_scope as (
           update leads set {widened} where company_id = $1 and id = {lead} and {not_yet}),
         customer_scope as (
           update customers set {widened} where company_id = $1 and id = {customer} and {not_yet}),
         event_scope as (
           update stage_events set {widened}
           where company_id = $1 and lead_id = {lead} and consultation_id is null and {not_yet})"
    )
}

/// Stamps a consultation's family (its own records, its lead and the lead's own events) with
/// `version`, scope unchanged, so every device that sees it pulls it again: a quote reopened long
/// after its decision is back in devices' history window (`sync::window`) with everything it had.
pub async fn restamp(
    db: &mut PgConnection,
    actor: &Actor,
    consultation_id: Uuid,
    lead_id: Uuid,
    version: i64,
) -> Result<(), ApplyError> {
    sqlx::query!(
        "with options as (update options set version = $4 where company_id = $1 and consultation_id = $2),
              activities as (update activities set version = $4 where company_id = $1 and consultation_id = $2),
              followups as (update followups set version = $4 where company_id = $1 and consultation_id = $2),
              attachments as (update attachments set version = $4 where company_id = $1 and consultation_id = $2),
              events as (update stage_events set version = $4
                         where company_id = $1 and (consultation_id = $2 or (lead_id = $3 and consultation_id is null)))
         update leads set version = $4 where company_id = $1 and id = $3",
        actor.company_id,
        consultation_id,
        lead_id,
        version
    )
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// Someone lost sight of rows: their devices must reset and pull their scope afresh.
pub async fn shrink(db: &mut PgConnection, actor: &Actor, users: &[Uuid]) -> Result<(), ApplyError> {
    if users.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "update users set scope_epoch = scope_epoch + 1 where company_id = $1 and id = any($2)",
        actor.company_id,
        users
    )
    .execute(&mut *db)
    .await?;
    Ok(())
}
