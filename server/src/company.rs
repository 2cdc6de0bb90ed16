//! The company profile (managers): its name, trades, time zone, logo and proposal terms. The
//! name, logo and terms are what a customer sees on the presentation and the proposal; the zone
//! decides every report's days and every time on a person's screens.

use crate::{
    audit::{self, Device},
    auth::CurrentUser,
    error::{ApiError, ApiJson},
    state::AppState,
};
use app::{
    api::CompanyProfile,
    domain::{CompanyName, Role, Trade, ValidationError},
};
use axum::extract::State;

fn manager(user: &CurrentUser) -> Result<(), ApiError> {
    user.require(Role::Manager, "Only managers can change the company profile.")
}

async fn load(pool: &sqlx::PgPool, company: uuid::Uuid) -> Result<CompanyProfile, ApiError> {
    let r = sqlx::query!(
        "select name, trades, time_zone, logo_sha256, proposal_terms from companies where id = $1",
        company
    )
    .fetch_one(pool)
    .await?;
    Ok(CompanyProfile {
        name: r.name,
        trades: r.trades,
        time_zone: r.time_zone,
        logo_sha256: r.logo_sha256,
        proposal_terms: r.proposal_terms,
    })
}

#[utoipa::path(get, path = "/company", tag = "company",
    responses((status = 200, body = CompanyProfile), (status = 403, body = app::api::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<CompanyProfile>, ApiError> {
    manager(&user)?;
    Ok(ApiJson(load(&state.pool, user.company_id()).await?))
}

#[utoipa::path(put, path = "/company", tag = "company", request_body = CompanyProfile,
    responses((status = 200, body = CompanyProfile), (status = 403, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody, description = "A field is not valid, or the logo is not an image this company uploaded")))]
pub async fn put(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    ApiJson(req): ApiJson<CompanyProfile>,
) -> Result<ApiJson<CompanyProfile>, ApiError> {
    manager(&user)?;
    // Sign-up calls it company_name; here it is the profile's name.
    let name = CompanyName::parse(&req.name).map_err(|e| ValidationError::new("name", e.message))?;
    let trades = Trade::parse_all(&req.trades)?;
    let zone = req.time_zone.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        ValidationError::new(
            "time_zone",
            format!("{:?} is not a time zone like America/Chicago", req.time_zone),
        )
    })?;
    let terms = req.proposal_terms.trim().to_string();
    app::domain::text::check("proposal_terms", &terms, app::api::MAX_PROPOSAL_TERMS)?;
    let company = user.company_id();
    let logo = req.logo_sha256.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(sha) = &logo {
        // A blob's name: checked before it reaches a query (a NUL would fail the query itself).
        if !crate::blobs::is_sha256_hex(sha) {
            return Err(ValidationError::new(
                "logo_sha256",
                "must be an uploaded image's SHA-256 (64 hex digits)",
            )
            .into());
        }
        let image = sqlx::query_scalar!(
            r#"select exists(select 1 from blobs where company_id = $1 and sha256 = $2) as "e!""#,
            company,
            sha
        )
        .fetch_one(&state.pool)
        .await?;
        if !image {
            return Err(ValidationError::new(
                "logo_sha256",
                "upload the image first (PUT /api/blobs/{sha256})",
            )
            .into());
        }
    }
    let before = load(&state.pool, company).await?;
    let trade_names: Vec<String> = trades.iter().map(|t| t.as_str().to_string()).collect();
    let after = CompanyProfile {
        name: name.as_str().to_string(),
        trades: trade_names.clone(),
        time_zone: zone.name().to_string(),
        logo_sha256: logo.clone(),
        proposal_terms: terms,
    };
    let mut tx = state.pool.begin().await?;
    sqlx::query!(
        "update companies set name = $2, trades = $3, time_zone = $4, logo_sha256 = $5, proposal_terms = $6
         where id = $1",
        company,
        after.name,
        &trade_names,
        after.time_zone,
        logo,
        after.proposal_terms
    )
    .execute(&mut *tx)
    .await?;
    if before != after {
        let change = audit::Change {
            record_type: "company",
            record_id: Some(company),
            action: "changed",
            summary: "Company profile changed".into(),
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&after).ok(),
        };
        audit::record(&mut tx, &user, &device, change).await?;
    }
    tx.commit().await?;
    // Every signed-in person of the company carries its name and logo (`Me`).
    crate::caches::forget(&state, crate::caches::Forget::Company(company)).await;
    Ok(ApiJson(after))
}

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(get, put))
}
