//! Website lead intake under load: `POST /api/intake/{key}` offered at a fixed rate (open loop)
//! across several companies, over real HTTP on loopback against the release server, with each
//! company's office device listening for pokes (`/api/sync/events`) and pulling after each one.
//! Reports leads/s taken, the post latency (p50, p99, max) and, for every lead, the time from
//! its post being sent to its row arriving in the office device's pull (p50, p99).
//!
//!   cargo bench -p server --bench intake                      # 2,000 leads/s, 20 companies, 20 s
//!   BENCH_RATE=3000 BENCH_COMPANIES=50 BENCH_SECONDS=30 cargo bench -p server --bench intake
//!
//! The flood limits are raised for the run (the bench is one address). Figures go to stdout;
//! nothing here asserts a speed.

mod common;

use app::{domain::Role, sync::protocol::*};
use common::{env_num, ms, percentile, BenchServer};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use uuid::Uuid;

type Sent = Arc<Mutex<HashMap<String, Instant>>>;

#[tokio::main]
async fn main() {
    let rate = env_num("BENCH_RATE", 2000);
    let companies = env_num("BENCH_COMPANIES", 20) as usize;
    let seconds = env_num("BENCH_SECONDS", 20);
    let server = BenchServer::start_with(&[
        ("FIELDCLOSE_INTAKE_PER_KEY", "100000000"),
        ("FIELDCLOSE_INTAKE_PER_IP", "100000000"),
    ])
    .await;
    let url = server.url.clone();
    println!("intake: {rate} leads/s offered across {companies} companies for {seconds} s, server {url}");

    // Each company: a manager (whom leads are written as), an office device, and its key.
    let mut keys = vec![];
    let sent: Sent = Arc::default();
    let arrived: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut listeners = vec![];
    for _ in 0..companies {
        let (company, _) = server.company(1, Role::Manager).await;
        let (_, office) = server.company_people(company, 1, Role::Office).await;
        let key: String = sqlx::query_scalar("select intake_key from companies where id = $1")
            .bind(company)
            .fetch_one(&server.pool)
            .await
            .unwrap();
        keys.push(key);
        let http = office[0].1.clone();
        listeners.push(tokio::spawn(office_device(
            url.clone(),
            http,
            sent.clone(),
            arrived.clone(),
            stop.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = std::process::Command::new("sync").status();

    let http = reqwest::Client::builder().pool_max_idle_per_host(512).build().unwrap();
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let total = rate * seconds;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for i in 0..total {
        tick.tick().await;
        let key = keys[i as usize % keys.len()].clone();
        let (http, url, sent) = (http.clone(), url.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let idem = Uuid::now_v7().to_string();
            let body = serde_json::json!({
                "name": format!("Bench Lead {i}"), "phone": format!("512555{:04}", i % 10_000),
                "service": "hvac", "message": "No heat", "utm_campaign": "bench",
            });
            let t = Instant::now();
            sent.lock().unwrap().insert(format!("web:{idem}"), t);
            let resp = http
                .post(format!("{url}/api/intake/{key}"))
                .header("Idempotency-Key", &idem)
                .json(&body)
                .send()
                .await;
            let ok = matches!(&resp, Ok(r) if r.status() == 201);
            (t.elapsed(), ok)
        }));
    }
    let mut latencies = vec![];
    let mut failed = 0u64;
    for t in tasks {
        let (d, ok) = t.await.unwrap();
        latencies.push(d);
        failed += u64::from(!ok);
    }
    let elapsed = started.elapsed();
    // Let the office devices catch up, then stop them.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.notify_waiters();
    for l in listeners {
        let _ = tokio::time::timeout(Duration::from_secs(5), l).await;
    }
    latencies.sort();
    let taken = latencies.len() as u64 - failed;
    println!(
        "posts: {} sent in {:.1} s = {:.0} leads/s taken, {failed} failed; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        taken as f64 / elapsed.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
    );
    let mut seen = arrived.lock().unwrap().clone();
    seen.sort();
    println!(
        "office devices: {} of {taken} leads arrived by pull after a poke; post sent → row on the device p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        seen.len(),
        ms(percentile(&seen, 0.50)),
        ms(percentile(&seen, 0.99)),
        ms(*seen.last().unwrap_or(&Duration::ZERO)),
    );
    server.stop().await;
}

/// An office device: listens for pokes and pulls after one (a pull at a time; the pokes that
/// arrived meanwhile fold into the next pull), noting when each bench lead's row arrives.
async fn office_device(
    url: String,
    http: reqwest::Client,
    sent: Sent,
    arrived: Arc<Mutex<Vec<Duration>>>,
    stop: Arc<tokio::sync::Notify>,
) {
    let client_id = Uuid::now_v7();
    let mut cookie: Option<Cookie> = None;
    // Initial sync.
    pull_all(&url, &http, client_id, &mut cookie, &sent, &arrived).await;
    let mut events = http.get(format!("{url}/api/sync/events")).send().await.unwrap();
    loop {
        tokio::select! {
            chunk = events.chunk() => match chunk {
                Ok(Some(_)) => {
                    // Pokes already here fold into this pull, as a device's sync loop does.
                    while let Ok(Ok(Some(_))) = tokio::time::timeout(Duration::ZERO, events.chunk()).await {}
                    pull_all(&url, &http, client_id, &mut cookie, &sent, &arrived).await
                }
                _ => return,
            },
            _ = stop.notified() => return,
        }
    }
}

async fn pull_all(
    url: &str,
    http: &reqwest::Client,
    client_id: Uuid,
    cookie: &mut Option<Cookie>,
    sent: &Sent,
    arrived: &Arc<Mutex<Vec<Duration>>>,
) {
    loop {
        let req = PullRequest {
            client_id,
            cookie: *cookie,
            limit: Some(1000),
            pending_from: None,
            kinds_version: KINDS_VERSION,
        };
        let Ok(resp) = http.post(format!("{url}/api/sync/pull")).json(&req).send().await else { return };
        let Ok(page) = resp.json::<PullResponse>().await else { return };
        let now = Instant::now();
        for op in &page.patch {
            if let PatchOp::Put { entity: Entity::Lead, data, .. } = op {
                if let Some(at) = data["external_id"].as_str().and_then(|e| sent.lock().unwrap().remove(e)) {
                    arrived.lock().unwrap().push(now - at);
                }
            }
        }
        *cookie = Some(page.cookie);
        if !page.has_more {
            return;
        }
    }
}
