//! Group commit for website leads: a company's enquiries that arrive while its previous ones
//! are being written go together in the next transaction (one version, one commit, one poke),
//! instead of each waiting for the company's intake client row in turn. A writer task per
//! company runs while enquiries come and ends after a quiet minute.

use crate::{
    error::ApiError,
    sync::{
        clock::VersionClock,
        on_behalf::{self, Part, Purpose},
        Actor,
    },
};
use app::{domain::Role, sync::mutation::Mutation};
use chrono::{DateTime, Utc};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// One enquiry's writes, and where to say how they went: `Err(Some(reason))` when refused,
/// `Err(None)` when the database failed (the post is answered 503 and may be sent again).
struct Job {
    writer: Uuid,
    mutations: Vec<(Mutation, DateTime<Utc>)>,
    done: oneshot::Sender<Result<(), Option<String>>>,
}

/// The most enquiries one transaction takes.
const MAX_BATCH: usize = 200;

#[derive(Default)]
pub struct Batcher {
    queues: Mutex<HashMap<Uuid, mpsc::UnboundedSender<Job>>>,
}

impl Batcher {
    /// Writes `mutations` for `company` as `writer`, with whatever else is waiting.
    pub async fn submit(
        self: &Arc<Self>,
        pool: &sqlx::PgPool,
        clock: &Arc<VersionClock>,
        company: Uuid,
        writer: Uuid,
        mutations: Vec<(Mutation, DateTime<Utc>)>,
    ) -> Result<Result<(), String>, ApiError> {
        let (done, answer) = oneshot::channel();
        let mut job = Job { writer, mutations, done };
        // A queue whose task has just ended refuses the job: start a new one and send again.
        for _ in 0..2 {
            let sender = {
                let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
                queues
                    .entry(company)
                    .or_insert_with(|| {
                        let (tx, rx) = mpsc::unbounded_channel();
                        tokio::spawn(run(self.clone(), pool.clone(), clock.clone(), company, rx));
                        tx
                    })
                    .clone()
            };
            match sender.send(job) {
                Ok(()) => break,
                Err(mpsc::error::SendError(back)) => {
                    job = back;
                    self.queues.lock().unwrap_or_else(|e| e.into_inner()).remove(&company);
                }
            }
        }
        match answer.await {
            Ok(Ok(())) => Ok(Ok(())),
            Ok(Err(Some(reason))) => Ok(Err(reason)),
            Ok(Err(None)) | Err(_) => {
                Err(ApiError::Busy("The enquiry could not be stored just now; send it again.".into()))
            }
        }
    }
}

async fn run(
    batcher: Arc<Batcher>,
    pool: sqlx::PgPool,
    clock: Arc<VersionClock>,
    company: Uuid,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    loop {
        let first = match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(job)) => job,
            _ => break,
        };
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        write(&pool, &clock, company, jobs).await;
    }
    // Quiet for a minute: this task ends; a later enquiry starts another.
    batcher.queues.lock().unwrap_or_else(|e| e.into_inner()).remove(&company);
    rx.close();
    while let Ok(job) = rx.try_recv() {
        let _ = job.done.send(Err(None));
    }
}

/// Writes the jobs in one transaction; a refused one is set aside and the rest written again
/// without it. The refused are answered only once the rest has committed: a form posted twice
/// at once is refused for the other's lead, which its handler then looks up.
async fn write(pool: &sqlx::PgPool, clock: &Arc<VersionClock>, company: Uuid, mut jobs: Vec<Job>) {
    let mut refused_jobs = vec![];
    while !jobs.is_empty() {
        // One part per run of jobs with the same writer (all of them, unless the company's
        // first manager changed meanwhile): one client lock and one log insert for the lot.
        // `owner[p][i]` is the job of part p's i-th write.
        let mut parts: Vec<Part> = vec![];
        let mut owner: Vec<Vec<usize>> = vec![];
        for (j, job) in jobs.iter().enumerate() {
            if parts.last().is_none_or(|p| p.actor.user_id != job.writer) {
                parts.push(Part {
                    actor: Actor {
                        company_id: company,
                        user_id: job.writer,
                        role: Role::Manager,
                        client_id: on_behalf::client_id(job.writer, Purpose::Intake),
                    },
                    mutations: vec![],
                });
                owner.push(vec![]);
            }
            let (part, owners) =
                (parts.last_mut().expect("pushed above"), owner.last_mut().expect("pushed above"));
            part.mutations.extend(job.mutations.iter().cloned());
            owners.extend(std::iter::repeat_n(j, job.mutations.len()));
        }
        match on_behalf::apply_all(pool, clock, company, &parts).await {
            Ok(Ok(())) => {
                for job in jobs.drain(..) {
                    let _ = job.done.send(Ok(()));
                }
            }
            Ok(Err(refused)) => {
                let j = owner.get(refused.part).and_then(|o| o.get(refused.index)).copied().unwrap_or(0);
                let job = jobs.remove(j);
                refused_jobs.push((job, refused.reason));
            }
            Err(e) => {
                tracing::warn!(error = %e, "website leads could not be written");
                for job in jobs.drain(..) {
                    let _ = job.done.send(Err(None));
                }
            }
        }
    }
    for (job, reason) in refused_jobs {
        let _ = job.done.send(Err(Some(reason)));
    }
}
