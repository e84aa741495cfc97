//! Vocabulary shared by every openmyna domain crate: the injected clock and source of
//! randomness, organisations' roles and the acting party, dates and ages, and Japanese text
//! normalisation. No I/O, no HTTP, no storage.

pub mod clock;
pub mod entropy;
pub mod era;
pub mod kana;
pub mod refusal;
pub mod role;

/// Escapes text for XML (and HTML) content and attribute values; control characters other
/// than tab are dropped (XML 1.0 does not allow them).
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

pub use clock::{Clock, ManualClock, SystemClock, Timestamp, display_rfc3339, display_time, jst};
pub use entropy::{Entropy, OsEntropy, SeededEntropy};
pub use refusal::{IntoRefusal, Refusal, RefusalKind};
pub use role::{Actor, Organisation, Role, RoleParseError};

/// Age in completed years on `on` for someone born on `birth` (Japanese law counts a birthday
/// as reached at the end of the previous day, which only matters for 29 February births; we
/// use the calendar birthday, as the certificate and card rules do).
pub fn age_on(birth: chrono::NaiveDate, on: chrono::NaiveDate) -> u32 {
    use chrono::Datelike;
    if on < birth {
        return 0;
    }
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn ages() {
        assert_eq!(age_on(d(2000, 4, 2), d(2015, 4, 1)), 14);
        assert_eq!(age_on(d(2000, 4, 2), d(2015, 4, 2)), 15);
        assert_eq!(age_on(d(2000, 2, 29), d(2001, 2, 28)), 0);
        assert_eq!(age_on(d(2000, 2, 29), d(2001, 3, 1)), 1);
        assert_eq!(age_on(d(2020, 1, 1), d(2019, 1, 1)), 0);
    }
}
