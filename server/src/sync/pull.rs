//! `POST /api/sync/pull`: every row in the caller's scope whose version is past the cookie, in
//! (version, entity, id) order, in pages of at most 1,000, read in one repeatable-read snapshot
//! together with the client's `last_mutation_id`.

use super::Actor;
use crate::{auth::CurrentUser, error::ApiError, error::ApiJson, state::AppState};
use app::sync::protocol::{
    Cookie, Entity, MutationResult, MutationStatus, PullRequest, PullResponse, RowKey, KINDS_VERSION,
    MAX_PULL_LIMIT,
};
use axum::extract::State;
use serde::Serialize;
use serde_json::value::RawValue;
use std::{collections::HashMap, sync::OnceLock};
use uuid::Uuid;

/// (entity, table, scoped): tables without `scope_users` are company-wide reference data.
const SOURCES: &[(Entity, &str, bool)] = &[
    (Entity::Customer, "customers", true),
    (Entity::Lead, "leads", true),
    (Entity::Consultation, "consultations", true),
    (Entity::Option, "options", true),
    (Entity::Activity, "activities", true),
    (Entity::Followup, "followups", true),
    (Entity::StageEvent, "stage_events", true),
    (Entity::TimeEntry, "time_entries", true),
    (Entity::Attachment, "attachments", true),
    (Entity::PriceBookItem, "price_book_items", false),
    (Entity::ChecklistTemplate, "checklist_templates", false),
    (Entity::OptionTemplate, "option_templates", false),
    (Entity::FinancingPlan, "financing_plans", false),
];

/// The page's keys: one `union all` over every synced table, built once, each branch ordered
/// and limited on its own so it reads at most a page from its `(company_id, version)` index.
/// `t.version >= $6` is implied by the row comparison after it, but only the plain bound lets
/// each branch's index scan start at the page boundary instead of re-reading earlier pages.
/// `{rank} <= $10` leaves out the kinds newer than the device's build (a constant filter: the
/// branch is not scanned at all). `$11`, on a first sync, is the history window's cutoff
/// ([`super::window`]).
/// The rows' JSON is read afterwards ([`data_query`]) for the page's rows alone: built here, it
/// was built for every row each branch offered the sort (up to twelve pages' worth) and thrown
/// away for most of them.
fn keys_query() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let branches: Vec<String> = SOURCES
            .iter()
            .map(|(entity, table, scoped)| {
                (
                    entity.rank(),
                    *table,
                    if *scoped { "and ($4 or $5 = any(t.scope_users))" } else { "" },
                    "t.deleted",
                )
            })
            .chain(std::iter::once((Entity::TeamMember.rank(), "users", "", "not t.active")))
            .map(|(rank, table, scope, deleted)| {
                let kept = super::window::kept(table);
                format!(
                    "(select {rank}::smallint as rank, t.id, t.version, {deleted} as deleted
                      from {table} t
                      where t.company_id = $1 and t.version > $2 and t.version <= $3 {scope}
                        and t.version >= $6 and (t.version, {rank}::smallint, t.id) > ($6, $7, $8)
                        and {rank}::smallint <= $10 {kept}
                      order by t.version, t.id limit $9)"
                )
            })
            .collect();
        format!("{} order by 3, 1, 2 limit $9", branches.join("\nunion all\n"))
    })
}

/// A synced row `t` as devices receive it: its columns, less the company, scope and per-field
/// versions. Pulls and a search of older work send the same form (a device keeps both alike).
pub(super) const ROW_JSON: &str = "(to_jsonb(t) - 'company_id' - 'scope_users' - 'field_versions')";

/// The JSON of one table's rows of a page, by id (their scope was checked by [`keys_query`],
/// in the same snapshot).
fn data_query(entity: Entity) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        Entity::ALL
            .iter()
            .map(|e| match SOURCES.iter().find(|(s, _, _)| s == e) {
                Some((_, table, _)) => format!(
                    "select t.id, {ROW_JSON}::text
                     from {table} t where t.company_id = $1 and t.id = any($2)"
                ),
                None => "select t.id, jsonb_build_object('id', t.id, 'name', t.name, 'email', t.email, 'role', t.role,
                                 'active', t.active)::text
                         from users t where t.company_id = $1 and t.id = any($2)"
                    .into(),
            })
            .collect()
    });
    &all[entity.rank() as usize]
}

#[derive(sqlx::FromRow)]
struct Key {
    rank: i16,
    id: Uuid,
    version: i64,
    deleted: bool,
}

/// The wire form of [`PullResponse`] (same JSON, the OpenAPI document describes that type) with
/// each row's JSON passed through untouched, instead of decoded into a `serde_json::Value` only
/// to be encoded again.
#[derive(Serialize)]
pub struct PullPage {
    cookie: Cookie,
    last_mutation_id: u64,
    patch: Vec<PatchOut>,
    has_more: bool,
    reset: bool,
    rejected: Vec<MutationResult>,
}

/// The wire form of [`app::sync::protocol::PatchOp`].
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum PatchOut {
    Put { entity: Entity, id: Uuid, version: i64, data: Box<RawValue> },
    Del { entity: Entity, id: Uuid, version: i64 },
}

#[utoipa::path(post, path = "/sync/pull", tag = "sync", request_body = PullRequest,
    responses((status = 200, body = PullResponse), (status = 403, body = app::api::ErrorBody)))]
pub async fn pull(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<PullRequest>,
) -> Result<ApiJson<PullPage>, ApiError> {
    let limit = req.limit.unwrap_or(MAX_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT);
    // Mutation ids are stored as Postgres bigints: a larger one cannot be pending anywhere.
    if req.pending_from.is_some_and(|from| i64::try_from(from).is_err()) {
        return Err(ApiError::BadRequest(format!("pending_from: a mutation id is at most {}", i64::MAX)));
    }
    let actor = Actor::new(&user, req.client_id);
    let response = super::detached(async move {
        read(&state.pool, &state.clock, &actor, req.cookie, limit, req.pending_from, req.kinds_version).await
    })
    .await?;
    Ok(ApiJson(response))
}

pub async fn read(
    pool: &sqlx::PgPool,
    clock: &super::clock::VersionClock,
    actor: &Actor,
    cookie: Option<Cookie>,
    limit: u32,
    pending_from: Option<u64>,
    kinds_version: u32,
) -> Result<PullPage, ApiError> {
    let kinds = kinds_version.clamp(1, KINDS_VERSION);
    // The highest rank of a kind this device reads.
    let max_rank =
        Entity::ALL.iter().filter(|e| e.kinds_version() <= kinds).map(|e| e.rank()).max().unwrap_or(0);
    // Before the snapshot: everything at or below it has settled, so the snapshot holds all of it.
    let head = clock.watermark(actor.company_id).await?;
    let mut tx = pool.begin().await?;
    sqlx::query!("set transaction isolation level repeatable read, read only").execute(&mut *tx).await?;

    // The client profile must be this person's (a pull may be a device's first contact).
    // Its last mutation whose push's version is within this pull: a later push of this device
    // may have committed while an earlier version of the company is still in flight, and a
    // device told its mutation is done drops it, so the pull must hold that mutation's rows.
    // (A device's pushes take increasing versions: see `push::attempt`.)
    let owner = sqlx::query!(
        r#"select c.company_id, c.user_id,
                coalesce((select m.mutation_id from mutation_log m
                          where m.client_id = c.client_id and m.mutation_id <= c.last_mutation_id and m.version <= $2
                          order by m.mutation_id desc limit 1), 0) as "last!"
         from sync_clients c where c.client_id = $1"#,
        actor.client_id,
        head
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|o| (o.company_id, o.user_id, o.last));
    let last_mutation_id = match owner {
        Some((company, user, _)) if company != actor.company_id || user != actor.user_id => {
            return Err(ApiError::Forbidden(
                "This client_id belongs to another user. Sign in again on this device.",
            ))
        }
        Some((_, _, last)) => last as u64,
        None => 0,
    };
    let epoch: i64 = sqlx::query_scalar!(
        "select scope_epoch from users where company_id = $1 and id = $2",
        actor.company_id,
        actor.user_id
    )
    .fetch_one(&mut *tx)
    .await?;

    // A cookie from another scope epoch, or from the future (a restored database), starts over;
    // so does one made under older kinds (the device now reads kinds it was never sent).
    let reset = matches!(cookie, Some(c) if c.epoch != epoch || c.version > head || c.kinds_version < kinds);
    let start = Cookie { version: 0, epoch, after: None, kinds_version: kinds };
    let from = if reset { start } else { cookie.unwrap_or(start) };
    let after =
        from.after.unwrap_or(RowKey { version: from.version, entity: Entity::TeamMember, id: Uuid::max() });
    let after_rank = if from.after.is_some() { after.entity.rank() } else { i16::MAX };
    // A first sync (or a reset: every page of it has version 0) brings the history window only.
    let cutoff = if from.version == 0 {
        let days = sqlx::query_scalar!(
            "select (settings->>'device_history_days')::int from analytics_settings where company_id = $1",
            actor.company_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        let days = crate::users::history_days(days);
        Some(chrono::Utc::now() - chrono::Duration::days(days.into()))
    } else {
        None
    };

    // Dynamic: a `union all` branch per synced table, its text built once (`keys_query`).
    let keys: Vec<Key> = sqlx::query_as(keys_query())
        .bind(actor.company_id)
        .bind(from.version)
        .bind(head)
        .bind(actor.sees_all())
        .bind(actor.user_id)
        .bind(after.version)
        .bind(after_rank)
        .bind(after.id)
        .bind(limit as i64)
        .bind(max_rank)
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
    // Each live row's JSON, passed through to the response as Postgres wrote it.
    let mut data: HashMap<(i16, Uuid), String> = HashMap::with_capacity(keys.len());
    for entity in Entity::ALL {
        let rank = entity.rank();
        let ids: Vec<Uuid> = keys.iter().filter(|k| k.rank == rank && !k.deleted).map(|k| k.id).collect();
        if ids.is_empty() {
            continue;
        }
        let rows: Vec<(Uuid, String)> =
// Dynamic: the entity's table and JSON columns (`data_query`).
            sqlx::query_as(data_query(entity)).bind(actor.company_id).bind(&ids).fetch_all(&mut *tx).await?;
        data.extend(rows.into_iter().map(|(id, json)| ((rank, id), json)));
    }
    let rejected: Vec<(i64, Option<String>)> = match pending_from {
        Some(from) if from as i64 <= last_mutation_id as i64 => {
            sqlx::query!(
                "select mutation_id, reason from mutation_log
                 where client_id = $1 and status = 'rejected' and mutation_id between $2 and $3 order by mutation_id",
                actor.client_id,
                from as i64,
                last_mutation_id as i64
            )
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| (r.mutation_id, r.reason))
            .collect()
        }
        _ => vec![],
    };
    tx.commit().await?;
    let rejected = rejected
        .into_iter()
        .map(|(id, error)| MutationResult { id: id as u64, status: MutationStatus::Rejected, error })
        .collect();

    let has_more = keys.len() as u32 == limit;
    let next = match keys.last() {
        Some(last) if has_more => Cookie {
            version: from.version,
            epoch,
            after: Some(RowKey {
                version: last.version,
                entity: Entity::ALL[last.rank as usize],
                id: last.id,
            }),
            kinds_version: kinds,
        },
        _ => Cookie { version: head, epoch, after: None, kinds_version: kinds },
    };
    let patch = keys
        .into_iter()
        .map(|k| {
            let entity = Entity::ALL[k.rank as usize];
            if k.deleted {
                return Ok(PatchOut::Del { entity, id: k.id, version: k.version });
            }
            // Read in the same snapshot as its key: a live row without its JSON cannot happen.
            let json = data.remove(&(k.rank, k.id)).ok_or_else(|| {
                ApiError::internal(std::io::Error::other(format!("pull: no data for {entity:?} {}", k.id)))
            })?;
            let data = RawValue::from_string(json).map_err(ApiError::internal)?;
            Ok(PatchOut::Put { entity, id: k.id, version: k.version, data })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(PullPage { cookie: next, last_mutation_id, patch, has_more, reset, rejected })
}
