//! Ingest benchmark: N simulated devices of ONE company (the worst case: they all share the
//! company's version lock) push batches of 20 mutations for a while against the release server,
//! over real HTTP on loopback, and we report mutations/s and push latency.
//!
//!   cargo bench -p server --bench ingest            # 200 devices, 60 s
//!   BENCH_DEVICES=50 BENCH_SECONDS=20 cargo bench -p server --bench ingest
//!
//! Uses DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432) and a database of its
//! own, dropped at the end. Figures go to stdout; nothing here asserts a speed.

use app::{
    domain::{Cents, Role},
    sync::{mutation::*, protocol::*},
};
use chrono::Utc;
use serde_json::json;
use server::{auth::session, config::Config, startup::Application};
use sqlx::{Connection, Executor, PgConnection};
use std::time::{Duration, Instant};
use uuid::Uuid;

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One consultation's worth of field work, 20 mutations, as a technician's device makes them.
fn batch(technician: Uuid) -> Vec<Mutation> {
    let now = Utc::now();
    let (customer, lead, k) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut m = vec![
        Mutation::CustomerCreate(CustomerCreate {
            id: customer,
            name: "Bench Customer".into(),
            phone: Some("5125550143".into()),
            email: None,
            address: Some("1 Main St".into()),
        }),
        Mutation::LeadCreate(LeadCreate {
            id: lead,
            customer_id: customer,
            source: "website".into(),
            service_type: "hvac".into(),
            created_at: now,
        }),
        Mutation::ConsultationCreate(ConsultationCreate {
            id: k,
            lead_id: lead,
            technician_id: Some(technician),
            scheduled_at: Some(now),
            problem: "No heat".into(),
        }),
    ];
    for (i, field) in ["problem", "notes", "home"].iter().enumerate() {
        let value =
            if *field == "home" { json!({ "sqft": 1800 + i }) } else { json!(format!("{field} {i}")) };
        m.push(Mutation::ConsultationUpdate(FieldUpdate {
            id: k,
            base_version: 0,
            fields: json!({ *field: value }).as_object().unwrap().clone(),
        }));
    }
    m.push(Mutation::ConsultationUpdate(FieldUpdate {
        id: k,
        base_version: 0,
        fields: json!({ "held_at": now }).as_object().unwrap().clone(),
    }));
    for (pos, tier) in ["Good", "Better", "Best"].iter().enumerate() {
        m.push(Mutation::OptionUpsert(OptionUpsert {
            id: Uuid::now_v7(),
            consultation_id: k,
            tier: tier.to_string(),
            position: pos as u8,
            line_items: vec![LineItem {
                price_book_item_id: None,
                description: "Furnace".into(),
                quantity: 1,
                unit_price_cents: Cents(500_000 * (pos as i64 + 1)),
            }],
            price_cents: Cents(500_000 * (pos as i64 + 1)),
            financing_plan: Some("12mo".into()),
            monthly_payment_cents: Some(Cents(40_000)),
            presented: true,
        }));
    }
    for _ in 0..7 {
        m.push(Mutation::ActivityLog(ActivityLog {
            id: Uuid::now_v7(),
            consultation_id: k,
            kind: "call".into(),
            outcome: Some("talked".into()),
            at: now,
            note: String::new(),
        }));
    }
    m.push(Mutation::FollowupSchedule(FollowupSchedule {
        id: Uuid::now_v7(),
        consultation_id: k,
        due_at: now,
        assignee_id: None,
        note: String::new(),
    }));
    m.push(Mutation::TimeEntryLog(TimeEntryLog {
        id: Uuid::now_v7(),
        category: "on_site".into(),
        started_at: now,
        ended_at: Some(now),
    }));
    m.push(Mutation::SetOutcome(SetOutcome {
        id: k,
        outcome: Outcome::Won { option_id: None, amount_cents: Cents(1_000_000) },
        at: now,
    }));
    assert_eq!(m.len(), 20);
    m
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let devices = env_num("BENCH_DEVICES", 200) as usize;
    let seconds = env_num("BENCH_SECONDS", 60);
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let root = base.rsplit_once('/').map(|(h, _)| h.to_string()).unwrap();
    let db = format!("fc_bench_{}", Uuid::now_v7().simple());
    let database_url = format!("{root}/{db}");

    server::telemetry::init("warn");
    let config = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(database_url.clone()),
        "LEPTOS_SITE_ADDR" => Some("127.0.0.1:0".into()),
        "FIELDCLOSE_BLOB_DIR" => Some(std::env::temp_dir().join(&db).to_string_lossy().into_owned()),
        _ => None,
    })
    .unwrap();
    let app = Application::build(config.clone()).await.expect("server starts");
    let url = format!("http://{}", app.local_addr());
    let pool = app.pool.clone();
    tokio::spawn(app.run_until_stopped());

    // One company, `devices` technicians, each signed in (sessions made directly: 200 argon2
    // logins would measure the password hash, not sync).
    let company = Uuid::now_v7();
    sqlx::query("insert into companies (id, name) values ($1, 'Bench Co')")
        .bind(company)
        .execute(&pool)
        .await
        .unwrap();
    let hash = server::auth::password::hash("bench password 123".into()).await.unwrap();
    let mut clients = vec![];
    for i in 0..devices {
        let id = Uuid::now_v7();
        sqlx::query("insert into users (company_id, id, email, name, role, password_hash, version) values ($1, $2, $3, $4, 'technician', $5, next_company_version($1))")
            .bind(company).bind(id).bind(format!("t{i}@bench.test")).bind(format!("Tech {i}")).bind(&hash)
            .execute(&pool).await.unwrap();
        let me = app::api::Me {
            user_id: id,
            name: String::new(),
            email: String::new(),
            role: Role::Technician,
            company_id: company,
            company_name: String::new(),
        };
        let token = session::create(&pool, &me, Duration::from_secs(3600), None).await.unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, format!("{}={token}", session::COOKIE_NAME).parse().unwrap());
        let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
        clients.push((id, http));
    }

    println!("ingest: {devices} devices of one company, batches of 20, {seconds} s, server {url}");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(user, http)| {
            let url = format!("{url}/api/sync/push");
            tokio::spawn(async move {
                let client_id = Uuid::now_v7();
                let (mut next_id, mut latencies, mut applied, mut failed) = (1u64, vec![], 0u64, 0u64);
                while Instant::now() < deadline {
                    let mutations = batch(user)
                        .into_iter()
                        .map(|m| {
                            let e = MutationEnvelope {
                                id: next_id,
                                name: m.name().into(),
                                args: m.args(),
                                client_ts: Utc::now(),
                            };
                            next_id += 1;
                            e
                        })
                        .collect();
                    let req = PushRequest { client_id, schema_version: SCHEMA_VERSION, mutations };
                    let t = Instant::now();
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
                            latencies.push(elapsed);
                        }
                        Ok(r) => panic!("push failed: {} {}", r.status(), r.text().await.unwrap_or_default()),
                        Err(e) => panic!("push failed: {e}"),
                    }
                }
                (latencies, applied, failed)
            })
        })
        .collect();
    let mut latencies = vec![];
    let (mut applied, mut rejected) = (0, 0);
    for t in tasks {
        let (l, a, f) = t.await.unwrap();
        latencies.extend(l);
        applied += a;
        rejected += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    println!("pushes:      {}", latencies.len());
    println!("mutations:   {applied} applied, {rejected} rejected");
    println!("throughput:  {:.0} mutations/s", applied as f64 / elapsed);
    println!(
        "push latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );

    pool.close().await;
    if let Ok(mut conn) = PgConnection::connect(&format!("{root}/postgres")).await {
        let _ = conn.execute(format!("drop database if exists {db} with (force)").as_str()).await;
    }
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(&db));
}
