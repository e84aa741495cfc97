//! JPKI: the card-certificate API (`/api/v1/jpki/…`) and the standard wire formats for
//! relying parties: root certificates (`/ca/…`), CRLs (`/crl/…`, `application/pkix-crl`) and
//! OCSP (`/ocsp/<root>`, `application/ocsp-request` / `application/ocsp-response`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use openmyna_core::Refusal;
use openmyna_core::Role;
use openmyna_jpki::{CertRecord, CrlMeta, RootKind};
use openmyna_services::jpki as service;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Created, ErrorBody};
use crate::json::ApiJson;
use crate::json::{ApiPath, ApiQuery};
use crate::state::AppState;

const ISSUERS: &[Role] = &[Role::Municipality];
const STATUS_CHANGERS: &[Role] = &[Role::Municipality, Role::Operator];

pub use openmyna_jpki::pem;

/// A public key given as PEM (`-----BEGIN PUBLIC KEY-----`) or base64 DER SPKI.
fn public_key(field: &'static str, s: &str) -> Result<Vec<u8>, ApiError> {
    let body: String = s
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("");
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|_| {
            ApiError::from(Refusal::invalid(
                format!("{field}.encoding"),
                format!("{field} must be a PEM public key or base64 of a DER SubjectPublicKeyInfo"),
            ))
            .with_field(field)
        })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCardRequest {
    pub resident_id: i64,
    /// The card's signing public key (PEM or base64 DER SPKI). Omit for residents under 15.
    #[serde(default)]
    pub sign_public_key: Option<String>,
    /// The card's user-authentication public key (PEM or base64 DER SPKI).
    pub auth_public_key: String,
    /// Last day the card is valid (default: the 10th birthday after issuance, the 5th for
    /// residents under 18).
    #[serde(default)]
    pub card_expiry: Option<String>,
    /// The card this is for (e.g. its manufacturing number), recorded with the certificates.
    #[serde(default)]
    pub card_ref: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CertificateView {
    /// Upper-case hex, as `openssl x509 -serial` prints it.
    pub serial: String,
    /// `sign` or `auth`
    pub root: String,
    pub resident_id: i64,
    pub card_ref: Option<String>,
    pub partition: i64,
    pub not_before: String,
    pub not_after: String,
    /// `good`, `held` or `revoked`
    pub status: String,
    pub status_at: Option<String>,
    pub reason: Option<String>,
    pub issued_at: String,
    pub certificate_pem: String,
}

pub(crate) fn view(c: &CertRecord) -> CertificateView {
    CertificateView {
        serial: c.serial.clone(),
        root: c.root.as_str().to_owned(),
        resident_id: c.resident_id,
        card_ref: c.card_ref.clone(),
        partition: c.partition,
        not_before: c.not_before.to_rfc3339(),
        not_after: c.not_after.to_rfc3339(),
        status: c.status.as_str().to_owned(),
        status_at: c.status_at.map(|t| t.to_rfc3339()),
        reason: c.reason.map(|r| r.name().to_owned()),
        issued_at: c.issued_at.to_rfc3339(),
        certificate_pem: pem("CERTIFICATE", &c.der),
    }
}

#[derive(Serialize, ToSchema)]
pub struct IssuedCard {
    /// Absent for residents under 15.
    pub signing: Option<CertificateView>,
    pub authentication: CertificateView,
}

/// Issue a card's certificates from the resident record and the public keys generated on the
/// card.
#[utoipa::path(post, path = "/api/v1/jpki/cards", tag = "jpki", request_body = IssueCardRequest,
    responses((status = 201, body = IssuedCard), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "refused by a rule, e.g. a signing certificate under 15"),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn issue_card(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<IssueCardRequest>,
) -> Result<Created<axum::Json<IssuedCard>>, ApiError> {
    let actor = caller.require(ISSUERS)?;
    let auth = public_key("auth_public_key", &req.auth_public_key)?;
    let sign = (req.sign_public_key.as_deref())
        .map(|k| public_key("sign_public_key", k))
        .transpose()?;
    let keys = service::CardKeys {
        resident_id: req.resident_id,
        sign_spki: sign.as_deref(),
        auth_spki: &auth,
        card_expiry: req.card_expiry.as_deref(),
        card_ref: req.card_ref.as_deref(),
    };
    let issued = service::issue_card(&s, actor, &keys).await?;
    Ok(Created(axum::Json(IssuedCard {
        signing: issued.signing.as_ref().map(view),
        authentication: view(&issued.authentication),
    })))
}

/// A certificate and its status.
#[utoipa::path(get, path = "/api/v1/jpki/certificates/{serial}", tag = "jpki",
    params(("serial" = String, Path, description = "hex serial")),
    responses((status = 200, body = CertificateView), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn certificate(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(serial): ApiPath<String>,
) -> Result<axum::Json<CertificateView>, ApiError> {
    caller.require(STATUS_CHANGERS)?;
    Ok(axum::Json(view(&s.jpki.certificate(&serial).await?)))
}

/// A resident's certificates.
#[utoipa::path(get, path = "/api/v1/jpki/residents/{id}/certificates", tag = "jpki",
    params(("id" = i64, Path)),
    responses((status = 200, body = [CertificateView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resident_certificates(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::Json<Vec<CertificateView>>, ApiError> {
    caller.require(STATUS_CHANGERS)?;
    let certs = s.jpki.certificates_of_resident(id).await?;
    Ok(axum::Json(certs.iter().map(view).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// RFC 5280 reason: unspecified, keyCompromise, affiliationChanged, superseded,
    /// cessationOfOperation, privilegeWithdrawn, … (name or code).
    #[schema(example = "keyCompromise")]
    pub reason: String,
}

/// Revoke a certificate (final). Visible in OCSP at once, and in the next CRL.
#[utoipa::path(post, path = "/api/v1/jpki/certificates/{serial}/revoke", tag = "jpki",
    params(("serial" = String, Path)), request_body = RevokeRequest,
    responses((status = 200, body = CertificateView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> Result<axum::Json<CertificateView>, ApiError> {
    let actor = caller.require(STATUS_CHANGERS)?;
    let change = service::StatusChange::Revoke(&req.reason);
    Ok(axum::Json(view(
        &service::change_status(&s, actor, &serial, change).await?,
    )))
}

/// Suspend a certificate (一時利用停止, certificateHold). Visible in OCSP at once.
#[utoipa::path(post, path = "/api/v1/jpki/certificates/{serial}/hold", tag = "jpki",
    params(("serial" = String, Path)),
    responses((status = 200, body = CertificateView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hold(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(serial): ApiPath<String>,
) -> Result<axum::Json<CertificateView>, ApiError> {
    let actor = caller.require(STATUS_CHANGERS)?;
    let change = service::StatusChange::Hold;
    Ok(axum::Json(view(
        &service::change_status(&s, actor, &serial, change).await?,
    )))
}

/// Lift a suspension.
#[utoipa::path(post, path = "/api/v1/jpki/certificates/{serial}/release", tag = "jpki",
    params(("serial" = String, Path)),
    responses((status = 200, body = CertificateView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn release(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(serial): ApiPath<String>,
) -> Result<axum::Json<CertificateView>, ApiError> {
    let actor = caller.require(STATUS_CHANGERS)?;
    let change = service::StatusChange::Release;
    Ok(axum::Json(view(
        &service::change_status(&s, actor, &serial, change).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// `sign` or `auth` (default: both).
    #[serde(default)]
    pub root: Option<String>,
    /// `full` (full CRL, every partition, and an empty delta) or `delta`.
    pub kind: String,
}

#[derive(Serialize, ToSchema)]
pub struct CrlView {
    pub root: String,
    pub number: i64,
    pub scope: String,
    pub partition: Option<i64>,
    pub base_number: Option<i64>,
    pub this_update: String,
    pub next_update: String,
    pub entries: i64,
    pub bytes: i64,
    pub url: String,
}

pub(crate) fn crl_view(s: &AppState, m: &CrlMeta) -> CrlView {
    CrlView {
        root: m.root.as_str().to_owned(),
        number: m.number,
        scope: m.scope.clone(),
        partition: m.partition,
        base_number: m.base_number,
        this_update: m.this_update.to_rfc3339(),
        next_update: m.next_update.to_rfc3339(),
        entries: m.entries,
        bytes: m.bytes,
        url: service::crl_url(s, m),
    }
}

/// Publish CRLs now (they are also published on a schedule).
#[utoipa::path(post, path = "/api/v1/jpki/crls/publish", tag = "jpki", request_body = PublishRequest,
    responses((status = 200, body = [CrlView]), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PublishRequest>,
) -> Result<axum::Json<Vec<CrlView>>, ApiError> {
    caller.require(&[Role::Operator])?;
    let published = service::publish(&s, req.root.as_deref(), &req.kind).await?;
    Ok(axum::Json(
        published.iter().map(|m| crl_view(&s, m)).collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    #[serde(default)]
    pub limit: Option<i64>,
}

/// CRL publication history, newest first.
#[utoipa::path(get, path = "/api/v1/jpki/crls", tag = "jpki", params(HistoryQuery),
    responses((status = 200, body = [CrlView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn crl_history(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<axum::Json<Vec<CrlView>>, ApiError> {
    caller.require(STATUS_CHANGERS)?;
    let h = s.jpki.crl_history(q.limit.unwrap_or(50)).await?;
    Ok(axum::Json(h.iter().map(|m| crl_view(&s, m)).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct RootView {
    pub root: String,
    pub key: String,
    pub certificate_pem: String,
    pub responder_certificate_pem: String,
    pub ocsp_url: String,
    pub full_crl_url: String,
    pub delta_crl_url: String,
}

/// The roots and their responders (public; trust anchors for relying parties).
#[utoipa::path(get, path = "/api/v1/jpki/roots", tag = "jpki",
    responses((status = 200, body = [RootView]), (status = 500, body = ErrorBody)))]
pub async fn roots(State(s): State<AppState>) -> Result<axum::Json<Vec<RootView>>, ApiError> {
    Ok(axum::Json(
        service::roots(&s)?.into_iter().map(root_view).collect(),
    ))
}

pub(crate) fn root_view(r: service::RootInfo) -> RootView {
    RootView {
        root: r.root.as_str().to_owned(),
        key: r.key.as_str().to_owned(),
        certificate_pem: pem("CERTIFICATE", &r.certificate),
        responder_certificate_pem: pem("CERTIFICATE", &r.responder_certificate),
        ocsp_url: r.ocsp_url,
        full_crl_url: r.full_crl_url,
        delta_crl_url: r.delta_crl_url,
    }
}

/// `/ca/sign.crt`, `/ca/auth.crt` (roots) and `/ca/sign-ocsp.crt`, `/ca/auth-ocsp.crt`
/// (responders), DER, `application/pkix-cert`.
pub async fn ca_file(State(s): State<AppState>, ApiPath(file): ApiPath<String>) -> Response {
    let der = match file.as_str() {
        "sign.crt" => s.jpki.root_certificate(RootKind::Sign),
        "auth.crt" => s.jpki.root_certificate(RootKind::Auth),
        "sign-ocsp.crt" => s.jpki.responder_certificate(RootKind::Sign),
        "auth-ocsp.crt" => s.jpki.responder_certificate(RootKind::Auth),
        _ => return ApiError::not_found("ca.not_found", "no such certificate").into_response(),
    };
    match der {
        Ok(d) => ([(header::CONTENT_TYPE, "application/pkix-cert")], d).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `/crl/<root>/full.crl`, `/crl/<root>/delta.crl`, `/crl/<root>/p<N>.crl`: the latest
/// published CRL as DER (`application/pkix-crl`), served from the published file.
pub async fn crl_file(
    State(s): State<AppState>,
    ApiPath((root, file)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let (meta, der) = service::crl_file(&s, &root, &file).await?;
    let modified = (meta.this_update.with_timezone(&chrono::Utc))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    Ok((
        [
            (header::CONTENT_TYPE, "application/pkix-crl".to_owned()),
            (header::LAST_MODIFIED, modified),
        ],
        der,
    )
        .into_response())
}

fn ocsp_response(der: Vec<u8>) -> Response {
    // Static values: nothing is copied or allocated for the headers of each answer.
    const OCSP_RESPONSE: header::HeaderValue =
        header::HeaderValue::from_static("application/ocsp-response");
    const CACHE: header::HeaderValue =
        header::HeaderValue::from_static("max-age=60, public, no-transform, must-revalidate");
    (
        [
            (header::CONTENT_TYPE, OCSP_RESPONSE),
            (header::CACHE_CONTROL, CACHE),
        ],
        der,
    )
        .into_response()
}

/// Largest OCSP request accepted.
pub const OCSP_BODY_LIMIT: usize = 16 * 1024;

/// OCSP over POST (RFC 6960 Appendix A.1).
pub async fn ocsp_post(
    State(s): State<AppState>,
    ApiPath(root): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(root) = RootKind::parse(&root) else {
        return ocsp_response(openmyna_jpki::ocsp::unauthorized());
    };
    answer_post(&s, root, headers.get(header::CONTENT_TYPE), &body).await
}

/// The answer to an OCSP POST to the responder of `root`, whichever way it arrived (the
/// route above, or the listener's shortcut in [`crate::ocsp_shortcut`]).
pub(crate) async fn answer_post(
    s: &AppState,
    root: RootKind,
    content_type: Option<&header::HeaderValue>,
    body: &[u8],
) -> Response {
    let ct = content_type.and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.is_empty() && !ct.starts_with("application/ocsp-request") {
        return ocsp_response(openmyna_jpki::ocsp::malformed_request());
    }
    ocsp_response(s.jpki.ocsp(root, body).await)
}

/// OCSP over GET (RFC 6960 Appendix A.1): the base64 DER request, URL-encoded, after the
/// responder's path.
pub async fn ocsp_get(
    State(s): State<AppState>,
    ApiPath((root, encoded)): ApiPath<(String, String)>,
) -> Response {
    let Some(root) = RootKind::parse(&root) else {
        return ocsp_response(openmyna_jpki::ocsp::unauthorized());
    };
    // axum has already percent-decoded the path; a '/' in the base64 spans segments, which
    // the wildcard keeps.
    match base64::engine::general_purpose::STANDARD.decode(encoded.trim()) {
        Ok(req) => ocsp_response(s.jpki.ocsp(root, &req).await),
        Err(_) => ocsp_response(openmyna_jpki::ocsp::malformed_request()),
    }
}
