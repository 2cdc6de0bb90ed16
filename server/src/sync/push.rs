//! `POST /api/sync/push`: one transaction per push. Lock the client's row, take the push's
//! company version (`clock`), skip what was already processed, stop at a gap, apply the rest in
//! order at that version, record each result, advance `last_mutation_id`, commit. Effects and
//! acknowledgement commit together.

use super::{
    apply::{apply, apply_update_run},
    batch::Log,
    clock::VersionClock,
    deferred::Deferred,
    Actor, ApplyError,
};
use crate::{auth::CurrentUser, error::ApiError, error::ApiJson, state::AppState};
use app::sync::{
    mutation::{Mutation, NAMES},
    protocol::{
        MutationEnvelope, MutationResult, MutationStatus, PushRequest, PushResponse, MAX_PUSH_MUTATIONS,
        SCHEMA_VERSION,
    },
};
use axum::extract::State;
use serde_json::Value;
use sqlx::{Acquire, PgConnection};

/// Checks what can be checked without the database; a push that fails here changes nothing.
/// Each mutation comes back parsed and validated, or with the reason it is refused: its args do
/// not fit its name or the domain, or cannot be stored (those are rejected one by one, in order,
/// and kept).
pub fn check_shape(req: &PushRequest) -> Result<Checked, ApiError> {
    if req.schema_version != SCHEMA_VERSION {
        return Err(ApiError::Conflict(format!(
            "This app speaks sync schema {} but the server speaks {SCHEMA_VERSION}. Reload the app to update it; \
             your unsent changes are kept on the device.",
            req.schema_version
        )));
    }
    if req.mutations.len() > MAX_PUSH_MUTATIONS {
        return Err(ApiError::PayloadTooLarge(format!(
            "A push may carry at most {MAX_PUSH_MUTATIONS} mutations; send the rest in the next push."
        )));
    }
    let mut parsed = Vec::with_capacity(req.mutations.len());
    let mut previous = 0;
    for m in &req.mutations {
        if m.id == 0 || m.id <= previous {
            return Err(ApiError::BadRequest(format!(
                "Mutation ids must start at 1 and increase within a push; {} follows {previous}.",
                m.id
            )));
        }
        previous = m.id;
        let mutation = match Mutation::from_parts(&m.name, &m.args) {
            // Validated before the NUL check, so that a value the domain refuses is reported
            // with its field's name rather than as merely unstorable.
            Ok(mutation) => mutation.validate().map(|()| mutation).map_err(|e| e.to_string()),
            Err(Some(reason)) => Err(reason),
            Err(None) => {
                return Err(ApiError::BadRequest(format!(
                    "Unknown mutation {:?} (id {}). This server knows: {}.",
                    m.name,
                    m.id,
                    NAMES.join(", ")
                )))
            }
        };
        // Checked after the name (an unknown name still refuses the push) and before anything
        // is applied: a value Postgres cannot store, in any argument (even one this server
        // ignores), would otherwise fail the push's last statement on every retry and block the
        // device's later writes for good.
        parsed.push(match (mutation, unstorable(m)) {
            (Ok(_), Some(why)) => Err(format!("{}: {why}", m.name)),
            (mutation, _) => mutation,
        });
    }
    Ok(Checked(parsed))
}

/// A push's mutations as [`check_shape`] left them: each parsed and validated, or with the reason
/// it is rejected. Only this type reaches `apply`, so the mutations are validated once per push,
/// not again in each of its (up to two) attempts.
pub struct Checked(Vec<Result<Mutation, String>>);

impl std::ops::Deref for Checked {
    type Target = [Result<Mutation, String>];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Why a mutation's envelope cannot be stored as it came, if it cannot: a NUL character in
/// its arguments (Postgres refuses U+0000 in `jsonb`), or a device time outside the years the
/// domain allows. The log keeps a storable copy instead ([`super::batch::Log::push`]).
fn unstorable(m: &MutationEnvelope) -> Option<String> {
    // The path is only worked out for the rare mutation that has a NUL (it allocates per node).
    if let Some(path) = has_nul(&m.args).then(|| nul_path(&m.args, "args")).flatten() {
        return Some(format!(
            "{path} contains a NUL character (U+0000), which cannot be stored; remove it and save again"
        ));
    }
    app::domain::text::check_time("client_ts", m.client_ts).err().map(|e| e.to_string())
}

fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Where in `value` the first NUL is, as a JSON path (`args.home.notes[2]`).
fn nul_path(value: &Value, at: &str) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(|| at.to_string()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_path(v, &format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(format!("a key of {at}"));
            }
            nul_path(v, &format!("{at}.{k}"))
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

#[utoipa::path(post, path = "/sync/push", tag = "sync", request_body = PushRequest,
    responses((status = 200, body = PushResponse),
              (status = 400, body = app::api::ErrorBody, description = "Malformed, unknown mutation, ids not increasing"),
              (status = 403, body = app::api::ErrorBody, description = "The client_id belongs to another person"),
              (status = 409, body = app::api::ErrorBody, description = "Other sync schema, or client_id_reused"),
              (status = 413, body = app::api::ErrorBody)))]
pub async fn push(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<ApiJson<PushResponse>, ApiError> {
    let parsed = check_shape(&req)?;
    let actor = Actor::new(&user, req.client_id);
    // A company's pushes wait here, in memory, beyond a few at a time, instead of each holding a
    // database connection (200 devices of one company would exhaust the pool).
    let gate = state.push_gates.for_company(actor.company_id);
    let response = super::detached(async move {
        let _turn = gate.acquire_owned().await.map_err(ApiError::internal)?;
        let response = process(&state.pool, &state.clock, &actor, &req, &parsed).await?;
        // Committed: the notices its writes call for (a visit booked for a technician, ...).
        let applied = response
            .results
            .iter()
            .filter(|r| r.status == MutationStatus::Applied)
            .filter_map(|r| req.mutations.iter().position(|m| m.id == r.id))
            .filter_map(|i| parsed[i].as_ref().ok());
        state.push.after_push(actor.company_id, actor.user_id, applied);
        Ok(response)
    })
    .await?;
    Ok(ApiJson(response))
}

/// Registers the device profile on first sight and locks it (the no-op update of a known one
/// takes its row lock); refuses another person's profile. Returns its last mutation id.
pub async fn lock_client(db: &mut PgConnection, actor: &Actor) -> Result<u64, ApiError> {
    let client = sqlx::query!(
        "insert into sync_clients (client_id, company_id, user_id) values ($1, $2, $3)
         on conflict (client_id) do update set client_id = excluded.client_id
         returning company_id, user_id, last_mutation_id",
        actor.client_id,
        actor.company_id,
        actor.user_id
    )
    .fetch_one(&mut *db)
    .await?;
    if client.company_id != actor.company_id || client.user_id != actor.user_id {
        return Err(ApiError::Forbidden(
            "This client_id belongs to another user. Sign in again on this device.",
        ));
    }
    Ok(client.last_mutation_id as u64)
}

/// A replayed id must carry what was stored under it. Anything else means the device reuses
/// numbers (restored storage); skipping its "replays" would silently drop new writes.
async fn refuse_reused_ids(
    db: &mut PgConnection,
    actor: &Actor,
    req: &PushRequest,
    last: u64,
) -> Result<(), ApiError> {
    let replayed: Vec<i64> = req.mutations.iter().filter(|m| m.id <= last).map(|m| m.id as i64).collect();
    if replayed.is_empty() {
        return Ok(());
    }
    let stored = sqlx::query!(
        "select mutation_id, name, args from mutation_log where client_id = $1 and mutation_id = any($2)",
        actor.client_id,
        &replayed
    )
    .fetch_all(&mut *db)
    .await?;
    for s in stored {
        let sent = req.mutations.iter().find(|m| m.id as i64 == s.mutation_id);
        // Compared as stored: the log holds a storable copy of what was sent.
        if sent.is_some_and(|m| m.name != s.name || super::batch::storable(&m.args) != s.args) {
            return Err(ApiError::ClientIdReused);
        }
    }
    Ok(())
}

/// Applies a push in one transaction. Most pushes reject nothing, so the first attempt runs
/// without a savepoint per mutation (two round trips each, 40 in a push of 20); if any mutation
/// is rejected, that attempt is rolled back whole and the push runs again with savepoints, so a
/// rejected mutation leaves no trace and the rest still apply. Both attempts see the same
/// mutations, in the same order, from the same client state (the client's row is locked).
pub async fn process(
    pool: &sqlx::PgPool,
    clock: &std::sync::Arc<VersionClock>,
    actor: &Actor,
    req: &PushRequest,
    parsed: &Checked,
) -> Result<PushResponse, ApiError> {
    match attempt(pool, clock, actor, req, parsed, Savepoints::No).await? {
        Some(response) => Ok(response),
        // With savepoints a rejection is recorded, never a reason to give up: always `Some`.
        None => attempt(pool, clock, actor, req, parsed, Savepoints::PerMutation)
            .await?
            .ok_or_else(|| ApiError::internal(std::io::Error::other("push: the careful attempt gave up"))),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Savepoints {
    /// Optimistic: a rejection abandons the attempt (`Ok(None)`).
    No,
    /// Each mutation under its own savepoint: a rejection is rolled back alone and recorded.
    PerMutation,
}

async fn attempt(
    pool: &sqlx::PgPool,
    clock: &std::sync::Arc<VersionClock>,
    actor: &Actor,
    req: &PushRequest,
    parsed: &Checked,
    savepoints: Savepoints,
) -> Result<Option<PushResponse>, ApiError> {
    let mut tx = pool.begin().await?;
    let mut last = lock_client(&mut tx, actor).await?;
    refuse_reused_ids(&mut tx, actor, req, last).await?;
    let fresh: Vec<usize> = (0..req.mutations.len()).filter(|&i| req.mutations[i].id > last).collect();
    let Some(&first) = fresh.first() else {
        // A replay of what was already processed: nothing to do, nothing changes.
        tx.commit().await?;
        return Ok(Some(PushResponse { last_mutation_id: last, results: vec![] }));
    };
    if req.mutations[first].id != last + 1 {
        // A gap: an earlier push is missing. Apply nothing after it; the client resends from last + 1.
        tx.commit().await?;
        return Ok(Some(PushResponse { last_mutation_id: last, results: vec![] }));
    }

    // Taken under the client's lock, so that a device's later pushes have later versions (what
    // a pull reports as its last mutation stays consistent with the rows it returns).
    let ticket = clock.begin(actor.company_id, &mut tx).await?;
    let version = ticket.version();
    let mut results = Vec::with_capacity(fresh.len());
    let mut log = Log::default();
    let mut deferred = Deferred::new(savepoints == Savepoints::No);
    let mut next = 0;
    while let Some(&i) = fresh.get(next) {
        let envelope = &req.mutations[i];
        if envelope.id != last + 1 {
            break;
        }
        if savepoints == Savepoints::No {
            // Consecutive updates of one row's fields are written as one.
            let run = update_run(req, parsed, &fresh[next..]);
            if run.len() > 1 {
                match apply_update_run(&mut tx, &mut deferred, actor, &run, version).await {
                    Ok(()) => {}
                    Err(ApplyError::Rejected(_)) => {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    Err(ApplyError::Transient(e)) => return Err(e.into()),
                }
                for &i in &fresh[next..next + run.len()] {
                    let envelope = &req.mutations[i];
                    log.push(envelope, MutationStatus::Applied, None);
                    results.push(MutationResult {
                        id: envelope.id,
                        status: MutationStatus::Applied,
                        error: None,
                    });
                    last = envelope.id;
                }
                next += run.len();
                continue;
            }
        }
        next += 1;
        let outcome = match &parsed[i] {
            Err(reason) => Err(reason.clone()),
            Ok(mutation) if savepoints == Savepoints::No => {
                match apply(&mut tx, &mut deferred, actor, envelope.id, mutation, envelope.client_ts, version)
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(ApplyError::Rejected(_)) => {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    Err(ApplyError::Transient(e)) => return Err(e.into()),
                }
            }
            Ok(mutation) => {
                let mut sp = tx.begin().await?;
                let before = deferred.clone();
                match apply(
                    sp.acquire().await?,
                    &mut deferred,
                    actor,
                    envelope.id,
                    mutation,
                    envelope.client_ts,
                    version,
                )
                .await
                {
                    Ok(()) => {
                        sp.commit().await?;
                        Ok(())
                    }
                    Err(ApplyError::Rejected(reason)) => {
                        sp.rollback().await?;
                        deferred = before;
                        Err(reason)
                    }
                    Err(ApplyError::Transient(e)) => return Err(e.into()),
                }
            }
        };
        let (status, error) = match outcome {
            Ok(()) => (MutationStatus::Applied, None),
            Err(reason) => (MutationStatus::Rejected, Some(reason)),
        };
        log.push(envelope, status, error.clone());
        if let Some(reason) = &error {
            tracing::info!(client_id = %actor.client_id, mutation_id = envelope.id, name = %envelope.name, %reason, "mutation rejected");
        }
        results.push(MutationResult { id: envelope.id, status, error });
        last = envelope.id;
    }
    // What the push deferred, in one statement.
    match deferred.finish(&mut tx, &log, actor, version, last).await {
        Ok(()) => {}
        // A batched row's id was taken: the careful attempt, which batches nothing, finds which.
        Err(ApplyError::Rejected(_)) if savepoints == Savepoints::No => {
            tx.rollback().await?;
            return Ok(None);
        }
        Err(ApplyError::Rejected(reason)) => {
            return Err(ApiError::internal(std::io::Error::other(format!(
                "push: the last write failed: {reason}"
            ))))
        }
        Err(ApplyError::Transient(e)) => return Err(e.into()),
    }
    ticket.commit(tx).await?;
    Ok(Some(PushResponse { last_mutation_id: last, results }))
}

/// The mutations at `positions` (consecutive ids, each parsed) that `apply::update_run` lets
/// the optimistic attempt write as one, with their ids.
fn update_run<'a>(
    req: &PushRequest,
    parsed: &'a [Result<Mutation, String>],
    positions: &[usize],
) -> Vec<(u64, &'a Mutation)> {
    let mut candidates: Vec<(u64, &Mutation)> = Vec::new();
    for &i in positions {
        let id = req.mutations[i].id;
        match &parsed[i] {
            Ok(m) if candidates.last().is_none_or(|(prev, _)| id == prev + 1) => candidates.push((id, m)),
            _ => break,
        }
    }
    let mutations: Vec<&Mutation> = candidates.iter().map(|(_, m)| *m).collect();
    candidates.truncate(super::apply::update_run(&mutations));
    candidates
}
