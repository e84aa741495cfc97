//! The HTTP layer of openmyna: JSON APIs under `/api/v1/<part>/…`, the OpenAPI document,
//! Prometheus metrics and server-rendered pages. Handlers parse the request, call the domain
//! and render; errors become responses in one place ([`error`]).

pub mod auth;
pub mod charts;
pub mod error;
pub mod json;
pub mod listener;
pub mod metrics;
pub mod ocsp_shortcut;
pub mod pages;
pub mod rate;
pub mod routes;
pub mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    // The closed values of path and query parameters (their $refs are not collected from
    // the parameters themselves).
    components(schemas(
        openmyna_applications::Status,
        openmyna_campaigns::intake::Purpose,
        openmyna_eligibility::MedicalKind,
        routes::eligibility::ConsentedData,
        routes::portal::ExpenseFileFormat,
    )),
    tags(
        (name = "system", description = "Health, readiness, metrics, this document"),
        (name = "admin", description = "Organisations and their tokens"),
        (name = "registry", description = "Resident registry (住民基本台帳)"),
        (name = "konbini", description = "Certificates at the convenience store (コンビニ交付) and their verification"),
        (name = "applications", description = "Card applications (交付申請) through the smartphone, PC, photo-booth, mail and on-site channels; review, manufacture, handover at the window or mailing."),
        (name = "cards", description = "The card's life at the municipality: loss (certificates suspended at once), found, return, replacement; validity and renewal dates."),
        (name = "insurance", description = "Insurers (保険者): enrollment records (資格情報) with the 5-item registry check, their history, 資格確認書, and medical records for consented viewing. See docs/eligibility.md."),
        (name = "oqs", description = "Online eligibility verification (オンライン資格確認) for medical institutions and pharmacies: reader terminals, the challenge–signature protocol, 利用登録, queries by 記号・番号, consent and consented data. See docs/eligibility.md."),
        (name = "employers", description = "Employers: their place among companies, industry associations and ministries, divisions, employees, member tokens for HR staff (事務取扱担当者) and employees, and the My Number intake for enrollment forms (番号確認 + 身元確認, sealed storage, handling record, retention, the export for insurers). See docs/campaigns.md."),
        (name = "campaigns", description = "Card-uptake campaigns: employees' own answers and HR's CSV import, dashboards per division with small-cell suppression and SVG charts, campaigns and measures with the award for the leading division, member organisations' figures, on-site application sessions (出張申請受付) with the municipality, and the ministry report. See docs/campaigns.md."),
        (name = "portal", description = "The citizen portal (マイナポータル): login with the card, own data, consents, the hash-chained access log, 利用登録, the public-money account. The session is a cookie (omn_session). See docs/portal.md."),
        (name = "oidc", description = "OpenID Connect provider: relying parties register clients here; the protocol endpoints (discovery, JWKS, authorisation, token, userinfo) are under /api/realms/main, described by its discovery document. See docs/oidc.md."),
        (name = "platform", description = "JPKI verification platform (署名検証者) for relying parties: signed documents and signatures checked step by step, re-checks, the 確認記録. See docs/platform.md."),
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
        shared_responses(openapi);
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in operations(item) {
                general_responses(path, op);
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

/// The refusals every operation of a kind can give, whatever its annotation lists, because
/// they come from the layers around the handlers (`error.rs` maps them in one place): a bearer
/// operation's 401 and 403; a portal session's 401; a body's 400 (unreadable), 413 (too
/// large), 415 (not JSON) and 422 (a rule broken); a parameter's 400 and 422, and 404 for an
/// identifier in the path. Each with the error body.
fn general_responses(path: &str, op: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::{Ref, RefOr};
    let bearer = op
        .security
        .as_ref()
        .is_some_and(|s| !s.is_empty() && !s.iter().all(|r| r == &Default::default()));
    let portal_session = path.starts_with("/api/v1/portal/")
        && !matches!(path, "/api/v1/portal/challenge" | "/api/v1/portal/login");
    let body = op.request_body.is_some();
    let params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut statuses = Vec::new();
    if bearer {
        statuses.extend(["401", "403"]);
    }
    if portal_session {
        statuses.push("401");
    }
    if body {
        statuses.extend(["400", "413", "415", "422"]);
    }
    if params {
        statuses.extend(["400", "422"]);
    }
    if path.contains('{') {
        statuses.push("404");
    }
    for status in statuses {
        if !op.responses.responses.contains_key(status) {
            op.responses.responses.insert(
                status.to_owned(),
                RefOr::Ref(Ref::new(format!("#/components/responses/{status}"))),
            );
        }
    }
}

/// The shared refusals that [`general_responses`] refers to, under `components.responses`.
fn shared_responses(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let components = openapi.components.get_or_insert_with(Default::default);
    for status in ["400", "401", "403", "404", "413", "415", "422"] {
        let response = ResponseBuilder::new()
            .description(response_description(status))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        components
            .responses
            .insert(status.to_owned(), RefOr::T(response));
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
        "415" => "The body is not of the media type this endpoint takes (send Content-Type)",
        "422" => "Invalid: the input breaks a rule (the error names the rule and the field)",
        "429" => "Too many requests from this client address; Retry-After says when to try again",
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

/// Every documented route, declared once: `routes!` takes each handler's method and path
/// from its `#[utoipa::path]` annotation, for the router and the OpenAPI document alike. The
/// pages are here too (undocumented), under the JSON body limit.
fn documented_routes() -> OpenApiRouter<AppState> {
    use routes::{
        admin, applications, campaign_pages, campaigns, cards, console, eligibility, employers,
        fourinfo, households, jpki, konbini, oidc, platform, portal, portal_pages, portal_pair,
        registry, system,
    };
    let api = OpenApiRouter::new()
        .routes(routes!(admin::whoami))
        .routes(routes!(
            admin::create_organisation,
            admin::list_organisations
        ))
        .routes(routes!(admin::create_token))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(registry::register))
        .routes(routes!(registry::search))
        .routes(routes!(registry::get))
        .routes(routes!(registry::change_address))
        .routes(routes!(registry::change_name))
        .routes(routes!(registry::correct))
        .routes(routes!(registry::death))
        .routes(routes!(registry::removal))
        .routes(routes!(registry::return_from_abroad))
        .routes(routes!(registry::history))
        .routes(routes!(households::found))
        .routes(routes!(households::join))
        .routes(routes!(households::change_head))
        .routes(routes!(households::household))
        .routes(routes!(households::membership))
        .routes(routes!(households::set_domicile, households::domicile))
        .routes(routes!(
            households::set_former_name,
            households::former_name
        ))
        .routes(routes!(households::register_inkan, households::inkan))
        .routes(routes!(households::abolish_inkan))
        .routes(routes!(
            konbini::set_support_measure,
            konbini::lift_support_measure
        ))
        .routes(routes!(
            konbini::set_municipality,
            konbini::remove_municipality
        ))
        .routes(routes!(konbini::issue))
        .routes(routes!(konbini::verify))
        .routes(routes!(registry::events))
        .routes(routes!(registry::stats))
        .routes(routes!(jpki::issue_card))
        .routes(routes!(jpki::certificate))
        .routes(routes!(jpki::revoke))
        .routes(routes!(jpki::hold))
        .routes(routes!(jpki::release))
        .routes(routes!(jpki::resident_certificates))
        .routes(routes!(jpki::publish))
        .routes(routes!(jpki::crl_history))
        .routes(routes!(jpki::roots))
        .routes(routes!(fourinfo::register_relying_party))
        .routes(routes!(fourinfo::relying_party))
        .routes(routes!(fourinfo::submit_consent, fourinfo::list_consents))
        .routes(routes!(fourinfo::withdraw))
        .routes(routes!(fourinfo::query))
        .routes(routes!(fourinfo::follow))
        .routes(routes!(oidc::register_client, oidc::list_clients))
        .routes(routes!(oidc::portal_sign_transaction))
        .routes(routes!(oidc::portal_sign))
        .routes(routes!(platform::verify, platform::list))
        .routes(routes!(platform::get))
        .routes(routes!(platform::recheck))
        .routes(routes!(cards::card))
        .routes(routes!(cards::loss))
        .routes(routes!(cards::found))
        .routes(routes!(cards::return_card))
        .routes(routes!(cards::overseas))
        .routes(routes!(cards::domestic))
        .routes(routes!(cards::resident_cards))
        .routes(routes!(applications::issue_form))
        .routes(routes!(applications::stats))
        .routes(routes!(applications::status))
        .routes(routes!(applications::review))
        .routes(routes!(applications::manufacture))
        .routes(routes!(applications::handover))
        .routes(routes!(applications::receive))
        .routes(routes!(
            eligibility::submit_records,
            eligibility::list_records
        ))
        .routes(routes!(eligibility::record_history))
        .routes(routes!(eligibility::issue_certificate))
        .routes(routes!(eligibility::load_medical))
        .routes(routes!(
            eligibility::create_terminal,
            eligibility::list_terminals
        ))
        .routes(routes!(portal::challenge))
        .routes(routes!(portal::login))
        .routes(routes!(portal::logout))
        .routes(routes!(portal::handoff))
        .routes(routes!(portal::approve_pairing))
        .route("/portal", get(portal_pages::page))
        .route(
            oidc::CONSENT_PATH,
            get(oidc::consent_page).post(oidc::consent),
        )
        .route(
            "/api/realms/main/.well-known/openid-configuration",
            get(oidc::discovery),
        )
        .route(
            "/api/realms/main/protocol/openid-connect/certs",
            get(oidc::certs),
        )
        .route(
            "/api/realms/main/protocol/openid-connect/auth",
            get(oidc::authorize),
        )
        .route(
            "/api/realms/main/protocol/openid-connect/token",
            post(oidc::token),
        )
        .route(
            "/api/sign-transactions",
            post(oidc::create_sign_transaction),
        )
        .route("/api/sign-transactions/{id}/result", get(oidc::sign_result))
        .route(
            "/api/realms/main/protocol/openid-connect/userinfo",
            get(oidc::userinfo).post(oidc::userinfo),
        )
        .route("/portal/handoff/{token}", get(portal_pages::handoff))
        .route(
            "/portal/pair",
            get(portal_pair::status).post(portal_pair::start),
        )
        .route(
            "/portal/approve",
            get(portal_pair::approve_page).post(portal_pair::approve),
        )
        .route("/portal/history/{kind}", get(portal_pages::history))
        .route("/portal/logout", post(portal_pages::logout))
        .route("/portal/account", post(portal_pages::account))
        .route("/campaigns", get(campaign_pages::page))
        .route("/campaigns/login", post(campaign_pages::login))
        .route("/campaigns/logout", post(campaign_pages::logout))
        .route(
            "/campaigns/ministry-report.csv",
            get(campaign_pages::ministry_report),
        )
        .route("/console", get(console::page))
        .route("/console/login", post(console::login))
        .route("/console/logout", post(console::logout))
        .route("/console/certificates/{serial}", post(console::act))
        .route("/console/organisations", post(console::create_organisation))
        .route(
            "/console/organisations/{id}/tokens",
            post(console::create_token),
        )
        .route("/console/tokens/{id}/revoke", post(console::revoke_token))
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
        .routes(routes!(portal::me))
        .routes(routes!(portal::insurance))
        .routes(routes!(portal::register_insurance))
        .routes(routes!(portal::medical))
        .routes(routes!(portal::consents))
        .routes(routes!(portal::withdraw_rp))
        .routes(routes!(portal::withdraw_facility))
        .routes(routes!(portal::access_log))
        .routes(routes!(portal::account, portal::set_account))
        .routes(routes!(portal::account_history))
        .routes(routes!(portal::medical_expenses))
        .routes(routes!(portal::apply_phone, portal::phones))
        .routes(routes!(portal::revoke_phone))
        .routes(routes!(portal::hotline_suspend))
        .routes(routes!(portal::hotline_release))
        .routes(routes!(eligibility::terminal_self))
        .routes(routes!(eligibility::challenge))
        .routes(routes!(eligibility::report_pin_lock))
        .routes(routes!(eligibility::register_card))
        .routes(routes!(eligibility::verify))
        .routes(routes!(eligibility::query))
        .routes(routes!(eligibility::consent))
        .routes(routes!(eligibility::limit_amount))
        .routes(routes!(eligibility::medical_data))
        .routes(routes!(employers::get_profile, employers::set_profile))
        .routes(routes!(
            employers::create_division,
            employers::list_divisions
        ))
        .routes(routes!(
            employers::upsert_employee,
            employers::list_employees
        ))
        .routes(routes!(employers::create_member))
        .routes(routes!(employers::me))
        .routes(routes!(
            employers::submit_my_number,
            employers::own_my_number
        ))
        .routes(routes!(employers::list_intakes))
        .routes(routes!(employers::export))
        .routes(routes!(employers::purge))
        .routes(routes!(employers::identity_check))
        .routes(routes!(employers::read_my_number))
        .routes(routes!(employers::handling))
        .routes(routes!(
            campaigns::create_campaign,
            campaigns::list_campaigns
        ))
        .routes(routes!(campaigns::put_my_answer, campaigns::get_my_answer))
        .routes(routes!(campaigns::get_dashboard))
        .routes(routes!(campaigns::dashboard_bars))
        .routes(routes!(campaigns::dashboard_trend))
        .routes(routes!(campaigns::member_organisations))
        .routes(routes!(campaigns::ministry_report))
        .routes(routes!(
            campaigns::request_session,
            campaigns::list_sessions
        ))
        .routes(routes!(campaigns::get_session))
        .routes(routes!(campaigns::schedule_session))
        .routes(routes!(campaigns::close_session))
        .routes(routes!(campaigns::cancel_session))
        .routes(routes!(campaigns::get_campaign))
        .routes(routes!(campaigns::campaign_trend))
        .routes(routes!(campaigns::add_measure))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT));
    // Insurers upload CSV files.
    let uploads = OpenApiRouter::new()
        .routes(routes!(eligibility::submit_records_csv))
        .routes(routes!(eligibility::load_medical_csv))
        .routes(routes!(campaigns::import_answers))
        .layer(DefaultBodyLimit::max(eligibility::CSV_BODY_LIMIT));
    // Applications carry a face photo (up to 7 MiB, base64 in JSON).
    let with_photos = OpenApiRouter::new()
        .routes(routes!(applications::apply, applications::list))
        .routes(routes!(applications::on_site))
        .routes(routes!(campaigns::register_applicant))
        .layer(DefaultBodyLimit::max(APPLICATION_BODY_LIMIT));
    let system = OpenApiRouter::new()
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::metrics))
        .routes(routes!(system::openapi));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system)
        .merge(api)
        .merge(with_photos)
        .merge(uploads)
}

/// The OpenAPI document of this server (served at `/openapi.json`, kept in
/// `docs/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    let mut doc = documented_routes().into_openapi();
    BearerAuth.modify(&mut doc);
    Conformance.modify(&mut doc);
    doc
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    use routes::{jpki, system};
    let (documented, _) = documented_routes().split_for_parts();
    let wire = Router::new()
        .route("/ca/{file}", get(jpki::ca_file))
        .route("/crl/{root}/{file}", get(jpki::crl_file))
        .route("/ocsp/{root}", post(jpki::ocsp_post))
        .route("/ocsp/{root}/{*request}", get(jpki::ocsp_get))
        .layer(DefaultBodyLimit::max(jpki::OCSP_BODY_LIMIT));
    let metrics: Arc<metrics::Metrics> = state.metrics.clone();
    Router::new()
        .route("/", get(system::landing))
        .route("/docs", get(system::docs))
        .route("/certificates/verify", get(routes::konbini::verify_page))
        .route("/docs/redoc.standalone.js", get(system::docs_script))
        .merge(documented)
        .merge(wire)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
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
                    .map(|p| p.as_str())
                    .unwrap_or_default();
                tracing::info_span!("http", method = %req.method(), route = %route)
            }),
        )
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes, then lets requests in
/// flight finish. Slow clients are cut off (see [`listener`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: listener::ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shortcut = ocsp_shortcut::OcspShortcut::new(state.clone(), limits.body_read_timeout);
    listener::serve_with_shortcut(listener, router(state), shortcut, limits, shutdown).await
}
