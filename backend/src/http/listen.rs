//! Serving connections: hyper's HTTP/1.1 loop with the limits `axum::serve` leaves open.
//!
//! * A deadline for a request's headers ([`ServeLimits::header_timeout`]): a client that
//!   trickles bytes (slowloris) is cut off instead of holding a connection for ever.
//! * A cap on open connections ([`ServeLimits::max_connections`]): past it, new ones wait
//!   in the kernel's accept queue rather than take memory and file descriptors.
//! * A bounded graceful shutdown ([`ServeLimits::shutdown_grace`]): on SIGTERM the
//!   listener closes, requests in flight finish, idle keep-alive connections close, and
//!   whatever is still running after the grace period is dropped.
//!
//! The per-request deadline (a slow body, a slow handler) is a tower layer in
//! [`super::router`]. Written here rather than taken from a crate because axum's own
//! `serve` exposes none of these knobs; hyper and hyper-util provide every piece, this
//! only wires them (as axum's `serve-with-hyper` example does).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

pub use crate::config::ServeLimits;

/// Serves `app` on `listener` until `shutdown` resolves, then drains (see the module doc).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            app.clone().oneshot(req)
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(
                grace = ?limits.shutdown_grace,
                "requests still running after the shutdown grace period were dropped"
            );
        }
    }
}
