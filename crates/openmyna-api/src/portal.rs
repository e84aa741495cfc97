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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handoff {
    /// Open this path in a browser (once, within two minutes) to be logged in there.
    pub path: String,
    pub expires_at: String,
}
