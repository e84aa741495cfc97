//! The reader's and the portal's challenges: 32 bytes the card signs with its authentication
//! key after the PIN (or a face match). Each is bound to the terminal (or portal) that asked
//! for it, lives two minutes and is taken once.
//!
//! A challenge carries its own proof: its identifier is `random ‖ holder ‖ expiry ‖ tag`, the
//! tag an HMAC-SHA-256 under the installation's challenge key (derived from the master key,
//! the same on every server), and the bytes the card signs are derived from it under the same
//! key. So any server of the installation can check a challenge another server issued,
//! without storing it; issuing costs no storage at all. That a challenge is used only once is
//! kept in this server's memory ([`ChallengeBook::take_here`], until the challenge would have
//! expired) and, for the other servers on a PostgreSQL database, in the database
//! ([`crate::EligibilityStore::use_challenge`]), so a replay is refused on every server.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::hmac;
use chrono::{DateTime, Duration};
use openmyna_core::{Entropy, Timestamp};

use crate::EligibilityError;

/// A challenge lives this long.
pub const CHALLENGE_SECONDS: i64 = 120;

/// Bytes of an identifier: random, holder, expiry (Unix seconds), tag.
const RANDOM: usize = 16;
const TAG: usize = 16;
const ID_BYTES: usize = RANDOM + 8 + 8 + TAG;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Hex, 96 characters.
    pub id: String,
    /// What the card signs.
    pub nonce: [u8; 32],
    /// The terminal (or portal/ATM back end) it was issued to.
    pub holder: i64,
    pub expires_at: Timestamp,
}

/// Issues and checks the challenges of an installation.
pub struct ChallengeBook {
    key: hmac::Key,
    /// The challenges taken on this server, until they expire.
    used: Mutex<HashMap<String, Timestamp>>,
}

impl std::fmt::Debug for ChallengeBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChallengeBook(<key>)")
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

impl ChallengeBook {
    /// A book keyed by the installation's challenge key.
    pub fn new(key: &[u8; 32]) -> Self {
        ChallengeBook {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            used: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, label: &[u8], body: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(label);
        ctx.update(body);
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// A new challenge for `holder`.
    pub fn issue(
        &self,
        holder: i64,
        now: Timestamp,
        entropy: &dyn Entropy,
    ) -> Result<Challenge, EligibilityError> {
        let mut random = [0u8; RANDOM];
        entropy.fill(&mut random);
        let expires_at = now + Duration::seconds(CHALLENGE_SECONDS);
        let mut body = Vec::with_capacity(ID_BYTES);
        body.extend_from_slice(&random);
        body.extend_from_slice(&holder.to_be_bytes());
        body.extend_from_slice(&expires_at.timestamp().to_be_bytes());
        let tag = self.mac(b"openmyna challenge id\0", &body);
        let nonce = self.mac(b"openmyna challenge nonce\0", &body);
        body.extend_from_slice(tag.get(..TAG).unwrap_or_default());
        Ok(Challenge {
            id: hex(&body),
            nonce,
            holder,
            // Whole seconds, as the identifier carries it.
            expires_at: DateTime::from_timestamp(expires_at.timestamp(), 0)
                .map_or(expires_at, |t| t.with_timezone(expires_at.offset())),
        })
    }

    /// Checks a challenge presented by `holder` at `now`: one of ours, issued to this
    /// holder, not expired. Whether it was used already is for the store to say.
    pub fn open(
        &self,
        id: &str,
        holder: i64,
        now: Timestamp,
    ) -> Result<Challenge, EligibilityError> {
        let unknown = || {
            EligibilityError::refused(
                "challenge.unknown",
                "no such challenge (never issued by this installation)",
            )
        };
        let bytes = unhex(id)
            .filter(|b| b.len() == ID_BYTES)
            .ok_or_else(unknown)?;
        let (body, tag) = bytes.split_at(ID_BYTES - TAG);
        let expected = self.mac(b"openmyna challenge id\0", body);
        // Constant time: the tag is a secret of ours until it matches.
        let diff = expected
            .iter()
            .zip(tag)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(unknown());
        }
        let field = |at: usize| -> Option<i64> {
            let b: [u8; 8] = body.get(at..at + 8)?.try_into().ok()?;
            Some(i64::from_be_bytes(b))
        };
        let issued_to = field(RANDOM).ok_or_else(unknown)?;
        let expires = field(RANDOM + 8).ok_or_else(unknown)?;
        if issued_to != holder {
            return Err(EligibilityError::refused(
                "challenge.holder",
                "this challenge was issued to another terminal",
            ));
        }
        let expires_at = DateTime::from_timestamp(expires, 0)
            .ok_or_else(unknown)?
            .with_timezone(now.offset());
        if expires_at <= now {
            return Err(EligibilityError::refused(
                "challenge.expired",
                format!("the challenge expired; challenges live {CHALLENGE_SECONDS} seconds"),
            ));
        }
        Ok(Challenge {
            id: id.to_owned(),
            nonce: self.mac(b"openmyna challenge nonce\0", body),
            holder,
            expires_at,
        })
    }
}

impl ChallengeBook {
    /// Takes an opened challenge on this server: false if it was taken here before.
    pub fn take_here(&self, c: &Challenge, now: Timestamp) -> bool {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters (one insert, one retain), so poisoning is ignored.
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if used.len() >= 4096 && used.len().is_power_of_two() {
            used.retain(|_, until| *until > now);
        }
        used.insert(c.id.clone(), c.expires_at).is_none()
    }
}

/// The refusal for a challenge presented a second time.
pub fn used() -> EligibilityError {
    EligibilityError::refused(
        "challenge.used",
        "this challenge has been used already; ask for a new one",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use openmyna_core::{Clock, ManualClock, SeededEntropy};

    fn clock() -> ManualClock {
        ManualClock::new(chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00+09:00").unwrap())
    }

    #[test]
    fn a_challenge_opens_on_any_server_of_the_installation_only() {
        let clock = clock();
        let e = SeededEntropy::new(1);
        let a = ChallengeBook::new(&[7; 32]);
        let b = ChallengeBook::new(&[7; 32]);
        let other = ChallengeBook::new(&[8; 32]);
        let c = a.issue(7, clock.now(), &e).unwrap();
        assert_eq!(c.id.len(), 96);
        assert_eq!(b.open(&c.id, 7, clock.now()).unwrap(), c, "another server");
        assert_eq!(
            other.open(&c.id, 7, clock.now()).unwrap_err().code(),
            "challenge.unknown"
        );
        assert_eq!(
            b.open(&c.id, 8, clock.now()).unwrap_err().code(),
            "challenge.holder"
        );
        // A changed bit anywhere is an unknown challenge.
        let mut forged = c.id.clone().into_bytes();
        forged[40] = if forged[40] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            a.open(&forged, 7, clock.now()).unwrap_err().code(),
            "challenge.unknown"
        );
        assert_eq!(
            a.open("00", 7, clock.now()).unwrap_err().code(),
            "challenge.unknown"
        );
        assert_eq!(
            a.open("zz", 7, clock.now()).unwrap_err().code(),
            "challenge.unknown"
        );
        let opened = a.open(&c.id, 7, clock.now()).unwrap();
        assert!(a.take_here(&opened, clock.now()));
        assert!(!a.take_here(&opened, clock.now()), "taken once on a server");
        clock.advance(Duration::seconds(CHALLENGE_SECONDS));
        assert_eq!(
            a.open(&c.id, 7, clock.now()).unwrap_err().code(),
            "challenge.expired"
        );
        // Two challenges differ in their bytes.
        let d = a.issue(7, clock.now(), &e).unwrap();
        assert_ne!(c.nonce, d.nonce);
    }
}
