//! The website lead form's settings (managers): its key, rotated to stop an old one at once,
//! and the sites whose pages may post to it.

use crate::{
    audit::{self, Device},
    auth::CurrentUser,
    error::{ApiError, ApiJson},
    state::AppState,
};
use app::{
    api::IntakeSettings,
    domain::{Role, ValidationError},
};
use axum::extract::State;
use rand::RngCore;

fn manager(user: &CurrentUser) -> Result<(), ApiError> {
    user.require(Role::Manager, "Only managers can change the website lead form.")
}

/// `https://www.example.com` as a browser sends it in `Origin`: scheme, host, optional port,
/// lower case, no path.
pub fn parse_origin(raw: &str) -> Result<String, ValidationError> {
    let wrong = || {
        ValidationError::new(
            "allowed_origins",
            format!("{raw:?} is not a site address like https://www.example.com (no path)"),
        )
    };
    let origin = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://").ok_or_else(wrong)?;
    let host_ok = !authority.is_empty()
        && authority.len() <= 253
        && authority.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !matches!(scheme, "http" | "https") || !host_ok {
        return Err(wrong());
    }
    Ok(origin)
}

fn new_key() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

async fn load(pool: &sqlx::PgPool, company: uuid::Uuid) -> Result<IntakeSettings, ApiError> {
    let r = sqlx::query!("select intake_key, intake_origins from companies where id = $1", company)
        .fetch_one(pool)
        .await?;
    Ok(IntakeSettings { key: r.intake_key, allowed_origins: r.intake_origins })
}

#[utoipa::path(get, path = "/intake-settings", tag = "intake",
    responses((status = 200, body = IntakeSettings), (status = 403, body = app::api::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<IntakeSettings>, ApiError> {
    manager(&user)?;
    Ok(ApiJson(load(&state.pool, user.company_id()).await?))
}

#[utoipa::path(put, path = "/intake-settings", tag = "intake", request_body = IntakeSettings,
    responses((status = 200, body = IntakeSettings), (status = 403, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody, description = "An origin is not a site address")))]
pub async fn put(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    ApiJson(req): ApiJson<IntakeSettings>,
) -> Result<ApiJson<IntakeSettings>, ApiError> {
    manager(&user)?;
    if req.allowed_origins.len() > 20 {
        return Err(ValidationError::new("allowed_origins", "at most 20 sites").into());
    }
    let mut origins = req.allowed_origins.iter().map(|o| parse_origin(o)).collect::<Result<Vec<_>, _>>()?;
    origins.sort();
    origins.dedup();
    let before = load(&state.pool, user.company_id()).await?;
    let mut tx = state.pool.begin().await?;
    sqlx::query!("update companies set intake_origins = $2 where id = $1", user.company_id(), &origins)
        .execute(&mut *tx)
        .await?;
    let change = (serde_json::json!(before.allowed_origins), serde_json::json!(origins));
    finish(&state, &user, &device, tx, "Website lead form: allowed sites", Some(change)).await
}

/// Keeps the change in the audit trail in its transaction, commits, makes the lead form forget
/// what it looked up (an old key or site stops at once), and answers the settings as they are.
async fn finish(
    state: &AppState,
    user: &CurrentUser,
    device: &Device,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    summary: &str,
    before_after: Option<(serde_json::Value, serde_json::Value)>,
) -> Result<ApiJson<IntakeSettings>, ApiError> {
    let (before, after) = before_after.unzip();
    let change = audit::Change {
        record_type: "company",
        record_id: Some(user.company_id()),
        action: "changed",
        summary: summary.into(),
        before,
        after,
    };
    audit::record(&mut tx, user, device, change).await?;
    tx.commit().await?;
    crate::caches::forget(state, crate::caches::Forget::LeadFormKeys).await;
    Ok(ApiJson(load(&state.pool, user.company_id()).await?))
}

#[utoipa::path(post, path = "/intake-settings/rotate", tag = "intake",
    responses((status = 200, body = IntakeSettings, description = "A new key; the old one answers 404 from now on"),
              (status = 403, body = app::api::ErrorBody)))]
pub async fn rotate(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
) -> Result<ApiJson<IntakeSettings>, ApiError> {
    manager(&user)?;
    let mut tx = state.pool.begin().await?;
    sqlx::query!("update companies set intake_key = $2 where id = $1", user.company_id(), new_key())
        .execute(&mut *tx)
        .await?;
    finish(&state, &user, &device, tx, "Website lead form: new key (the old one stopped)", None).await
}
