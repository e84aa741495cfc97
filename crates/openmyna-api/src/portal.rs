//! The portal's card login (`/api/v1/portal/challenge`, `/login`) and the browser handoff
//! (`/api/v1/portal/handoff`). The challenge is [`crate::oqs::ChallengeView`].

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub challenge_id: String,
    /// The card's authentication certificate (DER, base64).
    pub certificate: String,
    /// The card's signature over the challenge (base64).
    pub signature: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedIn {
    pub name: String,
    /// When the session ends at the latest.
    pub expires_at: String,
}

/// The code a browser's login page shows (`ABCD-EFGH`; case, spaces and the hyphen do not
/// matter).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PairingApproval {
    pub code: String,
}

/// A browser login approved: the browser that asked (its User-Agent) and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairingApproved {
    pub browser: String,
    pub requested_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handoff {
    /// Open this path in a browser (once, within two minutes) to be logged in there.
    pub path: String,
    pub expires_at: String,
}
