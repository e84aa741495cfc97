use std::fmt;

use chrono::NaiveDate;
use openmyna_core::{Timestamp, kana};
use openmyna_ids::{MunicipalityCode, MyNumber, ResidentCode};
use serde::{Deserialize, Serialize};

use crate::RegistryError;

/// Opaque resident identifier below 2^53 (exact in JSON numbers): milliseconds since
/// 2020-01-01 in the high 41 bits and 12 random bits below. Ids are roughly time-ordered, so
/// new rows append to the table's B-tree instead of landing on random pages (this makes bulk
/// loads several times faster), while the random bits keep them unguessable in sequence and
/// hide how many residents were registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResidentId(pub i64);

impl ResidentId {
    pub const MAX: i64 = (1 << 53) - 1;
    /// 2020-01-01T00:00:00Z in Unix milliseconds.
    const EPOCH_MS: i64 = 1_577_836_800_000;

    /// An id for something registered at `now`.
    pub fn generate(now: &openmyna_core::Timestamp, entropy: &dyn openmyna_core::Entropy) -> Self {
        Self::from_parts(now.timestamp_millis() - Self::EPOCH_MS, entropy.u64())
    }

    /// An id from milliseconds since 2020 and random bits (only the low 12 are used).
    pub fn from_parts(ms_since_2020: i64, random: u64) -> Self {
        let ms = ms_since_2020.clamp(0, (1 << 41) - 1);
        ResidentId((ms << 12 | (random & 0xfff) as i64).max(1))
    }

    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        match s.trim().parse::<i64>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(ResidentId(n)),
            _ => Err(RegistryError::invalid(
                "resident_id.format",
                "resident_id",
                format!("{s:?} is not a resident id (a positive integer below 2^53)"),
            )),
        }
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// 性別, coded per JIS X 0303: 1 男, 2 女, 9 適用不能.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
    NotApplicable,
}

impl Sex {
    pub fn code(self) -> u8 {
        match self {
            Sex::Male => 1,
            Sex::Female => 2,
            Sex::NotApplicable => 9,
        }
    }

    pub fn from_code(code: i64) -> Result<Self, RegistryError> {
        match code {
            1 => Ok(Sex::Male),
            2 => Ok(Sex::Female),
            9 => Ok(Sex::NotApplicable),
            other => Err(RegistryError::invalid(
                "sex.unknown",
                "sex",
                format!(
                    "sex code {other} is unknown; use 1 (男), 2 (女) or 9 (適用不能) per JIS X 0303"
                ),
            )),
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
            Sex::NotApplicable => "適用不能",
        }
    }
}

impl Serialize for Sex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for Sex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        Sex::from_code(n).map_err(serde::de::Error::custom)
    }
}

pub(crate) fn no_control(field: &'static str, s: &str) -> Result<(), RegistryError> {
    if let Some((i, c)) = s.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(RegistryError::invalid(
            format!("{field}.characters"),
            field,
            format!(
                "{field} has a control character {c:?} at position {}",
                i + 1
            ),
        ));
    }
    Ok(())
}

pub(crate) fn bounded(field: &'static str, s: &str, max: usize) -> Result<(), RegistryError> {
    let n = s.chars().count();
    if n == 0 {
        return Err(RegistryError::invalid(
            format!("{field}.empty"),
            field,
            format!("{field} is empty"),
        ));
    }
    if n > max {
        return Err(RegistryError::invalid(
            format!("{field}.length"),
            field,
            format!("{field} has {n} characters; at most {max} are allowed"),
        ));
    }
    Ok(())
}

/// Collapses runs of ASCII or full-width spaces into one full-width space and trims.
fn fold_spaces(s: &str) -> String {
    s.split([' ', '\u{3000}'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\u{3000}")
}

/// 氏名: the name as registered (kanji, with a full-width space between family and given
/// name) and its reading in katakana.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    pub name: String,
    pub name_kana: String,
}

impl PersonName {
    pub fn parse(name: &str, name_kana: &str) -> Result<Self, RegistryError> {
        let name = fold_spaces(name);
        no_control("name", &name)?;
        bounded("name", &name, 100)?;
        let kana = fold_spaces(&kana::to_katakana(name_kana));
        bounded("name_kana", &kana, 100)?;
        if !kana::is_katakana_name(&kana) {
            return Err(RegistryError::invalid(
                "name_kana.katakana",
                "name_kana",
                "name_kana must be written in kana (katakana or hiragana, spaces between parts)",
            ));
        }
        Ok(PersonName {
            name,
            name_kana: kana,
        })
    }
}

/// 郵便番号: 7 digits, written NNN-NNNN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PostalCode(String);

impl PostalCode {
    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        let digits: String = s.trim().chars().filter(|c| *c != '-').collect();
        if digits.len() != 7 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(RegistryError::invalid(
                "postal_code.format",
                "postal_code",
                format!("postal code {s:?} must be 7 digits, as NNN-NNNN"),
            ));
        }
        Ok(PostalCode(format!("{}-{}", &digits[..3], &digits[3..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 住所: the municipality (by its local-government code), the postal code, and the address as
/// written in the registry (都道府県 + 市区町村 + 町名・番地).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub municipality_code: MunicipalityCode,
    pub postal_code: Option<PostalCode>,
    pub text: String,
}

/// An address as submitted, before validation.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    pub municipality_code: String,
    #[serde(default)]
    pub postal_code: Option<String>,
    pub text: String,
}

impl AddressInput {
    pub fn validate(&self) -> Result<Address, RegistryError> {
        let municipality_code = MunicipalityCode::parse(&self.municipality_code)?;
        let postal_code = match self.postal_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => Some(PostalCode::parse(p)?),
        };
        let text = self.text.trim().to_owned();
        no_control("address", &text)?;
        bounded("address", &text, 200)?;
        Ok(Address {
            municipality_code,
            postal_code,
            text,
        })
    }
}

/// Earliest accepted birth date: the start of 明治, the first era the JPKI birth-date encoding
/// (`EYYYYMMDD`) names.
pub fn earliest_birth_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1868, 1, 25).unwrap_or(NaiveDate::MIN)
}

pub(crate) fn parse_birth_date(s: &str, today: NaiveDate) -> Result<NaiveDate, RegistryError> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        RegistryError::invalid(
            "birth_date.format",
            "birth_date",
            format!("birth date {s:?} is not a date in the form YYYY-MM-DD"),
        )
    })?;
    if d > today {
        return Err(RegistryError::invalid(
            "birth_date.future",
            "birth_date",
            format!("birth date {d} is after today ({today})"),
        ));
    }
    if d < earliest_birth_date() {
        return Err(RegistryError::invalid(
            "birth_date.too_early",
            "birth_date",
            format!("birth date {d} is before 1868-01-25 (明治)"),
        ));
    }
    Ok(d)
}

/// The basic four information (基本4情報).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasicFour {
    pub name: PersonName,
    pub address: Address,
    pub birth_date: NaiveDate,
    pub sex: Sex,
}

/// A registration request as submitted.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewResidentInput {
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    pub sex: i64,
    pub address: AddressInput,
    /// Assign this My Number instead of generating one (for migration of existing records).
    #[serde(default)]
    pub my_number: Option<String>,
}

/// A validated registration: everything a new resident row needs.
#[derive(Debug, Clone)]
pub struct NewResident {
    pub id: ResidentId,
    pub my_number: MyNumber,
    pub resident_code: ResidentCode,
    pub basic4: BasicFour,
    pub registered_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResidentStatus {
    Active,
    /// 死亡
    Deceased,
    /// 消除 (removed from the registry, e.g. 国外転出 or 職権消除)
    Removed,
}

impl ResidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResidentStatus::Active => "active",
            ResidentStatus::Deceased => "deceased",
            ResidentStatus::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(ResidentStatus::Active),
            "deceased" => Some(ResidentStatus::Deceased),
            "removed" => Some(ResidentStatus::Removed),
            _ => None,
        }
    }
}

impl fmt::Display for ResidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resident as held in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resident {
    pub id: ResidentId,
    pub my_number: MyNumber,
    pub resident_code: ResidentCode,
    pub basic4: BasicFour,
    pub status: ResidentStatus,
    /// Date of death or removal.
    pub status_date: Option<NaiveDate>,
    pub registered_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented by every change; used for optimistic concurrency.
    pub version: i64,
}

/// What happened to a resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Registered,
    AddressChanged,
    NameChanged,
    /// Correction of birth date or sex (職権修正).
    Corrected,
    Died,
    Removed,
    /// 転入 from abroad of a resident whose record was removed on emigration: the record is
    /// active again at the new address.
    Returned,
    /// Founded, joined or left a household (世帯), or a new 続柄.
    HouseholdChanged,
    /// 本籍・筆頭者 recorded or changed.
    DomicileChanged,
    /// 旧氏 recorded or removed (the name as printed changes: `changed` names `name`).
    FormerNameChanged,
    /// A seal registered (印鑑登録).
    InkanRegistered,
    /// A seal registration abolished (印鑑登録の廃止).
    InkanAbolished,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Registered => "registered",
            ChangeKind::AddressChanged => "address_changed",
            ChangeKind::NameChanged => "name_changed",
            ChangeKind::Corrected => "corrected",
            ChangeKind::Died => "died",
            ChangeKind::Removed => "removed",
            ChangeKind::Returned => "returned",
            ChangeKind::HouseholdChanged => "household_changed",
            ChangeKind::DomicileChanged => "domicile_changed",
            ChangeKind::FormerNameChanged => "former_name_changed",
            ChangeKind::InkanRegistered => "inkan_registered",
            ChangeKind::InkanAbolished => "inkan_abolished",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ChangeKind::Registered,
            ChangeKind::AddressChanged,
            ChangeKind::NameChanged,
            ChangeKind::Corrected,
            ChangeKind::Died,
            ChangeKind::Removed,
            ChangeKind::Returned,
            ChangeKind::HouseholdChanged,
            ChangeKind::DomicileChanged,
            ChangeKind::FormerNameChanged,
            ChangeKind::InkanRegistered,
            ChangeKind::InkanAbolished,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One entry of a resident's history: the values before and after, when it took effect, who
/// recorded it and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub resident_id: ResidentId,
    pub kind: ChangeKind,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub effective_date: NaiveDate,
    pub recorded_at: Timestamp,
    pub recorded_by: String,
    pub reason: Option<String>,
}

/// What the registry publishes when a resident changes. It carries no personal data: which
/// resident, what kind of change, which of the four information changed. Subscribers that are
/// entitled to the data read it from the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryEvent {
    pub kind: ChangeKind,
    pub resident_id: ResidentId,
    pub occurred_at: Timestamp,
    pub effective_date: NaiveDate,
    /// Which of `name`, `address`, `birth_date`, `sex` changed.
    pub changed: Vec<String>,
}

impl RegistryEvent {
    /// Whether this change revokes the resident's signing certificate (any change of the four
    /// information, death or removal).
    pub fn affects_basic4(&self) -> bool {
        !self.changed.is_empty() || matches!(self.kind, ChangeKind::Died | ChangeKind::Removed)
    }
}
