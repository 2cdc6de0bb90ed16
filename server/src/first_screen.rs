//! The first screen's records, sent with the page to a device that has not synced yet (ADR
//! 0058). A phone's first visit used to show nothing until its first sync had downloaded and
//! stored every record it keeps; now the server renders the screen from the few rows it needs
//! (Today's visits and recent work, the rep's queue, the consultation opened) and puts the same
//! rows in the page, so the browser hydrates over them and shows them until the device's own
//! copy is complete. They are a preview, never stored: the protocol and its invariants are
//! untouched.
//!
//! A device that has synced says so with the `fc_synced` cookie (its person's id), and gets no
//! rows: its own records open faster than the server could send them. Nor do the pages the
//! service worker keeps for offline starts (`X-Fieldclose-Offline-Copy`): a device opens them
//! once it has synced, and stale rows would show until its own records had opened.

use crate::{
    auth::{session::cookie_value, CurrentUser},
    state::AppState,
    sync::Actor,
};
use app::{api::Me, sync::device::FirstScreen, sync::protocol::Entity};
use axum::{extract::Request, extract::State, middleware::Next, response::Response};
use uuid::Uuid;

/// How many of the newest consultations a list's first screen shows (Today's and the
/// dashboard's `recent`).
const RECENT: i64 = app::ui::RECENT_CONSULTATIONS as i64;
/// The header the service worker sends when it fetches a page to keep for offline starts.
const OFFLINE_COPY: &str = "x-fieldclose-offline-copy";
/// At most this many quotes on the rep's first screen; the rest come with the first sync.
const QUEUE: i64 = 100;

/// Puts the first screen's rows into the request for the page to render (see the module).
pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if req.method() == http::Method::GET && state.page_paths.contains(path) {
        if let Some(me) = req.extensions().get::<Me>().cloned() {
            let synced = cookie_value(req.headers(), app::sync::device::SYNCED_COOKIE)
                .is_some_and(|v| v == me.user_id.to_string());
            // The service worker's offline copies are opened later, from a synced device.
            let offline_copy = req.headers().contains_key(OFFLINE_COPY);
            if !synced && !offline_copy {
                let id = req.uri().query().and_then(id_param);
                match rows(&state, &me, path, id).await {
                    Ok(Some(first)) => {
                        req.extensions_mut().insert(first);
                    }
                    Ok(None) => {}
                    // The page still works without them: the device's first sync brings them.
                    Err(e) => tracing::warn!(error = %e, path, "first screen rows not read"),
                }
            }
        }
    }
    next.run(req).await
}

/// `id=…` of a page's query (`/visit`, `/quote`).
fn id_param(query: &str) -> Option<Uuid> {
    query.split('&').find_map(|pair| pair.strip_prefix("id=")).and_then(|v| v.parse().ok())
}

/// The consultations a page's first screen shows, with their families; `None` for a page that
/// shows none.
async fn rows(
    state: &AppState,
    me: &Me,
    path: &str,
    id: Option<Uuid>,
) -> Result<Option<FirstScreen>, sqlx::Error> {
    let actor = Actor::new(&CurrentUser(me.clone()), Uuid::nil());
    // What each screen reads: a list needs the consultation, its customer and its lead; the
    // queue also the options (what was quoted), contacts and follow-ups; an opened
    // consultation its whole family.
    const LIST: &[Entity] = &[Entity::Customer, Entity::Lead, Entity::Consultation];
    const QUEUE_KINDS: &[Entity] = &[
        Entity::Customer,
        Entity::Lead,
        Entity::Consultation,
        Entity::Option,
        Entity::Activity,
        Entity::Followup,
    ];
    let (ids, kinds): (Vec<Uuid>, &[Entity]) = match path {
        // Today: the technician's visits of the day (in the company's zone), then recent work.
        "/today" => {
            let mut ids = sqlx::query_scalar!(
                r#"select c.id from consultations c
                   where c.company_id = $1 and not c.deleted and ($2 or $3 = any(c.scope_users))
                     and c.technician_id = $3 and c.cancelled_at is null
                     and (c.scheduled_at at time zone $4)::date = (now() at time zone $4)::date"#,
                actor.company_id,
                actor.sees_all(),
                actor.user_id,
                me.time_zone,
            )
            .fetch_all(&state.pool)
            .await?;
            ids.extend(recent(state, &actor, me.history_days).await?);
            (ids, LIST)
        }
        "/dashboard" => (recent(state, &actor, me.history_days).await?, LIST),
        // The rep's queue (`quotes::queue_of`): open quotes handed to them, or with an open
        // follow-up of theirs.
        "/queue" => {
            let ids = sqlx::query_scalar!(
                r#"select c.id from consultations c
                   where c.company_id = $1 and not c.deleted and ($2 or $3 = any(c.scope_users))
                     and c.status = 'open'
                     and (c.sales_rep_id = $3 or exists (
                          select 1 from followups f
                          where f.company_id = $1 and f.consultation_id = c.id and f.assignee_id = $3
                            and f.done_at is null and not f.deleted))
                   order by c.id desc limit $4"#,
                actor.company_id,
                actor.sees_all(),
                actor.user_id,
                QUEUE,
            )
            .fetch_all(&state.pool)
            .await?;
            (ids, QUEUE_KINDS)
        }
        "/visit" | "/quote" => (id.into_iter().collect(), crate::sync::family::ALL),
        _ => return Ok(None),
    };
    let rows = crate::sync::family::rows(&state.pool, &actor, &ids, kinds).await?;
    Ok((!rows.is_empty()).then(|| FirstScreen::new(rows)))
}

/// The newest consultations in sight that a device keeps (its history window), as the lists
/// show them: by id, newest first.
async fn recent(state: &AppState, actor: &Actor, history_days: u32) -> Result<Vec<Uuid>, sqlx::Error> {
    // Dynamic: the window's rule is one piece of SQL, shared with the first sync's.
    sqlx::query_scalar(&format!(
        "select c.id from consultations c
         where c.company_id = $1 and not c.deleted and ($2 or $3 = any(c.scope_users)) and {}
         order by c.id desc limit $4",
        crate::sync::window::consultation_kept("c", "now() - make_interval(days => $5)")
    ))
    .bind(actor.company_id)
    .bind(actor.sees_all())
    .bind(actor.user_id)
    .bind(RECENT)
    .bind(history_days as i32)
    .fetch_all(&state.pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_read_from_the_query_whatever_its_place() {
        let id = Uuid::now_v7();
        assert_eq!(id_param(&format!("id={id}&step=home")), Some(id));
        assert_eq!(id_param(&format!("step=home&id={id}")), Some(id));
        assert_eq!(id_param("id=not-a-uuid"), None);
        assert_eq!(id_param("step=home"), None);
    }
}
