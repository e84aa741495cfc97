//! Online eligibility verification (オンライン資格確認), the rules without I/O.
//!
//! - [`record`]: an insurer's enrollment record (資格情報) with the real data items, its
//!   validation (each failure names the field and the rule), the CSV layout, and the 5-item
//!   check against the resident registry that holds a mismatched record back.
//! - [`verdict`]: which record answers for a date of service, with the result codes
//!   (valid / invalid / newer record exists / none / multiple).
//! - [`consent`]: the choices a patient is offered at the reader and the 24-hour window.
//! - [`medical`]: medication, treatment and check-up records and how far back each is shown.
//! - [`challenge`]: the reader's single-use, two-minute challenges.
//! - [`service`]: the use cases over an [`EligibilityStore`].

pub mod challenge;
pub mod codes;
pub mod consent;
pub mod medical;
pub mod record;
pub mod service;
pub mod synth;
pub mod verdict;

pub use codes::*;
pub use service::*;

use openmyna_core::{IntoRefusal, Refusal, RefusalKind};

/// Everything that can go wrong in eligibility verification.
#[derive(Debug, thiserror::Error)]
pub enum EligibilityError {
    /// The input breaks a rule (`field` names the input), the rules refuse it, the caller may
    /// not see it, or it names nothing we have.
    #[error(transparent)]
    Refusal(#[from] Refusal),
    #[error(transparent)]
    Jpki(#[from] openmyna_jpki::JpkiError),
    #[error(transparent)]
    Registry(#[from] openmyna_registry::RegistryError),
    #[error("storage failed: {0}")]
    Storage(String),
}

impl EligibilityError {
    pub fn invalid(
        code: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        EligibilityError::Refusal(Refusal::invalid(code.into(), message).with_field(field.into()))
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        EligibilityError::Refusal(Refusal::refused(code, message))
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        EligibilityError::Refusal(Refusal::forbidden(code, message))
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        EligibilityError::Refusal(Refusal::not_found(code, message))
    }

    /// The stable code of the rule, where there is one.
    pub fn code(&self) -> &str {
        match self {
            EligibilityError::Refusal(r) => r.code(),
            EligibilityError::Jpki(_) => "jpki",
            EligibilityError::Registry(_) => "registry",
            EligibilityError::Storage(_) => "storage",
        }
    }

    /// The input field at fault, where there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            EligibilityError::Refusal(r) => r.field(),
            _ => None,
        }
    }

    /// Whether this is a refusal of the given kind.
    pub fn is(&self, kind: RefusalKind) -> bool {
        matches!(self, EligibilityError::Refusal(r) if r.kind() == kind)
    }
}

impl IntoRefusal for EligibilityError {
    fn into_refusal(self) -> Result<Refusal, Self> {
        match self {
            EligibilityError::Refusal(r) => Ok(r),
            EligibilityError::Jpki(e) => e.into_refusal().map_err(EligibilityError::Jpki),
            EligibilityError::Registry(e) => e.into_refusal().map_err(EligibilityError::Registry),
            other => Err(other),
        }
    }
}

impl From<openmyna_ids::IdError> for EligibilityError {
    fn from(e: openmyna_ids::IdError) -> Self {
        EligibilityError::invalid(e.code(), e.kind().code(), e.to_string())
    }
}
