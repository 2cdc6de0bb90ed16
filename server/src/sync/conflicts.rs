//! `GET /api/conflicts?entity=…&id=…`: the values a concurrent edit overwrote on one record,
//! for everyone who may see the record (a manager, or a person in its scope). The conflict log
//! itself is written by `fields::update` (invariant 8).

use crate::{auth::CurrentUser, error::ApiError, error::ApiJson, state::AppState};
use app::{api::ConflictEntry, sync::protocol::Entity};
use axum::extract::{Query, State};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct ConflictQuery {
    entity: String,
    id: Uuid,
}

/// The records edited field by field, so the ones that can have conflicts.
fn table(entity: Entity) -> Option<&'static str> {
    match entity {
        Entity::Customer => Some("customers"),
        Entity::Consultation => Some("consultations"),
        _ => None,
    }
}

#[utoipa::path(get, path = "/conflicts", tag = "sync",
    params(("entity" = String, Query, description = "consultation or customer", pattern = "^(consultation|customer)$"), ("id" = uuid::Uuid, Query)),
    responses((status = 200, body = Vec<ConflictEntry>),
              (status = 400, body = app::api::ErrorBody, description = "entity is not consultation or customer"),
              (status = 404, body = app::api::ErrorBody, description = "No such record in the caller's sight")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ConflictQuery>,
) -> Result<ApiJson<Vec<ConflictEntry>>, ApiError> {
    let entity = Entity::parse(&q.entity)
        .and_then(|e| table(e).map(|t| (e, t)))
        .ok_or_else(|| ApiError::BadRequest("entity must be consultation or customer.".into()))?;
    let (entity, table) = entity;
    // Unknown, deleted, another company's or out of sight: the same 404.
    // Dynamic: the table is the entity's (one of two, from `table`), and a statement cannot take a
    // table name as a parameter.
    let visible: bool = sqlx::query_scalar(&format!(
        "select exists(select 1 from {table} where company_id = $1 and id = $2 and ($3 or $4 = any(scope_users)))"
    ))
    .bind(user.company_id())
    .bind(q.id)
    .bind(user.role().sees_all())
    .bind(user.user_id())
    .fetch_one(&state.pool)
    .await?;
    if !visible {
        return Err(ApiError::NotFound("record"));
    }
    let rows = sqlx::query!(
        r#"select k.field, k.overwritten_value, prev.name as "overwritten_by?", k.new_value,
                  w.name as written_by, k.created_at as at
           from conflicts k
           join users w on w.company_id = k.company_id and w.id = k.user_id
           left join sync_clients sc on sc.client_id = k.overwritten_client
           left join users prev on prev.company_id = k.company_id and prev.id = sc.user_id
           where k.company_id = $1 and k.entity = $2 and k.row_id = $3
           order by k.id desc
           limit 200"#,
        user.company_id(),
        entity.as_str(),
        q.id
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|r| ConflictEntry {
                field: r.field,
                overwritten_value: r.overwritten_value.unwrap_or_default(),
                overwritten_by: r.overwritten_by,
                new_value: r.new_value.unwrap_or_default(),
                written_by: r.written_by,
                at: r.at,
            })
            .collect(),
    ))
}
