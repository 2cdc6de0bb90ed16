//! SYNC.md's ten invariants, one named test each, against the real server and Postgres.

use crate::{device::Device, helpers::spawn_app, sync_fixtures::*};
use app::{
    domain::Role,
    sync::protocol::{Entity, MutationStatus, PatchOp},
};
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn invariant_1_no_acknowledged_write_is_ever_lost() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut manager = co.device(&app, "m@acme.test", Role::Manager).await;

    let (customer, lead, consultation) = new_consultation(&mut tech).await;
    tech.push_all().await.unwrap();
    assert_eq!(tech.engine.state().last_mutation_id, 3, "all three acknowledged");

    // The acknowledged writes are in Postgres, in the log, and reach another device.
    manager.pull_all(None).await.unwrap();
    assert!(manager.has(Entity::Customer, customer));
    assert!(manager.has(Entity::Lead, lead));
    assert!(manager.has(Entity::Consultation, consultation));
    assert_eq!(count(&app, "select count(*) from mutation_log where status = 'applied'").await, 3);

    // A tab killed after the ack but before its pull loses nothing either.
    tech.restart().await;
    tech.pull_all(None).await.unwrap();
    assert!(tech.has(Entity::Consultation, consultation));
    assert_eq!(tech.engine.pending_count(), 0);
}

#[tokio::test]
async fn invariant_2_replaying_a_push_changes_nothing() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    new_consultation(&mut tech).await;
    let push = tech.engine.push_request(20).unwrap();

    let first = tech.send_push(&push).await.unwrap();
    assert_eq!(first.results.len(), 3);
    let snapshot = |app: &crate::helpers::TestApp| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (i64, i64, i64, i64)>(
                "select (select coalesce(max(version), 0) from mutation_log), (select count(*) from customers),
                        (select count(*) from mutation_log), (select coalesce(sum(version), 0)::bigint from consultations)",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let before = snapshot(&app).await;
    // The response was lost; the client retries the very same push, twice, even concurrently.
    let (a, b) = tokio::join!(tech.send_push(&push), tech.send_push(&push));
    for replay in [a.unwrap(), b.unwrap()] {
        assert_eq!(replay.last_mutation_id, 3);
        assert!(replay.results.is_empty(), "a replay applies nothing");
    }
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn invariant_3_mutations_apply_in_client_order_and_nothing_after_a_gap() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    new_consultation(&mut tech).await;
    let full = tech.engine.push_request(20).unwrap();

    // Mutation 1 is lost in transit; 2 and 3 arrive: nothing applies (the lead needs its customer).
    let mut gap = full.clone();
    gap.mutations.remove(0);
    let resp = tech.send_push(&gap).await.unwrap();
    assert_eq!(resp.last_mutation_id, 0);
    assert!(resp.results.is_empty());
    assert_eq!(count(&app, "select count(*) from customers").await, 0);
    assert_eq!(count(&app, "select count(*) from mutation_log").await, 0);

    // The whole run arrives: applied in order 1, 2, 3 (each depends on the one before).
    let resp = tech.send_push(&full).await.unwrap();
    assert_eq!(
        resp.results.iter().map(|r| (r.id, r.status)).collect::<Vec<_>>(),
        vec![(1, MutationStatus::Applied), (2, MutationStatus::Applied), (3, MutationStatus::Applied)]
    );
    let order: Vec<String> = sqlx::query_scalar("select name from mutation_log order by mutation_id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(order, ["customer.create", "lead.create", "consultation.create"]);
}

#[tokio::test]
async fn invariant_4_effects_and_acknowledgement_become_visible_together() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut created = vec![];
    for i in 0..60 {
        let (id, m) = customer(&format!("Customer {i}"));
        tech.mutate(m).await;
        created.push(id);
    }
    // Push in three batches while the same client pulls as fast as it can: every pull that
    // reports mutation n processed must also contain the customer mutation n created.
    let pushes: Vec<_> = (0..3)
        .map(|i| {
            let mut req = tech.engine.push_request(60).unwrap();
            req.mutations = req.mutations[i * 20..(i + 1) * 20].to_vec();
            req
        })
        .collect();
    let http = tech.http.clone();
    let base = tech.base.clone();
    let client_id = tech.engine.client_id();
    // The pusher sends each batch only once the puller has seen the one before acknowledged, so
    // the pulls are sure to meet the partial states (20 and 40 of 60) the invariant is about.
    let (seen_tx, mut seen_rx) = tokio::sync::watch::channel(0usize);
    let pusher = tokio::spawn({
        let (http, base) = (http.clone(), base.clone());
        async move {
            for (i, p) in pushes.into_iter().enumerate() {
                seen_rx.wait_for(|acked| *acked >= i * 20).await.unwrap();
                let _: app::sync::protocol::PushResponse =
                    crate::device::post(&http, &format!("{base}/api/sync/push"), &p).await.unwrap();
            }
        }
    });
    let mut observed = BTreeSet::new();
    loop {
        let req = app::sync::protocol::PullRequest {
            client_id,
            cookie: None,
            limit: None,
            pending_from: None,
            kinds_version: app::sync::protocol::KINDS_VERSION,
        };
        let resp: app::sync::protocol::PullResponse =
            crate::device::post(&http, &format!("{base}/api/sync/pull"), &req).await.unwrap();
        let seen: BTreeSet<_> = resp.patch.iter().map(|op| op.key().1).collect();
        let acked = resp.last_mutation_id as usize;
        for (n, id) in created.iter().enumerate() {
            assert_eq!(seen.contains(id), n < acked, "mutation {} vs last_mutation_id {acked}", n + 1);
        }
        observed.insert(acked);
        seen_tx.send_replace(acked);
        if acked == 60 {
            break;
        }
    }
    pusher.await.unwrap();
    assert!(observed.contains(&20) && observed.contains(&40), "partial acknowledgements seen: {observed:?}");
}

#[tokio::test]
async fn invariant_5_the_pull_cursor_misses_nothing_under_concurrent_pushes() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let (writers, expected) = co.technicians_with_customers(&app, 6, 25).await;
    let mut reader = co.device(&app, "m@acme.test", Role::Manager).await;
    // Six devices push in small batches at once while the manager pulls in small pages.
    let handles: Vec<_> = writers
        .into_iter()
        .map(|mut w| {
            tokio::spawn(async move {
                while let Some(req) = w.engine.push_request(3) {
                    let resp = w.send_push(&req).await.unwrap();
                    w.engine.on_push_response(&resp).await.unwrap();
                }
            })
        })
        .collect();
    let mut done = false;
    while !done {
        done = handles.iter().all(|h| h.is_finished());
        reader.pull_all(Some(7)).await.unwrap();
    }
    reader.pull_all(Some(7)).await.unwrap();
    let got: BTreeSet<_> =
        reader.rows().keys().filter(|(e, _)| *e == Entity::Customer).map(|(_, id)| *id).collect();
    assert_eq!(got, expected, "every committed row reached the incremental reader");
}

/// The cursor is exact although writers take their versions when they start and commit in any
/// order: a pull stops below a version still in flight, and reports a device's own later push
/// as done only once it can hand over that push's rows.
#[tokio::test]
async fn invariant_5_the_pull_cursor_waits_for_a_version_still_in_flight() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut reader = co.device(&app, "m@acme.test", Role::Manager).await;

    // A slow writer takes its version and writes, and has not committed yet.
    let mut tx = app.pool.begin().await.unwrap();
    let slow = app.clock.begin(co.id, &mut tx).await.unwrap();
    let held = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into customers (company_id, id, name, version, scope_users, created_by, updated_by)
         values ($1, $2, 'Held back', $3, array[$4::uuid], $4, $4)",
    )
    .bind(co.id)
    .bind(held)
    .bind(slow.version())
    .bind(reader.user_id)
    .execute(&mut *tx)
    .await
    .unwrap();

    // A later writer commits first.
    let (quick, m) = customer("Quick");
    tech.mutate(m).await;
    tech.push_all().await.unwrap();
    let early = reader.pull_once(None).await.unwrap();
    assert!(early.cookie.version < slow.version(), "the cookie stops below the version in flight");
    assert!(!reader.has(Entity::Customer, quick), "the later write waits for the earlier one");
    let own = tech.pull_once(None).await.unwrap();
    assert_eq!(own.last_mutation_id, 0, "the push is not reported done before its rows can be pulled");
    assert_eq!(tech.engine.pending_count(), 1, "so the device keeps its mutation");

    // Once the slow writer commits, one pull brings both, and the device's push is done.
    slow.commit(tx).await.unwrap();
    reader.pull_all(None).await.unwrap();
    assert!(reader.has(Entity::Customer, held) && reader.has(Entity::Customer, quick));
    let own = tech.pull_once(None).await.unwrap();
    assert_eq!(own.last_mutation_id, 1);
    assert_eq!(tech.engine.pending_count(), 0);
    assert!(tech.has(Entity::Customer, quick));
}

#[tokio::test]
async fn invariant_6_cookies_never_go_backwards_and_a_client_reads_its_own_writes() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut other = co.device(&app, "m@acme.test", Role::Manager).await;
    let mut last = 0;
    for round in 0..5 {
        let (_, _, k) = new_consultation(&mut tech).await;
        let (c, m) = customer("Somebody");
        other.mutate(m).await;
        other.push_all().await.unwrap();
        tech.push_all().await.unwrap();
        let resp = tech.pull_once(None).await.unwrap();
        assert!(resp.cookie.version >= last, "round {round}: cookie went backwards");
        last = resp.cookie.version;
        assert!(tech.has(Entity::Consultation, k), "own write visible after the pull that follows its ack");
        assert!(!tech.has(Entity::Customer, c), "another person's customer is not a technician's");
        // Pulling again with the same cookie returns nothing new and keeps the cookie.
        let again = tech.pull_once(None).await.unwrap();
        assert!(again.patch.is_empty());
        assert_eq!(again.cookie.version, last);
    }
}

/// Scope reaches versions too (ADR 0061): each company has its own clock, so another company's
/// writes never move a device's cookie (which would tell it how busy that company is).
#[tokio::test]
async fn versions_are_per_company_so_another_companys_writes_never_move_a_cookie() {
    let app = spawn_app().await;
    let acme = Company::new(&app, "Acme Air").await;
    let globex = Company::new(&app, "Globex Heating").await;
    let mut ours = acme.device(&app, "m@acme.test", Role::Manager).await;
    let mut theirs = globex.device(&app, "m@globex.test", Role::Manager).await;
    let before = ours.pull_once(None).await.unwrap().cookie.version;
    for n in 0..5 {
        theirs.mutate(customer(&format!("Globex customer {n}")).1).await;
        theirs.push_all().await.unwrap();
    }
    assert!(theirs.pull_once(None).await.unwrap().cookie.version > 0, "the other company's clock moved");
    assert_eq!(ours.pull_once(None).await.unwrap().cookie.version, before, "ours did not");
    ours.mutate(customer("Acme customer").1).await;
    ours.push_all().await.unwrap();
    assert_eq!(ours.pull_once(None).await.unwrap().cookie.version, before + 1, "one write, one version");
}

#[tokio::test]
async fn invariant_7_no_row_outside_a_clients_scope_is_ever_sent() {
    let app = spawn_app().await;
    let acme = Company::new(&app, "Acme Air").await;
    let rival = Company::new(&app, "Rival").await;
    let mut tech_a = acme.device(&app, "a@acme.test", Role::Technician).await;
    let mut tech_b = acme.device(&app, "b@acme.test", Role::Technician).await;
    let mut rep = acme.device(&app, "r@acme.test", Role::SalesRep).await;
    let mut manager = acme.device(&app, "m@acme.test", Role::Manager).await;
    let mut outsider = rival.device(&app, "m@rival.test", Role::Manager).await;

    let (customer_id, _, k) = new_consultation(&mut tech_a).await;
    tech_a.mutate(activity(k).1).await;
    tech_a.sync().await;
    for d in [&mut tech_b, &mut rep, &mut manager, &mut outsider] {
        d.pull_all(None).await.unwrap();
    }
    let domain = |d: &Device| d.rows().keys().filter(|(e, _)| !matches!(e, Entity::TeamMember)).count();
    assert_eq!(domain(&tech_b), 0, "another technician sees none of it");
    assert_eq!(domain(&rep), 0, "a rep sees nothing not assigned to them");
    assert!(manager.has(Entity::Consultation, k) && manager.has(Entity::Customer, customer_id));
    assert!(outsider.rows().is_empty() || outsider.rows().keys().all(|(e, _)| *e == Entity::TeamMember));
    assert!(
        !outsider.rows().values().any(|(_, v)| v.to_string().contains("acme.test")),
        "no Acme person leaks"
    );

    // Writing into what one cannot see is rejected, and says so.
    tech_b.mutate(update(k, 0, json!({ "notes": "mine now" }))).await;
    tech_b.push_all().await.unwrap();
    let rejected = &tech_b.engine.state().rejected;
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].reason.contains("not yours"), "{}", rejected[0].reason);

    // Once the consultation is assigned to the rep, the rep receives it and its family.
    let v = manager.revision_of(Entity::Consultation, k);
    manager.mutate(assign_rep(k, v, rep.user_id)).await;
    manager.sync().await;
    rep.pull_all(None).await.unwrap();
    assert!(rep.has(Entity::Consultation, k) && rep.has(Entity::Customer, customer_id));
    assert_eq!(rep.rows().keys().filter(|(e, _)| *e == Entity::Activity).count(), 1);
    for (e, id) in rep.rows().keys() {
        if *e == Entity::TeamMember {
            continue;
        }
        let table = match e {
            Entity::Customer => "customers",
            Entity::Lead => "leads",
            Entity::Consultation => "consultations",
            Entity::Activity => "activities",
            Entity::StageEvent => "stage_events",
            other => panic!("unexpected {other:?}"),
        };
        let visible: bool =
            sqlx::query_scalar(&format!("select $1 = any(scope_users) from {table} where id = $2"))
                .bind(rep.user_id)
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert!(visible, "{e:?} {id} reached the rep without being in scope");
    }

    // Unassigned again: the rep's devices reset and the rows leave them.
    let v = manager.revision_of(Entity::Consultation, k);
    manager.mutate(update(k, v, json!({ "sales_rep_id": null }))).await;
    manager.sync().await;
    let resp = rep.pull_once(None).await.unwrap();
    assert!(resp.reset, "losing sight of rows resets the device");
    rep.pull_all(None).await.unwrap();
    assert!(!rep.has(Entity::Consultation, k));
}

#[tokio::test]
async fn invariant_8_every_overwritten_concurrent_edit_leaves_a_conflict_record() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let (_, _, k) = new_consultation(&mut tech).await;
    tech.sync().await;
    manager.pull_all(None).await.unwrap();
    let base = tech.revision_of(Entity::Consultation, k);
    assert_eq!(base, manager.revision_of(Entity::Consultation, k));

    // Both offline from the same version: one field each, and one field both.
    tech.mutate(update(k, base, json!({ "problem": "Furnace short-cycles", "notes": "tech note" }))).await;
    manager.mutate(update(k, base, json!({ "notes": "manager note", "home": { "sqft": 1800 } }))).await;
    tech.push_all().await.unwrap();
    manager.push_all().await.unwrap();
    tech.pull_all(None).await.unwrap();
    manager.pull_all(None).await.unwrap();

    // Server arrival order decides: the manager's note (second) wins; the tech's is recorded.
    for d in [&tech, &manager] {
        let row = d.row(Entity::Consultation, k).unwrap();
        assert_eq!(row["notes"], "manager note");
        assert_eq!(row["problem"], "Furnace short-cycles");
        assert_eq!(row["home"]["sqft"], 1800);
    }
    let conflicts: Vec<(String, serde_json::Value, serde_json::Value)> =
        sqlx::query_as("select field, overwritten_value, new_value from conflicts")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(conflicts, vec![("notes".into(), json!("tech note"), json!("manager note"))]);

    // A device's own successive edits, and an edit made after seeing the other, are not conflicts.
    tech.mutate(update(k, base, json!({ "problem": "again" }))).await;
    tech.push_all().await.unwrap();
    let seen = manager.revision_of(Entity::Consultation, k);
    tech.pull_all(None).await.unwrap();
    manager.pull_all(None).await.unwrap();
    let seen = seen.max(manager.revision_of(Entity::Consultation, k));
    manager.mutate(update(k, seen, json!({ "problem": "after reading it" }))).await;
    manager.push_all().await.unwrap();
    assert_eq!(count(&app, "select count(*) from conflicts").await, 1);
}

/// A push writes consecutive updates of one row's fields as one statement. The conflict
/// records must be those of applying them one by one: only this device's first write of a field
/// in the push can overwrite a concurrent edit, so the record names that mutation and its value.
#[tokio::test]
async fn invariant_8_a_run_of_updates_written_as_one_records_the_conflicts_of_one_by_one() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let (_, _, k) = new_consultation(&mut tech).await;
    tech.sync().await;
    manager.pull_all(None).await.unwrap();
    let base = tech.revision_of(Entity::Consultation, k);

    manager.mutate(update(k, base, json!({ "notes": "manager note", "problem": "manager problem" }))).await;
    manager.push_all().await.unwrap();
    // Offline from the same base, four updates in a row.
    tech.mutate(update(k, base, json!({ "notes": "tech note 1" }))).await;
    tech.mutate(update(k, base, json!({ "notes": "tech note 2" }))).await;
    tech.mutate(update(k, base, json!({ "problem": "tech problem" }))).await;
    tech.mutate(update(k, base, json!({ "home": { "sqft": 2100 } }))).await;
    tech.push_all().await.unwrap();

    let ids: Vec<i64> = sqlx::query_scalar(
        "select mutation_id from mutation_log l join sync_clients c using (client_id)
         join users u on u.id = c.user_id where u.email = 't@acme.test' order by mutation_id desc limit 4",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let (first, third) = (ids[3], ids[1]);
    let conflicts: Vec<(String, serde_json::Value, serde_json::Value, i64)> = sqlx::query_as(
        "select field, overwritten_value, new_value, mutation_id from conflicts order by field",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        conflicts,
        vec![
            ("notes".into(), json!("manager note"), json!("tech note 1"), first),
            ("problem".into(), json!("manager problem"), json!("tech problem"), third),
        ]
    );
    manager.pull_all(None).await.unwrap();
    let row = manager.row(Entity::Consultation, k).unwrap();
    assert_eq!((row["notes"].clone(), row["problem"].clone()), (json!("tech note 2"), json!("tech problem")));
    assert_eq!(row["home"]["sqft"], 2100);
}

#[tokio::test]
async fn invariant_9_deleted_records_never_come_back() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let (_, lead, k) = new_consultation(&mut tech).await;
    let (activity_id, m) = activity(k);
    tech.mutate(m).await;
    tech.sync().await;
    manager.pull_all(None).await.unwrap();
    let base = tech.revision_of(Entity::Consultation, k);

    // The manager deletes it while the technician, offline, keeps editing it.
    manager.mutate(delete(Entity::Consultation, k)).await;
    manager.sync().await;
    tech.mutate(update(k, base, json!({ "notes": "still here?" }))).await;
    tech.mutate(app::sync::mutation::Mutation::ConsultationCreate(app::sync::mutation::ConsultationCreate {
        id: k,
        lead_id: lead,
        technician_id: None,
        scheduled_at: None,
        problem: "re-created".into(),
        ..Default::default()
    }))
    .await;
    tech.sync().await;

    let reasons: Vec<&str> = tech.engine.state().rejected.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("deleted") && reasons[1].contains("already exists"), "{reasons:?}");
    for d in [&tech, &manager] {
        assert!(!d.has(Entity::Consultation, k));
        assert!(!d.has(Entity::Activity, activity_id), "its children went with it");
    }
    let deleted: bool = sqlx::query_scalar("select deleted from consultations where id = $1")
        .bind(k)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(deleted, "a tombstone, not a hole");

    // A device that was away all along learns of the delete.
    let mut late = co.device(&app, "m2@acme.test", Role::Manager).await;
    late.pull_all(None).await.unwrap();
    let resp = late.pull_once(None).await.unwrap();
    assert!(resp.patch.iter().all(|op| !matches!(op, PatchOp::Put { id, .. } if *id == k)));
    assert!(!late.has(Entity::Consultation, k));
}

#[tokio::test]
async fn invariant_10_all_clients_converge_once_their_outboxes_are_empty() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme Air").await;
    let mut tech = co.device(&app, "t@acme.test", Role::Technician).await;
    let mut rep = co.device(&app, "r@acme.test", Role::SalesRep).await;
    let mut manager = co.device(&app, "m@acme.test", Role::Manager).await;
    let mut manager2 = co.device(&app, "m2@acme.test", Role::Manager).await;

    let (_, _, k) = new_consultation(&mut tech).await;
    tech.sync().await;
    manager.pull_all(None).await.unwrap();
    let v = manager.revision_of(Entity::Consultation, k);
    manager.mutate(assign_rep(k, v, rep.user_id)).await;
    manager.sync().await;
    rep.pull_all(None).await.unwrap();
    // Everyone edits offline, then all sync in an arbitrary order, twice.
    let base = rep.revision_of(Entity::Consultation, k);
    tech.mutate(update(k, base, json!({ "notes": "t" }))).await;
    rep.mutate(update(k, base, json!({ "notes": "r", "problem": "p" }))).await;
    rep.mutate(activity(k).1).await;
    manager2.mutate(won(k, 1_250_000)).await;
    for _ in 0..2 {
        for d in [&mut rep, &mut manager2, &mut tech, &mut manager] {
            d.sync().await;
        }
    }
    let shared = |d: &Device| d.row(Entity::Consultation, k).cloned();
    assert_eq!(shared(&tech), shared(&rep));
    assert_eq!(shared(&rep), shared(&manager));
    assert_eq!(shared(&manager), shared(&manager2));
    assert_eq!(manager.rows(), manager2.rows(), "two managers hold the same company");
    assert_eq!(shared(&tech).unwrap()["status"], "won");
    for d in [&tech, &rep, &manager, &manager2] {
        assert_eq!(d.engine.pending_count(), 0);
    }
}
