use crate::helpers::spawn_app;
use server::demo;

#[tokio::test]
async fn the_demo_company_gets_people_and_history_through_the_sync_path_once() {
    let app = spawn_app().await;
    let first = demo::seed_with_history(&app.pool, &app.clock, 60).await.unwrap();
    assert!(first.created);
    let again = demo::seed_with_history(&app.pool, &app.clock, 60).await.unwrap();
    assert!(!again.created, "seeding twice changes nothing");
    assert_eq!(again.company_id, first.company_id);

    let people = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from users").fetch_one(&app.pool).await.unwrap()
    };
    assert_eq!(people().await, demo::PEOPLE.len() as i64);
    // A demo made before the office person existed gets them on the next seed.
    sqlx::query("delete from users where role = 'office'").execute(&app.pool).await.unwrap();
    demo::seed_with_history(&app.pool, &app.clock, 60).await.unwrap();
    assert_eq!(people().await, demo::PEOPLE.len() as i64);
    let (leads, rejected, applied): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from leads), (select count(*) from mutation_log where status = 'rejected'),
                (select count(*) from mutation_log where status = 'applied')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(leads, 60 * 12 / 7);
    assert_eq!(rejected, 0, "every demo write is valid");
    assert!(applied > leads * 5);
    let kinds: Vec<String> = sqlx::query_scalar("select distinct kind from stage_events order by kind")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    for kind in [
        "consultation_held",
        "first_contact",
        "follow_up",
        "lead_created",
        "lost",
        "options_presented",
        "won",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} event in {kinds:?}");
    }
    // Events carry the simulated device time, spread over the period, not the seeding moment.
    let spread_days: f64 = sqlx::query_scalar(
        "select extract(epoch from max(occurred_at) - min(occurred_at))::float8 / 86400 from stage_events where kind = 'lead_created'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(spread_days > 40.0, "{spread_days}");
}
