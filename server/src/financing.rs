//! The company's financing plans (managers): lender, APR, term, minimum amount, promotional
//! months. Synced read-only to devices (kinds version 2); an option names its plan by code and
//! the server checks its monthly payment against the plan's terms when it arrives
//! (`sync::apply::check_financing`).

use crate::{
    audit::{self, Device},
    auth::CurrentUser,
    error::{ApiError, ApiJson},
    state::AppState,
};
use app::{
    api::FinancingPlanRow,
    domain::{pricing::plan_label, text, Cents, Role, ValidationError},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use uuid::Uuid;

fn manager(user: &CurrentUser) -> Result<(), ApiError> {
    user.require(Role::Manager, "Only managers can change financing plans.")
}

fn check(p: &FinancingPlanRow) -> Result<(), ValidationError> {
    if p.lender.trim().is_empty() {
        return Err(ValidationError::new("lender", "name the lender, e.g. GreenSky"));
    }
    text::check("lender", &p.lender, 100)?;
    if !(0..=9999).contains(&p.apr_bps) {
        return Err(ValidationError::new(
            "apr_bps",
            "must be an APR from 0% to 99.99% (in basis points: 999 is 9.99%)",
        ));
    }
    if !(1..=360).contains(&p.months) {
        return Err(ValidationError::new("months", "must be from 1 to 360 monthly payments"));
    }
    Cents(p.min_amount_cents).check("min_amount_cents")?;
    if !(0..=120).contains(&p.promo_months) {
        return Err(ValidationError::new("promo_months", "must be from 0 to 120 months"));
    }
    Ok(())
}

/// A code for a new plan, readable in exports: lender, term and rate, and a bit of its id.
fn code_for(p: &FinancingPlanRow, id: Uuid) -> String {
    let mut lender: String =
        p.lender.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    lender.truncate(16);
    let lender = lender.trim_matches('_');
    let tail = &id.simple().to_string()[24..];
    format!("{lender}_{}m_{}_{tail}", p.months, p.apr_bps).trim_start_matches('_').to_string()
}

/// The company's plans, or (`only`) the one with that id.
async fn all(
    pool: &sqlx::PgPool,
    company: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<FinancingPlanRow>, ApiError> {
    Ok(sqlx::query!(
        "select id, code, lender, apr_bps, months, min_amount_cents, promo_months, active from financing_plans
         where company_id = $1 and not deleted and ($2::uuid is null or id = $2) order by months, apr_bps, code",
        company,
        only
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| FinancingPlanRow {
        id: Some(r.id),
        code: Some(r.code),
        lender: r.lender,
        apr_bps: r.apr_bps,
        months: r.months,
        min_amount_cents: r.min_amount_cents,
        promo_months: r.promo_months,
        active: r.active,
    })
    .collect())
}

#[utoipa::path(get, path = "/financing-plans", tag = "price book",
    responses((status = 200, body = Vec<FinancingPlanRow>), (status = 403, body = app::api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<Vec<FinancingPlanRow>>, ApiError> {
    manager(&user)?;
    Ok(ApiJson(all(&state.pool, user.company_id(), None).await?))
}

#[utoipa::path(post, path = "/financing-plans", tag = "price book", request_body = FinancingPlanRow,
    responses((status = 201, body = FinancingPlanRow), (status = 403, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    ApiJson(mut p): ApiJson<FinancingPlanRow>,
) -> Result<(StatusCode, ApiJson<FinancingPlanRow>), ApiError> {
    manager(&user)?;
    check(&p)?;
    let id = Uuid::now_v7();
    p.id = Some(id);
    p.code = Some(code_for(&p, id));
    save(&state, &user, &device, &p, None).await?;
    Ok((StatusCode::CREATED, ApiJson(p)))
}

#[utoipa::path(put, path = "/financing-plans/{id}", tag = "price book", params(("id" = Uuid, Path)),
    request_body = FinancingPlanRow,
    responses((status = 200, body = FinancingPlanRow, description = "Changed; options made before keep their payments, options sent later are checked against the new terms"),
              (status = 403, body = app::api::ErrorBody), (status = 404, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    Path(id): Path<Uuid>,
    ApiJson(mut p): ApiJson<FinancingPlanRow>,
) -> Result<ApiJson<FinancingPlanRow>, ApiError> {
    manager(&user)?;
    check(&p)?;
    let before = all(&state.pool, user.company_id(), Some(id))
        .await?
        .pop()
        .ok_or(ApiError::NotFound("financing plan"))?;
    p.id = Some(id);
    p.code = before.code.clone();
    save(&state, &user, &device, &p, Some(before)).await?;
    Ok(ApiJson(p))
}

async fn save(
    state: &AppState,
    user: &CurrentUser,
    device: &Device,
    p: &FinancingPlanRow,
    before: Option<FinancingPlanRow>,
) -> Result<(), ApiError> {
    let company = user.company_id();
    let mut tx = state.pool.begin().await?;
    let ticket = state.clock.begin(company, &mut tx).await?;
    let written = sqlx::query!(
        "insert into financing_plans (company_id, id, code, lender, apr_bps, months, min_amount_cents, promo_months,
           active, version)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (company_id, id) do update set lender = excluded.lender, apr_bps = excluded.apr_bps,
           months = excluded.months, min_amount_cents = excluded.min_amount_cents,
           promo_months = excluded.promo_months, active = excluded.active, version = excluded.version
         where not financing_plans.deleted",
        company,
        p.id,
        p.code,
        p.lender.trim(),
        p.apr_bps,
        p.months,
        p.min_amount_cents,
        p.promo_months,
        p.active,
        ticket.version()
    )
    .execute(&mut *tx)
    .await?;
    if written.rows_affected() != 1 {
        return Err(ApiError::NotFound("financing plan"));
    }
    let change = audit::Change {
        record_type: "price_book_item",
        record_id: p.id,
        action: if before.is_some() { "changed" } else { "created" },
        summary: format!(
            "Financing plan {}",
            plan_label(p.lender.trim(), p.terms(), p.promo_months.max(0) as u32)
        ),
        before: before.and_then(|b| serde_json::to_value(b).ok()),
        after: serde_json::to_value(p).ok(),
    };
    audit::record(&mut tx, user, device, change).await?;
    ticket.commit(tx).await?;
    Ok(())
}

#[utoipa::path(delete, path = "/financing-plans/{id}", tag = "price book", params(("id" = Uuid, Path)),
    responses((status = 204, description = "No longer offered on any device; options made with it keep it"),
              (status = 403, body = app::api::ErrorBody), (status = 404, body = app::api::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    manager(&user)?;
    crate::reference::remove(&state, &user, &device, crate::reference::Reference::FinancingPlan, id).await
}

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(update, remove))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_as_its_lender_and_terms() {
        let p = FinancingPlanRow {
            id: None,
            code: None,
            lender: "Wells Fargo!".into(),
            apr_bps: 999,
            months: 60,
            min_amount_cents: 0,
            promo_months: 0,
            active: true,
        };
        let code = code_for(&p, Uuid::from_u128(0xabcdef));
        assert_eq!(code, "wells_fargo_60m_999_00abcdef");
        assert!(
            code.len() <= 40
                && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
    }
}
