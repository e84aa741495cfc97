//! The HTTP layer of openmyna: JSON APIs under `/api/v1/<part>/…`, the OpenAPI document,
//! Prometheus metrics and server-rendered pages. Handlers parse the request, call the domain
//! and render; errors become responses in one place ([`error`]).

pub mod auth;
pub mod error;
pub mod issuance;
pub mod json;
pub mod metrics;
pub mod routes;
pub mod state;
pub mod subscribers;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

pub use state::{AppState, ServerInfo};

/// Largest JSON body accepted by the APIs (bulk uploads have their own limits).
pub const JSON_BODY_LIMIT: usize = 256 * 1024;

/// Largest card application (a 7 MiB photo in base64, and the rest).
pub const APPLICATION_BODY_LIMIT: usize = 10 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "openmyna",
        description = "JSON APIs of openmyna, a self-hostable implementation of the system around Japan's My Number Card. Errors always have the shape {\"error\":{\"code\",\"message\",\"field\"}}. Organisations authenticate with Authorization: Bearer <token>."
    ),
    paths(
        routes::system::healthz,
        routes::system::readyz,
        routes::system::metrics,
        routes::system::openapi,
        routes::admin::whoami,
        routes::admin::create_organisation,
        routes::admin::list_organisations,
        routes::admin::create_token,
        routes::admin::revoke_token,
        routes::registry::register,
        routes::registry::get,
        routes::registry::search,
        routes::registry::change_address,
        routes::registry::change_name,
        routes::registry::correct,
        routes::registry::death,
        routes::registry::removal,
        routes::registry::return_from_abroad,
        routes::registry::history,
        routes::registry::events,
        routes::registry::stats,
        routes::jpki::issue_card,
        routes::jpki::certificate,
        routes::jpki::resident_certificates,
        routes::jpki::revoke,
        routes::jpki::hold,
        routes::jpki::release,
        routes::jpki::publish,
        routes::jpki::crl_history,
        routes::jpki::roots,
        routes::fourinfo::register_relying_party,
        routes::fourinfo::relying_party,
        routes::fourinfo::submit_consent,
        routes::fourinfo::list_consents,
        routes::fourinfo::withdraw,
        routes::fourinfo::query,
        routes::fourinfo::follow,
        routes::cards::card,
        routes::cards::resident_cards,
        routes::cards::loss,
        routes::cards::found,
        routes::cards::return_card,
        routes::cards::overseas,
        routes::cards::domestic,
        routes::applications::issue_form,
        routes::applications::apply,
        routes::applications::on_site,
        routes::applications::status,
        routes::applications::list,
        routes::applications::stats,
        routes::applications::review,
        routes::applications::manufacture,
        routes::applications::handover,
        routes::applications::receive,
        routes::eligibility::submit_records,
        routes::eligibility::submit_records_csv,
        routes::eligibility::list_records,
        routes::eligibility::record_history,
        routes::eligibility::issue_certificate,
        routes::eligibility::load_medical,
        routes::eligibility::load_medical_csv,
        routes::eligibility::create_terminal,
        routes::eligibility::list_terminals,
        routes::eligibility::terminal_self,
        routes::eligibility::challenge,
        routes::eligibility::register_card,
        routes::eligibility::verify,
        routes::eligibility::query,
        routes::eligibility::consent,
        routes::eligibility::medical_data,
        routes::eligibility::limit_amount,
        routes::portal::challenge,
        routes::portal::login,
        routes::portal::logout,
        routes::portal::me,
        routes::portal::insurance,
        routes::portal::register_insurance,
        routes::portal::medical,
        routes::portal::consents,
        routes::portal::withdraw_rp,
        routes::portal::withdraw_facility,
        routes::portal::access_log,
        routes::portal::account,
        routes::portal::set_account,
        routes::portal::account_history,
        routes::portal::medical_expenses,
        routes::portal::handoff,
        routes::portal::apply_phone,
        routes::portal::phones,
        routes::portal::revoke_phone,
        routes::portal::hotline_suspend,
        routes::portal::hotline_release,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "system", description = "Health, readiness, metrics, this document"),
        (name = "admin", description = "Organisations and their tokens"),
        (name = "registry", description = "Resident registry (住民基本台帳)"),
        (name = "applications", description = "Card applications (交付申請) through the smartphone, PC, photo-booth, mail and on-site channels; review, manufacture, handover at the window or mailing."),
        (name = "cards", description = "The card's life at the municipality: loss (certificates suspended at once), found, return, replacement; validity and renewal dates."),
        (name = "insurance", description = "Insurers (保険者): enrollment records (資格情報) with the 5-item registry check, their history, 資格確認書, and medical records for consented viewing. See docs/eligibility.md."),
        (name = "oqs", description = "Online eligibility verification (オンライン資格確認) for medical institutions and pharmacies: reader terminals, the challenge–signature protocol, 利用登録, queries by 記号・番号, consent and consented data. See docs/eligibility.md."),
        (name = "portal", description = "The citizen portal (マイナポータル): login with the card, own data, consents, the hash-chained access log, 利用登録, the public-money account. The session is a cookie (omn_session). See docs/portal.md."),
        (name = "fourinfo", description = "Latest basic-4-information service (最新の利用者情報提供サービス) for relying parties: card-signed consents and queries. See docs/fourinfo.md."),
        (name = "jpki", description = "JPKI certification authority (公的個人認証サービス). CRLs are served at /crl/<root>/{full,delta,p<N>}.crl (application/pkix-crl) and OCSP at /ocsp/<root> (POST application/ocsp-request, or GET /ocsp/<root>/<base64>); root certificates at /ca/<root>.crt."),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    use routes::{
        admin, applications, cards, eligibility, fourinfo, jpki, portal, portal_pages, registry,
        system,
    };
    let api = Router::new()
        .route("/api/v1/whoami", get(admin::whoami))
        .route(
            "/api/v1/admin/organisations",
            post(admin::create_organisation).get(admin::list_organisations),
        )
        .route(
            "/api/v1/admin/organisations/{id}/tokens",
            post(admin::create_token),
        )
        .route("/api/v1/admin/tokens/{id}", delete(admin::revoke_token))
        .route("/api/v1/registry/residents", post(registry::register))
        .route("/api/v1/registry/residents/search", post(registry::search))
        .route("/api/v1/registry/residents/{id}", get(registry::get))
        .route(
            "/api/v1/registry/residents/{id}/address",
            post(registry::change_address),
        )
        .route(
            "/api/v1/registry/residents/{id}/name",
            post(registry::change_name),
        )
        .route(
            "/api/v1/registry/residents/{id}/correction",
            post(registry::correct),
        )
        .route(
            "/api/v1/registry/residents/{id}/death",
            post(registry::death),
        )
        .route(
            "/api/v1/registry/residents/{id}/removal",
            post(registry::removal),
        )
        .route(
            "/api/v1/registry/residents/{id}/return",
            post(registry::return_from_abroad),
        )
        .route(
            "/api/v1/registry/residents/{id}/history",
            get(registry::history),
        )
        .route("/api/v1/registry/events", get(registry::events))
        .route("/api/v1/registry/stats", get(registry::stats))
        .route("/api/v1/jpki/cards", post(jpki::issue_card))
        .route("/api/v1/jpki/certificates/{serial}", get(jpki::certificate))
        .route(
            "/api/v1/jpki/certificates/{serial}/revoke",
            post(jpki::revoke),
        )
        .route("/api/v1/jpki/certificates/{serial}/hold", post(jpki::hold))
        .route(
            "/api/v1/jpki/certificates/{serial}/release",
            post(jpki::release),
        )
        .route(
            "/api/v1/jpki/residents/{id}/certificates",
            get(jpki::resident_certificates),
        )
        .route("/api/v1/jpki/crls/publish", post(jpki::publish))
        .route("/api/v1/jpki/crls", get(jpki::crl_history))
        .route("/api/v1/jpki/roots", get(jpki::roots))
        .route(
            "/api/v1/fourinfo/relying-parties",
            post(fourinfo::register_relying_party),
        )
        .route(
            "/api/v1/fourinfo/relying-party",
            get(fourinfo::relying_party),
        )
        .route(
            "/api/v1/fourinfo/consents",
            post(fourinfo::submit_consent).get(fourinfo::list_consents),
        )
        .route(
            "/api/v1/fourinfo/consents/{id}/withdraw",
            post(fourinfo::withdraw),
        )
        .route(
            "/api/v1/fourinfo/consents/{id}/query",
            post(fourinfo::query),
        )
        .route(
            "/api/v1/fourinfo/consents/{id}/follow",
            post(fourinfo::follow),
        )
        .route("/api/v1/cards/{serial}", get(cards::card))
        .route("/api/v1/cards/{serial}/loss", post(cards::loss))
        .route("/api/v1/cards/{serial}/found", post(cards::found))
        .route("/api/v1/cards/{serial}/return", post(cards::return_card))
        .route("/api/v1/cards/{serial}/overseas", post(cards::overseas))
        .route("/api/v1/cards/{serial}/domestic", post(cards::domestic))
        .route(
            "/api/v1/registry/residents/{id}/cards",
            get(cards::resident_cards),
        )
        .route(
            "/api/v1/card-application-forms",
            post(applications::issue_form),
        )
        .route("/api/v1/card-applications/stats", get(applications::stats))
        .route("/api/v1/card-applications/{id}", get(applications::status))
        .route(
            "/api/v1/card-applications/{id}/review",
            post(applications::review),
        )
        .route(
            "/api/v1/card-applications/{id}/manufacture",
            post(applications::manufacture),
        )
        .route(
            "/api/v1/card-applications/{id}/handover",
            post(applications::handover),
        )
        .route(
            "/api/v1/card-applications/{id}/receive",
            post(applications::receive),
        )
        .route(
            "/api/v1/insurance/records",
            post(eligibility::submit_records).get(eligibility::list_records),
        )
        .route(
            "/api/v1/insurance/records/{insurer_number}/{symbol}/{number}/{branch}/history",
            get(eligibility::record_history),
        )
        .route(
            "/api/v1/insurance/records/{insurer_number}/{symbol}/{number}/{branch}/certificates",
            post(eligibility::issue_certificate),
        )
        .route(
            "/api/v1/insurance/medical-records/{kind}",
            post(eligibility::load_medical),
        )
        .route(
            "/api/v1/oqs/terminals",
            post(eligibility::create_terminal).get(eligibility::list_terminals),
        )
        .route("/api/v1/portal/challenge", post(portal::challenge))
        .route("/api/v1/portal/login", post(portal::login))
        .route("/api/v1/portal/logout", post(portal::logout))
        .route("/api/v1/portal/handoff", post(portal::handoff))
        .route("/portal", get(portal_pages::page))
        .route("/portal/handoff/{token}", get(portal_pages::handoff))
        .route("/portal/logout", post(portal_pages::logout))
        .route("/api/v1/portal/me", get(portal::me))
        .route("/api/v1/portal/insurance", get(portal::insurance))
        .route(
            "/api/v1/portal/insurance/registration",
            post(portal::register_insurance),
        )
        .route("/api/v1/portal/medical/{kind}", get(portal::medical))
        .route("/api/v1/portal/consents", get(portal::consents))
        .route(
            "/api/v1/portal/consents/relying-parties/{id}/withdraw",
            post(portal::withdraw_rp),
        )
        .route(
            "/api/v1/portal/consents/facilities/{org_id}/withdraw",
            post(portal::withdraw_facility),
        )
        .route("/api/v1/portal/access-log", get(portal::access_log))
        .route(
            "/api/v1/portal/public-money-account",
            get(portal::account).put(portal::set_account),
        )
        .route(
            "/api/v1/portal/public-money-account/history",
            get(portal::account_history),
        )
        .route(
            "/api/v1/portal/medical-expenses/{year}",
            get(portal::medical_expenses),
        )
        .route(
            "/api/v1/portal/phones",
            post(portal::apply_phone).get(portal::phones),
        )
        .route(
            "/api/v1/portal/phones/{id}/revoke",
            post(portal::revoke_phone),
        )
        .route(
            "/api/v1/hotline/phones/{id}/suspend",
            post(portal::hotline_suspend),
        )
        .route(
            "/api/v1/hotline/phones/{id}/release",
            post(portal::hotline_release),
        )
        .route("/api/v1/oqs/terminal", get(eligibility::terminal_self))
        .route("/api/v1/oqs/challenges", post(eligibility::challenge))
        .route(
            "/api/v1/oqs/registrations",
            post(eligibility::register_card),
        )
        .route("/api/v1/oqs/verifications", post(eligibility::verify))
        .route("/api/v1/oqs/queries", post(eligibility::query))
        .route(
            "/api/v1/oqs/verifications/{id}/consent",
            post(eligibility::consent),
        )
        .route(
            "/api/v1/oqs/verifications/{id}/limit-amount",
            get(eligibility::limit_amount),
        )
        .route(
            "/api/v1/oqs/verifications/{id}/{kind}",
            get(eligibility::medical_data),
        )
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT));
    // Insurers upload CSV files.
    let uploads = Router::new()
        .route(
            "/api/v1/insurance/records/csv",
            post(eligibility::submit_records_csv),
        )
        .route(
            "/api/v1/insurance/medical-records/{kind}/csv",
            post(eligibility::load_medical_csv),
        )
        .layer(DefaultBodyLimit::max(eligibility::CSV_BODY_LIMIT));
    // Applications carry a face photo (up to 7 MiB, base64 in JSON).
    let with_photos = Router::new()
        .route(
            "/api/v1/card-applications",
            post(applications::apply).get(applications::list),
        )
        .route(
            "/api/v1/card-applications/on-site",
            post(applications::on_site),
        )
        .layer(DefaultBodyLimit::max(APPLICATION_BODY_LIMIT));
    let wire = Router::new()
        .route("/ca/{file}", get(jpki::ca_file))
        .route("/crl/{root}/{file}", get(jpki::crl_file))
        .route("/ocsp/{root}", post(jpki::ocsp_post))
        .route("/ocsp/{root}/{*request}", get(jpki::ocsp_get))
        .layer(DefaultBodyLimit::max(jpki::OCSP_BODY_LIMIT));
    let metrics: Arc<metrics::Metrics> = state.metrics.clone();
    Router::new()
        .route("/", get(system::landing))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        .merge(api)
        .merge(with_photos)
        .merge(uploads)
        .merge(wire)
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .layer(
            // Spans carry the method and route template only: never a raw path or body.
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                tracing::info_span!("http", method = %req.method(), route = %route)
            }),
        )
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes, then lets requests in
/// flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
