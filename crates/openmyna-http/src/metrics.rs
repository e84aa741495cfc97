//! Prometheus metrics in the text exposition format, without a metrics framework: request
//! counts and latency histograms per route, plus gauges read from the database at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

const BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counts and latency of one route.
#[derive(Default)]
struct RouteStats {
    /// Requests by method and status.
    requests: BTreeMap<(String, u16), u64>,
    latency: Histogram,
}

/// Per route template; one lock, and no allocation once a route and status have been seen.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let stats = match routes.get_mut(route) {
            Some(s) => s,
            None => routes.entry(route.to_owned()).or_default(),
        };
        match stats
            .requests
            .iter_mut()
            .find(|((m, s), _)| m == method && *s == status)
        {
            Some((_, n)) => *n += 1,
            None => {
                stats.requests.insert((method.to_owned(), status), 1);
            }
        }
        let h = &mut stats.latency;
        for (count, b) in h.counts.iter_mut().zip(BUCKETS.iter()) {
            if seconds <= *b {
                *count += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Renders the HTTP metrics; `extra` is appended (gauges computed by the caller).
    pub fn render(&self, extra: &str) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP openmyna_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE openmyna_http_requests_total counter\n");
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        // By method, route and status, as a Prometheus scrape has always listed them.
        let mut counts: Vec<(&str, &str, u16, u64)> = routes
            .iter()
            .flat_map(|(r, st)| {
                st.requests
                    .iter()
                    .map(move |((m, s), n)| (m.as_str(), r.as_str(), *s, *n))
            })
            .collect();
        counts.sort_unstable();
        for (m, r, s, n) in counts {
            let _ = writeln!(
                out,
                "openmyna_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}",
                escape(r)
            );
        }
        out.push_str("# HELP openmyna_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE openmyna_http_request_duration_seconds histogram\n");
        for (r, st) in routes.iter() {
            let h = &st.latency;
            let r = escape(r);
            for (count, b) in h.counts.iter().zip(BUCKETS.iter()) {
                let _ = writeln!(
                    out,
                    "openmyna_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "openmyna_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "openmyna_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "openmyna_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                h.count
            );
        }
        out.push_str(extra);
        out
    }
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Middleware that times every request under its route template (never the raw path, which
/// could carry identifiers).
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    // A cheap clone (the template is shared), where a String would allocate per request.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let resp = next.run(req).await;
    metrics.observe(
        method.as_str(),
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.observe("GET", "/healthz", 200, 0.0007);
        m.observe("GET", "/healthz", 200, 0.2);
        let t = m.render("openmyna_residents 5\n");
        assert!(t.contains(
            "openmyna_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ));
        assert!(t.contains(
            "openmyna_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 1"
        ));
        assert!(t.contains(
            "openmyna_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 2"
        ));
        assert!(t.ends_with("openmyna_residents 5\n"));
    }
}
