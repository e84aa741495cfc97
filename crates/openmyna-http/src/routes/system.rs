//! Health, readiness, metrics, the OpenAPI document and the landing page.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    pub status: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub database: &'static str,
    pub backend: &'static str,
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "system", responses(
    (status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(s): State<AppState>) -> Response {
    match s.store.ping().await {
        Ok(()) => axum::Json(Readiness {
            status: "ready",
            database: "ok",
            backend: s.info.backend,
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            crate::error::Unavailable(axum::Json(Readiness {
                status: "not_ready",
                database: "unreachable",
                backend: s.info.backend,
            }))
            .into_response()
        }
    }
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(s): State<AppState>) -> Result<Response, ApiError> {
    let c = s.store.counts().await?;
    let extra = format!(
        "# HELP openmyna_residents Residents in the registry by status.\n\
         # TYPE openmyna_residents gauge\n\
         openmyna_residents{{status=\"active\"}} {}\n\
         openmyna_residents{{status=\"closed\"}} {}\n\
         # HELP openmyna_organisations Registered organisations.\n\
         # TYPE openmyna_organisations gauge\n\
         openmyna_organisations {}\n\
         # HELP openmyna_events_total Domain events published.\n\
         # TYPE openmyna_events_total counter\n\
         openmyna_events_total {}\n\
         # HELP openmyna_build_info Version and storage backend.\n\
         # TYPE openmyna_build_info gauge\n\
         openmyna_build_info{{version=\"{}\",backend=\"{}\"}} 1\n\
         # HELP openmyna_start_time_seconds Start time of the server (Unix seconds).\n\
         # TYPE openmyna_start_time_seconds gauge\n\
         openmyna_start_time_seconds {}\n",
        c.active_residents,
        c.residents - c.active_residents,
        c.organisations,
        c.events,
        s.info.version,
        s.info.backend,
        s.info.started_at.timestamp(),
    );
    let mut extra = extra;
    extra.push_str(&process_metrics());
    extra.push_str(&domain_metrics(&s).await?);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(&extra),
    )
        .into_response())
}

/// The OpenAPI 3.1 document of every JSON API, generated from the handlers.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, content_type = "application/json")))]
pub async fn openapi() -> Response {
    // Built once: the document is the routes', which do not change while the server runs.
    static DOCUMENT: std::sync::LazyLock<Result<String, String>> =
        std::sync::LazyLock::new(|| crate::openapi().to_pretty_json().map_err(|e| e.to_string()));
    match &*DOCUMENT {
        Ok(s) => ([(header::CONTENT_TYPE, "application/json")], s.clone()).into_response(),
        Err(e) => ApiError::internal("openapi", e).into_response(),
    }
}

/// The interactive API reference: Redoc (npm `redoc`, MIT, vendored in `assets/redoc/` and
/// compiled into the binary — no CDN) rendering `/openapi.json`.
pub async fn docs() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            // Nothing leaves the server: Redoc's footer would fetch its logo from a CDN.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self' blob:; worker-src 'self' blob:; \
                 style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
                 font-src 'self' data:; connect-src 'self'",
            ),
        ],
        DOCS_PAGE,
    )
        .into_response()
}

const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>openmyna API reference</title>
<style>body { margin: 0; }</style>
</head><body>
<redoc spec-url="/openapi.json" hide-download-button="false" expand-responses="200,201"></redoc>
<noscript><p>The API reference needs JavaScript; the document itself is at
<a href="/openapi.json">/openapi.json</a>.</p></noscript>
<script src="/docs/redoc.standalone.js"></script>
</body></html>
"#;

/// Redoc's standalone bundle (served with the page, cached for a day).
pub async fn docs_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../assets/redoc/redoc.standalone.js"),
    )
        .into_response()
}

/// The process as Linux reports it (`/proc/self`): resident memory, open file descriptors,
/// CPU time, threads. Absent elsewhere.
fn process_metrics() -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    // statm: size resident shared … in pages (4 KiB on the platforms we build for).
    if let Ok(statm) = std::fs::read_to_string("/proc/self/statm")
        && let Some(rss) = statm
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
    {
        let _ = write!(
            out,
            "# HELP process_resident_memory_bytes Resident memory.\n\
             # TYPE process_resident_memory_bytes gauge\n\
             process_resident_memory_bytes {}\n",
            rss * 4096
        );
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        let _ = write!(
            out,
            "# HELP process_open_fds Open file descriptors.\n\
             # TYPE process_open_fds gauge\n\
             process_open_fds {}\n",
            fds.count()
        );
    }
    // stat: fields 14 and 15 are user and system time in clock ticks (USER_HZ, 100), field
    // 20 the threads; the command name (field 2) may hold spaces, so count after its ')'.
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        && let Some((_, rest)) = stat.rsplit_once(')')
    {
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let _ = write!(
            out,
            "# HELP process_cpu_seconds_total CPU time, user and system.\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total {}\n\
             # HELP process_threads Threads.\n\
             # TYPE process_threads gauge\n\
             process_threads {}\n",
            (num(11) + num(12)) as f64 / 100.0,
            num(17)
        );
    }
    // Tasks of the async runtime: connections, requests and background jobs. Steady under a
    // steady load; growth means something never ends (the soak bench watches it).
    if let Ok(h) = tokio::runtime::Handle::try_current() {
        let _ = write!(
            out,
            "# HELP openmyna_runtime_alive_tasks Tasks alive in the server's async runtime.\n\
             # TYPE openmyna_runtime_alive_tasks gauge\n\
             openmyna_runtime_alive_tasks {}\n",
            h.metrics().num_alive_tasks()
        );
    }
    out
}

/// The database pool, the OCSP answers and eligibility checks since the start, and how old
/// each published CRL is.
async fn domain_metrics(s: &AppState) -> Result<String, ApiError> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let pool = s.store.pool();
    let _ = write!(
        out,
        "# HELP openmyna_db_pool_connections Database connections by state.\n\
         # TYPE openmyna_db_pool_connections gauge\n\
         openmyna_db_pool_connections{{state=\"open\"}} {}\n\
         openmyna_db_pool_connections{{state=\"idle\"}} {}\n\
         # HELP openmyna_db_pool_max_connections The pool's limit.\n\
         # TYPE openmyna_db_pool_max_connections gauge\n\
         openmyna_db_pool_max_connections {}\n",
        pool.size(),
        pool.num_idle(),
        pool.options().get_max_connections(),
    );
    out.push_str(
        "# HELP openmyna_ocsp_answers_total OCSP answers by certificate status, and refused requests.\n\
         # TYPE openmyna_ocsp_answers_total counter\n",
    );
    for (status, n) in s.jpki.ocsp_counts().snapshot() {
        let _ = writeln!(
            out,
            "openmyna_ocsp_answers_total{{status=\"{status}\"}} {n}"
        );
    }
    out.push_str(
        "# HELP openmyna_eligibility_checks_total Eligibility checks by kind and outcome.\n\
         # TYPE openmyna_eligibility_checks_total counter\n",
    );
    for ((kind, outcome), n) in s.counters.eligibility_snapshot() {
        let _ = writeln!(
            out,
            "openmyna_eligibility_checks_total{{kind=\"{kind}\",outcome=\"{}\"}} {n}",
            crate::metrics::escape(&outcome)
        );
    }
    out.push_str(
        "# HELP openmyna_platform_checks_total Verification-platform checks by outcome (verified, or the first failed step's code).\n\
         # TYPE openmyna_platform_checks_total counter\n",
    );
    for (outcome, n) in s.counters.platform_snapshot() {
        let _ = writeln!(
            out,
            "openmyna_platform_checks_total{{outcome=\"{}\"}} {n}",
            crate::metrics::escape(&outcome)
        );
    }
    out.push_str(
        "# HELP openmyna_card_events_total PIN events in the cards' audited history: pin_locked (reported by a reader), pin_reset (at the municipality).\n\
         # TYPE openmyna_card_events_total counter\n",
    );
    for (event, n) in s.store.cards().pin_event_totals().await? {
        let _ = writeln!(
            out,
            "openmyna_card_events_total{{event=\"{}\"}} {n}",
            crate::metrics::escape(&event)
        );
    }
    out.push_str(
        "# HELP openmyna_crl_age_seconds Time since the latest CRL of each scope was published.\n\
         # TYPE openmyna_crl_age_seconds gauge\n",
    );
    let now = s.clock.now();
    for m in s.jpki.latest_crls().await? {
        let partition = m.partition.map(|p| p.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            "openmyna_crl_age_seconds{{root=\"{}\",scope=\"{}\",partition=\"{partition}\"}} {}",
            m.root.as_str(),
            m.scope,
            (now - m.this_update).num_seconds().max(0)
        );
    }
    Ok(out)
}

pub struct Part {
    pub name: &'static str,
    pub name_ja: &'static str,
    pub summary: &'static str,
    pub ready: bool,
    pub links: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing {
    parts: Vec<Part>,
    version: &'static str,
    backend: &'static str,
    residents: i64,
    started_at: String,
}

fn parts() -> Vec<Part> {
    vec![
        Part {
            name: "Resident registry",
            name_ja: "住民基本台帳",
            summary: "Residents with the basic four information, My Number and resident code; moves, name changes, deaths, each kept as history and published as an event.",
            ready: true,
            links: vec![("API", "/docs#tag/registry")],
        },
        Part {
            name: "JPKI certification authority",
            name_ja: "公的個人認証サービス",
            summary: "Signing and user-authentication certificates per card, revocation and suspension, full/delta/partitioned CRLs, OCSP.",
            ready: true,
            links: vec![
                ("operator console", "/console"),
                ("signing root", "/ca/sign.crt"),
                ("auth root", "/ca/auth.crt"),
                ("CRL", "/crl/sign/full.crl"),
                ("roots API", "/api/v1/jpki/roots"),
            ],
        },
        Part {
            name: "Virtual My Number Card",
            name_ja: "マイナンバーカード (IC)",
            summary: "JPKI AP, 券面事項入力補助AP and 券面AP at APDU level, usable by OpenSC through pcscd: openmyna card issue / inspect / sign / unlock, openmyna vpcd.",
            ready: true,
            links: vec![],
        },
        Part {
            name: "Online eligibility verification",
            name_ja: "オンライン資格確認",
            summary: "Insurers' enrollment records with the 5-item registry check, 利用登録, reader terminals (challenge signed by the card's authentication key), 24-hour consent for medication, treatment and check-up data, 資格確認書 queries; openmyna terminal.",
            ready: true,
            links: vec![
                ("insurer API", "/docs#tag/insurance"),
                ("facility API", "/docs#tag/oqs"),
            ],
        },
        Part {
            name: "Citizen portal",
            name_ja: "マイナポータル",
            summary: "Card login (session cookie), own data, consents and their withdrawal, the hash-chained access log with a signed head, 利用登録, the public-money account, medical-expense notices (XML, CSV), smartphone certificates, the 24-hour hotline.",
            ready: true,
            links: vec![("portal", "/portal"), ("API", "/docs#tag/portal")],
        },
        Part {
            name: "Latest basic-4-information service",
            name_ja: "最新の利用者情報提供サービス",
            summary: "Consents signed with the card (CMS), change detection by CRL (openmyna rp sync), and the query for the latest consented items.",
            ready: true,
            links: vec![("API", "/docs#tag/fourinfo")],
        },
        Part {
            name: "Card-uptake campaigns and employer My Number intake",
            name_ja: "取得促進・事業者のマイナンバー取得",
            summary: "Divisions and employees, employees' own answers, dashboards per division with small-cell suppression and SVG charts, campaigns with measures and the award, on-site application sessions through delivered cards, the ministry report; My Numbers for enrollment forms with the identity check, sealed storage, HR-only reads in the handling record and the resident's access log, the export for insurers, retention.",
            ready: true,
            links: vec![
                ("campaign pages", "/campaigns"),
                ("API", "/docs#tag/campaigns"),
            ],
        },
    ]
}

pub async fn landing(State(s): State<AppState>) -> Result<Html<String>, ApiError> {
    let residents = s.store.counts().await?.residents;
    let page = Landing {
        parts: parts(),
        version: s.info.version,
        backend: s.info.backend,
        residents,
        started_at: s.info.started_at.to_rfc3339(),
    };
    page.render()
        .map(Html)
        .map_err(|e| ApiError::internal("landing template", &e))
}
