//! Employees' My Numbers for the enrollment form (健康保険・厚生年金保険 被保険者資格取得届).
//!
//! The employer must verify a number before using it (番号法16条): 本人確認 = 番号確認 (that
//! the number is the person's) + 身元確認 (that the person is who they say). The My Number
//! Card alone does both; otherwise the 通知カード (only while its details still match the
//! resident record) or a 住民票 with the number, plus one photo ID or two other documents.
//! 身元確認 may be skipped for an employee the staff clearly know. A number is read only for a
//! stated purpose, and deleted once the retention period after leaving has passed.

use chrono::{Datelike, NaiveDate};
use openmyna_eligibility::record::EnrollmentInput;
use openmyna_ids::MyNumber;
use serde::{Deserialize, Serialize};

use crate::{CampaignError, named_enum, parse_date};

named_enum! {
    /// 番号確認: how the number was confirmed to be the person's.
    NumberCheck, "number_check" {
        /// マイナンバーカード (its back side).
        MyNumberCard = "my_number_card", "マイナンバーカード";
        /// 通知カード, while its name and address still match the resident record.
        NotificationCard = "notification_card", "通知カード";
        /// 住民票の写し or 住民票記載事項証明書 showing the number.
        ResidentRecord = "resident_record", "個人番号付きの住民票の写し等";
    }
}

named_enum! {
    /// 身元確認: how the person's identity was confirmed.
    IdentityCheck, "identity_check" {
        /// マイナンバーカード (its front side, with the photo).
        MyNumberCard = "my_number_card", "マイナンバーカード";
        /// One photo identity document.
        PhotoId = "photo_id", "顔写真付き本人確認書類";
        /// Two identity documents without a photo.
        TwoDocuments = "two_documents", "顔写真のない本人確認書類2点";
        /// An employee the staff clearly know (雇用関係にあり本人であることが明らか).
        KnownPerson = "known_person", "雇用関係にあり本人であることが明らか";
    }
}

named_enum! {
    /// Identity documents.
    Document, "documents" {
        DriverLicense = "driver_license", "運転免許証";
        Passport = "passport", "旅券";
        ResidenceCard = "residence_card", "在留カード";
        DisabilityCertificate = "disability_certificate", "身体障害者手帳";
        DriverHistory = "driving_history_certificate", "運転経歴証明書";
        HealthInsurance = "health_insurance", "公的医療保険の資格確認書";
        PensionBook = "pension_book", "年金手帳";
        PensionCertificate = "pension_certificate", "年金証書";
        ChildAllowance = "child_allowance_certificate", "児童扶養手当証書";
    }
}

impl Document {
    pub fn has_photo(self) -> bool {
        matches!(
            self,
            Document::DriverLicense
                | Document::Passport
                | Document::ResidenceCard
                | Document::DisabilityCertificate
                | Document::DriverHistory
        )
    }
}

named_enum! {
    /// The purposes an employer may use a number for (利用目的; stated to the employee and
    /// at every reading).
    Purpose, "purpose" {
        /// 健康保険・厚生年金保険の届出 (資格取得届 etc.).
        HealthInsurance = "health_insurance", "健康保険・厚生年金保険届出事務";
        /// 雇用保険の届出.
        EmploymentInsurance = "employment_insurance", "雇用保険届出事務";
        /// 源泉徴収票・給与支払報告書.
        TaxWithholding = "tax_withholding", "源泉徴収票作成事務";
        /// 国民年金第3号被保険者の届出.
        Pension = "pension", "国民年金第3号被保険者届出事務";
    }
}

/// The identity check as recorded by HR.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IdentityCheckInput {
    /// my_number_card, notification_card, resident_record.
    pub number_check: String,
    /// my_number_card, photo_id, two_documents, known_person.
    pub identity_check: String,
    /// The documents shown (none for the card or a known person).
    #[serde(default)]
    pub documents: Vec<String>,
    /// For the notification card: that its name and address match the resident record.
    #[serde(default)]
    pub notification_card_matches: Option<bool>,
}

/// A valid identity check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityRecord {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub number_check: NumberCheck,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub identity_check: IdentityCheck,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub documents: Vec<Document>,
}

impl IdentityCheckInput {
    pub fn validate(&self) -> Result<IdentityRecord, CampaignError> {
        let number_check = NumberCheck::parse(&self.number_check)?;
        let identity_check = IdentityCheck::parse(&self.identity_check)?;
        let mut documents = self
            .documents
            .iter()
            .map(|d| Document::parse(d))
            .collect::<Result<Vec<_>, _>>()?;
        documents.sort();
        documents.dedup();
        let card_n = number_check == NumberCheck::MyNumberCard;
        let card_i = identity_check == IdentityCheck::MyNumberCard;
        if card_n != card_i {
            return Err(CampaignError::invalid(
                "identity_check.card_both",
                "identity_check",
                "the My Number Card confirms both the number and the identity: use it for both \
                 checks or for neither",
            ));
        }
        if number_check == NumberCheck::NotificationCard
            && self.notification_card_matches != Some(true)
        {
            return Err(CampaignError::invalid(
                "number_check.notification_card_outdated",
                "notification_card_matches",
                "a 通知カード confirms the number only while its name and address match the \
                 resident record; confirm that (notification_card_matches: true) or use a \
                 住民票 with the number",
            ));
        }
        match identity_check {
            IdentityCheck::MyNumberCard | IdentityCheck::KnownPerson if !documents.is_empty() => {
                return Err(CampaignError::invalid(
                    "documents.not_needed",
                    "documents",
                    format!("{} needs no other document", identity_check.label_ja()),
                ));
            }
            IdentityCheck::PhotoId if !documents.iter().any(|d| d.has_photo()) => {
                return Err(CampaignError::invalid(
                    "documents.photo_required",
                    "documents",
                    "a photo identity document is required (driver_license, passport, \
                     residence_card, disability_certificate, driving_history_certificate)",
                ));
            }
            IdentityCheck::TwoDocuments if documents.len() < 2 => {
                return Err(CampaignError::invalid(
                    "documents.two_required",
                    "documents",
                    "two different identity documents are required",
                ));
            }
            _ => {}
        }
        Ok(IdentityRecord {
            number_check,
            identity_check,
            documents,
        })
    }
}

/// What the employee writes on the enrollment form, with their number.
#[derive(Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntakeForm {
    /// 個人番号 (12 digits, the last the check digit).
    pub my_number: String,
    pub name: String,
    /// In katakana.
    pub name_kana: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
    /// 1 男, 2 女.
    pub sex: String,
    pub address: String,
    #[serde(default)]
    pub postal_code: Option<String>,
}

impl std::fmt::Debug for IntakeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntakeForm(<redacted>)")
    }
}

fn is_kana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FC}' | ' ' | '\u{3000}')
}

impl IntakeForm {
    /// Checks the form; the number's check digit first (the rule is named, e.g.
    /// `my_number.check_digit`).
    pub fn validate(&self, today: NaiveDate) -> Result<MyNumber, CampaignError> {
        let n = MyNumber::parse(&self.my_number)
            .map_err(|e| CampaignError::invalid(e.code(), "my_number", e.to_string()))?;
        crate::org::check_name("name", &self.name)?;
        let kana = self.name_kana.trim();
        if kana.is_empty() || !kana.chars().all(is_kana) {
            return Err(CampaignError::invalid(
                "name_kana.katakana",
                "name_kana",
                "name_kana is written in full-width katakana",
            ));
        }
        let birth = parse_date("birth_date", &self.birth_date)?;
        if birth >= today {
            return Err(CampaignError::invalid(
                "birth_date.future",
                "birth_date",
                "the birth date is in the past",
            ));
        }
        if !matches!(self.sex.trim(), "1" | "2") {
            return Err(CampaignError::invalid(
                "sex.unknown",
                "sex",
                "sex is 1 (男) or 2 (女) as on the resident record",
            ));
        }
        crate::org::check_name("address", &self.address)?;
        Ok(n)
    }
}

/// Whether a number kept for an employee who left on `left_on` must now be deleted.
pub fn due_for_deletion(
    left_on: Option<NaiveDate>,
    retention_years: u32,
    today: NaiveDate,
) -> bool {
    let Some(left) = left_on else { return false };
    let until = left
        .checked_add_months(chrono::Months::new(retention_years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MAX);
    today >= until
}

/// Retention is 1 to 10 years after leaving (the longest statutory keeping period of the
/// forms that carry the number is 7 years).
pub fn check_retention(years: u32) -> Result<u32, CampaignError> {
    if (1..=10).contains(&years) {
        Ok(years)
    } else {
        Err(CampaignError::invalid(
            "retention_years.range",
            "retention_years",
            "retention is 1 to 10 years after the employee leaves",
        ))
    }
}

fn age_on(birth: NaiveDate, d: NaiveDate) -> i32 {
    let mut age = d.year() - birth.year();
    if (d.month(), d.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// The employer's insurance details for the export.
#[derive(Debug, Clone)]
pub struct InsurerDetails {
    pub insurer_number: String,
    pub insurer_name: String,
    /// 記号 of the office (事業所記号).
    pub symbol: String,
}

/// The enrollment record an insurer loads for an employee who joined on `hired_on`, their
/// insured number being `number`: co-payment 30 % (20 % from 70 with the 高齢受給者 items);
/// refused from 75, when the 後期高齢者医療制度 covers the person instead.
pub fn enrollment_record(
    form: &IntakeForm,
    insurer: &InsurerDetails,
    number: &str,
    hired_on: NaiveDate,
    today: NaiveDate,
) -> Result<EnrollmentInput, CampaignError> {
    form.validate(today)?;
    let birth = parse_date("birth_date", &form.birth_date)?;
    let age = age_on(birth, hired_on);
    if age >= 75 {
        return Err(CampaignError::invalid(
            "birth_date.late_elderly",
            "birth_date",
            "from 75 the person is covered by 後期高齢者医療制度, not the employer's insurance",
        ));
    }
    let mut r = EnrollmentInput {
        my_number: form.my_number.trim().to_owned(),
        insurer_number: insurer.insurer_number.clone(),
        insurer_name: insurer.insurer_name.clone(),
        symbol: insurer.symbol.clone(),
        number: number.to_owned(),
        branch: "00".into(),
        card_class: "01".into(),
        relationship: "1".into(),
        name: form.name.trim().to_owned(),
        name_kana: form.name_kana.trim().to_owned(),
        birth_date: birth.to_string(),
        sex: form.sex.trim().to_owned(),
        address: form.address.trim().to_owned(),
        postal_code: form.postal_code.clone(),
        qualification_date: hired_on.to_string(),
        co_payment_ratio: "030".into(),
        ..EnrollmentInput::default()
    };
    if age >= 70 {
        let seventy_five = birth
            .checked_add_months(chrono::Months::new(75 * 12))
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX);
        r.co_payment_ratio = "020".into();
        r.elderly_issued_on = Some(hired_on.to_string());
        r.elderly_valid_from = Some(hired_on.to_string());
        r.elderly_valid_until = Some(seventy_five.to_string());
        r.elderly_ratio = Some("020".into());
    }
    r.validate(today).map_err(|e| match e {
        openmyna_eligibility::EligibilityError::Refusal(r)
            if r.kind() == openmyna_core::RefusalKind::Invalid =>
        {
            CampaignError::Refusal(r.or_field("enrollment"))
        }
        other => CampaignError::invalid("enrollment.invalid", "enrollment", other.to_string()),
    })?;
    Ok(r)
}

/// Writes enrollment records as the insurers' CSV upload (`POST
/// /api/v1/insurance/records/csv`).
pub fn enrollment_csv(records: &[EnrollmentInput]) -> Result<String, CampaignError> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(true)
        .from_writer(Vec::new());
    let fail = |e: csv::Error| CampaignError::invalid("csv.write", "csv", e.to_string());
    if records.is_empty() {
        w.write_record(openmyna_eligibility::record::CSV_COLUMNS)
            .map_err(fail)?;
    }
    for r in records {
        w.serialize(r).map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CampaignError::invalid("csv.write", "csv", e.to_string()))?;
    String::from_utf8(bytes)
        .map_err(|_| CampaignError::invalid("csv.write", "csv", "not UTF-8".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(n: &str, i: &str, docs: &[&str]) -> Result<IdentityRecord, CampaignError> {
        IdentityCheckInput {
            number_check: n.into(),
            identity_check: i.into(),
            documents: docs.iter().map(|d| d.to_string()).collect(),
            notification_card_matches: None,
        }
        .validate()
    }

    #[test]
    fn identity_check_rules() {
        assert!(check("my_number_card", "my_number_card", &[]).is_ok());
        assert_eq!(
            check("my_number_card", "photo_id", &["passport"])
                .unwrap_err()
                .code(),
            "identity_check.card_both"
        );
        assert!(check("resident_record", "photo_id", &["driver_license"]).is_ok());
        assert_eq!(
            check("resident_record", "photo_id", &["pension_book"])
                .unwrap_err()
                .code(),
            "documents.photo_required"
        );
        assert_eq!(
            check("resident_record", "two_documents", &["pension_book"])
                .unwrap_err()
                .code(),
            "documents.two_required"
        );
        assert!(
            check(
                "resident_record",
                "two_documents",
                &["pension_book", "health_insurance"]
            )
            .is_ok()
        );
        assert_eq!(
            check("notification_card", "known_person", &[])
                .unwrap_err()
                .code(),
            "number_check.notification_card_outdated"
        );
        assert_eq!(
            check("resident_record", "known_person", &["passport"])
                .unwrap_err()
                .code(),
            "documents.not_needed"
        );
        assert_eq!(
            check("resident_record", "face", &[]).unwrap_err().code(),
            "identity_check.unknown"
        );
    }

    fn form(n: &str) -> IntakeForm {
        IntakeForm {
            my_number: n.into(),
            name: "山田 太郎".into(),
            name_kana: "ヤマダ タロウ".into(),
            birth_date: "1990-05-01".into(),
            sex: "1".into(),
            address: "東京都千代田区千代田1-1".into(),
            postal_code: None,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
    }

    #[test]
    fn the_check_digit_is_named() {
        assert!(form("123456789018").validate(today()).is_ok());
        let e = form("123456789017").validate(today()).unwrap_err();
        assert_eq!(e.code(), "my_number.check_digit");
        assert!(e.to_string().contains("expected 8"));
        assert!(!format!("{:?}", form("123456789018")).contains("1234"));
    }

    #[test]
    fn retention() {
        let left = NaiveDate::from_ymd_opt(2026, 3, 31);
        assert!(!due_for_deletion(None, 7, today()));
        assert!(!due_for_deletion(
            left,
            7,
            NaiveDate::from_ymd_opt(2033, 3, 30).unwrap()
        ));
        assert!(due_for_deletion(
            left,
            7,
            NaiveDate::from_ymd_opt(2033, 3, 31).unwrap()
        ));
        assert!(check_retention(0).is_err());
    }

    #[test]
    fn enrollment_records_pass_the_insurers_rules() {
        let ins = InsurerDetails {
            insurer_number: "01130012".into(),
            insurer_name: "全国健康保険協会 東京支部".into(),
            symbol: "1234".into(),
        };
        let r = enrollment_record(&form("123456789018"), &ins, "17", today(), today()).unwrap();
        assert_eq!(r.co_payment_ratio, "030");
        let mut old = form("123456789018");
        old.birth_date = "1955-01-01".into();
        let r = enrollment_record(&old, &ins, "18", today(), today()).unwrap();
        assert_eq!(r.co_payment_ratio, "020");
        assert!(r.elderly_valid_until.is_some());
        old.birth_date = "1950-01-01".into();
        assert_eq!(
            enrollment_record(&old, &ins, "19", today(), today())
                .unwrap_err()
                .code(),
            "birth_date.late_elderly"
        );
        let csv = enrollment_csv(&[enrollment_record(
            &form("123456789018"),
            &ins,
            "17",
            today(),
            today(),
        )
        .unwrap()])
        .unwrap();
        let header = csv.lines().next().unwrap();
        assert_eq!(header, openmyna_eligibility::record::CSV_COLUMNS.join(","));
    }
}
