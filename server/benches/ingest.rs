//! Ingest benchmark: N simulated devices of ONE company (the worst case: they all share the
//! company's version lock) push batches of 20 mutations for a while against the release server,
//! over real HTTP on loopback, and we report mutations/s and push latency. The server is the
//! release binary in its own process; this process only generates load.
//!
//!   cargo bench -p server --bench ingest            # 200 devices, 60 s
//!   BENCH_DEVICES=50 BENCH_SECONDS=20 cargo bench -p server --bench ingest
//!   BENCH_RATE=2000 cargo bench -p server --bench ingest   # paced: 2,000 mutations/s offered
//!   BENCH_PROCESSES=3 cargo bench -p server --bench ingest # through nginx, 3 processes
//!   BENCH_BALANCER=1 cargo bench -p server --bench ingest  # through nginx, 1 process
//!
//! By default each device pushes again as soon as its last push returns (closed loop): the
//! throughput is the server's capacity, and latency is then simply devices ÷ pushes per second.
//! With `BENCH_RATE` the devices push on a schedule that offers that many mutations per second
//! in all (open loop), which is how latency under a given load is measured. The latency is also
//! given without the first `BENCH_WARMUP` seconds (10), while the new database's tables are
//! young, and the slow pushes (over 250 ms) are counted by the second they were due in.
//!
//! Uses DATABASE_URL's server (default: the local one, over its Unix socket if it has one) and a database of its
//! own, dropped at the end. Figures go to stdout; nothing here asserts a speed.

mod common;

use app::{domain::Role, sync::protocol::*};
use common::{env_num, ms, percentile, BenchServer};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[tokio::main]
async fn main() {
    let devices = env_num("BENCH_DEVICES", 200) as usize;
    let seconds = env_num("BENCH_SECONDS", 60);
    let server = BenchServer::start().await;
    let url = server.url.clone();
    let (_company, clients) = server.company(devices, Role::Technician).await;

    let rate = env_num("BENCH_RATE", 0);
    // Each device's pause between pushes when paced: devices × 20 mutations per round.
    let every = (rate > 0).then(|| Duration::from_secs_f64(devices as f64 * 20.0 / rate as f64));
    match every {
        Some(every) => println!(
            "ingest: {devices} devices of one company, batches of 20, paced at {rate} mutations/s (a push per device every {} ms), {seconds} s, server {url}",
            every.as_millis()
        ),
        None => println!("ingest: {devices} devices of one company, batches of 20, {seconds} s, server {url}"),
    }
    // The new database (its template copy, tables, people) is still in the kernel's page cache;
    // left there, the kernel writes it back 30 s later, in the middle of the run, and every
    // commit's WAL flush waits behind that. A server's database was created long ago.
    let _ = std::process::Command::new("sync").status();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(k, (user, http))| {
            let url = format!("{url}/api/sync/push");
            tokio::spawn(async move {
                let client_id = Uuid::now_v7();
                let (mut next_id, mut latencies, mut applied, mut failed) = (1u64, vec![], 0u64, 0u64);
                // Paced devices start spread over one interval, not all at once; a device behind
                // schedule pushes its overdue batches back to back (the interval's `Burst`).
                let mut ticks = every.map(|every| {
                    let start = tokio::time::Instant::now() + every.mul_f64(k as f64 / devices as f64);
                    tokio::time::interval_at(start, every)
                });
                while Instant::now() < deadline {
                    // Paced, latency counts from when the push was due, so a slow server cannot
                    // hide its queue by delaying the pushes it would have got meanwhile.
                    let t = match &mut ticks {
                        Some(ticks) => ticks.tick().await.into_std(),
                        None => Instant::now(),
                    };
                    if t >= deadline {
                        break;
                    }
                    let req = common::push_request(user, client_id, &mut next_id);
                    let resp = http.post(&url).json(&req).send().await;
                    let elapsed = t.elapsed();
                    match resp {
                        Ok(r) if r.status().is_success() => {
                            let body: PushResponse = r.json().await.unwrap();
                            applied +=
                                body.results.iter().filter(|r| r.status == MutationStatus::Applied).count()
                                    as u64;
                            failed +=
                                body.results.iter().filter(|r| r.status == MutationStatus::Rejected).count()
                                    as u64;
                            latencies.push((t.duration_since(started), elapsed));
                        }
                        Ok(r) => panic!("push failed: {} {}", r.status(), r.text().await.unwrap_or_default()),
                        Err(e) => panic!("push failed: {e}"),
                    }
                }
                (latencies, applied, failed)
            })
        })
        .collect();
    let mut timed: Vec<(Duration, Duration)> = vec![];
    let (mut applied, mut rejected) = (0, 0);
    for t in tasks {
        let (l, a, f) = t.await.unwrap();
        timed.extend(l);
        applied += a;
        rejected += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies: Vec<Duration> = timed.iter().map(|(_, l)| *l).collect();
    latencies.sort();
    println!("pushes:      {}", latencies.len());
    println!("mutations:   {applied} applied, {rejected} rejected");
    println!("throughput:  {:.0} mutations/s", applied as f64 / elapsed);
    println!(
        "push latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    // The same without the first seconds, while the fresh database's tables are young and
    // their first statistics are being gathered (a server's tables are never empty again).
    let warmup = Duration::from_secs(env_num("BENCH_WARMUP", 10));
    let mut steady: Vec<Duration> = timed.iter().filter(|(due, _)| *due >= warmup).map(|(_, l)| *l).collect();
    steady.sort();
    if !steady.is_empty() {
        println!(
            "after the first {} s: {} pushes, latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            warmup.as_secs(),
            steady.len(),
            ms(percentile(&steady, 0.50)),
            ms(percentile(&steady, 0.99)),
            ms(steady.last().copied().unwrap_or_default())
        );
    }
    // Where the slow pushes were: a stall shows as a few seconds holding most of them.
    let mut slow_by_second = std::collections::BTreeMap::<u64, usize>::new();
    for (due, latency) in &timed {
        if *latency > Duration::from_millis(250) {
            *slow_by_second.entry(due.as_secs()).or_default() += 1;
        }
    }
    if slow_by_second.len() > 20 {
        // A closed loop: every push waits behind the others.
        println!("pushes over 250 ms in {} seconds of the run", slow_by_second.len());
    } else {
        let slow: Vec<String> = slow_by_second.iter().map(|(s, n)| format!("{s}s:{n}")).collect();
        println!("pushes over 250 ms, by second of the run they were due: {}", slow.join(" "));
    }

    count_statements(&server, &url).await;
    server.stop().await;
}

/// Statements per push of 20 mutations, from Postgres's own log: `log_statement = all` for the
/// length of 50 pushes by one device after the run (the server is otherwise idle), counting the
/// log lines of the bench's database. It changes the server's configuration for those seconds
/// (`ALTER SYSTEM`, reset after), so it needs a superuser and the log file: Debian's
/// (`/var/log/postgresql/postgresql-<version>-main.log`) or `BENCH_PG_LOG`.
/// `BENCH_COUNT_STATEMENTS=0` skips it.
async fn count_statements(server: &BenchServer, url: &str) {
    if env_num("BENCH_COUNT_STATEMENTS", 1) == 0 {
        return;
    }
    let version: String = sqlx::query_scalar("select current_setting('server_version_num')")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    let log = std::env::var("BENCH_PG_LOG").unwrap_or_else(|_| {
        format!("/var/log/postgresql/postgresql-{}-main.log", version.parse::<u32>().unwrap_or(0) / 10000)
    });
    let size = |path: &str| std::fs::metadata(path).map(|m| m.len());
    let Ok(start) = size(&log) else {
        return println!("statements per push: not counted (no Postgres log at {log}; set BENCH_PG_LOG)");
    };
    let db: String = sqlx::query_scalar("select current_database()").fetch_one(&server.pool).await.unwrap();
    let (_, clients) = server.company(1, Role::Technician).await;
    let (user, http) = clients.into_iter().next().unwrap();
    let set = |on: bool| {
        let sql =
            if on { "alter system set log_statement = 'all'" } else { "alter system reset log_statement" };
        let pool = server.pool.clone();
        async move {
            sqlx::query(sql).execute(&pool).await?;
            sqlx::query("select pg_reload_conf()").execute(&pool).await.map(|_| ())
        }
    };
    if let Err(e) = set(true).await {
        return println!("statements per push: not counted ({e})");
    }
    // Every backend takes the new setting at its next command.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = size(&log).unwrap_or(start);
    let (client_id, mut next_id, pushes) = (Uuid::now_v7(), 1u64, 50);
    for _ in 0..pushes {
        let req = common::push_request(user, client_id, &mut next_id);
        let resp = http.post(format!("{url}/api/sync/push")).json(&req).send().await.unwrap();
        assert!(resp.status().is_success());
    }
    // The log is written by each backend as it goes; give the last lines a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    set(false).await.expect("log_statement reset");
    let text = std::fs::read(&log).unwrap_or_default();
    let written = String::from_utf8_lossy(&text[(start as usize).min(text.len())..]).into_owned();
    let tag = format!("@{db} LOG:  ");
    let statements = written
        .lines()
        .filter(|l| l.contains(&tag) && (l.contains("LOG:  statement:") || l.contains("LOG:  execute")))
        .count();
    println!(
        "statements per push of 20 mutations: {:.1} ({statements} over {pushes} pushes, {} process(es))",
        statements as f64 / pushes as f64,
        server.processes()
    );
}
