//! Japanese eras (元号) for dates since 明治: what the card's 照合番号B, the signing
//! certificate's birth date and printed forms say instead of a Gregorian year.
//!
//! An era starts on the day of the accession (改元), not on 1 January: 1989-01-07 is 昭和64,
//! 1989-01-08 is 平成1 (元年). 明治 is counted from 1868-01-25 (明治元年 as recalculated to
//! the Gregorian calendar); dates before it have no era here.

use chrono::{Datelike, NaiveDate};

/// The eras in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Era {
    Meiji,
    Taisho,
    Showa,
    Heisei,
    Reiwa,
}

/// (era, first day as (year, month, day)), newest first.
const STARTS: [(Era, (i32, u32, u32)); 5] = [
    (Era::Reiwa, (2019, 5, 1)),
    (Era::Heisei, (1989, 1, 8)),
    (Era::Showa, (1926, 12, 25)),
    (Era::Taisho, (1912, 7, 30)),
    (Era::Meiji, (1868, 1, 25)),
];

impl Era {
    /// The era's number in JIS X 0301 and in the certificate's birth date (1 明治 … 5 令和).
    pub fn code(self) -> u8 {
        match self {
            Era::Meiji => 1,
            Era::Taisho => 2,
            Era::Showa => 3,
            Era::Heisei => 4,
            Era::Reiwa => 5,
        }
    }

    pub fn kanji(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    /// The first Gregorian year of the era (its 元年).
    fn first_year(self) -> i32 {
        STARTS
            .iter()
            .find(|(e, _)| *e == self)
            .map_or(0, |(_, (y, _, _))| *y)
    }
}

/// A date in the Japanese calendar: the era, the year within it (1 = 元年), month and day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EraDate {
    pub era: Era,
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

impl EraDate {
    /// The era date of a Gregorian one; `None` before 明治.
    pub fn of(date: NaiveDate) -> Option<EraDate> {
        let key = (date.year(), date.month(), date.day());
        let (era, _) = STARTS.iter().find(|(_, start)| key >= *start)?;
        let year = u32::try_from(date.year() - era.first_year() + 1).ok()?;
        Some(EraDate {
            era: *era,
            year,
            month: date.month(),
            day: date.day(),
        })
    }

    /// `YYMMDD` with the year of the era (the birth-date part of 照合番号B):
    /// 1980-02-17 → `550217`.
    pub fn yymmdd(&self) -> String {
        format!("{:02}{:02}{:02}", self.year % 100, self.month, self.day)
    }

    /// As printed: `昭和55年2月17日`, `平成元年1月8日`.
    pub fn japanese(&self) -> String {
        let year = if self.year == 1 {
            "元".to_owned()
        } else {
            self.year.to_string()
        };
        format!("{}{year}年{}月{}日", self.era.kanji(), self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(y: i32, m: u32, d: u32) -> Option<EraDate> {
        EraDate::of(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn eras_change_on_the_day_of_accession() {
        let e = |y, m, d| on(y, m, d).map(|x| (x.era, x.year));
        assert_eq!(e(1980, 2, 17), Some((Era::Showa, 55)));
        assert_eq!(e(1989, 1, 7), Some((Era::Showa, 64)));
        assert_eq!(e(1989, 1, 8), Some((Era::Heisei, 1)));
        assert_eq!(e(2019, 4, 30), Some((Era::Heisei, 31)));
        assert_eq!(e(2019, 5, 1), Some((Era::Reiwa, 1)));
        assert_eq!(e(1926, 12, 24), Some((Era::Taisho, 15)));
        assert_eq!(e(1926, 12, 25), Some((Era::Showa, 1)));
        assert_eq!(e(1912, 7, 29), Some((Era::Meiji, 45)));
        assert_eq!(e(1912, 7, 30), Some((Era::Taisho, 1)));
        assert_eq!(e(1868, 1, 24), None);
    }

    #[test]
    fn yymmdd_and_printed_form() {
        assert_eq!(on(1980, 2, 17).unwrap().yymmdd(), "550217");
        assert_eq!(on(2001, 12, 3).unwrap().yymmdd(), "131203");
        assert_eq!(on(2019, 5, 1).unwrap().yymmdd(), "010501");
        assert_eq!(on(1989, 1, 8).unwrap().japanese(), "平成元年1月8日");
        assert_eq!(on(1980, 2, 17).unwrap().japanese(), "昭和55年2月17日");
    }
}
