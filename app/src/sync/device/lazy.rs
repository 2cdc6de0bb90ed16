//! The device's code that the first screen does not run — saving a write, a sync run, a search
//! of older work — behind ONE wasm chunk entry (`#[lazy]`).
//!
//! Why one entry and not one per job: wasm-split puts the code that several entries share into
//! one chunk per *set* of entries that use it. With an entry per job, the code the three share
//! with each other and with the page groups was cut into many small chunk files, and every file
//! is a request and an instantiation on the main thread while the page hydrates (ADR 0069). The
//! three are wanted together anyway: a first visit runs a sync and fetches the saving code at
//! once.

use super::{run::Run, transport::Failure};
use crate::sync::mutation::Mutation;

/// A job for the device's lazy code.
pub(super) enum Job {
    Save(Vec<Mutation>),
    Sync,
    Search(String),
}

/// A job's answer; each job has its own kind (see the wrappers below).
pub(super) enum Done {
    Saved(Result<(), String>),
    Synced(Run),
    Found(Result<usize, Failure>),
}

#[leptos::lazy]
async fn run(job: Job) -> Done {
    match job {
        Job::Save(mutations) => Done::Saved(super::save_now(mutations).await),
        Job::Sync => Done::Synced(super::run::sync_once_now().await),
        Job::Search(words) => Done::Found(super::older::search_now(words).await),
    }
}

/// Validates and stores local writes (`queue`).
pub(super) async fn save(mutations: Vec<Mutation>) -> Result<(), String> {
    match run(Job::Save(mutations)).await {
        Done::Saved(saved) => saved,
        // `run` answers each job with its own kind; this arm only satisfies the match.
        _ => Err("the device's saving code answered another question".into()),
    }
}

/// One sync run (`run::sync_once_now`).
pub(super) async fn sync_once() -> Run {
    match run(Job::Sync).await {
        Done::Synced(run) => run,
        _ => Run::Skipped,
    }
}

/// A search of older work on the server, kept on the device (`older::search_now`).
pub(super) async fn search(words: String) -> Result<usize, Failure> {
    match run(Job::Search(words)).await {
        Done::Found(found) => found,
        _ => Ok(0),
    }
}
