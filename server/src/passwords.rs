//! Passwords after sign-up: everyone changes their own (`POST /api/me/password`); a manager issues
//! a one-time reset link for a person of their company (`POST /api/users/{id}/password-reset`),
//! which that person opens to set a new one (`POST /api/password-reset`). A new password ends
//! the person's other sessions: a lost phone is signed out by it.

use crate::{
    auth::{client_ip, link_token, password, rate_limit, session, CurrentUser},
    error::{ApiError, ApiJson},
    form::{self, BodyKind},
    state::AppState,
    users::{self, NewUser},
};
use app::{
    api::{Me, PasswordChange, PasswordReset, PasswordResetLink},
    domain::{EmailAddress, Password, PersonName, Role, ValidationError},
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use chrono::Utc;
use std::net::SocketAddr;
use uuid::Uuid;

/// How long a reset link is good for.
const RESET_VALID_FOR: chrono::Duration = chrono::Duration::hours(24);

/// `password` as the person's new one: long enough and not guessable from their name or email.
fn new_password(me: &Me, password: &str, field: &'static str) -> Result<Password, ApiError> {
    let password = Password::parse(password).map_err(|e| ValidationError::new(field, e.message))?;
    let person = NewUser {
        name: PersonName::parse(&me.name)?,
        email: EmailAddress::parse(&me.email)?,
        role: me.role,
        password,
    };
    users::refuse_guessable(&person).map_err(|e| match e {
        ApiError::Invalid(v) => ApiError::Invalid(ValidationError::new(field, v.message)),
        e => e,
    })?;
    Ok(person.password)
}

/// Sets the person's password and ends their sessions but `keep` (a hash of the session token),
/// forgetting each in this process's cache.
async fn set_password(
    state: &AppState,
    me: &Me,
    password: Password,
    keep: Option<Vec<u8>>,
) -> Result<(), ApiError> {
    let hash = password::hash(password.expose().to_owned()).await?;
    let mut tx = state.pool.begin().await?;
    sqlx::query!(
        "update users set password_hash = $3 where company_id = $1 and id = $2",
        me.company_id,
        me.user_id,
        hash
    )
    .execute(&mut *tx)
    .await?;
    let ended = sqlx::query_scalar!(
        "delete from sessions where company_id = $1 and user_id = $2 and token_hash is distinct from $3 returning token_hash",
        me.company_id,
        me.user_id,
        keep
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    crate::caches::forget_sessions(state, &ended).await;
    Ok(())
}

#[utoipa::path(post, path = "/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204, description = "Changed; every other session of yours has ended"),
              (status = 401, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody, description = "The current password is wrong, or the new one is not acceptable"),
              (status = 429, body = app::api::ErrorBody)))]
pub async fn change(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentUser(me): CurrentUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let new = new_password(&me, &req.new_password, "new_password")?;
    // Guessing the current password from a signed-in session is throttled like sign-in.
    let ip = client_ip::resolve(peer.ip(), &headers, &state.config.trusted_proxies).to_string();
    let client = rate_limit::Client::identify(&state.pool, &headers, &me.email, &ip).await?;
    let attempt = rate_limit::begin(&state.pool, &state.config.login_limits, &me.email, &client).await?;
    let stored = sqlx::query_scalar!(
        "select password_hash from users where company_id = $1 and id = $2",
        me.company_id,
        me.user_id
    )
    .fetch_optional(&state.pool)
    .await?;
    let ok = password::verify(req.current_password, stored).await?;
    attempt.finish(&state.pool, &me.email, ok, &client, state.config.cookie_secure).await?;
    if !ok {
        return Err(ValidationError::new("current_password", "is not your current password").into());
    }
    let current = session::token_from(&headers).map(|t| session::hash_token(&t).to_vec());
    set_password(&state, &me, new, current).await?;
    tracing::info!(user_id = %me.user_id, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/users/{id}/password-reset", tag = "team", params(("id" = Uuid, Path)),
    responses((status = 201, body = PasswordResetLink, description = "The link, shown this once; earlier links of the person stop working"),
              (status = 403, body = app::api::ErrorBody), (status = 404, body = app::api::ErrorBody)))]
pub async fn issue_reset(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, ApiJson<PasswordResetLink>), ApiError> {
    user.require(Role::Manager, "Only managers can issue password-reset links.")?;
    let (token, token_hash) = link_token::new();
    let expires_at = Utc::now() + RESET_VALID_FOR;
    let mut tx = state.pool.begin().await?;
    let active = sqlx::query_scalar!(
        "select active from users where company_id = $1 and id = $2 for update",
        user.company_id(),
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    match active {
        None => return Err(ApiError::NotFound("person")),
        Some(false) => {
            return Err(ApiError::Conflict("This person is deactivated. Reactivate them first.".into()))
        }
        Some(true) => {}
    }
    sqlx::query!(
        "update password_resets set used_at = now() where company_id = $1 and user_id = $2 and used_at is null",
        user.company_id(),
        id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into password_resets (company_id, id, user_id, token_hash, created_by, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
        user.company_id(),
        Uuid::now_v7(),
        id,
        token_hash,
        user.user_id(),
        expires_at
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let url =
        format!("{}/reset?token={token}", link_token::site_origin(&headers, state.config.cookie_secure));
    tracing::info!(member = %id, "password-reset link issued");
    Ok((StatusCode::CREATED, ApiJson(PasswordResetLink { url, expires_at })))
}

fn form_again(req: &PasswordReset, error: &ApiError) -> Response {
    let query = serde_urlencoded::to_string([
        ("token", req.token.as_str()),
        ("error", error.detail().message.as_str()),
    ])
    .unwrap_or_default();
    Redirect::to(&format!("/reset?{query}")).into_response()
}

#[utoipa::path(post, path = "/password-reset", tag = "auth", request_body = PasswordReset,
    responses((status = 200, body = Me, description = "The new password is set, every earlier session ended, and this one signed in"),
              (status = 303, description = "Form posts are answered with a redirect"),
              (status = 410, body = app::api::ErrorBody, description = "The link was used, replaced or expired"),
              (status = 422, body = app::api::ErrorBody), (status = 429, body = app::api::ErrorBody)))]
pub async fn reset(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = form::body_kind(&headers, "new password")?;
    let req: PasswordReset = form::parse(kind, &body)?;
    let answer = |error: ApiError| match kind {
        BodyKind::Form => Ok(form_again(&req, &error)),
        BodyKind::Json => Err(error),
    };
    let ip = client_ip::resolve(peer.ip(), &headers, &state.config.trusted_proxies).to_string();
    // Counted per address (no account is known before the token is): guessing tokens is slowed.
    let bucket = format!("password-reset@{ip}");
    let client = rate_limit::Client::identify(&state.pool, &headers, &bucket, &ip).await?;
    let attempt = match rate_limit::begin(&state.pool, &state.config.login_limits, &bucket, &client).await {
        Ok(attempt) => attempt,
        Err(e) => return answer(e),
    };
    let found = sqlx::query!(
        r#"select r.company_id, r.id, u.id as user_id, u.name, u.email, u.role as "role: Role", c.name as company_name,
                  c.logo_sha256 as company_logo, c.time_zone, c.proposal_terms
           from password_resets r join users u on u.company_id = r.company_id and u.id = r.user_id
           join companies c on c.id = r.company_id
           where r.token_hash = $1 and r.used_at is null and r.expires_at > now() and u.active"#,
        link_token::hash(&req.token)
    )
    .fetch_optional(&state.pool)
    .await?;
    let Some(found) = found else {
        attempt.finish(&state.pool, &bucket, false, &client, state.config.cookie_secure).await?;
        return answer(ApiError::Gone(
            "This reset link no longer works (used, replaced by a newer one, or older than 24 hours). Ask your manager for a new one."
                .into(),
        ));
    };
    attempt.abandon(&state.pool).await?;
    let me = Me {
        user_id: found.user_id,
        name: found.name,
        email: found.email,
        role: found.role,
        company_id: found.company_id,
        company_name: found.company_name,
        company_logo: found.company_logo,
        time_zone: found.time_zone,
        proposal_terms: found.proposal_terms,
        cadence_days: app::domain::cadence::DEFAULT_CADENCE_DAYS.to_vec(),
        history_days: app::domain::settings::DEFAULT_DEVICE_HISTORY_DAYS,
    };
    let new = match new_password(&me, &req.password, "password") {
        Ok(p) => p,
        Err(e) => return answer(e),
    };
    let claimed = sqlx::query!(
        "update password_resets set used_at = now() where company_id = $1 and id = $2 and used_at is null",
        found.company_id,
        found.id
    )
    .execute(&state.pool)
    .await?
    .rows_affected();
    if claimed == 0 {
        return answer(ApiError::Gone(
            "This reset link was just used. Ask your manager for a new one.".into(),
        ));
    }
    set_password(&state, &me, new, None).await?;
    // As sign-in reads a person, with the company's cadence.
    let me =
        users::find_login(&state.pool, &me.email).await?.map(|a| a.me).ok_or(ApiError::NotFound("person"))?;
    tracing::info!(user_id = %me.user_id, "password reset");
    let response = match kind {
        BodyKind::Form => Redirect::to(me.role.home_path()).into_response(),
        BodyKind::Json => Json(me.clone()).into_response(),
    };
    session::sign_in(&state, &headers, &me, response, None).await
}

/// `/me/password`, `/users/{id}/password-reset`, `/password-reset`.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(change))
        .routes(routes!(issue_reset))
        .routes(routes!(reset))
}
