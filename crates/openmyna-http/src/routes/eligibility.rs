//! Online eligibility verification: insurers (`/api/v1/insurance/…`) register enrollment
//! records, medical records and 資格確認書; facilities (`/api/v1/oqs/…`) register reader
//! terminals, which run the reader protocol (challenge → card signature → result), record the
//! patient's consent and read consented data. See docs/eligibility.md.

use openmyna_core::Refusal;
use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::State;
use base64::Engine;
use chrono::NaiveDate;
use openmyna_core::Role;
use openmyna_eligibility::medical::{self, MedicalData, MedicalInput};
use openmyna_eligibility::record::{
    CSV_COLUMNS, CsvRow, Enrollment, EnrollmentInput, InsuredKey, read_csv,
};
use openmyna_eligibility::{
    AuthMethod, CardProof, ConsentCategory, Eligibility, EligibilityResult, LiveConsent,
    MatchStatus, MedicalKind, QualificationCertificate, RecordChange, Registration,
    RegistrationChannel, SignedBy, StoredRecord, SubmitReport, Terminal,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use openmyna_api::oqs::{
    ChallengeView, GiveConsent, KeyQuery, LimitView, PinLockRecorded, PinLockReport, RegisterCard,
    TerminalSelf, Verify,
};

use crate::auth::Caller;
use crate::error::{ApiError, Created, CreatedOrOk, ErrorBody};
use crate::json::ApiJson;
use crate::json::{ApiPath, ApiQuery};
use crate::state::AppState;

/// Largest CSV upload (about 100,000 enrollment rows).
pub const CSV_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Rows per JSON submission.
pub const MAX_JSON_ROWS: usize = 1000;

const INSURERS: &[Role] = &[Role::Insurer];
const FACILITIES: &[Role] = &[Role::MedicalInstitution];

fn service(s: &AppState) -> Eligibility<'_, openmyna_store::Store, openmyna_store::Store> {
    Eligibility::new(
        &s.store,
        &s.jpki,
        s.challenges.as_ref(),
        s.clock.as_ref(),
        s.entropy.as_ref(),
    )
}

/// A base64 input field, or the error naming it.
pub(crate) fn b64(field: &str, s: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| {
            ApiError::from(Refusal::invalid(
                format!("{field}.base64"),
                format!("{field} is not base64"),
            ))
            .with_field(field)
        })
}

fn numbered<T>(rows: Vec<T>) -> Result<Vec<CsvRow<T>>, ApiError> {
    if rows.len() > MAX_JSON_ROWS {
        return Err(ApiError::too_large(
            "records.too_many",
            format!("at most {MAX_JSON_ROWS} records per request; upload larger sets as CSV"),
        ));
    }
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as u64 + 1, Ok(r)))
        .collect())
}

fn csv_text(body: &Bytes) -> Result<&[u8], ApiError> {
    std::str::from_utf8(body).map_err(|_| {
        ApiError::from(Refusal::invalid(
            "csv.encoding",
            "the CSV must be UTF-8 (convert Shift_JIS files first)",
        ))
    })?;
    Ok(body)
}

// ---------------------------------------------------------------- insurers

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRecords {
    /// Up to 1,000 records; larger sets as CSV.
    pub records: Vec<EnrollmentInput>,
}

/// Submit enrollment records (JSON). Each is validated, linked to a resident by My Number and
/// checked against the registry on the 5 items; a mismatched record is stored but held back
/// from verification until corrected. Bad rows are reported with the field and rule; good
/// rows load. Submitting the same record again changes nothing.
#[utoipa::path(post, path = "/api/v1/insurance/records", tag = "insurance",
    request_body = SubmitRecords,
    responses((status = 200, body = SubmitReport), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn submit_records(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<SubmitRecords>,
) -> Result<axum::Json<SubmitReport>, ApiError> {
    let actor = caller.require(INSURERS)?;
    let rows = numbered(req.records)?;
    Ok(axum::Json(service(&s).submit(actor, rows).await?))
}

/// Submit enrollment records as CSV (UTF-8, header row; columns in docs/eligibility.md).
/// Row numbers in the report count the header as row 1.
#[utoipa::path(post, path = "/api/v1/insurance/records/csv", tag = "insurance",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = SubmitReport), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn submit_records_csv(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<axum::Json<SubmitReport>, ApiError> {
    let actor = caller.require(INSURERS)?;
    let rows = read_csv::<EnrollmentInput>(csv_text(&body)?, CSV_COLUMNS)?;
    Ok(axum::Json(service(&s).submit(actor, rows).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordsQuery {
    /// matched or held (held: the records to correct).
    #[param(value_type = Option<MatchStatus>)]
    pub status: Option<String>,
    pub limit: Option<i64>,
}

/// A record as its insurer sees it.
#[derive(Serialize, ToSchema)]
pub struct RecordEntry {
    /// `保険者番号:記号:番号:枝番`.
    pub key: String,
    pub registry_check: MatchStatus,
    /// The items that differ from the registry (name, name_kana, birth_date, sex, address).
    pub mismatches: Vec<String>,
    pub version: i64,
    pub updated_at: String,
    pub record: Enrollment,
}

fn entry(r: StoredRecord) -> RecordEntry {
    RecordEntry {
        key: r.enrollment.key.to_string(),
        registry_check: r.status,
        mismatches: r.mismatches,
        version: r.version,
        updated_at: r.updated_at.to_rfc3339(),
        record: r.enrollment,
    }
}

/// This insurer's records; `?status=held` is the report of records held back because their
/// 5 items differ from the registry.
#[utoipa::path(get, path = "/api/v1/insurance/records", tag = "insurance",
    params(RecordsQuery),
    responses((status = 200, body = Vec<RecordEntry>), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_records(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<RecordsQuery>,
) -> Result<axum::Json<Vec<RecordEntry>>, ApiError> {
    let actor = caller.require(INSURERS)?;
    let status =
        match q.status.as_deref() {
            None => None,
            Some(x) => Some(MatchStatus::parse(x).ok_or_else(|| {
                ApiError::bad_request("status.unknown", "status is matched or held")
            })?),
        };
    let rows = service(&s)
        .insurer_records(actor, status, q.limit.unwrap_or(1000))
        .await?;
    Ok(axum::Json(rows.into_iter().map(entry).collect()))
}

fn key_of(p: &(String, String, String, String)) -> Result<InsuredKey, ApiError> {
    Ok(InsuredKey::parse(&p.0, &p.1, &p.2, &p.3)?)
}

#[derive(Serialize, ToSchema)]
pub struct RecordHistory {
    pub current: RecordEntry,
    pub changes: Vec<RecordChange>,
}

/// The history of one of this insurer's records.
#[utoipa::path(get, path = "/api/v1/insurance/records/{insurer_number}/{symbol}/{number}/{branch}/history",
    tag = "insurance",
    params(("insurer_number" = String, Path), ("symbol" = String, Path),
           ("number" = String, Path), ("branch" = String, Path)),
    responses((status = 200, body = RecordHistory), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_history(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<(String, String, String, String)>,
) -> Result<axum::Json<RecordHistory>, ApiError> {
    let actor = caller.require(INSURERS)?;
    let (current, changes) = service(&s).record_history(actor, &key_of(&p)?).await?;
    Ok(axum::Json(RecordHistory {
        current: entry(current),
        changes,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCertificate {
    pub valid_from: NaiveDate,
    /// At most 5 years after valid_from.
    pub valid_until: NaiveDate,
}

/// Issue a 資格確認書 for one of this insurer's records (for a person without the card as
/// health-insurance card).
#[utoipa::path(post, path = "/api/v1/insurance/records/{insurer_number}/{symbol}/{number}/{branch}/certificates",
    tag = "insurance",
    params(("insurer_number" = String, Path), ("symbol" = String, Path),
           ("number" = String, Path), ("branch" = String, Path)),
    request_body = IssueCertificate,
    responses((status = 201, body = QualificationCertificate), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn issue_certificate(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<(String, String, String, String)>,
    ApiJson(req): ApiJson<IssueCertificate>,
) -> Result<Created<axum::Json<QualificationCertificate>>, ApiError> {
    let actor = caller.require(INSURERS)?;
    let c = service(&s)
        .issue_certificate(actor, &key_of(&p)?, req.valid_from, req.valid_until)
        .await?;
    Ok(Created(axum::Json(c)))
}

fn kind_of(s: &str) -> Result<MedicalKind, ApiError> {
    Ok(MedicalKind::parse(s)?)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadMedical {
    pub records: Vec<MedicalInput>,
}

/// Load medical records of one kind (medication, treatment, checkup) for this insurer's
/// insured persons, keyed by 記号・番号・枝番. The same record loaded twice is stored once.
#[utoipa::path(post, path = "/api/v1/insurance/medical-records/{kind}", tag = "insurance",
    params(("kind" = MedicalKind, Path, description = "medication, treatment, checkup or expense")),
    request_body = LoadMedical,
    responses((status = 200, body = SubmitReport), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn load_medical(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(kind): ApiPath<String>,
    ApiJson(req): ApiJson<LoadMedical>,
) -> Result<axum::Json<SubmitReport>, ApiError> {
    let actor = caller.require(INSURERS)?;
    let kind = kind_of(&kind)?;
    let rows = numbered(req.records)?;
    Ok(axum::Json(
        service(&s).load_medical(actor, kind, rows).await?,
    ))
}

/// Load medical records of one kind as CSV (columns in docs/eligibility.md).
#[utoipa::path(post, path = "/api/v1/insurance/medical-records/{kind}/csv", tag = "insurance",
    params(("kind" = MedicalKind, Path, description = "medication, treatment, checkup or expense")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = SubmitReport), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn load_medical_csv(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(kind): ApiPath<String>,
    body: Bytes,
) -> Result<axum::Json<SubmitReport>, ApiError> {
    let actor = caller.require(INSURERS)?;
    let kind = kind_of(&kind)?;
    let rows = read_csv::<MedicalInput>(csv_text(&body)?, &medical::columns(kind))?;
    Ok(axum::Json(
        service(&s).load_medical(actor, kind, rows).await?,
    ))
}

// ---------------------------------------------------------------- facilities

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTerminal {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TerminalCreated {
    pub terminal: Terminal,
    /// The terminal's own bearer token, shown once.
    pub token: String,
}

/// Register a reader terminal of this facility (its organisation's code is the facility
/// code). The terminal gets its own token.
#[utoipa::path(post, path = "/api/v1/oqs/terminals", tag = "oqs",
    request_body = NewTerminal,
    responses((status = 201, body = TerminalCreated), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_terminal(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewTerminal>,
) -> Result<Created<axum::Json<TerminalCreated>>, ApiError> {
    let actor = caller.require(FACILITIES)?;
    let (terminal, token) = service(&s).register_terminal(actor, &req.name).await?;
    Ok(Created(axum::Json(TerminalCreated { terminal, token })))
}

/// This facility's terminals.
#[utoipa::path(get, path = "/api/v1/oqs/terminals", tag = "oqs",
    responses((status = 200, body = Vec<Terminal>), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_terminals(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<Terminal>>, ApiError> {
    let actor = caller.require(FACILITIES)?;
    Ok(axum::Json(service(&s).terminals(actor).await?))
}

/// The terminal behind this token and its facility (for terminals to check their set-up).
#[utoipa::path(get, path = "/api/v1/oqs/terminal", tag = "oqs",
    responses((status = 200, body = TerminalSelf), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn terminal_self(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<TerminalSelf>, ApiError> {
    let actor = caller.require(FACILITIES)?;
    let (terminal, code) = service(&s).whoami(actor).await?;
    Ok(axum::Json(TerminalSelf {
        terminal,
        facility_code: code.as_str().to_owned(),
        facility_name: actor.org_name.clone(),
    }))
}

/// A challenge as the wire carries it (its bytes in base64).
pub(crate) fn challenge_view(c: openmyna_eligibility::challenge::Challenge) -> ChallengeView {
    ChallengeView {
        challenge_id: c.id,
        challenge: base64::engine::general_purpose::STANDARD.encode(c.nonce),
        expires_at: c.expires_at.to_rfc3339(),
    }
}

/// A single-use challenge (2 minutes) for this terminal, or for the portal's or an ATM's back
/// end (operator token).
#[utoipa::path(post, path = "/api/v1/oqs/challenges", tag = "oqs",
    responses((status = 201, body = ChallengeView), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn challenge(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Created<axum::Json<ChallengeView>>, ApiError> {
    let actor = caller.require(&[Role::MedicalInstitution, Role::Operator])?;
    let c = service(&s).challenge(actor).await?;
    Ok(Created(axum::Json(challenge_view(c))))
}

/// A reader reports that a card's user-authentication PIN locked at it (the card locks itself;
/// the system learns of it only from the reader): recorded once in the card's audited history
/// and counted in `/metrics`, so the municipality's window knows before the holder arrives.
/// An openmyna extension: the real reader keeps such logs itself.
#[utoipa::path(post, path = "/api/v1/oqs/pin-lockouts", tag = "oqs",
    request_body = PinLockReport,
    responses((status = 201, body = PinLockRecorded), (status = 200, body = PinLockRecorded),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report_pin_lock(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PinLockReport>,
) -> Result<CreatedOrOk<axum::Json<PinLockRecorded>>, ApiError> {
    let cert = b64("certificate", &req.certificate)?;
    let recorded = openmyna_services::eligibility::report_pin_lock(&s, &caller.0, &cert).await?;
    Ok(CreatedOrOk(
        recorded,
        axum::Json(PinLockRecorded { recorded }),
    ))
}

/// 利用登録: register the card for health-insurance use, with a card proof. A terminal
/// registers through the reader; the portal's or an ATM's back end (operator) names its
/// channel. Registering again keeps the first registration.
#[utoipa::path(post, path = "/api/v1/oqs/registrations", tag = "oqs",
    request_body = RegisterCard,
    responses((status = 200, body = Registration), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_card(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<RegisterCard>,
) -> Result<axum::Json<Registration>, ApiError> {
    let actor = caller.require(&[Role::MedicalInstitution, Role::Operator])?;
    let cert = b64("certificate", &req.certificate)?;
    let sig = b64("signature", &req.signature)?;
    let channel = req
        .channel
        .as_deref()
        .map(RegistrationChannel::parse)
        .transpose()?;
    let proof = CardProof {
        challenge_id: &req.challenge_id,
        certificate: &cert,
        signature: &sig,
        signed_by: SignedBy::Auth,
    };
    Ok(axum::Json(
        service(&s).register_card(actor, &proof, channel).await?,
    ))
}

/// The reader's verification: the card's proof over this terminal's challenge → the
/// eligibility result for the date of service, and the consent choices to show the patient.
/// Never contains the My Number.
#[utoipa::path(post, path = "/api/v1/oqs/verifications", tag = "oqs",
    request_body = Verify,
    responses((status = 200, body = EligibilityResult), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<Verify>,
) -> Result<axum::Json<EligibilityResult>, ApiError> {
    let actor = caller.require(FACILITIES)?;
    let cert = b64("certificate", &req.certificate)?;
    let sig = b64("signature", &req.signature)?;
    let method = AuthMethod::parse(&req.method)?;
    let signed_by = req
        .signed_by
        .as_deref()
        .map(SignedBy::parse)
        .transpose()?
        .unwrap_or_default();
    let proof = CardProof {
        challenge_id: &req.challenge_id,
        certificate: &cert,
        signature: &sig,
        signed_by,
    };
    Ok(axum::Json(
        openmyna_services::eligibility::verify(&s, actor, &proof, method, req.date_of_service)
            .await?,
    ))
}

/// The query for a patient without the card (資格確認書): 記号・番号・枝番 and birth date.
#[utoipa::path(post, path = "/api/v1/oqs/queries", tag = "oqs",
    request_body = KeyQuery,
    responses((status = 200, body = EligibilityResult), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn query(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<KeyQuery>,
) -> Result<axum::Json<EligibilityResult>, ApiError> {
    let actor = caller.require(FACILITIES)?;
    let key = InsuredKey::parse(&req.insurer_number, &req.symbol, &req.number, &req.branch)?;
    Ok(axum::Json(
        openmyna_services::eligibility::query(&s, actor, &key, req.birth_date, req.date_of_service)
            .await?,
    ))
}

/// Record the patient's choices at the reader (within 10 minutes of the verification); each
/// opens access for this facility for 24 hours.
#[utoipa::path(post, path = "/api/v1/oqs/verifications/{id}/consent", tag = "oqs",
    params(("id" = String, Path)),
    request_body = GiveConsent,
    responses((status = 200, body = Vec<LiveConsent>), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn consent(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<GiveConsent>,
) -> Result<axum::Json<Vec<LiveConsent>>, ApiError> {
    let actor = caller.require(FACILITIES)?;
    let chosen: BTreeSet<ConsentCategory> = req
        .categories
        .iter()
        .map(|c| ConsentCategory::parse(c))
        .collect::<Result<_, _>>()?;
    Ok(axum::Json(service(&s).consent(actor, &id, &chosen).await?))
}

/// The consented data of a verification, as its path names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConsentedData {
    Medications,
    Treatments,
    Checkups,
}

impl ConsentedData {
    fn parse(s: &str) -> Option<ConsentedData> {
        match s {
            "medications" => Some(ConsentedData::Medications),
            "treatments" => Some(ConsentedData::Treatments),
            "checkups" => Some(ConsentedData::Checkups),
            _ => None,
        }
    }

    fn kind(self) -> MedicalKind {
        match self {
            ConsentedData::Medications => MedicalKind::Medication,
            ConsentedData::Treatments => MedicalKind::Treatment,
            ConsentedData::Checkups => MedicalKind::Checkup,
        }
    }
}

/// Consented medical data of the patient of a verification: `medications` (3 years),
/// `treatments` (3 years; surgery only with its consent), `checkups` (5 years). Refused
/// without a live consent. Each disclosure is written to the patient's access log.
#[utoipa::path(get, path = "/api/v1/oqs/verifications/{id}/{kind}", tag = "oqs",
    params(("id" = String, Path), ("kind" = ConsentedData, Path, description = "medications, treatments or checkups")),
    responses((status = 200, body = Vec<MedicalData>), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn medical_data(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath((id, kind)): ApiPath<(String, String)>,
) -> Result<axum::Json<Vec<MedicalData>>, ApiError> {
    let actor = caller.require(FACILITIES)?;
    let kind = ConsentedData::parse(&kind).ok_or_else(|| {
        ApiError::not_found(
            "route.not_found",
            "use medications, treatments, checkups or limit-amount",
        )
    })?;
    Ok(axum::Json(
        service(&s).medical_data(actor, &id, kind.kind()).await?,
    ))
}

/// The limit-amount category (限度額適用区分), with the patient's consent.
#[utoipa::path(get, path = "/api/v1/oqs/verifications/{id}/limit-amount", tag = "oqs",
    params(("id" = String, Path)),
    responses((status = 200, body = LimitView), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn limit_amount(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<LimitView>, ApiError> {
    let actor = caller.require(FACILITIES)?;
    Ok(axum::Json(LimitView {
        limit: service(&s).limit_amount(actor, &id).await?,
    }))
}
