//! What every handler shares.

use crate::{config::Config, pwa::ServiceWorker};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::{collections::HashSet, sync::Arc};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// The website lead form's own connections (`db::generic_plan_pool`).
    pub intake_pool: PgPool,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    /// The paths the Leptos router renders (the pages behind sign-in).
    pub page_paths: Arc<HashSet<String>>,
    pub service_worker: Arc<ServiceWorker>,
    /// Photo and signature bytes.
    pub blobs: Arc<dyn object_store::ObjectStore>,
    /// Company versions for writers, the watermark for readers, and the "pull now" pokes
    /// (see `sync::clock`).
    pub clock: Arc<crate::sync::clock::VersionClock>,
    pub push_gates: Arc<crate::sync::PushGates>,
    /// Sessions just looked up, trusted for a few seconds (see `auth::session_cache`).
    pub sessions: Arc<crate::auth::session_cache::SessionCache>,
    /// Each company's analytics facts, kept in memory and refreshed by version.
    pub analytics: Arc<crate::analytics::load::FactsCache>,
    /// The website lead form's flood guard (`intake::limit`).
    pub intake: Arc<crate::intake::Guards>,
    /// Web Push notices, sent after the writes they are about (`push`).
    pub push: crate::push::Notifier,
    /// Turns true when the server starts shutting down: long-lived responses (event streams)
    /// end then, so a graceful shutdown does not wait on them forever.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Turns true when the process is leaving (`config::Drain`): `/readyz` answers 503 so that
    /// the load balancer sends new requests elsewhere.
    pub draining: tokio::sync::watch::Receiver<bool>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
