//! The one error type of the HTTP layer. Every handler returns `Result<_, ApiError>`; it renders
//! `{"error": {"code", "message", "field"?}}` with the right status, and never leaks internals
//! (those are logged with the request's span instead).

use app::{
    api::{ErrorBody, ErrorDetail},
    domain::ValidationError,
};
use axum::{
    extract::{rejection::JsonRejection, FromRequest},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

/// What a 503 asks the client to wait before trying again.
pub const RETRY_AFTER_SECS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, wrong content type, missing field).
    #[error("{0}")]
    BadRequest(String),
    /// A field failed domain validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("sign in first")]
    Unauthorized,
    /// Wrong email or password: one generic message, whichever was wrong.
    #[error("Email or password is incorrect.")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A link that was good once and is no more (an invite used, revoked or expired).
    #[error("{0}")]
    Gone(String),
    /// A push replays mutation ids whose stored content differs: the device's storage went back
    /// in time and reuses numbers. The client must continue under a new client id.
    #[error("This device's sync numbering went back in time (was its storage restored?). It must continue under a new client id; no change was applied.")]
    ClientIdReused,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Throttled: the message says how long to wait, and so does `Retry-After` (seconds).
    #[error("{0}")]
    TooManyRequests(String, u64),
    /// The company's storage quota is used up.
    #[error("{0}")]
    InsufficientStorage(String),
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Saturated (too many password checks at once): come back in a few seconds.
    #[error("{0}")]
    Busy(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::ClientIdReused => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Unavailable(_) | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Invalid(_) => "invalid_input",
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadCredentials => "bad_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Gone(_) => "gone",
            ApiError::ClientIdReused => app::api::CLIENT_ID_REUSED,
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooManyRequests(..) => "rate_limited",
            ApiError::InsufficientStorage(_) => "storage_full",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Busy(_) => "busy",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn detail(&self) -> ErrorDetail {
        let (message, field) = match self {
            ApiError::Invalid(v) => (format!("{}: {}", v.field, v.message), Some(v.field.to_string())),
            ApiError::Unauthorized => ("Sign in first: your session is missing or has expired.".into(), None),
            ApiError::Unavailable(_) => {
                ("The server cannot reach its database. Try again in a minute.".into(), None)
            }
            ApiError::Internal(_) => {
                ("Something went wrong on our side. It has been logged; try again.".into(), None)
            }
            other => (other.to_string(), None),
        };
        ErrorDetail { code: self.code().into(), message, field }
    }
}

/// Whether `e` says the database could not be reached or dropped the connection (a restart,
/// a terminated backend, a network cut): worth a retry in a moment, so a 503, never a 500.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        // 08: connection exception; 57P01-03: the server shut down or terminated this backend;
        // 53300: too many connections.
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }
        _ => false,
    }
}

/// A database result whose one expected failure is a named constraint (realworld-axum-sqlx's
/// `on_constraint`): that failure becomes the error a person can act on, any other goes on as
/// usual (503 when the database is unreachable, else a logged 500).
pub trait ResultExt<T> {
    fn on_constraint(self, name: &str, to: impl FnOnce() -> ApiError) -> Result<T, ApiError>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_constraint(self, name: &str, to: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.constraint() == Some(name) => to(),
            _ => e.into(),
        })
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            return ApiError::Unavailable(e);
        }
        match &e {
            // Class 22 (data exception): a value the database cannot hold (a NUL in text, a
            // number or date out of its range). Handlers validate first; this is the net under
            // them, so such input is a 4xx with its reason, never a 500.
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
                ApiError::BadRequest(format!(
                    "A value in the request cannot be stored ({}). Check it for invisible characters \
                     and out-of-range numbers or dates.",
                    db.message()
                ))
            }
            _ => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let retry_after = match &self {
            ApiError::TooManyRequests(_, secs) => Some(*secs),
            _ => None,
        };
        let mut response = (status, Json(ErrorBody { error: self.detail() })).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Devices and the sync loop back off by it; a connection drop heals in seconds.
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, RETRY_AFTER_SECS.into());
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "Send the body as JSON with Content-Type: application/json.".into(),
            ),
            r if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge("The request body is too large.".into())
            }
            other => ApiError::BadRequest(format!("The JSON body is not valid: {}", other.body_text())),
        }
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s, so malformed bodies get our JSON error shape.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}
