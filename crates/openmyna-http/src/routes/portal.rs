//! The citizen portal (マイナポータル), `/api/v1/portal/…`: login with the card (a challenge
//! signed by the authentication key after the PIN) opens a session held in a cookie; the
//! citizen then sees their own data, the consents they gave (and withdraws them), their
//! access log with its hash chain checked and its head signed, registers the card for
//! health-insurance use and their public-money account. See docs/portal.md.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use openmyna_core::Refusal;
use openmyna_eligibility::medical::MedicalData;
use openmyna_eligibility::{
    CardProof, Eligibility, EligibilityStore, MedicalKind, PORTAL_HOLDER, RecordView, Registration,
    RegistrationChannel,
};
use openmyna_portal::account::{Account, AccountInput};
use openmyna_portal::session::{Ended, Session};
use openmyna_registry::{Registry, ResidentId};
use openmyna_store::access_log::{AccessEntry, ChainCheck};
use openmyna_store::crypto::sha256_hex;
use openmyna_store::eligibility::FacilityConsent;
use openmyna_store::portal::AccountChange;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Created, ErrorBody, NoContent};
use crate::json::ApiJson;
use crate::routes::eligibility::{ChallengeView, b64};
use crate::state::AppState;

/// The session cookie.
pub const COOKIE: &str = "omn_session";

fn eligibility(s: &AppState) -> Eligibility<'_, openmyna_store::Store, openmyna_store::Store> {
    Eligibility::new(
        &s.store,
        &s.jpki,
        s.challenges.as_ref(),
        s.clock.as_ref(),
        s.entropy.as_ref(),
    )
}

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
pub struct Citizen {
    pub resident_id: i64,
    pub auth_serial: String,
    token_hash: String,
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
        Citizen::of_token(s, &token).await
    }
}

impl Citizen {
    /// The citizen of a session token, if the session is live (and marks it used).
    pub async fn of_token(s: &AppState, token: &str) -> Result<Citizen, ApiError> {
        let token_hash = sha256_hex(token.as_bytes());
        let session = s.store.portal_session(&token_hash).await?.ok_or_else(|| {
            ApiError::from(Refusal::unauthenticated(
                "session.unknown",
                "this session is not known; log in again",
            ))
        })?;
        let now = s.clock.now();
        if let Err(why) = session.check(now) {
            let m = match why {
                Ended::LoggedOut => "you logged out of this session",
                Ended::Idle => "the session ended after 30 minutes without use",
                Ended::TooOld => "the session ended 8 hours after the login",
            };
            return Err(ApiError::from(Refusal::unauthenticated(
                "session.ended",
                format!("{m}; log in again"),
            )));
        }
        if session.needs_touch(now) {
            s.store.touch_portal_session(&token_hash, &now).await?;
        }
        Ok(Citizen {
            resident_id: session.resident_id,
            auth_serial: session.auth_serial,
            token_hash,
        })
    }
}

/// A login challenge: sign its bytes with the card's authentication key (after the PIN).
#[utoipa::path(post, path = "/api/v1/portal/challenge", tag = "portal",
    responses((status = 201, body = ChallengeView), (status = 409, body = ErrorBody)))]
pub async fn challenge(
    State(s): State<AppState>,
) -> Result<Created<axum::Json<ChallengeView>>, ApiError> {
    let c = eligibility(&s).portal_challenge()?;
    Ok(Created(axum::Json(ChallengeView::from(c))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub challenge_id: String,
    /// The card's authentication certificate (DER, base64).
    pub certificate: String,
    /// The card's signature over the challenge (base64).
    pub signature: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoggedIn {
    pub name: String,
    /// When the session ends at the latest.
    pub expires_at: String,
}

/// The session cookie's value in a request, if any.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(parts, COOKIE)
}

/// Opens a session for `resident_id` (after a card login or a handoff); returns its token.
pub async fn open_session(
    s: &AppState,
    resident_id: i64,
    auth_serial: &str,
) -> Result<String, ApiError> {
    let now = s.clock.now();
    let mut token = [0u8; 32];
    s.entropy.fill(&mut token);
    let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
    s.store
        .create_portal_session(
            &sha256_hex(token.as_bytes()),
            &Session {
                resident_id,
                auth_serial: auth_serial.to_owned(),
                created_at: now,
                last_seen: now,
                ended_at: None,
            },
        )
        .await?;
    Ok(token)
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
    let record = eligibility(&s)
        .authenticate_for(PORTAL_HOLDER, &proof)
        .await?;
    let resident = Registry::new(&s.store, s.clock.as_ref(), s.entropy.as_ref())
        .get(ResidentId(record.resident_id))
        .await?;
    let now = s.clock.now();
    let token = open_session(&s, record.resident_id, &record.serial).await?;
    let max = openmyna_portal::session::MAX_HOURS * 3600;
    let mut resp = axum::Json(LoggedIn {
        name: resident.basic4.name.name.clone(),
        expires_at: (now + chrono::Duration::hours(openmyna_portal::session::MAX_HOURS))
            .to_rfc3339(),
    })
    .into_response();
    set_cookie(&mut resp, &token, max);
    Ok(resp)
}

/// End the session.
#[utoipa::path(post, path = "/api/v1/portal/logout", tag = "portal",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(s): State<AppState>, c: Citizen) -> Result<Response, ApiError> {
    s.store
        .end_portal_session(&c.token_hash, &s.clock.now())
        .await?;
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
    let r = Registry::new(&s.store, s.clock.as_ref(), s.entropy.as_ref())
        .get(ResidentId(c.resident_id))
        .await?;
    let n = r.my_number.expose();
    Ok(axum::Json(Me {
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
        my_number: format!("********{}", &n[n.len().saturating_sub(4)..]),
    }))
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
    let today = s.clock.today();
    let records = eligibility(&s)
        .visible_records(c.resident_id)
        .await?
        .into_iter()
        .filter(|r| r.enrollment.valid_on(today))
        .map(|r| RecordView::of(&r.enrollment, today))
        .collect();
    Ok(axum::Json(Insurance {
        registration: s.store.registration(c.resident_id).await?,
        records,
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
    Ok(axum::Json(
        eligibility(&s)
            .register(c.resident_id, &c.auth_serial, RegistrationChannel::Portal)
            .await?,
    ))
}

/// The citizen's own medication, treatment or check-up history (5 years), surgery included.
#[utoipa::path(get, path = "/api/v1/portal/medical/{kind}", tag = "portal",
    params(("kind" = String, Path, description = "medication, treatment or checkup")),
    responses((status = 200, body = Vec<MedicalData>), (status = 401, body = ErrorBody)))]
pub async fn medical(
    State(s): State<AppState>,
    c: Citizen,
    Path(kind): Path<String>,
) -> Result<axum::Json<Vec<MedicalData>>, ApiError> {
    let kind = MedicalKind::parse(&kind)?;
    let since = s
        .clock
        .today()
        .checked_sub_months(chrono::Months::new(60))
        .unwrap_or(chrono::NaiveDate::MIN);
    Ok(axum::Json(
        s.store.medical(c.resident_id, kind, since).await?,
    ))
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

fn fourinfo(
    s: &AppState,
) -> openmyna_fourinfo::FourInfo<'_, openmyna_store::Store, openmyna_store::Store> {
    openmyna_fourinfo::FourInfo::new(&s.store, &s.jpki, s.clock.as_ref(), s.entropy.as_ref())
}

/// The consents the citizen has given.
#[utoipa::path(get, path = "/api/v1/portal/consents", tag = "portal",
    responses((status = 200, body = Consents), (status = 401, body = ErrorBody)))]
pub async fn consents(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Consents>, ApiError> {
    let rp = fourinfo(&s).consents_of_resident(c.resident_id).await?;
    let fac: Vec<FacilityConsent> = s
        .store
        .facility_consents_of_resident(c.resident_id, &s.clock.now())
        .await?;
    Ok(axum::Json(Consents {
        relying_parties: rp
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
        facilities: fac
            .into_iter()
            .map(|f| FacilityConsentView {
                org_id: f.org_id,
                facility: f.facility,
                category: f.category,
                given_at: f.given_at.to_rfc3339(),
                expires_at: f.expires_at.to_rfc3339(),
            })
            .collect(),
    }))
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
    let svc = fourinfo(&s);
    let consent = svc
        .consents_of_resident(c.resident_id)
        .await?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| ApiError::not_found("consent.not_found", "you have no such consent"))?;
    svc.withdraw(&consent, "withdrawn by the resident in the portal")
        .await?;
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
    let n = s
        .store
        .withdraw_facility_consents(c.resident_id, org_id, &s.clock.now())
        .await?;
    if n == 0 {
        return Err(ApiError::not_found(
            "consent.not_found",
            "you have no open consent with this facility",
        ));
    }
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

const LOG_KEY_META: &str = "access_log.signer";
const LOG_KEY_CONTEXT: &str = "access-log-signer";

async fn log_key(s: &AppState) -> Result<openmyna_jpki::SigningKey, ApiError> {
    use openmyna_jpki::{KeyKind, SigningKey};
    let pkcs8 = s
        .store
        .sealed_secret(LOG_KEY_META, LOG_KEY_CONTEXT, || {
            SigningKey::generate(KeyKind::EcP256)
                .and_then(|k| k.to_pkcs8())
                .map_err(|e| e.to_string())
        })
        .await?;
    Ok(SigningKey::from_pkcs8(KeyKind::EcP256, &pkcs8)?)
}

/// Who saw the citizen's data, when and why — every disclosure by municipalities, clinics,
/// relying parties and employers — with the hash chain checked and its head signed.
#[utoipa::path(get, path = "/api/v1/portal/access-log", tag = "portal",
    responses((status = 200, body = AccessLog), (status = 401, body = ErrorBody)))]
pub async fn access_log(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<AccessLog>, ApiError> {
    let (mut entries, chain) = s.store.verify_access_chain(c.resident_id).await?;
    entries.reverse();
    let key = log_key(&s).await?;
    let at = s.clock.now().to_rfc3339();
    let statement = format!(
        "openmyna access-log head/1\nresident {}\nseq {}\nhash {}\nat {}\nintact {}",
        c.resident_id, chain.head_seq, chain.head_hash, at, chain.intact
    );
    let e = base64::engine::general_purpose::STANDARD;
    let head = SignedHead {
        seq: chain.head_seq,
        hash: chain.head_hash.clone(),
        at,
        signature: e.encode(key.sign(statement.as_bytes())?),
        statement,
        public_key: e.encode(key.spki_der()?),
    };
    Ok(axum::Json(AccessLog {
        entries,
        chain,
        head,
    }))
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
    let (account, at, channel) = s
        .store
        .public_money_account(c.resident_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "account.not_registered",
                "no public-money account is registered",
            )
        })?;
    Ok(axum::Json(AccountView {
        account,
        registered_at: at.to_rfc3339(),
        channel,
    }))
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
    let r = Registry::new(&s.store, s.clock.as_ref(), s.entropy.as_ref())
        .get(ResidentId(c.resident_id))
        .await?;
    let account = req.validate(&r.basic4.name.name_kana)?;
    let now = s.clock.now();
    s.store
        .set_public_money_account(c.resident_id, &account, "portal", &now)
        .await?;
    tracing::info!(
        bank = account.bank_code.as_str(),
        "public-money account registered"
    );
    Ok(axum::Json(AccountView {
        account,
        registered_at: now.to_rfc3339(),
        channel: "portal".into(),
    }))
}

/// Every change of the public-money account.
#[utoipa::path(get, path = "/api/v1/portal/public-money-account/history", tag = "portal",
    responses((status = 200, body = Vec<Object>), (status = 401, body = ErrorBody)))]
pub async fn account_history(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Vec<AccountChange>>, ApiError> {
    Ok(axum::Json(
        s.store.public_money_account_history(c.resident_id).await?,
    ))
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
        status: p.status.clone(),
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
    use openmyna_jpki::{Lookup, NotCurrent, RootKind, Serial, cms};
    use openmyna_portal::phone::{PhoneRequest, REQUEST_MAX_AGE_MINUTES, TOKEN_LABEL};
    let der = b64("request", &req.request)?;
    let v = cms::verify(&der).map_err(|e| {
        ApiError::from(Refusal::invalid(
            "request.signature",
            format!("the request is not a valid signed document: {e}"),
        ))
    })?;
    let serial = Serial::from_der_bytes(v.signer.tbs_certificate.serial_number.as_bytes())?;
    let now = s.clock.now();
    let signer = s
        .jpki
        .current_certificate(
            &serial,
            Some(&v.signer_der),
            RootKind::Sign,
            &now,
            Lookup::Cached,
        )
        .await
        .map_err(|e| match e {
            NotCurrent::Unknown | NotCurrent::Differs => ApiError::from(Refusal::refused(
                "request.certificate",
                "the request is not signed with a signing certificate this CA issued",
            )),
            NotCurrent::WrongRoot => ApiError::from(Refusal::refused(
                "request.certificate",
                "the request must be signed with the card's signing key (署名用電子証明書)",
            )),
            NotCurrent::Held | NotCurrent::Revoked | NotCurrent::NotValidNow => {
                ApiError::from(Refusal::refused(
                    "request.certificate",
                    "the signing certificate is revoked, suspended or not valid now",
                ))
            }
        })?;
    if signer.resident_id != c.resident_id {
        return Err(ApiError::from(Refusal::forbidden(
            "request.signer",
            "the request is signed by someone other than the logged-in citizen",
        )));
    }
    let age = now - v.signing_time;
    if age > chrono::Duration::minutes(REQUEST_MAX_AGE_MINUTES)
        || age < -chrono::Duration::minutes(5)
    {
        return Err(ApiError::from(Refusal::refused(
            "request.stale",
            "the request was signed more than 10 minutes ago (or in the future); sign it again",
        )));
    }
    let (r, auth_spki, sign_spki) = PhoneRequest::parse(&v.content)?;
    let resident = Registry::new(&s.store, s.clock.as_ref(), s.entropy.as_ref())
        .get(ResidentId(c.resident_id))
        .await?;
    let holder = openmyna_services::jpki::holder_of(&resident.basic4);
    let issued = s
        .jpki
        .issue_card(
            c.resident_id,
            &holder,
            Some(&sign_spki),
            &auth_spki,
            signer.not_after.date_naive(),
            Some(format!("phone:{}", r.device_id)),
        )
        .await?;
    let sign = issued.signing.ok_or_else(|| {
        ApiError::internal("phone issuance", &"no signing certificate was issued")
    })?;
    let phone = match s
        .store
        .insert_phone(&openmyna_store::portal::NewPhone {
            resident_id: c.resident_id,
            device_id: &r.device_id,
            model: r.model.trim(),
            auth_serial: &issued.authentication.serial,
            sign_serial: &sign.serial,
            at: &now,
            actor: "the holder, in the portal",
        })
        .await
    {
        Ok(p) => p,
        Err(e) => {
            // The certificates are not handed out: revoke them.
            for serial in [&issued.authentication.serial, &sign.serial] {
                let _ = s
                    .jpki
                    .change_status(
                        serial,
                        openmyna_jpki::Action::Revoke(openmyna_jpki::Reason::CessationOfOperation),
                    )
                    .await;
            }
            return Err(e.into());
        }
    };
    let e = base64::engine::general_purpose::STANDARD;
    Ok(Created(axum::Json(PhoneIssued {
        phone: phone_view(&phone),
        token_label: TOKEN_LABEL.into(),
        auth_certificate: e.encode(&issued.authentication.der),
        sign_certificate: e.encode(&sign.der),
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
        s.store
            .phones_of_resident(c.resident_id)
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

fn note_of(n: &str) -> Result<String, ApiError> {
    let n = n.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(ApiError::from(Refusal::invalid(
            "note.length",
            "note must be 1-200 characters",
        ))
        .with_field("note"));
    }
    Ok(n.to_owned())
}

/// Change both certificates of a phone and its state; `to` is revoked, suspended or active.
async fn phone_status(
    s: &AppState,
    phone: &openmyna_store::portal::Phone,
    to: &str,
    actor: &str,
    note: &str,
) -> Result<(), ApiError> {
    use openmyna_jpki::{Action, Reason};
    let (from, action): (&[&str], Action) = match to {
        "revoked" => (
            &["active", "suspended"],
            Action::Revoke(Reason::CessationOfOperation),
        ),
        "suspended" => (&["active"], Action::Hold),
        _ => (&["suspended"], Action::Release),
    };
    if !from.contains(&phone.status.as_str()) {
        return Err(ApiError::from(Refusal::refused(
            "phone.state",
            format!("the phone is {}; it cannot become {to}", phone.status),
        )));
    }
    // The certificates first: what the phone may do changes at once (OCSP included).
    for serial in [&phone.auth_serial, &phone.sign_serial] {
        match s.jpki.change_status(serial, action).await {
            Ok(_) => {}
            // Revoking a suspended certificate, or one already revoked, is fine.
            Err(openmyna_jpki::JpkiError::Refusal(r))
                if to == "revoked" && r.kind() == openmyna_core::RefusalKind::Refused => {}
            Err(e) => return Err(e.into()),
        }
    }
    s.store
        .set_phone_status(phone.id, from, to, &s.clock.now(), actor, note)
        .await?;
    Ok(())
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
    let note = note_of(&req.note)?;
    let phone = s
        .store
        .phone(id)
        .await?
        .filter(|p| p.resident_id == c.resident_id)
        .ok_or_else(|| ApiError::not_found("phone.not_found", "you have no such phone"))?;
    phone_status(&s, &phone, "revoked", "the holder, in the portal", &note).await?;
    let p = s.store.phone(id).await?.unwrap_or(phone);
    Ok(axum::Json(phone_view(&p)))
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
    hotline(&s, caller, id, "suspended", &req.note).await
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
    hotline(&s, caller, id, "active", &req.note).await
}

async fn hotline(
    s: &AppState,
    caller: crate::auth::Caller,
    id: i64,
    to: &str,
    note: &str,
) -> Result<axum::Json<PhoneView>, ApiError> {
    let actor = caller.require(&[openmyna_core::Role::Operator])?;
    let note = note_of(note)?;
    let phone = s
        .store
        .phone(id)
        .await?
        .ok_or_else(|| ApiError::not_found("phone.not_found", "no such phone"))?;
    let who = format!("{} (24-hour hotline)", actor.org_name);
    phone_status(s, &phone, to, &who, &note).await?;
    tracing::info!(phone = id, to, org = actor.org_id, "hotline phone status");
    let p = s.store.phone(id).await?.unwrap_or(phone);
    Ok(axum::Json(phone_view(&p)))
}

// ---------------------------------------------------------------- medical-expense notices

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpenseFormat {
    /// json (default), xml or csv.
    pub format: Option<String>,
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
    use chrono::Datelike;
    use openmyna_portal::expenses::{NoticeHeader, NoticeLine, facility_kind_ja, to_csv, to_xml};
    let today = s.clock.today();
    let (Some(first), Some(last)) = (
        chrono::NaiveDate::from_ymd_opt(year, 1, 1),
        chrono::NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return Err(ApiError::from(Refusal::invalid(
            "year.range",
            "no such year",
        )));
    };
    if year < today.year() - 5 || year > today.year() {
        return Err(ApiError::from(Refusal::invalid(
            "year.range",
            "notices are kept for the last five years and this year",
        )));
    }
    let resident = Registry::new(&s.store, s.clock.as_ref(), s.entropy.as_ref())
        .get(ResidentId(c.resident_id))
        .await?;
    let name = resident.basic4.name.name.clone();
    let records = eligibility(&s).visible_records(c.resident_id).await?;
    let insurer = records
        .iter()
        .filter(|r| r.enrollment.qualification_date <= last)
        .filter(|r| r.enrollment.loss.as_ref().is_none_or(|l| l.date > first))
        .max_by_key(|r| r.enrollment.qualification_date);
    let header = NoticeHeader {
        year,
        insured_name: name.clone(),
        insurer_name: insurer
            .map(|r| r.enrollment.insurer_name.clone())
            .unwrap_or_default(),
        insurer_number: insurer
            .map(|r| r.enrollment.key.insurer_number.as_str().to_owned())
            .unwrap_or_default(),
        created_on: today.to_string(),
    };
    let mut lines: Vec<NoticeLine> = s
        .store
        .medical(c.resident_id, MedicalKind::Expense, first)
        .await?
        .into_iter()
        .filter_map(|d| match d {
            MedicalData::Expense(e) if e.month.year() == year => Some(e),
            _ => None,
        })
        .map(|e| NoticeLine {
            month: e.month.format("%Y-%m").to_string(),
            patient: name.clone(),
            facility: e.facility_name,
            facility_kind: facility_kind_ja(&e.facility_kind).to_owned(),
            days: e.days,
            total_cost_yen: e.total_cost_yen,
            paid_yen: e.paid_yen,
        })
        .collect();
    lines.sort_by(|a, b| (&a.month, &a.facility).cmp(&(&b.month, &b.facility)));
    let file = format!("iryohi-tsuchi-{year}");
    let (body, ctype, ext) = match q.format.as_deref() {
        None | Some("json") => {
            return Ok(axum::Json(ExpenseNotices { header, lines }).into_response());
        }
        Some("xml") => (
            to_xml(&header, &lines),
            "application/xml; charset=utf-8",
            "xml",
        ),
        Some("csv") => (to_csv(&header, &lines), "text/csv; charset=utf-8", "csv"),
        Some(_) => {
            return Err(ApiError::bad_request(
                "format.unknown",
                "format is json, xml or csv",
            ));
        }
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}.{ext}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// A handoff link lives this long.
pub const HANDOFF_SECONDS: i64 = 120;

#[derive(Serialize, ToSchema)]
pub struct Handoff {
    /// Open this path in a browser (once, within two minutes) to be logged in there.
    pub path: String,
    pub expires_at: String,
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
    let token = open_session(&s, c.resident_id, &c.auth_serial).await?;
    Ok(Created(axum::Json(Handoff {
        path: format!("/portal/handoff/{token}"),
        expires_at: (s.clock.now() + chrono::Duration::seconds(HANDOFF_SECONDS)).to_rfc3339(),
    })))
}

/// Redeems a handoff token: ends its session and opens a fresh one for the browser.
pub async fn redeem_handoff(s: &AppState, token: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::from(Refusal::unauthenticated(
            "handoff.invalid",
            "this login link is unknown, used or expired; log in again",
        ))
    };
    let hash = sha256_hex(token.as_bytes());
    let session = s.store.portal_session(&hash).await?.ok_or_else(bad)?;
    let now = s.clock.now();
    if session.ended_at.is_some()
        || now - session.created_at > chrono::Duration::seconds(HANDOFF_SECONDS)
    {
        return Err(bad());
    }
    // Only the request that ends the handoff session gets the new one.
    if !s.store.end_portal_session(&hash, &now).await? {
        return Err(bad());
    }
    open_session(s, session.resident_id, &session.auth_serial).await
}
