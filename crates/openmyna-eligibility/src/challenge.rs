//! The reader's challenges: 32 random bytes the card signs with its authentication key after
//! the PIN (or a face match). Each is bound to the terminal that asked for it, lives two
//! minutes and is taken once.
//!
//! Challenges are kept in memory: they are not an acknowledgement to anyone, and a restart
//! simply makes terminals ask again. Used identifiers are remembered until they would have
//! expired, so a replay is told apart from an unknown challenge.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Duration;
use openmyna_core::{Entropy, Timestamp};

use crate::EligibilityError;

/// A challenge lives this long.
pub const CHALLENGE_SECONDS: i64 = 120;
/// Outstanding challenges per terminal; more is a misbehaving terminal.
pub const MAX_PER_HOLDER: usize = 64;
/// Outstanding challenges in all.
pub const MAX_TOTAL: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Hex, 32 characters.
    pub id: String,
    /// What the card signs.
    pub nonce: [u8; 32],
    /// The terminal (or portal/ATM back end) it was issued to.
    pub holder: i64,
    pub expires_at: Timestamp,
}

#[derive(Default)]
struct Book {
    open: HashMap<String, Challenge>,
    per_holder: HashMap<i64, usize>,
    used: HashMap<String, Timestamp>,
    /// Expired entries of `used` are dropped when it reaches this size (then twice what is
    /// left), so it holds about two minutes of traffic.
    used_prune_at: usize,
}

impl Book {
    fn prune(&mut self, now: Timestamp) {
        let expired: Vec<String> = self
            .open
            .iter()
            .filter(|(_, c)| c.expires_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.remove(&id);
        }
        self.used.retain(|_, until| *until > now);
    }

    fn remove(&mut self, id: &str) -> Option<Challenge> {
        let c = self.open.remove(id)?;
        if let Some(n) = self.per_holder.get_mut(&c.holder) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_holder.remove(&c.holder);
            }
        }
        Some(c)
    }
}

/// The outstanding challenges of this server.
#[derive(Default)]
pub struct ChallengeBook {
    book: Mutex<Book>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl ChallengeBook {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters (every operation is a few inserts and removes), so poisoning is ignored.
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn issue(
        &self,
        holder: i64,
        now: Timestamp,
        entropy: &dyn Entropy,
    ) -> Result<Challenge, EligibilityError> {
        let mut id = [0u8; 16];
        entropy.fill(&mut id);
        let mut nonce = [0u8; 32];
        entropy.fill(&mut nonce);
        let c = Challenge {
            id: hex(&id),
            nonce,
            holder,
            expires_at: now + Duration::seconds(CHALLENGE_SECONDS),
        };
        let mut b = self.lock();
        // Terminals (positive holders) are limited each; the public holders (the portal's
        // login) only by the total.
        let limited = holder >= 0;
        if (limited && b.per_holder.get(&holder).copied().unwrap_or(0) >= MAX_PER_HOLDER)
            || b.open.len() >= MAX_TOTAL
        {
            b.prune(now);
        }
        if limited && b.per_holder.get(&holder).copied().unwrap_or(0) >= MAX_PER_HOLDER {
            return Err(EligibilityError::refused(
                "challenge.too_many",
                format!(
                    "this terminal has {MAX_PER_HOLDER} unused challenges; use or let them expire"
                ),
            ));
        }
        if b.open.len() >= MAX_TOTAL {
            return Err(EligibilityError::refused(
                "challenge.busy",
                "too many outstanding challenges; try again shortly",
            ));
        }
        *b.per_holder.entry(holder).or_insert(0) += 1;
        b.open.insert(c.id.clone(), c.clone());
        Ok(c)
    }

    /// Takes a challenge for `holder`: it is gone afterwards, whatever the outcome of the
    /// verification that follows.
    pub fn take(
        &self,
        id: &str,
        holder: i64,
        now: Timestamp,
    ) -> Result<Challenge, EligibilityError> {
        let mut b = self.lock();
        if b.used.contains_key(id) {
            return Err(EligibilityError::refused(
                "challenge.used",
                "this challenge has been used already; ask for a new one",
            ));
        }
        let Some(c) = b.open.get(id) else {
            return Err(EligibilityError::refused(
                "challenge.unknown",
                "no such challenge (never issued, or issued before a restart)",
            ));
        };
        if c.holder != holder {
            return Err(EligibilityError::refused(
                "challenge.holder",
                "this challenge was issued to another terminal",
            ));
        }
        let c = b
            .remove(id)
            .ok_or_else(|| EligibilityError::refused("challenge.unknown", "no such challenge"))?;
        b.used.insert(c.id.clone(), c.expires_at);
        if b.used.len() >= b.used_prune_at.max(1024) {
            b.used.retain(|_, until| *until > now);
            b.used_prune_at = (b.used.len() * 2).max(1024);
        }
        if c.expires_at <= now {
            return Err(EligibilityError::refused(
                "challenge.expired",
                format!("the challenge expired; challenges live {CHALLENGE_SECONDS} seconds"),
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openmyna_core::{Clock, ManualClock, SeededEntropy};

    #[test]
    fn single_use_expiry_and_holder() {
        let clock = ManualClock::new(
            chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00+09:00").unwrap(),
        );
        let e = SeededEntropy::new(1);
        let book = ChallengeBook::new();
        let c = book.issue(7, clock.now(), &e).unwrap();
        assert_eq!(
            book.take(&c.id, 8, clock.now()).unwrap_err().code(),
            "challenge.holder"
        );
        assert_eq!(book.take(&c.id, 7, clock.now()).unwrap(), c);
        assert_eq!(
            book.take(&c.id, 7, clock.now()).unwrap_err().code(),
            "challenge.used"
        );
        let late = book.issue(7, clock.now(), &e).unwrap();
        clock.advance(Duration::seconds(CHALLENGE_SECONDS));
        assert_eq!(
            book.take(&late.id, 7, clock.now()).unwrap_err().code(),
            "challenge.expired"
        );
        assert_eq!(
            book.take("00", 7, clock.now()).unwrap_err().code(),
            "challenge.unknown"
        );
    }

    #[test]
    fn a_terminal_cannot_hoard_challenges() {
        let clock = ManualClock::new(
            chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00+09:00").unwrap(),
        );
        let e = SeededEntropy::new(2);
        let book = ChallengeBook::new();
        for _ in 0..MAX_PER_HOLDER {
            book.issue(1, clock.now(), &e).unwrap();
        }
        assert_eq!(
            book.issue(1, clock.now(), &e).unwrap_err().code(),
            "challenge.too_many"
        );
        assert!(book.issue(2, clock.now(), &e).is_ok());
        clock.advance(Duration::seconds(CHALLENGE_SECONDS + 1));
        assert!(book.issue(1, clock.now(), &e).is_ok());
    }
}
