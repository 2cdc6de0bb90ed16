//! Rows a push creates but nothing in it reads back before its end: activities, options,
//! follow-ups and time entries. The optimistic attempt (`push`) batches them here and writes all
//! kinds together in one statement — when a mutation comes that may read or change them
//! (`apply`), and at the end of the push together with its stage events and mutation log
//! (`Deferred::finish`). A visit of 20 mutations then costs two statements for its children
//! instead of twelve. The careful attempt writes each one at once through the same statement
//! (`Deferred::keep`), so each kind is inserted by one piece of SQL, here.
//!
//! The rules: an id already taken is not written, except that an option or a time entry is
//! updated when the id is the same record (an option of the same consultation, not deleted; a
//! time entry of the same person, not deleted). A row not written fails the optimistic attempt;
//! in the careful one it rejects its mutation, whose reason `apply` then looks up.

use super::{Actor, ApplyError};
use chrono::{DateTime, Utc};
use sqlx::{postgres::PgArguments, query::Query, PgConnection, Postgres};
use uuid::Uuid;

#[derive(Clone)]
pub struct BatchedActivity {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub kind: String,
    pub outcome: Option<String>,
    pub at: DateTime<Utc>,
    pub note: String,
    pub scope_users: Vec<Uuid>,
}

#[derive(Clone)]
pub struct BatchedOption {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub tier: String,
    pub position: i16,
    pub line_items: serde_json::Value,
    pub price_cents: i64,
    pub financing_plan: Option<String>,
    pub monthly_payment_cents: Option<i64>,
    pub presented: bool,
    pub scope_users: Vec<Uuid>,
}

#[derive(Clone)]
pub struct BatchedFollowup {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub assignee_id: Uuid,
    pub note: String,
    pub scope_users: Vec<Uuid>,
    /// Set when the push decides its quote after scheduling it (`Batch::close_followups`).
    pub done_at: Option<DateTime<Utc>>,
}

/// Always the actor's own (a time entry is seen by its person only).
#[derive(Clone)]
pub struct BatchedTimeEntry {
    pub id: Uuid,
    pub category: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// One of the batched kinds, as `Batch::add` takes it.
pub enum Row {
    Activity(BatchedActivity),
    Option(BatchedOption),
    Followup(BatchedFollowup),
    TimeEntry(BatchedTimeEntry),
}

#[derive(Clone, Default)]
pub struct Batch {
    activities: Vec<BatchedActivity>,
    options: Vec<BatchedOption>,
    followups: Vec<BatchedFollowup>,
    time_entries: Vec<BatchedTimeEntry>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.activities.is_empty()
            && self.options.is_empty()
            && self.followups.is_empty()
            && self.time_entries.is_empty()
    }

    /// Whether a row with this id is in the batch already. An upsert cannot touch the same row twice
    /// in one statement, so a second write of one id waits for the first to be written.
    pub fn contains(&self, row: &Row) -> bool {
        match row {
            Row::Activity(r) => self.activities.iter().any(|a| a.id == r.id),
            Row::Option(r) => self.options.iter().any(|o| o.id == r.id),
            Row::Followup(r) => self.followups.iter().any(|f| f.id == r.id),
            Row::TimeEntry(r) => self.time_entries.iter().any(|t| t.id == r.id),
        }
    }

    pub fn add(&mut self, row: Row) {
        match row {
            Row::Activity(r) => self.activities.push(r),
            Row::Option(r) => self.options.push(r),
            Row::Followup(r) => self.followups.push(r),
            Row::TimeEntry(r) => self.time_entries.push(r),
        }
    }

    /// Twin of `apply`'s `CLOSE_FOLLOWUPS` for batched follow-ups: a decided quote's open
    /// follow-ups are done as it is decided.
    pub fn close_followups(&mut self, consultation: Uuid, at: DateTime<Utc>) {
        for f in
            self.followups.iter_mut().filter(|f| f.consultation_id == consultation && f.done_at.is_none())
        {
            f.done_at = Some(at);
        }
    }

    /// Whether an option with this id is in the batch.
    pub fn has_option(&self, id: Uuid) -> bool {
        self.options.iter().any(|o| o.id == id)
    }

    /// The first batched id of a kind that came back short of its count: with one row batched (the
    /// careful attempt) that is exactly the one refused.
    fn refused(&self, written: [i64; 4]) -> Option<Uuid> {
        let ids: [Option<Uuid>; 4] = [
            self.activities.first().map(|r| r.id),
            self.options.first().map(|r| r.id),
            self.followups.first().map(|r| r.id),
            self.time_entries.first().map(|r| r.id),
        ];
        let counts =
            [self.activities.len(), self.options.len(), self.followups.len(), self.time_entries.len()];
        (0..4).find(|&k| (written[k] as usize) < counts[k]).and_then(|k| ids[k])
    }
}

/// The inserts of the batched rows, as `with` clauses (`a`, `o`, `f`, `t`), each returning a row
/// per record written. Parameters: $1 company, $2 version, $3 actor, $4 a new row's
/// `field_versions`, then the columns of each kind from $5 to $32 (`bind_rows`).
const ROWS_CTES: &str = "
a as (
  insert into activities (company_id, id, consultation_id, kind, outcome, occurred_at, note, version,
    scope_users, field_versions, created_by, updated_by)
  select $1, r.id, r.consultation_id, r.kind, r.outcome, r.at, r.note, $2, r.scope::uuid[], $4, $3, $3
  from unnest($5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::timestamptz[], $10::text[], $11::text[])
       as r(id, consultation_id, kind, outcome, at, note, scope)
  on conflict (company_id, id) do nothing
  returning 1),
o as (
  insert into options (company_id, id, consultation_id, tier, position, line_items, price_cents,
    financing_plan, monthly_payment_cents, presented, version, scope_users, field_versions, created_by, updated_by)
  select $1, r.id, r.consultation_id, r.tier, r.position, r.line_items, r.price, r.plan, r.monthly, r.presented,
    $2, r.scope::uuid[], $4, $3, $3
  from unnest($12::uuid[], $13::uuid[], $14::text[], $15::int2[], $16::jsonb[], $17::bigint[], $18::text[],
              $19::bigint[], $20::bool[], $21::text[])
       as r(id, consultation_id, tier, position, line_items, price, plan, monthly, presented, scope)
  on conflict (company_id, id) do update set tier = excluded.tier, position = excluded.position,
    line_items = excluded.line_items, price_cents = excluded.price_cents,
    financing_plan = excluded.financing_plan, monthly_payment_cents = excluded.monthly_payment_cents,
    presented = options.presented or excluded.presented, version = excluded.version,
    updated_by = excluded.updated_by, updated_at = now(), revision = options.revision + 1
  where options.consultation_id = excluded.consultation_id and not options.deleted
  returning 1),
f as (
  insert into followups (company_id, id, consultation_id, due_at, assignee_id, note, done_at, version,
    scope_users, field_versions, created_by, updated_by)
  select $1, r.id, r.consultation_id, r.due_at, r.assignee, r.note, r.done_at, $2, r.scope::uuid[], $4, $3, $3
  from unnest($22::uuid[], $23::uuid[], $24::timestamptz[], $25::uuid[], $26::text[], $27::text[],
              $28::timestamptz[])
       as r(id, consultation_id, due_at, assignee, note, scope, done_at)
  on conflict (company_id, id) do nothing
  returning 1),
t as (
  insert into time_entries (company_id, id, user_id, category, started_at, ended_at, version, scope_users,
    field_versions, created_by, updated_by)
  select $1, r.id, $3, r.category, r.started_at, r.ended_at, $2, array[$3::uuid], $4, $3, $3
  from unnest($29::uuid[], $30::text[], $31::timestamptz[], $32::timestamptz[])
       as r(id, category, started_at, ended_at)
  on conflict (company_id, id) do update set category = excluded.category, started_at = excluded.started_at,
    ended_at = excluded.ended_at, version = excluded.version, updated_at = now(),
    revision = time_entries.revision + 1
  where time_entries.user_id = excluded.user_id and not time_entries.deleted
  returning 1)";

const COUNTS: &str =
    "select (select count(*) from a), (select count(*) from o), (select count(*) from f), (select count(*) from t)";

/// The end of a push: the batched rows, its stage events ($33–$40), the client's progress ($41
/// client, $42 last mutation id) and each mutation's result ($43–$48), in one statement.
fn finish_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "with {ROWS_CTES},
e as (
  insert into stage_events (company_id, id, lead_id, consultation_id, kind, occurred_at, actor_id, details,
    version, scope_users, created_by, updated_by)
  select $1, r.id, r.lead_id, r.consultation_id, r.kind, r.at, r.actor, r.details, $2, r.scope::uuid[],
    r.actor, r.actor
  from unnest($33::uuid[], $34::uuid[], $35::uuid[], $36::text[], $37::timestamptz[], $38::uuid[], $39::jsonb[],
              $40::text[]) as r(id, lead_id, consultation_id, kind, at, actor, details, scope)),
client as (
  update sync_clients set last_mutation_id = $42, last_push_at = now() where client_id = $41),
l as (
  insert into mutation_log (company_id, client_id, mutation_id, user_id, name, args, client_ts, status, reason, version)
  select $1, $41, r.id, $3, r.name, r.args, r.client_ts, r.status, r.reason, $2
  from unnest($43::bigint[], $44::text[], $45::jsonb[], $46::timestamptz[], $47::text[], $48::text[])
       as r(id, name, args, client_ts, status, reason))
{COUNTS}"
        )
    })
}

fn rows_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| format!("with {ROWS_CTES}\n{COUNTS}"))
}

/// A uuid[] as text ('{a,b}'): how a list of scopes travels, as Postgres has no array of arrays
/// of varying length.
pub fn uuid_array(ids: &[Uuid]) -> String {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    format!("{{{}}}", ids.join(","))
}

fn column<T, U>(rows: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}

fn bind_rows<'q>(
    q: Query<'q, Postgres, PgArguments>,
    batched: &Batch,
    actor: &Actor,
    version: i64,
) -> Query<'q, Postgres, PgArguments> {
    let (a, o, f, t) = (&batched.activities, &batched.options, &batched.followups, &batched.time_entries);
    q.bind(actor.company_id)
        .bind(version)
        .bind(actor.user_id)
        .bind(super::fields::created(actor))
        .bind(column(a, |r| r.id))
        .bind(column(a, |r| r.consultation_id))
        .bind(column(a, |r| r.kind.clone()))
        .bind(column(a, |r| r.outcome.clone()))
        .bind(column(a, |r| r.at))
        .bind(column(a, |r| r.note.clone()))
        .bind(column(a, |r| uuid_array(&r.scope_users)))
        .bind(column(o, |r| r.id))
        .bind(column(o, |r| r.consultation_id))
        .bind(column(o, |r| r.tier.clone()))
        .bind(column(o, |r| r.position))
        .bind(column(o, |r| r.line_items.clone()))
        .bind(column(o, |r| r.price_cents))
        .bind(column(o, |r| r.financing_plan.clone()))
        .bind(column(o, |r| r.monthly_payment_cents))
        .bind(column(o, |r| r.presented))
        .bind(column(o, |r| uuid_array(&r.scope_users)))
        .bind(column(f, |r| r.id))
        .bind(column(f, |r| r.consultation_id))
        .bind(column(f, |r| r.due_at))
        .bind(column(f, |r| r.assignee_id))
        .bind(column(f, |r| r.note.clone()))
        .bind(column(f, |r| uuid_array(&r.scope_users)))
        .bind(column(f, |r| r.done_at))
        .bind(column(t, |r| r.id))
        .bind(column(t, |r| r.category.clone()))
        .bind(column(t, |r| r.started_at))
        .bind(column(t, |r| r.ended_at))
}

/// The row `COUNTS` selects: how many of each kind were written.
fn counts(row: sqlx::postgres::PgRow) -> Result<(i64, i64, i64, i64), sqlx::Error> {
    use sqlx::Row as _;
    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?))
}

fn check(batched: &Batch, written: (i64, i64, i64, i64)) -> Result<(), ApplyError> {
    match batched.refused([written.0, written.1, written.2, written.3]) {
        Some(id) => Err(ApplyError::id_taken(id)),
        None => Ok(()),
    }
}

/// Writes the batched rows now (one statement) and forgets them.
pub async fn write_rows(
    db: &mut PgConnection,
    batched: &mut Batch,
    actor: &Actor,
    version: i64,
) -> Result<(), ApplyError> {
    if batched.is_empty() {
        return Ok(());
    }
    let rows = std::mem::take(batched);
    // Dynamic: one batched statement for every batched row kind, its text built once (`rows_sql`).
    let written =
        bind_rows(sqlx::query(rows_sql()), &rows, actor, version).try_map(counts).fetch_one(db).await?;
    check(&rows, written)
}

/// One stage event, as `Deferred` keeps it until the end of the push.
#[derive(Clone)]
pub struct DeferredEvent {
    pub id: Uuid,
    pub lead_id: Uuid,
    pub consultation_id: Option<Uuid>,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub actor: Uuid,
    pub details: serde_json::Value,
    pub scope_users: Vec<Uuid>,
}

/// `args` as `mutation_log` can hold them: U+0000, which `jsonb` refuses, becomes U+FFFD (the
/// mutation that carried it was refused for it).
pub fn storable(args: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let clean = |s: &str| if s.contains('\0') { s.replace('\0', "\u{FFFD}") } else { s.to_string() };
    match args {
        Value::String(s) => Value::String(clean(s)),
        Value::Array(items) => Value::Array(items.iter().map(storable).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (clean(k), storable(v))).collect()),
        other => other.clone(),
    }
}

/// What the push did to each of its mutations, for `mutation_log`.
#[derive(Default)]
pub struct Log {
    pub ids: Vec<i64>,
    pub names: Vec<String>,
    pub args: Vec<serde_json::Value>,
    pub client_ts: Vec<DateTime<Utc>>,
    pub statuses: Vec<&'static str>,
    pub reasons: Vec<Option<String>>,
}

impl Log {
    pub fn push(
        &mut self,
        m: &app::sync::protocol::MutationEnvelope,
        status: app::sync::protocol::MutationStatus,
        reason: Option<String>,
    ) {
        use app::sync::protocol::MutationStatus;
        self.ids.push(m.id as i64);
        self.names.push(m.name.clone());
        self.args.push(storable(&m.args));
        // A time outside the domain's years was refused with its mutation; keep a storable one.
        let bounded = app::domain::text::check_time("client_ts", m.client_ts).is_ok();
        self.client_ts.push(if bounded { m.client_ts } else { DateTime::<Utc>::UNIX_EPOCH });
        self.statuses.push(if status == MutationStatus::Applied { "applied" } else { "rejected" });
        self.reasons.push(reason);
    }
}

/// The push's last statement before commit: the batched rows, the stage events, the client's
/// `last_mutation_id` = `last`, and the log.
pub async fn finish(
    db: &mut PgConnection,
    batched: &mut Batch,
    events: &[DeferredEvent],
    log: &Log,
    actor: &Actor,
    version: i64,
    last: u64,
) -> Result<(), ApplyError> {
    let rows = std::mem::take(batched);
    let e = events;
    // Dynamic: built once from the batched row kinds (`finish_sql`), like `rows_sql`.
    let written = bind_rows(sqlx::query(finish_sql()), &rows, actor, version)
        .bind(column(e, |r| r.id))
        .bind(column(e, |r| r.lead_id))
        .bind(column(e, |r| r.consultation_id))
        .bind(column(e, |r| r.kind.clone()))
        .bind(column(e, |r| r.at))
        .bind(column(e, |r| r.actor))
        .bind(column(e, |r| r.details.clone()))
        .bind(column(e, |r| uuid_array(&r.scope_users)))
        .bind(actor.client_id)
        .bind(last as i64)
        .bind(&log.ids)
        .bind(&log.names)
        .bind(&log.args)
        .bind(&log.client_ts)
        .bind(&log.statuses)
        .bind(&log.reasons)
        .try_map(counts)
        .fetch_one(db)
        .await?;
    check(&rows, written)
}
