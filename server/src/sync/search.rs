//! `GET /api/sync/search`: finding work older than a device's history window (docs/sync.md,
//! "What a device keeps"). The consultations in the caller's sight whose customer's name, phone
//! or address, or whose problem, contains the words, newest first, with their families as rows
//! at their current versions: the device keeps them like rows a pull brought, so an old quote
//! opened once reads offline afterwards.

use super::Actor;
use crate::{auth::CurrentUser, error::ApiError, error::ApiJson, state::AppState};
use app::sync::protocol::{SearchResponse, MAX_SEARCH_HITS};
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
    let patch = super::family::rows(&state.pool, &actor, &found, super::family::ALL).await?;
    Ok(ApiJson(SearchResponse { found, patch }))
}
