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

/// Everything that can go wrong in the 4-information service.
#[derive(Debug, thiserror::Error)]
pub enum FourInfoError {
    /// Input broke a rule (`code` names it).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// A valid request the rules refuse (`code` names the rule).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Jpki(#[from] openmyna_jpki::JpkiError),
    #[error(transparent)]
    Registry(#[from] openmyna_registry::RegistryError),
    #[error("storage failed: {0}")]
    Storage(String),
}

impl FourInfoError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        FourInfoError::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        FourInfoError::Refused {
            code,
            message: message.into(),
        }
    }
}
