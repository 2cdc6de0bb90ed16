//! What the benches share: the release `server` binary started as its own process against a
//! database of its own (so the load generator does not share the server's runtime), one
//! company with signed-in people, and percentiles.

#![allow(dead_code)] // each bench uses its own part of this

use app::{
    domain::{Cents, Role},
    sync::{
        mutation::*,
        protocol::{MutationEnvelope, PushRequest, SCHEMA_VERSION},
    },
};
use chrono::Utc;
use serde_json::json;
use server::auth::session;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use uuid::Uuid;

/// One consultation's worth of field work, 20 mutations, as a technician's device makes them.
pub fn batch(technician: Uuid) -> Vec<Mutation> {
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
            first_contact_at: None,
            external_id: None,
            ..Default::default()
        }),
        Mutation::ConsultationCreate(ConsultationCreate {
            id: k,
            lead_id: lead,
            technician_id: Some(technician),
            scheduled_at: Some(now),
            problem: "No heat".into(),
            ..Default::default()
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
                discount_cents: Cents(0),
            }],
            price_cents: Cents(500_000 * (pos as i64 + 1)),
            financing_plan: Some("same_as_cash_12".into()),
            monthly_payment_cents: Some(Cents((500_000 * (pos as i64 + 1) + 11) / 12)),
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

/// One `batch` as the push a device makes: ids continue from `next_id`, which moves past them.
pub fn push_request(technician: Uuid, client_id: Uuid, next_id: &mut u64) -> PushRequest {
    let mutations = batch(technician)
        .into_iter()
        .map(|m| {
            *next_id += 1;
            MutationEnvelope {
                id: *next_id - 1,
                name: m.name().into(),
                args: m.args(),
                client_ts: Utc::now(),
            }
        })
        .collect();
    PushRequest { client_id, schema_version: SCHEMA_VERSION, mutations }
}

pub fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The local Postgres over its Unix socket when there is one (as `scripts/ensure-postgres.sh`
/// chooses for `make run`), else over TCP.
pub fn default_database_url() -> &'static str {
    if std::path::Path::new("/var/run/postgresql/.s.PGSQL.5432").exists() {
        "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres"
    } else {
        "postgres://postgres@127.0.0.1:5432/postgres"
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `url/readyz` answers 200 (60 s at most).
async fn wait_ready(url: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(format!("{url}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{url} did not become ready in 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One server process over `database_url`, listening on `port`.
fn spawn_server(database_url: &str, blob_dir: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .env("DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("FIELDCLOSE_BLOB_DIR", blob_dir)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .expect("the server binary starts")
}

/// The server under test: child processes of the bench, killed by `stop`.
pub struct BenchServer {
    /// The server's address, or the balancer's in front of several.
    pub url: String,
    pub pool: PgPool,
    children: Vec<Child>,
    ports: Vec<u16>,
    database_url: String,
    /// nginx (`scripts/balancer.sh`) when `BENCH_PROCESSES` > 1 or `BENCH_BALANCER=1`.
    balancer: Option<Child>,
    root: String,
    db: String,
    blob_dir: std::path::PathBuf,
}

impl BenchServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// The server with extra environment (e.g. raised limits for a load test).
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        Self::start_seeded(env, false).await
    }

    /// The server over the demo company's year of history (`server seed-demo`, run first).
    pub async fn start_demo() -> Self {
        Self::start_seeded(&[], true).await
    }

    async fn start_seeded(env: &[(&str, &str)], demo: bool) -> Self {
        let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| default_database_url().into());
        let root = base.rsplit_once('/').map(|(h, _)| h.to_string()).expect("DATABASE_URL has a path");
        let db = format!("fc_bench_{}", Uuid::now_v7().simple());
        let database_url = format!("{root}/{db}");
        let blob_dir = std::env::temp_dir().join(&db);
        if demo {
            let seeded = Command::new(env!("CARGO_BIN_EXE_server"))
                .arg("seed-demo")
                .env("DATABASE_URL", &database_url)
                .env("FIELDCLOSE_BLOB_DIR", &blob_dir)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .status()
                .expect("seed-demo runs");
            assert!(seeded.success(), "seed-demo failed");
        }
        // BENCH_PROCESSES server processes over the one database (ADR 0060), behind nginx when
        // there is more than one (or BENCH_BALANCER=1, to measure the balancer alone).
        let processes = env_num("BENCH_PROCESSES", 1).max(1);
        let mut children = vec![];
        let mut ports = vec![];
        for _ in 0..processes {
            // A free port: bind 0, read it, let go. Racy in theory, fine on a bench machine.
            let port = free_port();
            children.push(spawn_server(&database_url, &blob_dir, port, env));
            ports.push(port);
        }
        for port in &ports {
            wait_ready(&format!("http://127.0.0.1:{port}")).await;
        }
        let balanced = processes > 1 || env_num("BENCH_BALANCER", 0) == 1;
        let (url, balancer) = if balanced {
            let port = free_port();
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/balancer.sh");
            let child = Command::new(script)
                .arg(std::env::temp_dir().join(format!("{db}-nginx")))
                .arg(port.to_string())
                .args(ports.iter().map(u16::to_string))
                .stdout(Stdio::null())
                .spawn()
                .expect("scripts/balancer.sh runs (nginx: scripts/install-balancer.sh)");
            let url = format!("http://127.0.0.1:{port}");
            wait_ready(&url).await;
            (url, Some(child))
        } else {
            (format!("http://127.0.0.1:{}", ports[0]), None)
        };
        let pool = PgPool::connect(&database_url).await.expect("bench database");
        BenchServer { url, pool, children, ports, database_url, balancer, root, db, blob_dir }
    }

    /// A company with `n` people of `role`, each with a signed-in HTTP client.
    pub async fn company(&self, n: usize, role: Role) -> (Uuid, Vec<(Uuid, reqwest::Client)>) {
        let company = Uuid::now_v7();
        sqlx::query("insert into companies (id, name) values ($1, 'Bench Co')")
            .bind(company)
            .execute(&self.pool)
            .await
            .unwrap();
        // The plan every option of a bench batch offers (a company's plans are its own rows).
        sqlx::query(
            "insert into financing_plans (company_id, id, code, lender, apr_bps, months, promo_months, version)
             values ($1, gen_random_uuid(), 'same_as_cash_12', 'Bench lender', 0, 12, 12, 1)",
        )
        .bind(company)
        .execute(&self.pool)
        .await
        .unwrap();
        self.company_people(company, n, role).await
    }

    /// The (first) server process's id.
    pub fn pid(&self) -> u32 {
        self.children[0].id()
    }

    /// Kills the first server process (SIGKILL, as a crash or a lost machine would) and starts a
    /// new one on its port over the same database, with `env` added. Returns when it is ready:
    /// how long it took from the start of the new process.
    pub async fn restart_first(&mut self, env: &[(&str, &str)]) -> Duration {
        let _ = self.children[0].kill();
        let _ = self.children[0].wait();
        let started = Instant::now();
        self.children[0] = spawn_server(&self.database_url, &self.blob_dir, self.ports[0], env);
        wait_ready(&format!("http://127.0.0.1:{}", self.ports[0])).await;
        started.elapsed()
    }

    /// How many server processes serve the bench.
    pub fn processes(&self) -> usize {
        self.children.len()
    }

    /// `n` more people of `role` in `company`, signed in.
    pub async fn company_people(
        &self,
        company: Uuid,
        n: usize,
        role: Role,
    ) -> (Uuid, Vec<(Uuid, reqwest::Client)>) {
        // One hash for all (n argon2 hashes would measure the password hash, not sync), and
        // sessions made directly for the same reason. Version 1, with the company's clock at
        // least there (ADR 0061), so the watermark covers them and pulls see them.
        let hash = server::auth::password::hash("bench password 123".into()).await.unwrap();
        sqlx::query(
            "insert into company_clocks (company_id, reserved) values ($1, 1)
             on conflict (company_id) do update set reserved = greatest(company_clocks.reserved, 1)",
        )
        .bind(company)
        .execute(&self.pool)
        .await
        .unwrap();
        let mut people = vec![];
        for i in 0..n {
            let id = Uuid::now_v7();
            sqlx::query(
                "insert into users (company_id, id, email, name, role, password_hash, version)
                 values ($1, $2, $3, $4, $5, $6, 1)",
            )
            .bind(company)
            .bind(id)
            .bind(format!("{}{i}.{}@bench.test", role.as_str(), company.simple()))
            .bind(format!("Person {i}"))
            .bind(role.as_str())
            .bind(&hash)
            .execute(&self.pool)
            .await
            .unwrap();
            let me = app::api::Me {
                user_id: id,
                name: String::new(),
                email: String::new(),
                role,
                company_id: company,
                company_name: String::new(),
                company_logo: None,
                time_zone: String::new(),
                proposal_terms: String::new(),
                cadence_days: vec![],
                history_days: app::domain::settings::DEFAULT_DEVICE_HISTORY_DAYS,
            };
            let token = session::create(&self.pool, &me, Duration::from_secs(3600), None).await.unwrap();
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(
                reqwest::header::COOKIE,
                format!("{}={token}", session::COOKIE_NAME).parse().unwrap(),
            );
            people.push((id, reqwest::Client::builder().default_headers(headers).build().unwrap()));
        }
        (company, people)
    }

    pub async fn stop(mut self) {
        if let Some(mut nginx) = self.balancer.take() {
            // SIGTERM: nginx's master stops its workers too.
            let _ = Command::new("kill").args(["-TERM", &nginx.id().to_string()]).status();
            let _ = nginx.wait();
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.pool.close().await;
        if let Ok(mut conn) = PgConnection::connect(&format!("{}/postgres", self.root)).await {
            let _ = conn.execute(format!("drop database if exists {} with (force)", self.db).as_str()).await;
        }
        let _ = std::fs::remove_dir_all(&self.blob_dir);
    }
}
