//! A first sync of the demo company's people (a year of history, `server seed-demo`): records,
//! bytes and seconds, with the company's history window at its default and at the longest (730
//! days, which holds the whole year: what every device received before the window).
//!
//!   cargo bench -p server --bench first_sync_demo
//!   BENCH_RUNS=5 cargo bench -p server --bench first_sync_demo
//!
//! The time includes the server's reads, JSON on both sides and the transfer over loopback; not
//! the browser's IndexedDB writes. Nothing here asserts a speed.

mod common;

use app::sync::protocol::{PullRequest, PullResponse, KINDS_VERSION};
use common::{env_num, BenchServer};
use serde_json::{json, Value};
use std::time::Instant;
use uuid::Uuid;

const PASSWORD: &str = "fieldclose-demo";
const PEOPLE: &[(&str, &str)] = &[
    ("technician", "tech1@demo.fieldclose.test"),
    ("sales rep", "rep1@demo.fieldclose.test"),
    ("manager", "manager@demo.fieldclose.test"),
];

async fn signed_in(url: &str, email: &str) -> reqwest::Client {
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let resp = http
        .post(format!("{url}/api/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "sign-in of {email}: {}", resp.status());
    http
}

/// Pulls from an empty cookie until nothing more waits: (records, bytes, seconds).
async fn first_sync(http: &reqwest::Client, url: &str) -> (usize, usize, f64) {
    let client_id = Uuid::now_v7();
    let (mut cookie, mut records, mut bytes) = (None, 0, 0);
    let started = Instant::now();
    loop {
        let req =
            PullRequest { client_id, cookie, limit: None, pending_from: None, kinds_version: KINDS_VERSION };
        let body =
            http.post(format!("{url}/api/sync/pull")).json(&req).send().await.unwrap().bytes().await.unwrap();
        bytes += body.len();
        let page: PullResponse = serde_json::from_slice(&body).expect("a pull page");
        records += page.patch.len();
        cookie = Some(page.cookie);
        if !page.has_more {
            return (records, bytes, started.elapsed().as_secs_f64());
        }
    }
}

#[tokio::main]
async fn main() {
    let runs = env_num("BENCH_RUNS", 3).max(1) as usize;
    let server = BenchServer::start_demo().await;
    let manager = signed_in(&server.url, PEOPLE[2].1).await;
    let settings_url = format!("{}/api/analytics/settings", server.url);
    let mut settings: Value = manager.get(&settings_url).send().await.unwrap().json().await.unwrap();
    println!("first sync of the demo company's people (median of {runs} runs, each a new device)");
    println!("{:<12} {:>8} {:>9} {:>11} {:>8}", "person", "window", "records", "bytes", "seconds");
    for days in [730, app::domain::settings::DEFAULT_DEVICE_HISTORY_DAYS] {
        settings["device_history_days"] = json!(days);
        let resp = manager.put(&settings_url).json(&settings).send().await.unwrap();
        assert!(resp.status().is_success(), "settings: {}", resp.status());
        for (who, email) in PEOPLE {
            let http = signed_in(&server.url, email).await;
            let mut seen = vec![];
            for _ in 0..runs {
                seen.push(first_sync(&http, &server.url).await);
            }
            seen.sort_by(|a, b| a.2.total_cmp(&b.2));
            let (records, bytes, seconds) = seen[seen.len() / 2];
            println!("{who:<12} {:>6} d {records:>9} {bytes:>11} {seconds:>8.2}", days);
        }
    }
}
