//! The audit trail: every change to a record or to the company's configuration, with who made
//! it, when, from which device, what it was and what it became.
//!
//! Two sources make one trail. Records change by sync, and `mutation_log` already holds every
//! applied write with its person, device and values; the value a field had before is the one
//! an earlier entry set ([`trail`] reads it at query time, so a push writes nothing more).
//! Configuration changes online, outside sync; each is written to `audit_events` by [`record`]
//! in the transaction that makes it, with its before and after.

mod describe;
pub mod trail;

use crate::auth::CurrentUser;
use axum::{extract::FromRequestParts, http::request::Parts};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

pub use trail::router;

/// The browser or app a request came from, as a person would name it ("Chrome on Android").
#[derive(Debug, Clone, Default)]
pub struct Device(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Device {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let agent = parts.headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok());
        Ok(Device(agent.map(describe::user_agent).unwrap_or_default()))
    }
}

/// One configuration change, as [`record`] keeps it.
pub struct Change {
    /// price_book_item, checklist, settings, company, person, invite.
    pub record_type: &'static str,
    pub record_id: Option<Uuid>,
    /// created, changed, removed, imported, invited, revoked, …
    pub action: &'static str,
    pub summary: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Keeps `change`, made by `user` from `device`, in the caller's transaction: it is in the
/// trail exactly when the change itself committed.
pub async fn record(
    db: &mut PgConnection,
    user: &CurrentUser,
    device: &Device,
    change: Change,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into audit_events (company_id, user_id, device, record_type, record_id, action, summary, before, after)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        user.company_id(),
        user.user_id(),
        device.0,
        change.record_type,
        change.record_id,
        change.action,
        change.summary,
        change.before,
        change.after
    )
    .execute(db)
    .await?;
    Ok(())
}
