use crate::helpers::spawn_app;
use app::domain::Role;
use reqwest::header;

#[tokio::test]
async fn pages_behind_sign_in_redirect_to_login() {
    let app = spawn_app().await;
    let client = app.client();
    for path in ["/", "/today", "/queue", "/dashboard", "/team", "/sync"] {
        let resp = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{path}");
        assert_eq!(resp.headers()[header::LOCATION], "/login", "{path}");
    }
    let login = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let html = login.text().await.unwrap();
    assert!(html.contains("action=\"/api/auth/login\""), "the sign-in form works without wasm");
    assert!(html.contains("manifest.webmanifest"));
}

#[tokio::test]
async fn the_root_sends_each_role_to_its_first_tab() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    for (email, role, home) in [
        ("t@acme.test", Role::Technician, "/today"),
        ("r@acme.test", Role::SalesRep, "/queue"),
        ("m@acme.test", Role::Manager, "/dashboard"),
    ] {
        let (client, _) = app.signed_in(company, email, role).await;
        let resp = client.get(app.url("/")).send().await.unwrap();
        assert_eq!(resp.status(), 303);
        assert_eq!(resp.headers()[header::LOCATION], home);
        let page = client.get(app.url(home)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()[header::CACHE_CONTROL], "private, no-cache");
        let html = page.text().await.unwrap();
        assert!(html.contains("Acme Air"), "{role:?}: the shell names the company");
        assert!(html.contains("name=\"fc-user\""), "the person travels with the page for offline starts");
        // The screen paints before its code is asked for (ADR 0068): no preload in the head, the
        // bundle imported at the first idle moment.
        assert!(!html.contains("rel=\"preload\" href=\"/pkg/"), "{role:?}: no code preloaded");
        assert!(!html.contains("rel=\"modulepreload\""), "{role:?}: no code preloaded");
        assert!(html.contains("requestIdleCallback(go"), "{role:?}: hydrated when idle");
        assert!(html.contains("import('/pkg/fieldclose.js')"), "{role:?}: the bundle is imported");
    }
}

#[tokio::test]
async fn another_roles_tab_explains_instead_of_rendering() {
    let app = spawn_app().await;
    let company = app.create_company("Acme Air").await;
    let (client, _) = app.signed_in(company, "t@acme.test", Role::Technician).await;
    let html = client.get(app.url("/team")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Not your tab"));
    assert!(!html.contains("Add a person"));
}

#[tokio::test]
async fn unknown_pages_are_404() {
    let app = spawn_app().await;
    let resp = app.client().get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}
