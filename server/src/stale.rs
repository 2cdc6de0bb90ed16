//! Stale quotes: an open quote nobody has touched for the company's stale window (45 days by
//! default, `stale_days` in the analytics settings) is marked "lost – no decision" — a stage
//! event like any other, written through the same push code path as a device's, and reversible
//! by reopening it. Its follow-up reminders stop with it (`set_outcome` closes them).
//!
//! It is decided *as of the moment it went stale* (last activity + window), so the metrics date
//! the loss where METRICS.md dates it, however late the job runs.

use crate::{
    error::ApiError,
    sync::{
        on_behalf::{self, Purpose},
        push, Actor,
    },
};
use app::{
    domain::Role,
    sync::{mutation::*, protocol::*},
};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// How often the server looks for stale quotes.
const EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

struct StaleQuote {
    id: Uuid,
    owner: Uuid,
    owner_role: Role,
    last_activity: DateTime<Utc>,
}

/// Marks every company's stale quotes as of `now`; returns how many were marked.
pub async fn run(
    pool: &PgPool,
    clock: &std::sync::Arc<crate::sync::clock::VersionClock>,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let companies = sqlx::query_scalar!("select id from companies").fetch_all(pool).await?;
    let mut marked = 0;
    for company in companies {
        marked += run_company(pool, clock, company, now).await?;
    }
    Ok(marked)
}

/// Open quotes (an option was made) whose last sign of life — the visit, a contact, a stage
/// event, a follow-up still due — is older than the window. A reopened quote starts afresh.
pub async fn run_company(
    pool: &PgPool,
    clock: &std::sync::Arc<crate::sync::clock::VersionClock>,
    company: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let settings = crate::analytics::routes::load_settings(pool, company).await?;
    let window = Duration::days(i64::from(settings.stale_days));
    let quotes = sqlx::query_as!(
        StaleQuote,
        r#"select c.id, u.id as owner, u.role as "owner_role: Role", q.last_activity as "last_activity!"
         from consultations c
         cross join lateral (
           select greatest(c.held_at, c.scheduled_at, c.created_at,
             (select max(occurred_at) from activities a where a.company_id = c.company_id and a.consultation_id = c.id and not a.deleted),
             (select max(occurred_at) from stage_events e where e.company_id = c.company_id and e.consultation_id = c.id),
             (select max(due_at) from followups f where f.company_id = c.company_id and f.consultation_id = c.id
                and f.done_at is null and not f.deleted)) as last_activity
         ) q
         -- The quote's owner decides it (the rep once handed over); a manager if they have left.
         join lateral (
           select id, role from users
           where company_id = c.company_id and active
             and (id = coalesce(c.sales_rep_id, c.technician_id) or role = 'manager')
           order by (id = coalesce(c.sales_rep_id, c.technician_id)) desc, id
           limit 1
         ) u on true
         where c.company_id = $1 and c.status = 'open' and not c.deleted
           and exists (select 1 from options o where o.company_id = c.company_id and o.consultation_id = c.id and not o.deleted)
           and q.last_activity < $2
         order by u.id, c.id"#,
        company,
        now - window
    )
    .fetch_all(pool)
    .await?;
    let mut marked = 0;
    for chunk in quotes.chunk_by(|a, b| a.owner == b.owner) {
        let owner = chunk[0].owner;
        let role = chunk[0].owner_role;
        let actor = Actor {
            company_id: company,
            user_id: owner,
            role,
            client_id: on_behalf::client_id(owner, Purpose::StaleJob),
        };
        let last = sqlx::query_scalar!(
            r#"select coalesce(max(last_mutation_id), 0) as "last!" from sync_clients where client_id = $1"#,
            actor.client_id
        )
        .fetch_one(pool)
        .await?;
        let mutations: Vec<MutationEnvelope> = chunk
            .iter()
            .zip(last as u64 + 1..)
            .map(|(q, id)| {
                let m = Mutation::SetOutcome(SetOutcome {
                    id: q.id,
                    outcome: Outcome::Lost {
                        reason: "no_decision".into(),
                        competitor: None,
                        note: Some(format!(
                            "No activity for {} days: marked lost – no decision. Reopen it if the customer comes back.",
                            settings.stale_days
                        )),
                    },
                    at: q.last_activity + window,
                });
                MutationEnvelope { id, name: m.name().into(), args: m.args(), client_ts: now }
            })
            .collect();
        let req = PushRequest { client_id: actor.client_id, schema_version: SCHEMA_VERSION, mutations };
        let parsed = push::check_shape(&req)?;
        let resp = push::process(pool, clock, &actor, &req, &parsed).await?;
        marked += resp.results.iter().filter(|r| r.status == MutationStatus::Applied).count();
        for r in resp.results.iter().filter(|r| r.status == MutationStatus::Rejected) {
            tracing::warn!(reason = ?r.error, "a stale quote could not be marked");
        }
    }
    Ok(marked)
}

/// Runs the job every hour until shutdown. Holds no connection between rounds.
pub fn spawn(
    pool: PgPool,
    clock: std::sync::Arc<crate::sync::clock::VersionClock>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = shutdown.changed() => return,
            }
            if pool.is_closed() {
                return;
            }
            match run(&pool, &clock, Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(marked = n, "stale quotes marked lost – no decision"),
                Err(e) => tracing::warn!(error = %e, "the stale-quote job failed; it runs again in an hour"),
            }
        }
    });
}
