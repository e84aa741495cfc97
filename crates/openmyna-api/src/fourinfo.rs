//! The latest-4-information service for relying parties (`/api/v1/fourinfo/…`).

use serde::{Deserialize, Serialize};

pub use openmyna_fourinfo::Item;

/// A consent as the relying party sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentView {
    pub id: i64,
    pub customer_ref: String,
    pub items: Vec<Item>,
    pub purpose: String,
    /// The signing certificate followed now (hex serial): look for it in the CRLs.
    pub sign_serial: String,
    /// The signing certificate that signed the consent.
    pub consent_serial: String,
    pub created_at: String,
    /// live or withdrawn.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_reason: Option<String>,
}
