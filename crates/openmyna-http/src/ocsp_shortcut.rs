//! `POST /ocsp/{root}` served by the listener before the router.
//!
//! OCSP is the busiest public endpoint: relying parties ask on every use of a card, and a
//! request with a nonce is signed afresh. For such a small answer, the router's general
//! machinery (route lookup, path parameters, per-route layer clones, boxed middleware, the
//! header map copied for the handler) costs a noticeable share of each answer
//! (docs/BENCHMARKS.md, "The OCSP shortcut"). This path does for that one route what the
//! router does, by hand, with the same results:
//! - the same handler ([`crate::routes::jpki::answer_post`]) and answer;
//! - the same per-frame body read timeout as on the router ([`StallTimeout`], armed only when
//!   the body is not already there), and axum's own body extractor, so that a body that
//!   stalls fails as it does on the router (400);
//! - the same `http` span (method and route template, never the path or body) and the same
//!   debug events as the trace layer;
//! - the same per-route metrics, under `/ocsp/{root}`.
//!
//! Anything else is handed to the router, which answers it as before: another method or path,
//! a root the server does not run (`unauthorized`), a percent-encoded segment, a body sent
//! without a Content-Length, chunked, or above the responder's limit (413).

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::FromRequest;
use axum::http::{Method, Request, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use openmyna_jpki::RootKind;
use tracing::Instrument;

use crate::listener::{Answer, Shortcut, StallTimeout};
use crate::routes::jpki::{OCSP_BODY_LIMIT, answer_post};
use crate::state::AppState;

/// The route template the requests served here are counted and traced under (the router's).
pub const ROUTE: &str = "/ocsp/{root}";

/// The shortcut of the server with `state`, whose listener reads bodies with `body_timeout`.
pub struct OcspShortcut {
    state: AppState,
    body_timeout: Duration,
}

impl OcspShortcut {
    pub fn new(state: AppState, body_timeout: Duration) -> Self {
        OcspShortcut {
            state,
            body_timeout,
        }
    }
}

impl Shortcut for OcspShortcut {
    type Target = RootKind;

    fn takes(&self, req: &Request<Incoming>) -> Option<RootKind> {
        target(req)
    }

    fn serve(&self, root: RootKind, req: Request<Incoming>) -> Answer {
        Box::pin(serve(self.state.clone(), root, req, self.body_timeout))
    }
}

/// The responder a request is for, if this path serves it.
fn target<B>(req: &Request<B>) -> Option<RootKind> {
    if req.method() != Method::POST || req.headers().contains_key(header::TRANSFER_ENCODING) {
        return None;
    }
    let segment = req.uri().path().strip_prefix("/ocsp/")?;
    if segment.contains(['/', '%']) {
        return None;
    }
    let root = RootKind::parse(segment)?;
    let length: usize = req
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    (length <= OCSP_BODY_LIMIT).then_some(root)
}

async fn serve(
    state: AppState,
    root: RootKind,
    req: Request<Incoming>,
    body_timeout: Duration,
) -> Result<axum::response::Response, std::convert::Infallible> {
    let span = tracing::info_span!("http", method = %Method::POST, route = %ROUTE);
    async move {
        let start = Instant::now();
        tracing::debug!("started processing request");
        let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
        let req = req.map(|b| Body::new(StallTimeout::new(body_timeout, b)));
        let resp = match Bytes::from_request(req, &()).await {
            Ok(body) => answer_post(&state, root, content_type.as_ref(), &body).await,
            Err(rejection) => rejection.into_response(),
        };
        let latency = start.elapsed();
        let status = resp.status().as_u16();
        state
            .metrics
            .observe("POST", ROUTE, status, latency.as_secs_f64());
        tracing::debug!(
            latency = %format_args!("{} ms", latency.as_millis()),
            status,
            "finished processing request"
        );
        Ok(resp)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, path: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn takes_only_plain_posts_to_a_responder() {
        let len = |n: usize| n.to_string();
        let ok = len(100);
        let cl = [("content-length", ok.as_str())];
        assert_eq!(
            target(&req(Method::POST, "/ocsp/auth", &cl)),
            Some(RootKind::Auth)
        );
        assert_eq!(
            target(&req(Method::POST, "/ocsp/sign", &cl)),
            Some(RootKind::Sign)
        );
        let limit = len(OCSP_BODY_LIMIT);
        assert!(
            target(&req(
                Method::POST,
                "/ocsp/auth",
                &[("content-length", &limit)]
            ))
            .is_some()
        );
        // Everything else is the router's.
        let above = len(OCSP_BODY_LIMIT + 1);
        for r in [
            req(Method::GET, "/ocsp/auth", &cl),
            req(Method::PUT, "/ocsp/auth", &cl),
            req(Method::POST, "/ocsp/other", &cl),
            req(Method::POST, "/ocsp/%61uth", &cl),
            req(Method::POST, "/ocsp/auth/x", &cl),
            req(Method::POST, "/ocsp/", &cl),
            req(Method::POST, "/ocsp", &cl),
            req(Method::POST, "/api/v1/ocsp/auth", &cl),
            req(Method::POST, "/ocsp/auth", &[]),
            req(Method::POST, "/ocsp/auth", &[("content-length", "x")]),
            req(Method::POST, "/ocsp/auth", &[("content-length", &above)]),
            req(
                Method::POST,
                "/ocsp/auth",
                &[("content-length", "100"), ("transfer-encoding", "chunked")],
            ),
        ] {
            assert_eq!(target(&r), None, "{} {}", r.method(), r.uri());
        }
    }
}
