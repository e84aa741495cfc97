//! The services' one error type.
//!
//! # Error policy
//!
//! - A use case fails either with a [`Refusal`] (the caller's mistake or a rule of the domain:
//!   kind, code, field, message) or with a failure of ours (storage, keys, files), carried as
//!   the domain crate's own error. [`ServiceError::refusal`] tells which.
//! - The HTTP layer maps a `ServiceError` to a response in one place (`openmyna-http`'s
//!   `error.rs`); the CLI prints the refusal's message, or the failure.
//! - Nothing personal is in an error: no My Number, PIN or name.

use openmyna_core::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Registry(#[from] openmyna_registry::RegistryError),
    #[error(transparent)]
    Store(#[from] openmyna_store::StoreError),
    #[error("certification authority: {0}")]
    Jpki(#[from] openmyna_jpki::JpkiError),
    #[error(transparent)]
    Card(#[from] openmyna_card::CardError),
    #[error(transparent)]
    CardIo(#[from] openmyna_cardio::CardIoError),
    #[error(transparent)]
    Application(#[from] openmyna_applications::ApplicationError),
    #[error(transparent)]
    Eligibility(#[from] openmyna_eligibility::EligibilityError),
    #[error(transparent)]
    FourInfo(#[from] openmyna_fourinfo::FourInfoError),
    #[error(transparent)]
    Campaign(#[from] openmyna_campaigns::CampaignError),
    #[error(transparent)]
    Portal(#[from] openmyna_portal::PortalError),
    /// A failure of ours that no domain crate names (a record that should exist, a stored
    /// value that does not parse).
    #[error("{context}: {message}")]
    Internal {
        context: &'static str,
        message: String,
    },
}

impl ServiceError {
    pub fn internal(context: &'static str, message: impl std::fmt::Display) -> Self {
        ServiceError::Internal {
            context,
            message: message.to_string(),
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
