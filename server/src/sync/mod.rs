//! The server half of the sync protocol (docs/sync.md): push applies a device's mutations in
//! order, exactly once; pull sends what changed since the device's cookie, within its scope.

mod apply;
mod batch;
mod booking;
pub mod clock;
pub mod conflicts;
mod deferred;
pub mod events;
pub mod family;
mod fields;
mod leads;
pub mod on_behalf;
pub mod pull;
pub mod push;
mod scope;
pub mod search;
pub mod window;

use crate::{auth::CurrentUser, state::AppState};
use app::domain::Role;
use uuid::Uuid;

/// `/sync/push`, `/sync/pull`, `/sync/events`, `/conflicts`.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(push::push))
        .routes(routes!(pull::pull))
        .routes(routes!(events::events))
        .routes(routes!(conflicts::list))
        .routes(routes!(search::search))
}

/// Who is writing or reading, as every sync query needs it.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub company_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub client_id: Uuid,
}

impl Actor {
    pub fn new(user: &CurrentUser, client_id: Uuid) -> Self {
        Self { company_id: user.company_id(), user_id: user.user_id(), role: user.role(), client_id }
    }

    /// Managers and the office see their whole company; everyone else what their
    /// `scope_users` lists.
    pub fn sees_all(&self) -> bool {
        self.role.sees_all()
    }
}

/// Striped per-company push gates: at most [`PushGates::PER_COMPANY`] pushes of one company run
/// at once; the rest wait in memory instead of each holding a pooled connection. 64 stripes:
/// two companies rarely share one.
pub struct PushGates([std::sync::Arc<tokio::sync::Semaphore>; 64]);

impl Default for PushGates {
    fn default() -> Self {
        Self(std::array::from_fn(|_| std::sync::Arc::new(tokio::sync::Semaphore::new(Self::PER_COMPANY))))
    }
}

impl PushGates {
    /// Enough to overlap one push's statements with another's and with commits on two cores,
    /// well under the pool's 20 connections.
    pub const PER_COMPANY: usize = 6;

    pub fn for_company(&self, company: Uuid) -> std::sync::Arc<tokio::sync::Semaphore> {
        let stripe = company.as_u128().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 122;
        self.0[stripe as usize % 64].clone()
    }
}

/// Runs a transaction to its end (commit or rollback) even if the client hangs up meanwhile.
///
/// When a client disconnects, axum drops the handler's future; a transaction dropped half-way
/// leaves its connection to be rolled back later, and under load we saw such connections come
/// back to the pool still inside a transaction ("there is already a transaction in progress"),
/// where the next request's COMMIT could have committed the dead push's partial work. A spawned
/// task is not cancelled with the request, so the transaction always finishes properly.
pub async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, crate::error::ApiError>> + Send + 'static,
) -> Result<T, crate::error::ApiError> {
    tokio::spawn(work).await.map_err(crate::error::ApiError::internal)?
}

/// Why one mutation did not apply. `Rejected` is permanent (kept with its reason, the client is
/// told); `Transient` aborts the whole push so the client retries it unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Transient(sqlx::Error),
}

impl ApplyError {
    pub fn rejected(msg: impl Into<String>) -> Self {
        ApplyError::Rejected(msg.into())
    }

    /// A create whose id is taken (by anyone, deleted or not).
    pub fn id_taken(id: uuid::Uuid) -> Self {
        ApplyError::rejected(format!("a record with id {id} already exists"))
    }
}

impl From<app::domain::ValidationError> for ApplyError {
    fn from(e: app::domain::ValidationError) -> Self {
        ApplyError::Rejected(e.to_string())
    }
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        // A constraint the mutation broke is its own fault (a missing parent, a bad value):
        // reject it. Anything else (connection, serialization, deadlock) is worth a retry.
        if let sqlx::Error::Database(db) = &e {
            let code = db.code().unwrap_or_default();
            if code.starts_with("23") || code.starts_with("22") {
                return ApplyError::Rejected(format!(
                    "the change does not fit the stored data: {}",
                    db.message()
                ));
            }
        }
        ApplyError::Transient(e)
    }
}
