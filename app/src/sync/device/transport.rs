//! The browser's one HTTP client for the JSON API: the sync run and the screens that read or
//! send something online-only (the team, conflicts) both go through it, so "no connection", a
//! server error and a refusal are told apart the same way everywhere. On the server these
//! functions exist so the components type-check, and say so if ever called.

use crate::api::ErrorDetail;
use serde::{de::DeserializeOwned, Serialize};

/// Why a request did not succeed.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// No answer (no network, the server down, a request cut off).
    Offline,
    /// The server answered 5xx: it is there but cannot do it now; try again later.
    ServerError(u16),
    /// The server holds mutation ids this device reuses (its storage went back in time): the
    /// device continues under a new client id (`Engine::on_client_id_reused`).
    ClientIdReused,
    /// Refused, for a reason a person can read (a 4xx, or a 507 when the company's storage is
    /// full: retrying will not help until someone acts).
    Refused(ErrorDetail),
}

impl Failure {
    /// Whether the server could not be reached at all, so the request is worth retrying later
    /// on its own.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Failure::Offline | Failure::ServerError(_))
    }

    /// The error as the screens show it.
    pub fn into_detail(self) -> ErrorDetail {
        match self {
            Failure::Refused(detail) => detail,
            Failure::Offline => {
                detail("network", "No connection to the server. Try again when you have signal.")
            }
            Failure::ServerError(status) => detail(
                "server_error",
                &format!("The server could not do this just now ({status}). Try again in a minute."),
            ),
            Failure::ClientIdReused => detail(
                crate::api::CLIENT_ID_REUSED,
                "This device's sync numbering went back in time; it continues under a new id.",
            ),
        }
    }
}

fn detail(code: &str, message: &str) -> ErrorDetail {
    ErrorDetail { code: code.into(), message: message.into(), field: None }
}

/// A failure from the answer's status and body: 5xx but 507 are the server's trouble, the rest
/// carry the API's `{"error": {...}}`.
#[cfg(feature = "hydrate")]
async fn failure_of(resp: gloo_net::http::Response) -> Failure {
    let status = resp.status();
    if status >= 500 && status != 507 {
        return Failure::ServerError(status);
    }
    match resp.json::<crate::api::ErrorBody>().await {
        Ok(b) if b.error.code == crate::api::CLIENT_ID_REUSED => Failure::ClientIdReused,
        Ok(b) => Failure::Refused(b.error),
        Err(_) => Failure::Refused(detail("http", &format!("The server answered {status}."))),
    }
}

#[cfg(feature = "hydrate")]
fn unencodable(e: gloo_net::Error) -> Failure {
    Failure::Refused(detail("encoding", &format!("Could not encode the request: {e}")))
}

#[cfg(not(feature = "hydrate"))]
fn browser_only(url: &str) -> Failure {
    Failure::Refused(detail("browser_only", &format!("{url} can only be called from the browser")))
}

/// A 2xx answer (nothing, on the server, where no request is ever sent).
#[cfg(feature = "hydrate")]
type Answer = gloo_net::http::Response;
#[cfg(not(feature = "hydrate"))]
type Answer = std::convert::Infallible;

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// Sends `body`, if any, as JSON: the 2xx answer, or why there is none.
async fn send<B: Serialize>(method: Method, url: &str, body: Option<&B>) -> Result<Answer, Failure> {
    #[cfg(feature = "hydrate")]
    {
        use gloo_net::http::Request;
        let builder = match method {
            Method::Get => Request::get(url),
            Method::Post => Request::post(url),
            Method::Put => Request::put(url),
            Method::Patch => Request::patch(url),
            Method::Delete => Request::delete(url),
        };
        let req = match body {
            Some(body) => builder.json(body),
            None => builder.build(),
        }
        .map_err(unencodable)?;
        answer(req).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (method, body);
        Err(browser_only(url))
    }
}

/// Sends a built request: its 2xx answer, or why there is none.
#[cfg(feature = "hydrate")]
async fn answer(req: gloo_net::http::Request) -> Result<Answer, Failure> {
    let resp = req.send().await.map_err(|_| Failure::Offline)?;
    if resp.ok() {
        Ok(resp)
    } else {
        Err(failure_of(resp).await)
    }
}

/// The JSON of an answer.
async fn json<T: DeserializeOwned>(answer: Answer) -> Result<T, Failure> {
    #[cfg(feature = "hydrate")]
    {
        answer.json::<T>().await.map_err(|e| {
            Failure::Refused(detail("unreadable", &format!("Unreadable answer from the server: {e}")))
        })
    }
    #[cfg(not(feature = "hydrate"))]
    match answer {}
}

pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, Failure> {
    json(send::<()>(Method::Get, url, None).await?).await
}

pub async fn post_json<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, Failure> {
    json(send(Method::Post, url, Some(body)).await?).await
}

/// A POST whose success has no body to read (204).
pub async fn post_for_no_content<B: Serialize>(url: &str, body: &B) -> Result<(), Failure> {
    send(Method::Post, url, Some(body)).await.map(|_| ())
}

/// A PUT whose success has no body to read (204).
pub async fn put_for_no_content<B: Serialize>(url: &str, body: &B) -> Result<(), Failure> {
    send(Method::Put, url, Some(body)).await.map(|_| ())
}

/// A DELETE that says what to delete in its body (204).
pub async fn delete_with<B: Serialize>(url: &str, body: &B) -> Result<(), Failure> {
    send(Method::Delete, url, Some(body)).await.map(|_| ())
}

pub async fn put_json<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, Failure> {
    json(send(Method::Put, url, Some(body)).await?).await
}

pub async fn patch_json<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, Failure> {
    json(send(Method::Patch, url, Some(body)).await?).await
}

/// `DELETE url`; the answer's body, if any, is not read.
pub async fn delete(url: &str) -> Result<(), Failure> {
    send::<()>(Method::Delete, url, None).await.map(|_| ())
}

/// Sends a file's text (a CSV import) and reads the report the server answers, which is a
/// report too when it refused rows (422 with `errors`).
pub async fn post_text(url: &str, content_type: &str, body: String) -> Result<serde_json::Value, Failure> {
    #[cfg(feature = "hydrate")]
    {
        let req = gloo_net::http::Request::post(url)
            .header("content-type", content_type)
            .body(body)
            .map_err(unencodable)?;
        let resp = req.send().await.map_err(|_| Failure::Offline)?;
        let status = resp.status();
        if status >= 500 && status != 507 {
            return Err(Failure::ServerError(status));
        }
        let value: serde_json::Value = resp.json().await.map_err(|e| {
            Failure::Refused(detail("unreadable", &format!("Unreadable answer from the server: {e}")))
        })?;
        if resp.ok() || value.get("errors").is_some_and(serde_json::Value::is_array) {
            return Ok(value);
        }
        match serde_json::from_value::<crate::api::ErrorBody>(value) {
            Ok(b) => Err(Failure::Refused(b.error)),
            Err(_) => Err(Failure::Refused(detail("http", &format!("The server answered {status}.")))),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (content_type, body);
        Err(browser_only(url))
    }
}

/// Uploads a photo or signature (`PUT /api/blobs/{sha256}`); the answer's body is not read.
#[cfg(feature = "hydrate")]
pub async fn put_blob(url: &str, content_type: &str, blob: web_sys::Blob) -> Result<(), Failure> {
    let req = gloo_net::http::Request::put(url)
        .header("content-type", content_type)
        .body(wasm_bindgen::JsValue::from(blob))
        .map_err(unencodable)?;
    answer(req).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_no_answer_and_server_errors_are_worth_retrying_alone() {
        assert!(Failure::Offline.is_unreachable());
        assert!(Failure::ServerError(503).is_unreachable());
        assert!(!Failure::ClientIdReused.is_unreachable());
        assert!(!Failure::Refused(detail("invalid_input", "no")).is_unreachable());
    }

    #[test]
    fn a_refusal_keeps_the_servers_detail() {
        let d = ErrorDetail {
            code: "invalid_input".into(),
            message: "Name is empty.".into(),
            field: Some("name".into()),
        };
        assert_eq!(Failure::Refused(d.clone()).into_detail(), d);
        assert_eq!(Failure::Offline.into_detail().code, "network");
    }
}
