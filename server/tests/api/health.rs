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

/// A rolling deploy's SIGTERM: `/readyz` answers 503 at once while the process still serves
/// (the balancer's notice), then the process stops accepting and exits cleanly.
#[tokio::test]
async fn a_draining_process_turns_unready_first_and_then_stops_cleanly() {
    let mut app = crate::helpers::spawn_app_with(|c| {
        c.drain = server::config::Drain {
            notice: std::time::Duration::from_secs(2),
            finish: std::time::Duration::from_secs(10),
        }
    })
    .await;
    assert_eq!(reqwest::get(app.url("/readyz")).await.unwrap().status(), 200);
    app.stop.drain();
    let unready = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        loop {
            if reqwest::get(app.url("/readyz")).await.unwrap().status() == 503 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(unready.is_ok(), "/readyz turns 503 during the notice");
    let body: serde_json::Value = reqwest::get(app.url("/readyz")).await.unwrap().json().await.unwrap();
    assert_eq!(body["status"], "draining");
    // Still serving meanwhile.
    assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), 200);
    let serving = app.serving.take().unwrap();
    let ended =
        tokio::time::timeout(std::time::Duration::from_secs(20), serving).await.expect("the process stops");
    assert!(ended.unwrap().is_ok(), "and exits cleanly");
    assert!(reqwest::get(app.url("/healthz")).await.is_err(), "no longer accepting");
}

/// Several processes starting at once over a database that does not exist yet (the first deploy
/// of several): each creates it or finds it just created, and the migrations run once.
#[tokio::test]
async fn processes_starting_together_on_a_new_database_all_start() {
    use crate::helpers::{base_database_url, with_database};
    use sqlx::{Connection, Executor};
    let name = format!("fc_test_{}", uuid::Uuid::now_v7().simple());
    let url = with_database(&base_database_url(), &name);
    let started = futures_util::future::join_all((0..3).map(|_| server::db::connect_and_migrate(&url))).await;
    for pool in started {
        let pool = pool.expect("each process starts");
        assert!(server::db::migrations_applied(&pool).await.unwrap());
        pool.close().await;
    }
    let mut admin =
        sqlx::PgConnection::connect(&with_database(&base_database_url(), "postgres")).await.unwrap();
    admin.execute(format!("drop database {name} with (force)").as_str()).await.unwrap();
}
