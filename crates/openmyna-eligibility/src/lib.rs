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

/// Everything that can go wrong in eligibility verification.
#[derive(Debug, thiserror::Error)]
pub enum EligibilityError {
    /// Input broke a rule: `code` names the rule, `field` the input.
    #[error("{message}")]
    Invalid {
        code: String,
        field: String,
        message: String,
    },
    /// A valid request the rules refuse (`code` names the rule).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// The caller is not allowed to see this (`code` names the rule).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
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
        EligibilityError::Invalid {
            code: code.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        EligibilityError::Refused {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        EligibilityError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        EligibilityError::NotFound {
            code,
            message: message.into(),
        }
    }

    /// The stable code of the rule, where there is one.
    pub fn code(&self) -> &str {
        match self {
            EligibilityError::Invalid { code, .. } => code,
            EligibilityError::Refused { code, .. }
            | EligibilityError::Forbidden { code, .. }
            | EligibilityError::NotFound { code, .. } => code,
            EligibilityError::Jpki(_) => "jpki",
            EligibilityError::Registry(_) => "registry",
            EligibilityError::Storage(_) => "storage",
        }
    }

    /// The input field at fault, where there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            EligibilityError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<openmyna_ids::IdError> for EligibilityError {
    fn from(e: openmyna_ids::IdError) -> Self {
        EligibilityError::Invalid {
            code: e.code(),
            field: e.kind().code().to_owned(),
            message: e.to_string(),
        }
    }
}
