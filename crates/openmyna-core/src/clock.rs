//! Time is injected: every rule that depends on "now" (certificate validity, PIN lockout,
//! consent windows, challenge expiry) takes a [`Clock`], so tests move time instead of sleeping.

use std::sync::Mutex;

use chrono::{DateTime, Duration, FixedOffset, Utc};

/// A point in time with its offset. The system's local zone is Asia/Tokyo (+09:00, no DST).
pub type Timestamp = DateTime<FixedOffset>;

/// The Asia/Tokyo offset.
pub fn jst() -> FixedOffset {
    // 9 hours is always a valid offset; `east_opt` only fails beyond ±24 h.
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| Utc.fix())
}

use chrono::Offset;

/// A time as people read it, in Japan time to the minute: `2026年12月3日 17:05`.
pub fn display_time(t: &Timestamp) -> String {
    t.with_timezone(&jst())
        .format("%Y年%-m月%-d日 %H:%M")
        .to_string()
}

/// [`display_time`] of an RFC 3339 text (as the wire types carry times); the text itself
/// when it is not one.
pub fn display_rfc3339(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s).map_or_else(|_| s.to_owned(), |t| display_time(&t))
}

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    fn today(&self) -> chrono::NaiveDate {
        self.now().date_naive()
    }
}

/// The real clock, in Japan time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one reading of the wall clock; everything else is given a `Clock`.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        Utc::now().with_timezone(&jst())
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        ManualClock(Mutex::new(at))
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let t0 = DateTime::parse_from_rfc3339("2026-04-01T09:00:00+09:00").unwrap();
        let c = ManualClock::new(t0);
        assert_eq!(c.now(), t0);
        c.advance(Duration::minutes(2));
        assert_eq!(c.now().to_rfc3339(), "2026-04-01T09:02:00+09:00");
        assert_eq!(SystemClock.now().offset().local_minus_utc(), 9 * 3600);
    }
}
