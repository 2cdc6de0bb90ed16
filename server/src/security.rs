//! What every response and every state-changing request goes through, whatever its route:
//! the cross-site request check, the security headers (with a CSP that allows exactly the inline
//! scripts the page carries), and the panic net.

use crate::{error::ApiError, state::AppState};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode},
    middleware::Next,
    response::IntoResponse,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use sha2::{Digest, Sha256};

/// Refuses a state-changing request that a page of another site made the browser send (login
/// CSRF: a form elsewhere signing the victim into the attacker's account; or any write riding
/// on the victim's cookie). Browsers say where a request comes from in `Sec-Fetch-Site`, and in
/// `Origin` for older ones; a request with neither (curl, the tests, a native client) carries
/// no ambient cookie from another site and passes.
pub async fn refuse_cross_site(req: Request, next: Next) -> axum::response::Response {
    // The website lead form is posted from the company's own site by design; it reads no
    // session and checks the page's origin against the company's list itself (`intake`).
    if is_cross_site(req.method(), req.headers()) && !req.uri().path().starts_with("/api/intake/") {
        return ApiError::Forbidden(
            "This request came from another site. Open Fieldclose itself and try again.",
        )
        .into_response();
    }
    next.run(req).await
}

fn is_cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("same-origin") | Some("none") => return false,
        Some(_) => return true, // cross-site, or same-site (another subdomain)
        None => {}
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    // `Origin` is scheme://host[:port]; the request's Host must be that host[:port].
    origin.split_once("://").map(|(_, authority)| authority) != Some(host)
}

/// The security headers of every response; `Cache-Control: no-store` on the API, the reports
/// and a person's own pages (people's data must not stay in shared caches or on a shared tablet's disk cache).
pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> axum::response::Response {
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let (mut parts, body) = response.into_parts();
    let content_type =
        parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let is_html = content_type.starts_with("text/html");
    let (csp, body) = if content_type.contains("javascript") {
        // A worker's script brings its own policy (the service worker fetches and caches the
        // app's files); a page's scripts run under the page's.
        (page_policy(&[]), body)
    } else if is_html && parts.headers.get(header::CONTENT_ENCODING).is_some() {
        // A precompressed static page (offline.html): it has no inline script.
        (page_policy(&[]), body)
    } else if is_html {
        // A rendered page: allow exactly its own inline scripts, by hash.
        match axum::body::to_bytes(body, MAX_HTML_BYTES).await {
            Ok(bytes) => (page_policy(&inline_scripts(&bytes)), Body::from(bytes)),
            Err(_) => {
                return ApiError::internal(std::io::Error::other("an HTML page too large to check"))
                    .into_response()
            }
        }
    } else {
        // Anything else (JSON, images, wasm, css) is never a document that runs script.
        ("default-src 'none'; frame-ancestors 'none'".to_string(), body)
    };
    let h = &mut parts.headers;
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp).expect("a policy is ASCII"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if state.config.cookie_secure {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    // A customer's copy (`/p/…`) is read as it stands now, never from a cache.
    if path.starts_with("/api/")
        || path == "/reports"
        || path.starts_with("/reports/")
        || path.starts_with("/me/")
        || path.starts_with("/p/")
    {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Response::from_parts(parts, body)
}

/// Far larger than any page the app renders (the reports page is the largest).
const MAX_HTML_BYTES: usize = 16 * 1024 * 1024;

/// The CSP of a page whose inline scripts are `scripts`. `wasm-unsafe-eval` is what compiling
/// the app's WebAssembly needs (it allows no JavaScript `eval`); styles may be inline (Leptos
/// views and the reports page set `style` attributes; styles cannot run code).
fn page_policy(scripts: &[String]) -> String {
    let hashes: String = scripts
        .iter()
        .map(|s| format!(" 'sha256-{}'", STANDARD.encode(Sha256::digest(s.as_bytes()))))
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The text of every inline `<script>` (one without `src`) in `html`; a data block (JSON, such
/// as the first screen's rows) is not a script and needs no hash.
fn inline_scripts(html: &[u8]) -> Vec<String> {
    let html = String::from_utf8_lossy(html);
    let mut scripts = vec![];
    let mut rest = &html[..];
    while let Some(start) = rest.find("<script") {
        rest = &rest[start + "<script".len()..];
        let Some(tag_end) = rest.find('>') else { break };
        let attributes = &rest[..tag_end];
        rest = &rest[tag_end + 1..];
        let Some(close) = rest.find("</script>") else { break };
        if !attributes.contains("src=") && !attributes.contains("application/json") {
            scripts.push(rest[..close].to_string());
        }
        rest = &rest[close..];
    }
    scripts
}

/// Every error of the API is JSON (`{"error": {code, message}}`), including the ones axum's
/// extractors and layers answer in plain text (a malformed path or query, a wrong method, a
/// body over the limit, a timeout): a device reads every failure the same way.
pub async fn json_errors(req: Request, next: Next) -> axum::response::Response {
    let api = req.uri().path().starts_with("/api/");
    let response = next.run(req).await;
    if !api {
        return response;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("The request failed.").to_string()
    } else {
        text
    };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::NOT_FOUND => "not_found",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let body =
        app::api::ErrorBody { error: app::api::ErrorDetail { code: code.into(), message, field: None } };
    let mut response = (status, axum::Json(body)).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

/// A panic in a handler becomes a logged JSON 500 instead of a dropped connection.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = %what, "a request handler panicked");
    let mut response = ApiError::internal(std::io::Error::other(format!("panic: {what}"))).into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inline_scripts_are_hashed() {
        let html = br#"<html><script src="/pwa.js" defer></script><script type="module">boot()</script><p>x</p><script>two</script><script type="application/json" id="fc-first-screen">[]</script></html>"#;
        assert_eq!(inline_scripts(html), ["boot()", "two"]);
        let policy = page_policy(&inline_scripts(html));
        assert_eq!(policy.matches("'sha256-").count(), 2);
        assert!(
            !policy.contains("unsafe-inline'; img") || policy.contains("style-src 'self' 'unsafe-inline'")
        );
        assert!(!policy.contains("script-src 'self' 'unsafe-inline'"));
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_json_500() {
        use tower::ServiceExt;
        async fn explode() -> &'static str {
            panic!("boom")
        }
        let app = axum::Router::new()
            .route("/", axum::routing::get(explode))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response));
        let response = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 10_000).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "internal");
    }

    #[test]
    fn cross_site_writes_are_told_apart() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        assert!(is_cross_site(&Method::POST, &h(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&Method::POST, &h(&[("sec-fetch-site", "same-site")])));
        assert!(!is_cross_site(&Method::POST, &h(&[("sec-fetch-site", "same-origin")])));
        assert!(!is_cross_site(&Method::GET, &h(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&Method::POST, &h(&[("origin", "https://evil.test"), ("host", "app.test")])));
        assert!(is_cross_site(&Method::POST, &h(&[("origin", "null"), ("host", "app.test")])));
        assert!(!is_cross_site(&Method::POST, &h(&[("origin", "https://app.test"), ("host", "app.test")])));
        assert!(!is_cross_site(&Method::POST, &h(&[])));
    }
}
