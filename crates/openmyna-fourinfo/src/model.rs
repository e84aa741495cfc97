//! The data of the service.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use openmyna_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::FourInfoError;

/// The items a relying party may receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Item {
    /// 氏名 (with its kana reading).
    Name,
    /// 住所.
    Address,
    /// 生年月日.
    BirthDate,
    /// 性別.
    Sex,
}

impl Item {
    pub const ALL: [Item; 4] = [Item::Name, Item::Address, Item::BirthDate, Item::Sex];

    pub fn as_str(self) -> &'static str {
        match self {
            Item::Name => "name",
            Item::Address => "address",
            Item::BirthDate => "birth_date",
            Item::Sex => "sex",
        }
    }

    pub fn parse(s: &str) -> Result<Item, FourInfoError> {
        Item::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| {
                FourInfoError::invalid(
                    "items.unknown",
                    format!("{s:?} is not an item; items are name, address, birth_date, sex"),
                )
            })
    }

    /// A set of items from a list that must be non-empty and without repeats.
    pub fn set(list: &[Item]) -> Result<BTreeSet<Item>, FourInfoError> {
        let set: BTreeSet<Item> = list.iter().copied().collect();
        if set.is_empty() {
            return Err(FourInfoError::invalid(
                "items.empty",
                "at least one item is needed",
            ));
        }
        if set.len() != list.len() {
            return Err(FourInfoError::invalid(
                "items.repeated",
                "an item is listed twice",
            ));
        }
        Ok(set)
    }

    pub fn join(items: &BTreeSet<Item>) -> String {
        items
            .iter()
            .map(|i| i.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn split(s: &str) -> Result<BTreeSet<Item>, FourInfoError> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(Item::parse)
            .collect()
    }
}

/// What the customer declares about themselves in the consent; it must match the signing
/// certificate (a document signed with somebody else's card is refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HolderClaim {
    pub name: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
}

/// The consent a customer signs with the card's signing key: JSON (UTF-8), encapsulated in a
/// CMS SignedData.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsentDocument {
    /// Always `openmyna.fourinfo.consent/1`.
    pub kind: String,
    /// The relying party's organisation id at this installation.
    pub relying_party: i64,
    /// The relying party's reference for the customer (account number, customer number).
    pub customer_ref: String,
    pub items: Vec<Item>,
    /// Why the relying party wants the information, as shown to the customer.
    pub purpose: String,
    pub holder: HolderClaim,
}

pub const CONSENT_KIND: &str = "openmyna.fourinfo.consent/1";

impl ConsentDocument {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses and checks the form of a document.
    pub fn parse(bytes: &[u8]) -> Result<ConsentDocument, FourInfoError> {
        let d: ConsentDocument = serde_json::from_slice(bytes).map_err(|e| {
            FourInfoError::invalid(
                "consent.format",
                format!("the signed content is not a consent document: {e}"),
            )
        })?;
        if d.kind != CONSENT_KIND {
            return Err(FourInfoError::invalid(
                "consent.kind",
                format!("kind must be {CONSENT_KIND:?}"),
            ));
        }
        let r = d.customer_ref.as_str();
        if r.is_empty() || r.chars().count() > 64 || r.chars().any(char::is_control) {
            return Err(FourInfoError::invalid(
                "consent.customer_ref",
                "customer_ref must be 1-64 printable characters",
            ));
        }
        if d.purpose.trim().is_empty() || d.purpose.chars().count() > 200 {
            return Err(FourInfoError::invalid(
                "consent.purpose",
                "purpose must be 1-200 characters",
            ));
        }
        Item::set(&d.items)?;
        Ok(d)
    }
}

/// How old a consent's signature may be when it is submitted.
pub const MAX_CONSENT_AGE_DAYS: i64 = 30;

/// How far in the future a signing time may be (clocks differ).
pub const MAX_CLOCK_SKEW_MINUTES: i64 = 5;

/// A consent's signing time against `now`: not in the future (beyond the clock skew allowed),
/// not older than [`MAX_CONSENT_AGE_DAYS`].
pub fn check_signing_time(signed_at: Timestamp, now: Timestamp) -> Result<(), FourInfoError> {
    if signed_at > now + chrono::Duration::minutes(MAX_CLOCK_SKEW_MINUTES) {
        return Err(FourInfoError::refused(
            "consent.signing_time",
            "the signing time is in the future",
        ));
    }
    if now - signed_at > chrono::Duration::days(MAX_CONSENT_AGE_DAYS) {
        return Err(FourInfoError::refused(
            "consent.stale",
            format!("the consent was signed more than {MAX_CONSENT_AGE_DAYS} days ago"),
        ));
    }
    Ok(())
}

impl ConsentDocument {
    /// The items of a document addressed to relying party `rp`, which must be registered for
    /// each of them.
    pub fn items_for(&self, rp: &RelyingParty) -> Result<BTreeSet<Item>, FourInfoError> {
        if self.relying_party != rp.org_id {
            return Err(FourInfoError::refused(
                "consent.relying_party",
                "the consent is addressed to another relying party",
            ));
        }
        let items = Item::set(&self.items)?;
        if let Some(extra) = items.difference(&rp.items).next() {
            return Err(FourInfoError::refused(
                "consent.items",
                format!(
                    "this relying party is not registered to receive {}",
                    extra.as_str()
                ),
            ));
        }
        Ok(items)
    }

    /// The declared customer is the holder of the signing card: the same name (spaces
    /// ignored) and birth date as the registry's.
    pub fn check_holder(&self, name: &str, birth_date: NaiveDate) -> Result<(), FourInfoError> {
        let compact = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        if compact(&self.holder.name) != compact(name)
            || self.holder.birth_date != birth_date.to_string()
        {
            return Err(FourInfoError::refused(
                "consent.holder_mismatch",
                "the document was not signed with the declared customer's card",
            ));
        }
        Ok(())
    }
}

/// A relying party's registration: the items it may receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelyingParty {
    pub org_id: i64,
    pub name: String,
    pub items: BTreeSet<Item>,
}

/// A stored consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub id: i64,
    pub rp_org_id: i64,
    pub resident_id: i64,
    pub customer_ref: String,
    pub items: BTreeSet<Item>,
    pub purpose: String,
    /// The signing certificate the relying party follows now (moves to the new one after a
    /// change was reported).
    pub sign_serial: String,
    /// The certificate that signed the consent.
    pub consent_serial: String,
    pub created_at: Timestamp,
    pub withdrawn_at: Option<Timestamp>,
    pub withdrawn_reason: Option<String>,
}

impl Consent {
    pub fn live(&self) -> bool {
        self.withdrawn_at.is_none()
    }
}

/// The consented items' latest values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestItems {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_kana: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// JIS X 0303: 1 男, 2 女, 9 適用不能.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<u8>,
}

/// The answer to a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The followed signing certificate is still valid: nothing changed.
    Unchanged { sign_serial: String },
    /// The certificate was revoked and a new one issued: the latest consented items and the
    /// new serial. The answer is repeated until the relying party follows the new serial
    /// (`follow`), so a lost answer is not lost information.
    Changed {
        revoked_serial: String,
        revoked_at: String,
        new_sign_serial: String,
        latest: LatestItems,
    },
    /// The followed certificate expired without being revoked (no change of the 4
    /// information is known); a new consent signed with the new certificate is needed.
    Expired {
        sign_serial: String,
        expired_at: String,
    },
    /// Revoked, and no new signing certificate yet.
    NoNewCertificate {
        revoked_serial: String,
        revoked_at: String,
    },
    /// The customer died (死亡).
    Deceased { date: Option<String> },
    /// The residence record was removed (e.g. moved abroad; 住民票の消除).
    Removed { date: Option<String> },
}

impl Outcome {
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Unchanged { .. } => "unchanged",
            Outcome::Expired { .. } => "expired",
            Outcome::Changed { .. } => "changed",
            Outcome::NoNewCertificate { .. } => "no_new_certificate",
            Outcome::Deceased { .. } => "deceased",
            Outcome::Removed { .. } => "removed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn code(e: &FourInfoError) -> &str {
        match e {
            FourInfoError::Refusal(r) => r.code(),
            _ => "",
        }
    }

    fn at(day: u32, hour: u32, minute: u32) -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 12, day, hour, minute, 0)
            .unwrap()
            .fixed_offset()
    }

    fn document(items: Vec<Item>) -> ConsentDocument {
        ConsentDocument {
            kind: CONSENT_KIND.into(),
            relying_party: 7,
            customer_ref: "acct-1".into(),
            items,
            purpose: "口座開設".into(),
            holder: HolderClaim {
                name: "山田 太郎".into(),
                birth_date: "1980-02-17".into(),
            },
        }
    }

    fn bank(items: &[Item]) -> RelyingParty {
        RelyingParty {
            org_id: 7,
            name: "bank".into(),
            items: items.iter().copied().collect(),
        }
    }

    #[test]
    fn signing_time_within_the_window() {
        let now = at(20, 12, 0);
        assert!(check_signing_time(now, now).is_ok());
        assert!(
            check_signing_time(at(20, 12, 5), now).is_ok(),
            "5 minutes of skew"
        );
        let future = check_signing_time(at(20, 12, 6), now).unwrap_err();
        assert_eq!(code(&future), "consent.signing_time");
        // Exactly 30 days is still accepted; a minute more is stale.
        let edge = now - chrono::Duration::days(MAX_CONSENT_AGE_DAYS);
        assert!(check_signing_time(edge, now).is_ok());
        let stale = check_signing_time(edge - chrono::Duration::minutes(1), now).unwrap_err();
        assert_eq!(code(&stale), "consent.stale");
    }

    #[test]
    fn items_must_be_registered_and_the_document_addressed_to_us() {
        let all = [Item::Name, Item::Address, Item::BirthDate, Item::Sex];
        let doc = document(vec![Item::Address, Item::Name]);
        let items = doc.items_for(&bank(&all)).unwrap();
        assert_eq!(items, [Item::Name, Item::Address].into_iter().collect());

        let narrow = doc.items_for(&bank(&[Item::Name])).unwrap_err();
        assert_eq!(code(&narrow), "consent.items");
        assert!(narrow.to_string().contains(Item::Address.as_str()));

        let other = RelyingParty {
            org_id: 8,
            ..bank(&all)
        };
        assert_eq!(
            code(&doc.items_for(&other).unwrap_err()),
            "consent.relying_party"
        );
    }

    #[test]
    fn the_holder_is_the_declared_customer() {
        let doc = document(vec![Item::Name]);
        let born = NaiveDate::from_ymd_opt(1980, 2, 17).unwrap();
        assert!(
            doc.check_holder("山田太郎", born).is_ok(),
            "spaces are ignored"
        );
        assert!(
            doc.check_holder("山田　太郎", born).is_ok(),
            "a full-width space too"
        );
        let other_name = doc.check_holder("山田花子", born).unwrap_err();
        assert_eq!(code(&other_name), "consent.holder_mismatch");
        let other_day = NaiveDate::from_ymd_opt(1980, 2, 18).unwrap();
        assert_eq!(
            code(&doc.check_holder("山田太郎", other_day).unwrap_err()),
            "consent.holder_mismatch"
        );
    }
}
