//! `GET /api/sync/events`: server-sent "pull now" pokes for the caller's company.
//!
//! A writer's version sends the poke when it settles after its commit (`clock::Ticket`), so a
//! poke is sent only for committed work, and the pull it prompts reaches that work. A poke
//! carries no data beyond the company's watermark: the client pulls, and the pull decides what
//! it may see. Polling every 30–60 s stays the fallback.

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

pub async fn events(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let company = user.company_id();
    let rx = state.clock.pokes().subscribe();
    let hello = stream::once(async { Ok(Event::default().event("poke").data("connected")) });
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
    // Ends when the server shuts down; the browser's EventSource reconnects to the next one.
    Sse::new(hello.chain(pokes).take_until(stopping))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(25)))
}

#[utoipa::path(get, path = "/api/sync/events", tag = "sync",
    responses((status = 200, content_type = "text/event-stream", description = "`poke` events: pull now")))]
pub fn events_doc() {}
