//! Logging: `tracing` to stdout, filtered by `RUST_LOG` (checked in [`crate::config`]).

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // `try_init`: tests start many servers in one process and only the first may install it.
    let _ = tracing_subscriber::registry().with(filter).with(fmt::layer().with_target(true)).try_init();
}

/// The header that carries a request's id: kept when a front proxy (or the client) sends one, so
/// the proxy's log and ours share it, made here otherwise, and returned on the response so a
/// person reporting a fault can quote it. It only labels log lines: nothing trusts it.
pub const REQUEST_ID: &str = "x-request-id";

/// Each request's span: its id, method and path, and — once the session middleware knows them —
/// who made it (`company_id`, `user_id`), so every log line of a request says whose it was. At
/// ERROR level so that it exists whenever anything is logged at all (`RUST_LOG=warn` included).
pub fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::error_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        company_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    )
}

/// Records who is signed in on the current request's span.
pub fn record_person(company_id: uuid::Uuid, user_id: uuid::Uuid) {
    let span = tracing::Span::current();
    span.record("company_id", tracing::field::display(company_id));
    span.record("user_id", tracing::field::display(user_id));
}
