//! An insurer's enrollment record (資格情報) with the data items of the OQS result record, its
//! validation, the CSV layout insurers upload, and the 5-item check against the registry.

use chrono::NaiveDate;
use openmyna_core::age_on;
use openmyna_ids::{BranchNumber, InsuredNumber, InsuredSymbol, InsurerNumber, MyNumber};
use openmyna_registry::{BasicFour, PersonName, PostalCode, Sex};
use serde::{Deserialize, Serialize};

use crate::EligibilityError;
use crate::codes::{CardClass, DiseaseCode, LimitCategory, LimitKind, LossReason, Relationship};

/// 保険者番号 + 記号 + 番号 + 枝番: the key of a record (JP Core
/// `保険者番号:記号:番号:枝番`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InsuredKey {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "06139992"))]
    pub insurer_number: InsurerNumber,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub symbol: InsuredSymbol,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub number: InsuredNumber,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "00"))]
    pub branch: BranchNumber,
}

impl InsuredKey {
    pub fn parse(
        insurer_number: &str,
        symbol: &str,
        number: &str,
        branch: &str,
    ) -> Result<Self, EligibilityError> {
        Ok(InsuredKey {
            insurer_number: InsurerNumber::parse(insurer_number)?,
            symbol: InsuredSymbol::parse(symbol)?,
            number: InsuredNumber::parse(number)?,
            branch: BranchNumber::parse(branch)?,
        })
    }
}

impl std::fmt::Display for InsuredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.insurer_number.as_str(),
            self.symbol.as_str(),
            self.number.as_str(),
            self.branch.as_str()
        )
    }
}

/// The five items checked against the registry (漢字氏名, カナ氏名, 生年月日, 性別, 住所).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FiveItems {
    pub name: String,
    pub name_kana: String,
    pub birth_date: NaiveDate,
    /// 1 男, 2 女, 9 適用不能 (JIS X 0303).
    #[cfg_attr(feature = "openapi", schema(value_type = u8))]
    pub sex: Sex,
    pub address: String,
}

/// 資格喪失: the day the qualification ends (資格喪失日, the first day without it) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Loss {
    pub date: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub reason: LossReason,
}

/// 高齢受給者証 (70–74).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ElderlyRecipient {
    pub issued_on: NaiveDate,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// 一部負担金割合 in percent (20 or 30).
    pub ratio_percent: u8,
}

/// 限度額適用認定 and 標準負担額減額認定.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitAmount {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: LimitKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub category: LimitCategory,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    /// 長期入院該当年月日 (for 標準負担額減額).
    pub long_stay_from: Option<NaiveDate>,
}

/// 特定疾病療養受療証.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecificDisease {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub code: DiseaseCode,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    /// 自己負担限度額 per month in yen (10,000 or 20,000).
    pub monthly_cap_yen: u32,
}

/// A validated enrollment record. The My Number that links it is not part of it: it is used
/// once, to find the resident, and never stored with the record or shown to a facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enrollment {
    pub key: InsuredKey,
    pub insurer_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "01"))]
    pub card_class: CardClass,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "1"))]
    pub relationship: Relationship,
    /// 被保険者氏名 (for a dependant: the insured person's name).
    pub insured_name: Option<String>,
    pub person: FiveItems,
    pub postal_code: Option<String>,
    /// 資格取得年月日.
    pub qualification_date: NaiveDate,
    pub loss: Option<Loss>,
    /// 一部負担金割合 in percent (10, 20 or 30).
    pub co_payment_percent: u8,
    pub elderly: Option<ElderlyRecipient>,
    pub limit: Option<LimitAmount>,
    #[serde(default)]
    pub specific_diseases: Vec<SpecificDisease>,
}

impl AsRef<Enrollment> for Enrollment {
    fn as_ref(&self) -> &Enrollment {
        self
    }
}

impl Enrollment {
    /// Whether the qualification holds on `date` (from the qualification date up to the day
    /// before the loss date).
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.qualification_date <= date && self.loss.as_ref().is_none_or(|l| date < l.date)
    }

    /// 一部負担金割合 as the OQS code (1割 = "010").
    pub fn co_payment_code(&self) -> String {
        format!("{:03}", self.co_payment_percent)
    }
}

/// An enrollment record as submitted (JSON body or one CSV row): text, validated by
/// [`EnrollmentInput::validate`].
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollmentInput {
    /// The insured person's My Number (個人番号), to link the record to the registry.
    pub my_number: String,
    /// 保険者番号 (8 digits, or 6 for 国民健康保険).
    pub insurer_number: String,
    pub insurer_name: String,
    /// 被保険者証等記号.
    pub symbol: String,
    /// 被保険者証等番号.
    pub number: String,
    /// 枝番 (2 digits).
    pub branch: String,
    /// 被保険者証区分: 01 一般, 02 退職, 03/04 短期, 05 資格証明書, 06 特例退職, 07 自衛官, A1 医療扶助.
    pub card_class: String,
    /// 1 本人, 2 家族.
    pub relationship: String,
    #[serde(default)]
    pub insured_name: Option<String>,
    pub name: String,
    pub name_kana: String,
    /// YYYY-MM-DD or YYYYMMDD.
    pub birth_date: String,
    /// 1 男, 2 女, 9 適用不能.
    pub sex: String,
    pub address: String,
    #[serde(default)]
    pub postal_code: Option<String>,
    pub qualification_date: String,
    #[serde(default)]
    pub loss_date: Option<String>,
    /// 01 死亡, 02 生活保護, 03 他保険取得, 99 その他.
    #[serde(default)]
    pub loss_reason: Option<String>,
    /// 一部負担金割合: "010", "020", "030" (or 10, 20, 30).
    pub co_payment_ratio: String,
    #[serde(default)]
    pub elderly_issued_on: Option<String>,
    #[serde(default)]
    pub elderly_valid_from: Option<String>,
    #[serde(default)]
    pub elderly_valid_until: Option<String>,
    #[serde(default)]
    pub elderly_ratio: Option<String>,
    /// 01 限度額適用, 02 限度額適用・標準負担額減額, 03 標準負担額減額.
    #[serde(default)]
    pub limit_kind: Option<String>,
    /// A01–A06, B01–B10.
    #[serde(default)]
    pub limit_category: Option<String>,
    #[serde(default)]
    pub limit_valid_from: Option<String>,
    #[serde(default)]
    pub limit_valid_until: Option<String>,
    #[serde(default)]
    pub long_stay_from: Option<String>,
    /// 特定疾病: entries `code:valid_from:valid_until:monthly_cap_yen` separated by `;`
    /// (valid_until may be empty), e.g. `1:2024-04-01::10000`.
    #[serde(default)]
    pub specific_diseases: Option<String>,
}

/// The CSV header insurers upload (UTF-8, a header row naming these columns; order free;
/// columns after `co_payment_ratio` optional).
pub const CSV_COLUMNS: &[&str] = &[
    "my_number",
    "insurer_number",
    "insurer_name",
    "symbol",
    "number",
    "branch",
    "card_class",
    "relationship",
    "insured_name",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "postal_code",
    "qualification_date",
    "loss_date",
    "loss_reason",
    "co_payment_ratio",
    "elderly_issued_on",
    "elderly_valid_from",
    "elderly_valid_until",
    "elderly_ratio",
    "limit_kind",
    "limit_category",
    "limit_valid_from",
    "limit_valid_until",
    "long_stay_from",
    "specific_diseases",
];

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A date as `YYYY-MM-DD` or `YYYYMMDD`.
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, EligibilityError> {
    let t = s.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%Y%m%d"))
        .map_err(|_| {
            EligibilityError::invalid(
                format!("{field}.format"),
                field,
                format!("{field} {t:?} is not a date (YYYY-MM-DD or YYYYMMDD)"),
            )
        })
}

fn opt_date(field: &str, v: &Option<String>) -> Result<Option<NaiveDate>, EligibilityError> {
    present(v).map(|s| parse_date(field, s)).transpose()
}

fn text(field: &str, s: &str, max: usize) -> Result<String, EligibilityError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(EligibilityError::invalid(
            format!("{field}.empty"),
            field,
            format!("{field} is empty"),
        ));
    }
    if t.chars().count() > max {
        return Err(EligibilityError::invalid(
            format!("{field}.length"),
            field,
            format!("{field} has more than {max} characters"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(EligibilityError::invalid(
            format!("{field}.characters"),
            field,
            format!("{field} contains a control character"),
        ));
    }
    Ok(t.to_owned())
}

/// A ratio in percent from "010"/"10"/"1割"-style codes: 10, 20 or 30 (and 0 for 医療扶助).
fn ratio(field: &str, s: &str, allowed: &[u8]) -> Result<u8, EligibilityError> {
    let t = s.trim();
    let n = t
        .parse::<u16>()
        .ok()
        .filter(|n| *n <= 100)
        .map(|n| n as u8)
        .filter(|n| allowed.contains(n));
    n.ok_or_else(|| {
        let list: Vec<String> = allowed.iter().map(|a| format!("{a:03}")).collect();
        EligibilityError::invalid(
            format!("{field}.value"),
            field,
            format!(
                "{field} {t:?} is not an allowed ratio; use {} (percent, 1割 = 010)",
                list.join(", ")
            ),
        )
    })
}

fn rule(field: &str, rule: &str, message: impl Into<String>) -> EligibilityError {
    EligibilityError::invalid(format!("{field}.{rule}"), field, message)
}

impl EnrollmentInput {
    /// Validates every item; the first failure names its field and rule. `today` bounds the
    /// birth date.
    pub fn validate(&self, today: NaiveDate) -> Result<(MyNumber, Enrollment), EligibilityError> {
        let my_number = MyNumber::parse(&self.my_number)?;
        let key = InsuredKey::parse(
            &self.insurer_number,
            &self.symbol,
            &self.number,
            &self.branch,
        )?;
        let insurer_name = text("insurer_name", &self.insurer_name, 100)?;
        let card_class = CardClass::parse(&self.card_class)?;
        let relationship = Relationship::parse(&self.relationship)?;
        let insured_name = present(&self.insured_name)
            .map(|n| text("insured_name", n, 100))
            .transpose()?;
        let person_name = PersonName::parse(&self.name, &self.name_kana).map_err(|e| match e {
            openmyna_registry::RegistryError::Invalid(r) => EligibilityError::Refusal(r),
            other => EligibilityError::Registry(other),
        })?;
        let birth_date = parse_date("birth_date", &self.birth_date)?;
        if birth_date > today {
            return Err(rule(
                "birth_date",
                "future",
                format!("birth date {birth_date} is after today ({today})"),
            ));
        }
        let sex_code: i64 = self.sex.trim().parse().map_err(|_| {
            rule(
                "sex",
                "format",
                "sex must be 1 (男), 2 (女) or 9 (適用不能)",
            )
        })?;
        let sex = Sex::from_code(sex_code).map_err(|_| {
            rule(
                "sex",
                "unknown",
                format!("sex code {sex_code} is unknown; use 1 (男), 2 (女) or 9 (適用不能)"),
            )
        })?;
        let address = text("address", &self.address, 200)?;
        let postal_code = match present(&self.postal_code) {
            Some(p) => Some(
                PostalCode::parse(p)
                    .map_err(|e| rule("postal_code", "format", e.to_string()))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let qualification_date = parse_date("qualification_date", &self.qualification_date)?;
        if qualification_date < birth_date {
            return Err(rule(
                "qualification_date",
                "before_birth",
                format!("qualification date {qualification_date} is before the birth date"),
            ));
        }
        let loss = match (
            opt_date("loss_date", &self.loss_date)?,
            present(&self.loss_reason),
        ) {
            (None, None) => None,
            (Some(date), Some(r)) => {
                if date <= qualification_date {
                    return Err(rule(
                        "loss_date",
                        "order",
                        format!(
                            "loss date {date} must be after the qualification date {qualification_date}"
                        ),
                    ));
                }
                Some(Loss {
                    date,
                    reason: LossReason::parse(r)?,
                })
            }
            (Some(_), None) => {
                return Err(rule(
                    "loss_reason",
                    "missing",
                    "a loss date needs a reason of loss (01 死亡, 02 生活保護, 03 他保険取得, 99 その他)",
                ));
            }
            (None, Some(_)) => {
                return Err(rule(
                    "loss_date",
                    "missing",
                    "a reason of loss needs the loss date",
                ));
            }
        };
        let co_payment_percent = if card_class == CardClass::MedicalAid {
            ratio("co_payment_ratio", &self.co_payment_ratio, &[0])?
        } else {
            ratio("co_payment_ratio", &self.co_payment_ratio, &[10, 20, 30])?
        };
        let elderly = self.elderly(birth_date)?;
        let limit = self.limit(&key)?;
        let specific_diseases = self.diseases()?;
        Ok((
            my_number,
            Enrollment {
                key,
                insurer_name,
                card_class,
                relationship,
                insured_name,
                person: FiveItems {
                    name: person_name.name,
                    name_kana: person_name.name_kana,
                    birth_date,
                    sex,
                    address,
                },
                postal_code,
                qualification_date,
                loss,
                co_payment_percent,
                elderly,
                limit,
                specific_diseases,
            },
        ))
    }

    fn elderly(&self, birth: NaiveDate) -> Result<Option<ElderlyRecipient>, EligibilityError> {
        let fields = [
            &self.elderly_issued_on,
            &self.elderly_valid_from,
            &self.elderly_valid_until,
            &self.elderly_ratio,
        ];
        if fields.iter().all(|f| present(f).is_none()) {
            return Ok(None);
        }
        let need = |field: &str, v: &Option<String>| {
            present(v).map(str::to_owned).ok_or_else(|| {
                rule(
                    field,
                    "missing",
                    format!("{field} is required with the other 高齢受給者 items"),
                )
            })
        };
        let issued_on = parse_date(
            "elderly_issued_on",
            &need("elderly_issued_on", &self.elderly_issued_on)?,
        )?;
        let valid_from = parse_date(
            "elderly_valid_from",
            &need("elderly_valid_from", &self.elderly_valid_from)?,
        )?;
        let valid_until = parse_date(
            "elderly_valid_until",
            &need("elderly_valid_until", &self.elderly_valid_until)?,
        )?;
        let ratio_percent = ratio(
            "elderly_ratio",
            &need("elderly_ratio", &self.elderly_ratio)?,
            &[20, 30],
        )?;
        if valid_until < valid_from {
            return Err(rule(
                "elderly_valid_until",
                "order",
                "the 高齢受給者 period ends before it starts",
            ));
        }
        if age_on(birth, valid_until) < 70 || age_on(birth, valid_from) >= 75 {
            return Err(rule(
                "elderly_valid_from",
                "age",
                "高齢受給者 items apply from 70 to 74 only",
            ));
        }
        Ok(Some(ElderlyRecipient {
            issued_on,
            valid_from,
            valid_until,
            ratio_percent,
        }))
    }

    fn limit(&self, key: &InsuredKey) -> Result<Option<LimitAmount>, EligibilityError> {
        let (kind, category) = match (present(&self.limit_kind), present(&self.limit_category)) {
            (None, None) => return Ok(None),
            (Some(k), Some(c)) => (LimitKind::parse(k)?, LimitCategory::parse(c)?),
            (Some(_), None) => {
                return Err(rule(
                    "limit_category",
                    "missing",
                    "a limit-amount type needs its category (A01–A06, B01–B10)",
                ));
            }
            (None, Some(_)) => {
                return Err(rule(
                    "limit_kind",
                    "missing",
                    "a limit-amount category needs its type (01, 02 or 03)",
                ));
            }
        };
        let late_elderly = key.insurer_number.law_code() == Some("39");
        if category.late_elderly_only() && !late_elderly {
            return Err(rule(
                "limit_category",
                "late_elderly_only",
                format!(
                    "{} ({}) exists only in 後期高齢者医療 (insurer numbers starting 39)",
                    category.code(),
                    category.label_ja()
                ),
            ));
        }
        if late_elderly && !category.for_seventy_and_over() {
            return Err(rule(
                "limit_category",
                "age_band",
                "後期高齢者医療 uses the B categories (70 and over)",
            ));
        }
        let valid_from = parse_date(
            "limit_valid_from",
            present(&self.limit_valid_from).ok_or_else(|| {
                rule(
                    "limit_valid_from",
                    "missing",
                    "the limit-amount start date is required",
                )
            })?,
        )?;
        let valid_until = opt_date("limit_valid_until", &self.limit_valid_until)?;
        if valid_until.is_some_and(|u| u < valid_from) {
            return Err(rule(
                "limit_valid_until",
                "order",
                "the limit-amount period ends before it starts",
            ));
        }
        Ok(Some(LimitAmount {
            kind,
            category,
            valid_from,
            valid_until,
            long_stay_from: opt_date("long_stay_from", &self.long_stay_from)?,
        }))
    }

    fn diseases(&self) -> Result<Vec<SpecificDisease>, EligibilityError> {
        let Some(list) = present(&self.specific_diseases) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (i, entry) in list
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let parts: Vec<&str> = entry.split(':').collect();
            let field = "specific_diseases";
            let &[code, valid_from, valid_until, cap] = parts.as_slice() else {
                return Err(rule(
                    field,
                    "format",
                    format!(
                        "entry {} {entry:?} must be code:valid_from:valid_until:monthly_cap_yen",
                        i + 1
                    ),
                ));
            };
            let code = DiseaseCode::parse(code)?;
            let valid_from = parse_date("specific_diseases.valid_from", valid_from)?;
            let valid_until = if valid_until.trim().is_empty() {
                None
            } else {
                Some(parse_date("specific_diseases.valid_until", valid_until)?)
            };
            let monthly_cap_yen = cap
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|y| *y <= 1_000_000)
                .ok_or_else(|| {
                    rule(
                        field,
                        "cap",
                        format!("entry {} monthly cap {:?} is not a yen amount", i + 1, cap),
                    )
                })?;
            out.push(SpecificDisease {
                code,
                valid_from,
                valid_until,
                monthly_cap_yen,
            });
        }
        Ok(out)
    }
}

/// One data row of an uploaded CSV: its row number (the header is row 1) and the parsed row
/// or why it could not be read.
pub type CsvRow<T> = (u64, Result<T, EligibilityError>);

/// Reads a CSV with a header row into rows of `T` (whose fields are the columns). Unknown
/// columns are refused as a whole; a bad row is reported with its number and the rest go on.
pub fn read_csv<T: serde::de::DeserializeOwned>(
    data: &[u8],
    columns: &[&str],
) -> Result<Vec<CsvRow<T>>, EligibilityError> {
    let data = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(data);
    let headers = reader
        .headers()
        .map_err(|e| {
            rule(
                "csv",
                "header",
                format!("the header row cannot be read: {e}"),
            )
        })?
        .clone();
    for h in &headers {
        if !columns.contains(&h) {
            return Err(rule(
                "csv",
                "column",
                format!(
                    "unknown column {h:?}; the columns are {}",
                    columns.join(", ")
                ),
            ));
        }
    }
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let row = i as u64 + 2;
        let parsed = match rec {
            Err(e) => Err(rule("csv", "row", format!("row {row} cannot be read: {e}"))),
            Ok(r) => {
                // Empty cells are absent values.
                let mut map = serde_json::Map::new();
                for (h, v) in headers.iter().zip(r.iter()) {
                    if !v.is_empty() {
                        map.insert(h.to_owned(), serde_json::Value::String(v.to_owned()));
                    }
                }
                serde_json::from_value::<T>(serde_json::Value::Object(map)).map_err(|e| {
                    let m = e.to_string();
                    let field = m
                        .strip_prefix("missing field `")
                        .and_then(|r| r.split('`').next())
                        .unwrap_or("csv")
                        .to_owned();
                    EligibilityError::invalid(format!("{field}.missing"), field, m)
                })
            }
        };
        out.push((row, parsed));
    }
    Ok(out)
}

/// Text compared across sources: without spaces of either width, with full-width ASCII
/// folded, hyphen and dash variants as `-`, and 丁目/番地/番/号 written as hyphens.
pub fn normalise_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            'ー' | '－' | '‐' | '―' | '─' | '−' | '–' | '—' => '-',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Address comparison form: [`normalise_text`] plus 丁目/番地/番 as hyphens and 号 dropped.
fn address_key(s: &str) -> String {
    let t = normalise_text(s)
        .replace("丁目", "-")
        .replace("番地", "-")
        .replace('番', "-")
        .replace('号', "");
    t.trim_end_matches('-').to_owned()
}

/// Which of the five items differ between an insurer's record and the registry (after
/// normalising widths, spaces, kana forms and address notation). Empty means it matches.
pub fn five_item_mismatches(record: &FiveItems, registry: &BasicFour) -> Vec<&'static str> {
    let mut out = Vec::new();
    if normalise_text(&record.name) != normalise_text(&registry.name.name) {
        out.push("name");
    }
    if openmyna_core::kana::match_key(&record.name_kana)
        != openmyna_core::kana::match_key(&registry.name.name_kana)
    {
        out.push("name_kana");
    }
    if record.birth_date != registry.birth_date {
        out.push("birth_date");
    }
    if record.sex != registry.sex {
        out.push("sex");
    }
    if address_key(&record.address) != address_key(&registry.address.text) {
        out.push("address");
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn input() -> EnrollmentInput {
        EnrollmentInput {
            my_number: "123456789018".into(),
            insurer_number: "06139992".into(),
            insurer_name: "オープン健康保険組合".into(),
            symbol: "1234".into(),
            number: "567".into(),
            branch: "00".into(),
            card_class: "01".into(),
            relationship: "1".into(),
            name: "山田 太郎".into(),
            name_kana: "ヤマダ タロウ".into(),
            birth_date: "1980-04-01".into(),
            sex: "1".into(),
            address: "東京都千代田区千代田1丁目1番1号".into(),
            qualification_date: "2020-04-01".into(),
            co_payment_ratio: "030".into(),
            ..Default::default()
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn a_complete_record_validates() {
        let mut i = input();
        i.limit_kind = Some("01".into());
        i.limit_category = Some("A03".into());
        i.limit_valid_from = Some("20260401".into());
        i.specific_diseases = Some("1:2024-04-01::10000;2:2025-01-01:2027-12-31:20000".into());
        let (mn, e) = i.validate(today()).unwrap();
        assert_eq!(mn.expose(), "123456789018");
        assert_eq!(e.key.to_string(), "06139992:1234:567:00");
        assert_eq!(e.co_payment_code(), "030");
        assert_eq!(e.limit.as_ref().unwrap().category, LimitCategory::A03);
        assert_eq!(e.specific_diseases.len(), 2);
        assert!(e.valid_on(NaiveDate::from_ymd_opt(2020, 4, 1).unwrap()));
        assert!(!e.valid_on(NaiveDate::from_ymd_opt(2020, 3, 31).unwrap()));
        // The My Number is not part of the stored record.
        assert!(!serde_json::to_string(&e).unwrap().contains("123456789018"));
    }

    #[test]
    fn each_rule_names_its_field() {
        type Case = (fn(&mut EnrollmentInput), &'static str);
        let cases: Vec<Case> = vec![
            (
                |i| i.my_number = "123456789012".into(),
                "my_number.check_digit",
            ),
            (
                |i| i.insurer_number = "06139993".into(),
                "insurer_number.check_digit",
            ),
            (|i| i.branch = "0".into(), "branch_number.length"),
            (|i| i.card_class = "09".into(), "card_class.unknown"),
            (|i| i.relationship = "3".into(), "relationship.unknown"),
            (|i| i.sex = "3".into(), "sex.unknown"),
            (|i| i.birth_date = "1980-02-30".into(), "birth_date.format"),
            (
                |i| i.co_payment_ratio = "040".into(),
                "co_payment_ratio.value",
            ),
            (
                |i| i.qualification_date = "1970-01-01".into(),
                "qualification_date.before_birth",
            ),
            (
                |i| i.loss_date = Some("2021-01-01".into()),
                "loss_reason.missing",
            ),
            (
                |i| {
                    i.loss_date = Some("2019-01-01".into());
                    i.loss_reason = Some("03".into());
                },
                "loss_date.order",
            ),
            (
                |i| {
                    i.limit_kind = Some("01".into());
                    i.limit_category = Some("B09".into());
                    i.limit_valid_from = Some("2026-04-01".into());
                },
                "limit_category.late_elderly_only",
            ),
            (
                |i| {
                    i.elderly_issued_on = Some("2026-04-01".into());
                    i.elderly_valid_from = Some("2026-04-01".into());
                    i.elderly_valid_until = Some("2027-03-31".into());
                    i.elderly_ratio = Some("20".into());
                },
                "elderly_valid_from.age",
            ),
            (
                |i| i.specific_diseases = Some("1:2024-04-01".into()),
                "specific_diseases.format",
            ),
        ];
        for (mutate, code) in cases {
            let mut i = input();
            mutate(&mut i);
            let e = i.validate(today()).unwrap_err();
            assert_eq!(e.code(), code, "{e}");
            assert!(e.field().is_some());
        }
    }

    #[test]
    fn csv_rows_are_read_individually() {
        let csv = "my_number,insurer_number,insurer_name,symbol,number,branch,card_class,relationship,name,name_kana,birth_date,sex,address,qualification_date,co_payment_ratio\n\
            123456789018,06139992,組合,1234,567,00,01,1,山田 太郎,ヤマダ タロウ,1980-04-01,1,東京都,2020-04-01,030\n\
            123456789018,06139992,組合,1234,568,00,01,1,山田 太郎,ヤマダ タロウ,1980-04-01,1,東京都,2020-04-01\n";
        let rows = read_csv::<EnrollmentInput>(csv.as_bytes(), CSV_COLUMNS).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 2);
        assert!(rows[0].1.as_ref().unwrap().validate(today()).is_ok());
        assert_eq!(rows[1].0, 3);
        assert_eq!(rows[1].1.as_ref().unwrap_err().code(), "csv.row");
        let bad = read_csv::<EnrollmentInput>(b"my_number,colour\n1,2\n", CSV_COLUMNS).unwrap_err();
        assert_eq!(bad.code(), "csv.column");
        let missing = read_csv::<EnrollmentInput>(b"my_number\n1\n", CSV_COLUMNS).unwrap();
        assert_eq!(
            missing[0].1.as_ref().unwrap_err().code(),
            "insurer_number.missing"
        );
    }

    #[test]
    fn five_items_match_after_normalisation() {
        use openmyna_ids::MunicipalityCode;
        use openmyna_registry::Address;
        let (_, e) = input().validate(today()).unwrap();
        let reg = BasicFour {
            name: PersonName::parse("山田　太郎", "やまだ たろう").unwrap(),
            address: Address {
                municipality_code: MunicipalityCode::parse("131016").unwrap(),
                postal_code: None,
                text: "東京都千代田区千代田１－１－１".into(),
            },
            birth_date: NaiveDate::from_ymd_opt(1980, 4, 1).unwrap(),
            sex: Sex::Male,
        };
        assert_eq!(five_item_mismatches(&e.person, &reg), Vec::<&str>::new());
        let mut other = reg.clone();
        other.name = PersonName::parse("山田 花子", "ヤマダ ハナコ").unwrap();
        other.sex = Sex::Female;
        assert_eq!(
            five_item_mismatches(&e.person, &other),
            vec!["name", "name_kana", "sex"]
        );
    }
}
