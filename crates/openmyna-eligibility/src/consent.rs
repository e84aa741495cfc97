//! The reader's consent screens: what a patient is offered and how long a choice opens access.

use chrono::{Duration, NaiveDate};
use openmyna_core::{Timestamp, age_on};

use crate::codes::ConsentCategory;

/// A consent opens access for 24 hours.
pub const CONSENT_HOURS: i64 = 24;

/// Check-up results are offered from 40: 特定健診 (メタボ健診) from 40 to 74 and 高齢者健診
/// from 75, as the 2024 leaflet says (「メタボ健診（40～74歳）や高齢者健診（75歳以上）の結果を
/// 提供します」).
pub const CHECKUP_FROM_AGE: u32 = 40;

/// The choices offered to a patient born on `birth` on `date`: 診療・薬剤, 特定健診等 (from 40:
/// 特定健診 to 74, 高齢者健診 from 75), 手術, 限度額.
pub fn offered(birth: NaiveDate, date: NaiveDate) -> Vec<ConsentCategory> {
    let age = age_on(birth, date);
    ConsentCategory::ALL
        .iter()
        .copied()
        .filter(|c| *c != ConsentCategory::Checkup || age >= CHECKUP_FROM_AGE)
        .collect()
}

/// When a consent given at `at` stops opening access.
pub fn expires_at(at: Timestamp) -> Timestamp {
    at + Duration::hours(CONSENT_HOURS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn checkups_are_offered_from_40_including_the_elderly() {
        let today = d(2026, 11, 21);
        assert!(!offered(d(1986, 11, 22), today).contains(&ConsentCategory::Checkup));
        assert!(offered(d(1986, 11, 21), today).contains(&ConsentCategory::Checkup));
        assert!(offered(d(1951, 11, 22), today).contains(&ConsentCategory::Checkup));
        // 75 and over: 高齢者健診 (the 2024 leaflet), not only 特定健診 to 74.
        assert!(offered(d(1951, 11, 21), today).contains(&ConsentCategory::Checkup));
        assert!(offered(d(1930, 1, 1), today).contains(&ConsentCategory::Checkup));
        assert_eq!(offered(d(2000, 1, 1), today).len(), 3);
    }
}
