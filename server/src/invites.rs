//! Inviting people by link: a manager makes a link (with a QR code) for one person and one role,
//! good for 7 days and once; the person opens it, gives their name, email and password, and is
//! signed in. The token is random, sent once, and kept only as its SHA-256; a lost link is revoked
//! and made again.
//!
//! Accepting is one transaction: the invite is claimed (`used_at` set only if still unused,
//! unrevoked and unexpired) together with the new account, so two people racing one link get one
//! account, and an email already taken leaves the invite unused.

use crate::{
    auth::{client_ip, link_token, rate_limit, session, CurrentUser},
    error::{ApiError, ApiJson},
    form::{self, BodyKind},
    state::AppState,
    users::{self, NewUser},
};
use app::{
    api::{AcceptInviteRequest, Invite, InvitePreview, Me, NewInviteRequest},
    domain::{EmailAddress, Password, PersonName, Role},
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use chrono::Utc;
use serde::Deserialize;
use std::net::SocketAddr;
use uuid::Uuid;

/// How long a link is good for.
const VALID_FOR: chrono::Duration = chrono::Duration::days(7);

/// The link as a QR code: an SVG that scales to its box.
fn qr_svg(url: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(ApiError::internal)?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build())
}

#[utoipa::path(post, path = "/invites", tag = "team", request_body = NewInviteRequest,
    responses((status = 201, body = Invite, description = "The link and its QR code, shown this once"),
              (status = 403, body = app::api::ErrorBody), (status = 422, body = app::api::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    device: crate::audit::Device,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewInviteRequest>,
) -> Result<(StatusCode, ApiJson<Invite>), ApiError> {
    user.require(Role::Manager, "Only managers can invite people.")?;
    let role = Role::parse(&req.role)?;
    let (token, token_hash) = link_token::new();
    let (id, now) = (Uuid::now_v7(), Utc::now());
    let expires_at = now + VALID_FOR;
    let mut tx = state.pool.begin().await?;
    sqlx::query!(
        "insert into invites (company_id, id, token_hash, role, created_by, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
        user.company_id(),
        id,
        token_hash,
        role as Role,
        user.user_id(),
        now,
        expires_at
    )
    .execute(&mut *tx)
    .await?;
    let change = crate::audit::Change {
        record_type: "invite",
        record_id: Some(id),
        action: "created",
        summary: format!("Invite link for a {} (valid 7 days)", role.label()),
        before: None,
        after: Some(serde_json::json!({ "role": role.as_str(), "expires_at": expires_at })),
    };
    crate::audit::record(&mut tx, &user, &device, change).await?;
    tx.commit().await?;
    let url = format!("{}/join?token={token}", link_token::site_origin(&headers, state.config.cookie_secure));
    let qr_svg = qr_svg(&url)?;
    tracing::info!(invite = %id, role = role.as_str(), "invite made");
    Ok((
        StatusCode::CREATED,
        ApiJson(Invite { id, role, created_at: now, expires_at, url: Some(url), qr_svg: Some(qr_svg) }),
    ))
}

#[utoipa::path(get, path = "/invites", tag = "team",
    responses((status = 200, body = Vec<Invite>, description = "Invites not yet used, revoked or expired"),
              (status = 403, body = app::api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<Vec<Invite>>, ApiError> {
    user.require(Role::Manager, "Only managers can see invites.")?;
    let rows = sqlx::query!(
        r#"select id, role as "role: Role", created_at, expires_at from invites
           where company_id = $1 and used_at is null and revoked_at is null and expires_at > now()
           order by created_at desc"#,
        user.company_id()
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|r| Invite {
                id: r.id,
                role: r.role,
                created_at: r.created_at,
                expires_at: r.expires_at,
                url: None,
                qr_svg: None,
            })
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/invites/{id}", tag = "team", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Revoked: the link no longer works"),
              (status = 403, body = app::api::ErrorBody),
              (status = 404, body = app::api::ErrorBody, description = "No pending invite with this id in your company")))]
pub async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    device: crate::audit::Device,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    user.require(Role::Manager, "Only managers can revoke invites.")?;
    let mut tx = state.pool.begin().await?;
    let revoked = sqlx::query_scalar!(
        r#"update invites set revoked_at = now()
           where company_id = $1 and id = $2 and used_at is null and revoked_at is null
           returning role as "role: Role""#,
        user.company_id(),
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("pending invite"))?;
    let change = crate::audit::Change {
        record_type: "invite",
        record_id: Some(id),
        action: "revoked",
        summary: format!("Invite link for a {} revoked", revoked.label()),
        before: None,
        after: None,
    };
    crate::audit::record(&mut tx, &user, &device, change).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// The token of the invite link.
    pub token: String,
}

/// Why a link does not work (any more), in words the invited person can act on.
async fn why_not(pool: &sqlx::PgPool, token: &str) -> Result<ApiError, ApiError> {
    let row = sqlx::query!(
        "select used_at, revoked_at, expires_at from invites where token_hash = $1",
        link_token::hash(token)
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => ApiError::NotFound("invite link"),
        Some(r) if r.used_at.is_some() => ApiError::Gone(
            "This invite link was already used. Sign in with the account made from it, or ask your manager for a new link."
                .into(),
        ),
        Some(r) if r.revoked_at.is_some() => {
            ApiError::Gone("This invite link was withdrawn. Ask your manager for a new one.".into())
        }
        Some(_) => ApiError::Gone("This invite link has expired (links last 7 days). Ask your manager for a new one.".into()),
    })
}

#[utoipa::path(get, path = "/invites/preview", tag = "team", params(PreviewQuery),
    responses((status = 200, body = InvitePreview),
              (status = 404, body = app::api::ErrorBody, description = "No such invite link"),
              (status = 410, body = app::api::ErrorBody, description = "Used, withdrawn or expired")))]
pub async fn preview(
    State(state): State<AppState>,
    Query(q): Query<PreviewQuery>,
) -> Result<Json<InvitePreview>, ApiError> {
    let row = sqlx::query!(
        r#"select c.name as company_name, i.role as "role: Role", i.expires_at
           from invites i join companies c on c.id = i.company_id
           where i.token_hash = $1 and i.used_at is null and i.revoked_at is null and i.expires_at > now()"#,
        link_token::hash(&q.token)
    )
    .fetch_optional(&state.pool)
    .await?;
    match row {
        Some(r) => {
            Ok(Json(InvitePreview { company_name: r.company_name, role: r.role, expires_at: r.expires_at }))
        }
        None => Err(why_not(&state.pool, &q.token).await?),
    }
}

/// Back to the join page with the problem and what was typed (never the password).
fn form_again(req: &AcceptInviteRequest, error: &ApiError) -> Response {
    let message = match error {
        ApiError::Invalid(v) => format!("{}: {}", v.field, v.message),
        other => other.detail().message,
    };
    let query = serde_urlencoded::to_string([
        ("token", req.token.as_str()),
        ("error", message.as_str()),
        ("name", req.name.as_str()),
        ("email", req.email.as_str()),
    ])
    .unwrap_or_default();
    Redirect::to(&format!("/join?{query}")).into_response()
}

#[utoipa::path(post, path = "/invites/accept", tag = "team", request_body = AcceptInviteRequest,
    responses((status = 201, body = Me, description = "The account is made and signed in"),
              (status = 303, description = "Form posts are answered with a redirect"),
              (status = 404, body = app::api::ErrorBody), (status = 409, body = app::api::ErrorBody),
              (status = 410, body = app::api::ErrorBody), (status = 422, body = app::api::ErrorBody),
              (status = 429, body = app::api::ErrorBody)))]
pub async fn accept(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = form::body_kind(&headers, "invite")?;
    let req: AcceptInviteRequest = form::parse(kind, &body)?;
    let answer = |error: ApiError| match kind {
        BodyKind::Form => Ok(form_again(&req, &error)),
        BodyKind::Json => Err(error),
    };
    let person = match person(&req) {
        Ok(p) => p,
        Err(e) => return answer(e),
    };
    let email = person.email.as_str().to_string();
    let ip = client_ip::resolve(peer.ip(), &headers, &state.config.trusted_proxies).to_string();
    let client = rate_limit::Client::identify(&state.pool, &headers, &email, &ip).await?;
    let attempt = match rate_limit::begin(&state.pool, &state.config.login_limits, &email, &client).await {
        Ok(attempt) => attempt,
        Err(e) => return answer(e),
    };
    let joined = join(&state, &req.token, person).await;
    let device_cookie =
        attempt.finish(&state.pool, &email, joined.is_ok(), &client, state.config.cookie_secure).await?;
    let me = match joined {
        Ok(me) => me,
        Err(e) => return answer(e),
    };
    tracing::info!(company_id = %me.company_id, user_id = %me.user_id, "invite accepted");
    let response = match kind {
        // Their first tab, with the offer to install the app.
        BodyKind::Form => Redirect::to(&format!("{}?welcome=1", me.role.home_path())).into_response(),
        BodyKind::Json => (StatusCode::CREATED, Json(me.clone())).into_response(),
    };
    session::sign_in(&state, &headers, &me, response, device_cookie).await
}

/// The person as the invite will make them (their role comes from the invite).
fn person(req: &AcceptInviteRequest) -> Result<NewUser, ApiError> {
    let person = NewUser {
        name: PersonName::parse(&req.name)?,
        email: EmailAddress::parse(&req.email)?,
        role: Role::Technician,
        password: Password::parse(&req.password)?,
    };
    users::refuse_guessable(&person)?;
    Ok(person)
}

/// Claims the invite and makes the account, together or not at all.
async fn join(state: &AppState, token: &str, mut person: NewUser) -> Result<Me, ApiError> {
    let (state, token) = (state.clone(), token.to_string());
    // Detached, like a push: a client that hangs up does not leave an invite claimed and no account.
    crate::sync::detached(async move {
        let mut tx = state.pool.begin().await?;
        let claimed = sqlx::query!(
            r#"update invites i set used_at = now()
               from companies c
               where i.token_hash = $1 and c.id = i.company_id
                 and i.used_at is null and i.revoked_at is null and i.expires_at > now()
               returning i.company_id, i.id, i.role as "role: Role", c.name as company_name"#,
            link_token::hash(&token)
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(invite) = claimed else { return Err(why_not(&state.pool, &token).await?) };
        person.role = invite.role;
        let ticket = state.clock.begin(invite.company_id, &mut tx).await?;
        let member = users::insert(&mut *tx, invite.company_id, None, person, ticket.version()).await?;
        sqlx::query!(
            "update invites set used_by = $3 where company_id = $1 and id = $2",
            invite.company_id,
            invite.id,
            member.id
        )
        .execute(&mut *tx)
        .await?;
        ticket.commit(tx).await?;
        // As sign-in reads a person, with the company's cadence.
        let account = users::find_login(&state.pool, member.email.as_str()).await?;
        account.map(|a| a.me).ok_or(ApiError::NotFound("the new account"))
    })
    .await
}

/// `/invites`, `/invites/{id}`, `/invites/preview`, `/invites/accept`.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
        .routes(routes!(preview))
        .routes(routes!(accept))
}
