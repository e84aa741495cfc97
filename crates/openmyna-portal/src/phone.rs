//! スマホ用電子証明書: a phone gets its own authentication and signing certificates after the
//! holder signs, with the card's signing key, a request naming the phone and its two public
//! keys. The phone keeps its keys behind its own passcode or biometric unlock; its token
//! label is the real one, `JPKIAPGPSETOKEN`.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::PortalError;

pub const REQUEST_KIND: &str = "openmyna.phone.request/1";
/// The token label of a phone's JPKI certificates.
pub const TOKEN_LABEL: &str = "JPKIAPGPSETOKEN";
/// A signed request is accepted for this long after its signing time.
pub const REQUEST_MAX_AGE_MINUTES: i64 = 10;

/// A phone's state: what its two certificates may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneState {
    Active,
    /// 一時停止 (certificateHold), by the 24-hour hotline on a reported loss.
    Suspended,
    /// 失効: final.
    Revoked,
}

impl PhoneState {
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneState::Active => "active",
            PhoneState::Suspended => "suspended",
            PhoneState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<PhoneState> {
        [
            PhoneState::Active,
            PhoneState::Suspended,
            PhoneState::Revoked,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// Whether a phone in this state may move to `to`: revoked from active or suspended,
    /// suspended from active, active again (released) from suspended.
    pub fn may_become(self, to: PhoneState) -> bool {
        use PhoneState::*;
        matches!(
            (self, to),
            (Active | Suspended, Revoked) | (Active, Suspended) | (Suspended, Active)
        )
    }
}

/// What the holder signs with the card to have a phone certified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneRequest {
    pub kind: String,
    /// The phone's device id: 32 hexadecimal characters.
    pub device_id: String,
    /// Shown to the holder in the list of phones.
    pub model: String,
    /// The phone's authentication public key (SPKI DER, base64).
    pub auth_public_key: String,
    /// The phone's signing public key (SPKI DER, base64).
    pub sign_public_key: String,
}

fn bad(field: &str, rule: &str, message: impl Into<String>) -> PortalError {
    PortalError::invalid(format!("{field}.{rule}"), field, message)
}

impl PhoneRequest {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses and checks a request; returns it with the two public keys decoded.
    pub fn parse(bytes: &[u8]) -> Result<(PhoneRequest, Vec<u8>, Vec<u8>), PortalError> {
        let r: PhoneRequest = serde_json::from_slice(bytes).map_err(|e| {
            bad(
                "request",
                "format",
                format!("the signed request is not a phone request: {e}"),
            )
        })?;
        if r.kind != REQUEST_KIND {
            return Err(bad(
                "kind",
                "unknown",
                format!("kind must be {REQUEST_KIND}"),
            ));
        }
        if r.device_id.len() != 32 || !r.device_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(
                "device_id",
                "format",
                "device_id is 32 hexadecimal characters",
            ));
        }
        let model = r.model.trim();
        if model.is_empty() || model.chars().count() > 60 || model.chars().any(char::is_control) {
            return Err(bad("model", "length", "model is 1 to 60 characters"));
        }
        let e = base64::engine::general_purpose::STANDARD;
        let auth = e
            .decode(&r.auth_public_key)
            .map_err(|_| bad("auth_public_key", "base64", "auth_public_key is not base64"))?;
        let sign = e
            .decode(&r.sign_public_key)
            .map_err(|_| bad("sign_public_key", "base64", "sign_public_key is not base64"))?;
        if auth == sign {
            return Err(bad(
                "sign_public_key",
                "same_key",
                "the signing and authentication keys must differ",
            ));
        }
        Ok((r, auth, sign))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_states_move_as_the_hotline_and_the_holder_may() {
        use PhoneState::*;
        for s in [Active, Suspended, Revoked] {
            assert_eq!(PhoneState::parse(s.as_str()), Some(s));
        }
        assert!(Active.may_become(Suspended) && Suspended.may_become(Active));
        assert!(Active.may_become(Revoked) && Suspended.may_become(Revoked));
        assert!(!Revoked.may_become(Active) && !Revoked.may_become(Suspended));
        assert!(!Active.may_become(Active) && !Revoked.may_become(Revoked));
        assert_eq!(PhoneState::parse("lost"), None);
    }

    #[test]
    fn requests_are_checked() {
        let e = base64::engine::general_purpose::STANDARD;
        let ok = PhoneRequest {
            kind: REQUEST_KIND.into(),
            device_id: "0123456789abcdef0123456789abcdef".into(),
            model: "Pixel".into(),
            auth_public_key: e.encode([1, 2, 3]),
            sign_public_key: e.encode([4, 5, 6]),
        };
        assert!(PhoneRequest::parse(&ok.to_bytes()).is_ok());
        let mut r = ok.clone();
        r.device_id = "xyz".into();
        assert_eq!(
            PhoneRequest::parse(&r.to_bytes()).unwrap_err().code(),
            "device_id.format"
        );
        let mut r = ok.clone();
        r.sign_public_key = r.auth_public_key.clone();
        assert_eq!(
            PhoneRequest::parse(&r.to_bytes()).unwrap_err().code(),
            "sign_public_key.same_key"
        );
        assert_eq!(
            PhoneRequest::parse(b"{}").unwrap_err().code(),
            "request.format"
        );
    }
}
