//! What a relying party submits, the steps of a check, and the check as recorded.

use openmyna_core::Timestamp;
use openmyna_jpki::relying::CertifiedBasic4;
use serde::{Deserialize, Serialize};

use crate::PlatformError;

/// How long a check is kept: 犯収法 6条 has the record kept 7 years.
pub const RETENTION_YEARS: i32 = 7;
/// Longest purpose accepted, in characters.
pub const MAX_PURPOSE_CHARS: usize = 200;
/// Largest signed document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// What a relying party hands over to be checked.
#[derive(Debug, Clone)]
pub enum Submission {
    /// A CMS SignedData (DER) with the content encapsulated and the signer's certificate
    /// included, as `openssl cms -sign -nodetach -md sha256` or the card's client makes it.
    Document(Vec<u8>),
    /// A signature made with the card (RSA PKCS#1 v1.5, or ECDSA, over SHA-256) and the
    /// certificate it was made with; `digest` is the SHA-256 of what was signed.
    Signature {
        certificate: Vec<u8>,
        signature: Vec<u8>,
        digest: [u8; 32],
    },
}

impl Submission {
    pub fn kind(&self) -> &'static str {
        match self {
            Submission::Document(_) => "document",
            Submission::Signature { .. } => "signature",
        }
    }
}

/// Which certificate the purpose requires: the signing certificate for an identity check
/// (犯収法 ワ: it carries the basic four information), the authentication certificate for a
/// login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Expect {
    #[default]
    Signing,
    Authentication,
}

impl Expect {
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Signing => "signing",
            Expect::Authentication => "authentication",
        }
    }
}

/// How the revocation step learns the certificate's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RevocationMethod {
    /// Ask the root's OCSP responder now, with a nonce (a freshly signed answer).
    #[default]
    Ocsp,
    /// Read the certificate's partition CRL and its delta, as last published.
    Crl,
}

impl RevocationMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationMethod::Ocsp => "ocsp",
            RevocationMethod::Crl => "crl",
        }
    }
}

/// The kind of certificate presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CertificateType {
    /// 署名用電子証明書 (from the signing root).
    Signing,
    /// 利用者証明用電子証明書 (from the user-authentication root).
    Authentication,
    /// Not issued by a JPKI root of this installation.
    Other,
}

/// Where the certificate's key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Device {
    /// The My Number Card.
    Card,
    /// スマホ用電子証明書.
    Smartphone,
    /// Not known to this CA.
    Unknown,
}

/// The steps of a check, in the order they are reported; the first that fails gives the
/// check's error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StepName {
    /// Signing vs authentication, card vs smartphone, against what the purpose requires.
    CertificateType,
    /// Issued by the root (its signature on the certificate) and recorded by this CA.
    Issuer,
    /// Within notBefore..notAfter at the time of the check.
    Validity,
    /// The document's (or the hash's) signature with the certificate's key.
    Signature,
    /// Not revoked or suspended, by OCSP or by CRL.
    Revocation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    Passed,
    Failed,
    /// Could not be run (a certificate that is not ours has no revocation status here).
    Skipped,
}

/// One step's finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    pub step: StepName,
    pub outcome: Outcome,
    /// The error code when failed (see [`codes`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<String>,
    pub detail: String,
}

impl Step {
    pub fn passed(step: StepName, detail: impl Into<String>) -> Step {
        Step {
            step,
            outcome: Outcome::Passed,
            code: None,
            detail: detail.into(),
        }
    }

    pub fn failed(step: StepName, code: &str, detail: impl Into<String>) -> Step {
        Step {
            step,
            outcome: Outcome::Failed,
            code: Some(code.to_owned()),
            detail: detail.into(),
        }
    }

    pub fn skipped(step: StepName, detail: impl Into<String>) -> Step {
        Step {
            step,
            outcome: Outcome::Skipped,
            code: None,
            detail: detail.into(),
        }
    }
}

/// The error codes of failed steps. The names follow the platform operators' public
/// documentation where one exists (`unsupported_certificate`, `certificate_has_expired`,
/// `signature_did_not_match`, `certificate_has_been_revoked`); the others are ours.
pub mod codes {
    /// Not the kind of certificate the purpose requires, or not a JPKI certificate.
    pub const UNSUPPORTED_CERTIFICATE: &str = "unsupported_certificate";
    /// Not issued by this installation's root (its signature on the certificate fails).
    pub const UNTRUSTED_ISSUER: &str = "untrusted_issuer";
    /// Signed by the root but not what this CA recorded as issued.
    pub const UNKNOWN_CERTIFICATE: &str = "unknown_certificate";
    pub const CERTIFICATE_HAS_EXPIRED: &str = "certificate_has_expired";
    pub const CERTIFICATE_NOT_YET_VALID: &str = "certificate_not_yet_valid";
    pub const SIGNATURE_DID_NOT_MATCH: &str = "signature_did_not_match";
    pub const CERTIFICATE_HAS_BEEN_REVOKED: &str = "certificate_has_been_revoked";
    /// 一時停止 (certificateHold).
    pub const CERTIFICATE_IS_SUSPENDED: &str = "certificate_is_suspended";
    /// The responder or the CRLs could not tell.
    pub const REVOCATION_STATUS_UNKNOWN: &str = "revocation_status_unknown";
}

/// What was presented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateSummary {
    /// Hex serial number.
    pub serial: String,
    #[serde(rename = "type")]
    pub kind: CertificateType,
    pub device: Device,
    pub issuer: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub not_before: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub not_after: Timestamp,
}

/// Where the revocation step got the status, and what it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevocationSource {
    pub method: RevocationMethod,
    /// `good`, `suspended`, `revoked` or `unknown`.
    pub status: String,
    /// The responder's URL, or the CRL's.
    pub url: String,
    /// When the answer was signed (OCSP producedAt) or the CRL issued (thisUpdate).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub as_of: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub next_update: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub crl_number: Option<u64>,
    /// The delta CRL read with the base CRL, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub delta_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub delta_number: Option<u64>,
    /// When revoked or suspended.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub since: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

/// The basic four information as the signing certificate certifies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Basic4 {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub birth_date: chrono::NaiveDate,
    /// `male`, `female` or `not_applicable` (JIS X 0303 1, 2, 9).
    pub sex: String,
    pub address: String,
}

impl From<CertifiedBasic4> for Basic4 {
    fn from(b: CertifiedBasic4) -> Self {
        Basic4 {
            name: b.name,
            birth_date: b.birth_date,
            sex: match b.sex_code {
                1 => "male",
                2 => "female",
                _ => "not_applicable",
            }
            .to_owned(),
            address: b.address,
        }
    }
}

/// A check's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CheckResult {
    /// Every step passed.
    Verified,
    /// A step failed: `error` names the first.
    Refused,
}

/// A check as recorded (確認記録) and answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Check {
    pub id: i64,
    /// The relying party that asked (organisation id).
    pub relying_party: i64,
    pub purpose: String,
    /// `document` (CMS) or `signature` (a signature over a hash).
    pub submitted: String,
    pub expected: Expect,
    pub result: CheckResult,
    /// The first failed step's code (see the steps for the others).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    pub steps: Vec<Step>,
    pub certificate: CertificateSummary,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub revocation: Option<RevocationSource>,
    /// The basic four information from the signing certificate (verified checks only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub basic4: Option<Basic4>,
    /// The signing time the signer claims (documents).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub signing_time: Option<Timestamp>,
    /// Hex SHA-256 of what was signed (the document's content, or the hash given).
    pub signed_sha256: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub checked_at: Timestamp,
    /// The check this one repeats (monitoring).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recheck_of: Option<i64>,
    /// Kept until then ([`RETENTION_YEARS`]).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub keep_until: Timestamp,
}

impl Check {
    /// The first failed step.
    pub fn first_failure(steps: &[Step]) -> Option<&Step> {
        steps.iter().find(|s| s.outcome == Outcome::Failed)
    }
}

/// A purpose as the record keeps it: 1 to [`MAX_PURPOSE_CHARS`] characters, no control
/// characters, trimmed.
pub fn parse_purpose(s: &str) -> Result<String, PlatformError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(PlatformError::invalid(
            "platform.purpose",
            "purpose is required: why the check is made (it is recorded in the 確認記録 and the holder's access log)",
        ));
    }
    if t.chars().count() > MAX_PURPOSE_CHARS {
        return Err(PlatformError::invalid(
            "platform.purpose",
            format!("purpose is longer than {MAX_PURPOSE_CHARS} characters"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(PlatformError::invalid(
            "platform.purpose",
            "purpose contains a control character",
        ));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes() {
        assert_eq!(parse_purpose("  口座開設 ").unwrap(), "口座開設");
        assert!(parse_purpose(" ").is_err());
        assert!(parse_purpose("a\nb").is_err());
        assert!(parse_purpose(&"あ".repeat(201)).is_err());
        assert!(parse_purpose(&"あ".repeat(200)).is_ok());
    }

    #[test]
    fn the_first_failure_names_the_error() {
        let steps = [
            Step::passed(StepName::CertificateType, "signing"),
            Step::failed(StepName::Validity, codes::CERTIFICATE_HAS_EXPIRED, "x"),
            Step::failed(
                StepName::Revocation,
                codes::CERTIFICATE_HAS_BEEN_REVOKED,
                "y",
            ),
        ];
        assert_eq!(
            Check::first_failure(&steps).and_then(|s| s.code.as_deref()),
            Some(codes::CERTIFICATE_HAS_EXPIRED)
        );
        assert!(Check::first_failure(&steps[..1]).is_none());
    }

    #[test]
    fn steps_serialise_by_name() {
        let s = Step::failed(
            StepName::CertificateType,
            codes::UNSUPPORTED_CERTIFICATE,
            "d",
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["step"], "certificate_type");
        assert_eq!(v["outcome"], "failed");
        assert_eq!(v["code"], "unsupported_certificate");
    }
}
