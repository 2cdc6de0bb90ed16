//! What every handler shares.

use crate::{config::Config, pwa::ServiceWorker};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::{collections::HashSet, sync::Arc};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    /// The paths the Leptos router renders (the pages behind sign-in).
    pub page_paths: Arc<HashSet<String>>,
    pub service_worker: Arc<ServiceWorker>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
