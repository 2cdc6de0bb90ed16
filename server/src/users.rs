//! A company's people: the sign-in lookup, and managers listing and adding members.
//! Every query here is scoped by the caller's `company_id` in its `WHERE` clause.

use crate::{
    auth::password,
    auth::CurrentUser,
    error::{ApiError, ApiJson, ResultExt},
    state::AppState,
};
use app::{
    api::{Me, MemberChange, MemberChanged, NewUserRequest, TeamMember},
    domain::{EmailAddress, Password, PersonName, Role},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// A person as sign-in needs them.
pub struct LoginAccount {
    pub me: Me,
    pub password_hash: String,
}

/// The company's follow-up cadence from its `follow_up_cadence_days` setting, when it has one.
/// A company's `device_history_days` setting, or its default.
pub fn history_days(setting: Option<i32>) -> u32 {
    setting.and_then(|d| u32::try_from(d).ok()).unwrap_or(app::domain::settings::DEFAULT_DEVICE_HISTORY_DAYS)
}

pub fn cadence_days(setting: Option<sqlx::types::Json<Vec<u32>>>) -> Vec<u32> {
    setting
        .map(|c| c.0)
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| app::domain::cadence::DEFAULT_CADENCE_DAYS.to_vec())
}

/// The [`Me`] of a `query!` record with the columns `user_id, name, email, role, company_id,
/// company_name, company_logo, time_zone, proposal_terms, cadence, history` (each `query!` makes a record type of its own, so a function could
/// not take both the sign-in's and the session's).
macro_rules! me_of_record {
    ($r:expr) => {
        app::api::Me {
            user_id: $r.user_id,
            name: $r.name,
            email: $r.email,
            role: $r.role,
            company_id: $r.company_id,
            company_name: $r.company_name,
            company_logo: $r.company_logo,
            time_zone: $r.time_zone,
            proposal_terms: $r.proposal_terms,
            cadence_days: $crate::users::cadence_days($r.cadence),
            history_days: $crate::users::history_days($r.history),
        }
    };
}
pub(crate) use me_of_record;

pub async fn find_login(pool: &PgPool, email: &str) -> Result<Option<LoginAccount>, ApiError> {
    let row = sqlx::query!(
        r#"select u.id as user_id, u.name, u.email, u.role as "role: Role", u.company_id,
                  c.name as company_name, c.logo_sha256 as company_logo, c.time_zone, c.proposal_terms, u.password_hash,
                  (select s.settings->'follow_up_cadence_days' from analytics_settings s
                    where s.company_id = c.id) as "cadence: sqlx::types::Json<Vec<u32>>",
                  (select (s.settings->>'device_history_days')::int from analytics_settings s
                    where s.company_id = c.id) as history
           from users u join companies c on c.id = u.company_id
           where u.email = $1 and u.active"#,
        email
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| LoginAccount { password_hash: r.password_hash, me: me_of_record!(r) }))
}

/// A new member, already validated.
pub struct NewUser {
    pub name: PersonName,
    pub email: EmailAddress,
    pub role: Role,
    pub password: Password,
}

impl TryFrom<NewUserRequest> for NewUser {
    type Error = ApiError;
    fn try_from(req: NewUserRequest) -> Result<Self, ApiError> {
        let user = Self {
            name: PersonName::parse(&req.name)?,
            email: EmailAddress::parse(&req.email)?,
            role: Role::parse(&req.role)?,
            password: Password::parse(&req.password)?,
        };
        refuse_guessable(&user)?;
        Ok(user)
    }
}

/// Refuses a password that is among the common ones or made of the person's own name or email:
/// what an attacker tries first, whatever its length. zxcvbn (Dropbox's estimator, with its lists
/// of common passwords, words and names) must rate it at least "somewhat guessable" (≥ 10^8
/// guesses). Server-side only: its lists are megabytes the phone need not download.
pub fn refuse_guessable(user: &NewUser) -> Result<(), ApiError> {
    let email = user.email.as_str();
    let local = email.split('@').next().unwrap_or(email);
    let estimate = zxcvbn::zxcvbn(user.password.expose(), &[user.name.as_str(), email, local]);
    if estimate.score() < zxcvbn::Score::Two {
        return Err(app::domain::ValidationError::new(
            "password",
            "is too easy to guess (a common password, or made of the name or email); try a few unrelated words",
        )
        .into());
    }
    Ok(())
}

/// Adds a person to `company_id`, at company version `version` (devices pull their team).
/// Used by managers through the API and by the demo seed.
pub async fn insert(
    db: impl PgExecutor<'_>,
    company_id: Uuid,
    created_by: Option<Uuid>,
    user: NewUser,
    version: i64,
) -> Result<TeamMember, ApiError> {
    let id = Uuid::now_v7();
    let hash = password::hash(user.password.expose().to_owned()).await?;
    sqlx::query!(
        "insert into users (company_id, id, email, name, role, password_hash, created_by, version)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        company_id,
        id,
        user.email.as_str(),
        user.name.as_str(),
        user.role as Role,
        hash,
        created_by,
        version,
    )
    .execute(db)
    .await
    .on_constraint("users_email_key", || {
        ApiError::Conflict("This email is already in use. Use another address for this person.".into())
    })?;
    Ok(TeamMember { id, name: user.name.into(), email: user.email.into(), role: user.role, active: true })
}

/// `GET /api/users`: the caller's company, managers only.
#[utoipa::path(get, path = "/users", tag = "team",
    responses((status = 200, body = Vec<TeamMember>), (status = 403, body = app::api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<Vec<TeamMember>>, ApiError> {
    user.require(Role::Manager, "Only managers can see the team list.")?;
    let members = sqlx::query_as!(
        TeamMember,
        r#"select id, name, email, role as "role: Role", active from users
           where company_id = $1 order by role, name"#,
        user.company_id()
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(ApiJson(members))
}

/// `GET /api/users/{id}`: one member of the caller's company; another company's id is a 404,
/// exactly like an id that does not exist.
#[utoipa::path(get, path = "/users/{id}", tag = "team", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = TeamMember), (status = 404, body = app::api::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<ApiJson<TeamMember>, ApiError> {
    user.require(Role::Manager, "Only managers can see team members.")?;
    let member = sqlx::query_as!(
        TeamMember,
        r#"select id, name, email, role as "role: Role", active from users
           where company_id = $1 and id = $2"#,
        user.company_id(),
        id
    )
    .fetch_optional(&state.pool)
    .await?;
    Ok(ApiJson(member.ok_or(ApiError::NotFound("person"))?))
}

/// `POST /api/users`: a manager adds a person to their own company.
#[utoipa::path(post, path = "/users", tag = "team", request_body = NewUserRequest,
    responses((status = 201, body = TeamMember), (status = 403, body = app::api::ErrorBody),
              (status = 409, body = app::api::ErrorBody), (status = 422, body = app::api::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    device: crate::audit::Device,
    ApiJson(req): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, ApiJson<TeamMember>), ApiError> {
    user.require(Role::Manager, "Only managers can add people.")?;
    let new_user = NewUser::try_from(req)?;
    let (company, by) = (user.company_id(), user.user_id());
    // Detached, like a push: the argon2 hash and the insert finish even if the client hangs up.
    let editor = user.clone();
    let member = crate::sync::detached(async move {
        let mut tx = state.pool.begin().await?;
        let ticket = state.clock.begin(company, &mut tx).await?;
        let member = insert(&mut *tx, company, Some(by), new_user, ticket.version()).await?;
        let change = crate::audit::Change {
            record_type: "person",
            record_id: Some(member.id),
            action: "created",
            summary: format!("{} added as {}", member.name, member.role.label()),
            before: None,
            after: Some(serde_json::json!({ "name": member.name, "email": member.email, "role": member.role.as_str() })),
        };
        crate::audit::record(&mut tx, &editor, &device, change).await?;
        ticket.commit(tx).await?;
        Ok(member)
    })
    .await?;
    tracing::info!(company_id = %user.company_id(), member = %member.id, "person added");
    Ok((StatusCode::CREATED, ApiJson(member)))
}

/// `PATCH /api/users/{id}`: a manager deactivates or reactivates a person of their company, or
/// changes their role. Deactivating or changing a role ends the person's sessions at once, so
/// their devices are refused from their next request (their unsent work stays on the device);
/// their history and credit stay in every report. A company always keeps an active manager.
#[utoipa::path(patch, path = "/users/{id}", tag = "team", params(("id" = uuid::Uuid, Path)), request_body = MemberChange,
    responses((status = 200, body = MemberChanged), (status = 403, body = app::api::ErrorBody),
              (status = 404, body = app::api::ErrorBody),
              (status = 409, body = app::api::ErrorBody, description = "It would leave the company without an active manager"),
              (status = 422, body = app::api::ErrorBody)))]
pub async fn change(
    State(state): State<AppState>,
    user: CurrentUser,
    device: crate::audit::Device,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<MemberChange>,
) -> Result<ApiJson<MemberChanged>, ApiError> {
    user.require(Role::Manager, "Only managers can change the team.")?;
    let role = req.role.as_deref().map(Role::parse).transpose()?;
    if req.active.is_none() && role.is_none() {
        return Err(
            app::domain::ValidationError::new("active", "say what changes: active, role or both").into()
        );
    }
    let company = user.company_id();
    let (pool, clock, editor) = (state.pool.clone(), state.clock.clone(), user.clone());
    let (member, ended) = crate::sync::detached(async move {
        let mut tx = pool.begin().await?;
        let current = sqlx::query!(
            r#"select role as "role: Role", active from users where company_id = $1 and id = $2 for update"#,
            company,
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ApiError::NotFound("person"))?;
        let (active, role) = (req.active.unwrap_or(current.active), role.unwrap_or(current.role));
        let manages_no_more = current.active && current.role == Role::Manager && !(active && role == Role::Manager);
        if manages_no_more {
            // Locked in id order by every such change, so two managers demoting each other at
            // once cannot both pass this count.
            let others: i64 = sqlx::query_scalar!(
                r#"select count(*) as "n!" from (select id from users where company_id = $1 and role = 'manager'
                     and active and id <> $2 order by id for update) m"#,
                company,
                id
            )
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Err(ApiError::Conflict(
                    "This is the company's only active manager. Make someone else a manager first.".into(),
                ));
            }
        }
        let ticket = clock.begin(company, &mut tx).await?;
        let member = sqlx::query_as!(
            TeamMember,
            r#"update users set active = $3, role = $4, version = $5 where company_id = $1 and id = $2
               returning id, name, email, role as "role: Role", active"#,
            company,
            id,
            active,
            role as Role,
            ticket.version()
        )
        .fetch_one(&mut *tx)
        .await?;
        let ended: Vec<Vec<u8>> = if !active || role != current.role {
            sqlx::query_scalar!(
                "delete from sessions where company_id = $1 and user_id = $2 returning token_hash",
                company,
                id
            )
            .fetch_all(&mut *tx)
            .await?
        } else {
            vec![]
        };
        let what = match (current.active, member.active) {
            (true, false) => "deactivated".to_string(),
            (false, true) => "reactivated".to_string(),
            _ => format!("now a {}", member.role.label()),
        };
        let change = crate::audit::Change {
            record_type: "person",
            record_id: Some(id),
            action: "changed",
            summary: format!("{} {what}", member.name),
            before: Some(serde_json::json!({ "active": current.active, "role": current.role.as_str() })),
            after: Some(serde_json::json!({ "active": member.active, "role": member.role.as_str() })),
        };
        crate::audit::record(&mut tx, &editor, &device, change).await?;
        ticket.commit(tx).await?;
        Ok((member, ended))
    })
    .await?;
    crate::caches::forget_sessions(&state, &ended).await;
    let open_followups = sqlx::query_scalar!(
        r#"select count(*) as "n!" from followups where company_id = $1 and assignee_id = $2 and done_at is null and not deleted"#,
        company,
        id
    )
    .fetch_one(&state.pool)
    .await?;
    tracing::info!(%company, member = %id, active = member.active, role = member.role.as_str(), "team member changed");
    Ok(ApiJson(MemberChanged { member, sessions_ended: ended.len() as u64, open_followups }))
}

/// `/users` and `/users/{id}`.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get, change))
}
