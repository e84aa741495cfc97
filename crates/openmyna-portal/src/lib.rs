//! The citizen portal (マイナポータル), the rules without I/O:
//!
//! - [`session`]: a session opened by the card's authentication certificate, its idle and
//!   absolute lifetimes;
//! - [`account`]: the public-money account (公金受取口座) — one per person, the holder's kana
//!   name matching the resident's after normalisation, the latest registration replacing
//!   the previous one;
//! - [`pairing`]: a browser logged in by a one-time code that the card holder approves
//!   elsewhere.

pub mod access_log;
pub mod account;
pub mod expenses;
pub mod pairing;
pub mod phone;
pub mod session;

use openmyna_core::{IntoRefusal, Refusal};

/// Everything that can go wrong in the portal's rules.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The input breaks a rule (`field` names the input).
    #[error(transparent)]
    Refusal(#[from] Refusal),
}

impl PortalError {
    pub fn invalid(
        code: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        PortalError::Refusal(Refusal::invalid(code.into(), message).with_field(field.into()))
    }

    pub fn code(&self) -> &str {
        match self {
            PortalError::Refusal(r) => r.code(),
        }
    }
}

impl IntoRefusal for PortalError {
    fn into_refusal(self) -> Result<Refusal, Self> {
        match self {
            PortalError::Refusal(r) => Ok(r),
        }
    }
}

impl From<openmyna_ids::IdError> for PortalError {
    fn from(e: openmyna_ids::IdError) -> Self {
        PortalError::invalid(e.code(), e.kind().code(), e.to_string())
    }
}
