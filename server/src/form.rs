//! The pages that must work before the wasm loads (sign-in, sign-up, accepting an invite) post
//! plain HTML forms to the same endpoints the API clients send JSON to. A form post is answered
//! with redirects, JSON with JSON; this says which one a request is and reads its body.

use crate::error::ApiError;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
}

/// JSON or an HTML form; anything else is refused naming `what` was being sent.
pub fn body_kind(headers: &HeaderMap, what: &str) -> Result<BodyKind, ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    match ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
        "application/json" => Ok(BodyKind::Json),
        "application/x-www-form-urlencoded" => Ok(BodyKind::Form),
        _ => Err(ApiError::UnsupportedMediaType(format!(
            "Send the {what} as JSON (application/json) or as a form (application/x-www-form-urlencoded)."
        ))),
    }
}

pub fn parse<T: DeserializeOwned>(kind: BodyKind, body: &[u8]) -> Result<T, ApiError> {
    match kind {
        BodyKind::Json => serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("The JSON body is not valid: {e}"))),
        BodyKind::Form => serde_urlencoded::from_bytes(body)
            .map_err(|e| ApiError::BadRequest(format!("The form is missing a field: {e}"))),
    }
}

/// A form's fields as pairs, in order: a form sends one pair per ticked box of a group.
pub fn pairs(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::BadRequest(format!("The form could not be read: {e}")))
}
