//! Which record answers for a date of service, and the result code (QualificationValidity).
//! Only records that passed the 5-item check are ever given to these functions.

use chrono::NaiveDate;

use crate::codes::Validity;
use crate::record::Enrollment;

/// The verdict for a person (a card): the result code and the indexes of the records it
/// reports.
///
/// - one record valid on the date: `Valid` with it;
/// - several: `Multiple` with all of them;
/// - none valid, but one starting after the date: `InvalidNewerExists` with the newest;
/// - none valid, records only in the past: `Invalid` with the most recent;
/// - no record at all: `NoRecord`.
pub fn for_person<R: AsRef<Enrollment>>(records: &[R], date: NaiveDate) -> (Validity, Vec<usize>) {
    let valid: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.as_ref().valid_on(date))
        .map(|(i, _)| i)
        .collect();
    match valid.len() {
        1 => return (Validity::Valid, valid),
        n if n > 1 => return (Validity::Multiple, valid),
        _ => {}
    }
    let newest = records
        .iter()
        .map(AsRef::as_ref)
        .enumerate()
        .max_by_key(|(_, r)| r.qualification_date);
    match newest {
        None => (Validity::NoRecord, Vec::new()),
        Some((i, r)) if r.qualification_date > date => (Validity::InvalidNewerExists, vec![i]),
        Some((i, _)) => (Validity::Invalid, vec![i]),
    }
}

/// The verdict for one record asked for by 記号・番号 (a 資格確認書 or an old card), given all
/// the person's records and which one was asked for.
///
/// - the record is valid on the date: `Valid`;
/// - it is not, and the person has another record valid on the date or newer than it:
///   `InvalidNewerExists` (the newer record is not shown: the patient should present it);
/// - otherwise `Invalid`.
pub fn for_record<R: AsRef<Enrollment>>(records: &[R], asked: usize, date: NaiveDate) -> Validity {
    let Some(r) = records.get(asked).map(AsRef::as_ref) else {
        return Validity::NoRecord;
    };
    if r.valid_on(date) {
        return Validity::Valid;
    }
    let newer = records.iter().map(AsRef::as_ref).enumerate().any(|(i, o)| {
        i != asked && (o.valid_on(date) || o.qualification_date > r.qualification_date)
    });
    if newer {
        Validity::InvalidNewerExists
    } else {
        Validity::Invalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::LossReason;
    use crate::record::Loss;
    use crate::record::tests::input;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn rec(from: &str, loss: Option<&str>) -> Enrollment {
        let (_, mut e) = input().validate(day("2026-11-21")).unwrap();
        e.qualification_date = day(from);
        e.loss = loss.map(|d| Loss {
            date: day(d),
            reason: LossReason::OtherInsurance,
        });
        e
    }

    #[test]
    fn person_verdicts() {
        assert_eq!(
            for_person::<Enrollment>(&[], day("2026-01-01")).0,
            Validity::NoRecord
        );
        let old = rec("2010-04-01", Some("2020-04-01"));
        let new = rec("2020-04-01", None);
        let both = [old.clone(), new.clone()];
        assert_eq!(
            for_person(&both, day("2026-01-01")),
            (Validity::Valid, vec![1])
        );
        // The loss date is the first day without the qualification.
        assert_eq!(
            for_person(&both, day("2020-03-31")),
            (Validity::Valid, vec![0])
        );
        assert_eq!(
            for_person(std::slice::from_ref(&old), day("2026-01-01")),
            (Validity::Invalid, vec![0])
        );
        let future = rec("2027-01-01", None);
        assert_eq!(
            for_person(&[old.clone(), future], day("2026-01-01")),
            (Validity::InvalidNewerExists, vec![1])
        );
        let overlap = [new.clone(), rec("2025-01-01", None)];
        assert_eq!(
            for_person(&overlap, day("2026-01-01")),
            (Validity::Multiple, vec![0, 1])
        );
    }

    #[test]
    fn record_verdicts() {
        let old = rec("2010-04-01", Some("2020-04-01"));
        let new = rec("2020-04-01", None);
        let both = [old.clone(), new];
        assert_eq!(for_record(&both, 1, day("2026-01-01")), Validity::Valid);
        assert_eq!(
            for_record(&both, 0, day("2026-01-01")),
            Validity::InvalidNewerExists
        );
        assert_eq!(for_record(&[old], 0, day("2026-01-01")), Validity::Invalid);
        assert_eq!(
            for_record::<Enrollment>(&[], 0, day("2026-01-01")),
            Validity::NoRecord
        );
    }
}
