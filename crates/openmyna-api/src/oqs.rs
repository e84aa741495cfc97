//! Online eligibility verification at the reader (`/api/v1/oqs/…`): the terminal asks for a
//! challenge, the card signs it after the PIN, the terminal sends the proof and gets the
//! eligibility result; the patient's consent choices open the consented data.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use openmyna_eligibility::medical::MedicalData;
pub use openmyna_eligibility::record::LimitAmount;
pub use openmyna_eligibility::{
    EligibilityResult, LiveConsent, RecordView, Registration, Terminal,
};

/// The terminal behind a token and its facility (for terminals to check their set-up).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalSelf {
    pub terminal: Terminal,
    /// The facility's 医療機関コード.
    pub facility_code: String,
    pub facility_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeView {
    pub challenge_id: String,
    /// 32 bytes, base64: the card signs exactly these bytes (SHA-256, PKCS#1 v1.5, with the
    /// authentication key after the 4-digit PIN).
    pub challenge: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterCard {
    pub challenge_id: String,
    /// The card's authentication certificate (JPKI AP EF 000A), DER, base64.
    pub certificate: String,
    /// The card's signature over the challenge bytes, base64.
    pub signature: String,
    /// portal, atm or window (operator back ends); terminals register as reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Verify {
    pub challenge_id: String,
    pub certificate: String,
    pub signature: String,
    /// How the holder was confirmed: pin, face or visual.
    pub method: String,
    /// Which card key signed the challenge: `auth` (default; the authentication key, after
    /// the PIN) or `presence` (the 券面AP's own key, which signs without a PIN: the proof that
    /// the card is on the reader when the holder was confirmed by face or by sight; `method`
    /// face or visual only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// Default: today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_service: Option<NaiveDate>,
}

/// A reader's report of a locked PIN: the card's authentication certificate (DER, base64),
/// which the reader reads without the PIN.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PinLockReport {
    pub certificate: String,
}

/// The report taken: `recorded` is false when this lock-out was reported already.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PinLockRecorded {
    pub recorded: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyQuery {
    pub insurer_number: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    pub birth_date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_service: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GiveConsent {
    /// clinical (診療・薬剤), checkup (特定健診), surgery (手術), limit_amount (限度額).
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitView {
    /// Absent when the patient has no limit-amount certification valid on the date.
    pub limit: Option<LimitAmount>,
}
