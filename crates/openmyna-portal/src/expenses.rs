//! 医療費通知情報 for the tax return's medical-expense deduction: one calendar year's notices
//! as XML and as CSV, carrying the items a 医療費通知 must show (国税庁: the insured's name, the
//! month of treatment, the patient, the institution, the amount paid, the insurer).

use openmyna_core::xml_escape as esc;
use serde::Serialize;

/// Who the notices are about and from.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeHeader {
    pub year: i32,
    /// 被保険者等の氏名.
    pub insured_name: String,
    pub insurer_name: String,
    pub insurer_number: String,
    /// The date the file was made (YYYY-MM-DD).
    pub created_on: String,
}

/// One month at one institution.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeLine {
    /// 診療年月, YYYY-MM.
    pub month: String,
    /// 受診者の氏名.
    pub patient: String,
    /// 医療機関等の名称.
    pub facility: String,
    /// 医科, 歯科, 調剤 or 訪問看護.
    pub facility_kind: String,
    pub days: u16,
    /// 医療費の額.
    pub total_cost_yen: u32,
    /// 窓口負担相当額 (what was paid).
    pub paid_yen: u32,
}

/// The Japanese label of a facility kind code.
pub fn facility_kind_ja(code: &str) -> &'static str {
    match code {
        "dental" => "歯科",
        "pharmacy" => "調剤",
        "home_nursing" => "訪問看護",
        _ => "医科",
    }
}

/// The year's notices as XML (UTF-8; namespace `urn:openmyna:iryohi-tsuchi:1`; the layout
/// is in docs/portal.md).
pub fn to_xml(h: &NoticeHeader, lines: &[NoticeLine]) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<医療費通知 xmlns=\"urn:openmyna:iryohi-tsuchi:1\" 対象年=\"{}\" 作成日=\"{}\">\n",
        h.year,
        esc(&h.created_on)
    ));
    x.push_str(&format!(
        "  <被保険者 氏名=\"{}\"/>\n  <保険者 名称=\"{}\" 保険者番号=\"{}\"/>\n",
        esc(&h.insured_name),
        esc(&h.insurer_name),
        esc(&h.insurer_number)
    ));
    let (mut total, mut paid) = (0u64, 0u64);
    for l in lines {
        total += u64::from(l.total_cost_yen);
        paid += u64::from(l.paid_yen);
        x.push_str(&format!(
            "  <明細 診療年月=\"{}\" 受診者=\"{}\" 医療機関等=\"{}\" 区分=\"{}\" 日数=\"{}\" 医療費の額=\"{}\" 窓口負担相当額=\"{}\"/>\n",
            esc(&l.month),
            esc(&l.patient),
            esc(&l.facility),
            esc(&l.facility_kind),
            l.days,
            l.total_cost_yen,
            l.paid_yen
        ));
    }
    x.push_str(&format!(
        "  <合計 件数=\"{}\" 医療費の額=\"{total}\" 窓口負担相当額=\"{paid}\"/>\n</医療費通知>\n",
        lines.len()
    ));
    x
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The year's notices as CSV (UTF-8 with a header row).
pub fn to_csv(h: &NoticeHeader, lines: &[NoticeLine]) -> String {
    let mut c = String::from(
        "診療年月,受診者,医療機関等,区分,日数,医療費の額,窓口負担相当額,被保険者,保険者\n",
    );
    for l in lines {
        c.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            csv_field(&l.month),
            csv_field(&l.patient),
            csv_field(&l.facility),
            csv_field(&l.facility_kind),
            l.days,
            l.total_cost_yen,
            l.paid_yen,
            csv_field(&h.insured_name),
            csv_field(&h.insurer_name)
        ));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_and_totals() {
        let h = NoticeHeader {
            year: 2026,
            insured_name: "山田　太郎".into(),
            insurer_name: "A&B \"健保\"".into(),
            insurer_number: "01130012".into(),
            created_on: "2027-01-10".into(),
        };
        let l = NoticeLine {
            month: "2026-03".into(),
            patient: "山田　太郎".into(),
            facility: "<病院>".into(),
            facility_kind: "医科".into(),
            days: 2,
            total_cost_yen: 12000,
            paid_yen: 3600,
        };
        let x = to_xml(&h, &[l.clone(), l.clone()]);
        assert!(x.contains("名称=\"A&amp;B &quot;健保&quot;\""));
        assert!(x.contains("医療機関等=\"&lt;病院&gt;\""));
        assert!(x.contains("<合計 件数=\"2\" 医療費の額=\"24000\" 窓口負担相当額=\"7200\"/>"));
        let c = to_csv(&h, &[l]);
        assert_eq!(c.lines().count(), 2);
        assert!(c.contains("\"A&B \"\"健保\"\"\""));
    }
}
