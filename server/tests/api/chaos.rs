//! Fault tests against the real server process (`make chaos`). Devices write and sync through a
//! proxy that cuts connections at random moments (before the request is whole, after the commit
//! but before the answer, while idle in the pool), while the server is killed with SIGKILL and
//! started again, over and over. Then the faults stop, every device drains, and the audit is the
//! simulation's: every mutation a device made is in the log exactly once with its content,
//! nothing is left pending, and every device holds exactly what a fresh device of the same person
//! pulls — so no acknowledged write was lost and no write was applied twice.
//!
//! It needs the release binary (`FIELDCLOSE_BIN`), so `cargo test` skips it; `make chaos` runs it.
//! `CHAOS_SECONDS` sets how long the faults last (20 s unless told), `CHAOS_SEED` the seed.

use crate::{
    device::Device,
    helpers::{base_database_url, with_database},
    sync_fixtures::*,
};
use app::sync::{
    mutation::*,
    protocol::{Entity, MutationEnvelope},
};
use chrono::Utc;
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use reqwest::Client;
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

/// The demo company's field people: `server seed-demo` creates them with one known password.
pub(crate) const PEOPLE: &[&str] = &[
    "tech1@demo.fieldclose.test",
    "tech2@demo.fieldclose.test",
    "tech3@demo.fieldclose.test",
    "tech4@demo.fieldclose.test",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the release server binary in FIELDCLOSE_BIN: run it with `make chaos`"]
async fn writes_sync_exactly_once_through_kill_9_and_cut_connections() {
    let seconds = env_number("CHAOS_SECONDS", 20);
    let seed = env_number("CHAOS_SEED", Utc::now().timestamp_subsec_nanos() as u64);
    eprintln!("chaos: seed {seed} (replay: CHAOS_SEED={seed}), {seconds} s of faults");
    let mut rng = StdRng::seed_from_u64(seed);

    let db = Database::create().await;
    let mut server = ServerProcess::new(&db);
    server.seed_demo();
    server.start().await;
    let cutter = Arc::new(Cutter::default());
    let proxy_port = start_proxy(server.port, cutter.clone()).await;

    // Sign in directly (the sign-in throttle is not under test), then sync through the proxy.
    let mut devices = vec![];
    for (i, email) in PEOPLE.iter().enumerate() {
        // Half the devices open a connection per request, so the proxy cuts requests in flight
        // often; the others keep connections alive, so cuts also hit idle pooled ones.
        let (http, user_id) = sign_in(server.port, email, i % 2 == 0).await;
        let mut device = Device::at(format!("http://127.0.0.1:{proxy_port}"), http, user_id).await;
        device.pull_all(None).await.expect("the first pull, before any fault");
        devices.push(Worker::new(device, StdRng::seed_from_u64(rng.gen()), 0..40));
    }

    cutter.on.store(true, Relaxed);
    let until = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = devices.into_iter().map(|w| tokio::spawn(w.run_until(until))).collect();
    let mut kills = 0;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1500))).await;
        server.kill();
        kills += 1;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..300))).await;
        server.start().await;
    }
    let mut workers: Vec<Worker> = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .map(|r| r.expect("a device task panicked"))
        .collect();
    cutter.on.store(false, Relaxed);

    drain(&mut workers).await;

    let made: usize = workers.iter().map(|w| w.made.len()).sum();
    let failures: u64 = workers.iter().map(Worker::failed).sum();
    let cuts = cutter.cuts.load(Relaxed);
    eprintln!("chaos: {made} writes, {kills} kills, {cuts} cut connections, {failures} failed syncs");
    // A run the faults never touched proves nothing.
    assert!(kills >= 3 && cuts >= 10 && failures >= 10, "the run was too tame");
    assert!(made >= 100, "too few writes were made: {made}");

    audit(&db, &workers).await;
    server.kill();
    db.drop_it().await;
}

/// The faults are over: every device pushes what it holds and pulls until it is current.
pub(crate) async fn drain(workers: &mut [Worker]) {
    for w in workers.iter_mut() {
        for attempt in 0.. {
            let drained = w.device.push_all().await.is_ok() && w.device.pull_all(None).await.is_ok();
            if drained && w.device.engine.pending_count() == 0 {
                break;
            }
            assert!(attempt < 20, "a device could not drain after the faults stopped");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

pub(crate) fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One device writing and syncing on its own timetable, as people do.
pub(crate) struct Worker {
    pub device: Device,
    /// Every mutation this device queued, in order, for the audit.
    pub made: Vec<MutationEnvelope>,
    /// The consultations this device created: the ones it goes on to work.
    consultations: Vec<Uuid>,
    rng: StdRng,
    /// Milliseconds between one sync and the next writes.
    pause_ms: std::ops::Range<u64>,
    /// Syncs that failed, by what a device saw: "network" or the HTTP status.
    pub failures: std::collections::BTreeMap<String, u64>,
}

impl Worker {
    pub fn new(device: Device, rng: StdRng, pause_ms: std::ops::Range<u64>) -> Self {
        Self { device, made: vec![], consultations: vec![], rng, pause_ms, failures: Default::default() }
    }

    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    pub async fn run_until(mut self, until: Instant) -> Self {
        while Instant::now() < until {
            for _ in 0..self.rng.gen_range(1..4) {
                self.write().await;
            }
            if self.rng.gen_bool(0.05) {
                self.device.restart().await; // the tab was killed between its writes and a push
            }
            let synced = match self.device.push_all().await {
                Ok(()) => self.device.pull_all(Some(100)).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = synced {
                // Only what a fault explains, and what a device retries by itself: no answer, or
                // a 502–504 from a balancer or a server that is starting or leaving. A 500 or a
                // 4xx here is a defect.
                let kind = match e {
                    crate::device::SendError::Network(_) => "network".to_string(),
                    crate::device::SendError::Status(status @ 502..=504, _) => status.to_string(),
                    other => panic!("a sync failed in a way no fault explains: {other:?}"),
                };
                *self.failures.entry(kind).or_default() += 1;
            }
            tokio::time::sleep(Duration::from_millis(self.rng.gen_range(self.pause_ms.clone()))).await;
        }
        self
    }

    async fn write(&mut self) {
        let target = self.consultations.choose(&mut self.rng).copied();
        match (self.rng.gen_range(0..6), target) {
            (0, _) | (_, None) => {
                let (customer_id, m) = customer(&format!("Chaos {}", self.rng.gen::<u16>()));
                self.queue(m).await;
                let (lead_id, m) = lead(customer_id);
                self.queue(m).await;
                let (id, m) = consultation(lead_id, None);
                self.queue(m).await;
                self.consultations.push(id);
            }
            (1..=2, Some(k)) => self.queue(activity(k).1).await,
            (3..=4, Some(k)) => {
                let base = self.device.revision_of(Entity::Consultation, k);
                let notes = Value::String(format!("notes {}", self.rng.gen::<u32>()));
                self.queue(update(k, base, json!({ "notes": notes }))).await;
            }
            (_, Some(_)) => {
                let entry = TimeEntryLog {
                    id: Uuid::now_v7(),
                    category: "driving".into(),
                    started_at: Utc::now(),
                    ended_at: None,
                };
                self.queue(Mutation::TimeEntryLog(entry)).await
            }
        }
    }

    async fn queue(&mut self, m: Mutation) {
        self.device.mutate(m).await;
        self.made.push(self.device.engine.state().pending.last().unwrap().clone());
    }
}

/// Exactly once, nothing pending, converged.
pub(crate) async fn audit(db: &Database, workers: &[Worker]) {
    let pool = PgPool::connect(&db.url).await.unwrap();
    for w in workers {
        let client_id = w.device.engine.client_id();
        assert_eq!(w.device.engine.pending_count(), 0, "{client_id}: outbox drained");
        // A device killed before its push lost nothing it had stored: every write is there once.
        for (id, name, _, status) in assert_logged_once(&pool, client_id, &w.made).await {
            assert_eq!(status, "applied", "{client_id}: write {id} ({name}) was not applied");
        }
        // Each activity and time entry logged once is one row: nothing applied twice.
        for (table, name) in [("activities", "activity.log"), ("time_entries", "time_entry.log")] {
            let ids: Vec<Uuid> = w
                .made
                .iter()
                .filter(|m| m.name == name)
                .map(|m| m.args["id"].as_str().unwrap().parse().unwrap())
                .collect();
            let rows: i64 = sqlx::query_scalar(&format!("select count(*) from {table} where id = any($1)"))
                .bind(&ids)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(rows as usize, ids.len(), "{client_id}: {table} rows, one per write");
        }
        // Converged: a fresh device of the same person pulls exactly what this one holds, so no
        // write was acknowledged (or versioned) and then missed by a pull.
        let mut fresh = Device::at(w.device.base.clone(), w.device.http.clone(), w.device.user_id).await;
        fresh.pull_all(None).await.unwrap();
        assert_eq!(w.device.rows(), fresh.rows(), "{client_id} converged");
    }
}

/// A database of the run's own, dropped at the end.
pub(crate) struct Database {
    pub url: String,
    admin_url: String,
    name: String,
}

impl Database {
    pub async fn create() -> Self {
        let base = base_database_url();
        let name = format!("fc_chaos_{}", Uuid::now_v7().simple());
        let db = Self { url: with_database(&base, &name), admin_url: with_database(&base, "postgres"), name };
        let mut admin = PgConnection::connect(&db.admin_url).await.unwrap();
        admin.execute(format!("create database {}", db.name).as_str()).await.unwrap();
        db
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn drop_it(self) {
        let mut admin = PgConnection::connect(&self.admin_url).await.unwrap();
        admin.execute(format!("drop database if exists {} with (force)", self.name).as_str()).await.unwrap();
    }
}

/// The release binary as a child process on a fixed port.
pub(crate) struct ServerProcess {
    bin: String,
    pub port: u16,
    env: Vec<(&'static str, String)>,
    log: std::path::PathBuf,
    child: Option<Child>,
}

impl ServerProcess {
    pub fn new(db: &Database) -> Self {
        let bin = std::env::var("FIELDCLOSE_BIN").expect("FIELDCLOSE_BIN names the release server binary");
        let port = crate::helpers::free_port();
        let dir = std::env::temp_dir().join(&db.name);
        std::fs::create_dir_all(&dir).unwrap();
        let env = vec![
            ("DATABASE_URL", db.url.clone()),
            ("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")),
            ("LEPTOS_SITE_ROOT", dir.join("site").to_string_lossy().into_owned()),
            ("FIELDCLOSE_BLOB_DIR", dir.join("blobs").to_string_lossy().into_owned()),
            ("RUST_LOG", "warn".into()),
        ];
        Self { bin, port, env, log: dir.join("server.log"), child: None }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.envs(self.env.iter().map(|(k, v)| (*k, v.as_str())));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        cmd.stdout(Stdio::null()).stderr(log);
        cmd
    }

    /// Sets one more variable for the process (before it starts).
    pub fn env(mut self, name: &'static str, value: &str) -> Self {
        self.env.push((name, value.to_string()));
        self
    }

    pub fn seed_demo(&self) {
        let status = self.command().arg("seed-demo").status().unwrap();
        assert!(status.success(), "seed-demo failed: see {}", self.log.display());
    }

    /// Starts the server and waits until it is ready; a process that exits before it is ready
    /// (the port still held by the killed one, say) is started again.
    pub async fn start(&mut self) {
        let http = Client::new();
        let ready = format!("http://127.0.0.1:{}/readyz", self.port);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let mut child = self.command().spawn().unwrap();
            loop {
                if child.try_wait().unwrap().is_some() {
                    break; // exited: try again
                }
                if let Ok(resp) = http.get(&ready).send().await {
                    if resp.status() == 200 {
                        self.child = Some(child);
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not start again within 60 s: see {}", self.log.display());
    }

    /// SIGTERM, as a rolling deploy stops a process, and waits until it has left (drained).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
            assert!(status.success());
            let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
            assert!(status.success(), "a process leaving on SIGTERM exits 0, not {status}");
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap(); // SIGKILL: no shutdown, no flush, open transactions cut
            child.wait().unwrap();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether the proxy cuts connections now, and how many it has cut.
#[derive(Default)]
struct Cutter {
    on: AtomicBool,
    cuts: AtomicU64,
}

/// A TCP proxy in front of the server that, while on, cuts a third of its connections after a
/// random 0–40 ms: sometimes before the request is whole, sometimes after the server committed
/// but before the answer arrived, sometimes while the connection idles in the client's pool.
async fn start_proxy(upstream: u16, cutter: Arc<Cutter>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut rng = StdRng::seed_from_u64(u64::from(port));
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else { continue };
            let cut_after = (cutter.on.load(Relaxed) && rng.gen_bool(0.33))
                .then(|| Duration::from_micros(rng.gen_range(0..40_000)));
            let cutter = cutter.clone();
            tokio::spawn(async move {
                // While the server is down the connection is refused: the client sees it closed.
                let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", upstream)).await else { return };
                let relay = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                match cut_after {
                    Some(after) => {
                        if tokio::time::timeout(after, relay).await.is_err() {
                            cutter.cuts.fetch_add(1, Relaxed);
                        }
                    }
                    None => {
                        let _ = relay.await;
                    }
                }
            });
        }
    });
    port
}

pub(crate) async fn sign_in(port: u16, email: &str, pooled: bool) -> (Client, Uuid) {
    let builder = Client::builder().cookie_store(true).timeout(Duration::from_secs(15));
    let http = if pooled { builder } else { builder.pool_max_idle_per_host(0) }.build().unwrap();
    let resp = http
        .post(format!("http://127.0.0.1:{port}/api/auth/login"))
        .json(&json!({ "email": email, "password": server::demo::DEMO_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "demo sign-in of {email}");
    let me: Value = resp.json().await.unwrap();
    (http, me["user_id"].as_str().unwrap().parse().unwrap())
}
