//! The rows that belong to some consultations, at their current versions, as a device keeps
//! them: the consultations, their customers and leads, options, activities, follow-ups,
//! attachments and stage events. The search of older work sends them (`search`), and so does a
//! page's first screen (`first_screen`).

use super::{pull::ROW_JSON, Actor};
use app::sync::protocol::{Entity, PatchOp};
use sqlx::PgPool;
use uuid::Uuid;

/// Per synced table: (entity, table, how a row belongs to the consultations `$2`).
const FAMILY: &[(Entity, &str, &str)] = &[
    (
        Entity::Customer,
        "customers",
        "t.id in (select customer_id from consultations where company_id = $1 and id = any($2))",
    ),
    (
        Entity::Lead,
        "leads",
        "t.id in (select lead_id from consultations where company_id = $1 and id = any($2))",
    ),
    (Entity::Consultation, "consultations", "t.id = any($2)"),
    (Entity::Option, "options", "t.consultation_id = any($2)"),
    (Entity::Activity, "activities", "t.consultation_id = any($2)"),
    (Entity::Followup, "followups", "t.consultation_id = any($2)"),
    (Entity::Attachment, "attachments", "t.consultation_id = any($2)"),
    (
        Entity::StageEvent,
        "stage_events",
        "(t.consultation_id = any($2) or (t.consultation_id is null and t.lead_id in
        (select lead_id from consultations where company_id = $1 and id = any($2))))",
    ),
];

/// Every kind of record in a consultation's family.
pub const ALL: &[Entity] = &[
    Entity::Customer,
    Entity::Lead,
    Entity::Consultation,
    Entity::Option,
    Entity::Activity,
    Entity::Followup,
    Entity::Attachment,
    Entity::StageEvent,
];

/// The family of `consultations` that `actor` may see, of the kinds in `kinds`, read in one
/// snapshot so its rows agree with each other. Ids outside the actor's company or sight bring
/// nothing.
pub async fn rows(
    pool: &PgPool,
    actor: &Actor,
    consultations: &[Uuid],
    kinds: &[Entity],
) -> Result<Vec<PatchOp>, sqlx::Error> {
    let mut patch = vec![];
    if consultations.is_empty() {
        return Ok(patch);
    }
    let mut tx = pool.begin().await?;
    sqlx::query!("set transaction isolation level repeatable read, read only").execute(&mut *tx).await?;
    for (entity, table, belongs) in FAMILY.iter().filter(|(entity, ..)| kinds.contains(entity)) {
        // Dynamic: one statement per table of the family.
        let rows: Vec<(Uuid, i64, serde_json::Value)> = sqlx::query_as(&format!(
            "select t.id, t.version, {ROW_JSON}
             from {table} t
             where t.company_id = $1 and not t.deleted and ($3 or $4 = any(t.scope_users)) and {belongs}"
        ))
        .bind(actor.company_id)
        .bind(consultations)
        .bind(actor.sees_all())
        .bind(actor.user_id)
        .fetch_all(&mut *tx)
        .await?;
        patch.extend(rows.into_iter().map(|(id, version, data)| PatchOp::Put {
            entity: *entity,
            id,
            version,
            data,
        }));
    }
    tx.commit().await?;
    Ok(patch)
}
