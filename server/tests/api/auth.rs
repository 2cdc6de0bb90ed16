use crate::helpers::{error_message, spawn_app, spawn_app_with, PASSWORD};
use app::domain::Role;
use reqwest::header;
use serde_json::{json, Value};

#[tokio::test]
async fn login_sets_a_long_lived_http_only_cookie_and_me_answers() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    app.create_user(company, "tech@acme.test", Role::Technician).await;
    let client = app.client();

    let resp = app.login(&client, "Tech@Acme.test ", PASSWORD).await;
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("fc_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let max_age: u64 = cookie.split("Max-Age=").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    assert!(max_age >= 30 * 24 * 3600, "a technician must stay signed in for weeks: {max_age}s");
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["role"], "technician");
    assert_eq!(me["company_name"], "Acme Air");

    let me: Value = client.get(app.url("/api/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], "tech@acme.test");

    // Only a hash of the token is stored.
    let token = cookie.split(';').next().unwrap().trim_start_matches("fc_session=").to_string();
    let stored: i64 =
        sqlx::query_scalar("select count(*) from sessions where token_hash = convert_to($1, 'UTF8')")
            .bind(&token)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_generic_answer() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    app.create_user(company, "tech@acme.test", Role::Technician).await;
    let client = app.client();

    let wrong = app.login(&client, "tech@acme.test", "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    let wrong = error_message(wrong).await;

    let unknown = app.login(&client, "nobody@acme.test", "not the password").await;
    assert_eq!(unknown.status(), 401);
    assert_eq!(error_message(unknown).await, wrong);
    assert_eq!(wrong, "Email or password is incorrect.");

    assert_eq!(client.get(app.url("/api/me")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn the_html_form_signs_in_with_redirects() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    app.create_user(company, "rep@acme.test", Role::SalesRep).await;
    let client = app.client();

    let bad = client
        .post(app.url("/api/auth/login"))
        .form(&[("email", "rep@acme.test"), ("password", "nope nope nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 303);
    let to = bad.headers()[header::LOCATION].to_str().unwrap();
    assert!(to.starts_with("/login?error=invalid"), "{to}");

    let good = client
        .post(app.url("/api/auth/login"))
        .form(&[("email", "rep@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 303);
    assert_eq!(good.headers()[header::LOCATION], "/queue");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let (client, _) = app.signed_in(company, "m@acme.test", Role::Manager).await;
    assert_eq!(client.get(app.url("/api/me")).send().await.unwrap().status(), 200);

    let resp = client.post(app.url("/api/auth/logout")).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert!(resp.headers()[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(client.get(app.url("/api/me")).send().await.unwrap().status(), 401);
    let left: i64 = sqlx::query_scalar("select count(*) from sessions").fetch_one(&app.pool).await.unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let (client, _) = app.signed_in(company, "m@acme.test", Role::Manager).await;
    sqlx::query("update sessions set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(client.get(app.url("/api/me")).send().await.unwrap().status(), 401);
}

/// However much it is used, a session ends 90 days after its sign-in.
#[tokio::test]
async fn a_session_has_an_absolute_lifetime() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let (client, _) = app.signed_in(company, "m@acme.test", Role::Manager).await;
    // In steady use, and slid forward, but signed in 91 days ago.
    sqlx::query("update sessions set created_at = now() - interval '91 days', expires_at = now() + interval '59 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(client.get(app.url("/api/me")).send().await.unwrap().status(), 401);
    // Sliding never carries a session past it either.
    let (client, _) = app.signed_in(company, "t@acme.test", Role::Technician).await;
    sqlx::query(
        "update sessions set created_at = now() - interval '89 days', last_seen_at = now() - interval '2 days'
         where created_at > now() - interval '1 hour'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(client.get(app.url("/api/me")).send().await.unwrap().status(), 200);
    let left: f64 = sqlx::query_scalar(
        "select extract(epoch from max(expires_at) - now())::float8 from sessions
         where created_at between now() - interval '90 days' and now() - interval '88 days'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(left < 2.0 * 86_400.0, "slid to the absolute end, not 60 more days: {left}");
}

#[tokio::test]
async fn a_session_in_use_slides_forward() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let (client, _) = app.signed_in(company, "t@acme.test", Role::Technician).await;
    sqlx::query("update sessions set last_seen_at = now() - interval '3 days', expires_at = now() + interval '57 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let resp = client.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get(header::SET_COOKIE).is_some(), "the cookie is renewed too");
    let days_left: f64 =
        sqlx::query_scalar("select extract(epoch from expires_at - now())::float8 / 86400 from sessions")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(days_left > 59.0, "{days_left}");
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_get_clear_4xx() {
    let app = spawn_app().await;
    let client = app.client();
    let resp = client
        .post(app.url("/api/auth/login"))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(error_message(resp).await.contains("JSON"));

    let resp = client.post(app.url("/api/auth/login")).body("email=x").send().await.unwrap();
    assert_eq!(resp.status(), 415);

    let resp = client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": "a@b.co", "password": "x".repeat(2 * 1024 * 1024) }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    app.create_user(company, "tech@acme.test", Role::Technician).await;
    let client = app.client();
    for _ in 0..5 {
        assert_eq!(app.login(&client, "tech@acme.test", "wrong password!").await.status(), 401);
    }
    // Even the right password is refused now: the limit is checked before the password.
    let locked = app.login(&client, "tech@acme.test", PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert!(error_message(locked).await.contains("Wait 30 seconds"));

    // Other accounts from the same address are not locked by one account's failures.
    app.create_user(company, "other@acme.test", Role::Technician).await;
    assert_eq!(app.login(&client, "other@acme.test", PASSWORD).await.status(), 200);

    // The window passes.
    sqlx::query("update login_attempts set attempted_at = attempted_at - interval '16 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.login(&client, "tech@acme.test", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_success_restarts_the_account_count() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    app.create_user(company, "tech@acme.test", Role::Technician).await;
    let client = app.client();
    for _ in 0..4 {
        app.login(&client, "tech@acme.test", "wrong password!").await;
    }
    assert_eq!(app.login(&client, "tech@acme.test", PASSWORD).await.status(), 200);
    for _ in 0..4 {
        assert_eq!(app.login(&client, "tech@acme.test", "wrong password!").await.status(), 401);
    }
    assert_eq!(app.login(&client, "tech@acme.test", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_limited() {
    let app = spawn_app_with(|c| c.login_limits.per_ip = 6).await;
    let client = app.client();
    for i in 0..6 {
        let resp = app.login(&client, &format!("guess{i}@acme.test"), "password guess").await;
        assert_eq!(resp.status(), 401);
    }
    let resp = app.login(&client, "guess99@acme.test", "password guess").await;
    assert_eq!(resp.status(), 429);
}

/// Parallel wrong guesses are counted before any password is checked: of 60 sent at once, only
/// the few free ones reach the check; the rest are refused without it.
#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_limit() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    app.create_user(company, "tech@acme.test", Role::Technician).await;
    let guesses = (0..60).map(|i| {
        let (app_url, client) = (app.url("/api/auth/login"), app.client());
        async move {
            client
                .post(app_url)
                .json(&json!({ "email": "tech@acme.test", "password": format!("wrong guess number {i}") }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 5, "{checked} guesses reached the password check: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
}

/// A stranger's failures slow down unknown clients, but the owner on a device that signed in
/// before still gets in with the right password.
#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_of_a_device_that_signed_in_before() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    app.create_user(company, "owner@acme.test", Role::Manager).await;
    let owner = app.client();
    assert_eq!(app.login(&owner, "owner@acme.test", PASSWORD).await.status(), 200);
    let stranger = app.client();
    for _ in 0..25 {
        let status = app.login(&stranger, "owner@acme.test", "a wrong guess!!").await.status();
        assert!(status == 401 || status == 429);
    }
    assert_eq!(app.login(&stranger, "owner@acme.test", PASSWORD).await.status(), 429, "the stranger waits");
    let new_device = app.client();
    assert_eq!(
        app.login(&new_device, "owner@acme.test", PASSWORD).await.status(),
        429,
        "so does any unknown client"
    );
    assert_eq!(
        app.login(&owner, "owner@acme.test", PASSWORD).await.status(),
        200,
        "the owner's device is not"
    );
}

/// Behind a trusted proxy the client is the forwarded address: one address's junk does not
/// lock out everyone else behind the same proxy; from anyone else the header is ignored.
#[tokio::test]
async fn the_forwarded_address_is_believed_only_from_a_trusted_proxy() {
    let junk = |app: &crate::helpers::TestApp, from: &'static str| {
        let (url, client) = (app.url("/api/auth/login"), app.client());
        async move {
            client
                .post(url)
                .header("x-forwarded-for", from)
                .json(&json!({ "email": format!("nobody{}@acme.test", uuid::Uuid::now_v7().simple()), "password": "junk junk junk" }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let behind_proxy = spawn_app_with(|c| {
        c.login_limits.per_ip = 6;
        c.trusted_proxies = vec![server::auth::client_ip::IpRange::parse("127.0.0.1").unwrap()];
    })
    .await;
    for _ in 0..6 {
        assert_eq!(junk(&behind_proxy, "198.51.100.66").await, 401);
    }
    assert_eq!(junk(&behind_proxy, "198.51.100.66").await, 429, "that address waits");
    assert_eq!(junk(&behind_proxy, "203.0.113.7").await, 401, "another address behind the proxy does not");

    let direct = spawn_app_with(|c| c.login_limits.per_ip = 6).await;
    for i in 0..6 {
        assert_eq!(junk(&direct, ["198.51.100.1", "198.51.100.2"][i % 2]).await, 401);
    }
    assert_eq!(junk(&direct, "203.0.113.7").await, 429, "a forged header does not pick a new address");
}
