//! The JPKI verification platform (署名検証者 / プラットフォーム事業者).
//!
//! Under 犯収法施行規則 6条1項1号 ワ/カ a business opening an account without meeting the
//! customer checks the customer's signature made with the card's signing certificate (or a
//! smartphone's), directly or through a certified platform operator, and keeps a record of
//! the check. This crate is that platform's rules:
//!
//! - [`model`]: what a relying party submits ([`Submission`]), the steps of a check in their
//!   order ([`StepName`]) with the error code each failure carries, and the check as recorded
//!   ([`Check`], the 確認記録, kept [`RETENTION_YEARS`] years).
//! - [`Platform`]: a check (certificate type → issuer → validity → signature → revocation, by
//!   OCSP or by CRL), a re-check of an earlier one for monitoring, and the relying party's
//!   records. Every check is stored, with an entry in the holder's access log, before it is
//!   answered.
//! - [`PlatformStore`]: what the service needs from storage.

pub mod model;
pub mod oidc;
mod service;

pub use model::*;
pub use service::*;

use openmyna_core::{IntoRefusal, Refusal};

/// Everything that can go wrong in the platform. A certificate or signature that fails a step
/// is not an error: it is a [`Check`] whose result is refused.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The input breaks a rule, or names nothing we have.
    #[error(transparent)]
    Refusal(#[from] Refusal),
    #[error(transparent)]
    Jpki(#[from] openmyna_jpki::JpkiError),
    #[error("storage failed: {0}")]
    Storage(String),
}

impl PlatformError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        PlatformError::Refusal(Refusal::invalid(code, message))
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        PlatformError::Refusal(Refusal::not_found(code, message))
    }
}

impl IntoRefusal for PlatformError {
    fn into_refusal(self) -> Result<Refusal, Self> {
        match self {
            PlatformError::Refusal(r) => Ok(r),
            PlatformError::Jpki(e) => e.into_refusal().map_err(PlatformError::Jpki),
            other => Err(other),
        }
    }
}
