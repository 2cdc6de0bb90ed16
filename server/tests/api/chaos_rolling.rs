//! A rolling restart under load (`make chaos`): three server processes over one database behind
//! nginx (`scripts/balancer.sh`), and 200 devices writing and syncing through it while each
//! process in turn leaves on SIGTERM (drains, exits 0) and starts again, and then one is killed
//! with SIGKILL. The audit is the chaos test's: every write a device made is applied exactly once,
//! nothing is left pending, and every device holds exactly what a fresh device of its person pulls.
//! No sync may fail in a way a device would not retry by itself (a 4xx, a 500).
//!
//! `ROLLING_SECONDS` (60) sets how long the load lasts, `ROLLING_DEVICES` (200) how many devices.

use crate::{
    chaos::{audit, drain, env_number, sign_in, Database, ServerProcess, Worker, PEOPLE},
    device::Device,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the release server binary in FIELDCLOSE_BIN and nginx: run it with `make chaos`"]
async fn chaos_rolling_restart_of_three_processes_behind_nginx_loses_and_repeats_nothing() {
    let seconds = env_number("ROLLING_SECONDS", 60);
    let count = env_number("ROLLING_DEVICES", 200) as usize;
    let seed = env_number("CHAOS_SEED", chrono::Utc::now().timestamp_subsec_nanos() as u64);
    eprintln!("rolling: seed {seed}, {count} devices, {seconds} s");
    let mut rng = StdRng::seed_from_u64(seed);

    let db = Database::create().await;
    let mut servers: Vec<ServerProcess> =
        (0..3).map(|_| ServerProcess::new(&db).env("FIELDCLOSE_DRAIN_NOTICE_SECONDS", "2")).collect();
    servers[0].seed_demo();
    for server in servers.iter_mut() {
        server.start().await;
    }
    let balancer = Balancer::start(&db, servers.iter().map(|s| s.port).collect()).await;
    let base = format!("http://127.0.0.1:{}", balancer.port);

    // One session per person, shared by that person's devices (each its own client id).
    let mut people = vec![];
    for email in PEOPLE {
        people.push(sign_in(servers[0].port, email, true).await);
    }
    let mut workers = vec![];
    for n in 0..count {
        let (http, user_id) = people[n % people.len()].clone();
        let mut device = Device::at(base.clone(), http, user_id).await;
        device.pull_all(None).await.expect("the first pull, before any restart");
        workers.push(Worker::new(device, StdRng::seed_from_u64(rng.gen()), 250..1000));
    }

    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let running: Vec<_> = workers.into_iter().map(|w| tokio::spawn(w.run_until(until))).collect();
    // Each process in turn, spread over the run; then one is killed outright.
    let step = Duration::from_secs(seconds) / 5;
    for (turn, server) in servers.iter_mut().enumerate() {
        tokio::time::sleep_until((started + step * (turn as u32 + 1)).into()).await;
        eprintln!("rolling: {:>5.1} s: SIGTERM to process {turn}", started.elapsed().as_secs_f64());
        server.stop().await;
        server.start().await;
        eprintln!("rolling: {:>5.1} s: process {turn} is back", started.elapsed().as_secs_f64());
    }
    tokio::time::sleep_until((started + step * 4 + step / 2).into()).await;
    let victim = rng.gen_range(0..3);
    eprintln!("rolling: {:>5.1} s: SIGKILL to process {victim}", started.elapsed().as_secs_f64());
    servers[victim].kill();
    servers[victim].start().await;

    let mut workers: Vec<Worker> = futures_util::future::join_all(running)
        .await
        .into_iter()
        .map(|r| r.expect("a device task panicked"))
        .collect();
    drain(&mut workers).await;

    let made: usize = workers.iter().map(|w| w.made.len()).sum();
    let mut failures = std::collections::BTreeMap::<String, u64>::new();
    for w in &workers {
        for (kind, n) in &w.failures {
            *failures.entry(kind.clone()).or_default() += n;
        }
    }
    eprintln!("rolling: {made} writes by {count} devices; failed syncs a device retried: {failures:?}");
    assert!(made >= count, "too few writes were made: {made}");
    audit(&db, &workers).await;
    drop(balancer);
    for mut server in servers {
        server.kill();
    }
    db.drop_it().await;
}

/// nginx in front of the processes, as `scripts/balancer.sh` configures it.
struct Balancer {
    child: Child,
    port: u16,
}

impl Balancer {
    async fn start(db: &Database, upstreams: Vec<u16>) -> Self {
        let port = crate::helpers::free_port();
        let dir = std::env::temp_dir().join(format!("{}-nginx", db.name()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/balancer.sh");
        let child = Command::new(script)
            .arg(&dir)
            .arg(port.to_string())
            .args(upstreams.iter().map(u16::to_string))
            .stdout(Stdio::null())
            .spawn()
            .expect("scripts/balancer.sh runs (nginx is installed by scripts/install-balancer.sh)");
        let until = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < until, "nginx did not start: see {}", dir.join("error.log").display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, port }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        // SIGTERM: nginx's master stops its workers too (a SIGKILL would leave them running).
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}
