//! The resident registry (住民基本台帳).
//!
//! A resident has the basic four information (基本4情報: 氏名, 住所, 生年月日, 性別), a My Number
//! (個人番号) and a resident code (住民票コード). Municipalities register residents and record
//! what happens to them: moves, name changes, corrections of birth date or sex, death and
//! removal. Every change is kept as history and published as a [`RegistryEvent`], which other
//! parts subscribe to (the JPKI part revokes signing certificates on any change of the four
//! information, and both certificates on death).
//!
//! This crate holds the rules only. [`Registry`] runs them against a [`RegistryStore`], which the
//! storage crate implements; time and randomness are injected.

pub mod household;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
mod model;
mod service;

pub use model::{
    Address, AddressInput, BasicFour, ChangeKind, HistoryEntry, NewResident, NewResidentInput,
    PersonName, PostalCode, RegistryEvent, Resident, ResidentId, ResidentStatus, Sex,
};
pub use service::{
    Registry, RegistryStore, ResidentChange, recorded_by, registration_records, resident_from_new,
};

use openmyna_core::{IntoRefusal, Refusal};
use openmyna_ids::IdError;

/// Everything that can go wrong in the registry. The HTTP layer maps each variant to a status.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The input breaks a rule; its code names it (e.g. `sex.unknown`), its field the input.
    #[error(transparent)]
    Invalid(Refusal),
    #[error("no resident with id {0}")]
    NotFound(ResidentId),
    #[error("no resident has that My Number")]
    MyNumberNotFound,
    #[error("that My Number is already assigned to another resident")]
    DuplicateMyNumber,
    #[error("that resident code is already assigned to another resident")]
    DuplicateResidentCode,
    #[error("the resident's record is closed ({0}); no further changes can be recorded")]
    NotActive(ResidentStatus),
    #[error("the resident was changed by someone else meanwhile; read it again and retry")]
    Conflict,
    #[error("storage failed: {0}")]
    Storage(String),
}

impl RegistryError {
    pub fn invalid(
        code: impl Into<String>,
        field: &'static str,
        message: impl Into<String>,
    ) -> Self {
        RegistryError::Invalid(Refusal::invalid(code.into(), message).with_field(field))
    }
}

impl IntoRefusal for RegistryError {
    fn into_refusal(self) -> Result<Refusal, Self> {
        let message = self.to_string();
        Ok(match self {
            RegistryError::Invalid(r) => r,
            RegistryError::NotFound(_) => Refusal::not_found("resident.not_found", message),
            RegistryError::MyNumberNotFound => {
                Refusal::not_found("my_number.not_found", message).with_field("my_number")
            }
            RegistryError::DuplicateMyNumber => {
                Refusal::refused("my_number.duplicate", message).with_field("my_number")
            }
            RegistryError::DuplicateResidentCode => {
                Refusal::refused("resident_code.duplicate", message)
            }
            RegistryError::NotActive(_) => Refusal::refused("resident.not_active", message),
            RegistryError::Conflict => Refusal::refused("resident.conflict", message),
            other @ RegistryError::Storage(_) => return Err(other),
        })
    }
}

impl From<IdError> for RegistryError {
    fn from(e: IdError) -> Self {
        RegistryError::invalid(e.code(), e.kind().code(), e.to_string())
    }
}
