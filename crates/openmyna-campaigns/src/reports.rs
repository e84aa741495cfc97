//! Employees' answers: whether they hold the card and whether they registered it for use as
//! their health-insurance card (健康保険証利用登録). An employee answers for themselves; HR may
//! import the same answers by CSV.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::CampaignError;

/// One answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Answer {
    pub holds_card: bool,
    pub insurance_registered: bool,
}

impl Answer {
    /// Registration for insurance use needs a card.
    pub fn check(self) -> Result<Answer, CampaignError> {
        if self.insurance_registered && !self.holds_card {
            return Err(CampaignError::invalid(
                "insurance_registered.without_card",
                "insurance_registered",
                "registration for insurance use needs the card: holds_card must be true",
            ));
        }
        Ok(self)
    }
}

/// The columns of HR's CSV import (a header row first; `as_of` optional, default today).
pub const CSV_COLUMNS: &[&str] = &["employee_no", "holds_card", "insurance_registered", "as_of"];

/// One row of the CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvAnswer {
    pub employee_no: String,
    pub answer: Answer,
    pub as_of: Option<NaiveDate>,
}

fn yes_no(field: &str, s: &str) -> Result<bool, CampaignError> {
    match s.trim() {
        "1" | "true" | "yes" | "y" | "はい" | "有" | "済" => Ok(true),
        "0" | "false" | "no" | "n" | "いいえ" | "無" | "未" => Ok(false),
        other => Err(CampaignError::invalid(
            format!("{field}.value"),
            field,
            format!("{field} must be 1/0, true/false, yes/no or はい/いいえ, got {other:?}"),
        )),
    }
}

/// Reads HR's CSV: each data row (numbered from 2, the header being row 1) parsed or its
/// error; a bad header fails the whole file.
pub type CsvRows = Vec<(usize, Result<CsvAnswer, CampaignError>)>;

pub fn read_csv(data: &[u8], today: NaiveDate) -> Result<CsvRows, CampaignError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(data);
    let headers = r
        .headers()
        .map_err(|e| CampaignError::invalid("csv.header", "csv", format!("header row: {e}")))?
        .clone();
    let mut index = [None; 4];
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim();
        match CSV_COLUMNS
            .iter()
            .zip(index.iter_mut())
            .find(|(c, _)| **c == h)
        {
            Some((_, slot)) => *slot = Some(i),
            None => {
                return Err(CampaignError::invalid(
                    "csv.column",
                    "csv",
                    format!(
                        "unknown column {h:?}; the columns are {}",
                        CSV_COLUMNS.join(", ")
                    ),
                ));
            }
        }
    }
    for (name, slot) in CSV_COLUMNS.iter().zip(&index).take(3) {
        if slot.is_none() {
            return Err(CampaignError::invalid(
                "csv.column",
                "csv",
                format!("the column {name:?} is missing"),
            ));
        }
    }
    let mut out = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let row = n + 2;
        let parsed = rec
            .map_err(|e| CampaignError::invalid("csv.row", "csv", format!("row {row}: {e}")))
            .and_then(|rec| {
                let [employee_no, holds_card, insurance_registered, as_of] = index;
                let get = |column: Option<usize>| column.and_then(|i| rec.get(i)).unwrap_or("");
                let employee_no = crate::org::check_employee_no(get(employee_no))?;
                let answer = Answer {
                    holds_card: yes_no("holds_card", get(holds_card))?,
                    insurance_registered: yes_no(
                        "insurance_registered",
                        get(insurance_registered),
                    )?,
                }
                .check()?;
                let as_of = match get(as_of).trim() {
                    "" => None,
                    s => {
                        let d = crate::parse_date("as_of", s)?;
                        if d > today {
                            return Err(CampaignError::invalid(
                                "as_of.future",
                                "as_of",
                                "as_of must not be in the future",
                            ));
                        }
                        Some(d)
                    }
                };
                Ok(CsvAnswer {
                    employee_no,
                    answer,
                    as_of,
                })
            });
        out.push((row, parsed));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    #[test]
    fn registration_needs_a_card() {
        let bad = Answer {
            holds_card: false,
            insurance_registered: true,
        };
        assert_eq!(
            bad.check().unwrap_err().code(),
            "insurance_registered.without_card"
        );
    }

    #[test]
    fn csv_rows_each_answer() {
        let csv = "employee_no,holds_card,insurance_registered,as_of\n\
                   E1,1,1,2026-05-01\nE2,はい,いいえ,\nE3,maybe,0,\nE4,0,1,\nE5,1,0,2027-01-01\n";
        let rows = read_csv(csv.as_bytes(), today()).unwrap();
        assert_eq!(rows.len(), 5);
        let ok = rows[0].1.as_ref().unwrap();
        assert!(ok.answer.holds_card && ok.answer.insurance_registered);
        assert_eq!(ok.as_of, NaiveDate::from_ymd_opt(2026, 5, 1));
        assert!(rows[1].1.as_ref().unwrap().as_of.is_none());
        assert_eq!(rows[2].0, 4);
        assert_eq!(rows[2].1.as_ref().unwrap_err().code(), "holds_card.value");
        assert_eq!(
            rows[3].1.as_ref().unwrap_err().code(),
            "insurance_registered.without_card"
        );
        assert_eq!(rows[4].1.as_ref().unwrap_err().code(), "as_of.future");
    }

    #[test]
    fn csv_header_is_checked() {
        assert_eq!(
            read_csv(b"employee_no,colour\n", today())
                .unwrap_err()
                .code(),
            "csv.column"
        );
        assert_eq!(
            read_csv(b"employee_no,holds_card\n", today())
                .unwrap_err()
                .code(),
            "csv.column"
        );
    }
}
