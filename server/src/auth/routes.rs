//! `POST /api/auth/login`, `POST /api/auth/logout`, `GET /api/me`.
//!
//! Login and logout accept JSON (the API) and HTML form posts (the sign-in page works before the
//! wasm loads); form posts are answered with redirects, JSON with JSON.

use super::{client_ip, password, rate_limit, session, CurrentUser};
use crate::{
    error::ApiError,
    form::{self, BodyKind},
    state::AppState,
    users,
};
use app::api::{LoginRequest, Me};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use std::net::SocketAddr;

fn login_page_with(error: &str, email: &str) -> Response {
    let query = serde_urlencoded::to_string([("error", error), ("email", email)]).unwrap_or_default();
    Redirect::to(&format!("/login?{query}")).into_response()
}

#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me, description = "Signed in; sets the HttpOnly session cookie"),
              (status = 303, description = "Form posts are answered with a redirect"),
              (status = 401, body = app::api::ErrorBody, description = "Email or password is incorrect"),
              (status = 429, body = app::api::ErrorBody, description = "Too many failed sign-ins")))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = form::body_kind(&headers, "sign-in")?;
    let req: LoginRequest = form::parse(kind, &body)?;
    let email = req.email.trim().to_lowercase();
    let ip = client_ip::resolve(peer.ip(), &headers, &state.config.trusted_proxies).to_string();
    if email.chars().count() > 254 || email.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("That is not an email address.".into()));
    }

    let client = rate_limit::Client::identify(&state.pool, &headers, &email, &ip).await?;
    let attempt = match rate_limit::begin(&state.pool, &state.config.login_limits, &email, &client).await {
        Ok(attempt) => attempt,
        Err(ApiError::TooManyRequests(..)) if kind == BodyKind::Form => {
            return Ok(login_page_with("rate_limited", &email))
        }
        Err(e) => return Err(e),
    };

    let account = users::find_login(&state.pool, &email).await?;
    let ok = match password::verify(req.password, account.as_ref().map(|a| a.password_hash.clone())).await {
        Ok(ok) => ok,
        Err(e) => {
            // Not checked (the server was too busy): not a failure of the person's either.
            attempt.abandon(&state.pool).await?;
            return Err(e);
        }
    };
    let device_cookie = attempt.finish(&state.pool, &email, ok, &client, state.config.cookie_secure).await?;

    let me = match (ok, account) {
        (true, Some(account)) => account.me,
        _ => {
            tracing::info!(%ip, "failed sign-in");
            return match kind {
                BodyKind::Form => Ok(login_page_with("invalid", &email)),
                BodyKind::Json => Err(ApiError::BadCredentials),
            };
        }
    };

    tracing::info!(user_id = %me.user_id, company_id = %me.company_id, "signed in");
    let response = match kind {
        BodyKind::Form => Redirect::to(me.role.home_path()).into_response(),
        BodyKind::Json => Json(me.clone()).into_response(),
    };
    session::sign_in(&state, &headers, &me, response, device_cookie).await
}

#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204), (status = 303)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session::token_from(&headers) {
        session::delete(&state, &token).await?;
    }
    let clear = [(header::SET_COOKIE, session::clear_cookie(state.config.cookie_secure))];
    // Any body kind is fine here: there is nothing to read. A form post gets a redirect.
    Ok(match form::body_kind(&headers, "sign-out") {
        Ok(BodyKind::Form) => (clear, Redirect::to("/login")).into_response(),
        _ => (clear, StatusCode::NO_CONTENT).into_response(),
    })
}

#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = app::api::ErrorBody)))]
pub async fn me(CurrentUser(me): CurrentUser) -> Json<Me> {
    Json(me)
}

/// `/auth/login`, `/auth/logout`, `/me`: each route and its OpenAPI entry come from the
/// handler's `#[utoipa::path]`.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}
