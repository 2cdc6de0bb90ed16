//! `GET /api/sync/events`: server-sent "pull now" pokes for the caller's company.
//!
//! A writer's version sends the poke when it settles after its commit (`clock::Ticket`), through
//! Postgres (`NOTIFY fieldclose_poke`), so the devices of every server process hear it; a poke
//! is sent only for committed work, and the pull it prompts reaches that work. A poke carries
//! no data beyond the version: the client pulls, and the pull decides what it may see. Polling
//! every 30–60 s stays the fallback (pokes sent while a process's listener reconnects are lost).

use crate::{auth::CurrentUser, state::AppState};
use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::stream::{self, Stream, StreamExt};
use std::{convert::Infallible, time::Duration};
use tokio::sync::broadcast;
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
pub struct Poke {
    pub company_id: Uuid,
    pub version: i64,
}

/// How often an open stream checks that its session is still live (deactivated, expired, or
/// signed out on another server); signing out on this one ends it at once.
const RECHECK: Duration = Duration::from_secs(60);

/// How soon a device's event stream reconnects after the server ended it.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

#[utoipa::path(get, path = "/sync/events", tag = "sync",
    responses((status = 200, content_type = "text/event-stream", description = "`poke` events: pull now")))]
pub async fn events(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: axum::http::HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let company = user.company_id();
    let token = crate::auth::session::token_from(&headers).map(|t| crate::auth::session::hash_token(&t));
    let mut ended = state.sessions.ended();
    let (pool, max_age) = (state.pool.clone(), state.config.session_max_age);
    let session_over = async move {
        // (A signed-in request always carries its token; without one there is nothing to watch.)
        let Some(token) = token else { return std::future::pending::<()>().await };
        let mut tick = tokio::time::interval(RECHECK);
        tick.tick().await; // the first tick is at once; the session was just checked
        loop {
            tokio::select! {
                msg = ended.recv() => match msg {
                    Ok(t) if t == token => return,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                },
                _ = tick.tick() => {
                    let live = crate::auth::session::is_live(&pool, &token, max_age).await;
                    if matches!(live, Ok(false)) {
                        return;
                    }
                }
            }
        }
    };
    let rx = state.clock.pokes().subscribe();
    // The reconnect delay a browser's EventSource uses when the stream ends (this process
    // shutting down, say): soon, and to whichever process the balancer picks.
    let hello =
        stream::once(async { Ok(Event::default().event("poke").data("connected").retry(RECONNECT_AFTER)) });
    let pokes = stream::unfold(rx, move |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(p) if p.company_id == company => {
                    return Some((Ok(Event::default().event("poke").data(p.version.to_string())), rx))
                }
                Ok(_) => continue,
                // Fell behind: one poke covers everything missed.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some((Ok(Event::default().event("poke").data("lagged")), rx))
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let mut shutdown = state.shutdown.clone();
    let stopping = async move {
        let _ = shutdown.wait_for(|stopping| *stopping).await;
    };
    // Ends when the server shuts down (the browser's EventSource reconnects to the next one) or
    // the session ends.
    let over = async move {
        tokio::select! {
            _ = stopping => {},
            _ = session_over => {},
        }
    };
    Sse::new(hello.chain(pokes).take_until(over))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(25)))
}
