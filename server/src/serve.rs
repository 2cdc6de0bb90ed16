//! The accept loop: what `axum::serve` does, plus the limits it cannot set.
//!
//! `axum::serve` gives hyper no timer, so a connection that never sends a request, or sends its
//! headers a byte a minute, is kept for ever: a few thousand such sockets exhaust the server's
//! file descriptors and memory while costing the sender nothing. Here every HTTP/1 connection
//! must deliver a request's headers within [`Limits::header_read_timeout`] of the server
//! waiting for them (a new connection, or an idle keep-alive one), and at most
//! [`Limits::max_connections`] are open at once; the next waits in the kernel's backlog.

use axum::{extract::ConnectInfo, Extension, Router};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use std::{future::Future, pin::pin, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Semaphore};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` completes, then gives the requests in flight
/// up to `finish` to complete (idle connections are closed at once); any still running then are
/// cut (a device retries its push; pushes are idempotent).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    finish: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    // HTTP/1 only: browsers speak HTTP/2 only over TLS, which a proxy in front terminates; and
    // sniffing for an HTTP/2 preface would wait, with no timeout, for a first byte that an idle
    // socket never sends.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, a connection reset before accept: wait, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // What `into_make_service_with_connect_info` would add: the peer, for `ConnectInfo`.
        let service = TowerToHyperService::new(router.clone().layer(Extension(ConnectInfo(peer))));
        let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that vanished or timed out is not the server's error.
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(finish, graceful.shutdown()).await.is_err() {
        tracing::warn!(seconds = finish.as_secs(), "requests still running after the drain's limit were cut");
    }
    Ok(())
}
