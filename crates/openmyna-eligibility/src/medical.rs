//! Medical records payers load from claims and check-ups: medication (薬剤情報), treatment
//! (診療情報, with surgery flagged) and specific health check-ups (特定健診情報), and how far
//! back a facility sees each.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::EligibilityError;
use crate::codes::{MedicalKind, TreatmentSetting};
use crate::record::{InsuredKey, parse_date};

/// How many years back a facility sees each kind: medication and treatment 3 years, check-ups
/// 5 years.
pub fn years_shown(kind: MedicalKind) -> u32 {
    match kind {
        MedicalKind::Medication | MedicalKind::Treatment => 3,
        MedicalKind::Checkup | MedicalKind::Expense => 5,
    }
}

/// The first date shown on `today`.
pub fn shown_since(kind: MedicalKind, today: NaiveDate) -> NaiveDate {
    today
        .checked_sub_months(Months::new(12 * years_shown(kind)))
        .unwrap_or(NaiveDate::MIN)
}

/// 薬剤情報: one dispensed drug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Medication {
    pub dispensed_on: NaiveDate,
    pub facility_name: String,
    /// YJ code (12 characters).
    pub drug_code: String,
    pub drug_name: String,
    pub quantity: f64,
    pub unit: String,
    /// 調剤日数 / 投与日数.
    pub days: u16,
    pub dosage: Option<String>,
}

/// 診療情報: one procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Treatment {
    pub treated_on: NaiveDate,
    pub facility_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub setting: TreatmentSetting,
    /// 診療行為コード (9 digits).
    pub procedure_code: String,
    pub procedure_name: String,
    /// 手術: shown only with the surgery consent.
    pub surgery: bool,
    pub diagnosis: Option<String>,
}

/// 特定健診情報: the items of a specific health check-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkup {
    pub examined_on: NaiveDate,
    pub facility_name: String,
    pub height_cm: f64,
    pub weight_kg: f64,
    /// Computed from height and weight, one decimal.
    pub bmi: f64,
    pub waist_cm: Option<f64>,
    pub systolic_bp: u16,
    pub diastolic_bp: u16,
    /// HbA1c (NGSP, %).
    pub hba1c: Option<f64>,
    pub ldl_mg_dl: Option<u16>,
    pub hdl_mg_dl: Option<u16>,
    pub triglycerides_mg_dl: Option<u16>,
    pub ast: Option<u16>,
    pub alt: Option<u16>,
    pub gamma_gt: Option<u16>,
    /// 尿糖: -, ±, +, 2+, 3+.
    pub urine_glucose: Option<String>,
}

/// 医療費通知情報: one institution's charges in one month (the items a 医療費通知 must carry:
/// the patient, the month, the institution, the amount paid; the insured and the insurer
/// come from the enrollment record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Expense {
    /// The first day of the month of treatment.
    pub month: NaiveDate,
    pub facility_name: String,
    /// medical (医科), dental (歯科), pharmacy (調剤) or home_nursing (訪問看護).
    pub facility_kind: String,
    /// 診療実日数.
    pub days: u16,
    /// 医療費の総額 in yen.
    pub total_cost_yen: u32,
    /// 窓口負担相当額: what the patient paid, in yen.
    pub paid_yen: u32,
}

/// One record with its date and kind, as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MedicalData {
    Medication(Medication),
    Treatment(Treatment),
    Checkup(Checkup),
    Expense(Expense),
}

impl MedicalData {
    pub fn kind(&self) -> MedicalKind {
        match self {
            MedicalData::Medication(_) => MedicalKind::Medication,
            MedicalData::Treatment(_) => MedicalKind::Treatment,
            MedicalData::Checkup(_) => MedicalKind::Checkup,
            MedicalData::Expense(_) => MedicalKind::Expense,
        }
    }

    pub fn date(&self) -> NaiveDate {
        match self {
            MedicalData::Medication(m) => m.dispensed_on,
            MedicalData::Treatment(t) => t.treated_on,
            MedicalData::Checkup(c) => c.examined_on,
            MedicalData::Expense(e) => e.month,
        }
    }

    pub fn is_surgery(&self) -> bool {
        matches!(self, MedicalData::Treatment(t) if t.surgery)
    }
}

/// A record as loaded (JSON or one CSV row): the insured key and the items of one kind. The
/// columns of each kind are listed in [`columns`].
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MedicalInput {
    pub insurer_number: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    /// The date of dispensing, treatment or examination.
    pub date: String,
    pub facility_name: String,
    // medication
    #[serde(default)]
    pub drug_code: Option<String>,
    #[serde(default)]
    pub drug_name: Option<String>,
    #[serde(default)]
    pub quantity: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub days: Option<String>,
    #[serde(default)]
    pub dosage: Option<String>,
    // treatment
    #[serde(default)]
    pub setting: Option<String>,
    #[serde(default)]
    pub procedure_code: Option<String>,
    #[serde(default)]
    pub procedure_name: Option<String>,
    #[serde(default)]
    pub surgery: Option<String>,
    #[serde(default)]
    pub diagnosis: Option<String>,
    // check-up
    #[serde(default)]
    pub height_cm: Option<String>,
    #[serde(default)]
    pub weight_kg: Option<String>,
    #[serde(default)]
    pub waist_cm: Option<String>,
    #[serde(default)]
    pub systolic_bp: Option<String>,
    #[serde(default)]
    pub diastolic_bp: Option<String>,
    #[serde(default)]
    pub hba1c: Option<String>,
    #[serde(default)]
    pub ldl_mg_dl: Option<String>,
    #[serde(default)]
    pub hdl_mg_dl: Option<String>,
    #[serde(default)]
    pub triglycerides_mg_dl: Option<String>,
    #[serde(default)]
    pub ast: Option<String>,
    #[serde(default)]
    pub alt: Option<String>,
    #[serde(default)]
    pub gamma_gt: Option<String>,
    #[serde(default)]
    pub urine_glucose: Option<String>,
    // expense
    #[serde(default)]
    pub facility_kind: Option<String>,
    #[serde(default)]
    pub total_cost_yen: Option<String>,
    #[serde(default)]
    pub paid_yen: Option<String>,
}

const KEY_COLUMNS: &[&str] = &[
    "insurer_number",
    "symbol",
    "number",
    "branch",
    "date",
    "facility_name",
];

/// The CSV columns of a kind (the key columns first).
pub fn columns(kind: MedicalKind) -> Vec<&'static str> {
    let own: &[&str] = match kind {
        MedicalKind::Medication => &[
            "drug_code",
            "drug_name",
            "quantity",
            "unit",
            "days",
            "dosage",
        ],
        MedicalKind::Treatment => &[
            "setting",
            "procedure_code",
            "procedure_name",
            "surgery",
            "diagnosis",
        ],
        MedicalKind::Checkup => &[
            "height_cm",
            "weight_kg",
            "waist_cm",
            "systolic_bp",
            "diastolic_bp",
            "hba1c",
            "ldl_mg_dl",
            "hdl_mg_dl",
            "triglycerides_mg_dl",
            "ast",
            "alt",
            "gamma_gt",
            "urine_glucose",
        ],
        MedicalKind::Expense => &["facility_kind", "days", "total_cost_yen", "paid_yen"],
    };
    KEY_COLUMNS.iter().chain(own).copied().collect()
}

fn err(field: &str, rule: &str, message: impl Into<String>) -> EligibilityError {
    EligibilityError::invalid(format!("{field}.{rule}"), field, message)
}

fn required<'a>(field: &str, v: &'a Option<String>) -> Result<&'a str, EligibilityError> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err(field, "missing", format!("{field} is required")))
}

fn optional(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn label(field: &str, s: &str, max: usize) -> Result<String, EligibilityError> {
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(err(
            field,
            "text",
            format!("{field} must be at most {max} characters without control characters"),
        ));
    }
    Ok(s.to_owned())
}

fn number<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    field: &str,
    s: &str,
    min: T,
    max: T,
) -> Result<T, EligibilityError> {
    s.parse::<T>()
        .ok()
        .filter(|v| *v >= min && *v <= max)
        .ok_or_else(|| {
            err(
                field,
                "range",
                format!("{field} {s:?} must be a number from {min} to {max}"),
            )
        })
}

fn opt_number<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    field: &str,
    v: &Option<String>,
    min: T,
    max: T,
) -> Result<Option<T>, EligibilityError> {
    optional(v).map(|s| number(field, s, min, max)).transpose()
}

impl MedicalInput {
    /// Validates the row as a record of `kind`; `today` bounds the date.
    pub fn validate(
        &self,
        kind: MedicalKind,
        today: NaiveDate,
    ) -> Result<(InsuredKey, MedicalData), EligibilityError> {
        let key = InsuredKey::parse(
            &self.insurer_number,
            &self.symbol,
            &self.number,
            &self.branch,
        )?;
        let date = if kind == MedicalKind::Expense && self.date.trim().len() == 7 {
            parse_date("date", &format!("{}-01", self.date.trim()))?
        } else {
            parse_date("date", &self.date)?
        };
        if date > today {
            return Err(err("date", "future", format!("date {date} is after today")));
        }
        let facility_name = label(
            "facility_name",
            required("facility_name", &Some(self.facility_name.clone()))?,
            100,
        )?;
        let data = match kind {
            MedicalKind::Medication => {
                let code = required("drug_code", &self.drug_code)?;
                if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(err(
                        "drug_code",
                        "format",
                        "drug_code must be a 12-character YJ code (digits and letters)",
                    ));
                }
                MedicalData::Medication(Medication {
                    dispensed_on: date,
                    facility_name,
                    drug_code: code.to_owned(),
                    drug_name: label("drug_name", required("drug_name", &self.drug_name)?, 100)?,
                    quantity: number(
                        "quantity",
                        required("quantity", &self.quantity)?,
                        0.001,
                        100_000.0,
                    )?,
                    unit: label("unit", required("unit", &self.unit)?, 10)?,
                    days: number("days", required("days", &self.days)?, 1u16, 365)?,
                    dosage: optional(&self.dosage)
                        .map(|d| label("dosage", d, 100))
                        .transpose()?,
                })
            }
            MedicalKind::Treatment => {
                let code = required("procedure_code", &self.procedure_code)?;
                if code.len() != 9 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(
                        "procedure_code",
                        "format",
                        "procedure_code must be a 9-digit 診療行為コード",
                    ));
                }
                let surgery = match optional(&self.surgery) {
                    None | Some("0") | Some("false") => false,
                    Some("1") | Some("true") => true,
                    Some(other) => {
                        return Err(err(
                            "surgery",
                            "format",
                            format!("surgery {other:?} must be 1 or 0"),
                        ));
                    }
                };
                MedicalData::Treatment(Treatment {
                    treated_on: date,
                    facility_name,
                    setting: TreatmentSetting::parse(required("setting", &self.setting)?)?,
                    procedure_code: code.to_owned(),
                    procedure_name: label(
                        "procedure_name",
                        required("procedure_name", &self.procedure_name)?,
                        100,
                    )?,
                    surgery,
                    diagnosis: optional(&self.diagnosis)
                        .map(|d| label("diagnosis", d, 100))
                        .transpose()?,
                })
            }
            MedicalKind::Expense => {
                let facility_kind = required("facility_kind", &self.facility_kind)?;
                if !matches!(
                    facility_kind,
                    "medical" | "dental" | "pharmacy" | "home_nursing"
                ) {
                    return Err(err(
                        "facility_kind",
                        "unknown",
                        "facility_kind is medical, dental, pharmacy or home_nursing",
                    ));
                }
                let total: u32 = number(
                    "total_cost_yen",
                    required("total_cost_yen", &self.total_cost_yen)?,
                    0,
                    100_000_000,
                )?;
                let paid: u32 =
                    number("paid_yen", required("paid_yen", &self.paid_yen)?, 0, total)?;
                MedicalData::Expense(Expense {
                    month: date.with_day(1).unwrap_or(date),
                    facility_name,
                    facility_kind: facility_kind.to_owned(),
                    days: number("days", required("days", &self.days)?, 1u16, 31)?,
                    total_cost_yen: total,
                    paid_yen: paid,
                })
            }
            MedicalKind::Checkup => {
                let height_cm: f64 = number(
                    "height_cm",
                    required("height_cm", &self.height_cm)?,
                    50.0,
                    250.0,
                )?;
                let weight_kg: f64 = number(
                    "weight_kg",
                    required("weight_kg", &self.weight_kg)?,
                    10.0,
                    300.0,
                )?;
                let m = height_cm / 100.0;
                let bmi = (weight_kg / (m * m) * 10.0).round() / 10.0;
                let systolic_bp = number(
                    "systolic_bp",
                    required("systolic_bp", &self.systolic_bp)?,
                    50u16,
                    300,
                )?;
                let diastolic_bp = number(
                    "diastolic_bp",
                    required("diastolic_bp", &self.diastolic_bp)?,
                    20u16,
                    200,
                )?;
                if diastolic_bp >= systolic_bp {
                    return Err(err(
                        "diastolic_bp",
                        "order",
                        "the diastolic pressure must be below the systolic",
                    ));
                }
                let urine_glucose = match optional(&self.urine_glucose) {
                    None => None,
                    Some(g @ ("-" | "±" | "+" | "2+" | "3+" | "4+")) => Some(g.to_owned()),
                    Some(other) => {
                        return Err(err(
                            "urine_glucose",
                            "format",
                            format!("urine_glucose {other:?} must be -, ±, +, 2+, 3+ or 4+"),
                        ));
                    }
                };
                MedicalData::Checkup(Checkup {
                    examined_on: date,
                    facility_name,
                    height_cm,
                    weight_kg,
                    bmi,
                    waist_cm: opt_number("waist_cm", &self.waist_cm, 30.0, 250.0)?,
                    systolic_bp,
                    diastolic_bp,
                    hba1c: opt_number("hba1c", &self.hba1c, 3.0, 20.0)?,
                    ldl_mg_dl: opt_number("ldl_mg_dl", &self.ldl_mg_dl, 10u16, 1000)?,
                    hdl_mg_dl: opt_number("hdl_mg_dl", &self.hdl_mg_dl, 5u16, 300)?,
                    triglycerides_mg_dl: opt_number(
                        "triglycerides_mg_dl",
                        &self.triglycerides_mg_dl,
                        10u16,
                        5000,
                    )?,
                    ast: opt_number("ast", &self.ast, 1u16, 5000)?,
                    alt: opt_number("alt", &self.alt, 1u16, 5000)?,
                    gamma_gt: opt_number("gamma_gt", &self.gamma_gt, 1u16, 5000)?,
                    urine_glucose,
                })
            }
        };
        // Fields of another kind are a mistake in the file, not something to ignore.
        let allowed = columns(kind);
        let json =
            serde_json::to_value(self).map_err(|e| EligibilityError::Storage(e.to_string()))?;
        if let Some(obj) = json.as_object() {
            for (k, v) in obj {
                if !v.is_null() && !allowed.contains(&k.as_str()) {
                    return Err(err(
                        k,
                        "kind",
                        format!("{k} is not an item of a {} record", kind.code()),
                    ));
                }
            }
        }
        Ok((key, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> MedicalInput {
        MedicalInput {
            insurer_number: "06139992".into(),
            symbol: "1234".into(),
            number: "567".into(),
            branch: "00".into(),
            date: "2026-10-01".into(),
            facility_name: "オープン薬局".into(),
            ..Default::default()
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn medication_treatment_and_checkup_rows() {
        let mut m = base();
        m.drug_code = Some("2149039F1020".into());
        m.drug_name = Some("アムロジピン錠5mg".into());
        m.quantity = Some("1".into());
        m.unit = Some("錠".into());
        m.days = Some("28".into());
        let (_, d) = m.validate(MedicalKind::Medication, today()).unwrap();
        assert_eq!(d.kind(), MedicalKind::Medication);
        assert_eq!(
            m.validate(MedicalKind::Treatment, today())
                .unwrap_err()
                .code(),
            "procedure_code.missing"
        );

        let mut c = base();
        c.height_cm = Some("170".into());
        c.weight_kg = Some("65".into());
        c.systolic_bp = Some("120".into());
        c.diastolic_bp = Some("80".into());
        let (_, d) = c.validate(MedicalKind::Checkup, today()).unwrap();
        match d {
            MedicalData::Checkup(c) => assert_eq!(c.bmi, 22.5),
            other => panic!("{other:?}"),
        }
        c.drug_name = Some("x".into());
        assert_eq!(
            c.validate(MedicalKind::Checkup, today())
                .unwrap_err()
                .code(),
            "drug_name.kind"
        );

        let mut t = base();
        t.setting = Some("5".into());
        t.procedure_code = Some("150000110".into());
        t.procedure_name = Some("虫垂切除術".into());
        t.surgery = Some("1".into());
        let (_, d) = t.validate(MedicalKind::Treatment, today()).unwrap();
        assert!(d.is_surgery());
        t.date = "2027-01-01".into();
        assert_eq!(
            t.validate(MedicalKind::Treatment, today())
                .unwrap_err()
                .code(),
            "date.future"
        );
    }

    #[test]
    fn windows() {
        assert_eq!(
            shown_since(MedicalKind::Medication, today()),
            NaiveDate::from_ymd_opt(2023, 11, 21).unwrap()
        );
        assert_eq!(
            shown_since(MedicalKind::Checkup, today()),
            NaiveDate::from_ymd_opt(2021, 11, 21).unwrap()
        );
    }
}
