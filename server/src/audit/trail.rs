//! Reading the trail: the manager's audit page (filters by person, record type and dates; CSV
//! out) and one record's timeline (a consultation's or a customer's history), for whoever may
//! see that record.

use super::describe;
use crate::{
    analytics::csv,
    auth::CurrentUser,
    error::{ApiError, ApiJson},
    state::AppState,
};
use app::{
    api::{AuditEntry, FieldChange, AUDIT_RECORD_TYPES},
    domain::{text, Role, ValidationError},
};
use axum::{
    extract::{Path, Query, State},
    http::header,
    response::{IntoResponse, Response},
};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

const MAX_ROWS: i64 = 1_000;
const MAX_EXPORT_ROWS: i64 = 50_000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Changes made by this person only.
    pub person: Option<Uuid>,
    /// Changes to this kind of record only (customer, consultation, price_book_item, checklist, …).
    pub record_type: Option<String>,
    /// From this day (the company's time zone), inclusive.
    pub from: Option<NaiveDate>,
    /// To this day (the company's time zone), inclusive.
    pub to: Option<NaiveDate>,
    /// At most this many, newest first (1–1,000; 200 when absent).
    pub limit: Option<i64>,
}

impl AuditQuery {
    fn check(&self) -> Result<(), ValidationError> {
        let known = |t: &str| AUDIT_RECORD_TYPES.iter().any(|(k, _)| *k == t);
        if let Some(t) = self.record_type.as_deref().filter(|t| !known(t)) {
            let all: Vec<&str> = AUDIT_RECORD_TYPES.iter().map(|(k, _)| *k).collect();
            return Err(ValidationError::new(
                "record_type",
                format!("{t} is not a record type; use one of {}", all.join(", ")),
            ));
        }
        // Days Postgres can turn into times in any zone (and that a person would ask for).
        if let Some(from) = self.from {
            text::check_date("from", from)?;
        }
        if let Some(to) = self.to {
            text::check_date("to", to)?;
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(ValidationError::new("from", "must be on or before to"));
            }
        }
        if let Some(limit) = self.limit.filter(|l| !(1..=MAX_ROWS).contains(l)) {
            return Err(ValidationError::new("limit", format!("{limit} is not from 1 to {MAX_ROWS}")));
        }
        Ok(())
    }
}

fn manager(user: &CurrentUser) -> Result<(), ApiError> {
    user.require(Role::Manager, "Only managers can read the company's audit trail.")
}

#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>, description = "Changes, newest first"),
              (status = 403, body = app::api::ErrorBody), (status = 422, body = app::api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<ApiJson<Vec<AuditEntry>>, ApiError> {
    manager(&user)?;
    q.check()?;
    let limit = q.limit.unwrap_or(200);
    Ok(ApiJson(entries(&state.pool, user.company_id(), Selection::Company(&q), limit).await?))
}

#[utoipa::path(get, path = "/audit/export", tag = "audit", params(AuditQuery),
    responses((status = 200, content_type = "text/csv", body = String,
               description = "at,recorded_at,person,device,record_type,record_id,action,summary,changes (up to 50,000 rows)"),
              (status = 403, body = app::api::ErrorBody), (status = 422, body = app::api::ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    manager(&user)?;
    q.check()?;
    let rows = entries(&state.pool, user.company_id(), Selection::Company(&q), MAX_EXPORT_ROWS).await?;
    let mut w = csv::Writer::default();
    w.row([
        "at",
        "recorded_at",
        "person",
        "device",
        "record_type",
        "record_id",
        "action",
        "summary",
        "changes",
    ]);
    for e in rows {
        let changes: Vec<String> = e
            .changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, shown(c.before.as_ref()), shown(c.after.as_ref())))
            .collect();
        w.row([
            e.at.to_rfc3339(),
            e.recorded_at.to_rfc3339(),
            e.person,
            e.device,
            e.record_type,
            e.record_id.map(|id| id.to_string()).unwrap_or_default(),
            e.action,
            e.summary,
            changes.join("; "),
        ]);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"audit-trail.csv\""),
        ],
        w.finish(),
    )
        .into_response())
}

/// A value as one cell shows it: text bare, anything else as JSON, nothing as "—".
fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[utoipa::path(get, path = "/history/{id}", tag = "audit", params(("id" = Uuid, Path, description = "A consultation's or a customer's id")),
    responses((status = 200, body = Vec<AuditEntry>, description = "The record's changes and those of what belongs to it (options, activities, follow-ups; a customer's leads and consultations), newest first"),
              (status = 404, body = app::api::ErrorBody, description = "No consultation or customer of yours has this id")))]
pub async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<ApiJson<Vec<AuditEntry>>, ApiError> {
    let sees_all = user.role().sees_all();
    // The record, if this person sees it, and for a customer the leads and consultations of it
    // this person sees.
    let found = sqlx::query!(
        r#"select
             exists(select 1 from consultations where company_id = $1 and id = $2 and not deleted
                    and ($3 or $4 = any(scope_users))) as "consultation!",
             exists(select 1 from customers where company_id = $1 and id = $2 and not deleted
                    and ($3 or $4 = any(scope_users))) as "customer!",
             array(select l.id from leads l where l.company_id = $1 and l.customer_id = $2
                   and ($3 or $4 = any(l.scope_users))) as "leads!",
             array(select c.id from consultations c join leads l on l.company_id = c.company_id and l.id = c.lead_id
                   where c.company_id = $1 and l.customer_id = $2 and ($3 or $4 = any(c.scope_users))) as "consultations!""#,
        user.company_id(),
        id,
        sees_all,
        user.user_id()
    )
    .fetch_one(&state.pool)
    .await?;
    let selection = if found.consultation {
        Selection::Records { ids: vec![id], consultations: vec![id] }
    } else if found.customer {
        let mut ids = vec![id];
        ids.extend(&found.leads);
        ids.extend(&found.consultations);
        Selection::Records { ids, consultations: found.consultations }
    } else {
        return Err(ApiError::NotFound("consultation or customer"));
    };
    Ok(ApiJson(entries(&state.pool, user.company_id(), selection, 500).await?))
}

/// Which changes a trail holds: the company's, filtered (the audit page), or those of a few
/// records (a timeline: the records' own writes and those of their consultations' children).
enum Selection<'a> {
    Company(&'a AuditQuery),
    Records { ids: Vec<Uuid>, consultations: Vec<Uuid> },
}

/// A trail row before it is described: a logged mutation (`mutation`, `args`) or a configuration
/// change (`action`, `summary`, `after`), with the fields' values before it.
#[derive(sqlx::FromRow)]
struct TrailRow {
    at: chrono::DateTime<chrono::Utc>,
    recorded_at: chrono::DateTime<chrono::Utc>,
    user_id: Uuid,
    name: String,
    device: String,
    record_type: String,
    record_id: Option<Uuid>,
    mutation: Option<String>,
    args: Option<Value>,
    action: Option<String>,
    summary: Option<String>,
    after: Option<Value>,
    before: Option<Value>,
}

/// The columns both sources give, in the order of [`TrailRow`] (before `before`), for the page's
/// rows: each source is ordered and limited on its own in `picked` before the two are merged.
const LOG_COLUMNS: &str = "m.client_ts as at, m.received_at as recorded_at, m.user_id,
    'device ' || left(m.client_id::text, 8) as device,
    case when m.name = 'record.delete' then m.args ->> 'entity' else split_part(m.name, '.', 1) end as record_type,
    (m.args ->> 'id')::uuid as record_id, m.name as mutation, m.args, null::text as action, null::text as summary,
    null::jsonb as before, null::jsonb as after, m.client_id, m.mutation_id, m.version";
const EVENT_COLUMNS: &str =
    "e.at, e.at, e.user_id, e.device, e.record_type, e.record_id, null, null, e.action,
    e.summary, e.before, e.after, null, null, null";

/// The merged page with each person's name and, for an update, what each field was: the latest
/// earlier applied write of the same record that set it (an update, or the create), looked up
/// for the page's rows only.
const MERGED: &str = "select p.at, p.recorded_at, p.user_id, u.name, p.device, p.record_type, p.record_id,
       p.mutation, p.args, p.action, p.summary, p.after,
       coalesce(p.before, case when p.mutation like '%.update_fields' then (
         select jsonb_object_agg(f.key, (
           select coalesce(o.args -> 'fields' -> f.key, o.args -> f.key) from mutation_log o
           where o.company_id = $1 and o.args ->> 'id' = p.args ->> 'id' and o.status = 'applied'
             and o.name in (p.mutation, replace(p.mutation, 'update_fields', 'create'))
             and (o.name <> p.mutation or o.args -> 'fields' ? f.key)
             and (o.version, o.client_id, o.mutation_id) < (p.version, p.client_id, p.mutation_id)
           order by o.version desc, o.mutation_id desc limit 1))
         from jsonb_each(p.args -> 'fields') f) end) as before
from picked p join users u on u.company_id = $1 and u.id = p.user_id
order by p.at desc";

/// The audit page's query: $1 company, $2 person, $3 record type, $4 and $5 days (company-local),
/// $6 limit. Each filter may be null; the log is read newest first from its (company, time) index.
fn company_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "with tz as (select time_zone from companies where id = $1),
picked as (
  (select {LOG_COLUMNS} from mutation_log m
   where m.company_id = $1 and m.status = 'applied'
     and ($2::uuid is null or m.user_id = $2)
     and ($3::text is null or $3 = case when m.name = 'record.delete' then m.args ->> 'entity'
                                        else split_part(m.name, '.', 1) end)
     and ($4::date is null or m.client_ts >= ($4::date::timestamp at time zone (select time_zone from tz)))
     and ($5::date is null or m.client_ts < (($5::date + 1)::timestamp at time zone (select time_zone from tz)))
   order by m.client_ts desc limit $6)
  union all
  (select {EVENT_COLUMNS} from audit_events e
   where e.company_id = $1
     and ($2::uuid is null or e.user_id = $2)
     and ($3::text is null or e.record_type = $3)
     and ($4::date is null or e.at >= ($4::date::timestamp at time zone (select time_zone from tz)))
     and ($5::date is null or e.at < (($5::date + 1)::timestamp at time zone (select time_zone from tz)))
   order by e.at desc limit $6)
  order by at desc limit $6)
{MERGED}"
        )
    })
}

/// A timeline's query: $1 company, $2 the records' ids, $3 the consultations among them (whose
/// children's writes belong too), $4 limit. Each condition has an index of its own
/// (migrations 19 and 23), so a timeline does not read the company's whole log.
fn records_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "with picked as (
  (select {LOG_COLUMNS} from mutation_log m
   where m.company_id = $1 and m.status = 'applied' and m.args ->> 'id' = any($2::text[])
   union all
   select {LOG_COLUMNS} from mutation_log m
   where m.company_id = $1 and m.status = 'applied' and m.args ->> 'consultation_id' = any($3::text[])
     and not (m.args ->> 'id' = any($2::text[]))
   order by 1 desc limit $4)
  union all
  (select {EVENT_COLUMNS} from audit_events e
   where e.company_id = $1 and e.record_id = any($2::text[]::uuid[])
   order by e.at desc limit $4)
  order by at desc limit $4)
{MERGED}"
        )
    })
}

/// The trail of `company` that `selection` names, newest first, at most `limit` entries.
async fn entries(
    pool: &sqlx::PgPool,
    company: Uuid,
    selection: Selection<'_>,
    limit: i64,
) -> Result<Vec<AuditEntry>, ApiError> {
    // Dynamic: two shapes of one query (`company_sql`, `records_sql`) sharing their columns and
    // the before-values lookup, each text built once.
    let rows: Vec<TrailRow> = match selection {
        Selection::Company(q) => {
            sqlx::query_as(company_sql())
                .bind(company)
                .bind(q.person)
                .bind(q.record_type.as_deref())
                .bind(q.from)
                .bind(q.to)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
        Selection::Records { ids, consultations } => {
            let text = |v: &[Uuid]| v.iter().map(Uuid::to_string).collect::<Vec<_>>();
            sqlx::query_as(records_sql())
                .bind(company)
                .bind(text(&ids))
                .bind(text(&consultations))
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let (record_type, action, summary, changes) = match (&r.mutation, &r.args) {
                (Some(name), Some(args)) => {
                    let d = describe::mutation(name, args);
                    let changes = field_changes(args.get("fields"), r.before.as_ref());
                    (d.record_type, d.action.to_string(), d.summary, changes)
                }
                _ => (
                    r.record_type,
                    r.action.unwrap_or_default(),
                    r.summary.unwrap_or_default(),
                    config_changes(r.before.as_ref(), r.after.as_ref()),
                ),
            };
            AuditEntry {
                at: r.at,
                recorded_at: r.recorded_at,
                person_id: r.user_id,
                person: r.name,
                device: r.device,
                record_type,
                record_id: r.record_id,
                action,
                summary,
                changes,
            }
        })
        .collect())
}

/// An update's fields with what each was before it.
fn field_changes(after: Option<&Value>, before: Option<&Value>) -> Vec<FieldChange> {
    let Some(Value::Object(after)) = after else { return vec![] };
    after
        .iter()
        .map(|(field, value)| FieldChange {
            field: field.clone(),
            before: before.and_then(|b| b.get(field)).filter(|v| !v.is_null()).cloned(),
            after: Some(value.clone()),
        })
        .collect()
}

/// A configuration change's fields that differ between its before and after objects (a value
/// that is not an object is one field, `value`).
fn config_changes(before: Option<&Value>, after: Option<&Value>) -> Vec<FieldChange> {
    let fields = |v: Option<&Value>| -> serde_json::Map<String, Value> {
        match v {
            Some(Value::Object(m)) => m.clone(),
            Some(Value::Null) | None => Default::default(),
            Some(other) => [("value".to_string(), other.clone())].into_iter().collect(),
        }
    };
    let (before, after) = (fields(before), fields(after));
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| before.get(*n) != after.get(*n))
        .map(|n| FieldChange {
            field: n.clone(),
            before: before.get(n).cloned(),
            after: after.get(n).cloned(),
        })
        .collect()
}

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(export))
        .routes(routes!(history))
}
