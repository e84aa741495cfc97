//! The accept loop of every listener (the server and the kiosk): HTTP/1.1 through hyper with
//! slow-client protection, and a graceful shutdown.
//!
//! - **Headers**: a client that has not sent a request's whole header within
//!   [`ConnectionLimits::header_read_timeout`] is disconnected (hyper's header read timeout,
//!   which needs a timer; `axum::serve` sets none).
//! - **Bodies**: a request body that stalls — no bytes for
//!   [`ConnectionLimits::body_read_timeout`] — fails the request, and the connection closes
//!   ([`StallTimeout`] around every request's body, per frame).
//! - Bodies are also bounded in size per route (`DefaultBodyLimit`, see the router).
//!
//! A [`Shortcut`] may take some requests before the router (the server's OCSP POSTs, see
//! [`crate::ocsp_shortcut`]); it applies the same limits itself, with the same [`StallTimeout`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

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

/// An answer being made, by the router or by a shortcut.
pub type Answer =
    Pin<Box<dyn Future<Output = Result<axum::response::Response, Infallible>> + Send>>;

/// Serves some requests before the router: those it [`takes`](Shortcut::takes).
pub trait Shortcut: Send + Sync + 'static {
    /// What [`Shortcut::takes`] learnt of a request it serves.
    type Target: Send;

    /// Whether this serves `req`, and what it needs to know of it.
    fn takes(&self, req: &axum::http::Request<hyper::body::Incoming>) -> Option<Self::Target>;

    /// The answer to a request it takes.
    fn serve(
        &self,
        target: Self::Target,
        req: axum::http::Request<hyper::body::Incoming>,
    ) -> Answer;
}

/// No shortcut: every request goes to the router.
impl Shortcut for () {
    type Target = Infallible;

    fn takes(&self, _: &axum::http::Request<hyper::body::Incoming>) -> Option<Infallible> {
        None
    }

    fn serve(&self, target: Infallible, _: axum::http::Request<hyper::body::Incoming>) -> Answer {
        match target {}
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
    serve_with_shortcut(listener, app, (), limits, shutdown).await
}

/// [`serve_router`], with `shortcut` offered every request before the router.
pub async fn serve_with_shortcut(
    listener: tokio::net::TcpListener,
    app: Router,
    shortcut: impl Shortcut,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let body_timeout = limits.body_read_timeout;
    let app = app.layer(tower::util::MapRequestLayer::new(
        move |req: axum::extract::Request| {
            req.map(|body| axum::body::Body::new(StallTimeout::new(body_timeout, body)))
        },
    ));
    let shortcut = Arc::new(shortcut);
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
        let shortcut = shortcut.clone();
        let service = TowerToHyperService::new(tower::service_fn(
            move |mut req: axum::http::Request<hyper::body::Incoming>| -> Answer {
                if let Some(target) = shortcut.takes(&req) {
                    return shortcut.serve(target, req);
                }
                req.extensions_mut().insert(crate::rate::Peer(peer));
                Box::pin(tower::ServiceExt::oneshot(app.clone(), req))
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

/// A request body that fails when no data comes for `timeout`, frame by frame (as
/// tower-http's `TimeoutBody`), except that the timer is armed only when the body has nothing
/// ready: a small body that arrived with its header costs no timer.
pub struct StallTimeout<B> {
    body: B,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> StallTimeout<B> {
    pub fn new(timeout: Duration, body: B) -> Self {
        StallTimeout {
            body,
            timeout,
            sleep: None,
        }
    }
}

/// The error of a body that stalled.
#[derive(Debug, thiserror::Error)]
#[error("no request body data within {0:?}")]
pub struct BodyStalled(Duration);

impl<B> hyper::body::Body for StallTimeout<B>
where
    B: hyper::body::Body + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = B::Data;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            this.sleep = None;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let timeout = this.timeout;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyStalled(timeout))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};

    /// A body whose data never comes.
    struct Never;

    impl hyper::body::Body for Never {
        type Data = axum::body::Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_stalled_body_fails_and_a_ready_one_is_read() {
        let ready = StallTimeout::new(Duration::from_millis(50), Body::from("ocsp"));
        assert_eq!(to_bytes(Body::new(ready), 100).await.unwrap(), "ocsp");
        let stalled = StallTimeout::new(Duration::from_millis(50), Never);
        let err = to_bytes(Body::new(stalled), 100).await.unwrap_err();
        assert!(format!("{err:?}").contains("BodyStalled"), "{err:?}");
    }
}
