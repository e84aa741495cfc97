//! The parties of a campaign: companies (個社), industry associations (業界団体) with member
//! organisations, and the ministries (所管省庁) above them, each in an industry.

use crate::{CampaignError, named_enum};

named_enum! {
    /// What kind of party an employer organisation is.
    OrgKind, "kind" {
        /// 個社: has divisions and employees.
        Company = "company", "企業";
        /// 業界団体: has member organisations (companies or other associations).
        Association = "association", "業界団体";
        /// 所管省庁: receives reports from the organisations under it.
        Ministry = "ministry", "所管省庁";
    }
}

named_enum! {
    /// 日本標準産業分類 (JSIC, 2013 revision): the 20 major divisions (大分類).
    Industry, "industry" {
        A = "A", "農業，林業";
        B = "B", "漁業";
        C = "C", "鉱業，採石業，砂利採取業";
        D = "D", "建設業";
        E = "E", "製造業";
        F = "F", "電気・ガス・熱供給・水道業";
        G = "G", "情報通信業";
        H = "H", "運輸業，郵便業";
        I = "I", "卸売業，小売業";
        J = "J", "金融業，保険業";
        K = "K", "不動産業，物品賃貸業";
        L = "L", "学術研究，専門・技術サービス業";
        M = "M", "宿泊業，飲食サービス業";
        N = "N", "生活関連サービス業，娯楽業";
        O = "O", "教育，学習支援業";
        P = "P", "医療，福祉";
        Q = "Q", "複合サービス事業";
        R = "R", "サービス業（他に分類されないもの）";
        S = "S", "公務（他に分類されるものを除く）";
        T = "T", "分類不能の産業";
    }
}

/// Whether an organisation of kind `child` may sit under one of kind `parent`: a company
/// under an association or a ministry, an association under an association (a federation's
/// prefectural members) or a ministry; a ministry under nobody.
pub fn check_parent(child: OrgKind, parent: OrgKind) -> Result<(), CampaignError> {
    use OrgKind::*;
    match (child, parent) {
        (Company | Association, Association | Ministry) => Ok(()),
        (Ministry, _) => Err(CampaignError::invalid(
            "parent.ministry",
            "parent",
            "a ministry reports to nobody; it has no parent organisation",
        )),
        (Company | Association, Company) => Err(CampaignError::invalid(
            "parent.kind",
            "parent",
            "the parent must be an industry association or a ministry, not a company",
        )),
    }
}

/// The name of a division or organisation: 1–100 characters after trimming, no control
/// characters.
pub fn check_name(field: &str, s: &str) -> Result<String, CampaignError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 100 {
        return Err(CampaignError::invalid(
            format!("{field}.length"),
            field,
            format!("{field} must be 1 to 100 characters"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(CampaignError::invalid(
            format!("{field}.control"),
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(t.to_owned())
}

/// An employee number (社員番号): 1–20 letters, digits, `-` or `_`.
pub fn check_employee_no(s: &str) -> Result<String, CampaignError> {
    let t = s.trim();
    if t.is_empty()
        || t.len() > 20
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(CampaignError::invalid(
            "employee_no.format",
            "employee_no",
            "an employee number has 1 to 20 letters, digits, '-' or '_'",
        ));
    }
    Ok(t.to_owned())
}

/// Whether `candidate` lies in the subtree of `ancestor`, given each node's parent. Guards
/// against cycles: a chain longer than the number of nodes is treated as not reaching.
pub fn is_within(
    candidate: i64,
    ancestor: i64,
    parent_of: impl Fn(i64) -> Option<i64>,
    max_depth: usize,
) -> bool {
    let mut cur = Some(candidate);
    for _ in 0..=max_depth {
        match cur {
            Some(c) if c == ancestor => return true,
            Some(c) => cur = parent_of(c),
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents() {
        assert!(check_parent(OrgKind::Company, OrgKind::Association).is_ok());
        assert!(check_parent(OrgKind::Association, OrgKind::Ministry).is_ok());
        assert_eq!(
            check_parent(OrgKind::Company, OrgKind::Company)
                .unwrap_err()
                .code(),
            "parent.kind"
        );
        assert_eq!(
            check_parent(OrgKind::Ministry, OrgKind::Ministry)
                .unwrap_err()
                .code(),
            "parent.ministry"
        );
    }

    #[test]
    fn industries_and_names() {
        assert_eq!(Industry::ALL.len(), 20);
        assert_eq!(Industry::parse("J").unwrap().label_ja(), "金融業，保険業");
        assert_eq!(Industry::parse("Z").unwrap_err().code(), "industry.unknown");
        assert_eq!(check_name("name", "  営業本部 ").unwrap(), "営業本部");
        assert_eq!(check_name("name", " ").unwrap_err().code(), "name.length");
        assert_eq!(check_employee_no("E-0001").unwrap(), "E-0001");
        assert!(check_employee_no("E 1").is_err());
    }

    #[test]
    fn subtree_membership_survives_cycles() {
        let parent = |n: i64| match n {
            3 => Some(2),
            2 => Some(1),
            5 => Some(6),
            6 => Some(5),
            _ => None,
        };
        assert!(is_within(3, 1, parent, 10));
        assert!(!is_within(1, 3, parent, 10));
        assert!(!is_within(5, 1, parent, 10));
    }
}
