//! The one-writer lock (server/src/sync/clock.rs): losing it is noticed at once, writes are
//! refused with 503 + Retry-After until it is back, and once another process holds it no write
//! of this one is ever acknowledged again; this one stops.

use crate::{helpers::spawn_app, sync_fixtures::*};
use app::{domain::Role, sync::protocol::*};
use chrono::Utc;
use serde_json::json;
use sqlx::{Connection, PgConnection};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The writer lock's key, as `pg_locks` shows an advisory bigint key: high and low 32 bits.
const WRITER_LOCK: i64 = 0x6669_656c_6463_6c6f;
const FENCE_LOCK: i64 = 0x0066_6366_656e_6365;

async fn lock_holder(conn: &mut PgConnection) -> Option<i32> {
    sqlx::query_scalar(
        "select pid from pg_locks where locktype = 'advisory' and granted and objsubid = 1
           and classid = ($1 >> 32)::oid and objid = ($1 & 4294967295)::oid
           and database = (select oid from pg_database where datname = current_database())",
    )
    .bind(WRITER_LOCK)
    .fetch_optional(conn)
    .await
    .unwrap()
}

fn push_one(client_id: Uuid, id: u64, customer: Uuid) -> serde_json::Value {
    json!({ "client_id": client_id, "schema_version": SCHEMA_VERSION, "mutations": [
        { "id": id, "name": "customer.create", "args": { "id": customer, "name": "Lock Test" }, "client_ts": Utc::now() }
    ] })
}

#[tokio::test]
async fn a_terminated_lock_connection_is_taken_back_and_writes_resume() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut admin = PgConnection::connect(&app.database_url()).await.unwrap();
    let first = lock_holder(&mut admin).await.expect("the server holds the writer lock");
    let _: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&mut admin)
        .await
        .unwrap();

    let client_id = Uuid::now_v7();
    let customer = Uuid::now_v7();
    let started = Instant::now();
    let mut statuses = vec![];
    loop {
        let resp = tech
            .http
            .post(app.url("/api/sync/push"))
            .json(&push_one(client_id, 1, customer))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if status == 503 {
            assert!(resp.headers().contains_key("retry-after"), "a 503 says when to retry");
        }
        statuses.push(status);
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "while the lock is away a write is refused, never failed: {statuses:?}");
        assert!(started.elapsed() < Duration::from_secs(20), "the lock is never taken back: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = lock_holder(&mut admin).await.expect("the server holds the writer lock again");
    // Ready again soon after (not necessarily at once: the readiness check also asks the
    // database, whose pool is shared with every other test's load on this machine).
    let ready_since = Instant::now();
    loop {
        let resp = tech.http.get(app.url("/readyz")).send().await.unwrap();
        let status = resp.status();
        if status == 200 {
            break;
        }
        let body = resp.text().await.unwrap_or_default();
        assert!(ready_since.elapsed() < Duration::from_secs(10), "not ready again: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(again, first, "on a new connection");
    let stored: i64 = sqlx::query_scalar("select count(*) from customers where id = $1")
        .bind(customer)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn once_another_process_holds_the_lock_no_write_is_acknowledged_and_the_server_stops() {
    let mut app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let client_id = Uuid::now_v7();
    let before = tech
        .http
        .post(app.url("/api/sync/push"))
        .json(&push_one(client_id, 1, Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), 200);

    // Another writer: terminates the lock's connection and takes the lock in one go (it queues
    // for the lock before the server can take it back), then bumps the fence as a starting
    // server does.
    let mut other = PgConnection::connect(&app.database_url()).await.unwrap();
    let holder = lock_holder(&mut other).await.unwrap();
    sqlx::query(&format!(
        "do $$ begin perform pg_terminate_backend({holder}); perform pg_advisory_lock({WRITER_LOCK}); end $$"
    ))
    .execute(&mut other)
    .await
    .unwrap();
    let mut bump = other.begin().await.unwrap();
    sqlx::query("select pg_advisory_xact_lock($1)").bind(FENCE_LOCK).execute(&mut *bump).await.unwrap();
    sqlx::query("update sync_writer set epoch = epoch + 1").execute(&mut *bump).await.unwrap();
    bump.commit().await.unwrap();

    // From here on nothing this server is asked to write may be acknowledged. The device
    // resends its next mutation (2) until it is taken, as its outbox does; a later id would be
    // a gap, answered "nothing applied" without a write.
    let mut refused = vec![];
    for attempt in 1..=20 {
        let customer = Uuid::now_v7();
        match tech.http.post(app.url("/api/sync/push")).json(&push_one(client_id, 2, customer)).send().await {
            Ok(resp) => {
                assert_eq!(resp.status(), 503, "attempt {attempt} must be refused");
                refused.push(customer);
            }
            Err(_) => break, // the server has stopped listening
        }
    }
    // Nor is it ready for a load balancer, once its watchdog has seen the loss (or it has stopped).
    let mut ready = Some(200);
    for _ in 0..200 {
        ready = tech.http.get(app.url("/readyz")).send().await.ok().map(|r| r.status().as_u16());
        if ready != Some(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(ready, Some(200), "not ready without the writer lock");
    let stored: i64 = sqlx::query_scalar("select count(*) from customers where id = any($1)")
        .bind(&refused)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "no refused write was stored");
    let serving = app.serving.take().unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), serving).await.expect("the server stops");
    let error = ended.unwrap().expect_err("it stops with an error");
    assert!(error.to_string().contains("writer lock"), "{error}");
}

/// A commit the database answered with an error was rolled back: its version settles at once
/// instead of holding the company's pulls back for 30 s.
#[tokio::test]
async fn a_commit_known_to_have_failed_does_not_hold_pulls_back() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let ticket = app.clock.begin(co.id).await.unwrap();
    let version = ticket.version();
    assert_eq!(app.clock.watermark(co.id), version - 1, "held while in flight");
    let mut tx = app.pool.begin().await.unwrap();
    // A deferred constraint fails at the commit itself.
    sqlx::query("create temporary table t (k int unique deferrable initially deferred)")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("insert into t values (1), (1)").execute(&mut *tx).await.unwrap();
    let failed = ticket.commit(tx).await;
    assert!(failed.is_err(), "the commit fails");
    assert!(app.clock.watermark(co.id) >= version, "the version settled at once");
    assert!(!app.clock.awaiting_commit(co.id));
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
        // Every backend of this database but the admin's own, the writer lock's included.
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
        let push = manager
            .http
            .post(app.url("/api/sync/push"))
            .json(&push_one(Uuid::now_v7(), 1, Uuid::now_v7()))
            .send()
            .await
            .unwrap();
        assert!(matches!(push.status().as_u16(), 200 | 503), "round {round}, push: {}", push.status());
    }
}
