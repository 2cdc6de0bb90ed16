use crate::{helpers::spawn_app, sync_fixtures::*};
use app::domain::Role;
use std::time::Duration;

/// Reads server-sent events until one named `poke` arrives; returns its data.
async fn next_poke(resp: &mut reqwest::Response, buffer: &mut String) -> String {
    let read = async {
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                if event.contains("event: poke") {
                    let data = event.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or_default();
                    return data.to_string();
                }
                continue;
            }
            let chunk = resp.chunk().await.unwrap().expect("the stream stays open");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    // A guard against hanging forever, not a speed assertion.
    tokio::time::timeout(Duration::from_secs(30), read).await.expect("a poke arrives")
}

#[tokio::test]
async fn a_push_pokes_the_companys_open_event_streams_only() {
    let app = spawn_app().await;
    let acme = Company::new(&app, "Acme Air").await;
    let rival = Company::new(&app, "Rival").await;
    let mut tech = acme.device(&app, "t@acme.test", Role::Technician).await;
    let mut outsider = rival.device(&app, "t@rival.test", Role::Technician).await;
    let manager = acme.device(&app, "m@acme.test", Role::Manager).await;

    let mut stream = manager.http.get(app.url("/api/sync/events")).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut buffer = String::new();
    assert_eq!(next_poke(&mut stream, &mut buffer).await, "connected");

    // The rival pushes first, then Acme: the Acme stream's next poke is Acme's version.
    outsider.mutate(customer("Theirs").1).await;
    outsider.push_all().await.unwrap();
    tech.mutate(customer("Ours").1).await;
    tech.push_all().await.unwrap();
    let acme_version: i64 = sqlx::query_scalar("select max(version) from mutation_log where company_id = $1")
        .bind(acme.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(next_poke(&mut stream, &mut buffer).await, acme_version.to_string());

    assert_eq!(app.client().get(app.url("/api/sync/events")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn open_event_streams_do_not_hold_up_a_graceful_shutdown() {
    let mut app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let mut stream = manager.http.get(app.url("/api/sync/events")).send().await.unwrap();
    let mut buffer = String::new();
    assert_eq!(next_poke(&mut stream, &mut buffer).await, "connected");
    app.stop.stop();
    let serving = app.serving.take().unwrap();
    let finished = tokio::time::timeout(Duration::from_secs(20), serving).await;
    assert!(finished.is_ok(), "the server stopped although an event stream was open");
}

#[tokio::test]
async fn signing_out_ends_the_sessions_open_event_streams() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let mut stream = manager.http.get(app.url("/api/sync/events")).send().await.unwrap();
    let mut buffer = String::new();
    assert_eq!(next_poke(&mut stream, &mut buffer).await, "connected");
    let out = manager.http.post(app.url("/api/auth/logout")).send().await.unwrap();
    assert_eq!(out.status(), 204);
    // A guard against hanging, not a speed assertion: the stream ends instead of waiting on.
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            assert!(!String::from_utf8_lossy(&chunk).contains("data: 1"), "no poke after sign-out");
        }
    })
    .await;
    assert!(ended.is_ok(), "the event stream outlived its session");
}
