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
    let startup = include_str!("../../src/startup.rs");
    let api = &startup[startup.find("let api = Router::new()").unwrap()..startup.find(".fallback(").unwrap()];
    let routed: Vec<String> = api
        .split(".route(")
        .skip(1)
        .map(|rest| {
            let rest = rest.trim_start().strip_prefix('"').expect("a route's path is a literal");
            format!("/api{}", &rest[..rest.find('"').unwrap()])
        })
        .collect();
    assert!(routed.len() >= 17, "{routed:?}");
    let example = |path: &str| {
        path.replace("{id}", &uuid::Uuid::nil().to_string())
            .replace("{sha256}", &"0".repeat(64))
            .replace("{table}", "consultations")
    };
    for path in &routed {
        let ops = documented.get(path).unwrap_or_else(|| panic!("{path} is routed but not documented"));
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
    for path in documented.keys() {
        assert!(routed.contains(path), "{path} is documented but not routed");
    }
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
