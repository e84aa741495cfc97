//! Fuzzes the insurers' CSV uploads: enrollment records and the medical records of each kind,
//! read and then validated row by row as the server does.
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run insurer_csv
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use openmyna_eligibility::MedicalKind;
use openmyna_eligibility::medical::{MedicalInput, columns};
use openmyna_eligibility::record::{CSV_COLUMNS, EnrollmentInput, read_csv};

fuzz_target!(|data: &[u8]| {
    let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default();
    if let Ok(rows) = read_csv::<EnrollmentInput>(data, CSV_COLUMNS) {
        for (_, row) in rows {
            if let Ok(r) = row {
                let _ = r.validate(today);
            }
        }
    }
    for kind in [
        MedicalKind::Medication,
        MedicalKind::Treatment,
        MedicalKind::Checkup,
        MedicalKind::Expense,
    ] {
        if let Ok(rows) = read_csv::<MedicalInput>(data, &columns(kind)) {
            for (_, row) in rows {
                if let Ok(r) = row {
                    let _ = r.validate(kind, today);
                }
            }
        }
    }
});
