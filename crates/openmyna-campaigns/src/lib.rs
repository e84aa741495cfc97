//! Card-uptake campaigns (マイナンバーカード取得促進) and employer My Number intake, the rules
//! without I/O.
//!
//! - [`org`]: companies, industry associations and ministries, their industries (日本標準産業
//!   分類 major divisions) and who may sit above whom.
//! - [`dashboard`]: employees' answers (card held, registered for insurance use) tallied per
//!   division subtree (本部単位で集計) and per member organisation, with small-cell
//!   suppression, ranking and the change over time.
//! - [`campaign`]: campaigns with a target rate and the measures taken.
//! - [`figures`]: what the dashboard, a campaign and an association's member view publish,
//!   computed from a company's data.
//! - [`session`]: on-site application sessions (出張申請受付) from request to close.
//! - [`ministry`]: the report to the supervising ministry, its CSV layout and the bottom-third
//!   industries.
//! - [`intake`]: employees' My Numbers for enrollment forms — the identity check (番号確認 +
//!   身元確認), the purposes a number may be read for, and the retention period.

pub mod campaign;
pub mod dashboard;
pub mod figures;
pub mod intake;
pub mod ministry;
pub mod org;
pub mod reports;
pub mod session;

use openmyna_core::{IntoRefusal, Refusal};

/// Everything that can go wrong in campaigns and intake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    /// The input breaks a rule (`field` names the input), or the rules refuse it now.
    #[error(transparent)]
    Refusal(#[from] Refusal),
}

impl CampaignError {
    pub fn invalid(
        code: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        CampaignError::Refusal(Refusal::invalid(code.into(), message).with_field(field.into()))
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        CampaignError::Refusal(Refusal::refused(code, message))
    }

    pub fn code(&self) -> &str {
        match self {
            CampaignError::Refusal(r) => r.code(),
        }
    }
}

impl IntoRefusal for CampaignError {
    fn into_refusal(self) -> Result<Refusal, Self> {
        match self {
            CampaignError::Refusal(r) => Ok(r),
        }
    }
}

/// A date as `YYYY-MM-DD` (or `YYYYMMDD`), naming the field when it is not one.
pub fn parse_date(field: &str, s: &str) -> Result<chrono::NaiveDate, CampaignError> {
    let t = s.trim();
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(t, "%Y%m%d"))
        .map_err(|_| {
            CampaignError::invalid(
                format!("{field}.date"),
                field,
                format!("{field} must be a date as YYYY-MM-DD, got {t:?}"),
            )
        })
}

/// Declares a closed set of values with their wire names and Japanese labels; `parse` names
/// the allowed values.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $field:literal {
            $( $(#[$vmeta:meta])* $var:ident = $wire:literal, $label:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $var, )+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $wire,)+ }
            }

            pub fn label_ja(self) -> &'static str {
                match self { $($name::$var => $label,)+ }
            }

            pub fn parse(s: &str) -> Result<Self, $crate::CampaignError> {
                let t = s.trim();
                $(if t == $wire { return Ok($name::$var); })+
                let allowed: Vec<&str> = Self::ALL.iter().map(|c| c.as_str()).collect();
                Err($crate::CampaignError::invalid(
                    concat!($field, ".unknown"),
                    $field,
                    format!("{:?} is not a known {}; use one of {}", t, $field, allowed.join(", ")),
                ))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        /// In the OpenAPI document: a string, one of the names.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(
                    utoipa::openapi::schema::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::String)
                        .enum_values(Some([$($wire),+]))
                        .build(),
                ))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use named_enum;
