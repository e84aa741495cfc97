//! Portal sessions: opened by a card login, ended by logout, by 30 minutes without a request,
//! or 8 hours after the login, whichever comes first.

use chrono::Duration;
use openmyna_core::Timestamp;

/// A session ends after this long without a request.
pub const IDLE_MINUTES: i64 = 30;
/// And at the latest this long after the login.
pub const MAX_HOURS: i64 = 8;
/// `last_seen` is written at most this often (a request within it changes nothing stored).
pub const TOUCH_SECONDS: i64 = 60;

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub resident_id: i64,
    /// The authentication certificate that opened it (hex serial).
    pub auth_serial: String,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// Why a session no longer opens the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    LoggedOut,
    Idle,
    TooOld,
}

impl Session {
    /// Whether the session is usable at `now`.
    pub fn check(&self, now: Timestamp) -> Result<(), Ended> {
        if self.ended_at.is_some() {
            return Err(Ended::LoggedOut);
        }
        if now - self.last_seen >= Duration::minutes(IDLE_MINUTES) {
            return Err(Ended::Idle);
        }
        if now - self.created_at >= Duration::hours(MAX_HOURS) {
            return Err(Ended::TooOld);
        }
        Ok(())
    }

    /// Whether a request at `now` should write `last_seen`.
    pub fn needs_touch(&self, now: Timestamp) -> bool {
        now - self.last_seen >= Duration::seconds(TOUCH_SECONDS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_absolute_lifetimes() {
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-04-01T09:00:00+09:00").unwrap();
        let mut s = Session {
            resident_id: 1,
            auth_serial: "01".into(),
            created_at: t0,
            last_seen: t0,
            ended_at: None,
        };
        assert_eq!(s.check(t0 + Duration::minutes(29)), Ok(()));
        assert_eq!(s.check(t0 + Duration::minutes(30)), Err(Ended::Idle));
        s.last_seen = t0 + Duration::hours(7) + Duration::minutes(50);
        assert_eq!(
            s.check(t0 + Duration::hours(7) + Duration::minutes(55)),
            Ok(())
        );
        assert_eq!(s.check(t0 + Duration::hours(8)), Err(Ended::TooOld));
        assert!(!s.needs_touch(s.last_seen + Duration::seconds(59)));
        assert!(s.needs_touch(s.last_seen + Duration::seconds(60)));
        s.ended_at = Some(t0);
        assert_eq!(s.check(t0), Err(Ended::LoggedOut));
    }
}
