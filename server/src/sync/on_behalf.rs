//! Writes the server makes on people's behalf — the demo's history, the stale-quote job, the
//! history import — go through `apply` like a device's: the same rules, scopes and stage events,
//! and a line in the mutation log per write, from a client of the person's own per purpose.

use super::{apply::apply, batch::Log, deferred::Deferred, push::lock_client, Actor, ApplyError};
use crate::error::ApiError;
use app::sync::{
    mutation::Mutation,
    protocol::{MutationEnvelope, MutationStatus},
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Why the server writes for someone; each purpose has its own client per person, so its
/// mutation ids never collide with the person's devices or another purpose's.
#[derive(Clone, Copy)]
pub enum Purpose {
    Demo,
    StaleJob,
    Import,
    /// Leads from the company's website form (`intake`), written as its first manager.
    Intake,
}

/// The client a person's writes of `purpose` come from: derived from the person, so it is the
/// same on every run (and a run continues the numbering of the last).
pub fn client_id(user: Uuid, purpose: Purpose) -> Uuid {
    let mut bytes = *user.as_bytes();
    match purpose {
        Purpose::Demo => bytes[0] ^= 0x5a,
        Purpose::StaleJob => {
            bytes[0] ^= 0x3c;
            bytes[15] ^= 0x3c;
        }
        Purpose::Import => {
            bytes[0] ^= 0x69;
            bytes[15] ^= 0x96;
        }
        Purpose::Intake => {
            bytes[0] ^= 0xa5;
            bytes[15] ^= 0x5a;
        }
    }
    Uuid::from_bytes(bytes)
}

/// One person's writes, in order, each with the time it happened (its `client_ts`).
pub struct Part {
    pub actor: Actor,
    pub mutations: Vec<(Mutation, DateTime<Utc>)>,
}

/// The write that stopped an all-or-nothing batch: its part, its place in the part, and why.
#[derive(Debug)]
pub struct Refused {
    pub part: usize,
    pub index: usize,
    pub reason: String,
}

/// Applies every part, in order, in one transaction under one version of `company`: all of it,
/// or nothing and the first write refused. Like a push, a first attempt batches the rows nothing
/// reads back; if anything is refused it is rolled back and a careful attempt, which writes each
/// row at once, names the write.
pub async fn apply_all(
    pool: &sqlx::PgPool,
    clock: &std::sync::Arc<super::clock::VersionClock>,
    company: Uuid,
    parts: &[Part],
) -> Result<Result<(), Refused>, ApiError> {
    for (p, part) in parts.iter().enumerate() {
        debug_assert_eq!(part.actor.company_id, company);
        for (i, (m, _)) in part.mutations.iter().enumerate() {
            if let Err(e) = m.validate() {
                return Ok(Err(Refused { part: p, index: i, reason: e.to_string() }));
            }
        }
    }
    match attempt(pool, clock, company, parts, true).await? {
        Ok(()) => Ok(Ok(())),
        Err(_) => match attempt(pool, clock, company, parts, false).await? {
            Ok(()) => Ok(Ok(())),
            Err(refused) => Ok(Err(refused.unwrap_or(Refused {
                part: 0,
                index: 0,
                reason: "a write was refused; try again".into(),
            }))),
        },
    }
}

/// `Err(None)`: refused where the batched rows were written (only the careful attempt can say
/// which write it was).
async fn attempt(
    pool: &sqlx::PgPool,
    clock: &std::sync::Arc<super::clock::VersionClock>,
    company: Uuid,
    parts: &[Part],
    batch_rows: bool,
) -> Result<Result<(), Option<Refused>>, ApiError> {
    let mut tx = pool.begin().await?;
    let ticket = clock.begin(company, &mut tx).await?;
    let version = ticket.version();
    for (p, part) in parts.iter().enumerate() {
        let actor = &part.actor;
        let mut last = lock_client(&mut tx, actor).await?;
        let mut deferred = Deferred::new(batch_rows);
        let mut log = Log::default();
        for (i, (mutation, at)) in part.mutations.iter().enumerate() {
            let envelope = MutationEnvelope {
                id: last + 1,
                name: mutation.name().into(),
                args: mutation.args(),
                client_ts: *at,
            };
            match apply(&mut tx, &mut deferred, actor, envelope.id, mutation, *at, version).await {
                Ok(()) => {}
                Err(ApplyError::Rejected(reason)) => {
                    tx.rollback().await?;
                    return Ok(Err(Some(Refused { part: p, index: i, reason })));
                }
                Err(ApplyError::Transient(e)) => return Err(e.into()),
            }
            log.push(&envelope, MutationStatus::Applied, None);
            last = envelope.id;
        }
        match deferred.finish(&mut tx, &log, actor, version, last).await {
            Ok(()) => {}
            Err(ApplyError::Rejected(_)) => {
                tx.rollback().await?;
                return Ok(Err(None));
            }
            Err(ApplyError::Transient(e)) => return Err(e.into()),
        }
    }
    ticket.commit(tx).await?;
    Ok(Ok(()))
}
