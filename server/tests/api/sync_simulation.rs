//! A seeded, reproducible simulation: 24 native clients of every role in two companies edit at
//! random, offline and online, through injected faults — dropped requests, responses lost after
//! commit, duplicated and reordered pushes, tabs killed between a local write and its push, and
//! pushes aborted mid-flight (the server drops the handler and its open transaction). Then
//! everything drains and the test checks: no write lost or applied twice, every rejected write
//! kept and shown, convergence, a conflict record for every overwritten concurrent edit, scope.
//!
//! `SIM_SEEDS=7,8 cargo test -p server --test api simulation` replays chosen seeds; a failure
//! prints its seed.

use crate::{device::Device, helpers::spawn_app, sync_fixtures::*};
use app::{
    domain::{Cents, Role},
    sync::{mutation::*, protocol::*},
};
use chrono::Utc;
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use uuid::Uuid;

struct SimClient {
    device: Device,
    role: Role,
    company: Uuid,
    online: bool,
    /// Every mutation this client ever queued, for the end-of-run audit.
    made: Vec<MutationEnvelope>,
    /// Pushes kept aside to be delivered again later, out of order.
    stale: Vec<PushRequest>,
}

fn seeds() -> Vec<u64> {
    std::env::var("SIM_SEEDS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![20261129, 7])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_simulation_with_faults_converges() {
    for seed in seeds() {
        let result = tokio::spawn(run(seed)).await;
        if let Err(e) = result {
            panic!("simulation failed with seed {seed} (replay: SIM_SEEDS={seed}): {e}");
        }
    }
}

async fn run(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let app = spawn_app().await;
    let acme = Company::new(&app, "Acme Air").await;
    let rival = Company::new(&app, "Rival Plumbing").await;
    let mut clients = vec![];
    let layout = [
        (&acme, Role::Technician, 12),
        (&acme, Role::SalesRep, 6),
        (&acme, Role::Manager, 3),
        (&rival, Role::Technician, 1),
        (&rival, Role::SalesRep, 1),
        (&rival, Role::Manager, 1),
    ];
    for (company, role, n) in layout {
        for i in 0..n {
            let email = format!("{}{i}@{}.test", role.as_str(), company.id.simple());
            let device = company.device(&app, &email, role).await;
            clients.push(SimClient {
                device,
                role,
                company: company.id,
                online: true,
                made: vec![],
                stale: vec![],
            });
        }
    }
    // Everyone starts with the team.
    for c in clients.iter_mut() {
        c.device.pull_all(None).await.unwrap();
    }

    for _step in 0..700 {
        let i = rng.gen_range(0..clients.len());
        let roll = rng.gen_range(0..100);
        let c = &mut clients[i];
        match roll {
            0..=54 => local_edit(c, &mut rng).await,
            55..=84 if c.online => faulty_sync(c, &mut rng).await,
            55..=84 => {}
            85..=93 => c.online = !c.online,
            _ => c.device.restart().await, // killed between local writes and their push
        }
    }

    // Drain: everyone online, stale pushes delivered too, until nothing is pending anywhere.
    for round in 0..4 {
        for c in clients.iter_mut() {
            c.online = true;
            for stale in std::mem::take(&mut c.stale) {
                let _ = c.device.send_push(&stale).await;
            }
            c.device.push_all().await.expect("push while draining");
            c.device.pull_all(Some(250)).await.expect("pull while draining");
        }
        if round >= 1 && clients.iter().all(|c| c.device.engine.pending_count() == 0) {
            break;
        }
    }
    for c in clients.iter_mut() {
        c.device.pull_all(None).await.unwrap();
    }

    audit(&app, &clients).await;

    // The run must have exercised what it claims to: a simulation that produced no conflicts or
    // rejections proves little.
    let (applied, rejected, conflicts): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from mutation_log where status = 'applied'),
                (select count(*) from mutation_log where status = 'rejected'),
                (select count(*) from conflicts)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    eprintln!("seed {seed}: {applied} applied, {rejected} rejected, {conflicts} conflicts");
    assert!(applied >= 300 && rejected >= 1 && conflicts >= 1, "seed {seed} was too tame");
}

/// A random local write, chosen to fit the person's role and what their device holds.
async fn local_edit(c: &mut SimClient, rng: &mut StdRng) {
    let view = c.device.engine.view();
    let consultations: Vec<Uuid> =
        view.keys().filter(|(e, _)| *e == Entity::Consultation).map(|(_, id)| *id).collect();
    let reps: Vec<Uuid> = view
        .iter()
        .filter(|((e, _), v)| *e == Entity::TeamMember && v["role"] == "sales_rep" && v["active"] == true)
        .map(|((_, id), _)| *id)
        .collect();
    let target = consultations.choose(rng).copied();
    let base = |id: Uuid| c.device.revision_of(Entity::Consultation, id);
    let now = Utc::now();
    // Managers see everyone's work: half their writes edit fields, which makes concurrent edits
    // of the same consultation (and so conflicts) common enough to test.
    let pick = if c.role == Role::Manager && rng.gen_bool(0.5) { 3 } else { rng.gen_range(0..10) };
    let mutation = match (pick, target) {
        (0..=1, _) | (_, None) if c.role == Role::Technician => {
            // A whole new consultation: three mutations in order.
            let (cust, m) = customer(&format!("Customer {}", rng.gen::<u16>()));
            queue(c, m).await;
            let (lead_id, m) = lead(cust);
            queue(c, m).await;
            consultation(lead_id, None).1
        }
        (_, None) => Mutation::TimeEntryLog(TimeEntryLog {
            id: Uuid::now_v7(),
            category: "admin".into(),
            started_at: now,
            ended_at: None,
        }),
        (2..=4, Some(k)) => {
            let field = ["problem", "notes", "home"].choose(rng).unwrap();
            let value = match *field {
                "home" => {
                    let fuel = *["gas", "electric", "oil"].choose(rng).unwrap();
                    json!({ "sqft": rng.gen_range(800..4000), "fuel": fuel })
                }
                _ => json!(format!("{} {}", field, rng.gen_range(0..6))),
            };
            update(k, base(k), json!({ *field: value }))
        }
        (5, Some(k)) => activity(k).1,
        (6, Some(k)) => {
            let price = rng.gen_range(100_000..2_000_000);
            Mutation::OptionUpsert(OptionUpsert {
                id: Uuid::now_v7(),
                consultation_id: k,
                tier: ["Good", "Better", "Best"].choose(rng).unwrap().to_string(),
                position: rng.gen_range(0..3),
                line_items: vec![LineItem {
                    price_book_item_id: None,
                    description: "Furnace".into(),
                    quantity: 1,
                    unit_price_cents: Cents(price),
                    discount_cents: Cents(0),
                }],
                price_cents: Cents(price),
                financing_plan: None,
                monthly_payment_cents: None,
                presented: rng.gen_bool(0.5),
            })
        }
        (7, Some(k)) => {
            let outcome = match rng.gen_range(0..3) {
                0 => Outcome::Won { option_id: None, amount_cents: Cents(rng.gen_range(100_000..2_000_000)) },
                1 => Outcome::Lost { reason: "price".into(), competitor: None, note: None },
                _ => Outcome::Reopened,
            };
            Mutation::SetOutcome(SetOutcome { id: k, outcome, at: now })
        }
        (8, Some(k)) if c.role == Role::Manager && !reps.is_empty() => {
            let rep = if rng.gen_bool(0.8) { json!(reps.choose(rng).unwrap()) } else { Value::Null };
            update(k, base(k), json!({ "sales_rep_id": rep }))
        }
        (9, Some(k)) if c.role == Role::Manager && rng.gen_bool(0.3) => delete(Entity::Consultation, k),
        (_, Some(k)) => Mutation::FollowupSchedule(FollowupSchedule {
            id: Uuid::now_v7(),
            consultation_id: k,
            due_at: now + chrono::Duration::days(rng.gen_range(1..14)),
            assignee_id: None,
            note: String::new(),
        }),
    };
    queue(c, mutation).await;
}

async fn queue(c: &mut SimClient, m: Mutation) {
    c.device.mutate(m).await;
    c.made.push(c.device.engine.state().pending.last().unwrap().clone());
}

/// One sync attempt through a faulty network.
async fn faulty_sync(c: &mut SimClient, rng: &mut StdRng) {
    if let Some(req) = c.device.engine.push_request(rng.gen_range(1..=20)) {
        match rng.gen_range(0..10) {
            0 => {} // the request never left
            1 => {
                let _ = c.device.send_push(&req).await; // committed, but the answer was lost
            }
            2 => {
                // A double tap: the same push twice, concurrently.
                let (a, b) = tokio::join!(c.device.send_push(&req), c.device.send_push(&req));
                if let Some(resp) = a.ok().or(b.ok()) {
                    c.device.engine.on_push_response(&resp).await.unwrap();
                }
            }
            3 => {
                // The server task dies mid-push: the connection drops and the handler with it.
                let (http, url) = (c.device.http.clone(), format!("{}/api/sync/push", c.device.base));
                let body = req.clone();
                let task = tokio::spawn(async move { http.post(url).json(&body).send().await });
                tokio::time::sleep(Duration::from_micros(rng.gen_range(0..4000))).await;
                task.abort();
            }
            4 => {
                c.stale.push(req.clone()); // will arrive again, late and out of order
                if let Ok(resp) = c.device.send_push(&req).await {
                    c.device.engine.on_push_response(&resp).await.unwrap();
                }
            }
            _ => {
                if let Ok(resp) = c.device.send_push(&req).await {
                    c.device.engine.on_push_response(&resp).await.unwrap();
                }
            }
        }
    }
    if !c.stale.is_empty() && rng.gen_bool(0.3) {
        let old = c.stale.remove(rng.gen_range(0..c.stale.len()));
        if let Ok(resp) = c.device.send_push(&old).await {
            c.device.engine.on_push_response(&resp).await.unwrap();
        }
    }
    if rng.gen_bool(0.15) {
        // A pull whose answer never arrives.
        let req = c.device.engine.pull_request(Some(50));
        let _: Result<PullResponse, _> =
            crate::device::post(&c.device.http, &format!("{}/api/sync/pull", c.device.base), &req).await;
    } else {
        let _ = c.device.pull_all(Some(rng.gen_range(5..200))).await;
    }
}

async fn audit(app: &crate::helpers::TestApp, clients: &[SimClient]) {
    let pool = &app.pool;
    for c in clients {
        let client_id = c.device.engine.client_id();
        assert_eq!(c.device.engine.pending_count(), 0, "{client_id}: outbox drained");

        // Exactly once: every mutation made is in the log once, with the same content.
        let log = assert_logged_once(pool, client_id, &c.made).await;
        // Rejected writes are kept on the device with their reasons, exactly those.
        let rejected_server: BTreeSet<u64> =
            log.iter().filter(|(_, _, _, s)| s == "rejected").map(|(id, ..)| *id as u64).collect();
        let rejected_device: BTreeSet<u64> =
            c.device.engine.state().rejected.iter().map(|r| r.mutation.id).collect();
        assert_eq!(rejected_device, rejected_server, "{client_id}: rejected writes shown on the device");

        // Converged: the device holds exactly what a fresh device of the same person would pull.
        let mut fresh = Device::new(app, c.device.http.clone(), c.device.user_id).await;
        fresh.pull_all(None).await.unwrap();
        assert_eq!(c.device.rows(), fresh.rows(), "{client_id} ({:?}) converged", c.role);

        // Scope: nothing from another company, nothing the person may not see.
        for (entity, id) in c.device.rows().keys() {
            let table = match entity {
                Entity::TeamMember => "users",
                Entity::Customer => "customers",
                Entity::Lead => "leads",
                Entity::Consultation => "consultations",
                Entity::Option => "options",
                Entity::Activity => "activities",
                Entity::Followup => "followups",
                Entity::StageEvent => "stage_events",
                Entity::TimeEntry => "time_entries",
                Entity::Attachment => "attachments",
                Entity::PriceBookItem => "price_book_items",
                Entity::ChecklistTemplate => "checklist_templates",
                Entity::OptionTemplate => "option_templates",
                Entity::FinancingPlan => "financing_plans",
            };
            let scope_check = if matches!(
                entity,
                Entity::TeamMember
                    | Entity::PriceBookItem
                    | Entity::ChecklistTemplate
                    | Entity::OptionTemplate
                    | Entity::FinancingPlan
            ) || c.role == Role::Manager
            {
                "true".to_string()
            } else {
                "$3 = any(scope_users)".to_string()
            };
            let ok: bool = sqlx::query_scalar(&format!(
                "select exists(select 1 from {table} where id = $1 and company_id = $2 and {scope_check})"
            ))
            .bind(id)
            .bind(c.company)
            .bind(c.device.user_id)
            .fetch_one(pool)
            .await
            .unwrap();
            assert!(ok, "{client_id} ({:?}) holds {entity:?} {id} outside its scope", c.role);
        }
    }
    check_conflicts(pool).await;
}

/// Recomputes from the mutation log, independently of the server's bookkeeping, which applied
/// field updates overwrote a concurrent value, and compares with the conflicts table. A
/// consultation's revision counts its writes in commit order: creation is 1, and each applied
/// field update, outcome change or delete adds one.
async fn check_conflicts(pool: &sqlx::PgPool) {
    let applied: Vec<(Uuid, i64, String, Value)> = sqlx::query_as(
        "select client_id, mutation_id, name, args from mutation_log
         where status = 'applied' and (name in ('consultation.create', 'consultation.update_fields', 'consultation.set_outcome')
                                      or (name = 'record.delete' and args->>'entity' = 'consultation'))
         order by version, client_id, mutation_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut revision: HashMap<Uuid, i64> = HashMap::new();
    // (row, field) -> (revision, client, value) of the last write.
    let mut last: HashMap<(Uuid, String), (i64, Uuid, Value)> = HashMap::new();
    let mut expected = BTreeSet::new();
    for (client, mutation_id, name, args) in applied {
        let row: Uuid = serde_json::from_value(args["id"].clone()).unwrap();
        if name == "consultation.create" {
            revision.insert(row, 1);
            let initial = [
                ("problem", args["problem"].clone()),
                ("notes", json!("")),
                ("home", json!({})),
                ("sales_rep_id", Value::Null),
            ];
            for (f, v) in initial {
                last.insert((row, f.to_string()), (1, client, v));
            }
            continue;
        }
        let rev = revision.entry(row).or_insert(1);
        *rev += 1;
        if name != "consultation.update_fields" {
            continue;
        }
        let base = args["base_version"].as_i64().unwrap();
        for (field, value) in args["fields"].as_object().unwrap() {
            let key = (row, field.clone());
            if let Some((r, writer, old)) = last.get(&key) {
                if *r > base && *writer != client && old != value {
                    expected.insert((row, field.clone(), client, mutation_id));
                }
            }
            last.insert(key, (*rev, client, value.clone()));
        }
    }
    let actual: BTreeSet<(Uuid, String, Uuid, i64)> = sqlx::query_as::<_, (Uuid, String, Uuid, i64)>(
        "select row_id, field, client_id, mutation_id from conflicts",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(actual, expected, "a conflict record for every overwritten concurrent edit, and no other");
}
