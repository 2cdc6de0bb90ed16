//! What every response carries and every write is checked for, whatever the route: security
//! headers, a CSP that allows exactly a page's own inline scripts, no caching of people's data,
//! refusal of writes from other sites, and bounded input at the edge.

use crate::helpers::{error_message, spawn_app, PASSWORD};
use app::domain::Role;
use base64::{engine::general_purpose::STANDARD, Engine};
use reqwest::header;
use serde_json::json;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn pages_carry_a_csp_that_allows_exactly_their_own_inline_scripts() {
    let app = spawn_app().await;
    let login = app.client().get(app.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let csp = login.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert_eq!(login.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(login.headers()[header::REFERRER_POLICY], "same-origin");
    let html = login.text().await.unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"), "{csp}");
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "no inline script without its hash");
    let mut inline = 0;
    for chunk in html.split("<script").skip(1) {
        let (tag, rest) = chunk.split_once('>').unwrap();
        if tag.contains("src=") {
            continue;
        }
        inline += 1;
        let body = &rest[..rest.find("</script>").unwrap()];
        let hash = STANDARD.encode(Sha256::digest(body.as_bytes()));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "inline script not allowed by {csp}");
    }
    assert!(inline >= 1, "the page carries its hydration script inline");
    assert_eq!(csp.matches("'sha256-").count(), inline);
}

#[tokio::test]
async fn the_api_is_never_cached_and_never_framed() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let (client, _) = app.signed_in(company, "m@acme.test", Role::Manager).await;
    for path in ["/api/me", "/api/users", "/api/analytics/export/consultations"] {
        let resp = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store", "{path}");
        assert!(resp.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'none'"));
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id_a_person_can_quote() {
    let app = spawn_app().await;
    let client = app.client();
    let made = client.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(made.status(), 401);
    let id = made.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a made id is a UUID: {id}");
    let other = client.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(other.headers()["x-request-id"].to_str().unwrap(), id, "one id per request");
    // A front proxy's id is kept, so its log and ours name the same request.
    let kept = client.get(app.url("/healthz")).header("x-request-id", "lb-7f3a").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "lb-7f3a");
}

#[tokio::test]
async fn a_write_from_another_site_is_refused_and_signs_nobody_in() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    app.create_user(company, "attacker@acme.test", Role::Technician).await;
    let form = [("email", "attacker@acme.test"), ("password", PASSWORD)];
    let victim = app.client();
    for (name, value) in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")] {
        let resp =
            victim.post(app.url("/api/auth/login")).header(name, value).form(&form).send().await.unwrap();
        assert_eq!(resp.status(), 403, "{name}");
        assert!(resp.headers().get(header::SET_COOKIE).is_none(), "{name}: no session cookie");
        assert!(error_message(resp).await.contains("another site"));
    }
    // The app's own page posts the same form fine.
    let host = app.base.trim_start_matches("http://").to_string();
    let resp = victim
        .post(app.url("/api/auth/login"))
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn dates_and_shapes_outside_what_the_domain_allows_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let (client, _) = app.signed_in(company, "m@acme.test", Role::Manager).await;
    for query in ["from=0001-01-01&to=2026-01-01", "from=2026-01-01&to=9999-12-31", "from=-200000-01-01"] {
        let resp = client.get(app.url(&format!("/api/analytics/dashboard?{query}"))).send().await.unwrap();
        assert!(resp.status().is_client_error(), "{query}: {}", resp.status());
        let message = error_message(resp).await;
        assert!(message.contains("1900") || message.contains("expected a date"), "{query}: {message}");
    }
    let resp = client.put(app.url("/api/analytics/settings")).json(&json!([])).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(error_message(resp).await.contains("JSON object"));
    let resp = client
        .post(app.url("/api/analytics/changes"))
        .json(&json!({ "name": "New\u{0}script", "changed_on": "2026-01-01" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert!(error_message(resp).await.contains("control characters"));
}

/// Errors that axum's own extractors answer (a bad path or query, a wrong method) are JSON too.
#[tokio::test]
async fn every_api_error_is_json() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let (client, _) = app.signed_in(company, "m@acme.test", Role::Manager).await;
    let cases = [
        (client.get(app.url("/api/users/not-a-uuid")), 400),
        (client.get(app.url("/api/analytics/breakdown")), 400),
        (client.delete(app.url("/api/me")), 405),
        (client.get(app.url("/api/nothing/here")), 404),
        (client.post(app.url("/api/sync/push")).body("{}"), 415),
    ];
    for (request, status) in cases {
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status);
        assert!(!error_message(resp).await.is_empty());
    }
}

/// Every API route is in the OpenAPI document and everything documented is routed. The routes
/// are read from `startup.rs` itself (its `.route("…")` calls under `/api`), and each path is
/// asked every method: one that is not refused with 405 must be documented.
#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes() {
    let app = spawn_app().await;
    let doc: serde_json::Value =
        app.client().get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let documented = doc["paths"].as_object().unwrap();
    assert!(documented.len() >= 17, "{:?}", documented.keys());
    let example = |path: &str| {
        path.replace("{id}", &uuid::Uuid::nil().to_string())
            .replace("{sha256}", &"0".repeat(64))
            .replace("{table}", "consultations")
    };
    // Documented exactly when routed: each documented method is answered, every other one is 405.
    for (path, ops) in documented {
        for method in ["get", "post", "put", "delete", "patch", "head"] {
            let resp = app
                .client()
                .request(method.to_uppercase().parse().unwrap(), app.url(&example(path)))
                .send()
                .await
                .unwrap();
            let answered = resp.status() != 405;
            // axum answers HEAD for every GET route by itself; only an explicit one is listed.
            let implied = method == "head" && ops.get("get").is_some();
            if !implied {
                assert_eq!(answered, ops.get(method).is_some(), "{method} {path}: routed {answered}");
            }
        }
    }
    // A route can only be added to the API through a handler's `#[utoipa::path]` (`routes!`):
    // `OpenApiRouter::route` would route it without an entry, so no API module calls it.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src) {
        let mut text = std::fs::read_to_string(&file).unwrap();
        if file.ends_with("startup.rs") {
            // Its other routes are the pages, outside `/api`: only `api_routes` counts.
            let body = text.find("pub fn api_routes").expect("startup.rs has api_routes");
            text = text[body..body + text[body..].find("\n}").unwrap()].to_string();
        }
        if text.contains("OpenApiRouter") {
            assert!(!text.contains(".route("), "{}: an API route without an OpenAPI entry", file.display());
        }
    }
}

fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// `docs/openapi.json` is the document the server serves, so a change to the API shows in review
/// as a change to that file. `FIELDCLOSE_BLESS=1 cargo test -p server --test api committed`
/// rewrites it.
#[test]
fn the_committed_openapi_document_is_up_to_date() {
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let current = serde_json::to_string_pretty(&server::openapi::spec()).unwrap() + "\n";
    if std::env::var_os("FIELDCLOSE_BLESS").is_some() {
        std::fs::write(&committed, &current).unwrap();
    }
    let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        on_disk == current,
        "docs/openapi.json is not the document the server serves: run \
         FIELDCLOSE_BLESS=1 cargo test -p server --test api committed, and review the change"
    );
}

/// Sockets that never send a request, or send their headers a byte at a time, are closed after
/// the header timeout instead of being kept for ever, and a normal sign-in goes through while
/// hundreds of them are open.
#[tokio::test]
async fn idle_and_trickling_connections_are_closed_and_do_not_block_sign_in() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::helpers::spawn_app_with(|c| {
        c.connections.header_read_timeout = std::time::Duration::from_secs(1)
    })
    .await;
    let company = app.create_company("Acme Air").await;
    app.create_user(company, "t@acme.test", Role::Technician).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut idle = vec![];
    for _ in 0..300 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut trickling = vec![];
    for _ in 0..20 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        trickling.push(s);
    }
    // A guard against hanging, not a speed assertion.
    let signed_in = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        app.login(&app.client(), "t@acme.test", PASSWORD),
    )
    .await
    .expect("sign-in is not held up by idle sockets");
    assert_eq!(signed_in.status(), 200);
    for s in idle.iter_mut().take(20).chain(trickling.iter_mut()) {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(std::time::Duration::from_secs(15), s.read(&mut buf)).await;
        // Closed by the server: end of stream, or a 408 then the end, or a reset.
        match read.expect("the server closes an idle socket") {
            Ok(0) | Err(_) => {}
            Ok(n) => {
                assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"), "{:?}", &buf[..n])
            }
        }
    }
}

/// The README's API table lists every route of the document, as `| \`METHOD\` | \`/api/…\` |`.
#[test]
fn the_readme_lists_every_route() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let spec = serde_json::to_value(server::openapi::spec()).unwrap();
    let mut missing = vec![];
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let row = format!("| `{}` | `{path}` |", method.to_uppercase());
            if !readme.contains(&row) {
                missing.push(row);
            }
        }
    }
    assert!(missing.is_empty(), "add these routes to the README's API table: {missing:#?}");
}
