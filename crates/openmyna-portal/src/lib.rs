//! The citizen portal (マイナポータル), the rules without I/O:
//!
//! - [`session`]: a session opened by the card's authentication certificate, its idle and
//!   absolute lifetimes;
//! - [`account`]: the public-money account (公金受取口座) — one per person, the holder's kana
//!   name matching the resident's after normalisation, the latest registration replacing
//!   the previous one.

pub mod account;
pub mod expenses;
pub mod phone;
pub mod session;

/// Everything that can go wrong in the portal's rules.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// Input broke a rule: `code` names it, `field` the input.
    #[error("{message}")]
    Invalid {
        code: String,
        field: String,
        message: String,
    },
}

impl PortalError {
    pub fn invalid(
        code: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        PortalError::Invalid {
            code: code.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> &str {
        match self {
            PortalError::Invalid { code, .. } => code,
        }
    }
}

impl From<openmyna_ids::IdError> for PortalError {
    fn from(e: openmyna_ids::IdError) -> Self {
        PortalError::Invalid {
            code: e.code(),
            field: e.kind().code().to_owned(),
            message: e.to_string(),
        }
    }
}
