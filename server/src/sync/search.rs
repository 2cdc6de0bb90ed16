//! `GET /api/sync/search`: finding work older than a device's history window (docs/sync.md,
//! "What a device keeps"). The consultations in the caller's sight whose customer's name, phone
//! or address, or whose problem, contains the words, newest first, with their families as rows
//! at their current versions: the device keeps them like rows a pull brought, so an old quote
//! opened once reads offline afterwards.

use super::{pull::ROW_JSON, Actor};
use crate::{auth::CurrentUser, error::ApiError, error::ApiJson, state::AppState};
use app::sync::protocol::{Entity, PatchOp, SearchResponse, MAX_SEARCH_HITS};
use axum::extract::{Query, State};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// At least 2 characters: a name, a phone number (digits are enough) or an address.
    pub q: String,
}

/// `%` and `_` are the words themselves, not wildcards.
fn like(word: &str) -> String {
    let escaped = word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The family of the consultations found, per synced table: (entity, table, how a row belongs).
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

#[utoipa::path(get, path = "/sync/search", tag = "sync", params(SearchQuery),
    responses((status = 200, body = SearchResponse), (status = 400, body = app::api::ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SearchQuery>,
) -> Result<ApiJson<SearchResponse>, ApiError> {
    let words = query.q.trim();
    if words.chars().count() < 2 || words.chars().count() > 100 {
        return Err(ApiError::BadRequest("q: search for 2 to 100 characters".into()));
    }
    if let Some(c) = app::domain::text::forbidden_char(words) {
        return Err(ApiError::BadRequest(format!(
            "q: must not contain control characters (found U+{:04X})",
            c as u32
        )));
    }
    let actor = Actor::new(&user, Uuid::nil());
    let digits: String = words.chars().filter(char::is_ascii_digit).collect();
    // Phones are stored as E.164: "512 555 0143" finds "+15125550143".
    let phone = (digits.len() >= 4).then(|| like(&digits));
    let found: Vec<Uuid> = sqlx::query_scalar!(
        r#"select c.id from consultations c
           join customers cu on cu.company_id = c.company_id and cu.id = c.customer_id
           where c.company_id = $1 and not c.deleted and ($2 or $3 = any(c.scope_users))
             and (cu.name ilike $4 or cu.address ilike $4 or c.problem ilike $4 or ($5::text is not null and cu.phone like $5))
           order by coalesce(c.decided_at, c.cancelled_at, c.scheduled_at, c.created_at) desc
           limit $6"#,
        actor.company_id,
        actor.sees_all(),
        actor.user_id,
        like(words),
        phone,
        MAX_SEARCH_HITS as i64
    )
    .fetch_all(&state.pool)
    .await?;
    let mut patch = vec![];
    if !found.is_empty() {
        let mut tx = state.pool.begin().await?;
        // One snapshot for the family, so its rows agree with each other.
        sqlx::query!("set transaction isolation level repeatable read, read only").execute(&mut *tx).await?;
        for (entity, table, belongs) in FAMILY {
            // Dynamic: one statement per table of the family.
            let rows: Vec<(Uuid, i64, serde_json::Value)> = sqlx::query_as(&format!(
                "select t.id, t.version, {ROW_JSON}
                 from {table} t
                 where t.company_id = $1 and not t.deleted and ($3 or $4 = any(t.scope_users)) and {belongs}"
            ))
            .bind(actor.company_id)
            .bind(&found)
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
    }
    Ok(ApiJson(SearchResponse { found, patch }))
}
