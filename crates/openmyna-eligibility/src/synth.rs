//! Synthetic enrollment and medical records for the demo population and the benchmarks:
//! realistic in shape (co-payment by age, 高齢受給者 at 70–74, 後期高齢者 from 75, dependants,
//! limit-amount categories, monthly prescriptions, yearly check-ups from 40 to 74), and
//! consistent with the registry (the 5 items match).

use chrono::{Datelike, Months, NaiveDate};
use openmyna_core::age_on;
use openmyna_ids::{BranchNumber, InsuredNumber, InsuredSymbol, InsurerNumber};
use rand::{Rng, RngExt};

use crate::codes::{
    CardClass, DiseaseCode, LimitCategory, LimitKind, Relationship, TreatmentSetting,
};
use crate::medical::{Checkup, MedicalData, Medication, Treatment};
use crate::record::{
    ElderlyRecipient, Enrollment, FiveItems, InsuredKey, LimitAmount, SpecificDisease,
};

/// The insurers records are generated for: a 協会けんぽ branch (under 75) and a 後期高齢者
/// 広域連合 (75 and over).
#[derive(Debug, Clone)]
pub struct SynthInsurers {
    pub general: (InsurerNumber, String),
    pub late_elderly: (InsurerNumber, String),
}

const DRUGS: &[(&str, &str, &str)] = &[
    ("2149039F1020", "アムロジピン錠5mg", "1日1回朝食後"),
    (
        "3961007F1029",
        "メトホルミン塩酸塩錠250mg",
        "1日2回朝夕食後",
    ),
    ("2189016F1026", "ロスバスタチン錠2.5mg", "1日1回夕食後"),
    ("2325003F1020", "ファモチジン錠20mg", "1日2回朝夕食後"),
    ("1149019F1030", "ロキソプロフェンナトリウム錠60mg", "疼痛時"),
    (
        "4490023F1025",
        "フェキソフェナジン塩酸塩錠60mg",
        "1日2回朝夕食後",
    ),
    (
        "6132005C1034",
        "セフカペンピボキシル塩酸塩錠100mg",
        "1日3回毎食後",
    ),
    ("2144011F1023", "カンデサルタン錠8mg", "1日1回朝食後"),
];

const PROCEDURES: &[(&str, &str, bool, TreatmentSetting)] = &[
    ("111000110", "初診料", false, TreatmentSetting::Outpatient),
    ("112007410", "再診料", false, TreatmentSetting::Outpatient),
    (
        "160000310",
        "末梢血液一般検査",
        false,
        TreatmentSetting::Outpatient,
    ),
    (
        "170000410",
        "単純撮影（胸部）",
        false,
        TreatmentSetting::Outpatient,
    ),
    (
        "150254010",
        "腹腔鏡下胆嚢摘出術",
        true,
        TreatmentSetting::Inpatient,
    ),
    ("150000110", "虫垂切除術", true, TreatmentSetting::Inpatient),
    ("114001110", "往診料", false, TreatmentSetting::HomeVisit),
];

const FACILITIES: &[&str] = &[
    "openmyna 内科クリニック",
    "霞が関中央病院",
    "ひだまり薬局",
    "さくら調剤薬局",
    "みなと整形外科",
];

fn first_of_month_after(d: NaiveDate) -> NaiveDate {
    let m = d.checked_add_months(Months::new(1)).unwrap_or(d);
    NaiveDate::from_ymd_opt(m.year(), m.month(), 1).unwrap_or(m)
}

/// One person's enrollment record with the given 記号 and sequence number, and `today`.
pub fn enrollment(
    rng: &mut (impl Rng + ?Sized),
    insurers: &SynthInsurers,
    person: FiveItems,
    symbol: &str,
    sequence: u64,
    today: NaiveDate,
) -> Option<Enrollment> {
    let age = age_on(person.birth_date, today);
    let late = age >= 75;
    let (insurer, insurer_name) = if late {
        insurers.late_elderly.clone()
    } else {
        insurers.general.clone()
    };
    let dependant = age < 20 || (age < 75 && rng.random_range(0..100) < 15);
    let key = InsuredKey {
        insurer_number: insurer,
        symbol: InsuredSymbol::parse(symbol).ok()?,
        number: InsuredNumber::parse(&sequence.to_string()).ok()?,
        branch: BranchNumber::new(if dependant { 1 } else { 0 }).ok()?,
    };
    let qualified_years_ago = rng.random_range(0..=(age.min(30)));
    let mut qualification_date = today
        .checked_sub_months(Months::new(
            12 * qualified_years_ago + rng.random_range(0..12),
        ))
        .unwrap_or(today)
        .max(person.birth_date);
    if late {
        // 後期高齢者医療 starts on the 75th birthday.
        qualification_date = person
            .birth_date
            .checked_add_months(Months::new(12 * 75))
            .unwrap_or(qualification_date);
    }
    let co_payment_percent = match age {
        0..=5 => 20,
        6..=69 => 30,
        70..=74 => {
            if rng.random_range(0..100) < 10 {
                30
            } else {
                20
            }
        }
        _ => {
            let r = rng.random_range(0..100);
            if r < 7 {
                30
            } else if r < 27 {
                20
            } else {
                10
            }
        }
    };
    let elderly = (70..75).contains(&age).then(|| {
        let from = first_of_month_after(
            person
                .birth_date
                .checked_add_months(Months::new(12 * 70))
                .unwrap_or(today),
        );
        ElderlyRecipient {
            issued_on: from,
            valid_from: from,
            valid_until: NaiveDate::from_ymd_opt(today.year() + 1, 7, 31).unwrap_or(today),
            ratio_percent: co_payment_percent,
        }
    });
    let limit = (rng.random_range(0..100) < 8)
        .then(|| {
            let categories: &[LimitCategory] = if late {
                &[
                    LimitCategory::B01,
                    LimitCategory::B04,
                    LimitCategory::B05,
                    LimitCategory::B06,
                    LimitCategory::B09,
                    LimitCategory::B10,
                ]
            } else if age >= 70 {
                &[LimitCategory::B02, LimitCategory::B04, LimitCategory::B05]
            } else {
                &[
                    LimitCategory::A01,
                    LimitCategory::A02,
                    LimitCategory::A03,
                    LimitCategory::A04,
                    LimitCategory::A05,
                ]
            };
            // The index drawn is below the length, so there always is a category.
            let category = *categories.get(rng.random_range(0..categories.len()))?;
            let from = NaiveDate::from_ymd_opt(
                if today.month() >= 8 {
                    today.year()
                } else {
                    today.year() - 1
                },
                8,
                1,
            )
            .unwrap_or(today);
            Some(LimitAmount {
                kind: LimitKind::Limit,
                category,
                valid_from: from,
                valid_until: from
                    .checked_add_months(Months::new(12))
                    .map(|d| d.pred_opt().unwrap_or(d)),
                long_stay_from: None,
            })
        })
        .flatten();
    let specific_diseases = if age >= 30 && rng.random_range(0..1000) < 3 {
        vec![SpecificDisease {
            code: DiseaseCode::Dialysis,
            valid_from: today.checked_sub_months(Months::new(24)).unwrap_or(today),
            valid_until: None,
            monthly_cap_yen: 10_000,
        }]
    } else {
        Vec::new()
    };
    Some(Enrollment {
        key,
        insurer_name,
        card_class: CardClass::General,
        relationship: if dependant {
            Relationship::Dependent
        } else {
            Relationship::Insured
        },
        insured_name: None,
        person,
        postal_code: None,
        qualification_date,
        loss: None,
        co_payment_percent,
        elderly,
        limit,
        specific_diseases,
    })
}

/// Medical history for a person: a regular prescription for some, occasional visits, and
/// yearly check-ups from 40 to 74, over the last `years` years before `today`.
pub fn history(
    rng: &mut (impl Rng + ?Sized),
    birth: NaiveDate,
    today: NaiveDate,
    years: u32,
) -> Vec<MedicalData> {
    let mut out = Vec::new();
    let age = age_on(birth, today);
    // `rng(n)` is below `n`, so the fallback is never used.
    let facility = |rng: &mut dyn FnMut(usize) -> usize| {
        FACILITIES
            .get(rng(FACILITIES.len()))
            .copied()
            .unwrap_or_default()
            .to_owned()
    };
    let mut pick = |n: usize| rng.random_range(0..n);
    // A chronic prescription every 4 weeks for about a third of adults over 40.
    if age >= 40
        && pick(3) == 0
        && let Some(&(code, name, dosage)) = DRUGS.get(pick(DRUGS.len()))
    {
        let pharmacy = facility(&mut pick);
        let mut d = today
            .checked_sub_months(Months::new(12 * years))
            .unwrap_or(today);
        while d < today {
            out.push(MedicalData::Medication(Medication {
                dispensed_on: d,
                facility_name: pharmacy.clone(),
                drug_code: code.into(),
                drug_name: name.into(),
                quantity: 1.0,
                unit: "錠".into(),
                days: 28,
                dosage: Some(dosage.into()),
            }));
            d += chrono::Duration::days(28);
        }
    }
    // A few visits.
    for _ in 0..pick(4) {
        let Some(&(code, name, surgery, setting)) = PROCEDURES.get(pick(PROCEDURES.len())) else {
            continue;
        };
        let d = today - chrono::Duration::days(pick((365 * years) as usize) as i64 + 1);
        if d < birth {
            continue;
        }
        out.push(MedicalData::Treatment(Treatment {
            treated_on: d,
            facility_name: facility(&mut pick),
            setting,
            procedure_code: code.into(),
            procedure_name: name.into(),
            surgery,
            diagnosis: None,
        }));
    }
    // 医療費通知: what the medication and treatment above cost, per month and institution
    // (3割 paid at the window).
    let mut months: std::collections::BTreeMap<(NaiveDate, String, &str), (u16, u32)> =
        Default::default();
    for d in &out {
        let (month, facility, kind, cost) = match d {
            MedicalData::Medication(m) => (m.dispensed_on, &m.facility_name, "pharmacy", 1_840),
            MedicalData::Treatment(t) => (
                t.treated_on,
                &t.facility_name,
                "medical",
                if t.surgery { 312_000 } else { 4_210 },
            ),
            _ => continue,
        };
        let first = month.with_day(1).unwrap_or(month);
        let e = months.entry((first, facility.clone(), kind)).or_default();
        e.0 += 1;
        e.1 += cost;
    }
    for ((month, facility_name, kind), (days, total)) in months {
        out.push(MedicalData::Expense(crate::medical::Expense {
            month,
            facility_name,
            facility_kind: kind.to_owned(),
            days: days.min(31),
            total_cost_yen: total,
            paid_yen: total / 10 * 3,
        }));
    }
    // Yearly check-ups.
    if (40..=74).contains(&age) {
        let height = 150.0 + pick(35) as f64;
        let mut weight = 45.0 + pick(40) as f64;
        for y in 0..years.min(5) {
            let d = today
                .checked_sub_months(Months::new(12 * y + 2))
                .unwrap_or(today);
            if age_on(birth, d) < 40 {
                break;
            }
            weight += (pick(5) as f64 - 2.0) * 0.5;
            let m = height / 100.0;
            let systolic = 105 + pick(45) as u16;
            out.push(MedicalData::Checkup(Checkup {
                examined_on: d,
                facility_name: facility(&mut pick),
                height_cm: height,
                weight_kg: weight,
                bmi: (weight / (m * m) * 10.0).round() / 10.0,
                waist_cm: Some(65.0 + pick(35) as f64),
                systolic_bp: systolic,
                diastolic_bp: systolic - 35 - pick(10) as u16,
                hba1c: Some(4.8 + pick(20) as f64 / 10.0),
                ldl_mg_dl: Some(80 + pick(100) as u16),
                hdl_mg_dl: Some(35 + pick(50) as u16),
                triglycerides_mg_dl: Some(50 + pick(200) as u16),
                ast: Some(12 + pick(30) as u16),
                alt: Some(8 + pick(40) as u16),
                gamma_gt: Some(10 + pick(80) as u16),
                urine_glucose: Some("-".into()),
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use openmyna_registry::Sex;
    use rand::SeedableRng;

    #[test]
    fn synthetic_records_pass_their_own_rules() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let insurers = SynthInsurers {
            general: (
                InsurerNumber::parse("01130012").unwrap(),
                "協会けんぽ".into(),
            ),
            late_elderly: (InsurerNumber::parse("39130018").unwrap(), "後期".into()),
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let mut checkups = 0;
        for i in 0..500u64 {
            let birth =
                NaiveDate::from_ymd_opt(1930 + (i % 95) as i32, 1 + (i % 12) as u32, 10).unwrap();
            let person = FiveItems {
                name: "山田\u{3000}太郎".into(),
                name_kana: "ヤマダ\u{3000}タロウ".into(),
                birth_date: birth,
                sex: Sex::Male,
                address: "東京都千代田区".into(),
            };
            let e = enrollment(&mut rng, &insurers, person, "131016", i + 1, today).unwrap();
            assert!(e.valid_on(today), "{e:?}");
            let age = age_on(birth, today);
            assert_eq!(e.key.insurer_number.law_code() == Some("39"), age >= 75);
            if let Some(l) = &e.limit {
                assert!(!(l.category.late_elderly_only() && age < 75));
            }
            for h in history(&mut rng, birth, today, 5) {
                assert!(h.date() <= today);
                if let MedicalData::Checkup(c) = &h {
                    checkups += 1;
                    assert!(c.diastolic_bp < c.systolic_bp);
                }
            }
        }
        assert!(checkups > 0);
    }
}
