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

use openmyna_core::{IntoRefusal, Refusal};

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
    Platform(#[from] openmyna_platform::PlatformError),
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

impl IntoRefusal for ServiceError {
    fn into_refusal(self) -> std::result::Result<Refusal, Self> {
        fn domain<E: IntoRefusal>(
            e: E,
            wrap: fn(E) -> ServiceError,
        ) -> std::result::Result<Refusal, ServiceError> {
            e.into_refusal().map_err(wrap)
        }
        use ServiceError as S;
        match self {
            S::Refused(r) => Ok(r),
            S::Registry(e) => domain(e, S::Registry),
            S::Jpki(e) => domain(e, S::Jpki),
            S::Application(e) => domain(e, S::Application),
            S::Eligibility(e) => domain(e, S::Eligibility),
            S::FourInfo(e) => domain(e, S::FourInfo),
            S::Platform(e) => domain(e, S::Platform),
            S::Campaign(e) => domain(e, S::Campaign),
            S::Portal(e) => domain(e, S::Portal),
            S::Store(openmyna_store::StoreError::NotFound(m)) => {
                Ok(Refusal::not_found("not_found", m))
            }
            S::Store(openmyna_store::StoreError::Conflict(m)) => {
                Ok(Refusal::refused("conflict", m))
            }
            S::Card(openmyna_card::CardError::PinRule(r)) => {
                Ok(Refusal::invalid("pin.rule", r.to_string()))
            }
            S::Card(openmyna_card::CardError::Invalid(m)) => {
                Ok(Refusal::invalid("card.invalid", m))
            }
            other => Err(other),
        }
    }
}

impl ServiceError {
    /// The same error with `field` named as the input at fault, when it is a refusal.
    pub fn with_field(self, field: &'static str) -> Self {
        match self.into_refusal() {
            Ok(r) => ServiceError::Refused(r.with_field(field)),
            Err(e) => e,
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
