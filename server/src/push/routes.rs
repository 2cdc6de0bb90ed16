//! `/api/push/…`: the VAPID public key, this device's subscription, and the signed-in person's
//! choice of notices. Any signed-in person may turn notifications on for themselves.

use super::{endpoint::PushEndpoint, Kind};
use crate::{
    auth::{session, CurrentUser},
    error::{ApiError, ApiJson},
    state::AppState,
};
use app::{
    api::{NotifyPreferences, PushKey, PushSubscriptionIn, PushUnsubscribe},
    domain::ValidationError,
};
use axum::{extract::State, http::HeaderMap, http::StatusCode};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

/// A person's subscribed devices at most; a new one beyond drops their oldest.
const MAX_DEVICES: i64 = 10;

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(key))
        .routes(routes!(subscribe, unsubscribe))
        .routes(routes!(preferences, set_preferences))
}

#[utoipa::path(get, path = "/push/key", tag = "push",
    responses((status = 200, body = PushKey), (status = 401, body = app::api::ErrorBody)))]
pub async fn key(State(state): State<AppState>, _user: CurrentUser) -> ApiJson<PushKey> {
    ApiJson(PushKey { public_key: state.push.key.public_key().to_string() })
}

/// A device key as the browser gives it (base64url, padded or not), of its exact length.
fn decode_key(field: &'static str, raw: &str, len: usize) -> Result<Vec<u8>, ValidationError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .map_err(|_| ValidationError::new(field, "not base64url"))?;
    if bytes.len() != len {
        return Err(ValidationError::new(field, format!("{len} bytes expected, {} given", bytes.len())));
    }
    Ok(bytes)
}

#[utoipa::path(put, path = "/push/subscription", tag = "push", request_body = PushSubscriptionIn,
    responses((status = 204, description = "This device gets notices until its session ends"),
              (status = 401, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody, description = "Not a browser's push service, or keys of the wrong size")))]
pub async fn subscribe(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PushSubscriptionIn>,
) -> Result<StatusCode, ApiError> {
    let endpoint = PushEndpoint::parse(&req.endpoint, state.push.allow_loopback)?;
    let p256dh = decode_key("keys.p256dh", &req.keys.p256dh, 65)?;
    // An uncompressed point that is not on the curve could never be encrypted to.
    web_push_native::p256::PublicKey::from_sec1_bytes(&p256dh)
        .map_err(|_| ValidationError::new("keys.p256dh", "not a P-256 public key"))?;
    let auth = decode_key("keys.auth", &req.keys.auth, 16)?;
    let token =
        session::token_from(&headers).map(|t| session::hash_token(&t)).ok_or(ApiError::Unauthorized)?;
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(300).collect::<String>());
    let mut tx = state.pool.begin().await?;
    // Keyed by endpoint: a shared tablet that another person signs into moves to them.
    let stored = sqlx::query_scalar!(
        "insert into push_subscriptions (id, company_id, user_id, session_hash, endpoint, p256dh, auth, user_agent)
         select $1, $2, $3, s.token_hash, $5, $6, $7, $8 from sessions s where s.token_hash = $4 and s.user_id = $3
         on conflict (endpoint) do update set company_id = excluded.company_id, user_id = excluded.user_id,
             session_hash = excluded.session_hash, p256dh = excluded.p256dh, auth = excluded.auth,
             user_agent = excluded.user_agent, created_at = now(), failures = 0
         returning id",
        uuid::Uuid::now_v7(),
        user.company_id(),
        user.user_id(),
        &token[..],
        endpoint.as_str(),
        &p256dh,
        &auth,
        user_agent
    )
    .fetch_optional(&mut *tx)
    .await?;
    if stored.is_none() {
        return Err(ApiError::Unauthorized);
    }
    sqlx::query!(
        "delete from push_subscriptions where company_id = $1 and user_id = $2 and id not in
           (select id from push_subscriptions where company_id = $1 and user_id = $2 order by created_at desc limit $3)",
        user.company_id(),
        user.user_id(),
        MAX_DEVICES
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/push/subscription", tag = "push", request_body = PushUnsubscribe,
    responses((status = 204, description = "This device gets no more notices (also when it had none)"),
              (status = 401, body = app::api::ErrorBody)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<PushUnsubscribe>,
) -> Result<StatusCode, ApiError> {
    sqlx::query!(
        "delete from push_subscriptions where company_id = $1 and user_id = $2 and endpoint = $3",
        user.company_id(),
        user.user_id(),
        req.endpoint
    )
    .execute(&state.pool)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn load(state: &AppState, user: &CurrentUser) -> Result<NotifyPreferences, ApiError> {
    let r = sqlx::query!(
        r#"select u.notify_off, (select count(*) from push_subscriptions s
              where s.company_id = u.company_id and s.user_id = u.id) as "devices!"
           from users u where u.company_id = $1 and u.id = $2"#,
        user.company_id(),
        user.user_id()
    )
    .fetch_one(&state.pool)
    .await?;
    let on = |k: Kind| !r.notify_off.iter().any(|o| o == k.as_str());
    Ok(NotifyPreferences {
        new_lead: on(Kind::NewLead),
        visit: on(Kind::Visit),
        follow_up: on(Kind::FollowUp),
        devices: u32::try_from(r.devices).unwrap_or(u32::MAX),
    })
}

#[utoipa::path(get, path = "/push/preferences", tag = "push",
    responses((status = 200, body = NotifyPreferences), (status = 401, body = app::api::ErrorBody)))]
pub async fn preferences(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<NotifyPreferences>, ApiError> {
    Ok(ApiJson(load(&state, &user).await?))
}

#[utoipa::path(put, path = "/push/preferences", tag = "push", request_body = NotifyPreferences,
    responses((status = 200, body = NotifyPreferences), (status = 401, body = app::api::ErrorBody)))]
pub async fn set_preferences(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<NotifyPreferences>,
) -> Result<ApiJson<NotifyPreferences>, ApiError> {
    let off: Vec<String> =
        [(req.new_lead, Kind::NewLead), (req.visit, Kind::Visit), (req.follow_up, Kind::FollowUp)]
            .into_iter()
            .filter(|(on, _)| !on)
            .map(|(_, k)| k.as_str().to_string())
            .collect();
    sqlx::query!(
        "update users set notify_off = $3 where company_id = $1 and id = $2",
        user.company_id(),
        user.user_id(),
        &off
    )
    .execute(&state.pool)
    .await?;
    Ok(ApiJson(load(&state, &user).await?))
}
