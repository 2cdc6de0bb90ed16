//! A device's first page comes with its first screen's rows (ADR 0058): rendered into the HTML
//! and carried as JSON the browser hydrates over; only rows the person may see; none once the
//! device says it has synced.

use crate::{
    helpers::{spawn_app, TestApp, PASSWORD},
    sync_fixtures::{assign_rep, consultation, customer, lead, Company},
};
use app::{
    domain::Role,
    sync::protocol::{Entity, StoredRow},
};
use reqwest::{cookie::Jar, redirect, Client};
use std::{collections::BTreeSet, sync::Arc};
use uuid::Uuid;

/// The page's first-screen rows (entity, id), or `None` when the page carries none.
async fn first_screen(client: &Client, app: &TestApp, path: &str) -> Option<BTreeSet<(Entity, Uuid)>> {
    let resp = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    let html = resp.text().await.unwrap();
    let start = html.find(r#"id="fc-first-screen">"#)? + r#"id="fc-first-screen">"#.len();
    let json = &html[start..start + html[start..].find("</script>").unwrap()];
    assert!(!json.contains('<'), "a row's text cannot end the script element: {json}");
    let rows: Vec<StoredRow> = serde_json::from_str(json).unwrap();
    Some(rows.into_iter().map(|r| (r.entity, r.id)).collect())
}

/// A client of `email` whose cookie jar can be added to.
async fn jar_client(app: &TestApp, email: &str) -> (Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client =
        Client::builder().cookie_provider(jar.clone()).redirect(redirect::Policy::none()).build().unwrap();
    assert_eq!(app.login(&client, email, PASSWORD).await.status(), 200);
    (client, jar)
}

#[tokio::test]
async fn a_first_page_carries_the_rows_of_its_screen_within_sight() {
    let app = spawn_app().await;
    let co = Company::new(&app, "Acme").await;
    let mut tech = co.device(&app, "tech@acme.test", Role::Technician).await;
    let mut other = co.device(&app, "other@acme.test", Role::Technician).await;
    let rep_id = app.create_user(co.id, "rep@acme.test", Role::SalesRep).await;

    // The technician's visit today, for a customer whose name would close a script element.
    let (ann, m) = customer("Ann </script><script>alert(1)</script>");
    tech.mutate(m).await;
    let (ann_lead, m) = lead(ann);
    tech.mutate(m).await;
    let (visit, m) = consultation(ann_lead, Some(tech.user_id));
    tech.mutate(m).await;
    tech.sync().await;
    let revision = tech.revision_of(Entity::Consultation, visit);
    tech.mutate(assign_rep(visit, revision, rep_id)).await;
    tech.sync().await;
    // Another technician's work, and another company's.
    let (bob, m) = customer("Bob Hidden");
    other.mutate(m).await;
    let (bob_lead, m) = lead(bob);
    other.mutate(m).await;
    let (hidden, m) = consultation(bob_lead, Some(other.user_id));
    other.mutate(m).await;
    other.sync().await;
    let zed = Company::new(&app, "Zed").await;
    let mut zed_tech = zed.device(&app, "tech@zed.test", Role::Technician).await;
    let (_, _, zed_visit) = crate::sync_fixtures::new_consultation(&mut zed_tech).await;
    zed_tech.sync().await;

    let (client, jar) = jar_client(&app, "tech@acme.test").await;
    let today = first_screen(&client, &app, "/today").await.expect("Today carries its rows");
    for row in [(Entity::Consultation, visit), (Entity::Customer, ann), (Entity::Lead, ann_lead)] {
        assert!(today.contains(&row), "{row:?} in {today:?}");
    }
    assert!(!today.iter().any(|(_, id)| [hidden, bob, zed_visit].contains(id)), "{today:?}");
    let html = client.get(app.url("/today")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-testid=\"consultation\""), "the server rendered the row");
    assert!(html.contains("Ann &lt;/script&gt;"), "the name rendered as text");

    let opened = first_screen(&client, &app, &format!("/visit?id={visit}&step=home")).await.unwrap();
    assert!(opened.contains(&(Entity::Consultation, visit)) && opened.contains(&(Entity::Customer, ann)));
    for id in [hidden, zed_visit] {
        assert_eq!(first_screen(&client, &app, &format!("/visit?id={id}")).await, None, "not theirs: {id}");
    }
    assert_eq!(first_screen(&client, &app, "/new").await, None, "a page without records carries none");

    // The rep's queue: the quote handed to them.
    let (rep, _) = jar_client(&app, "rep@acme.test").await;
    let queue = first_screen(&rep, &app, "/queue").await.expect("the queue carries its quotes");
    assert!(queue.contains(&(Entity::Consultation, visit)) && queue.contains(&(Entity::Customer, ann)));
    assert!(!queue.iter().any(|(_, id)| *id == hidden));

    // The service worker's offline copies carry none (a synced device opens them).
    let copy = client.get(app.url("/today")).header("x-fieldclose-offline-copy", "1").send().await.unwrap();
    assert!(!copy.text().await.unwrap().contains("fc-first-screen"));

    // Once the device has synced, its own records are faster: no rows with the page. Another
    // person's mark does not count.
    let url = app.url("/").parse().unwrap();
    jar.add_cookie_str(&format!("fc_synced={}", Uuid::now_v7()), &url);
    assert!(first_screen(&client, &app, "/today").await.is_some());
    jar.add_cookie_str(&format!("fc_synced={}", tech.user_id), &url);
    assert_eq!(first_screen(&client, &app, "/today").await, None);
}
