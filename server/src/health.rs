//! `GET /healthz`: the process answers. `GET /readyz`: it can serve (database reachable, every
//! migration applied, and not draining for a shutdown) — what a load balancer should route on.

use crate::{db, state::AppState};
use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if *state.draining.borrow() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "draining", "reason": "this process is shutting down; send requests elsewhere" }),
            ),
        );
    }
    match db::migrations_applied(&state.pool).await {
        Ok(true) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "reason": "database migrations are not all applied" })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not_ready", "reason": "the database is unreachable" })),
            )
        }
    }
}
