//! The citizen portal (マイナポータル), `/api/v1/portal/…`: login with the card (a challenge
//! signed by the authentication key after the PIN) opens a session held in a cookie; the
//! citizen then sees their own data, the consents they gave (and withdraws them), their
//! access log with its hash chain checked and its head signed, registers the card for
//! health-insurance use and their public-money account. See docs/portal.md.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use openmyna_core::Refusal;
use openmyna_eligibility::medical::MedicalData;
use openmyna_eligibility::{CardProof, RecordView, Registration};
use openmyna_portal::account::{Account, AccountInput};
use openmyna_services::portal::{self, PhoneState};
use openmyna_store::access_log::{AccessEntry, ChainCheck};
use openmyna_store::portal::AccountChange;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Created, ErrorBody, NoContent};
use crate::json::ApiJson;
use crate::routes::eligibility::{b64, challenge_view};
use crate::state::AppState;
use openmyna_api::oqs::ChallengeView;
use openmyna_api::portal::{Handoff, LoggedIn, Login};

pub use openmyna_services::portal::HANDOFF_SECONDS;

/// The session cookie.
pub const COOKIE: &str = "omn_session";

pub(crate) fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The logged-in citizen. Extracting it fails with 401 without a live session.
#[derive(Clone)]
pub struct Citizen(pub portal::Citizen);

impl std::ops::Deref for Citizen {
    type Target = portal::Citizen;

    fn deref(&self) -> &portal::Citizen {
        &self.0
    }
}

impl FromRequestParts<AppState> for Citizen {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let token = cookie(parts, COOKIE).ok_or_else(|| {
            ApiError::from(Refusal::unauthenticated(
                "session.required",
                "log in with your card first (POST /api/v1/portal/login)",
            ))
        })?;
        Ok(Citizen(portal::citizen(s, &token).await?))
    }
}

/// A login challenge: sign its bytes with the card's authentication key (after the PIN).
#[utoipa::path(post, path = "/api/v1/portal/challenge", tag = "portal",
    responses((status = 201, body = ChallengeView), (status = 409, body = ErrorBody)))]
pub async fn challenge(
    State(s): State<AppState>,
) -> Result<Created<axum::Json<ChallengeView>>, ApiError> {
    let c = portal::challenge(&s)?;
    Ok(Created(axum::Json(challenge_view(c))))
}

/// The session cookie's value in a request, if any.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(parts, COOKIE)
}

pub fn set_cookie(resp: &mut Response, value: &str, max_age: i64) {
    let c =
        format!("{COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}");
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Log in with the card: the challenge, the authentication certificate and the signature.
/// The certificate must be one this CA issued, valid and neither revoked nor suspended. The
/// session cookie is Secure, HttpOnly and SameSite=Strict; it ends after 30 minutes without
/// use, 8 hours after the login, or at logout.
#[utoipa::path(post, path = "/api/v1/portal/login", tag = "portal", request_body = Login,
    responses((status = 200, body = LoggedIn), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<Login>,
) -> Result<Response, ApiError> {
    let cert = b64("certificate", &req.certificate)?;
    let sig = b64("signature", &req.signature)?;
    let proof = CardProof {
        challenge_id: &req.challenge_id,
        certificate: &cert,
        signature: &sig,
    };
    let opened = portal::login(&s, &proof).await?;
    let mut resp = axum::Json(LoggedIn {
        name: opened.name,
        expires_at: opened.expires_at.to_rfc3339(),
    })
    .into_response();
    set_cookie(&mut resp, &opened.token, SESSION_SECONDS);
    Ok(resp)
}

/// The cookie's lifetime: the session's longest.
pub const SESSION_SECONDS: i64 = openmyna_portal::session::MAX_HOURS * 3600;

/// End the session.
#[utoipa::path(post, path = "/api/v1/portal/logout", tag = "portal",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(s): State<AppState>, c: Citizen) -> Result<Response, ApiError> {
    portal::logout(&s, &c).await?;
    let mut resp = NoContent.into_response();
    set_cookie(&mut resp, "", 0);
    Ok(resp)
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    /// 1 男, 2 女, 9 適用不能.
    pub sex: u8,
    pub address: String,
    pub postal_code: Option<String>,
    /// The My Number with all but the last four digits hidden.
    pub my_number: String,
}

/// The citizen's basic four information.
#[utoipa::path(get, path = "/api/v1/portal/me", tag = "portal",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(s): State<AppState>, c: Citizen) -> Result<axum::Json<Me>, ApiError> {
    Ok(axum::Json(Me::of(&portal::me(&s, &c).await?)))
}

impl Me {
    pub(crate) fn of(r: &openmyna_registry::Resident) -> Me {
        let n = r.my_number.expose();
        Me {
            name: r.basic4.name.name.clone(),
            name_kana: r.basic4.name.name_kana.clone(),
            birth_date: r.basic4.birth_date.to_string(),
            sex: r.basic4.sex.code(),
            address: r.basic4.address.text.clone(),
            postal_code: r
                .basic4
                .address
                .postal_code
                .as_ref()
                .map(|p| p.as_str().to_owned()),
            my_number: format!(
                "********{}",
                n.get(n.len().saturating_sub(4)..).unwrap_or("")
            ),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Insurance {
    /// 利用登録 of the card, if made.
    pub registration: Option<Registration>,
    /// The records valid today (held ones excluded until the insurer corrects them).
    pub records: Vec<RecordView>,
}

/// The citizen's health-insurance eligibility today and the card's 利用登録.
#[utoipa::path(get, path = "/api/v1/portal/insurance", tag = "portal",
    responses((status = 200, body = Insurance), (status = 401, body = ErrorBody)))]
pub async fn insurance(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Insurance>, ApiError> {
    let i = portal::insurance(&s, &c).await?;
    Ok(axum::Json(Insurance {
        registration: i.registration,
        records: i.records,
    }))
}

/// 利用登録 from the portal: the card that opened this session becomes usable as a
/// health-insurance card (an earlier registration is kept).
#[utoipa::path(post, path = "/api/v1/portal/insurance/registration", tag = "portal",
    responses((status = 200, body = Registration), (status = 401, body = ErrorBody)))]
pub async fn register_insurance(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Registration>, ApiError> {
    Ok(axum::Json(portal::register_insurance(&s, &c).await?))
}

/// The citizen's own medication, treatment or check-up history (5 years), surgery included.
#[utoipa::path(get, path = "/api/v1/portal/medical/{kind}", tag = "portal",
    params(("kind" = openmyna_eligibility::MedicalKind, Path, description = "medication, treatment, checkup or expense")),
    responses((status = 200, body = Vec<MedicalData>), (status = 401, body = ErrorBody)))]
pub async fn medical(
    State(s): State<AppState>,
    c: Citizen,
    Path(kind): Path<String>,
) -> Result<axum::Json<Vec<MedicalData>>, ApiError> {
    Ok(axum::Json(portal::medical(&s, &c, &kind).await?))
}

#[derive(Serialize, ToSchema)]
pub struct RelyingPartyConsent {
    pub id: i64,
    pub relying_party: i64,
    pub items: Vec<String>,
    pub purpose: String,
    pub created_at: String,
    /// live or withdrawn.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct FacilityConsentView {
    pub org_id: i64,
    pub facility: String,
    pub category: String,
    pub given_at: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Consents {
    /// Consents signed with the card for the 4-information service.
    pub relying_parties: Vec<RelyingPartyConsent>,
    /// Consents given at a facility's reader, still open.
    pub facilities: Vec<FacilityConsentView>,
}

/// The consents the citizen has given.
#[utoipa::path(get, path = "/api/v1/portal/consents", tag = "portal",
    responses((status = 200, body = Consents), (status = 401, body = ErrorBody)))]
pub async fn consents(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Consents>, ApiError> {
    Ok(axum::Json(Consents::of(portal::consents(&s, &c).await?)))
}

impl Consents {
    pub(crate) fn of(c: portal::Consents) -> Consents {
        Consents {
            relying_parties: c
                .relying_parties
                .iter()
                .map(|x| RelyingPartyConsent {
                    id: x.id,
                    relying_party: x.rp_org_id,
                    items: x.items.iter().map(|i| i.as_str().to_owned()).collect(),
                    purpose: x.purpose.clone(),
                    created_at: x.created_at.to_rfc3339(),
                    status: if x.live() { "live" } else { "withdrawn" }.into(),
                })
                .collect(),
            facilities: c
                .facilities
                .into_iter()
                .map(|f| FacilityConsentView {
                    org_id: f.org_id,
                    facility: f.facility,
                    category: f.category,
                    given_at: f.given_at.to_rfc3339(),
                    expires_at: f.expires_at.to_rfc3339(),
                })
                .collect(),
        }
    }
}

/// Withdraw a consent given to a relying party (the 4-information service).
#[utoipa::path(post, path = "/api/v1/portal/consents/relying-parties/{id}/withdraw", tag = "portal",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn withdraw_rp(
    State(s): State<AppState>,
    c: Citizen,
    Path(id): Path<i64>,
) -> Result<NoContent, ApiError> {
    portal::withdraw_relying_party(&s, &c, id).await?;
    Ok(NoContent)
}

/// End the open consents given to one facility.
#[utoipa::path(post, path = "/api/v1/portal/consents/facilities/{org_id}/withdraw", tag = "portal",
    params(("org_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn withdraw_facility(
    State(s): State<AppState>,
    c: Citizen,
    Path(org_id): Path<i64>,
) -> Result<NoContent, ApiError> {
    portal::withdraw_facility(&s, &c, org_id).await?;
    Ok(NoContent)
}

#[derive(Serialize, ToSchema)]
pub struct SignedHead {
    pub seq: i64,
    pub hash: String,
    pub at: String,
    /// ECDSA P-256 / SHA-256 signature (DER, base64) over `statement`.
    pub signature: String,
    /// The exact bytes signed (UTF-8).
    pub statement: String,
    /// The log's public key (SPKI DER, base64); the same for every resident.
    pub public_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccessLog {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<AccessEntry>,
    /// The chain recomputed from the first entry: every hash right and linked.
    #[schema(value_type = Object)]
    pub chain: ChainCheck,
    /// The head of the chain, signed by this installation: keep it; a later log whose chain
    /// does not pass through it has been altered.
    pub head: SignedHead,
}

/// Who saw the citizen's data, when and why — every disclosure by municipalities, clinics,
/// relying parties and employers — with the hash chain checked and its head signed.
#[utoipa::path(get, path = "/api/v1/portal/access-log", tag = "portal",
    responses((status = 200, body = AccessLog), (status = 401, body = ErrorBody)))]
pub async fn access_log(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<AccessLog>, ApiError> {
    let log = portal::access_log(&s, &c).await?;
    let head = log.head;
    Ok(axum::Json(AccessLog {
        entries: log.entries,
        chain: log.chain,
        head: SignedHead {
            seq: head.seq,
            hash: head.hash,
            at: head.at.to_rfc3339(),
            signature: portal_b64(&head.signature),
            statement: head.statement,
            public_key: portal_b64(&head.public_key),
        },
    }))
}

fn portal_b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    pub account: Account,
    pub registered_at: String,
    pub channel: String,
}

/// The citizen's public-money account (公金受取口座), if registered.
#[utoipa::path(get, path = "/api/v1/portal/public-money-account", tag = "portal",
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn account(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<AccountView>, ApiError> {
    let a = portal::account(&s, &c).await?.ok_or_else(|| {
        ApiError::not_found(
            "account.not_registered",
            "no public-money account is registered",
        )
    })?;
    Ok(axum::Json(AccountView::of(a)))
}

impl AccountView {
    fn of(a: portal::RegisteredAccount) -> AccountView {
        AccountView {
            account: a.account,
            registered_at: a.registered_at.to_rfc3339(),
            channel: a.channel,
        }
    }
}

/// Register the public-money account (replacing an earlier one): bank code 4 digits, branch
/// 3, ordinary/current/postal_ordinary, account number 7, the holder's kana name the
/// citizen's own.
#[utoipa::path(put, path = "/api/v1/portal/public-money-account", tag = "portal",
    request_body = AccountInput,
    responses((status = 200, body = AccountView), (status = 422, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn set_account(
    State(s): State<AppState>,
    c: Citizen,
    ApiJson(req): ApiJson<AccountInput>,
) -> Result<axum::Json<AccountView>, ApiError> {
    Ok(axum::Json(AccountView::of(
        portal::set_account(&s, &c, &req).await?,
    )))
}

/// Every change of the public-money account.
#[utoipa::path(get, path = "/api/v1/portal/public-money-account/history", tag = "portal",
    responses((status = 200, body = Vec<Object>), (status = 401, body = ErrorBody)))]
pub async fn account_history(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Vec<AccountChange>>, ApiError> {
    Ok(axum::Json(portal::account_history(&s, &c).await?))
}

// ---------------------------------------------------------------- smartphone certificates

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneApplication {
    /// A CMS SignedData (DER, base64) made with the card's signing key over a phone request
    /// (`openmyna.phone.request/1`, see docs/portal.md).
    pub request: String,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneView {
    pub id: i64,
    pub device_id: String,
    pub model: String,
    pub auth_serial: String,
    pub sign_serial: String,
    /// active, suspended or revoked.
    pub status: String,
    pub created_at: String,
    pub status_at: Option<String>,
    pub status_note: Option<String>,
}

fn phone_view(p: &openmyna_store::portal::Phone) -> PhoneView {
    PhoneView {
        id: p.id,
        device_id: p.device_id.clone(),
        model: p.model.clone(),
        auth_serial: p.auth_serial.clone(),
        sign_serial: p.sign_serial.clone(),
        status: p.status.as_str().to_owned(),
        created_at: p.created_at.to_rfc3339(),
        status_at: p.status_at.map(|t| t.to_rfc3339()),
        status_note: p.status_note.clone(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct PhoneIssued {
    pub phone: PhoneView,
    /// The token label the phone shows (`JPKIAPGPSETOKEN`).
    pub token_label: String,
    /// DER, base64.
    pub auth_certificate: String,
    pub sign_certificate: String,
}

/// Certify a phone: the request must be signed with the logged-in citizen's own signing
/// certificate (valid, not revoked or suspended), within 10 minutes. The phone gets an
/// authentication and a signing certificate for its own keys, valid as long as the card's
/// signing certificate.
#[utoipa::path(post, path = "/api/v1/portal/phones", tag = "portal",
    request_body = PhoneApplication,
    responses((status = 201, body = PhoneIssued), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn apply_phone(
    State(s): State<AppState>,
    c: Citizen,
    ApiJson(req): ApiJson<PhoneApplication>,
) -> Result<Created<axum::Json<PhoneIssued>>, ApiError> {
    let der = b64("request", &req.request)?;
    let issued = portal::apply_phone(&s, &c, &der).await?;
    Ok(Created(axum::Json(PhoneIssued {
        phone: phone_view(&issued.phone),
        token_label: openmyna_portal::phone::TOKEN_LABEL.into(),
        auth_certificate: portal_b64(&issued.auth_certificate),
        sign_certificate: portal_b64(&issued.sign_certificate),
    })))
}

/// The citizen's phones and their states.
#[utoipa::path(get, path = "/api/v1/portal/phones", tag = "portal",
    responses((status = 200, body = Vec<PhoneView>), (status = 401, body = ErrorBody)))]
pub async fn phones(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Vec<PhoneView>>, ApiError> {
    Ok(axum::Json(
        portal::phones(&s, &c)
            .await?
            .iter()
            .map(phone_view)
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneNote {
    /// Why: sold, exchanged, repaired, lost, … (1–200 characters).
    pub note: String,
}

/// Revoke a phone's certificates (before selling, exchanging or repairing it).
#[utoipa::path(post, path = "/api/v1/portal/phones/{id}/revoke", tag = "portal",
    params(("id" = i64, Path)), request_body = PhoneNote,
    responses((status = 200, body = PhoneView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn revoke_phone(
    State(s): State<AppState>,
    c: Citizen,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PhoneNote>,
) -> Result<axum::Json<PhoneView>, ApiError> {
    let phone = portal::revoke_phone(&s, &c, id, &req.note).await?;
    Ok(axum::Json(phone_view(&phone)))
}

/// The 24-hour hotline (operator): suspend a phone's certificates at once on a reported
/// loss. Visible in OCSP at the next request.
#[utoipa::path(post, path = "/api/v1/hotline/phones/{id}/suspend", tag = "portal",
    params(("id" = i64, Path)), request_body = PhoneNote,
    responses((status = 200, body = PhoneView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hotline_suspend(
    State(s): State<AppState>,
    caller: crate::auth::Caller,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PhoneNote>,
) -> Result<axum::Json<PhoneView>, ApiError> {
    hotline(&s, caller, id, PhoneState::Suspended, &req.note).await
}

/// The hotline lifts a phone's suspension (the phone was found).
#[utoipa::path(post, path = "/api/v1/hotline/phones/{id}/release", tag = "portal",
    params(("id" = i64, Path)), request_body = PhoneNote,
    responses((status = 200, body = PhoneView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hotline_release(
    State(s): State<AppState>,
    caller: crate::auth::Caller,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PhoneNote>,
) -> Result<axum::Json<PhoneView>, ApiError> {
    hotline(&s, caller, id, PhoneState::Active, &req.note).await
}

async fn hotline(
    s: &AppState,
    caller: crate::auth::Caller,
    id: i64,
    to: PhoneState,
    note: &str,
) -> Result<axum::Json<PhoneView>, ApiError> {
    let actor = caller.require(&[openmyna_core::Role::Operator])?;
    let phone = portal::hotline(s, actor, id, to, note).await?;
    Ok(axum::Json(phone_view(&phone)))
}

// ---------------------------------------------------------------- medical-expense notices

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpenseFormat {
    /// json (default), xml or csv.
    #[param(value_type = Option<ExpenseFileFormat>)]
    pub format: Option<String>,
}

/// The forms of the medical-expense notices.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExpenseFileFormat {
    Json,
    Xml,
    Csv,
}

#[derive(Serialize, ToSchema)]
pub struct ExpenseNotices {
    pub header: openmyna_portal::expenses::NoticeHeader,
    pub lines: Vec<openmyna_portal::expenses::NoticeLine>,
}

/// 医療費通知情報 for one calendar year, for the tax return's medical-expense deduction: as
/// JSON, as XML (`?format=xml`, layout in docs/portal.md) or as CSV (`?format=csv`).
#[utoipa::path(get, path = "/api/v1/portal/medical-expenses/{year}", tag = "portal",
    params(("year" = i32, Path), ExpenseFormat),
    responses((status = 200, body = ExpenseNotices), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn medical_expenses(
    State(s): State<AppState>,
    c: Citizen,
    Path(year): Path<i32>,
    axum::extract::Query(q): axum::extract::Query<ExpenseFormat>,
) -> Result<Response, ApiError> {
    use openmyna_portal::expenses::{to_csv, to_xml};
    let (header, lines) = portal::medical_expenses(&s, &c, year).await?;
    let format = q.format.as_deref().unwrap_or("json");
    let file = format!("iryohi-tsuchi-{year}.{format}");
    Ok(match format {
        "json" => axum::Json(ExpenseNotices { header, lines }).into_response(),
        "xml" => download(
            to_xml(&header, &lines),
            "application/xml; charset=utf-8",
            &file,
        ),
        "csv" => download(to_csv(&header, &lines), "text/csv; charset=utf-8", &file),
        _ => {
            return Err(ApiError::bad_request(
                "format.unknown",
                "format is json, xml or csv",
            ));
        }
    })
}

/// A file to download, never cached.
fn download(body: String, ctype: &'static str, file: &str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A one-time link that logs a browser in as this citizen (for logging in on a computer
/// whose browser cannot reach the card: the card is read by `openmyna portal login`, or a
/// phone, and the browser follows the link).
#[utoipa::path(post, path = "/api/v1/portal/handoff", tag = "portal",
    responses((status = 201, body = Handoff), (status = 401, body = ErrorBody)))]
pub async fn handoff(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<Created<axum::Json<Handoff>>, ApiError> {
    let (token, expires_at) = portal::handoff(&s, &c).await?;
    Ok(Created(axum::Json(Handoff {
        path: format!("/portal/handoff/{token}"),
        expires_at: expires_at.to_rfc3339(),
    })))
}
