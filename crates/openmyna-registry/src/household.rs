//! 世帯 (households), 続柄 (each member's relationship to the head of the household) and
//! 本籍・筆頭者 (the registered domicile of the family register and the person first in it),
//! which the resident record (住民票) carries beside the basic four information.
//!
//! A resident is in at most one household. Creating a household makes its first member its
//! head (世帯主); others join with a 続柄 as the 住民票 prints it. A resident who joins or
//! founds a household leaves the one they were in (世帯分離, 世帯合併, a move); a head who
//! still has members cannot leave (the head is changed first). Every change is the resident's
//! history (`household_changed`, `domicile_changed`) and a registry event with no personal
//! data and no change of the four information (the certificates are not touched).

use serde::{Deserialize, Serialize};

use crate::RegistryError;
use crate::model::{bounded, no_control};

/// A household's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HouseholdId(pub i64);

impl HouseholdId {
    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(HouseholdId(n)),
            _ => Err(RegistryError::invalid(
                "household_id.format",
                "household_id",
                format!("{s:?} is not a household id (a positive integer)"),
            )),
        }
    }
}

/// 世帯主: the head's own 続柄.
pub const HEAD: &str = "世帯主";

/// The 続柄 a member may have, as the 住民票 prints them (住民基本台帳事務処理要領: the
/// relationship to the head, 妻/夫 for the head's spouse, 子 for every child, 未届 for a
/// partner not married by notification, 縁故者 and 同居人 for others living with them).
const RELATIONSHIPS: &[&str] = &[
    "妻",
    "夫",
    "妻（未届）",
    "夫（未届）",
    "子",
    "妻の子",
    "夫の子",
    "子の妻",
    "子の夫",
    "孫",
    "父",
    "母",
    "妻の父",
    "妻の母",
    "夫の父",
    "夫の母",
    "祖父",
    "祖母",
    "兄",
    "姉",
    "弟",
    "妹",
    "おじ",
    "おば",
    "甥",
    "姪",
    "縁故者",
    "同居人",
];

/// 続柄 of a member other than the head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Relationship(String);

impl Relationship {
    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        let t = s.trim().replace('(', "（").replace(')', "）");
        if t == HEAD {
            return Err(RegistryError::invalid(
                "relationship.head",
                "relationship",
                "世帯主 is the head's own 続柄: create a household for the head, or change the head",
            ));
        }
        if RELATIONSHIPS.contains(&t.as_str()) {
            return Ok(Relationship(t));
        }
        Err(RegistryError::invalid(
            "relationship.unknown",
            "relationship",
            format!(
                "{s:?} is not a 続柄 the 住民票 prints; one of {}",
                RELATIONSHIPS.join(", ")
            ),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 本籍 and 筆頭者: where the resident's family register (戸籍) is kept and the name of the
/// person first in it. Printed on a 住民票の写し only when asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Domicile {
    /// 本籍: a prefecture, city and 地番 or 街区符号, e.g. 東京都千代田区千代田一番.
    pub honseki: String,
    /// 筆頭者: the name of the person first in the family register.
    pub hittosha: String,
}

impl Domicile {
    pub fn parse(honseki: &str, hittosha: &str) -> Result<Self, RegistryError> {
        let honseki = honseki.trim();
        let hittosha = hittosha.trim();
        bounded("honseki", honseki, 200)?;
        no_control("honseki", honseki)?;
        bounded("hittosha", hittosha, 100)?;
        no_control("hittosha", hittosha)?;
        Ok(Domicile {
            honseki: honseki.to_owned(),
            hittosha: hittosha
                .split([' ', '\u{3000}'])
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("\u{3000}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relationships_are_those_the_juminhyo_prints() {
        assert_eq!(Relationship::parse(" 子 ").unwrap().as_str(), "子");
        assert_eq!(
            Relationship::parse("妻(未届)").unwrap().as_str(),
            "妻（未届）"
        );
        for (bad, code) in [
            ("世帯主", "relationship.head"),
            ("娘", "relationship.unknown"),
        ] {
            match Relationship::parse(bad) {
                Err(RegistryError::Invalid(r)) => assert_eq!(r.code(), code),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_domicile_needs_both_parts() {
        let d = Domicile::parse("東京都千代田区千代田一番", "山田 太郎").unwrap();
        assert_eq!(d.hittosha, "山田\u{3000}太郎");
        assert!(Domicile::parse("", "山田").is_err());
        assert!(Domicile::parse("東京都", "山\u{7}田").is_err());
    }

    #[test]
    fn household_ids_are_positive() {
        assert_eq!(HouseholdId::parse("12").unwrap(), HouseholdId(12));
        assert!(HouseholdId::parse("0").is_err());
        assert!(HouseholdId::parse("x").is_err());
    }
}

/// 旧氏: a former surname the resident asked to have recorded beside the name (since
/// 2019-11-05 on the 住民票 and the card, for example 山田（佐藤）太郎).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FormerName {
    /// 旧氏, e.g. 佐藤.
    pub kyuushi: String,
    /// Its reading in katakana, e.g. サトウ.
    pub kyuushi_kana: String,
}

impl FormerName {
    pub fn parse(kyuushi: &str, kana: &str) -> Result<Self, RegistryError> {
        let kyuushi = kyuushi.trim();
        let kana = kana.trim();
        bounded("kyuushi", kyuushi, 30)?;
        no_control("kyuushi", kyuushi)?;
        bounded("kyuushi_kana", kana, 60)?;
        if !kana.chars().all(|c| ('\u{30A1}'..='\u{30FC}').contains(&c)) {
            return Err(RegistryError::invalid(
                "kyuushi_kana.katakana",
                "kyuushi_kana",
                "the reading of the 旧氏 is written in full-width katakana",
            ));
        }
        Ok(FormerName {
            kyuushi: kyuushi.to_owned(),
            kyuushi_kana: kana.to_owned(),
        })
    }
}

/// The age from which a resident may register a seal (印鑑登録): 15, as most municipalities'
/// 印鑑条例 set it.
pub const INKAN_MIN_AGE: u32 = 15;

/// The largest seal impression image taken.
pub const INKAN_MAX_IMAGE: usize = 256 * 1024;

/// The picture of a registered seal's impression (印影), PNG or JPEG.
#[derive(Clone, PartialEq, Eq)]
pub struct InkanImage {
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
}

impl std::fmt::Debug for InkanImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "InkanImage({}, {} bytes)",
            self.media_type,
            self.bytes.len()
        )
    }
}

impl InkanImage {
    pub fn parse(bytes: Vec<u8>) -> Result<Self, RegistryError> {
        let bad = |code: &str, m: String| RegistryError::invalid(code.to_owned(), "image", m);
        if bytes.is_empty() {
            return Err(bad(
                "image.empty",
                "the seal impression image is empty".into(),
            ));
        }
        if bytes.len() > INKAN_MAX_IMAGE {
            return Err(bad(
                "image.size",
                format!(
                    "the image has {} bytes; at most {INKAN_MAX_IMAGE} are taken",
                    bytes.len()
                ),
            ));
        }
        let media_type = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            "image/png"
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            "image/jpeg"
        } else {
            return Err(bad(
                "image.format",
                "the seal impression is a PNG or JPEG image".into(),
            ));
        };
        Ok(InkanImage { bytes, media_type })
    }
}

/// Whether a resident born on `birth` may register a seal on `today`.
pub fn may_register_inkan(
    birth: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> Result<(), RegistryError> {
    let age = openmyna_core::age_on(birth, today);
    if age < INKAN_MIN_AGE {
        return Err(RegistryError::invalid(
            "inkan.age",
            "resident_id",
            format!("a seal is registered from {INKAN_MIN_AGE}; the resident is {age}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn former_names_and_seal_images() {
        assert!(FormerName::parse("佐藤", "サトウ").is_ok());
        assert!(FormerName::parse("佐藤", "さとう").is_err());
        assert!(FormerName::parse("", "サトウ").is_err());
        assert_eq!(
            InkanImage::parse(b"\x89PNG\r\n\x1a\nrest".to_vec())
                .unwrap()
                .media_type,
            "image/png"
        );
        assert!(InkanImage::parse(b"GIF89a".to_vec()).is_err());
        assert!(InkanImage::parse(vec![0xFF; INKAN_MAX_IMAGE + 1]).is_err());
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(may_register_inkan(d("2011-12-04"), d("2026-12-04")).is_ok());
        assert!(may_register_inkan(d("2011-12-05"), d("2026-12-04")).is_err());
    }
}
