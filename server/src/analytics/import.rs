//! `POST /api/analytics/import`: historical leads from another system as CSV, so a company has
//! its "before" baseline on day one. All or nothing: every row is checked first and any problem
//! is reported by line with nothing written; `?dry_run=true` only reports. Re-importing the same
//! file changes nothing (rows are keyed by `external_id`).
//!
//! Imported history is written straight to the tables with its stage events, at the times the
//! file gives, under one company version (it is not device work, so it does not go through the
//! mutation log).

use super::csv;
use crate::{auth::CurrentUser, error::ApiError, state::AppState};
use app::{
    domain::{EmailAddress, PersonName, PhoneNumber, Role},
    sync::mutation::{LEAD_SOURCES, LOST_REASONS, SERVICE_TYPES},
};
use axum::{
    body::Bytes,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub const COLUMNS: &[&str] = &[
    "external_id",
    "created_at",
    "source",
    "service_type",
    "customer_name",
    "phone",
    "email",
    "address",
    "first_contact_at",
    "consultation_at",
    "technician_email",
    "options_presented",
    "quoted_amount",
    "outcome",
    "decided_at",
    "sold_amount",
    "lost_reason",
    "closed_by_email",
];
const REQUIRED: &[&str] = &["external_id", "created_at", "source", "service_type", "customer_name"];
/// Rows per import: a bigger history goes in several files.
pub const MAX_ROWS: usize = 50_000;
pub const MAX_BYTES: usize = 20 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Data rows in the file.
    pub rows: usize,
    /// Rows written (or that would be, on a dry run).
    pub imported: usize,
    /// Rows whose external_id was imported before: left as they are.
    pub already_imported: usize,
    /// Every problem found; when there is any, nothing was written.
    pub errors: Vec<RowError>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check and report only; write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Open,
    Won,
    Lost,
}

/// One row, parsed and checked.
#[derive(Debug, Clone)]
struct Row {
    line: usize,
    external_id: String,
    created_at: DateTime<Utc>,
    source: String,
    service_type: String,
    customer: PersonName,
    phone: Option<PhoneNumber>,
    email: Option<EmailAddress>,
    address: Option<String>,
    first_contact_at: Option<DateTime<Utc>>,
    consultation_at: Option<DateTime<Utc>>,
    technician: Option<Uuid>,
    options_presented: u32,
    quoted_cents: Option<i64>,
    outcome: Outcome,
    decided_at: Option<DateTime<Utc>>,
    sold_cents: Option<i64>,
    lost_reason: Option<String>,
    closed_by: Option<Uuid>,
}

/// Dollars as people write them ("1234.5", "$1,234.50") to cents.
pub fn parse_money(s: &str) -> Result<i64, String> {
    let clean: String = s.trim().trim_start_matches('$').chars().filter(|c| *c != ',').collect();
    let (whole, frac) = clean.split_once('.').unwrap_or((&clean, ""));
    let ok = !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && frac.len() <= 2
        && frac.chars().all(|c| c.is_ascii_digit());
    if !ok {
        return Err(format!("{s:?} is not an amount like 1234.50"));
    }
    let cents = format!("{frac:0<2}").parse::<i64>().unwrap_or(0);
    whole
        .parse::<i64>()
        .ok()
        .and_then(|w| w.checked_mul(100))
        .and_then(|w| w.checked_add(cents))
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// The company's people by lower-cased email: (id, role, active).
type People = HashMap<String, (Uuid, String, bool)>;

fn parse_row(line: usize, get: &dyn Fn(&str) -> Option<String>, people: &People) -> Result<Row, Vec<String>> {
    let mut errs = vec![];
    let mut need = |name: &str| match get(name) {
        Some(v) => v,
        None => {
            errs.push(format!("{name} is required"));
            String::new()
        }
    };
    let external_id = need("external_id");
    let created_raw = need("created_at");
    let source_raw = need("source");
    let service_raw = need("service_type");
    let name_raw = need("customer_name");
    // Lengths and characters as the app's own forms allow them.
    for (col, max) in [("external_id", 100), ("address", 300)] {
        if let Some(Err(e)) = get(col).map(|v| app::domain::text::check("text", &v, max)) {
            errs.push(format!("{col}: {}", e.message));
        }
    }
    let time = |name: &str, v: &str, errs: &mut Vec<String>| match DateTime::parse_from_rfc3339(v) {
        Ok(t) if app::domain::text::check_time("time", t.to_utc()).is_err() => {
            let (first, last) = (app::domain::text::FIRST_YEAR, app::domain::text::LAST_YEAR);
            errs.push(format!("{name}: {v:?} is not between {first} and {last}"));
            None
        }
        Ok(t) => Some(t.to_utc()),
        Err(_) => {
            errs.push(format!("{name}: {v:?} is not an RFC 3339 time like 2025-03-01T14:30:00-06:00"));
            None
        }
    };
    let created_at = if created_raw.is_empty() { None } else { time("created_at", &created_raw, &mut errs) };
    let source = source_raw.to_lowercase();
    if !source.is_empty() && !LEAD_SOURCES.contains(&source.as_str()) {
        errs.push(format!("source: {source_raw:?} is not one of {}", LEAD_SOURCES.join(", ")));
    }
    let service_type = service_raw.to_lowercase();
    if !service_type.is_empty() && !SERVICE_TYPES.contains(&service_type.as_str()) {
        errs.push(format!("service_type: {service_raw:?} is not one of {}", SERVICE_TYPES.join(", ")));
    }
    let customer = if name_raw.is_empty() {
        None
    } else {
        PersonName::parse(&name_raw).map_err(|e| errs.push(format!("customer_name: {}", e.message))).ok()
    };
    let phone = get("phone")
        .and_then(|p| PhoneNumber::parse(&p).map_err(|e| errs.push(format!("phone: {}", e.message))).ok());
    let email = get("email")
        .and_then(|p| EmailAddress::parse(&p).map_err(|e| errs.push(format!("email: {}", e.message))).ok());
    let first_contact_at = get("first_contact_at").and_then(|v| time("first_contact_at", &v, &mut errs));
    let consultation_at = get("consultation_at").and_then(|v| time("consultation_at", &v, &mut errs));
    let decided_at = get("decided_at").and_then(|v| time("decided_at", &v, &mut errs));
    let person = |col: &str, roles: &[&str], errs: &mut Vec<String>| -> Option<Uuid> {
        let email = get(col)?.to_lowercase();
        match people.get(&email) {
            Some((id, role, true)) if roles.contains(&role.as_str()) => Some(*id),
            Some((_, _, false)) => {
                errs.push(format!("{col}: {email} is not active in this company"));
                None
            }
            Some((_, role, _)) => {
                errs.push(format!("{col}: {email} is a {role}, not a {}", roles.join(" or ")));
                None
            }
            None => {
                errs.push(format!(
                    "{col}: nobody in this company has the email {email}; add them on the Team tab first"
                ));
                None
            }
        }
    };
    let technician = person("technician_email", &["technician", "manager"], &mut errs);
    let closed_by = person("closed_by_email", &["technician", "sales_rep", "manager"], &mut errs);
    let options_presented = match get("options_presented") {
        None => 0,
        Some(v) => v.parse::<u32>().ok().filter(|n| *n <= 10).unwrap_or_else(|| {
            errs.push(format!("options_presented: {v:?} is not a number from 0 to 10"));
            0
        }),
    };
    // Bounded like a quote (at most $10,000,000), so the report's sums cannot overflow.
    let money = |col: &'static str, errs: &mut Vec<String>| {
        get(col).and_then(|v| {
            parse_money(&v)
                .and_then(|c| app::domain::Cents(c).check(col).map(|c| c.0).map_err(|e| e.message))
                .map_err(|e| errs.push(format!("{col}: {e}")))
                .ok()
        })
    };
    let quoted_cents = money("quoted_amount", &mut errs);
    let sold_cents = money("sold_amount", &mut errs);
    let outcome = match get("outcome").map(|o| o.to_lowercase()).as_deref() {
        None | Some("open") => Outcome::Open,
        Some("won") => Outcome::Won,
        Some("lost") => Outcome::Lost,
        Some(o) => {
            errs.push(format!("outcome: {o:?} is not won, lost or open"));
            Outcome::Open
        }
    };
    let lost_reason = get("lost_reason").map(|r| r.to_lowercase());
    if let Some(r) = &lost_reason {
        if !LOST_REASONS.contains(&r.as_str()) {
            errs.push(format!("lost_reason: {r:?} is not one of {}", LOST_REASONS.join(", ")));
        }
    }
    match outcome {
        Outcome::Won => {
            if consultation_at.is_none() {
                errs.push("a won row needs consultation_at".into());
            }
            if decided_at.is_none() {
                errs.push("a won row needs decided_at".into());
            }
            if sold_cents.is_none() {
                errs.push("a won row needs sold_amount".into());
            }
        }
        Outcome::Lost => {
            if decided_at.is_none() {
                errs.push("a lost row needs decided_at".into());
            }
            if lost_reason.is_none() {
                errs.push("a lost row needs lost_reason (a reason is required when a quote is lost)".into());
            }
        }
        Outcome::Open => {}
    }
    if consultation_at.is_some() && technician.is_none() && get("technician_email").is_none() {
        errs.push("technician_email is required when consultation_at is given".into());
    }
    if let (Some(c), Some(f)) = (created_at, first_contact_at) {
        if f < c {
            errs.push("first_contact_at is before created_at".into());
        }
    }
    if let (Some(c), Some(k)) = (created_at, consultation_at) {
        if k < c {
            errs.push("consultation_at is before created_at".into());
        }
    }
    if let (Some(k), Some(d)) = (consultation_at.or(created_at), decided_at) {
        if d < k {
            errs.push("decided_at is before the consultation".into());
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(Row {
        line,
        external_id,
        created_at: created_at.expect("checked"),
        source,
        service_type,
        customer: customer.expect("checked"),
        phone,
        email,
        address: get("address"),
        first_contact_at,
        consultation_at,
        technician,
        options_presented,
        quoted_cents,
        outcome,
        decided_at,
        sold_cents,
        lost_reason,
        closed_by,
    })
}

fn report(status: StatusCode, r: ImportReport) -> Response {
    (status, Json(r)).into_response()
}

#[utoipa::path(post, path = "/analytics/import", tag = "analytics", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "Header row naming any of: external_id, created_at, source, service_type, customer_name, phone, email, address, first_contact_at, consultation_at, technician_email, options_presented, quoted_amount, outcome, decided_at, sold_amount, lost_reason, closed_by_email"),
    responses((status = 200, body = ImportReport), (status = 422, body = ImportReport, description = "Rows with problems, by line; nothing written"),
              (status = 400, body = app::api::ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    user.require(Role::Manager, "Only managers can import history.")?;
    let company = user.company_id();
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the file is not UTF-8 text; save it as CSV UTF-8".into()))?;
    let records = csv::parse(text).map_err(ApiError::BadRequest)?;
    let Some(((_, header), rows)) = records.split_first() else {
        return Err(ApiError::BadRequest(format!(
            "the file is empty; the first line names the columns: {}",
            COLUMNS.join(", ")
        )));
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    if let Some(unknown) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "unknown column {unknown:?}; the columns are: {}",
            COLUMNS.join(", ")
        )));
    }
    if let Some(missing) = REQUIRED.iter().find(|r| !header.iter().any(|h| h == *r)) {
        return Err(ApiError::BadRequest(format!(
            "the header has no {missing} column (required: {})",
            REQUIRED.join(", ")
        )));
    }
    if rows.len() > MAX_ROWS {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} rows; import at most {MAX_ROWS} per file",
            rows.len()
        )));
    }
    let people: People =
        sqlx::query!("select email, id, role, active from users where company_id = $1", company)
            .fetch_all(&state.pool)
            .await?
            .into_iter()
            .map(|p| (p.email, (p.id, p.role, p.active)))
            .collect();

    let mut errors = vec![];
    let mut parsed = vec![];
    let mut seen = HashSet::new();
    for (line, fields) in rows {
        if fields.len() != header.len() {
            errors.push(RowError {
                line: *line,
                message: format!("{} fields, but the header names {}", fields.len(), header.len()),
            });
            continue;
        }
        let get = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .map(|i| fields[i].trim().to_string())
                .filter(|v| !v.is_empty())
        };
        match parse_row(*line, &get, &people) {
            Ok(row) if !seen.insert(row.external_id.clone()) => errors.push(RowError {
                line: *line,
                message: format!("external_id {:?} appears twice in the file", row.external_id),
            }),
            Ok(row) => parsed.push(row),
            Err(messages) => {
                errors.extend(messages.into_iter().map(|message| RowError { line: *line, message }))
            }
        }
    }
    let ids: Vec<String> = parsed.iter().map(|r| r.external_id.clone()).collect();
    let existing: HashSet<String> = sqlx::query_scalar!(
        "select external_id from leads where company_id = $1 and external_id = any($2)",
        company,
        &ids
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .flatten()
    .collect();
    let fresh: Vec<&Row> = parsed.iter().filter(|r| !existing.contains(&r.external_id)).collect();
    let mut out = ImportReport {
        dry_run: q.dry_run,
        rows: rows.len(),
        imported: if errors.is_empty() { fresh.len() } else { 0 },
        already_imported: parsed.len() - fresh.len(),
        errors,
    };
    if !out.errors.is_empty() {
        out.errors.sort_by_key(|e| e.line);
        return Ok(report(StatusCode::UNPROCESSABLE_ENTITY, out));
    }
    if q.dry_run || fresh.is_empty() {
        return Ok(report(StatusCode::OK, out));
    }
    let fresh: Vec<Row> = fresh.into_iter().cloned().collect();
    let manager = user.user_id();
    // Detached, like a push: a client that hangs up does not leave the import half-way.
    crate::sync::detached(async move {
        let mut tx = state.pool.begin().await?;
        // One version for the whole import.
        let ticket = state.clock.begin(company).await?;
        let version = ticket.version();
        for row in &fresh {
            write_row(&mut tx, company, manager, version, row).await.map_err(|e| match e {
                sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => ApiError::Conflict(format!(
                    "line {}: external_id {:?} was imported by another import running at the same time; try again",
                    row.line, row.external_id
                )),
                e => e.into(),
            })?;
        }
        ticket.commit(tx).await?;
        Ok(())
    })
    .await?;
    tracing::info!(%company, imported = out.imported, "history imported");
    Ok(report(StatusCode::OK, out))
}

async fn write_row(
    db: &mut PgConnection,
    company: Uuid,
    manager: Uuid,
    version: i64,
    r: &Row,
) -> Result<(), sqlx::Error> {
    let (customer, lead) = (Uuid::now_v7(), Uuid::now_v7());
    let scope: Vec<Uuid> = r.technician.into_iter().chain(r.closed_by).collect();
    sqlx::query!(
        "insert into customers (company_id, id, name, phone, email, address, version, scope_users, created_by, updated_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        company,
        customer,
        r.customer.as_str(),
        r.phone.as_ref().map(|p| p.as_str()),
        r.email.as_ref().map(|e| e.as_str()),
        r.address.as_deref(),
        version,
        &scope,
        manager
    )
    .execute(&mut *db)
    .await?;
    sqlx::query!(
        "insert into leads (company_id, id, customer_id, source, service_type, lead_created_at, first_contact_at, external_id,
            version, scope_users, created_by, updated_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        company,
        lead,
        customer,
        &r.source,
        &r.service_type,
        r.created_at,
        r.first_contact_at,
        &r.external_id,
        version,
        &scope,
        manager
    )
    .execute(&mut *db)
    .await?;
    let event = |kind: &'static str,
                 at: DateTime<Utc>,
                 consultation: Option<Uuid>,
                 actor: Uuid,
                 details: serde_json::Value| { (kind, at, consultation, actor, details) };
    let mut events = vec![event(
        "lead_created",
        r.created_at,
        None,
        manager,
        json!({ "source": r.source, "service_type": r.service_type, "imported": true }),
    )];
    if let Some(at) = r.first_contact_at {
        events.push(event(
            "first_contact",
            at,
            None,
            r.technician.unwrap_or(manager),
            json!({ "imported": true }),
        ));
    }
    if let (Some(held), Some(tech)) = (r.consultation_at, r.technician) {
        let consultation = Uuid::now_v7();
        let (status, decided) = match r.outcome {
            Outcome::Open => ("open", None),
            Outcome::Won => ("won", r.decided_at),
            Outcome::Lost => ("lost", r.decided_at),
        };
        let closer = r.closed_by.unwrap_or(tech);
        sqlx::query!(
            "insert into consultations (company_id, id, lead_id, customer_id, technician_id, scheduled_at, held_at, status,
                lost_reason, sold_amount_cents, sold_by, decided_at, version, scope_users, created_by, updated_by)
             values ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
            company,
            consultation,
            lead,
            customer,
            tech,
            held,
            status,
            if r.outcome == Outcome::Lost { r.lost_reason.as_deref() } else { None },
            if r.outcome == Outcome::Won { r.sold_cents } else { None },
            if r.outcome == Outcome::Won { Some(closer) } else { None },
            decided,
            version,
            &scope,
            manager
        )
        .execute(&mut *db)
        .await?;
        events.push(event("consultation_held", held, Some(consultation), tech, json!({ "imported": true })));
        let mut option = None;
        if let Some(price) = r.quoted_cents.or(r.sold_cents) {
            let id = Uuid::now_v7();
            option = Some(id);
            sqlx::query!(
                "insert into options (company_id, id, consultation_id, tier, position, price_cents, presented, version, scope_users,
                    created_by, updated_by)
                 values ($1, $2, $3, 'Quoted', 0, $4, $5, $6, $7, $8, $8)",
                company,
                id,
                consultation,
                price,
                r.options_presented > 0,
                version,
                &scope,
                manager
            )
            .execute(&mut *db)
            .await?;
        }
        if r.options_presented > 0 {
            events.push(event(
                "options_presented",
                held,
                Some(consultation),
                tech,
                json!({ "count": r.options_presented, "imported": true }),
            ));
        }
        match (r.outcome, r.decided_at) {
            (Outcome::Won, Some(at)) => events.push(event(
                "won",
                at,
                Some(consultation),
                closer,
                json!({ "amount_cents": r.sold_cents, "option_id": option, "sold_by": closer, "imported": true }),
            )),
            (Outcome::Lost, Some(at)) => events.push(event(
                "lost",
                at,
                Some(consultation),
                r.closed_by.unwrap_or(tech),
                json!({ "reason": r.lost_reason, "imported": true }),
            )),
            _ => {}
        }
    }
    for (kind, at, consultation, actor, details) in events {
        sqlx::query!(
            "insert into stage_events (company_id, id, lead_id, consultation_id, kind, occurred_at, actor_id, details, version,
                scope_users, created_by, updated_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
            company,
            Uuid::now_v7(),
            lead,
            consultation,
            kind,
            at,
            actor,
            details,
            version,
            &scope,
            manager
        )
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_money;

    #[test]
    fn money_as_people_write_it() {
        assert_eq!(parse_money("1234.5"), Ok(123_450));
        assert_eq!(parse_money("$1,234.50"), Ok(123_450));
        assert_eq!(parse_money("12"), Ok(1_200));
        assert!(parse_money("12.345").is_err());
        assert!(parse_money("-5").is_err());
        assert!(parse_money("ten").is_err());
    }
}
