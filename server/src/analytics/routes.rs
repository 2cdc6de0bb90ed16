//! `/api/analytics/*`: the dashboard as JSON, breakdowns, CSV exports, settings and process
//! changes. Managers only; every query is scoped to the caller's company.

use super::{
    csv::Writer,
    dashboard, default_range,
    facts::secs,
    load::Slot,
    report::{self, Context, DateRange, Dimension, Filter, Period},
    settings::Settings,
    Dashboard, ProcessChange,
};
use crate::{auth::CurrentUser, error::ApiError, error::ApiJson, state::AppState};
use app::domain::Role;
use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The filters every report takes; all optional.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day, company-local, YYYY-MM-DD (default: 364 days before `to`).
    pub from: Option<String>,
    /// Last day, included (default: today).
    pub to: Option<String>,
    /// week, month (default), quarter or year.
    pub period: Option<String>,
    /// A technician's id.
    pub technician: Option<String>,
    /// A sales rep's id (who closed).
    pub rep: Option<String>,
    pub source: Option<String>,
    pub service: Option<String>,
}

/// A request's report parameters, parsed.
pub struct Request {
    pub range: DateRange,
    pub period: Period,
    pub filter: Filter,
}

/// A date at the edge: its format, and the years the domain allows (the report's arithmetic on
/// days and time zones overflows far outside them).
fn date(name: &'static str, v: &str) -> Result<NaiveDate, ApiError> {
    let day = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::BadRequest(format!("{name}: expected a date like 2026-03-01, got {v:?}")))?;
    app::domain::text::check_date(name, day)?;
    Ok(day)
}

fn person(name: &str, v: &Option<String>) -> Result<Option<String>, ApiError> {
    match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Uuid::parse_str(v)
            .map(|id| Some(id.to_string()))
            .map_err(|_| ApiError::BadRequest(format!("{name}: expected a person's id, got {v:?}"))),
    }
}

impl ReportQuery {
    pub fn parse(&self, tz: chrono_tz::Tz) -> Result<Request, ApiError> {
        let default = default_range(tz, secs(Utc::now()));
        let to = self
            .to
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|v| date("to", v))
            .transpose()?
            .unwrap_or(default.to);
        let from = match self.from.as_deref().filter(|s| !s.is_empty()) {
            Some(v) => date("from", v)?,
            None => to - chrono::Duration::days(364),
        };
        if from > to {
            return Err(ApiError::BadRequest(format!("from ({from}) is after to ({to})")));
        }
        if (to - from).num_days() > 366 * 20 {
            return Err(ApiError::BadRequest("the range may span at most 20 years".into()));
        }
        let period = match self.period.as_deref().filter(|s| !s.is_empty()) {
            None => Period::Month,
            Some(p) => Period::parse(p).ok_or_else(|| {
                ApiError::BadRequest(format!("period: week, month, quarter or year, not {p:?}"))
            })?,
        };
        let text =
            |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        Ok(Request {
            range: DateRange { from, to },
            period,
            filter: Filter {
                technician: person("technician", &self.technician)?,
                rep: person("rep", &self.rep)?,
                source: text(&self.source),
                service: text(&self.service),
            },
        })
    }
}

pub async fn load_settings(pool: &sqlx::PgPool, company: Uuid) -> Result<Settings, ApiError> {
    let raw = sqlx::query_scalar!("select settings from analytics_settings where company_id = $1", company)
        .fetch_optional(pool)
        .await?;
    // Stored settings were validated on the way in; a document from an older version with a key
    // since removed falls back to the defaults rather than breaking the dashboard.
    Ok(raw.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default())
}

pub async fn load_changes(pool: &sqlx::PgPool, company: Uuid) -> Result<Vec<ProcessChange>, ApiError> {
    Ok(sqlx::query_as!(
        ProcessChange,
        "select id, name, changed_on from process_changes where company_id = $1 order by changed_on, created_at",
        company
    )
    .fetch_all(pool)
    .await?)
}

/// People's names by id, to label breakdowns.
pub async fn names(pool: &sqlx::PgPool, company: Uuid) -> Result<HashMap<String, String>, ApiError> {
    let rows =
        sqlx::query!("select id, name from users where company_id = $1", company).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| (r.id.to_string(), r.name)).collect())
}

/// Runs `f` over the caller's company facts, fresh, with the request's context. The compute runs
/// on the blocking pool: a dashboard over a big company is hundreds of milliseconds of CPU, which
/// on an async worker would stall the pushes and pulls sharing it.
pub async fn with_context<T: Send + 'static>(
    state: &AppState,
    user: &CurrentUser,
    query: &ReportQuery,
    f: impl FnOnce(&Context, &Request, &[ProcessChange]) -> T + Send + 'static,
) -> Result<T, ApiError> {
    user.require(Role::Manager, "Only managers can see the company's numbers.")?;
    with_company_context(state, user.company_id(), query, f).await
}

/// [`with_context`] without the role check: for a page that shows a person only their own part
/// of the company's numbers (the caller's duty).
pub async fn with_company_context<T: Send + 'static>(
    state: &AppState,
    company: Uuid,
    query: &ReportQuery,
    f: impl FnOnce(&Context, &Request, &[ProcessChange]) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let settings = load_settings(&state.pool, company).await?;
    let changes = load_changes(&state.pool, company).await?;
    let guard = state.analytics.fresh(&state.pool, &state.clock, company).await?;
    let tz = guard.as_ref().expect("fresh fills the slot").tz;
    let req = query.parse(tz)?;
    tokio::task::spawn_blocking(move || {
        let Slot { facts, tz, .. } = guard.as_ref().expect("fresh fills the slot");
        let cx = Context::new(facts, &settings, *tz, secs(Utc::now()), &req.filter);
        f(&cx, &req, &changes)
    })
    .await
    .map_err(ApiError::internal)
}

/// `GET /api/analytics/dashboard` — with a `Server-Timing` header (refresh + compute), which the
/// analytics bench reads.
#[utoipa::path(get, path = "/analytics/dashboard", tag = "analytics", params(ReportQuery),
    responses((status = 200, body = Dashboard), (status = 400, body = app::api::ErrorBody), (status = 403, body = app::api::ErrorBody)))]
pub async fn get_dashboard(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    let d =
        with_context(&state, &user, &q, |cx, r, changes| dashboard(cx, r.range, r.period, changes)).await?;
    let timing = format!("app;dur={:.2}", started.elapsed().as_secs_f64() * 1e3);
    Ok(([("server-timing", timing)], ApiJson(d)).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DimensionQuery {
    /// technician, rep, source, service or tier
    #[param(pattern = "^(technician|rep|source|service|tier)$")]
    pub dimension: String,
}

fn dimension(s: &str) -> Result<Dimension, ApiError> {
    Dimension::parse(s).ok_or_else(|| {
        ApiError::BadRequest(format!("dimension: technician, rep, source, service or tier, not {s:?}"))
    })
}

/// A breakdown with people's ids replaced by their names.
pub async fn named_breakdown(
    state: &AppState,
    user: &CurrentUser,
    q: &ReportQuery,
    dim: Dimension,
) -> Result<Vec<report::BreakdownRow>, ApiError> {
    let mut rows = with_context(state, user, q, move |cx, r, _| report::breakdown(cx, r.range, dim)).await?;
    if matches!(dim, Dimension::Technician | Dimension::Rep) {
        let names = names(&state.pool, user.company_id()).await?;
        for row in &mut rows {
            if let Some(n) = names.get(&row.key) {
                row.key = n.clone();
            }
        }
    }
    Ok(rows)
}

/// `GET /api/analytics/breakdown?dimension=technician`
#[utoipa::path(get, path = "/analytics/breakdown", tag = "analytics", params(DimensionQuery, ReportQuery),
    responses((status = 200, body = Vec<report::BreakdownRow>), (status = 400, body = app::api::ErrorBody)))]
pub async fn get_breakdown(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(d): Query<DimensionQuery>,
    Query(q): Query<ReportQuery>,
) -> Result<ApiJson<Vec<report::BreakdownRow>>, ApiError> {
    let dim = dimension(&d.dimension)?;
    Ok(ApiJson(named_breakdown(&state, &user, &q, dim).await?))
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.4}", v)).unwrap_or_default()
}

fn csv_response(name: &str, body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
        ],
        body,
    )
        .into_response()
}

pub const EXPORTS: &[&str] = &[
    "headline",
    "funnel",
    "breakdown-technician",
    "breakdown-rep",
    "breakdown-source",
    "breakdown-service",
    "breakdown-tier",
    "lost-reasons",
    "tiers",
    "cohorts",
    "time-to-close",
    "consultations",
    "events",
];

/// `GET /api/analytics/export/{table}` — every dashboard table, and the raw consultations and
/// stage events of the range, as CSV.
#[utoipa::path(get, path = "/analytics/export/{table}", tag = "analytics",
    params(("table" = String, Path, description = "headline, funnel, breakdown-{technician|rep|source|service|tier}, lost-reasons, tiers, cohorts, time-to-close, consultations, events",
            pattern = "^(headline|funnel|breakdown-(technician|rep|source|service|tier)|lost-reasons|tiers|cohorts|time-to-close|consultations|events)$"), ReportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = app::api::ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(table): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let table = table.trim_end_matches(".csv");
    let mut w = Writer::default();
    if let Some(dim) = table.strip_prefix("breakdown-") {
        let rows = named_breakdown(&state, &user, &q, dimension(dim)?).await?;
        w.row([
            dim,
            "held",
            "close_rate",
            "close_rate_n",
            "win_rate",
            "win_rate_n",
            "won",
            "revenue_cents",
            "average_ticket_cents",
        ]);
        for r in rows {
            w.row([
                r.key,
                r.held.to_string(),
                pct(r.close_rate.value),
                r.close_rate.n.to_string(),
                pct(r.win_rate.value),
                r.win_rate.n.to_string(),
                r.won.to_string(),
                r.revenue_cents.to_string(),
                r.average_ticket_cents.map(|c| c.to_string()).unwrap_or_default(),
            ]);
        }
        return Ok(csv_response(table, w.finish()));
    }
    match table {
        "consultations" | "events" => return raw_export(&state, &user, &q, table).await,
        t if !EXPORTS.contains(&t) => {
            return Err(ApiError::BadRequest(format!("unknown export {t:?}; one of: {}", EXPORTS.join(", "))))
        }
        _ => {}
    }
    let d =
        with_context(&state, &user, &q, |cx, r, changes| dashboard(cx, r.range, r.period, changes)).await?;
    match table {
        "headline" => {
            w.row(["kpi", "value", "unit", "target", "met", "n", "low", "high", "still_open"]);
            for k in &d.headline {
                w.row([
                    k.key.to_string(),
                    pct(k.value),
                    k.unit.as_str().to_string(),
                    k.target.to_string(),
                    k.met.map(|m| m.to_string()).unwrap_or_default(),
                    k.n.to_string(),
                    pct(k.rate.and_then(|r| r.low)),
                    pct(k.rate.and_then(|r| r.high)),
                    pct(k.rate.and_then(|r| r.still_open)),
                ]);
            }
        }
        "funnel" => {
            w.row([
                "stage",
                "entries",
                "advanced",
                "lost",
                "moved_back",
                "still_in",
                "conversion",
                "target",
                "leak_cents",
                "bottleneck",
            ]);
            for s in &d.funnel.stages {
                w.row([
                    s.name.to_string(),
                    s.entries.to_string(),
                    s.advanced.to_string(),
                    s.lost.to_string(),
                    s.moved_back.to_string(),
                    s.still_in.to_string(),
                    pct(s.conversion.value),
                    s.target.to_string(),
                    s.leak_cents.to_string(),
                    s.bottleneck.to_string(),
                ]);
            }
        }
        "lost-reasons" => {
            w.row(["reason", "count", "value_cents", "share"]);
            for r in &d.lost_reasons {
                w.row([r.reason.clone(), r.count.to_string(), r.value_cents.to_string(), pct(Some(r.share))]);
            }
        }
        "tiers" => {
            w.row(["tier", "won", "share_of_wins", "average_ticket_cents"]);
            for t in &d.tiers {
                w.row([
                    t.tier.clone(),
                    t.won.to_string(),
                    pct(Some(t.share_of_wins)),
                    t.average_ticket_cents.to_string(),
                ]);
            }
        }
        "cohorts" => {
            let mut header = vec!["month".to_string(), "held".to_string()];
            header.extend((1..=report::COHORT_WEEKS).map(|w| format!("closed_by_week_{w}")));
            w.row(header);
            for c in &d.cohorts {
                let mut row = vec![c.month.to_string(), c.held.to_string()];
                row.extend(c.closed_by_week.iter().map(|v| pct(*v)));
                w.row(row);
            }
        }
        "time-to-close" => {
            w.row(["day", "closed", "at_risk"]);
            for p in &d.sales_cycle.curve {
                w.row([p.day.to_string(), pct(Some(p.closed)), p.at_risk.to_string()]);
            }
        }
        _ => unreachable!("checked above"),
    }
    Ok(csv_response(table, w.finish()))
}

/// Raw rows of the range (by lead created), straight from Postgres, company-scoped.
async fn raw_export(
    state: &AppState,
    user: &CurrentUser,
    q: &ReportQuery,
    table: &str,
) -> Result<Response, ApiError> {
    user.require(Role::Manager, "Only managers can export the company's records.")?;
    let company = user.company_id();
    let tz = super::settings::load_zone(&state.pool, company).await?;
    let r = q.parse(tz)?;
    let (from, to) = report::bounds(tz, r.range);
    let (from, to) = (
        chrono::DateTime::from_timestamp(from, 0).unwrap_or_default(),
        chrono::DateTime::from_timestamp(to, 0).unwrap_or_default(),
    );
    let mut w = Writer::default();
    if table == "consultations" {
        let rows = sqlx::query!(
            "select c.id, c.lead_id, l.source, l.service_type, l.lead_created_at, c.technician_id, c.sales_rep_id, c.held_at,
                    c.status, c.lost_reason, c.sold_amount_cents, c.decided_at
             from consultations c join leads l on l.company_id = c.company_id and l.id = c.lead_id
             where c.company_id = $1 and not c.deleted and l.lead_created_at >= $2 and l.lead_created_at < $3
             order by l.lead_created_at",
            company,
            from,
            to
        )
        .fetch_all(&state.pool)
        .await?;
        w.row([
            "consultation_id",
            "lead_id",
            "source",
            "service_type",
            "lead_created_at",
            "technician_id",
            "sales_rep_id",
            "held_at",
            "status",
            "lost_reason",
            "sold_amount_cents",
            "decided_at",
        ]);
        let t = |v: Option<chrono::DateTime<Utc>>| v.map(|v| v.to_rfc3339()).unwrap_or_default();
        for r in rows {
            w.row([
                r.id.to_string(),
                r.lead_id.to_string(),
                r.source,
                r.service_type,
                r.lead_created_at.to_rfc3339(),
                r.technician_id.to_string(),
                r.sales_rep_id.map(|v| v.to_string()).unwrap_or_default(),
                t(r.held_at),
                r.status,
                r.lost_reason.unwrap_or_default(),
                r.sold_amount_cents.map(|v| v.to_string()).unwrap_or_default(),
                t(r.decided_at),
            ]);
        }
    } else {
        let rows = sqlx::query!(
            "select e.id, e.lead_id, e.consultation_id, e.kind, e.occurred_at, e.actor_id, e.details
             from stage_events e join leads l on l.company_id = e.company_id and l.id = e.lead_id
             where e.company_id = $1 and not e.deleted and l.lead_created_at >= $2 and l.lead_created_at < $3
             order by e.occurred_at",
            company,
            from,
            to
        )
        .fetch_all(&state.pool)
        .await?;
        w.row(["event_id", "lead_id", "consultation_id", "kind", "occurred_at", "actor_id", "details"]);
        for r in rows {
            w.row([
                r.id.to_string(),
                r.lead_id.to_string(),
                r.consultation_id.map(|v| v.to_string()).unwrap_or_default(),
                r.kind,
                r.occurred_at.to_rfc3339(),
                r.actor_id.to_string(),
                r.details.to_string(),
            ]);
        }
    }
    Ok(csv_response(table, w.finish()))
}

/// `GET /api/analytics/settings`
#[utoipa::path(get, path = "/analytics/settings", tag = "analytics", responses((status = 200, body = Settings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<Settings>, ApiError> {
    user.require(Role::Manager, "Only managers can see analytics settings.")?;
    Ok(ApiJson(load_settings(&state.pool, user.company_id()).await?))
}

/// `PUT /api/analytics/settings` — the whole document; absent keys take the defaults.
#[utoipa::path(put, path = "/analytics/settings", tag = "analytics", request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = app::api::ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    device: crate::audit::Device,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<ApiJson<Settings>, ApiError> {
    user.require(Role::Manager, "Only managers can change analytics settings.")?;
    // An object only: serde would also read a struct from an array, and `[]` would quietly
    // reset every setting to its default.
    if !body.is_object() {
        return Err(ApiError::BadRequest(
            "The settings must be a JSON object, e.g. {\"stale_days\": 30}.".into(),
        ));
    }
    let settings: Settings = serde_json::from_value(body)
        .map_err(|e| ApiError::BadRequest(format!("The settings are not valid: {e}")))?;
    settings.validate().map_err(ApiError::BadRequest)?;
    let before = serde_json::to_value(load_settings(&state.pool, user.company_id()).await?)
        .map_err(ApiError::internal)?;
    let after = serde_json::to_value(&settings).map_err(ApiError::internal)?;
    let mut tx = state.pool.begin().await?;
    sqlx::query!(
        "insert into analytics_settings (company_id, settings, updated_by) values ($1, $2, $3)
         on conflict (company_id) do update set settings = $2, updated_by = $3, updated_at = now()",
        user.company_id(),
        after,
        user.user_id()
    )
    .execute(&mut *tx)
    .await?;
    if before != after {
        let change = crate::audit::Change {
            record_type: "settings",
            record_id: None,
            action: "changed",
            summary: "Targets and settings changed".into(),
            before: Some(before),
            after: Some(after),
        };
        crate::audit::record(&mut tx, &user, &device, change).await?;
    }
    tx.commit().await?;
    // Every signed-in person of the company carries the cadence (`Me::cadence_days`).
    crate::caches::forget(&state, crate::caches::Forget::Company(user.company_id())).await;
    Ok(ApiJson(settings))
}

/// `GET /api/analytics/changes`
#[utoipa::path(get, path = "/analytics/changes", tag = "analytics", responses((status = 200, body = Vec<ProcessChange>)))]
pub async fn list_changes(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<Vec<ProcessChange>>, ApiError> {
    user.require(Role::Manager, "Only managers can see process changes.")?;
    Ok(ApiJson(load_changes(&state.pool, user.company_id()).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChange {
    /// What changed, e.g. "New price book".
    pub name: String,
    /// The day it took effect, YYYY-MM-DD.
    pub changed_on: String,
}

/// `POST /api/analytics/changes` — records a dated process change for before/after.
#[utoipa::path(post, path = "/analytics/changes", tag = "analytics", request_body = NewChange,
    responses((status = 201, body = ProcessChange), (status = 400, body = app::api::ErrorBody)))]
pub async fn create_change(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(c): ApiJson<NewChange>,
) -> Result<(StatusCode, ApiJson<ProcessChange>), ApiError> {
    user.require(Role::Manager, "Only managers can record process changes.")?;
    let name = c.name.trim();
    if name.is_empty() {
        return Err(ApiError::BadRequest("name: say what changed, in at most 200 characters".into()));
    }
    app::domain::text::check("name", name, 200)?;
    let on = date("changed_on", &c.changed_on)?;
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into process_changes (company_id, id, name, changed_on, created_by) values ($1, $2, $3, $4, $5)",
        user.company_id(),
        id,
        name,
        on,
        user.user_id()
    )
    .execute(&state.pool)
    .await?;
    Ok((StatusCode::CREATED, ApiJson(ProcessChange { id, name: name.to_string(), changed_on: on })))
}
