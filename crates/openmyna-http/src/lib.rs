//! The HTTP layer of openmyna: JSON APIs under `/api/v1/<part>/…`, the OpenAPI document,
//! Prometheus metrics and server-rendered pages. Handlers parse the request, call the domain
//! and render; errors become responses in one place ([`error`]).

pub mod auth;
pub mod charts;
pub mod error;
pub mod json;
pub mod metrics;
pub mod routes;
pub mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

pub use state::{AppState, AppStateInner, ServerInfo};

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
        routes::employers::get_profile,
        routes::employers::set_profile,
        routes::employers::create_division,
        routes::employers::list_divisions,
        routes::employers::upsert_employee,
        routes::employers::list_employees,
        routes::employers::create_member,
        routes::employers::me,
        routes::employers::submit_my_number,
        routes::employers::own_my_number,
        routes::employers::list_intakes,
        routes::employers::identity_check,
        routes::employers::read_my_number,
        routes::employers::handling,
        routes::employers::export,
        routes::employers::purge,
        routes::campaigns::put_my_answer,
        routes::campaigns::get_my_answer,
        routes::campaigns::import_answers,
        routes::campaigns::get_dashboard,
        routes::campaigns::dashboard_bars,
        routes::campaigns::dashboard_trend,
        routes::campaigns::create_campaign,
        routes::campaigns::list_campaigns,
        routes::campaigns::get_campaign,
        routes::campaigns::campaign_trend,
        routes::campaigns::add_measure,
        routes::campaigns::member_organisations,
        routes::campaigns::ministry_report,
        routes::campaigns::request_session,
        routes::campaigns::list_sessions,
        routes::campaigns::get_session,
        routes::campaigns::schedule_session,
        routes::campaigns::register_applicant,
        routes::campaigns::close_session,
        routes::campaigns::cancel_session,
    ),
    modifiers(&BearerAuth, &Conformance),
    tags(
        (name = "system", description = "Health, readiness, metrics, this document"),
        (name = "admin", description = "Organisations and their tokens"),
        (name = "registry", description = "Resident registry (住民基本台帳)"),
        (name = "applications", description = "Card applications (交付申請) through the smartphone, PC, photo-booth, mail and on-site channels; review, manufacture, handover at the window or mailing."),
        (name = "cards", description = "The card's life at the municipality: loss (certificates suspended at once), found, return, replacement; validity and renewal dates."),
        (name = "insurance", description = "Insurers (保険者): enrollment records (資格情報) with the 5-item registry check, their history, 資格確認書, and medical records for consented viewing. See docs/eligibility.md."),
        (name = "oqs", description = "Online eligibility verification (オンライン資格確認) for medical institutions and pharmacies: reader terminals, the challenge–signature protocol, 利用登録, queries by 記号・番号, consent and consented data. See docs/eligibility.md."),
        (name = "employers", description = "Employers: their place among companies, industry associations and ministries, divisions, employees, member tokens for HR staff (事務取扱担当者) and employees, and the My Number intake for enrollment forms (番号確認 + 身元確認, sealed storage, handling record, retention, the export for insurers). See docs/campaigns.md."),
        (name = "campaigns", description = "Card-uptake campaigns: employees' own answers and HR's CSV import, dashboards per division with small-cell suppression and SVG charts, campaigns and measures with the award for the leading division, member organisations' figures, on-site application sessions (出張申請受付) with the municipality, and the ministry report. See docs/campaigns.md."),
        (name = "portal", description = "The citizen portal (マイナポータル): login with the card, own data, consents, the hash-chained access log, 利用登録, the public-money account. The session is a cookie (omn_session). See docs/portal.md."),
        (name = "fourinfo", description = "Latest basic-4-information service (最新の利用者情報提供サービス) for relying parties: card-signed consents and queries. See docs/fourinfo.md."),
        (name = "jpki", description = "JPKI certification authority (公的個人認証サービス). CRLs are served at /crl/<root>/{full,delta,p<N>}.crl (application/pkix-crl) and OCSP at /ocsp/<root> (POST application/ocsp-request, or GET /ocsp/<root>/<base64>); root certificates at /ca/<root>.crt."),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

/// What OpenAPI 3.1 requires and the annotations leave out: a `servers` entry (this server,
/// relative) and a description on every response (from its status, where the annotation
/// gives none).
struct Conformance;

impl utoipa::Modify for Conformance {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::server::ServerBuilder;
        openapi.servers = Some(vec![
            ServerBuilder::new()
                .url("/")
                .description(Some(
                    "This openmyna server (the configured public URL, `server.public_url`)",
                ))
                .build(),
        ]);
        // Operation ids are the handlers' names; where two modules use one name (`query`,
        // `challenge`, …), each becomes `<tag>_<name>`, as OpenAPI wants them unique.
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for op in openapi.paths.paths.values_mut().flat_map(operations) {
            if let Some(id) = &op.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
        for op in openapi.paths.paths.values_mut().flat_map(operations) {
            if let Some(id) = &op.operation_id
                && seen.get(id).is_some_and(|n| *n > 1)
            {
                let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
                op.operation_id = Some(format!("{}_{id}", tag.unwrap_or_default()));
            }
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(r) = response
                    && r.description.is_empty()
                {
                    r.description = response_description(status).to_owned();
                }
            }
        }
    }
}

/// Every operation of a path.
fn operations(
    item: &mut utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

/// The meaning of a status in this API (see `error.rs`).
fn response_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "Done; no content",
        "303" => "See other (the page to go to next is in Location)",
        "400" => "The request could not be read (path, query or body); the error says where",
        "401" => "Not authenticated: the token or session is missing, unknown or expired",
        "403" => "Forbidden: the caller may not do this (the error names the rule)",
        "404" => "Not found, or not the caller's to see",
        "409" => "Refused: the request is valid but the state of things does not allow it",
        "413" => "The request is larger than this endpoint accepts",
        "422" => "Invalid: the input breaks a rule (the error names the rule and the field)",
        "503" => "Unavailable: the database does not answer",
        _ => "See the error body",
    }
}

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
        admin, applications, campaigns, cards, console, eligibility, employers, fourinfo, jpki,
        portal, portal_pages, registry, system,
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
        .route("/portal/account", post(portal_pages::account))
        .route("/console", get(console::page))
        .route("/console/login", post(console::login))
        .route("/console/logout", post(console::logout))
        .route("/console/certificates/{serial}", post(console::act))
        .route("/portal/registration", post(portal_pages::registration))
        .route(
            "/portal/phones/{id}/revoke",
            post(portal_pages::revoke_phone),
        )
        .route(
            "/portal/consents/facilities/{org_id}/withdraw",
            post(portal_pages::withdraw_facility),
        )
        .route(
            "/portal/consents/relying-parties/{id}/withdraw",
            post(portal_pages::withdraw_rp),
        )
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
        .route(
            "/api/v1/employers/profile",
            get(employers::get_profile).put(employers::set_profile),
        )
        .route(
            "/api/v1/employers/divisions",
            post(employers::create_division).get(employers::list_divisions),
        )
        .route(
            "/api/v1/employers/employees",
            post(employers::upsert_employee).get(employers::list_employees),
        )
        .route("/api/v1/employers/members", post(employers::create_member))
        .route("/api/v1/employers/me", get(employers::me))
        .route(
            "/api/v1/employers/me/my-number",
            put(employers::submit_my_number).get(employers::own_my_number),
        )
        .route("/api/v1/employers/intakes", get(employers::list_intakes))
        .route("/api/v1/employers/intakes/export", post(employers::export))
        .route("/api/v1/employers/intakes/purge", post(employers::purge))
        .route(
            "/api/v1/employers/intakes/{employee_no}/identity-check",
            post(employers::identity_check),
        )
        .route(
            "/api/v1/employers/intakes/{employee_no}/my-number",
            get(employers::read_my_number),
        )
        .route(
            "/api/v1/employers/intakes/{employee_no}/handling",
            get(employers::handling),
        )
        .route(
            "/api/v1/campaigns",
            post(campaigns::create_campaign).get(campaigns::list_campaigns),
        )
        .route(
            "/api/v1/campaigns/my-answer",
            put(campaigns::put_my_answer).get(campaigns::get_my_answer),
        )
        .route("/api/v1/campaigns/dashboard", get(campaigns::get_dashboard))
        .route(
            "/api/v1/campaigns/dashboard/divisions.svg",
            get(campaigns::dashboard_bars),
        )
        .route(
            "/api/v1/campaigns/dashboard/trend.svg",
            get(campaigns::dashboard_trend),
        )
        .route(
            "/api/v1/campaigns/member-organisations",
            get(campaigns::member_organisations),
        )
        .route(
            "/api/v1/campaigns/ministry-report",
            get(campaigns::ministry_report),
        )
        .route(
            "/api/v1/campaigns/onsite-sessions",
            post(campaigns::request_session).get(campaigns::list_sessions),
        )
        .route(
            "/api/v1/campaigns/onsite-sessions/{id}",
            get(campaigns::get_session),
        )
        .route(
            "/api/v1/campaigns/onsite-sessions/{id}/schedule",
            post(campaigns::schedule_session),
        )
        .route(
            "/api/v1/campaigns/onsite-sessions/{id}/close",
            post(campaigns::close_session),
        )
        .route(
            "/api/v1/campaigns/onsite-sessions/{id}/cancel",
            post(campaigns::cancel_session),
        )
        .route("/api/v1/campaigns/{id}", get(campaigns::get_campaign))
        .route(
            "/api/v1/campaigns/{id}/trend.svg",
            get(campaigns::campaign_trend),
        )
        .route(
            "/api/v1/campaigns/{id}/measures",
            post(campaigns::add_measure),
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
        .route(
            "/api/v1/campaigns/answers/csv",
            post(campaigns::import_answers),
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
        .route(
            "/api/v1/campaigns/onsite-sessions/{id}/applicants",
            post(campaigns::register_applicant),
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
    // `into_make_service`: each connection gets a clone of the finished router (one reference
    // count). Serving the `Router` itself re-applies the state to every route per connection
    // (axum 0.8), which cost ~0.2 ms of allocations per new connection with our few hundred
    // routes.
    axum::serve(listener, router(state).into_make_service())
        .with_graceful_shutdown(shutdown)
        .await
}
