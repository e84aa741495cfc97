//! 情報提供等記録 as a hash chain: the rule by which each resident's access log proves that no
//! entry was altered, inserted or removed. Entry `seq` stores the hash of entry `seq - 1` and
//! its own hash over both and every field; the portal recomputes the chain and signs its head.
//! Storage (`openmyna-store`) appends entries by this rule and holds none of its own.

use openmyna_core::Timestamp;
use serde::Serialize;

/// The `prev_hash` of a resident's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One disclosure, as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct AccessEntry {
    pub id: i64,
    pub resident_id: i64,
    /// Position in the resident's chain, from 1.
    pub seq: i64,
    pub at: Timestamp,
    pub actor_org_id: i64,
    pub actor_name: String,
    pub actor_role: String,
    /// What was disclosed, e.g. `registry.basic4`, `registry.my_number`.
    pub category: String,
    /// Why, as stated by the requester.
    pub purpose: String,
    pub detail: String,
    pub prev_hash: String,
    pub entry_hash: String,
}

/// The hash of an entry: SHA-256 over the previous hash and every field, each written as its
/// byte length, a colon and its bytes (so that no two different entries hash alike).
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    resident_id: i64,
    at_micros: i64,
    org_id: i64,
    actor_name: &str,
    actor_role: &str,
    category: &str,
    purpose: &str,
    detail: &str,
) -> String {
    let mut b = Vec::with_capacity(256);
    for field in [
        prev_hash,
        &seq.to_string(),
        &resident_id.to_string(),
        &at_micros.to_string(),
        &org_id.to_string(),
        actor_name,
        actor_role,
        category,
        purpose,
        detail,
    ] {
        b.extend_from_slice(field.len().to_string().as_bytes());
        b.push(b':');
        b.extend_from_slice(field.as_bytes());
    }
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &b)
        .as_ref()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// What checking a resident's chain found.
#[derive(Debug, Clone, Serialize)]
pub struct ChainCheck {
    pub entries: usize,
    /// The last entry's position and hash (the genesis value for an empty log).
    pub head_seq: i64,
    pub head_hash: String,
    /// Whether every entry's hash is right and links to the one before it.
    pub intact: bool,
    /// The first entry that does not check, if any.
    pub broken_at_seq: Option<i64>,
}

/// Checks a chain given in order.
pub fn check_chain(entries: &[AccessEntry]) -> ChainCheck {
    let mut prev = GENESIS.to_owned();
    let mut broken = None;
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        let recomputed = entry_hash(
            &prev,
            e.seq,
            e.resident_id,
            e.at.timestamp_micros(),
            e.actor_org_id,
            &e.actor_name,
            &e.actor_role,
            &e.category,
            &e.purpose,
            &e.detail,
        );
        if e.seq != expected_seq || e.prev_hash != prev || e.entry_hash != recomputed {
            broken = Some(expected_seq);
            break;
        }
        prev = e.entry_hash.clone();
    }
    ChainCheck {
        entries: entries.len(),
        head_seq: entries.last().map(|e| e.seq).unwrap_or(0),
        head_hash: entries
            .last()
            .map(|e| e.entry_hash.clone())
            .unwrap_or_else(|| GENESIS.to_owned()),
        intact: broken.is_none(),
        broken_at_seq: broken,
    }
}

/// What an access-log category means, in plain Japanese (the portal's access-log page).
pub fn category_label(category: &str) -> String {
    let known = match category {
        "registry.basic4" => "住民票の基本4情報の閲覧",
        "registry.basic4+my_number" => "住民票の基本4情報とマイナンバーの閲覧",
        "registry.history" => "住民票の異動履歴の閲覧",
        "registry.household" => "世帯・続柄の閲覧",
        "registry.domicile" => "本籍・筆頭者の閲覧",
        "registry.former_name" => "旧氏の閲覧",
        "registry.inkan" => "印鑑登録の閲覧",
        "certificate.konbini" => "コンビニ交付による証明書の交付",
        "employer.my_number" => "勤務先によるマイナンバーの取扱い",
        "jpki.latest_basic4" => "最新の基本4情報の提供（民間事業者）",
        "jpki.latest_basic4.consent" => "最新の基本4情報の提供への同意の記録",
        "jpki.verification" => "電子証明書による本人確認（民間事業者の署名検証）",
        "oqs.eligibility" => "医療機関・薬局での資格確認",
        "oqs.limit_amount" => "限度額情報の提供",
        "oqs.clinical" => "診療・薬剤情報の提供",
        "oqs.surgery" => "手術情報の提供",
        "oqs.checkup" => "特定健診等の情報の提供",
        "jpki.console_search" => "電子証明書の検索（運用者）",
        _ => "",
    };
    if known.is_empty() {
        category.to_owned()
    } else {
        known.to_owned()
    }
}

/// What a consent covers at a medical institution, in plain Japanese.
pub fn consent_label(category: &str) -> &str {
    match category {
        "clinical" => "診療・薬剤情報",
        "surgery" => "手術情報",
        "checkup" => "特定健診等の情報",
        "limit_amount" => "限度額情報",
        other => other,
    }
}

/// An item of the basic four information, in Japanese.
pub fn item_label(item: &str) -> &str {
    match item {
        "name" => "氏名",
        "address" => "住所",
        "birth_date" => "生年月日",
        "sex" => "性別",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openmyna_core::Role;

    fn entry(seq: i64, prev: &str, detail: &str) -> AccessEntry {
        let at = chrono::DateTime::parse_from_rfc3339("2026-04-01T09:00:00+09:00").unwrap();
        let hash = entry_hash(
            prev,
            seq,
            7,
            at.timestamp_micros(),
            3,
            "clinic",
            Role::MedicalInstitution.as_str(),
            "oqs.eligibility",
            "why",
            detail,
        );
        AccessEntry {
            id: seq,
            resident_id: 7,
            seq,
            at,
            actor_org_id: 3,
            actor_name: "clinic".into(),
            actor_role: "medical_institution".into(),
            category: "oqs.eligibility".into(),
            purpose: "why".into(),
            detail: detail.into(),
            prev_hash: prev.into(),
            entry_hash: hash,
        }
    }

    #[test]
    fn categories_read_in_plain_japanese() {
        assert_eq!(
            category_label("oqs.eligibility"),
            "医療機関・薬局での資格確認"
        );
        assert_eq!(category_label("something.new"), "something.new");
        assert_eq!(consent_label("clinical"), "診療・薬剤情報");
        assert_eq!(item_label("birth_date"), "生年月日");
    }

    #[test]
    fn a_chain_checks_and_any_change_breaks_it() {
        let a = entry(1, GENESIS, "first");
        let b = entry(2, &a.entry_hash, "second");
        let c = entry(3, &b.entry_hash, "third");
        let chain = vec![a.clone(), b.clone(), c.clone()];
        let ok = check_chain(&chain);
        assert!(ok.intact);
        assert_eq!(
            (ok.head_seq, ok.head_hash.as_str()),
            (3, c.entry_hash.as_str())
        );
        let mut altered = chain.clone();
        altered[1].detail = "changed".into();
        assert_eq!(check_chain(&altered).broken_at_seq, Some(2));
        let removed = vec![a.clone(), c.clone()];
        assert_eq!(check_chain(&removed).broken_at_seq, Some(2));
        // Fields cannot be shifted across the separator.
        assert_ne!(
            entry_hash(GENESIS, 1, 7, 0, 3, "ab", "c", "x", "y", "z"),
            entry_hash(GENESIS, 1, 7, 0, 3, "a", "bc", "x", "y", "z")
        );
    }
}
