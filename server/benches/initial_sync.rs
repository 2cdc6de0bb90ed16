//! Initial sync benchmark: one device signs in for the first time and pulls everything it may
//! see — 10,000 records by default — page by page, over real HTTP from the release server in its
//! own process. Reported: seconds per full initial sync (each run a new device), pages, bytes.
//!
//!   cargo bench -p server --bench initial_sync
//!   BENCH_RECORDS=50000 BENCH_RUNS=3 cargo bench -p server --bench initial_sync
//!
//! The time includes the server's reads, JSON on both sides and the transfer; not the
//! browser's IndexedDB writes. Nothing here asserts a speed.

mod common;

use app::{domain::Role, sync::protocol::*};
use common::{env_num, ms, BenchServer};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Pulls from an empty cookie until nothing more waits; returns (records, pages, bytes).
async fn full_pull(http: &reqwest::Client, url: &str) -> (usize, usize, usize) {
    let client_id = Uuid::now_v7();
    let (mut cookie, mut records, mut pages, mut bytes) = (None, 0, 0, 0);
    loop {
        let req = PullRequest {
            client_id,
            cookie,
            limit: None,
            pending_from: None,
            kinds_version: app::sync::protocol::KINDS_VERSION,
        };
        let resp = http.post(url).json(&req).send().await.expect("pull");
        assert!(resp.status().is_success(), "pull failed: {}", resp.status());
        let body = resp.bytes().await.unwrap();
        bytes += body.len();
        let page: PullResponse = serde_json::from_slice(&body).unwrap();
        records += page.patch.len();
        pages += 1;
        cookie = Some(page.cookie);
        if !page.has_more {
            return (records, pages, bytes);
        }
    }
}

#[tokio::main]
async fn main() {
    let target = env_num("BENCH_RECORDS", 10_000) as usize;
    let runs = env_num("BENCH_RUNS", 5) as usize;
    let server = BenchServer::start().await;
    let (_company, people) = server.company(1, Role::Technician).await;
    let (technician, http) = &people[0];
    let push_url = format!("{}/api/sync/push", server.url);
    let pull_url = format!("{}/api/sync/pull", server.url);

    // Fill the technician's world through the push endpoint (each batch is one consultation's
    // worth of field work: customer, lead, consultation, options, activities, events ...).
    let client_id = Uuid::now_v7();
    let mut next_id = 1u64;
    let mut have = full_pull(http, &pull_url).await.0;
    let t = Instant::now();
    while have < target {
        let batches = ((target - have) / 20).clamp(1, 200);
        for _ in 0..batches {
            let req = common::push_request(*technician, client_id, &mut next_id);
            let resp = http.post(&push_url).json(&req).send().await.expect("push");
            assert!(resp.status().is_success(), "push failed: {}", resp.status());
        }
        have = full_pull(http, &pull_url).await.0;
    }
    println!(
        "initial sync: {have} records visible to one technician (seeded in {:.1} s), server {}",
        t.elapsed().as_secs_f64(),
        server.url
    );

    let mut times: Vec<Duration> = vec![];
    for run in 1..=runs {
        let t = Instant::now();
        let (records, pages, bytes) = full_pull(http, &pull_url).await;
        let elapsed = t.elapsed();
        println!(
            "run {run}: {records} records in {pages} pages, {:.1} MB, {:.0} ms",
            bytes as f64 / 1e6,
            ms(elapsed)
        );
        times.push(elapsed);
    }
    times.sort();
    println!(
        "median {:.0} ms, best {:.0} ms, worst {:.0} ms",
        ms(times[runs / 2]),
        ms(times[0]),
        ms(times[runs - 1])
    );
    server.stop().await;
}
