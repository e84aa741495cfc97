//! The error body of every API: `{"error":{"code":"…","message":"…","field":"…"}}`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable machine-readable code, `<field or area>.<rule>`.
    #[cfg_attr(feature = "openapi", schema(example = "my_number.check_digit"))]
    pub code: String,
    /// What went wrong, for people.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "My Number (個人番号) check digit is 7, expected 8")
    )]
    pub message: String,
    /// The input field at fault, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "my_number"))]
    pub field: Option<String>,
}
