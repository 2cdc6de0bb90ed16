//! Marketing spend (managers): a month's spend per lead source and campaign, entered one at a
//! time or imported as CSV, and the marketing report that divides it by what it bought
//! (`report::marketing`).

use super::{
    csv,
    import::{parse_money, RowError},
    report::{self, Marketing, Spend},
    routes::{with_context, ReportQuery},
};
use crate::{
    auth::CurrentUser,
    error::{ApiError, ApiJson},
    state::AppState,
};
use app::{
    api::{MarketingSpend, MarketingSpendKey},
    domain::{text, Role, ValidationError},
    sync::mutation::LEAD_SOURCES,
};
use axum::{
    body::Bytes,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The largest single month's spend on one source: $100,000,000.
const MAX_CENTS: i64 = 10_000_000_000;
/// Rows an import may hold: ten years of every source and a few campaigns each.
const MAX_ROWS: usize = 5_000;
pub const MAX_BYTES: usize = 1024 * 1024;
const COLUMNS: &[&str] = &["month", "source", "campaign", "amount"];
const REQUIRED: &[&str] = &["month", "source", "amount"];

fn manager(user: &CurrentUser) -> Result<(), ApiError> {
    user.require(Role::Manager, "Only managers can see and enter marketing spend.")
}

/// `2026-11` (or a date in it, `2026-11-01`) as the month's first day.
fn month(field: &'static str, raw: &str) -> Result<NaiveDate, ValidationError> {
    let raw = raw.trim();
    let day = NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(raw, "%Y-%m-%d"))
        .map_err(|_| ValidationError::new(field, format!("{raw:?} is not a month like 2026-11")))?;
    text::check_date(field, day)?;
    Ok(day.with_day0(0).unwrap_or(day))
}

/// One entry, checked: a known source, a campaign of at most 200 plain characters, an amount
/// of 0 to $100,000,000.
struct Entry {
    month: NaiveDate,
    source: String,
    campaign: String,
    cents: i64,
}

fn key(
    month_raw: &str,
    source: &str,
    campaign: &str,
) -> Result<(NaiveDate, String, String), ValidationError> {
    let month = month("month", month_raw)?;
    let source = source.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    if !LEAD_SOURCES.contains(&source.as_str()) {
        return Err(ValidationError::new(
            "source",
            format!("{source:?} is not a lead source; one of {}", LEAD_SOURCES.join(", ")),
        ));
    }
    let campaign = campaign.trim().to_string();
    text::check("campaign", &campaign, 200)?;
    Ok((month, source, campaign))
}

fn entry(s: &MarketingSpend) -> Result<Entry, ValidationError> {
    let (month, source, campaign) = key(&s.month, &s.source, &s.campaign)?;
    if !(0..=MAX_CENTS).contains(&s.amount_cents) {
        return Err(ValidationError::new(
            "amount_cents",
            "from 0 to 10000000000 (a hundred million dollars)",
        ));
    }
    Ok(Entry { month, source, campaign, cents: s.amount_cents })
}

fn shown(month: NaiveDate, source: String, campaign: String, cents: i64) -> MarketingSpend {
    MarketingSpend { month: month.format("%Y-%m").to_string(), source, campaign, amount_cents: cents }
}

pub async fn load(pool: &sqlx::PgPool, company: Uuid) -> Result<Vec<Spend>, ApiError> {
    Ok(sqlx::query!(
        "select month, source, campaign, amount_cents from marketing_spend where company_id = $1
         order by month, source, campaign",
        company
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Spend { month: r.month, source: r.source, campaign: r.campaign, cents: r.amount_cents })
    .collect())
}

#[utoipa::path(get, path = "/marketing-spend", tag = "analytics",
    responses((status = 200, body = Vec<MarketingSpend>), (status = 403, body = app::api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<Vec<MarketingSpend>>, ApiError> {
    manager(&user)?;
    let rows = load(&state.pool, user.company_id()).await?;
    Ok(ApiJson(rows.into_iter().rev().map(|s| shown(s.month, s.source, s.campaign, s.cents)).collect()))
}

async fn upsert(db: &mut sqlx::PgConnection, company: Uuid, by: Uuid, e: &Entry) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into marketing_spend (company_id, month, source, campaign, amount_cents, updated_by)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (company_id, month, source, campaign)
         do update set amount_cents = excluded.amount_cents, updated_by = excluded.updated_by, updated_at = now()",
        company,
        e.month,
        e.source,
        e.campaign,
        e.cents,
        by
    )
    .execute(db)
    .await
    .map(|_| ())
}

#[utoipa::path(put, path = "/marketing-spend", tag = "analytics", request_body = MarketingSpend,
    responses((status = 200, body = MarketingSpend), (status = 403, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody, description = "Not a month, not a lead source, or an amount out of range")))]
pub async fn put(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<MarketingSpend>,
) -> Result<ApiJson<MarketingSpend>, ApiError> {
    manager(&user)?;
    let e = entry(&req)?;
    let mut db = state.pool.acquire().await?;
    upsert(&mut db, user.company_id(), user.user_id(), &e).await?;
    Ok(ApiJson(shown(e.month, e.source, e.campaign, e.cents)))
}

#[utoipa::path(delete, path = "/marketing-spend", tag = "analytics", request_body = MarketingSpendKey,
    responses((status = 204, description = "Cleared (also when there was nothing)"), (status = 403, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<MarketingSpendKey>,
) -> Result<StatusCode, ApiError> {
    manager(&user)?;
    let (month, source, campaign) = key(&req.month, &req.source, &req.campaign)?;
    sqlx::query!(
        "delete from marketing_spend where company_id = $1 and month = $2 and source = $3 and campaign = $4",
        user.company_id(),
        month,
        source,
        campaign
    )
    .execute(&state.pool)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SpendImport {
    pub rows: usize,
    pub imported: usize,
    /// Every problem found; when there is any, nothing was written.
    pub errors: Vec<RowError>,
}

/// `POST /api/marketing-spend/import`: a CSV of `month,source,campaign,amount` (amount in dollars
/// as people write them). All or nothing; a row for a month, source and campaign already entered
/// replaces it, so importing the same file twice changes nothing.
#[utoipa::path(post, path = "/marketing-spend/import", tag = "analytics",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = SpendImport), (status = 422, body = SpendImport, description = "Nothing written: each problem by line"),
              (status = 400, body = app::api::ErrorBody, description = "Not a CSV of these columns"),
              (status = 403, body = app::api::ErrorBody), (status = 413, body = app::api::ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Bytes,
) -> Result<Response, ApiError> {
    manager(&user)?;
    let table = csv::Table::read(&body, COLUMNS, REQUIRED).map_err(ApiError::BadRequest)?;
    if table.rows.len() > MAX_ROWS {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} rows; import at most {MAX_ROWS} per file",
            table.rows.len()
        )));
    }
    let mut errors = vec![];
    let mut entries = std::collections::BTreeMap::new();
    for (line, fields) in &table.rows {
        let get = |c: &str| table.get(fields, c).unwrap_or_default();
        let parsed = parse_money(&get("amount")).map_err(|m| format!("amount: {m}")).and_then(|cents| {
            let spend = MarketingSpend {
                month: get("month"),
                source: get("source"),
                campaign: get("campaign"),
                amount_cents: cents,
            };
            entry(&spend).map_err(|e| e.to_string())
        });
        match parsed {
            Ok(e) => {
                // A later line for the same month, source and campaign is the one kept.
                entries.insert((e.month, e.source.clone(), e.campaign.clone()), e);
            }
            Err(message) => errors.push(RowError { line: *line, message }),
        }
    }
    let report = |imported| SpendImport { rows: table.rows.len(), imported, errors: errors.clone() };
    if !errors.is_empty() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(report(0))).into_response());
    }
    let mut tx = state.pool.begin().await?;
    for e in entries.values() {
        upsert(&mut tx, user.company_id(), user.user_id(), e).await?;
    }
    tx.commit().await?;
    Ok(Json(report(table.rows.len())).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MarketingQuery {
    /// First day, YYYY-MM-DD: its month is the first (default: 364 days before `to`).
    pub from: Option<String>,
    /// Last day: its month is the last (default: today).
    pub to: Option<String>,
}

/// `GET /api/analytics/marketing`: spend against leads, consultations, sales and revenue, per
/// source and campaign, per cohort month and over the range.
#[utoipa::path(get, path = "/analytics/marketing", tag = "analytics", params(MarketingQuery),
    responses((status = 200, body = Marketing), (status = 400, body = app::api::ErrorBody), (status = 403, body = app::api::ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<MarketingQuery>,
) -> Result<ApiJson<Marketing>, ApiError> {
    manager(&user)?;
    let spend = load(&state.pool, user.company_id()).await?;
    let query = ReportQuery { from: q.from, to: q.to, ..Default::default() };
    Ok(ApiJson(
        with_context(&state, &user, &query, move |cx, r, _| report::marketing(cx, r.range, &spend)).await?,
    ))
}
