//! Logging a browser in by pairing, as マイナポータル pairs a computer with the phone that reads
//! the card: the browser's login page shows a one-time code (and a QR code of it); someone
//! logged in with the card elsewhere — `openmyna portal login --code`, or a phone browser's
//! portal session — approves that code; the browser, which alone holds the pairing's secret
//! (a cookie), then gets its own session. A code lives [`TTL_SECONDS`] and logs in one browser
//! once.
//!
//! Only the approver's own card session can approve, so guessing a code logs a stranger's
//! browser into *your* portal, never the reverse. The approver is shown the browser's
//! description (its User-Agent) and when it asked, so that a code sent by someone else
//! (phishing) can be recognised; docs/portal.md says never to approve a code you did not
//! ask for yourself.

use chrono::Duration;
use openmyna_core::Timestamp;

use crate::PortalError;

/// A pairing code is valid this long after the page showed it.
pub const TTL_SECONDS: i64 = 300;

/// The code's characters: digits and capitals without the look-alikes 0/O, 1/I.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters in a code (40 bits).
const LEN: usize = 8;

/// A pairing code, `ABCD-EFGH` as shown (case, spaces and the hyphen do not matter on input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingCode(String);

impl PairingCode {
    /// A code from 5 random bytes (40 bits, one character per 5 bits).
    pub fn from_random(bytes: [u8; 5]) -> PairingCode {
        let bits = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let code = (0..LEN)
            .map(|i| {
                let v = (bits >> (5 * (LEN - 1 - i))) & 31;
                ALPHABET.get(v as usize).map_or('2', |b| char::from(*b))
            })
            .collect();
        PairingCode(code)
    }

    pub fn parse(input: &str) -> Result<PairingCode, PortalError> {
        let code: String = input
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '　'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if code.chars().count() != LEN {
            return Err(PortalError::invalid(
                "pairing.code_length",
                "code",
                format!(
                    "a login code has {LEN} characters (such as ABCD-EFGH); got {}",
                    code.chars().count()
                ),
            ));
        }
        if let Some(bad) = code
            .chars()
            .find(|c| !c.is_ascii() || !ALPHABET.contains(&(*c as u8)))
        {
            return Err(PortalError::invalid(
                "pairing.code_characters",
                "code",
                format!(
                    "{bad:?} is not in a login code (digits 2-9 and capital letters without I and O)"
                ),
            ));
        }
        Ok(PairingCode(code))
    }

    /// As stored and compared: the 8 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As shown: `ABCD-EFGH`.
    pub fn display(&self) -> String {
        let (a, b) = self.0.split_at(self.0.len().min(4));
        format!("{a}-{b}")
    }
}

/// A pairing as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    /// The browser's description (User-Agent), shown to the approver.
    pub browser: String,
    pub created_at: Timestamp,
    /// Who approved it: the resident and the authentication certificate of their session.
    pub approved_by: Option<(i64, String)>,
    pub redeemed_at: Option<Timestamp>,
}

/// Where a pairing stands at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingState {
    /// Shown, waiting for the card holder's approval.
    Waiting { expires_at: Timestamp },
    /// Approved and not yet taken by the browser: the browser logs in as this resident.
    Approved {
        resident_id: i64,
        auth_serial: String,
    },
    /// The browser has logged in with it.
    Used,
    /// Not approved in time.
    Expired,
}

impl Pairing {
    pub fn expires_at(&self) -> Timestamp {
        self.created_at + Duration::seconds(TTL_SECONDS)
    }

    /// The state at `now`. An approved pairing stays takeable until it expires too.
    pub fn state(&self, now: Timestamp) -> PairingState {
        if self.redeemed_at.is_some() {
            return PairingState::Used;
        }
        if now >= self.expires_at() {
            return PairingState::Expired;
        }
        match &self.approved_by {
            Some((resident_id, auth_serial)) => PairingState::Approved {
                resident_id: *resident_id,
                auth_serial: auth_serial.clone(),
            },
            None => PairingState::Waiting {
                expires_at: self.expires_at(),
            },
        }
    }
}

/// A User-Agent shortened for storing and showing (at most 200 characters, no control
/// characters).
pub fn browser_description(user_agent: Option<&str>) -> String {
    let ua: String = user_agent
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if ua.trim().is_empty() {
        "（ブラウザの名前なし / unnamed browser）".to_owned()
    } else {
        ua
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn codes_round_trip_and_forgive_case_spaces_and_hyphens() {
        let c = PairingCode::from_random([0xff, 0, 0x12, 0x34, 0x56]);
        assert_eq!(c.as_str().len(), 8);
        assert!(c.as_str().bytes().all(|b| ALPHABET.contains(&b)));
        let shown = c.display();
        assert_eq!(shown.len(), 9);
        assert_eq!(PairingCode::parse(&shown).unwrap(), c);
        assert_eq!(
            PairingCode::parse(&format!(" {} ", shown.to_lowercase())).unwrap(),
            c
        );
        // Every 5 bits is one character: different bytes, different codes.
        assert_ne!(
            PairingCode::from_random([0; 5]),
            PairingCode::from_random([0, 0, 0, 0, 1])
        );
        assert_eq!(PairingCode::from_random([0; 5]).as_str(), "22222222");
        assert_eq!(PairingCode::from_random([0xff; 5]).as_str(), "ZZZZZZZZ");
    }

    #[test]
    fn bad_codes_say_what_is_wrong() {
        assert_eq!(
            PairingCode::parse("ABC-DEF").unwrap_err().code(),
            "pairing.code_length"
        );
        let e = PairingCode::parse("ABCD-EFG0").unwrap_err();
        assert_eq!(e.code(), "pairing.code_characters");
        assert!(e.to_string().contains("'0'"), "{e}");
        assert_eq!(
            PairingCode::parse("ＡＢＣＤ-ＥＦＧＨ").unwrap_err().code(),
            "pairing.code_characters"
        );
        // A character whose low byte is a letter of the alphabet is still refused.
        assert_eq!(
            PairingCode::parse("ABCD-EFGŁ").unwrap_err().code(),
            "pairing.code_characters"
        );
    }

    #[test]
    fn a_pairing_waits_is_approved_is_used_once_and_expires() {
        let created = t("2026-12-03T10:00:00+09:00");
        let mut p = Pairing {
            browser: "Chromium".into(),
            created_at: created,
            approved_by: None,
            redeemed_at: None,
        };
        let soon = t("2026-12-03T10:04:59+09:00");
        assert_eq!(
            p.state(soon),
            PairingState::Waiting {
                expires_at: t("2026-12-03T10:05:00+09:00")
            }
        );
        assert_eq!(
            p.state(t("2026-12-03T10:05:00+09:00")),
            PairingState::Expired
        );
        p.approved_by = Some((7, "0a".into()));
        assert_eq!(
            p.state(soon),
            PairingState::Approved {
                resident_id: 7,
                auth_serial: "0a".into()
            }
        );
        assert_eq!(
            p.state(t("2026-12-03T10:06:00+09:00")),
            PairingState::Expired
        );
        p.redeemed_at = Some(soon);
        assert_eq!(p.state(soon), PairingState::Used);
        assert_eq!(p.state(t("2026-12-03T11:00:00+09:00")), PairingState::Used);
    }

    #[test]
    fn browser_descriptions_are_short_and_printable() {
        assert_eq!(
            browser_description(Some("Mozilla/5.0\r\nX")),
            "Mozilla/5.0X"
        );
        assert_eq!(browser_description(Some(&"a".repeat(500))).len(), 200);
        assert!(browser_description(None).contains("unnamed"));
    }
}
