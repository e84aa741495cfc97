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
            links: vec![("API", "/openapi.json#/registry")],
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
                ("insurer API", "/openapi.json#/insurance"),
                ("facility API", "/openapi.json#/oqs"),
            ],
        },
        Part {
            name: "Citizen portal",
            name_ja: "マイナポータル",
            summary: "Card login (session cookie), own data, consents and their withdrawal, the hash-chained access log with a signed head, 利用登録, the public-money account, medical-expense notices (XML, CSV), smartphone certificates, the 24-hour hotline.",
            ready: true,
            links: vec![("portal", "/portal"), ("API", "/openapi.json#/portal")],
        },
        Part {
            name: "Latest basic-4-information service",
            name_ja: "最新の利用者情報提供サービス",
            summary: "Consents signed with the card (CMS), change detection by CRL (openmyna rp sync), and the query for the latest consented items.",
            ready: true,
            links: vec![("API", "/openapi.json#/fourinfo")],
        },
        Part {
            name: "Card-uptake campaigns and employer My Number intake",
            name_ja: "取得促進・事業者のマイナンバー取得",
            summary: "Divisions and employees, employees' own answers, dashboards per division with small-cell suppression and SVG charts, campaigns with measures and the award, on-site application sessions through delivered cards, the ministry report; My Numbers for enrollment forms with the identity check, sealed storage, HR-only reads in the handling record and the resident's access log, the export for insurers, retention.",
            ready: true,
            links: vec![("API", "/openapi.json#/campaigns")],
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
