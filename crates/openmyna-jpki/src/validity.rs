//! How long a card certificate is valid: until the holder's fifth birthday after issuance,
//! capped by the card's expiry (and, for the signing certificate, by the authentication
//! certificate, which has the same rule). No signing certificate under 15.

use chrono::{Datelike, NaiveDate};
use openmyna_core::Timestamp;

use crate::profile::end_of_day;

/// The holder's birthday in `year` (29 February is 28 February in common years).
pub fn birthday_in(birth: NaiveDate, year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, birth.month(), 28))
        .unwrap_or(birth)
}

/// The fifth birthday strictly after `issued_on`.
pub fn fifth_birthday_after(birth: NaiveDate, issued_on: NaiveDate) -> NaiveDate {
    let this_year = birthday_in(birth, issued_on.year());
    let first_year = if this_year > issued_on {
        issued_on.year()
    } else {
        issued_on.year() + 1
    };
    birthday_in(birth, first_year + 4)
}

/// The certificate's notAfter: the end of the fifth birthday after issuance, or the end of
/// the card's last valid day if that is earlier.
pub fn card_certificate_not_after(
    birth: NaiveDate,
    issued_at: &Timestamp,
    card_expiry: NaiveDate,
) -> Timestamp {
    let by_birthday = fifth_birthday_after(birth, issued_at.date_naive());
    end_of_day(by_birthday.min(card_expiry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn fifth_birthday() {
        // Issued before this year's birthday: that birthday is the first.
        assert_eq!(
            fifth_birthday_after(d("1990-05-01"), d("2026-04-01")),
            d("2030-05-01")
        );
        // Issued after (or on) this year's birthday: next year's is the first.
        assert_eq!(
            fifth_birthday_after(d("1990-05-01"), d("2026-05-01")),
            d("2031-05-01")
        );
        assert_eq!(
            fifth_birthday_after(d("1990-03-01"), d("2026-04-01")),
            d("2031-03-01")
        );
        assert_eq!(
            fifth_birthday_after(d("2000-02-29"), d("2026-04-01")),
            d("2031-02-28")
        );
    }

    #[test]
    fn capped_by_card_expiry() {
        let t = DateTime::parse_from_rfc3339("2026-04-01T10:00:00+09:00").unwrap();
        let na = card_certificate_not_after(d("1990-05-01"), &t, d("2036-05-01"));
        assert_eq!(na.to_rfc3339(), "2030-05-01T23:59:59+09:00");
        let na = card_certificate_not_after(d("1990-05-01"), &t, d("2028-01-31"));
        assert_eq!(na.to_rfc3339(), "2028-01-31T23:59:59+09:00");
    }
}
