//! `GET /api/sync/events`: server-sent "pull now" pokes for the caller's company.
//!
//! Pushes `NOTIFY fieldclose_sync, '<company>:<version>'` inside their transaction, so a poke is
//! sent only for committed work and reaches every server instance (one `LISTEN` connection each),
//! which fans it out to its open event streams. A poke carries no data beyond the version: the
//! client pulls, and the pull decides what it may see. Polling every 30–60 s stays the fallback.

use crate::{auth::CurrentUser, state::AppState};
use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::stream::{self, Stream, StreamExt};
use sqlx::{postgres::PgListener, PgPool};
use std::{convert::Infallible, time::Duration};
use tokio::sync::broadcast;
use uuid::Uuid;

pub const CHANNEL: &str = "fieldclose_sync";

#[derive(Debug, Clone, Copy)]
pub struct Poke {
    pub company_id: Uuid,
    pub version: i64,
}

fn parse(payload: &str) -> Option<Poke> {
    let (company, version) = payload.split_once(':')?;
    Some(Poke { company_id: company.parse().ok()?, version: version.parse().ok()? })
}

/// Starts the `LISTEN` task and returns the channel it feeds.
pub async fn listen(pool: &PgPool) -> Result<broadcast::Sender<Poke>, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    let (tx, _) = broadcast::channel(1024);
    let sender = tx.clone();
    tokio::spawn(async move {
        let mut retry = Duration::from_secs(1);
        loop {
            match listener.recv().await {
                Ok(n) => {
                    retry = Duration::from_secs(1);
                    if let Some(poke) = parse(n.payload()) {
                        let _ = sender.send(poke);
                    }
                }
                Err(e) => {
                    // PgListener reconnects on the next recv; pokes are hints, polling covers gaps.
                    tracing::warn!(error = %e, retry_in = ?retry, "sync LISTEN connection lost");
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(Duration::from_secs(60));
                }
            }
        }
    });
    Ok(tx)
}

pub async fn events(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let company = user.company_id();
    let rx = state.pokes.subscribe();
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

#[cfg(test)]
mod tests {
    #[test]
    fn parses_company_and_version() {
        let id = uuid::Uuid::now_v7();
        let p = super::parse(&format!("{id}:42")).unwrap();
        assert_eq!((p.company_id, p.version), (id, 42));
        assert!(super::parse("nonsense").is_none());
    }
}
