//! The use cases: insurers' records and the report of held ones, 利用登録, terminals,
//! challenges, the card verification, consent, consented data, 資格確認書 and the query by
//! 記号・番号. Every disclosure goes to the resident's access log before it is returned.

use std::collections::BTreeSet;
use std::future::Future;

use chrono::{Duration, NaiveDate};
use der::Encode;
use openmyna_core::{Actor, Clock, Entropy, Organisation, Role, Timestamp, age_on};
use openmyna_ids::FacilityCode;
use openmyna_jpki::{
    CertRecord, Jpki, JpkiStore, Lookup, NotCurrent, RootKind, Serial, key, profile,
};
use openmyna_registry::{Registry, RegistryError, RegistryStore, ResidentId};
use serde::{Deserialize, Serialize};

use crate::EligibilityError;
use crate::challenge::{Challenge, ChallengeBook};
use crate::codes::{AuthMethod, ConsentCategory, MedicalKind, RegistrationChannel, Validity};
use crate::consent;
use crate::medical::{MedicalData, MedicalInput, shown_since};
use crate::record::{
    CsvRow, ElderlyRecipient, Enrollment, EnrollmentInput, FiveItems, InsuredKey, LimitAmount,
    Loss, SpecificDisease, five_item_mismatches,
};
use crate::verdict;

/// A 資格確認書 is valid for at most 5 years.
pub const CERTIFICATE_MAX_YEARS: u32 = 5;
/// The holder of the portal's login challenges (token ids are positive).
pub const PORTAL_HOLDER: i64 = -1;

/// How far back a date of service may be (a check for an earlier visit, as for a claim).
pub const DATE_OF_SERVICE_MAX_DAYS_BACK: i64 = 365;

/// Consent is given at the reader right after the verification it follows.
pub const CONSENT_AFTER_VERIFICATION_MINUTES: i64 = 10;

/// Whether a record passed the 5-item check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MatchStatus {
    /// Matches the registry: used in verification.
    Matched,
    /// Differs from the registry: held back from verification until corrected.
    Held,
}

impl MatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchStatus::Matched => "matched",
            MatchStatus::Held => "held",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "matched" => Some(MatchStatus::Matched),
            "held" => Some(MatchStatus::Held),
            _ => None,
        }
    }
}

/// A record as stored.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub id: i64,
    pub insurer_org_id: i64,
    pub resident_id: i64,
    pub status: MatchStatus,
    /// The items that differ from the registry (empty when matched).
    pub mismatches: Vec<String>,
    pub enrollment: Enrollment,
    pub version: i64,
    pub updated_at: Timestamp,
}

impl AsRef<Enrollment> for StoredRecord {
    fn as_ref(&self) -> &Enrollment {
        &self.enrollment
    }
}

/// A record to store: the store compares `content_sha256` with the current one and only
/// writes (and adds a history row) when it differs.
#[derive(Debug, Clone)]
pub struct RecordWrite<'a> {
    pub insurer_org_id: i64,
    pub resident_id: i64,
    pub status: MatchStatus,
    pub mismatches: &'a [&'static str],
    pub enrollment: &'a Enrollment,
    pub content_sha256: String,
    pub at: Timestamp,
    pub recorded_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WriteOutcome {
    Created,
    Updated,
    Unchanged,
}

/// One change of a record.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordChange {
    pub version: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub recorded_at: Timestamp,
    pub recorded_by: String,
    pub status: MatchStatus,
    pub mismatches: Vec<String>,
    /// The record before the change (absent for the first version).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub after: serde_json::Value,
}

/// 利用登録 of a person's card for health-insurance use.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registration {
    #[serde(skip)]
    pub resident_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub channel: RegistrationChannel,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub registered_at: Timestamp,
    /// The authentication certificate presented (hex serial).
    pub auth_serial: String,
}

/// A reader terminal of a facility.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Terminal {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    #[serde(skip)]
    pub token_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
}

/// A verification as recorded (the handle for consent and consented data).
#[derive(Debug, Clone)]
pub struct Verification {
    pub id: String,
    pub org_id: i64,
    pub terminal_id: Option<i64>,
    pub resident_id: i64,
    pub at: Timestamp,
    pub date_of_service: NaiveDate,
    /// `None` for a query by 記号・番号.
    pub method: Option<AuthMethod>,
    pub validity: Validity,
}

/// A disclosure to write with the verification.
#[derive(Debug, Clone)]
pub struct Disclosure {
    pub category: String,
    pub purpose: String,
    pub detail: String,
}

/// A 資格確認書 issued by an insurer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualificationCertificate {
    pub id: i64,
    #[serde(skip)]
    pub record_id: i64,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub issued_at: Timestamp,
}

/// What the service needs from storage.
pub trait EligibilityStore: Send + Sync {
    /// Records that the challenge `id` (valid until `expires_at`) is used, for the other
    /// servers on the database; false if one of them used it already. A store that serves one
    /// server only may answer true without writing.
    fn use_challenge(
        &self,
        id: &str,
        expires_at: &Timestamp,
    ) -> impl Future<Output = Result<bool, EligibilityError>> + Send;
    /// The organisation's name, role and code (insurer number or facility code).
    fn organisation(
        &self,
        org_id: i64,
    ) -> impl Future<Output = Result<Option<Organisation>, EligibilityError>> + Send;
    /// The presence key (SPKI DER) of the active card whose authentication certificate has
    /// this serial, as recorded at issuance.
    fn presence_key(
        &self,
        auth_serial: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, EligibilityError>> + Send;
    fn write_record(
        &self,
        w: &RecordWrite<'_>,
    ) -> impl Future<Output = Result<(i64, WriteOutcome), EligibilityError>> + Send;
    fn record_by_key(
        &self,
        key: &InsuredKey,
    ) -> impl Future<Output = Result<Option<StoredRecord>, EligibilityError>> + Send;
    fn records_of_resident(
        &self,
        resident_id: i64,
    ) -> impl Future<Output = Result<Vec<StoredRecord>, EligibilityError>> + Send;
    fn records_of_insurer(
        &self,
        org_id: i64,
        status: Option<MatchStatus>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<StoredRecord>, EligibilityError>> + Send;
    fn record_history(
        &self,
        record_id: i64,
    ) -> impl Future<Output = Result<Vec<RecordChange>, EligibilityError>> + Send;
    /// Records (or replaces) the person's registration.
    fn set_registration(
        &self,
        r: &Registration,
    ) -> impl Future<Output = Result<(), EligibilityError>> + Send;
    fn registration(
        &self,
        resident_id: i64,
    ) -> impl Future<Output = Result<Option<Registration>, EligibilityError>> + Send;
    /// Creates a terminal with its own bearer token; returns the token once.
    fn create_terminal(
        &self,
        org_id: i64,
        name: &str,
        at: &Timestamp,
    ) -> impl Future<Output = Result<(Terminal, String), EligibilityError>> + Send;
    fn terminal_by_token(
        &self,
        token_id: i64,
    ) -> impl Future<Output = Result<Option<Terminal>, EligibilityError>> + Send;
    fn terminals(
        &self,
        org_id: i64,
    ) -> impl Future<Output = Result<Vec<Terminal>, EligibilityError>> + Send;
    /// Stores the verification and writes the disclosure to the resident's access log, in
    /// one transaction.
    fn insert_verification(
        &self,
        v: &Verification,
        actor: &Actor,
        disclosure: &Disclosure,
    ) -> impl Future<Output = Result<(), EligibilityError>> + Send;
    fn verification(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Verification>, EligibilityError>> + Send;
    fn insert_consents(
        &self,
        org_id: i64,
        resident_id: i64,
        categories: &[ConsentCategory],
        at: &Timestamp,
        expires_at: &Timestamp,
        verification_id: &str,
    ) -> impl Future<Output = Result<(), EligibilityError>> + Send;
    /// The categories with a consent of this facility live at `now`, with when each expires.
    fn live_consents(
        &self,
        org_id: i64,
        resident_id: i64,
        now: &Timestamp,
    ) -> impl Future<Output = Result<Vec<(ConsentCategory, Timestamp)>, EligibilityError>> + Send;
    /// Stores a medical record unless the same one (by content) is there; true if stored.
    fn insert_medical(
        &self,
        resident_id: i64,
        source_org_id: i64,
        data: &MedicalData,
        at: &Timestamp,
    ) -> impl Future<Output = Result<bool, EligibilityError>> + Send;
    /// The resident's records of a kind dated on or after `since`, newest first.
    fn medical(
        &self,
        resident_id: i64,
        kind: MedicalKind,
        since: NaiveDate,
    ) -> impl Future<Output = Result<Vec<MedicalData>, EligibilityError>> + Send;
    fn insert_certificate(
        &self,
        record_id: i64,
        valid_from: NaiveDate,
        valid_until: NaiveDate,
        at: &Timestamp,
    ) -> impl Future<Output = Result<QualificationCertificate, EligibilityError>> + Send;
    fn certificates_of_record(
        &self,
        record_id: i64,
    ) -> impl Future<Output = Result<Vec<QualificationCertificate>, EligibilityError>> + Send;
    /// Writes one disclosure to the resident's access log.
    fn record_disclosure(
        &self,
        resident_id: i64,
        actor: &Actor,
        at: &Timestamp,
        disclosure: &Disclosure,
    ) -> impl Future<Output = Result<(), EligibilityError>> + Send;
}

/// The outcome of one submitted row.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowOutcome {
    /// The row number (CSV: the header is row 1; JSON: position from 1).
    pub row: u64,
    /// created, updated, unchanged or rejected.
    pub status: String,
    /// `保険者番号:記号:番号:枝番`, when the row got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// matched or held (held records are not used in verification until corrected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_check: Option<MatchStatus>,
    /// The items that differ from the registry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RowError>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowError {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl RowError {
    fn of(e: &EligibilityError) -> Self {
        RowError {
            code: e.code().to_owned(),
            field: e.field().map(str::to_owned),
            message: e.to_string(),
        }
    }
}

/// What a submission did, row by row.
#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Stored but held back because the 5 items differ from the registry.
    pub held: u64,
    pub rows: Vec<RowOutcome>,
}

impl SubmitReport {
    fn reject(&mut self, row: u64, key: Option<String>, e: &EligibilityError) {
        self.rejected += 1;
        self.rows.push(RowOutcome {
            row,
            status: "rejected".into(),
            key,
            registry_check: None,
            mismatches: Vec::new(),
            error: Some(RowError::of(e)),
        });
    }
}

/// An insured-record view for facilities: every item of the record, never the My Number.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordView {
    pub insurer_number: String,
    pub insurer_name: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    /// 被保険者証区分 code.
    pub card_class: String,
    /// 1 本人, 2 家族.
    pub relationship: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_name: Option<String>,
    pub qualification_date: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<Loss>,
    /// 一部負担金割合 (1割 = "010").
    pub co_payment_ratio: String,
    /// 未就学区分: the patient is before compulsory school age (co-payment 2割).
    pub preschool: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elderly: Option<ElderlyRecipient>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub specific_diseases: Vec<SpecificDisease>,
}

fn preschool(birth: NaiveDate, date: NaiveDate) -> bool {
    use chrono::Datelike;
    // Before the 1 April after the 6th birthday.
    let six = birth
        .with_year(birth.year() + 6)
        .or_else(|| NaiveDate::from_ymd_opt(birth.year() + 6, 3, 1))
        .unwrap_or(birth);
    let school_year = if (six.month(), six.day()) < (4, 2) {
        six.year()
    } else {
        six.year() + 1
    };
    NaiveDate::from_ymd_opt(school_year, 4, 1).is_some_and(|start| date < start)
}

impl RecordView {
    pub fn of(e: &Enrollment, date: NaiveDate) -> Self {
        RecordView {
            insurer_number: e.key.insurer_number.as_str().to_owned(),
            insurer_name: e.insurer_name.clone(),
            symbol: e.key.symbol.as_str().to_owned(),
            number: e.key.number.as_str().to_owned(),
            branch: e.key.branch.as_str().to_owned(),
            card_class: e.card_class.code().to_owned(),
            relationship: e.relationship.code().to_owned(),
            insured_name: e.insured_name.clone(),
            qualification_date: e.qualification_date,
            loss: e.loss.clone(),
            co_payment_ratio: e.co_payment_code(),
            preschool: preschool(e.person.birth_date, date),
            elderly: e.elderly.clone(),
            specific_diseases: e.specific_diseases.clone(),
        }
    }
}

/// The answer to a verification (card) or a query (記号・番号).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EligibilityResult {
    /// The handle for consent and consented data at this facility.
    pub verification_id: String,
    /// 1 card (資格確認), 2 記号・番号 (照会).
    pub reference_classification: String,
    pub date_of_service: NaiveDate,
    /// QualificationValidity code: 1 valid, 2 invalid, 3 invalid (newer exists), 4 none,
    /// 5 multiple.
    pub validity: String,
    /// valid, invalid, invalid_newer_exists, none, multiple.
    pub validity_name: String,
    /// The patient as the insurer records them (no My Number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<FiveItems>,
    pub records: Vec<RecordView>,
    /// The choices to show the patient (特定健診等 from 40: 特定健診 to 74, 高齢者健診 from 75).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub consent_choices: Vec<ConsentCategory>,
    /// Consents of this facility still open.
    pub live_consents: Vec<LiveConsent>,
    /// A 資格確認書 valid on the date of service (queries by 記号・番号).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualification_certificate: Option<QualificationCertificate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveConsent {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub category: ConsentCategory,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub expires_at: Timestamp,
}

/// The card-side proof a terminal sends: the challenge it was given, the card's
/// authentication certificate (DER) and the card's signature over the challenge.
#[derive(Debug, Clone)]
pub struct CardProof<'a> {
    pub challenge_id: &'a str,
    pub certificate: &'a [u8],
    pub signature: &'a [u8],
    /// Which of the card's keys signed the challenge.
    pub signed_by: SignedBy,
}

/// The card key that signed a reader's challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignedBy {
    /// The authentication key (利用者証明用), which signs only after the 4-digit PIN.
    #[default]
    Auth,
    /// The 券面AP's own key, which signs for any reader without a PIN: the proof that the
    /// card is on the reader when the holder was confirmed by face or by sight. Its public
    /// half is the one recorded for the card at issuance.
    Presence,
}

impl SignedBy {
    pub fn parse(s: &str) -> Result<SignedBy, EligibilityError> {
        match s {
            "auth" => Ok(SignedBy::Auth),
            "presence" => Ok(SignedBy::Presence),
            other => Err(EligibilityError::invalid(
                "signed_by.value",
                "signed_by",
                format!(
                    "signed_by is \"auth\" (the authentication key, after the PIN) or \"presence\" (the 券面AP key, for a face or visual check), not {other:?}"
                ),
            )),
        }
    }
}

pub struct Eligibility<'a, S, J> {
    store: &'a S,
    jpki: &'a Jpki<J>,
    challenges: &'a ChallengeBook,
    clock: &'a dyn Clock,
    entropy: &'a dyn Entropy,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What a stored record's content is compared by: the same record, the same registry check
/// and the same person is an unchanged resubmission.
pub fn content_sha256(
    enrollment: &Enrollment,
    status: MatchStatus,
    resident_id: i64,
) -> Result<String, EligibilityError> {
    let mut bytes =
        serde_json::to_vec(enrollment).map_err(|e| EligibilityError::Storage(e.to_string()))?;
    bytes.extend_from_slice(status.as_str().as_bytes());
    bytes.extend_from_slice(&resident_id.to_le_bytes());
    Ok(hex(&key::sha256(&bytes)))
}

/// The date of service asked for, or today: not in the future, at most a year back.
fn service_date(asked: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, EligibilityError> {
    let d = asked.unwrap_or(today);
    if d > today || (today - d).num_days() > DATE_OF_SERVICE_MAX_DAYS_BACK {
        return Err(EligibilityError::invalid(
            "date_of_service.range",
            "date_of_service",
            format!(
                "the date of service must be today or up to {DATE_OF_SERVICE_MAX_DAYS_BACK} days before it"
            ),
        ));
    }
    Ok(d)
}

impl<'a, S, J> Eligibility<'a, S, J>
where
    S: EligibilityStore + RegistryStore,
    J: JpkiStore,
{
    pub fn new(
        store: &'a S,
        jpki: &'a Jpki<J>,
        challenges: &'a ChallengeBook,
        clock: &'a dyn Clock,
        entropy: &'a dyn Entropy,
    ) -> Self {
        Eligibility {
            store,
            jpki,
            challenges,
            clock,
            entropy,
        }
    }

    fn registry(&self) -> Registry<'_, S> {
        Registry::new(self.store, self.clock, self.entropy)
    }

    /// The insurer number of an insurer organisation (its code).
    async fn insurer_number(&self, actor: &Actor) -> Result<String, EligibilityError> {
        let org = self.store.organisation(actor.org_id).await?;
        match org.map(|o| (o.role, o.code)) {
            Some((Role::Insurer, Some(code))) if !code.is_empty() => Ok(code),
            _ => Err(EligibilityError::refused(
                "insurer.number",
                "this organisation has no insurer number (保険者番号); set it as the organisation's code",
            )),
        }
    }

    /// The facility code of a medical institution.
    async fn facility(&self, actor: &Actor) -> Result<FacilityCode, EligibilityError> {
        let org = self.store.organisation(actor.org_id).await?;
        match org.map(|o| (o.role, o.code)) {
            Some((Role::MedicalInstitution, Some(code))) => {
                FacilityCode::parse(&code).map_err(|e| {
                    EligibilityError::refused(
                        "facility.code",
                        format!("the organisation's facility code is not valid: {e}"),
                    )
                })
            }
            _ => Err(EligibilityError::refused(
                "facility.code",
                "this organisation has no facility code (医療機関コード); set it as the organisation's code",
            )),
        }
    }

    // ---- insurers ----

    /// Validates, links (by My Number) and checks (5 items) each row, and stores the good
    /// ones. A bad row is reported with its number and reasons; the others load. A row equal
    /// to what is stored changes nothing.
    pub async fn submit(
        &self,
        actor: &Actor,
        rows: Vec<CsvRow<EnrollmentInput>>,
    ) -> Result<SubmitReport, EligibilityError> {
        let own = self.insurer_number(actor).await?;
        let today = self.clock.today();
        let now = self.clock.now();
        let mut report = SubmitReport::default();
        let registry = self.registry();
        for (row, input) in rows {
            let input = match input {
                Ok(i) => i,
                Err(e) => {
                    report.reject(row, None, &e);
                    continue;
                }
            };
            let (my_number, enrollment) = match input.validate(today) {
                Ok(v) => v,
                Err(e) => {
                    report.reject(row, None, &e);
                    continue;
                }
            };
            let key = enrollment.key.to_string();
            if enrollment.key.insurer_number.as_str() != own {
                report.reject(
                    row,
                    Some(key),
                    &EligibilityError::invalid(
                        "insurer_number.other",
                        "insurer_number",
                        format!("this insurer may only submit records of insurer number {own}"),
                    ),
                );
                continue;
            }
            let resident = match registry.find_by_my_number(my_number.expose()).await {
                Ok(r) => r,
                Err(RegistryError::MyNumberNotFound) => {
                    report.reject(
                        row,
                        Some(key),
                        &EligibilityError::invalid(
                            "my_number.not_found",
                            "my_number",
                            "no resident has this My Number",
                        ),
                    );
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let mismatches = five_item_mismatches(&enrollment.person, &resident.basic4);
            let status = if mismatches.is_empty() {
                MatchStatus::Matched
            } else {
                MatchStatus::Held
            };
            let write = RecordWrite {
                insurer_org_id: actor.org_id,
                resident_id: resident.id.0,
                status,
                mismatches: &mismatches,
                enrollment: &enrollment,
                content_sha256: content_sha256(&enrollment, status, resident.id.0)?,
                at: now,
                recorded_by: format!("{} ({})", actor.org_name, actor.role),
            };
            let (_, outcome) = match self.store.write_record(&write).await {
                Ok(v) => v,
                Err(e) if e.is(openmyna_core::RefusalKind::Refused) => {
                    report.reject(row, Some(key), &e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            match outcome {
                WriteOutcome::Created => report.created += 1,
                WriteOutcome::Updated => report.updated += 1,
                WriteOutcome::Unchanged => report.unchanged += 1,
            }
            if status == MatchStatus::Held {
                report.held += 1;
            }
            report.rows.push(RowOutcome {
                row,
                status: match outcome {
                    WriteOutcome::Created => "created",
                    WriteOutcome::Updated => "updated",
                    WriteOutcome::Unchanged => "unchanged",
                }
                .into(),
                key: Some(key),
                registry_check: Some(status),
                mismatches: mismatches.iter().map(|s| (*s).to_owned()).collect(),
                error: None,
            });
        }
        Ok(report)
    }

    /// This insurer's records, optionally only those in one state (held: the report of
    /// records to correct).
    pub async fn insurer_records(
        &self,
        actor: &Actor,
        status: Option<MatchStatus>,
        limit: i64,
    ) -> Result<Vec<StoredRecord>, EligibilityError> {
        self.insurer_number(actor).await?;
        self.store
            .records_of_insurer(actor.org_id, status, limit.clamp(1, 10_000))
            .await
    }

    async fn own_record(
        &self,
        actor: &Actor,
        key: &InsuredKey,
    ) -> Result<StoredRecord, EligibilityError> {
        self.insurer_number(actor).await?;
        match self.store.record_by_key(key).await? {
            Some(r) if r.insurer_org_id == actor.org_id => Ok(r),
            _ => Err(EligibilityError::not_found(
                "record.not_found",
                format!("this insurer has no record {key}"),
            )),
        }
    }

    /// The changes of one of this insurer's records.
    pub async fn record_history(
        &self,
        actor: &Actor,
        key: &InsuredKey,
    ) -> Result<(StoredRecord, Vec<RecordChange>), EligibilityError> {
        let r = self.own_record(actor, key).await?;
        let h = self.store.record_history(r.id).await?;
        Ok((r, h))
    }

    /// Issues a 資格確認書 for one of this insurer's records (validity up to 5 years).
    pub async fn issue_certificate(
        &self,
        actor: &Actor,
        key: &InsuredKey,
        valid_from: NaiveDate,
        valid_until: NaiveDate,
    ) -> Result<QualificationCertificate, EligibilityError> {
        let r = self.own_record(actor, key).await?;
        if valid_until < valid_from {
            return Err(EligibilityError::invalid(
                "valid_until.order",
                "valid_until",
                "the certificate ends before it starts",
            ));
        }
        let limit = valid_from
            .checked_add_months(chrono::Months::new(12 * CERTIFICATE_MAX_YEARS))
            .unwrap_or(NaiveDate::MAX);
        if valid_until >= limit {
            return Err(EligibilityError::invalid(
                "valid_until.too_long",
                "valid_until",
                format!("a 資格確認書 is valid for at most {CERTIFICATE_MAX_YEARS} years"),
            ));
        }
        if let Some(loss) = &r.enrollment.loss
            && valid_from >= loss.date
        {
            return Err(EligibilityError::refused(
                "record.lost",
                "the qualification is lost before the certificate would start",
            ));
        }
        self.store
            .insert_certificate(r.id, valid_from, valid_until, &self.clock.now())
            .await
    }

    /// Loads medical records (from claims and check-ups) for insured persons of this insurer.
    pub async fn load_medical(
        &self,
        actor: &Actor,
        kind: MedicalKind,
        rows: Vec<CsvRow<MedicalInput>>,
    ) -> Result<SubmitReport, EligibilityError> {
        let own = self.insurer_number(actor).await?;
        let today = self.clock.today();
        let now = self.clock.now();
        let mut report = SubmitReport::default();
        for (row, input) in rows {
            let parsed = input.and_then(|i| i.validate(kind, today));
            let (key, data) = match parsed {
                Ok(v) => v,
                Err(e) => {
                    report.reject(row, None, &e);
                    continue;
                }
            };
            let key_s = key.to_string();
            if key.insurer_number.as_str() != own {
                report.reject(
                    row,
                    Some(key_s),
                    &EligibilityError::invalid(
                        "insurer_number.other",
                        "insurer_number",
                        format!("this insurer may only load records of insurer number {own}"),
                    ),
                );
                continue;
            }
            let record = match self.store.record_by_key(&key).await? {
                Some(r) if r.insurer_org_id != actor.org_id => {
                    report.reject(
                        row,
                        Some(key_s),
                        &EligibilityError::invalid(
                            "record.not_found",
                            "number",
                            "this insurer has no enrollment record with this 記号・番号・枝番",
                        ),
                    );
                    continue;
                }
                Some(r) if r.status == MatchStatus::Matched => r,
                Some(_) => {
                    report.reject(
                        row,
                        Some(key_s),
                        &EligibilityError::refused(
                            "record.held",
                            "the enrollment record is held (5 items differ from the registry); correct it first",
                        ),
                    );
                    continue;
                }
                None => {
                    report.reject(
                        row,
                        Some(key_s),
                        &EligibilityError::invalid(
                            "record.not_found",
                            "number",
                            "no enrollment record has this 記号・番号・枝番",
                        ),
                    );
                    continue;
                }
            };
            let stored = self
                .store
                .insert_medical(record.resident_id, actor.org_id, &data, &now)
                .await?;
            if stored {
                report.created += 1;
            } else {
                report.unchanged += 1;
            }
            report.rows.push(RowOutcome {
                row,
                status: if stored { "created" } else { "unchanged" }.into(),
                key: Some(key_s),
                registry_check: None,
                mismatches: Vec::new(),
                error: None,
            });
        }
        Ok(report)
    }

    // ---- facilities and terminals ----

    /// Registers a reader terminal of this facility; its token is returned once.
    pub async fn register_terminal(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<(Terminal, String), EligibilityError> {
        self.not_a_terminal(actor).await?;
        self.facility(actor).await?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(EligibilityError::invalid(
                "name.invalid",
                "name",
                "a terminal name is 1 to 100 characters without control characters",
            ));
        }
        self.store
            .create_terminal(actor.org_id, name, &self.clock.now())
            .await
    }

    pub async fn terminals(&self, actor: &Actor) -> Result<Vec<Terminal>, EligibilityError> {
        self.not_a_terminal(actor).await?;
        self.facility(actor).await?;
        self.store.terminals(actor.org_id).await
    }

    /// Terminals are managed with the facility's own token, never a terminal's (a stolen
    /// terminal token must not be able to mint others).
    async fn not_a_terminal(&self, actor: &Actor) -> Result<(), EligibilityError> {
        if self
            .store
            .terminal_by_token(actor.token_id)
            .await?
            .is_some()
        {
            return Err(EligibilityError::forbidden(
                "terminal.not_allowed",
                "terminals are managed with the facility's own token, not a terminal's",
            ));
        }
        Ok(())
    }

    /// The terminal behind this token and its facility's code.
    pub async fn whoami(
        &self,
        actor: &Actor,
    ) -> Result<(Terminal, FacilityCode), EligibilityError> {
        let t = self.terminal(actor).await?;
        Ok((t, self.facility(actor).await?))
    }

    async fn terminal(&self, actor: &Actor) -> Result<Terminal, EligibilityError> {
        if actor.role != Role::MedicalInstitution {
            return Err(EligibilityError::forbidden(
                "terminal.required",
                "this needs a reader terminal's token",
            ));
        }
        self.store
            .terminal_by_token(actor.token_id)
            .await?
            .filter(|t| t.org_id == actor.org_id)
            .ok_or_else(|| {
                EligibilityError::forbidden(
                    "terminal.required",
                    "this needs a reader terminal's token (register one with POST /api/v1/oqs/terminals)",
                )
            })
    }

    // ---- the card ----

    /// A challenge for a terminal, or for the portal's or an ATM's back end (operator).
    pub async fn challenge(&self, actor: &Actor) -> Result<Challenge, EligibilityError> {
        if actor.role != Role::Operator {
            self.terminal(actor).await?;
        }
        self.challenges
            .issue(actor.token_id, self.clock.now(), self.entropy)
    }

    /// Checks the card's proof: the challenge (this caller's, fresh, unused), the
    /// certificate (an authentication certificate this CA issued, valid now, neither revoked
    /// nor suspended) and the signature over the challenge.
    pub async fn authenticate(
        &self,
        actor: &Actor,
        proof: &CardProof<'_>,
    ) -> Result<std::sync::Arc<CertRecord>, EligibilityError> {
        self.authenticate_for(actor.token_id, proof).await
    }

    /// A challenge for the portal's card login (any client may ask; single use, 2 minutes).
    pub fn portal_challenge(&self) -> Result<Challenge, EligibilityError> {
        self.challenges
            .issue(PORTAL_HOLDER, self.clock.now(), self.entropy)
    }

    /// [`Self::authenticate`] for a challenge issued to `holder` (a token id, or
    /// [`PORTAL_HOLDER`]).
    pub async fn authenticate_for(
        &self,
        holder: i64,
        proof: &CardProof<'_>,
    ) -> Result<std::sync::Arc<CertRecord>, EligibilityError> {
        let now = self.clock.now();
        let challenge = self.challenges.open(proof.challenge_id, holder, now)?;
        // Taken once: on this server (memory), then on whichever server records it first.
        if !self.challenges.take_here(&challenge, now)
            || !self
                .store
                .use_challenge(&challenge.id, &challenge.expires_at)
                .await?
        {
            return Err(crate::challenge::used());
        }
        let refused = |code: &'static str, m: &str| EligibilityError::refused(code, m.to_owned());
        let cert = profile::parse_certificate(proof.certificate)
            .map_err(|_| refused("certificate.malformed", "the certificate is not DER X.509"))?;
        let serial = Serial::from_der_bytes(cert.tbs_certificate.serial_number.as_bytes())
            .map_err(|_| {
                refused(
                    "certificate.malformed",
                    "the certificate serial is malformed",
                )
            })?;
        let record = self
            .jpki
            .current_certificate(
                &serial,
                Some(proof.certificate),
                RootKind::Auth,
                &now,
                Lookup::Cached,
            )
            .await
            .map_err(|e| match e {
                NotCurrent::Unknown | NotCurrent::Differs => refused(
                    "certificate.unknown",
                    "the certificate was not issued by this JPKI CA",
                ),
                NotCurrent::WrongRoot => refused(
                    "certificate.not_authentication",
                    "this is not a user-authentication certificate (利用者証明用電子証明書)",
                ),
                NotCurrent::Held => refused(
                    "certificate.suspended",
                    "the authentication certificate is suspended (一時保留)",
                ),
                NotCurrent::Revoked => refused(
                    "certificate.revoked",
                    "the authentication certificate is revoked",
                ),
                NotCurrent::NotValidNow => refused(
                    "certificate.expired",
                    "the authentication certificate is not valid now",
                ),
            })?;
        let spki = match proof.signed_by {
            SignedBy::Auth => cert
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|_| refused("certificate.malformed", "the public key is malformed"))?,
            SignedBy::Presence => self
                .store
                .presence_key(&record.serial)
                .await?
                .ok_or_else(|| {
                    refused(
                        "card.no_presence_key",
                        "no card with this certificate has a recorded 券面AP key; confirm the holder with the PIN",
                    )
                })?,
        };
        key::verify(&spki, &challenge.nonce, proof.signature).map_err(|_| {
            refused(
                "signature.invalid",
                "the signature is not the card's signature over this challenge",
            )
        })?;
        Ok(record)
    }

    /// 利用登録 with a card proof: a terminal registers through the reader; the operator's
    /// portal or ATM back end names its channel.
    pub async fn register_card(
        &self,
        actor: &Actor,
        proof: &CardProof<'_>,
        channel: Option<RegistrationChannel>,
    ) -> Result<Registration, EligibilityError> {
        let channel = match actor.role {
            Role::MedicalInstitution => {
                self.terminal(actor).await?;
                RegistrationChannel::Reader
            }
            Role::Operator => match channel {
                Some(RegistrationChannel::Reader) | None => {
                    return Err(EligibilityError::invalid(
                        "channel.required",
                        "channel",
                        "name the channel: portal, atm or window",
                    ));
                }
                Some(c) => c,
            },
            _ => {
                return Err(EligibilityError::forbidden(
                    "registration.role",
                    "利用登録 is made through a reader terminal, the portal, an ATM or the window",
                ));
            }
        };
        if proof.signed_by != SignedBy::Auth {
            return Err(EligibilityError::invalid(
                "signed_by.registration",
                "signed_by",
                "利用登録 is confirmed with the PIN: the authentication key signs",
            ));
        }
        let cert = self.authenticate(actor, proof).await?;
        self.register(cert.resident_id, &cert.serial, channel).await
    }

    /// Records 利用登録 for a resident whose card was already authenticated (the portal).
    pub async fn register(
        &self,
        resident_id: i64,
        auth_serial: &str,
        channel: RegistrationChannel,
    ) -> Result<Registration, EligibilityError> {
        if let Some(r) = self.store.registration(resident_id).await? {
            return Ok(r);
        }
        let r = Registration {
            resident_id,
            channel,
            registered_at: self.clock.now(),
            auth_serial: auth_serial.to_owned(),
        };
        // Stored only if there is none yet: two registrations at once keep the first.
        self.store.set_registration(&r).await?;
        Ok(self.store.registration(resident_id).await?.unwrap_or(r))
    }

    /// The verification at the reader: card proof → person → registration → the records
    /// valid on the date of service. The disclosure is logged before the answer.
    pub async fn verify(
        &self,
        actor: &Actor,
        proof: &CardProof<'_>,
        method: AuthMethod,
        date_of_service: Option<NaiveDate>,
    ) -> Result<EligibilityResult, EligibilityError> {
        let terminal = self.terminal(actor).await?;
        let facility = self.facility(actor).await?;
        if proof.signed_by == SignedBy::Presence && method == AuthMethod::Pin {
            return Err(EligibilityError::invalid(
                "signed_by.pin",
                "signed_by",
                "a PIN check is signed by the authentication key (signed_by \"auth\"); the 券面AP key proves presence for a face or visual check only",
            ));
        }
        let cert = self.authenticate(actor, proof).await?;
        if self.store.registration(cert.resident_id).await?.is_none() {
            return Err(EligibilityError::refused(
                "card.not_registered",
                "this card is not registered for health-insurance use (利用登録); register it at the reader, the portal or an ATM",
            ));
        }
        let date = service_date(date_of_service, self.clock.today())?;
        let records = self.visible_records(cert.resident_id).await?;
        let (validity, shown) = verdict::for_person(&records, date);
        // The verdict's indexes are positions in `records`.
        let shown: Vec<_> = shown.iter().filter_map(|&i| records.get(i)).collect();
        let person = shown.first().map(|r| r.enrollment.person.clone());
        let views = shown
            .iter()
            .map(|r| RecordView::of(&r.enrollment, date))
            .collect();
        let birth = match &person {
            Some(p) => p.birth_date,
            None => {
                self.registry()
                    .get(ResidentId(cert.resident_id))
                    .await?
                    .basic4
                    .birth_date
            }
        };
        self.finish(
            actor,
            Some(terminal.id),
            &facility,
            cert.resident_id,
            Some(method),
            date,
            validity,
            person,
            views,
            birth,
            None,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        actor: &Actor,
        terminal_id: Option<i64>,
        facility: &FacilityCode,
        resident_id: i64,
        method: Option<AuthMethod>,
        date: NaiveDate,
        validity: Validity,
        person: Option<FiveItems>,
        records: Vec<RecordView>,
        birth: NaiveDate,
        certificate: Option<QualificationCertificate>,
    ) -> Result<EligibilityResult, EligibilityError> {
        let now = self.clock.now();
        let mut id = [0u8; 16];
        self.entropy.fill(&mut id);
        let v = Verification {
            id: hex(&id),
            org_id: actor.org_id,
            terminal_id,
            resident_id,
            at: now,
            date_of_service: date,
            method,
            validity,
        };
        let how = match method {
            Some(m) => format!("card, {}", m.label_ja()),
            None => "記号・番号・枝番 and birth date".to_owned(),
        };
        let disclosure = Disclosure {
            category: "oqs.eligibility".into(),
            purpose: "保険診療の資格確認 (eligibility check for insured care)".into(),
            detail: format!(
                "facility {} ({how}); date of service {date}; result {}",
                facility.as_str(),
                validity.name()
            ),
        };
        self.store
            .insert_verification(&v, actor, &disclosure)
            .await?;
        let live = self.live(actor.org_id, resident_id, &now).await?;
        let consent_choices = if method.is_some() {
            // Ages for the choices are taken today, whatever the date of service.
            consent::offered(birth, now.date_naive())
        } else {
            vec![ConsentCategory::LimitAmount]
        };
        Ok(EligibilityResult {
            verification_id: v.id,
            reference_classification: if method.is_some() { "1" } else { "2" }.into(),
            date_of_service: date,
            validity: validity.code().into(),
            validity_name: validity.name().into(),
            person,
            records,
            consent_choices,
            live_consents: live,
            qualification_certificate: certificate,
        })
    }

    async fn live(
        &self,
        org_id: i64,
        resident_id: i64,
        now: &Timestamp,
    ) -> Result<Vec<LiveConsent>, EligibilityError> {
        Ok(self
            .store
            .live_consents(org_id, resident_id, now)
            .await?
            .into_iter()
            .map(|(category, expires_at)| LiveConsent {
                category,
                expires_at,
            })
            .collect())
    }

    /// The person's records that passed the 5-item check (held ones are never used).
    pub async fn visible_records(
        &self,
        resident_id: i64,
    ) -> Result<Vec<StoredRecord>, EligibilityError> {
        Ok(self
            .store
            .records_of_resident(resident_id)
            .await?
            .into_iter()
            .filter(|r| r.status == MatchStatus::Matched)
            .collect())
    }

    /// The query for a patient without the card (資格確認書 or an old card): 記号・番号・枝番
    /// and birth date. A held record, a wrong birth date and an unknown key all answer
    /// "none", so the query reveals nothing more than a correct one would.
    pub async fn query(
        &self,
        actor: &Actor,
        key: &InsuredKey,
        birth_date: NaiveDate,
        date_of_service: Option<NaiveDate>,
    ) -> Result<EligibilityResult, EligibilityError> {
        let terminal = self.terminal(actor).await?;
        let facility = self.facility(actor).await?;
        let date = service_date(date_of_service, self.clock.today())?;
        let found = self
            .store
            .record_by_key(key)
            .await?
            .filter(|r| r.status == MatchStatus::Matched)
            .filter(|r| r.enrollment.person.birth_date == birth_date);
        let Some(asked) = found else {
            return Ok(EligibilityResult {
                verification_id: String::new(),
                reference_classification: "2".into(),
                date_of_service: date,
                validity: Validity::NoRecord.code().into(),
                validity_name: Validity::NoRecord.name().into(),
                person: None,
                records: Vec::new(),
                consent_choices: Vec::new(),
                live_consents: Vec::new(),
                qualification_certificate: None,
            });
        };
        let all = self.visible_records(asked.resident_id).await?;
        let validity = match all.iter().position(|r| r.id == asked.id) {
            Some(index) => verdict::for_record(&all, index, date),
            None => Validity::NoRecord,
        };
        let certificate = self
            .store
            .certificates_of_record(asked.id)
            .await?
            .into_iter()
            .find(|c| c.valid_from <= date && date <= c.valid_until);
        self.finish(
            actor,
            Some(terminal.id),
            &facility,
            asked.resident_id,
            None,
            date,
            validity,
            Some(asked.enrollment.person.clone()),
            vec![RecordView::of(&asked.enrollment, date)],
            birth_date,
            certificate,
        )
        .await
    }

    async fn own_verification(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Verification, EligibilityError> {
        match self.store.verification(id).await? {
            Some(v) if v.org_id == actor.org_id => Ok(v),
            _ => Err(EligibilityError::not_found(
                "verification.not_found",
                "this facility has no such verification",
            )),
        }
    }

    /// Records the patient's choices at the reader, right after the verification: each
    /// chosen category opens access for this facility for 24 hours.
    pub async fn consent(
        &self,
        actor: &Actor,
        verification_id: &str,
        chosen: &BTreeSet<ConsentCategory>,
    ) -> Result<Vec<LiveConsent>, EligibilityError> {
        self.terminal(actor).await?;
        let v = self.own_verification(actor, verification_id).await?;
        let now = self.clock.now();
        if now - v.at > Duration::minutes(CONSENT_AFTER_VERIFICATION_MINUTES) {
            return Err(EligibilityError::refused(
                "consent.stale",
                format!(
                    "consent is given within {CONSENT_AFTER_VERIFICATION_MINUTES} minutes of the verification; verify the card again"
                ),
            ));
        }
        let offered = match v.method {
            Some(_) => {
                let birth = self
                    .registry()
                    .get(ResidentId(v.resident_id))
                    .await?
                    .basic4
                    .birth_date;
                consent::offered(birth, now.date_naive())
            }
            None => vec![ConsentCategory::LimitAmount],
        };
        if let Some(c) = chosen.iter().find(|c| !offered.contains(c)) {
            return Err(EligibilityError::invalid(
                "category.not_offered",
                "categories",
                format!(
                    "{} ({}) is not offered to this patient",
                    c.code(),
                    c.label_ja()
                ),
            ));
        }
        let cats: Vec<ConsentCategory> = chosen.iter().copied().collect();
        if !cats.is_empty() {
            self.store
                .insert_consents(
                    actor.org_id,
                    v.resident_id,
                    &cats,
                    &now,
                    &consent::expires_at(now),
                    &v.id,
                )
                .await?;
        }
        self.live(actor.org_id, v.resident_id, &now).await
    }

    async fn require_consent(
        &self,
        actor: &Actor,
        v: &Verification,
        category: ConsentCategory,
    ) -> Result<Vec<ConsentCategory>, EligibilityError> {
        let now = self.clock.now();
        let live: Vec<ConsentCategory> = self
            .store
            .live_consents(actor.org_id, v.resident_id, &now)
            .await?
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        if !live.contains(&category) {
            return Err(EligibilityError::forbidden(
                "consent.required",
                format!(
                    "the patient has not consented to showing {} ({}) to this facility in the last {} hours",
                    category.code(),
                    category.label_ja(),
                    consent::CONSENT_HOURS
                ),
            ));
        }
        Ok(live)
    }

    /// Consented medical data of the patient of a verification: medication and treatment
    /// (診療・薬剤; surgery entries only with the surgery consent), check-ups (特定健診).
    pub async fn medical_data(
        &self,
        actor: &Actor,
        verification_id: &str,
        kind: MedicalKind,
    ) -> Result<Vec<MedicalData>, EligibilityError> {
        self.terminal(actor).await?;
        let facility = self.facility(actor).await?;
        let v = self.own_verification(actor, verification_id).await?;
        let needed = match kind {
            MedicalKind::Medication | MedicalKind::Treatment => ConsentCategory::Clinical,
            MedicalKind::Checkup => ConsentCategory::Checkup,
            MedicalKind::Expense => {
                return Err(EligibilityError::not_found(
                    "data.not_for_facilities",
                    "medical-expense notices are shown only to the resident",
                ));
            }
        };
        let live = self.require_consent(actor, &v, needed).await?;
        let today = self.clock.today();
        let mut data = self
            .store
            .medical(v.resident_id, kind, shown_since(kind, today))
            .await?;
        let surgery = live.contains(&ConsentCategory::Surgery);
        if !surgery {
            data.retain(|d| !d.is_surgery());
        }
        let now = self.clock.now();
        self.store
            .record_disclosure(
                v.resident_id,
                actor,
                &now,
                &Disclosure {
                    category: format!("oqs.{}", kind.code()),
                    purpose: "診療のための情報閲覧 (viewing for care, with the patient's consent)"
                        .into(),
                    detail: format!(
                        "facility {}; {} ({} entries{})",
                        facility.as_str(),
                        kind.label_ja(),
                        data.len(),
                        if kind == MedicalKind::Treatment && surgery {
                            ", surgery included"
                        } else {
                            ""
                        }
                    ),
                },
            )
            .await?;
        Ok(data)
    }

    /// The limit-amount category (限度額適用区分) of the record valid on the date of service,
    /// with the patient's consent.
    pub async fn limit_amount(
        &self,
        actor: &Actor,
        verification_id: &str,
    ) -> Result<Option<LimitAmount>, EligibilityError> {
        self.terminal(actor).await?;
        let facility = self.facility(actor).await?;
        let v = self.own_verification(actor, verification_id).await?;
        self.require_consent(actor, &v, ConsentCategory::LimitAmount)
            .await?;
        let records = self.visible_records(v.resident_id).await?;
        let limit = records
            .iter()
            .filter(|r| r.enrollment.valid_on(v.date_of_service))
            .filter_map(|r| r.enrollment.limit.clone())
            .find(|l| {
                l.valid_from <= v.date_of_service
                    && l.valid_until.is_none_or(|u| v.date_of_service <= u)
            });
        let now = self.clock.now();
        self.store
            .record_disclosure(
                v.resident_id,
                actor,
                &now,
                &Disclosure {
                    category: "oqs.limit_amount".into(),
                    purpose: "限度額情報の提供 (limit-amount category, with the patient's consent)"
                        .into(),
                    detail: format!(
                        "facility {}; {}",
                        facility.as_str(),
                        limit
                            .as_ref()
                            .map(|l| l.category.code())
                            .unwrap_or("no limit-amount certification")
                    ),
                },
            )
            .await?;
        Ok(limit)
    }

    /// Age on the date of service (for callers that show it).
    pub fn age(birth: NaiveDate, on: NaiveDate) -> u32 {
        age_on(birth, on)
    }
}
