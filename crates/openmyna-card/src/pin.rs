//! PIN rules of the My Number Card and the try counter of each PIN.
//!
//! - 利用者証明用電子証明書 (authentication) PIN: 4 digits, 3 tries.
//! - 署名用電子証明書 (signing) password: 6–16 characters of A–Z and 0–9 containing both a
//!   letter and a digit, 5 tries. Clients send it upper-cased.
//! - 券面事項入力補助用 PIN and 住民基本台帳用 PIN: 4 digits, 3 tries.
//! - 照合番号A (the 12-digit My Number) and 照合番号B (birth date YYMMDD with the year of the
//!   Japanese era, expiry year YYYY, 4-digit security code: 14 digits) that open the
//!   入力補助AP and the 券面AP, and the 券面AP's birth-date key (the first six digits of
//!   照合番号B): 10 tries (the Digital Agency's figure for the 14-digit number; assumed for
//!   the others).
//! - EF 0012 of the 入力補助AP: a key reference that real cards ship locked; it has no value
//!   and answers as a locked PIN.
//!
//! A correct value resets the counter; a counter at zero is locked until the municipality
//! resets it.

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

/// The PINs on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinId {
    /// JPKI AP EF 0018.
    Auth,
    /// JPKI AP EF 001B.
    Sign,
    /// 入力補助AP EF 0011.
    Assist,
    /// 入力補助AP EF 0014 (照合番号A).
    AssistA,
    /// 入力補助AP EF 0015 (照合番号B).
    AssistB,
    /// 券面AP EF 0013 (照合番号A).
    FaceA,
    /// 券面AP EF 0012 (照合番号B).
    FaceB,
    /// 券面AP EF 0011: the birth date (era YYMMDD) that opens EF 0001.
    FaceBirth,
    /// 入力補助AP EF 0012: locked from issuance on real cards; never has a value.
    AssistSpare,
    /// 住基AP EF 001C (住民基本台帳用).
    Juki,
}

impl PinId {
    pub const ALL: [PinId; 10] = [
        PinId::Auth,
        PinId::Sign,
        PinId::Assist,
        PinId::AssistA,
        PinId::AssistB,
        PinId::FaceA,
        PinId::FaceB,
        PinId::FaceBirth,
        PinId::AssistSpare,
        PinId::Juki,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PinId::Auth => "auth",
            PinId::Sign => "sign",
            PinId::Assist => "assist",
            PinId::AssistA => "assist_a",
            PinId::AssistB => "assist_b",
            PinId::FaceA => "face_a",
            PinId::FaceB => "face_b",
            PinId::FaceBirth => "face_birth",
            PinId::AssistSpare => "assist_spare",
            PinId::Juki => "juki",
        }
    }

    pub fn parse(s: &str) -> Option<PinId> {
        PinId::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            PinId::Auth => "利用者証明用電子証明書 PIN (authentication, 4 digits)",
            PinId::Sign => "署名用電子証明書 password (signing, 6-16 A-Z/0-9)",
            PinId::Assist => "券面事項入力補助用 PIN (4 digits)",
            PinId::AssistA => "入力補助AP 照合番号A (My Number)",
            PinId::AssistB => "入力補助AP 照合番号B",
            PinId::FaceA => "券面AP 照合番号A (My Number)",
            PinId::FaceB => "券面AP 照合番号B",
            PinId::FaceBirth => "券面AP 生年月日 (birth date YYMMDD in the era)",
            PinId::AssistSpare => "入力補助AP EF 0012 (locked at issuance)",
            PinId::Juki => "住民基本台帳用 PIN (4 digits)",
        }
    }

    /// How many consecutive wrong values lock it.
    pub fn max_tries(self) -> u8 {
        match self {
            PinId::Auth | PinId::Assist | PinId::Juki => 3,
            PinId::Sign => 5,
            PinId::AssistA | PinId::AssistB | PinId::FaceA | PinId::FaceB | PinId::FaceBirth => 10,
            PinId::AssistSpare => 0,
        }
    }

    /// Whether a resident chooses it (the 照合番号 follow from the card's data).
    pub fn chosen(self) -> bool {
        matches!(
            self,
            PinId::Auth | PinId::Sign | PinId::Assist | PinId::Juki
        )
    }

    /// Checks a value against the rules of this PIN.
    pub fn check(self, value: &[u8]) -> Result<(), PinRuleError> {
        let digits = |n: usize| {
            if value.len() != n {
                return Err(PinRuleError::Length {
                    pin: self,
                    expected: match n {
                        4 => "exactly 4",
                        6 => "exactly 6",
                        12 => "exactly 12",
                        _ => "exactly 14",
                    },
                    got: value.len(),
                });
            }
            if !value.iter().all(u8::is_ascii_digit) {
                return Err(PinRuleError::DigitsOnly { pin: self });
            }
            Ok(())
        };
        match self {
            PinId::Auth | PinId::Assist | PinId::Juki => digits(4),
            PinId::AssistA | PinId::FaceA => digits(12),
            PinId::AssistB | PinId::FaceB => digits(14),
            PinId::FaceBirth => digits(6),
            PinId::AssistSpare => Err(PinRuleError::NoValue),
            PinId::Sign => {
                if !(6..=16).contains(&value.len()) {
                    return Err(PinRuleError::Length {
                        pin: self,
                        expected: "6 to 16",
                        got: value.len(),
                    });
                }
                if !value
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    return Err(PinRuleError::SignAlphabet);
                }
                if !value.iter().any(u8::is_ascii_uppercase)
                    || !value.iter().any(u8::is_ascii_digit)
                {
                    return Err(PinRuleError::SignMix);
                }
                Ok(())
            }
        }
    }
}

/// Why a value is not acceptable as a PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinRuleError {
    #[error("the {} must have {expected} characters, not {got}", pin.label())]
    Length {
        pin: PinId,
        expected: &'static str,
        got: usize,
    },
    #[error("the {} may contain only the digits 0-9", pin.label())]
    DigitsOnly { pin: PinId },
    #[error("the signing password may contain only the letters A-Z and the digits 0-9")]
    SignAlphabet,
    #[error("the signing password must contain at least one letter and at least one digit")]
    SignMix,
    #[error("EF 0012 of the 入力補助AP has no value: real cards ship it locked")]
    NoValue,
}

/// One PIN's stored state: a salted hash of the value and the try counter. `Debug` shows the
/// counter only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinState {
    #[serde(with = "crate::state::hex32")]
    pub hash: [u8; 32],
    pub tries_left: u8,
}

impl std::fmt::Debug for PinState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PinState({} tries left)", self.tries_left)
    }
}

/// The result of presenting a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Ok,
    Wrong { tries_left: u8 },
    Blocked,
}

impl PinState {
    pub fn new(id: PinId, salt: &[u8], value: &[u8]) -> Self {
        PinState {
            hash: pin_hash(id, salt, value),
            tries_left: id.max_tries(),
        }
    }

    pub fn blocked(&self) -> bool {
        self.tries_left == 0
    }

    /// Presents a value: a correct one resets the counter, a wrong one takes a try.
    pub fn present(&mut self, id: PinId, salt: &[u8], value: &[u8]) -> Verified {
        if self.blocked() {
            return Verified::Blocked;
        }
        let h = pin_hash(id, salt, value);
        if constant_time_eq(&h, &self.hash) {
            self.tries_left = id.max_tries();
            Verified::Ok
        } else {
            self.tries_left -= 1;
            Verified::Wrong {
                tries_left: self.tries_left,
            }
        }
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn pin_hash(id: PinId, salt: &[u8], value: &[u8]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"openmyna-card-pin\0");
    ctx.update(id.as_str().as_bytes());
    ctx.update(&[0]);
    ctx.update(salt);
    ctx.update(value);
    let d = ctx.finish();
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(PinId::Auth.check(b"1234").is_ok());
        assert!(matches!(
            PinId::Auth.check(b"123"),
            Err(PinRuleError::Length { got: 3, .. })
        ));
        assert_eq!(
            PinId::Auth.check(b"12a4"),
            Err(PinRuleError::DigitsOnly { pin: PinId::Auth })
        );
        assert!(PinId::Sign.check(b"ABC123").is_ok());
        assert!(PinId::Sign.check(b"ABCDEFGHIJ123456").is_ok());
        assert!(matches!(
            PinId::Sign.check(b"AB123"),
            Err(PinRuleError::Length { .. })
        ));
        assert!(matches!(
            PinId::Sign.check(b"ABCDEFGHIJ1234567"),
            Err(PinRuleError::Length { .. })
        ));
        assert_eq!(
            PinId::Sign.check(b"abc123"),
            Err(PinRuleError::SignAlphabet)
        );
        assert_eq!(PinId::Sign.check(b"ABCDEF"), Err(PinRuleError::SignMix));
        assert_eq!(PinId::Sign.check(b"123456"), Err(PinRuleError::SignMix));
        assert!(PinId::AssistB.check(b"90010120304567").is_ok());
    }

    #[test]
    fn counter_resets_on_success_and_locks_at_zero() {
        let salt = [7u8; 16];
        let mut p = PinState::new(PinId::Auth, &salt, b"1234");
        assert_eq!(
            p.present(PinId::Auth, &salt, b"0000"),
            Verified::Wrong { tries_left: 2 }
        );
        assert_eq!(p.present(PinId::Auth, &salt, b"1234"), Verified::Ok);
        assert_eq!(p.tries_left, 3);
        for left in [2, 1, 0] {
            assert_eq!(
                p.present(PinId::Auth, &salt, b"9999"),
                Verified::Wrong { tries_left: left }
            );
        }
        assert_eq!(p.present(PinId::Auth, &salt, b"1234"), Verified::Blocked);
        assert!(p.blocked());
    }

    #[test]
    fn the_hash_depends_on_pin_and_salt() {
        let a = PinState::new(PinId::Auth, &[1; 16], b"1234");
        let b = PinState::new(PinId::Assist, &[1; 16], b"1234");
        let c = PinState::new(PinId::Auth, &[2; 16], b"1234");
        assert_ne!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
    }
}
