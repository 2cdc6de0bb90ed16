use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_while_the_process_is_up() {
    let app = spawn_app().await;
    let resp = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn readyz_is_ready_once_migrated() {
    let app = spawn_app().await;
    assert!(app.migrations_applied().await);
    let resp = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn readyz_is_unavailable_when_a_migration_is_missing() {
    let app = spawn_app().await;
    sqlx::query("delete from _sqlx_migrations").execute(&app.pool).await.unwrap();
    let resp = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["reason"].as_str().unwrap().contains("migrations"));
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.pool.close().await;
    let resp = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(resp.status(), 503);
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s() {
    let app = spawn_app().await;
    let resp = reqwest::get(app.url("/api/nope")).await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(crate::helpers::error_message(resp).await.contains("not found"));
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let doc: serde_json::Value =
        reqwest::get(app.url("/api/openapi.json")).await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/auth/login",
        "/api/users",
        "/api/sync/push",
        "/api/sync/pull",
        "/api/sync/events",
        "/api/blobs/{sha256}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    for schema in ["PushRequest", "PullResponse", "PatchOp", "OptionUpsert", "ErrorBody"] {
        assert!(doc["components"]["schemas"].get(schema).is_some(), "{schema} is documented");
    }
}
