//! 最新の利用者情報提供サービス: with a customer's consent, signed with the card's signing
//! key, a relying party (a bank, through its platform operator) learns that the customer's
//! basic four information changed — the signing certificate was revoked — and receives the
//! latest values of the consented items and the new signing certificate's serial.
//!
//! - [`ConsentDocument`]: what the customer signs (JSON inside a CMS SignedData).
//! - [`FourInfo`]: registering relying parties, accepting consents (signature, chain, status,
//!   holder), withdrawing them, and the query.
//! - [`FourInfoStore`]: what the service needs from storage.

mod model;
mod service;

pub use model::*;
pub use service::*;

use openmyna_core::{IntoRefusal, Refusal};

/// Everything that can go wrong in the 4-information service.
#[derive(Debug, thiserror::Error)]
pub enum FourInfoError {
    /// The input breaks a rule, or the rules refuse it, or it names nothing we have.
    #[error(transparent)]
    Refusal(#[from] Refusal),
    #[error(transparent)]
    Jpki(#[from] openmyna_jpki::JpkiError),
    #[error(transparent)]
    Registry(#[from] openmyna_registry::RegistryError),
    #[error("storage failed: {0}")]
    Storage(String),
}

impl FourInfoError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        FourInfoError::Refusal(Refusal::invalid(code, message))
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        FourInfoError::Refusal(Refusal::refused(code, message))
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        FourInfoError::Refusal(Refusal::not_found(code, message))
    }
}

impl IntoRefusal for FourInfoError {
    fn into_refusal(self) -> Result<Refusal, Self> {
        match self {
            FourInfoError::Refusal(r) => Ok(r),
            FourInfoError::Jpki(e) => e.into_refusal().map_err(FourInfoError::Jpki),
            FourInfoError::Registry(e) => e.into_refusal().map_err(FourInfoError::Registry),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests;
