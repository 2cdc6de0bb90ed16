//! Analytics benchmark: one company with 1,000,000 consultations over 5 years (200 technicians,
//! 10 reps, realistic rates) and their stage events, generated in SQL; then the whole manager
//! dashboard (`GET /api/analytics/dashboard`) for one year and for all time, against the release
//! server in its own process. Reported: server time p50/p99 (the `Server-Timing` header the
//! handler sets) and round trip, the first (cold) load, the refresh after a push, and memory;
//! then the server is killed and started again with a memory budget for facts (BENCH_FACTS_MB,
//! 320: room for a million consultations' facts and their paths, below what a process that
//! folded them holds; docs/perf-log.md has the sizes): its first dashboard reads the facts'
//! stored snapshot, not every lead.
//!
//!   cargo bench -p server --bench analytics
//!   BENCH_CONSULTATIONS=100000 BENCH_REQUESTS=50 cargo bench -p server --bench analytics
//!
//! Nothing here asserts a speed.

mod common;

use app::domain::Role;
use chrono::{Duration as Days, Utc};
use common::{env_num, ms, percentile, BenchServer};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The data, one statement per table, all in one transaction. Rates: 90% of leads contacted (median ~20 min), 80%
/// get a consultation within ~10 days, 90% of those see options, ~45% win (a third on the spot),
/// ~40% lose, the rest stay open (and go stale); 3% of decisions are reopened.
const GENERATE: &str = r#"
create temporary table g as
with people as (
    select array_agg(id order by id) filter (where role = 'technician') as techs,
           array_agg(id order by id) filter (where role = 'sales_rep') as reps
    from users where company_id = '{company}'::uuid
)
select i,
       md5('lead' || i)::uuid as lead_id,
       md5('cons' || i)::uuid as cons_id,
       md5('cust' || i)::uuid as cust_id,
       now() - (random() * interval '1826 days') as created,
       random() as r1, random() as r2, random() as r3, random() as r4,
       (array['website','referral','google','facebook','yard_sign','repeat'])[1 + (i % 6)] as source,
       (array['hvac','plumbing','electrical'])[1 + (i % 3)] as service,
       people.techs[1 + (i % array_length(people.techs, 1))] as tech_id,
       people.reps[1 + (i % array_length(people.reps, 1))] as rep_id
from generate_series(1, {n}) i, people;

insert into customers (company_id, id, name, version, created_by, updated_by)
select '{company}'::uuid, cust_id, 'Customer ' || i, 1, '{manager}'::uuid, '{manager}'::uuid from g;

insert into leads (company_id, id, customer_id, source, service_type, lead_created_at, first_contact_at, version, created_by, updated_by)
select '{company}'::uuid, lead_id, cust_id, source, service, created,
       case when r1 < 0.9 then created + (r2 * r2 * interval '3 hours') end, 1, '{manager}'::uuid, '{manager}'::uuid from g;

insert into consultations (company_id, id, lead_id, customer_id, technician_id, held_at, status, version, created_by, updated_by)
select '{company}'::uuid, cons_id, lead_id, cust_id, tech_id, created + (r2 * interval '10 days'), 'open', 1, '{manager}'::uuid, '{manager}'::uuid from g;

insert into options (company_id, id, consultation_id, tier, position, price_cents, presented, version, created_by, updated_by)
select '{company}'::uuid, md5('opt' || i || t.pos)::uuid, cons_id, t.tier, t.pos, (400000 + (r3 * 600000)::bigint) * (t.pos + 1),
       r4 < 0.9, 1, '{manager}'::uuid, '{manager}'::uuid
from g cross join (values (0, 'Good'), (1, 'Better'), (2, 'Best')) as t(pos, tier);

insert into stage_events (company_id, id, lead_id, consultation_id, kind, occurred_at, actor_id, details, version, created_by, updated_by)
select '{company}'::uuid, md5('e1' || i)::uuid, lead_id, null::uuid, 'lead_created', created, '{manager}'::uuid, '{}'::jsonb, 1, '{manager}'::uuid, '{manager}'::uuid from g
union all
select '{company}'::uuid, md5('e2' || i)::uuid, lead_id, null::uuid, 'first_contact', created + (r2 * r2 * interval '3 hours'),
       tech_id, '{}'::jsonb, 1, '{manager}'::uuid, '{manager}'::uuid from g where r1 < 0.9
union all
select '{company}'::uuid, md5('e3' || i)::uuid, lead_id, cons_id, 'consultation_held', created + (r2 * interval '10 days'),
       tech_id, '{}'::jsonb, 1, '{manager}'::uuid, '{manager}'::uuid from g where r1 < 0.8
union all
select '{company}'::uuid, md5('e4' || i)::uuid, lead_id, cons_id, 'options_presented', created + (r2 * interval '10 days') + interval '40 minutes',
       tech_id, '{}'::jsonb, 1, '{manager}'::uuid, '{manager}'::uuid from g where r1 < 0.8 and r4 < 0.9
union all
select '{company}'::uuid, md5('e5' || i)::uuid, lead_id, cons_id, 'won',
       created + (r2 * interval '10 days') + case when r3 < 0.33 then interval '2 hours' else r3 * interval '30 days' end,
       case when r3 < 0.33 then tech_id else rep_id end,
       jsonb_build_object('amount_cents', 400000 + (r3 * 1200000)::bigint, 'option_id', md5('opt' || i || (i % 3))::uuid),
       1, '{manager}'::uuid, '{manager}'::uuid
from g where r1 < 0.8 and r4 < 0.9 and (r2 * 1000)::int % 100 < 45
union all
select '{company}'::uuid, md5('e6' || i)::uuid, lead_id, cons_id, 'lost', created + (r2 * interval '10 days') + r3 * interval '40 days',
       rep_id, jsonb_build_object('reason', (array['price','financing_declined','competitor','timing','repair_instead'])[1 + (i % 5)]),
       1, '{manager}'::uuid, '{manager}'::uuid
from g where r1 < 0.8 and r4 < 0.9 and (r2 * 1000)::int % 100 between 45 and 84
union all
select '{company}'::uuid, md5('e7' || i)::uuid, lead_id, cons_id, 'reopened', created + (r2 * interval '10 days') + interval '50 days',
       rep_id, '{}'::jsonb, 1, '{manager}'::uuid, '{manager}'::uuid
from g where r1 < 0.8 and r4 < 0.9 and (r2 * 1000)::int % 100 between 82 and 84;

insert into time_entries (company_id, id, user_id, category, started_at, ended_at, version, created_by, updated_by)
select '{company}'::uuid, md5('t' || i)::uuid, tech_id,
       (array['on_site','driving','admin','follow_up_contact','proposal_prep','waiting'])[1 + (i % 6)],
       created + interval '1 hour', created + interval '150 minutes', 1, '{manager}'::uuid, '{manager}'::uuid
from g where i % 2 = 0
"#;

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// One report request: (round trip, server time from `Server-Timing`).
async fn hit(http: &reqwest::Client, url: &str) -> (Duration, f64) {
    let t = Instant::now();
    let resp = http.get(url).send().await.expect("report");
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    let server = resp
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("dur=").nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    let _ = resp.bytes().await.unwrap();
    (t.elapsed(), server)
}

fn report(label: &str, mut rtt: Vec<Duration>, mut server: Vec<f64>) {
    rtt.sort();
    server.sort_by(f64::total_cmp);
    let p = |v: &[f64], q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{label}: server p50 {:.1} ms, p99 {:.1} ms; round trip p50 {:.1} ms, p99 {:.1} ms ({} requests)",
        p(&server, 0.5),
        p(&server, 0.99),
        ms(percentile(&rtt, 0.5)),
        ms(percentile(&rtt, 0.99)),
        rtt.len()
    );
}

#[tokio::main]
async fn main() {
    let n = env_num("BENCH_CONSULTATIONS", 1_000_000);
    let requests = env_num("BENCH_REQUESTS", 100) as usize;
    let mut server = BenchServer::start().await;
    let (company, managers) = server.company(1, Role::Manager).await;
    let (manager_id, http) = managers[0].clone();
    let (_, techs) = server.company_people(company, 200, Role::Technician).await;
    let (_, _reps) = server.company_people(company, 10, Role::SalesRep).await;

    let t = Instant::now();
    let mut tx = server.pool.begin().await.unwrap();
    // Plain values inlined (uuids and a number), one statement at a time.
    let sql = GENERATE
        .replace("{company}", &company.to_string())
        .replace("{manager}", &manager_id.to_string())
        .replace("{n}", &n.to_string());
    for statement in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        sqlx::raw_sql(statement).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query("vacuum analyze").execute(&server.pool).await.unwrap();
    let events: i64 =
        sqlx::query_scalar("select count(*) from stage_events").fetch_one(&server.pool).await.unwrap();
    let bytes: i64 = sqlx::query_scalar("select pg_database_size(current_database())")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    println!(
        "generated {n} consultations, {events} stage events in {:.0} s (database {:.0} MB)",
        t.elapsed().as_secs_f64(),
        bytes as f64 / 1e6
    );

    let pid = server.pid();
    let rss_before = rss_kb(pid);
    let today = Utc::now().date_naive();
    let year = format!("{}/api/analytics/dashboard?from={}&to={today}", server.url, today - Days::days(364));
    let all = format!(
        "{}/api/analytics/dashboard?from={}&to={today}&period=quarter",
        server.url,
        today - Days::days(1830)
    );

    // The first request folds every lead into memory; past the 30 s request timeout it gets a
    // 408 while the load goes on, so ask again until it is there.
    let t = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let resp = http.get(&year).send().await.expect("dashboard");
        if resp.status().is_success() {
            break;
        }
        assert_eq!(resp.status(), reqwest::StatusCode::REQUEST_TIMEOUT, "first dashboard");
    }
    println!(
        "first request (folds every lead into memory): {:.1} s ({attempts} attempts)",
        t.elapsed().as_secs_f64()
    );
    println!(
        "server memory: {} MB before, {} MB after the facts loaded",
        rss_before / 1024,
        rss_kb(pid) / 1024
    );

    for (label, url) in [("one year", &year), ("all time (5 years)", &all)] {
        // The first dashboard over a range reads every chunk and keeps the settled chunks' parts;
        // the ones after merge them (`analytics::pass`).
        let (_, first) = hit(&http, url).await;
        println!("{label}: first dashboard over the range {first:.1} ms of server time");
        let (mut rtt, mut st) = (vec![], vec![]);
        for _ in 0..requests {
            let (r, s) = hit(&http, url).await;
            rtt.push(r);
            st.push(s);
        }
        report(label, rtt, st);
    }
    println!("server memory: {} MB with both ranges' parts kept", rss_kb(pid) / 1024);

    // The process map over the year: the dashboard's pass (kept parts) for its funnel, and every
    // lead's path walked for the graph (issue 24).
    let map = format!("{}/api/analytics/process-map?from={}&to={today}", server.url, today - Days::days(364));
    let (_, first) = hit(&http, &map).await;
    println!("process map, one year: first request {first:.1} ms of server time");
    let (mut rtt, mut st) = (vec![], vec![]);
    for _ in 0..requests {
        let (r, s) = hit(&http, &map).await;
        rtt.push(r);
        st.push(s);
    }
    report("process map, one year", rtt, st);

    // A technician pushes one consultation's worth (20 mutations); the next dashboard re-folds
    // only that lead. What this costs the push itself: nothing (no analytics work on the push path).
    let (tech, tech_http) = &techs[0];
    let mut refresh = vec![];
    let mut push_times = vec![];
    let client_id = Uuid::now_v7();
    let mut next = 1u64;
    for _ in 0..20 {
        let req = common::push_request(*tech, client_id, &mut next);
        let t = Instant::now();
        let resp = tech_http.post(format!("{}/api/sync/push", server.url)).json(&req).send().await.unwrap();
        assert!(resp.status().is_success());
        push_times.push(t.elapsed());
        let (_, s) = hit(&http, &year).await;
        refresh.push(s);
    }
    push_times.sort();
    refresh.sort_by(f64::total_cmp);
    println!(
        "after each push of 20 mutations: dashboard server time p50 {:.1} ms (refresh + report); push p50 {:.1} ms",
        refresh[refresh.len() / 2],
        ms(percentile(&push_times, 0.5))
    );

    // Cold start (ADR 0065): the facts were written to their stored snapshot after the first
    // fold (the pushes above are not in it yet: a process writes at most once a minute). A new
    // process, with BENCH_FACTS_MB (320) for facts, reads the snapshot back and re-folds only
    // the leads changed since.
    let t = Instant::now();
    let stored: (i64, i64) = loop {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "select s.version, coalesce((select sum(length(bytes)) from analytics_snapshot_chunks c
                                          where c.company_id = s.company_id), 0)::bigint
             from analytics_snapshots s where s.company_id = $1",
        )
        .bind(company)
        .fetch_optional(&server.pool)
        .await
        .unwrap();
        if let Some(row) = row {
            break row;
        }
        assert!(t.elapsed() < Duration::from_secs(300), "the facts' snapshot was not written in 5 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("stored snapshot: {:.0} MB at version {}", stored.1 as f64 / 1e6, stored.0);
    let budget = env_num("BENCH_FACTS_MB", 320).to_string();
    let ready = server.restart_first(&[("FIELDCLOSE_ANALYTICS_MEMORY_MB", &budget)]).await;
    let t = Instant::now();
    let (first, first_server) = hit(&http, &year).await;
    println!(
        "after a restart with {budget} MB for facts: ready in {:.2} s, then the first dashboard in {:.2} s \
         (server time {:.0} ms): {:.2} s from the start of the process",
        ready.as_secs_f64(),
        first.as_secs_f64(),
        first_server,
        (ready + t.elapsed()).as_secs_f64()
    );
    for (label, url) in [("one year", &year), ("all time (5 years)", &all)] {
        let (mut rtt, mut st) = (vec![], vec![]);
        for _ in 0..requests {
            let (r, s) = hit(&http, url).await;
            rtt.push(r);
            st.push(s);
        }
        report(&format!("after the restart, {label}"), rtt, st);
    }
    println!("server memory after the restart: {} MB", rss_kb(server.pid()) / 1024);
    server.stop().await;
}
