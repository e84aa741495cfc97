//! Fuzzes the insurers' JSON uploads: enrollment and medical records as the API takes them
//! (`{"records": [...]}`), each validated.
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run insurer_json
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use openmyna_eligibility::MedicalKind;
use openmyna_eligibility::medical::MedicalInput;
use openmyna_eligibility::record::EnrollmentInput;

#[derive(serde::Deserialize)]
struct Upload<T> {
    records: Vec<T>,
}

fuzz_target!(|data: &[u8]| {
    let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default();
    if let Ok(u) = serde_json::from_slice::<Upload<EnrollmentInput>>(data) {
        for r in &u.records {
            let _ = r.validate(today);
        }
    }
    if let Ok(u) = serde_json::from_slice::<Upload<MedicalInput>>(data) {
        for r in &u.records {
            for kind in [
                MedicalKind::Medication,
                MedicalKind::Treatment,
                MedicalKind::Checkup,
                MedicalKind::Expense,
            ] {
                let _ = r.validate(kind, today);
            }
        }
    }
});
