//! Several server processes over one database (`sync::clock`, ADR 0060): pushes spread over
//! them keep every pull exact and every write applied once, a writer that dies holds nobody
//! back, "pull now" reaches devices connected to another process, and a connection dropped under
//! a process is never a 500.

use crate::{helpers::spawn_app, sync_fixtures::*};
use app::{domain::Role, sync::protocol::*};
use chrono::Utc;
use serde_json::json;
use sqlx::{Connection, PgConnection};
use std::{collections::BTreeSet, time::Duration};
use uuid::Uuid;

/// A new client's first push, one new customer, to `url` (`/api/sync/push` of some process).
async fn push_one(http: &reqwest::Client, url: String) -> reqwest::Response {
    let body = json!({ "client_id": Uuid::now_v7(), "schema_version": SCHEMA_VERSION, "mutations": [
        { "id": 1, "name": "customer.create", "args": { "id": Uuid::now_v7(), "name": "Two Writers" }, "client_ts": Utc::now() }
    ] });
    http.post(url).json(&body).send().await.unwrap()
}

/// Invariants 1 and 5 with two writers: six devices push in small batches at once, each batch
/// to the other process than the last, while a manager pulls in small pages from both in turn.
/// Every row arrives once, no device keeps a write, and the server holds each exactly once.
#[tokio::test]
async fn pushes_spread_over_two_processes_reach_every_pull_exactly_once() {
    let app = spawn_app().await;
    let other = app.another_process().await;
    let co = Company::new(&app, "Acme Air").await;
    let (writers, expected) = co.technicians_with_customers(&app, 6, 25).await;
    let mut reader = co.device(&app, "m@acme.test", Role::Manager).await;
    let bases = [app.base.clone(), other.base.clone()];
    let handles: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(n, mut w)| {
            let bases = bases.clone();
            tokio::spawn(async move {
                let mut turn = n;
                while let Some(req) = w.engine.push_request(3) {
                    w.base = bases[turn % 2].clone();
                    turn += 1;
                    let resp = w.send_push(&req).await.unwrap();
                    w.engine.on_push_response(&resp).await.unwrap();
                }
                w
            })
        })
        .collect();
    let mut turn = 0;
    while !handles.iter().all(|h| h.is_finished()) {
        reader.base = bases[turn % 2].clone();
        turn += 1;
        reader.pull_all(Some(7)).await.unwrap();
    }
    for h in handles {
        let mut w = h.await.unwrap();
        w.pull_all(None).await.unwrap();
        assert_eq!(w.engine.pending_count(), 0, "every write was acknowledged and confirmed");
    }
    reader.base = bases[turn % 2].clone();
    reader.pull_all(Some(7)).await.unwrap();
    let got: BTreeSet<_> =
        reader.rows().keys().filter(|(e, _)| *e == Entity::Customer).map(|(_, id)| *id).collect();
    assert_eq!(got, expected, "every committed row reached the incremental reader");
    let stored: i64 = sqlx::query_scalar("select count(*) from customers where company_id = $1")
        .bind(co.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored as usize, expected.len(), "each write applied once");
}

/// A version stays in flight exactly while its transaction runs: a pull stops below it, and
/// once the writing connection dies (its process killed, say) Postgres rolls it back and the
/// company's pulls go on at once, in this process and in any other.
#[tokio::test]
async fn a_writer_that_dies_mid_transaction_holds_nobody_back() {
    let app = spawn_app().await;
    let other = app.another_process().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;

    let mut tx = app.pool.begin().await.unwrap();
    let ticket = app.clock.begin(co.id, &mut tx).await.unwrap();
    let version = ticket.version();
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(app.clock.watermark(co.id).await.unwrap(), version - 1, "held while in flight");

    // Another process's write, later, is held back too.
    let (quick, m) = customer("Quick");
    tech.mutate(m).await;
    tech.base = other.base.clone();
    tech.push_all().await.unwrap();
    let early = tech.pull_once(None).await.unwrap();
    assert!(early.cookie.version < version, "the cookie stops below the version in flight");
    assert!(!tech.has(Entity::Customer, quick));

    // The writer's connection dies with its transaction open.
    let mut admin = PgConnection::connect(&app.database_url()).await.unwrap();
    let _: bool = sqlx::query_scalar("select pg_terminate_backend($1, 5000)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    drop(tx); // its connection is gone: the pool discards it
    drop(ticket);
    assert!(app.clock.watermark(co.id).await.unwrap() >= version, "no longer held");
    tech.pull_all(None).await.unwrap();
    assert!(tech.has(Entity::Customer, quick), "the later write arrives");
    assert_eq!(tech.engine.pending_count(), 0);
}

/// A commit the database refused was rolled back: its version holds nothing back afterwards.
#[tokio::test]
async fn a_commit_known_to_have_failed_holds_nothing_back() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tx = app.pool.begin().await.unwrap();
    let ticket = app.clock.begin(co.id, &mut tx).await.unwrap();
    let version = ticket.version();
    // A deferred constraint fails at the commit itself.
    sqlx::query("create temporary table t (k int unique deferrable initially deferred)")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("insert into t values (1), (1)").execute(&mut *tx).await.unwrap();
    assert!(ticket.commit(tx).await.is_err(), "the commit fails");
    // The error reaches the client a moment before the backend has ended the transaction.
    let settled = tokio::time::timeout(Duration::from_secs(5), async {
        while app.clock.watermark(co.id).await.unwrap() < version {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(settled.is_ok(), "the version holds nothing back");
}

/// "Pull now" crosses processes: a device listening on one process hears of a push that
/// another process committed.
#[tokio::test]
async fn a_push_to_one_process_pokes_devices_connected_to_another() {
    let app = spawn_app().await;
    let other = app.another_process().await;
    let co = Company::new(&app, "Acme Air").await;
    let listener = co.device(&app, "m@acme.test", Role::Manager).await;
    let writer = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut stream = listener.http.get(other.url("/api/sync/events")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("connected"));

    let resp = push_one(&writer.http, app.url("/api/sync/push")).await;
    assert_eq!(resp.status(), 200);
    let poked = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            let text = String::from_utf8_lossy(&chunk).into_owned();
            if text.lines().any(|l| l.strip_prefix("data: ").is_some_and(|d| d.parse::<i64>().is_ok())) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(poked, Ok(true), "the other process's device was poked");
}

/// A database connection dropped under the server (its backend terminated) is never a 500: the
/// request either succeeds on a fresh connection or is a 503 with Retry-After.
#[tokio::test]
async fn dropped_database_connections_are_never_a_500() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let mut admin = PgConnection::connect(&app.database_url()).await.unwrap();
    for round in 0..5 {
        // Every backend of this database but the admin's own, the clock's and the listener's included.
        sqlx::query(
            "select pg_terminate_backend(pid) from pg_stat_activity
             where datname = current_database() and pid <> pg_backend_pid()",
        )
        .execute(&mut admin)
        .await
        .unwrap();
        for path in ["/api/users", "/api/me", "/api/analytics/settings"] {
            let resp = manager.http.get(app.url(path)).send().await.unwrap();
            let status = resp.status().as_u16();
            assert!(status == 200 || status == 503, "round {round}, {path}: {status}");
            if status == 503 {
                assert!(resp.headers().contains_key("retry-after"));
            }
        }
        let push = push_one(&manager.http, app.url("/api/sync/push")).await;
        assert!(matches!(push.status().as_u16(), 200 | 503), "round {round}, push: {}", push.status());
    }
}

/// What one process caches for a few seconds, a change through any process forgets everywhere
/// (`caches`): another process shows a company's new name, and turns a signed-out session away,
/// well before its own cache would have expired (`session_cache::FRESH_FOR`, 10 s).
#[tokio::test]
async fn a_settings_change_or_a_sign_out_through_one_process_is_seen_by_every_other() {
    let app = spawn_app().await;
    let other = app.another_process().await;
    let acme = app.create_company("Acme").await;
    let (manager, _) = app.signed_in(acme, "boss@acme.test", Role::Manager).await;
    app.create_user(acme, "tech@acme.test", Role::Technician).await;
    // The technician's session cookie, sent by hand: a device that kept it after signing out.
    let plain = reqwest::Client::new();
    let login = app.login(&plain, "tech@acme.test", crate::helpers::PASSWORD).await;
    let cookie = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(String::from))
        .find(|c| c.starts_with("fc_session="))
        .expect("a session cookie");
    let tech_name_at = |base: String| {
        let (plain, cookie) = (plain.clone(), cookie.clone());
        async move {
            let resp = plain.get(format!("{base}/api/me")).header("cookie", cookie).send().await.unwrap();
            match resp.status().as_u16() {
                200 => {
                    resp.json::<serde_json::Value>().await.unwrap()["company_name"].as_str().map(String::from)
                }
                401 => None,
                other => panic!("/api/me answered {other}"),
            }
        }
    };
    // The other process looks the session up now, and keeps it.
    assert_eq!(tech_name_at(other.base.clone()).await.as_deref(), Some("Acme"));

    let profile = json!({ "name": "Acme Heating", "trades": ["hvac"], "time_zone": "America/Denver" });
    let resp = manager.put(app.url("/api/company")).json(&profile).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        within_a_few_seconds(|| async {
            tech_name_at(other.base.clone()).await.as_deref() == Some("Acme Heating")
        })
        .await,
        "the other process forgot the company's sessions"
    );

    let resp = plain.post(app.url("/api/auth/logout")).header("cookie", cookie.clone()).send().await.unwrap();
    assert!(resp.status().is_success() || resp.status().is_redirection(), "{}", resp.status());
    assert!(
        within_a_few_seconds(|| async { tech_name_at(other.base.clone()).await.is_none() }).await,
        "the other process forgot the signed-out session"
    );
    let me = manager.get(other.url("/api/me")).send().await.unwrap();
    assert_eq!(me.status(), 200, "the manager's session is untouched");
}

/// Polls `check` for up to 5 s (half the caches' own expiry): true once it holds.
async fn within_a_few_seconds<F, Fut>(check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < until {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Invariants 7 and 8 with two writers: a technician and a manager on different processes edit
/// the same consultation from the same version. Per field, the later arrival wins everywhere and
/// the overwritten value is recorded; a second technician, pulling from either process, never
/// receives the first technician's rows.
#[tokio::test]
async fn last_writer_wins_per_field_and_scope_hold_across_processes() {
    let app = spawn_app().await;
    let other = app.another_process().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let mut stranger = co.device(&app, "t2@acme.test", Role::Technician).await;
    manager.base = other.base.clone();
    let (_, _, k) = new_consultation(&mut tech).await;
    tech.sync().await;
    manager.pull_all(None).await.unwrap();
    let base = tech.revision_of(Entity::Consultation, k);

    tech.mutate(update(k, base, json!({ "problem": "Furnace short-cycles", "notes": "tech note" }))).await;
    manager.mutate(update(k, base, json!({ "notes": "manager note" }))).await;
    tech.push_all().await.unwrap();
    manager.push_all().await.unwrap();
    tech.pull_all(None).await.unwrap();
    manager.pull_all(None).await.unwrap();
    for d in [&tech, &manager] {
        let row = d.row(Entity::Consultation, k).unwrap();
        assert_eq!(
            (row["notes"].clone(), row["problem"].clone()),
            (json!("manager note"), json!("Furnace short-cycles"))
        );
    }
    let conflicts: Vec<(String, serde_json::Value)> =
        sqlx::query_as("select field, overwritten_value from conflicts").fetch_all(&app.pool).await.unwrap();
    assert_eq!(conflicts, vec![("notes".into(), json!("tech note"))]);

    for base in [app.base.clone(), other.base.clone()] {
        stranger.base = base;
        stranger.pull_all(None).await.unwrap();
        assert!(!stranger.has(Entity::Consultation, k), "another technician's consultation is not theirs");
    }
}
