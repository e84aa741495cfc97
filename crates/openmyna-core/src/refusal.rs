//! The one vocabulary of refusals.
//!
//! Every domain crate says "no" the same way: a [`Refusal`] of one [`RefusalKind`] with a
//! stable machine-readable `code` (`<field or area>.<rule>`), a message for people and, where
//! the refusal is about one input field, that field's name. Domain error enums carry a
//! `Refusal` (their other variants are failures of ours: storage, keys, encodings), so the
//! field name survives all the way to the wire, and the HTTP layer maps the kind to a status
//! in one place.

use std::borrow::Cow;

/// What kind of "no" it is; the HTTP layer maps each to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// The input breaks a rule (422).
    Invalid,
    /// The input is well-formed but the state of things does not allow it (409).
    Refused,
    /// The caller may not do this (403).
    Forbidden,
    /// What the caller names does not exist, or is not theirs to see (404).
    NotFound,
    /// The caller has not shown who they are, or the proof has expired (401).
    Unauthenticated,
}

impl RefusalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::Invalid => "invalid",
            RefusalKind::Refused => "refused",
            RefusalKind::Forbidden => "forbidden",
            RefusalKind::NotFound => "not_found",
            RefusalKind::Unauthenticated => "unauthenticated",
        }
    }
}

/// A refusal: the caller's mistake or a rule of the domain, never a failure of ours. Its
/// message never carries personal data (no My Number, PIN or name is echoed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    kind: RefusalKind,
    code: Cow<'static, str>,
    field: Option<Cow<'static, str>>,
    message: String,
}

impl Refusal {
    pub fn new(
        kind: RefusalKind,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Refusal {
            kind,
            code: code.into(),
            field: None,
            message: message.into(),
        }
    }

    /// The input breaks a rule.
    pub fn invalid(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Refusal::new(RefusalKind::Invalid, code, message)
    }

    /// The state of things does not allow it.
    pub fn refused(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Refusal::new(RefusalKind::Refused, code, message)
    }

    /// The caller may not do this.
    pub fn forbidden(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Refusal::new(RefusalKind::Forbidden, code, message)
    }

    /// No such thing (or not the caller's).
    pub fn not_found(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Refusal::new(RefusalKind::NotFound, code, message)
    }

    /// The caller has not shown who they are.
    pub fn unauthenticated(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Refusal::new(RefusalKind::Unauthenticated, code, message)
    }

    /// The input field at fault.
    pub fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The field, if the refusal has none yet.
    pub fn or_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        if self.field.is_none() {
            self.field = Some(field.into());
        }
        self
    }

    pub fn kind(&self) -> RefusalKind {
        self.kind
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A domain error that may be a refusal: the HTTP layer (and the CLI) ask it once, and either
/// answer with the refusal or treat the error as a failure of ours.
pub trait IntoRefusal: Sized {
    /// The refusal this error is, or the error itself when it is a failure of ours.
    fn into_refusal(self) -> Result<Refusal, Self>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_its_parts() {
        let r = Refusal::invalid("my_number.check_digit", "check digit is 7, expected 8")
            .with_field("my_number");
        assert_eq!(r.kind(), RefusalKind::Invalid);
        assert_eq!(r.code(), "my_number.check_digit");
        assert_eq!(r.field(), Some("my_number"));
        assert_eq!(r.to_string(), "check digit is 7, expected 8");
        let r = r.or_field("other");
        assert_eq!(r.field(), Some("my_number"), "or_field keeps a field");
        let r = Refusal::refused("card.status", "x").or_field("serial");
        assert_eq!(r.field(), Some("serial"));
        assert_eq!(r.kind().as_str(), "refused");
    }
}
