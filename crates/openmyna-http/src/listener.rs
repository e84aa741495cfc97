//! The accept loop of every listener (the server and the kiosk): HTTP/1.1 through hyper with
//! slow-client protection, and a graceful shutdown.
//!
//! - **Headers**: a client that has not sent a request's whole header within
//!   [`ConnectionLimits::header_read_timeout`] is disconnected (hyper's header read timeout,
//!   which needs a timer; `axum::serve` sets none).
//! - **Bodies**: a request body that stalls — no bytes for
//!   [`ConnectionLimits::body_read_timeout`] — fails the request, and the connection closes
//!   (tower-http's request body timeout, per frame).
//! - Bodies are also bounded in size per route (`DefaultBodyLimit`, see the router).

use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// How long a client may take to send a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
        }
    }
}

/// How long the shutdown waits for requests in flight before it closes their connections.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting and lets the
/// requests in flight finish (at most [`DRAIN`]).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app.layer(RequestBodyTimeoutLayer::new(limits.body_read_timeout));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, peer),
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // Every request carries its connection's peer (for the per-client rate limits).
        let app = app.clone();
        let service = TowerToHyperService::new(tower::service_fn(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(crate::rate::Peer(peer));
                tower::ServiceExt::oneshot(app.clone(), req)
            },
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that goes away or times out ends its connection; nothing to report.
            let _ = connection.await;
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("connections still open after the shutdown's grace period");
        }
    }
    Ok(())
}
