//! `POST /api/signup`: a company signs itself up. Its first manager's account, the company with
//! default settings and (if asked) the starter price book and checklist of its trades are written
//! in one transaction; then the manager is signed in and sent to the "get started" list.
//!
//! JSON for the API; an HTML form post from `/signup` (which works before the wasm loads) is
//! answered with redirects, back to the form with the problem and what was typed (never the
//! password), or on to `/start`. Throttled like sign-in: attempts are counted per address and
//! email in the same table, so the "email taken" answer cannot be used to list accounts quickly.

use crate::{
    auth::{client_ip, rate_limit, session},
    error::ApiError,
    form::{self, BodyKind},
    state::AppState,
    users::{self, NewUser},
};
use app::{
    api::{Me, SignUpRequest},
    domain::{CompanyName, EmailAddress, Password, PersonName, Role, Trade, ValidationError},
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use std::net::SocketAddr;
use uuid::Uuid;

/// A sign-up, parsed: every field as the domain accepts it.
struct SignUp {
    company: CompanyName,
    trades: Vec<Trade>,
    time_zone: chrono_tz::Tz,
    manager: NewUser,
    starter: bool,
}

impl TryFrom<SignUpRequest> for SignUp {
    type Error = ApiError;
    fn try_from(req: SignUpRequest) -> Result<Self, ApiError> {
        let time_zone = req.time_zone.trim().parse::<chrono_tz::Tz>().map_err(|_| {
            ValidationError::new(
                "time_zone",
                format!("{:?} is not a time zone like America/Chicago", req.time_zone),
            )
        })?;
        let manager = NewUser {
            name: PersonName::parse(&req.name)?,
            email: EmailAddress::parse(&req.email)?,
            role: Role::Manager,
            password: Password::parse(&req.password)?,
        };
        let signup = SignUp {
            company: CompanyName::parse(&req.company_name)?,
            trades: Trade::parse_all(&req.trades)?,
            time_zone,
            manager,
            starter: req.starter,
        };
        users::refuse_guessable(&signup.manager)?;
        Ok(signup)
    }
}

/// What says an email has an account, without saying whose.
const EMAIL_TAKEN: &str =
    "This email already has a Fieldclose account. Sign in with it, or sign up with another email.";

fn parse(headers: &HeaderMap, body: &[u8]) -> Result<(BodyKind, SignUpRequest), ApiError> {
    let kind = form::body_kind(headers, "sign-up")?;
    if kind == BodyKind::Json {
        return Ok((kind, form::parse(kind, body)?));
    }
    let pairs = form::pairs(body)?;
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let req = SignUpRequest {
        company_name: get("company_name"),
        trades: pairs.iter().filter(|(k, _)| k == "trades").map(|(_, v)| v.clone()).collect(),
        time_zone: get("time_zone"),
        name: get("name"),
        email: get("email"),
        password: get("password"),
        starter: matches!(get("starter").as_str(), "on" | "true" | "1"),
    };
    Ok((kind, req))
}

/// Back to the form with the problem, the field it is about, and what was typed (not the
/// password).
fn form_again(req: &SignUpRequest, error: &ApiError) -> Response {
    let (message, field) = match error {
        ApiError::Invalid(v) => (format!("{}: {}", v.field.replace('_', " "), v.message), v.field),
        other => (other.to_string(), ""),
    };
    let mut pairs = vec![
        ("error", message),
        ("field", field.to_string()),
        ("company_name", req.company_name.clone()),
        ("time_zone", req.time_zone.clone()),
        ("name", req.name.clone()),
        ("email", req.email.clone()),
    ];
    pairs.extend(req.trades.iter().map(|t| ("trades", t.clone())));
    if req.starter {
        pairs.push(("starter", "on".into()));
    }
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    Redirect::to(&format!("/signup?{query}")).into_response()
}

#[utoipa::path(post, path = "/signup", tag = "auth", request_body = SignUpRequest,
    responses((status = 201, body = Me, description = "Signed up and signed in; sets the HttpOnly session cookie"),
              (status = 303, description = "Form posts are answered with a redirect"),
              (status = 409, body = app::api::ErrorBody, description = "The email already has an account"),
              (status = 422, body = app::api::ErrorBody, description = "A field is not acceptable; `field` names it"),
              (status = 429, body = app::api::ErrorBody, description = "Too many attempts from this address")))]
pub async fn signup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (kind, req) = parse(&headers, &body)?;
    let answer = |error: ApiError| match kind {
        BodyKind::Form => Ok(form_again(&req, &error)),
        BodyKind::Json => Err(error),
    };
    let signup = match SignUp::try_from(req.clone()) {
        Ok(signup) => signup,
        Err(e) => return answer(e),
    };
    let email = signup.manager.email.as_str().to_string();
    let ip = client_ip::resolve(peer.ip(), &headers, &state.config.trusted_proxies).to_string();
    let client = rate_limit::Client::identify(&state.pool, &headers, &email, &ip).await?;
    let attempt = match rate_limit::begin(&state.pool, &state.config.login_limits, &email, &client).await {
        Ok(attempt) => attempt,
        Err(e) => return answer(e),
    };
    let created = create(&state, signup).await;
    let device_cookie =
        attempt.finish(&state.pool, &email, created.is_ok(), &client, state.config.cookie_secure).await?;
    let me = match created {
        Ok(me) => me,
        Err(e) => return answer(e),
    };
    tracing::info!(company_id = %me.company_id, user_id = %me.user_id, "company signed up");
    let response = match kind {
        BodyKind::Form => Redirect::to("/start").into_response(),
        BodyKind::Json => (StatusCode::CREATED, Json(me.clone())).into_response(),
    };
    session::sign_in(&state, &headers, &me, response, device_cookie).await
}

/// The company, its manager and its starter catalog, together or not at all.
async fn create(state: &AppState, s: SignUp) -> Result<Me, ApiError> {
    let taken = sqlx::query_scalar!(
        r#"select exists(select 1 from users where email = $1) as "taken!""#,
        s.manager.email.as_str()
    )
    .fetch_one(&state.pool)
    .await?;
    if taken {
        return Err(ApiError::Conflict(EMAIL_TAKEN.into()));
    }
    let state = state.clone();
    // Detached, like a push: a client that hangs up does not leave a company half-made.
    crate::sync::detached(async move {
        let company = Uuid::now_v7();
        let mut tx = state.pool.begin().await?;
        let ticket = state.clock.begin(company, &mut tx).await?;
        let trades: Vec<&str> = s.trades.iter().map(|t| t.as_str()).collect();
        sqlx::query!(
            "insert into companies (id, name, time_zone, trades) values ($1, $2, $3, $4)",
            company,
            s.company.as_str(),
            s.time_zone.name(),
            &trades as &[&str]
        )
        .execute(&mut *tx)
        .await?;
        let member = users::insert(&mut *tx, company, None, s.manager, ticket.version()).await.map_err(
            |e| match e {
                // Another sign-up took the email since the check above.
                ApiError::Conflict(_) => ApiError::Conflict(EMAIL_TAKEN.into()),
                e => e,
            },
        )?;
        if s.starter {
            crate::catalog::write_starter(&mut tx, company, ticket.version(), &s.trades).await?;
        }
        ticket.commit(tx).await?;
        Ok(Me {
            user_id: member.id,
            name: member.name,
            email: member.email,
            role: Role::Manager,
            company_id: company,
            company_name: s.company.as_str().to_string(),
            company_logo: None,
            time_zone: s.time_zone.name().to_string(),
            proposal_terms: String::new(),
            cadence_days: app::domain::cadence::DEFAULT_CADENCE_DAYS.to_vec(),
            history_days: app::domain::settings::DEFAULT_DEVICE_HISTORY_DAYS,
        })
    })
    .await
}

/// `/signup`.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(signup))
}
