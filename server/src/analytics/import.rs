//! `POST /api/analytics/import`: historical leads from another system as CSV, so a company has
//! its "before" baseline on day one. All or nothing: every row is checked first and any problem
//! is reported by line with nothing written; `?dry_run=true` only reports. Re-importing the same
//! file changes nothing (rows are keyed by `external_id`).
//!
//! Imported history is written as the writes a device would have made, through the same apply
//! path (`sync::on_behalf`), at the times the file gives, in one transaction under one company
//! version: the importing manager creates each customer, lead and consultation (marks it held,
//! adds its presented options, hands it to the rep who closed it), then each closer decides
//! their quotes. Every write is in the mutation log under the manager's import client.

use super::csv;
use crate::{
    auth::CurrentUser,
    error::ApiError,
    state::AppState,
    sync::{
        on_behalf::{self, Part, Purpose},
        Actor,
    },
};
use app::{
    domain::{Cents, EmailAddress, PersonName, PhoneNumber, Role},
    sync::mutation::{
        ConsultationCreate, CustomerCreate, FieldUpdate, LeadCreate, Mutation, OptionUpsert,
        Outcome as Decision, SetOutcome, LEAD_SOURCES, LOST_REASONS, SERVICE_TYPES,
    },
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
use std::collections::{BTreeMap, HashMap, HashSet};
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
    options_presented: u8,
    quoted_cents: Option<i64>,
    outcome: Outcome,
    decided_at: Option<DateTime<Utc>>,
    sold_cents: Option<i64>,
    lost_reason: Option<String>,
    closed_by: Option<(Uuid, Role)>,
}

/// Lost reasons as other systems and people spell them, to the reason they mean. Matched after
/// lower-casing and turning spaces, hyphens and dashes into underscores; each reason's own name
/// is accepted too. (docs/metrics.md lists them.)
pub const LOST_REASON_ALIASES: &[(&str, &[&str])] = &[
    ("price", &["too_expensive", "price_too_high", "cost", "budget", "too_high"]),
    (
        "financing_declined",
        &["financing", "financing_denied", "credit_declined", "not_approved", "declined_financing"],
    ),
    (
        "competitor",
        &[
            "went_with_competitor",
            "went_with_a_competitor",
            "lost_to_competitor",
            "chose_competitor",
            "competition",
        ],
    ),
    ("no_decision", &["lost_no_decision", "no_response", "ghosted", "undecided", "no_answer"]),
    ("timing", &["bad_timing", "not_now", "later", "postponed"]),
    ("repair_instead", &["repair", "repaired", "chose_repair", "repair_only"]),
    ("other", &[]),
];

/// The reason `raw` means, if it is a reason or a known spelling of one.
pub fn lost_reason(raw: &str) -> Option<&'static str> {
    let key: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_whitespace() || matches!(c, '-' | '–' | '—') { '_' } else { c })
        .collect::<String>()
        .split('_')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    LOST_REASON_ALIASES
        .iter()
        .find(|(reason, aliases)| *reason == key || aliases.contains(&key.as_str()))
        .map(|(r, _)| *r)
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
type People = HashMap<String, (Uuid, Role, bool)>;

/// The most options a consultation has (`option.upsert` positions 0 to 3).
const MAX_OPTIONS: u8 = 4;

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
    let person = |col: &str, roles: &[Role], errs: &mut Vec<String>| -> Option<(Uuid, Role)> {
        let email = get(col)?.to_lowercase();
        match people.get(&email) {
            Some((id, role, true)) if roles.contains(role) => Some((*id, *role)),
            Some((_, _, false)) => {
                errs.push(format!("{col}: {email} is not active in this company"));
                None
            }
            Some((_, role, _)) => {
                let wanted: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                errs.push(format!("{col}: {email} is a {}, not a {}", role.as_str(), wanted.join(" or ")));
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
    let technician =
        person("technician_email", &[Role::Technician, Role::Manager], &mut errs).map(|(id, _)| id);
    let closed_by = person("closed_by_email", &Role::ALL, &mut errs);
    // A quote is decided by its technician, the rep it was handed to, or a manager.
    if let Some((closer, Role::Technician)) = closed_by {
        if technician.is_some_and(|t| t != closer) {
            errs.push(
                "closed_by_email: a technician can close only their own consultation (technician_email); \
                 name a sales rep or a manager instead"
                    .into(),
            );
        }
    }
    let options_presented = match get("options_presented") {
        None => 0,
        Some(v) => v.parse::<u8>().ok().filter(|n| *n <= MAX_OPTIONS).unwrap_or_else(|| {
            errs.push(format!("options_presented: {v:?} is not a number from 0 to {MAX_OPTIONS}"));
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
    let lost_reason = match get("lost_reason") {
        None => None,
        Some(raw) => match lost_reason(&raw) {
            Some(reason) => Some(reason.to_string()),
            None => {
                errs.push(format!(
                    "lost_reason: {raw:?} is not one of {} (or a common spelling of one, see docs/metrics.md)",
                    LOST_REASONS.join(", ")
                ));
                None
            }
        },
    };
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
    let table = csv::Table::read(&body, COLUMNS, REQUIRED).map_err(ApiError::BadRequest)?;
    let rows = &table.rows;
    if rows.len() > MAX_ROWS {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} rows; import at most {MAX_ROWS} per file",
            rows.len()
        )));
    }
    let people: People = sqlx::query!(
        r#"select email, id, role as "role: Role", active from users where company_id = $1"#,
        company
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|p| (p.email, (p.id, p.role, p.active)))
    .collect();

    let mut errors = vec![];
    let mut parsed = vec![];
    let mut seen = HashSet::new();
    for (line, fields) in rows {
        if fields.len() != table.header.len() {
            errors.push(RowError {
                line: *line,
                message: format!("{} fields, but the header names {}", fields.len(), table.header.len()),
            });
            continue;
        }
        let get = |name: &str| table.get(fields, name);
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
    let importer = Actor {
        company_id: company,
        user_id: user.user_id(),
        role: Role::Manager,
        client_id: on_behalf::client_id(user.user_id(), Purpose::Import),
    };
    let (parts, lines) = writes(importer, &fresh);
    // Detached, like a push: a client that hangs up does not leave the import half-way.
    let applied = crate::sync::detached(async move {
        on_behalf::apply_all(&state.pool, &state.clock, company, &parts).await
    })
    .await?;
    if let Err(refused) = applied {
        // Checked above, so this is another import racing this one (or a rule the checks above
        // miss): the row and the reason, with nothing written.
        out.imported = 0;
        out.errors.push(RowError { line: lines[refused.part][refused.index], message: refused.reason });
        return Ok(report(StatusCode::UNPROCESSABLE_ENTITY, out));
    }
    tracing::info!(%company, imported = out.imported, "history imported");
    Ok(report(StatusCode::OK, out))
}

/// The rows as writes, and the line of each write: the importing manager's part first, then one
/// part per closer (ordered by person, so a re-run writes the same).
fn writes(importer: Actor, rows: &[&Row]) -> (Vec<Part>, Vec<Vec<usize>>) {
    let mut created = Part { actor: importer, mutations: vec![] };
    let mut created_lines = vec![];
    let mut decided: BTreeMap<(Uuid, &'static str), (Part, Vec<usize>)> = BTreeMap::new();
    for r in rows {
        let mut add = |m: Mutation, at: DateTime<Utc>| {
            created.mutations.push((m, at));
            created_lines.push(r.line);
        };
        let (customer, lead) = (Uuid::now_v7(), Uuid::now_v7());
        add(
            Mutation::CustomerCreate(CustomerCreate {
                id: customer,
                name: r.customer.as_str().into(),
                phone: r.phone.as_ref().map(|p| p.as_str().into()),
                email: r.email.as_ref().map(|e| e.as_str().into()),
                address: r.address.clone(),
            }),
            r.created_at,
        );
        add(
            Mutation::LeadCreate(LeadCreate {
                id: lead,
                customer_id: customer,
                source: r.source.clone(),
                service_type: r.service_type.clone(),
                created_at: r.created_at,
                first_contact_at: r.first_contact_at,
                external_id: Some(r.external_id.clone()),
                ..Default::default()
            }),
            r.created_at,
        );
        let (Some(held), Some(technician)) = (r.consultation_at, r.technician) else { continue };
        let consultation = Uuid::now_v7();
        add(
            Mutation::ConsultationCreate(ConsultationCreate {
                id: consultation,
                lead_id: lead,
                technician_id: Some(technician),
                scheduled_at: Some(held),
                problem: String::new(),
                ..Default::default()
            }),
            r.created_at,
        );
        let held_at = set_field(consultation, "held_at", json!(held));
        add(Mutation::ConsultationUpdate(held_at), held);
        // The file gives how many options were presented and one amount: each presented option
        // carries it, its tier unknown; an amount with none presented is one option not shown.
        let price = r.quoted_cents.or(r.sold_cents);
        let count = if r.options_presented == 0 && price.is_some() { 1 } else { r.options_presented };
        let options: Vec<Uuid> = (0..count).map(|_| Uuid::now_v7()).collect();
        for (position, id) in options.iter().enumerate() {
            add(
                Mutation::OptionUpsert(OptionUpsert {
                    id: *id,
                    consultation_id: consultation,
                    tier: UNKNOWN_TIER.into(),
                    position: position as u8,
                    line_items: vec![],
                    price_cents: Cents(price.unwrap_or(0)),
                    financing_plan: None,
                    monthly_payment_cents: None,
                    presented: (position as u8) < r.options_presented,
                }),
                held,
            );
        }
        let (outcome, at) = match (r.outcome, r.decided_at) {
            (Outcome::Won, Some(at)) => (
                Decision::Won {
                    option_id: options.first().copied(),
                    amount_cents: Cents(r.sold_cents.unwrap_or(0)),
                },
                at,
            ),
            (Outcome::Lost, Some(at)) => (
                Decision::Lost {
                    reason: r.lost_reason.clone().unwrap_or_default(),
                    competitor: None,
                    note: None,
                },
                at,
            ),
            _ => continue,
        };
        let (closer, role) = r.closed_by.unwrap_or((technician, Role::Technician));
        if role == Role::SalesRep {
            // Handed to the rep who closed it, so the rep may decide it, as in the app.
            let hand_off = set_field(consultation, "sales_rep_id", json!(closer));
            add(Mutation::ConsultationUpdate(hand_off), at);
        }
        let (part, lines) = decided.entry((closer, role.as_str())).or_insert_with(|| {
            let actor = Actor {
                company_id: importer.company_id,
                user_id: closer,
                role,
                client_id: on_behalf::client_id(closer, Purpose::Import),
            };
            (Part { actor, mutations: vec![] }, vec![])
        });
        part.mutations.push((Mutation::SetOutcome(SetOutcome { id: consultation, outcome, at }), at));
        lines.push(r.line);
    }
    let mut parts = vec![created];
    let mut lines = vec![created_lines];
    for (_, (part, part_lines)) in decided {
        parts.push(part);
        lines.push(part_lines);
    }
    (parts, lines)
}

/// One field of a consultation this import just made (its revision, as a device would send it
/// for a record made there, is 0).
fn set_field(id: Uuid, field: &str, value: serde_json::Value) -> FieldUpdate {
    FieldUpdate { id, base_version: 0, fields: [(field.to_string(), value)].into_iter().collect() }
}

/// The tier of an imported option: the file does not say which it was.
pub const UNKNOWN_TIER: &str = "Unknown";

#[cfg(test)]
mod tests {
    use super::{lost_reason, parse_money, LOST_REASON_ALIASES};
    use app::sync::mutation::LOST_REASONS;

    #[test]
    fn lost_reasons_are_read_under_their_common_spellings() {
        for (raw, reason) in [
            ("went with competitor", "competitor"),
            ("went_with_competitor", "competitor"),
            ("Competitor", "competitor"),
            ("Financing Declined", "financing_declined"),
            ("lost – no decision", "no_decision"),
            ("  too-expensive ", "price"),
            ("repair_instead", "repair_instead"),
        ] {
            assert_eq!(lost_reason(raw), Some(reason), "{raw}");
        }
        assert_eq!(lost_reason("the dog ate it"), None);
        let listed: Vec<&str> = LOST_REASON_ALIASES.iter().map(|(r, _)| *r).collect();
        assert_eq!(listed, LOST_REASONS, "every reason, and only reasons, has its aliases listed");
    }

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
