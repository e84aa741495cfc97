//! The report to the supervising ministry (所管省庁への報告): per organisation and per
//! industry, the card-holding and registration figures, the measures taken and the on-site
//! sessions' results; the industries in the bottom third of holding rates are flagged, as
//! the notice asks those industries to accept on-site sessions and report their results.
//!
//! The CSV layout is [`CSV_COLUMNS`] (documented in docs/campaigns.md): UTF-8, a header row,
//! then one row per organisation (`record_type` = `organisation`), one per industry
//! (`industry`) and the total (`total`). Withheld figures (groups under 5 employees and the
//! cells that would give them away) are empty.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::campaign::MeasureKind;
use crate::dashboard::{CellNode, Counts, Published, suppress};
use crate::org::{Industry, OrgKind};

/// One organisation's figures.
#[derive(Debug, Clone)]
pub struct OrgFigures {
    pub corporate_number: String,
    pub name: String,
    pub kind: OrgKind,
    pub industry: Option<Industry>,
    pub parent: Option<String>,
    /// Companies only; associations report through their members.
    pub counts: Option<Counts>,
    pub measures: BTreeMap<MeasureKind, u32>,
    pub sessions_held: u32,
    pub session_applications: u32,
    pub session_delivered: u32,
}

/// The columns of the ministry CSV, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "record_type",
    "as_of",
    "corporate_number",
    "organisation",
    "kind",
    "parent",
    "industry_code",
    "industry_name",
    "employees",
    "card_holders",
    "holding_rate",
    "insurance_registered",
    "registration_rate",
    "on_site_session",
    "support_session",
    "paid_leave",
    "video",
    "poster",
    "newsletter",
    "radio",
    "sessions_held",
    "session_applications",
    "session_cards_delivered",
    "bottom_third",
];

/// One row of the report.
#[derive(Debug, Clone)]
pub struct Row {
    pub record_type: &'static str,
    pub corporate_number: String,
    pub organisation: String,
    pub kind: String,
    pub parent: String,
    pub industry: Option<Industry>,
    pub figures: Option<Published>,
    pub measures: BTreeMap<MeasureKind, u32>,
    pub sessions_held: u32,
    /// Withheld (`None`) with the row's figures: applications and cards of a small company
    /// would tell its employees' card status.
    pub session_applications: Option<u32>,
    pub session_delivered: Option<u32>,
    pub bottom_third: bool,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub as_of: NaiveDate,
    pub rows: Vec<Row>,
    /// The industries flagged, lowest rate first.
    pub bottom_third: Vec<Industry>,
}

#[derive(Default, Clone)]
struct Sum {
    counts: Counts,
    measures: BTreeMap<MeasureKind, u32>,
    held: u32,
    applications: u32,
    delivered: u32,
}

impl Sum {
    fn add(&mut self, o: &OrgFigures) {
        if let Some(c) = o.counts {
            self.counts.employees += c.employees;
            self.counts.holders += c.holders;
            self.counts.registered += c.registered;
            self.counts.answered += c.answered;
        }
        for (k, v) in &o.measures {
            *self.measures.entry(*k).or_default() += v;
        }
        self.held += o.sessions_held;
        self.applications += o.session_applications;
        self.delivered += o.session_delivered;
    }
}

fn rate_lt(a: &Counts, b: &Counts) -> std::cmp::Ordering {
    (u64::from(a.holders) * u64::from(b.employees))
        .cmp(&(u64::from(b.holders) * u64::from(a.employees)))
}

/// Builds the report: organisations sorted by industry and name, then the industries, then
/// the total.
pub fn build(orgs: &[OrgFigures], as_of: NaiveDate) -> Report {
    let mut orgs: Vec<&OrgFigures> = orgs.iter().collect();
    orgs.sort_by(|a, b| {
        (a.industry, &a.name, &a.corporate_number).cmp(&(b.industry, &b.name, &b.corporate_number))
    });
    let mut by_industry: BTreeMap<Option<Industry>, Sum> = BTreeMap::new();
    let mut total = Sum::default();
    for o in &orgs {
        by_industry.entry(o.industry).or_default().add(o);
        total.add(o);
    }
    // Suppression over two levels: industries under the total, companies under industries.
    let industries: Vec<(Option<Industry>, &Sum)> =
        by_industry.iter().map(|(i, s)| (*i, s)).collect();
    let mut nodes: Vec<CellNode> = industries
        .iter()
        .map(|(_, s)| CellNode {
            parent: None,
            employees: s.counts.employees,
            direct: 0,
        })
        .collect();
    let org_node: Vec<Option<usize>> = orgs
        .iter()
        .map(|o| {
            o.counts.map(|c| {
                let parent = industries.iter().position(|(i, _)| *i == o.industry);
                nodes.push(CellNode {
                    parent,
                    employees: c.employees,
                    direct: 0,
                });
                nodes.len() - 1
            })
        })
        .collect();
    let (total_hidden, hidden) = suppress(&nodes, 0, total.counts.employees);
    // The bottom third of the industries with a published rate (ties at the edge included).
    // The industries come first among the nodes.
    let mut ranked: Vec<(Counts, Industry)> = industries
        .iter()
        .zip(&hidden)
        .filter(|((_, s), hidden)| !**hidden && s.counts.employees > 0)
        .filter_map(|((i, s), _)| i.map(|i| (s.counts, i)))
        .collect();
    ranked.sort_by(|a, b| rate_lt(&a.0, &b.0).then(a.1.cmp(&b.1)));
    let cut = ranked.len().div_ceil(3);
    let mut flagged: Vec<Industry> = Vec::new();
    if let Some(&(edge, _)) = cut.checked_sub(1).and_then(|last| ranked.get(last)) {
        for (c, i) in &ranked {
            if flagged.len() < cut || rate_lt(c, &edge).is_eq() {
                flagged.push(*i);
            } else {
                break;
            }
        }
    }
    let mut rows = Vec::new();
    for (o, node) in orgs.iter().zip(&org_node) {
        // `suppress` answers for every node.
        let org_hidden = node.map(|n| hidden.get(n).copied().unwrap_or(true));
        rows.push(Row {
            record_type: "organisation",
            corporate_number: o.corporate_number.clone(),
            organisation: o.name.clone(),
            kind: o.kind.as_str().to_owned(),
            parent: o.parent.clone().unwrap_or_default(),
            industry: o.industry,
            figures: o
                .counts
                .zip(org_hidden)
                .map(|(c, hidden)| Published::new(c, hidden)),
            measures: o.measures.clone(),
            sessions_held: o.sessions_held,
            session_applications: (org_hidden != Some(true)).then_some(o.session_applications),
            session_delivered: (org_hidden != Some(true)).then_some(o.session_delivered),
            bottom_third: o.industry.is_some_and(|i| flagged.contains(&i)),
        });
    }
    for (&(i, s), &hidden) in industries.iter().zip(&hidden) {
        rows.push(Row {
            record_type: "industry",
            corporate_number: String::new(),
            organisation: String::new(),
            kind: String::new(),
            parent: String::new(),
            industry: i,
            figures: Some(Published::new(s.counts, hidden)),
            measures: s.measures.clone(),
            sessions_held: s.held,
            session_applications: (!hidden).then_some(s.applications),
            session_delivered: (!hidden).then_some(s.delivered),
            bottom_third: i.is_some_and(|i| flagged.contains(&i)),
        });
    }
    rows.push(Row {
        record_type: "total",
        corporate_number: String::new(),
        organisation: String::new(),
        kind: String::new(),
        parent: String::new(),
        industry: None,
        figures: Some(Published::new(total.counts, total_hidden)),
        measures: total.measures.clone(),
        sessions_held: total.held,
        session_applications: (!total_hidden).then_some(total.applications),
        session_delivered: (!total_hidden).then_some(total.delivered),
        bottom_third: false,
    });
    Report {
        as_of,
        rows,
        bottom_third: flagged,
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn rate(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_default()
}

impl Report {
    /// The CSV text (UTF-8, CRLF line ends as spreadsheet tools expect).
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(CSV_COLUMNS)?;
        for r in &self.rows {
            let f = r.figures;
            let mut rec: Vec<String> = vec![
                r.record_type.to_owned(),
                self.as_of.to_string(),
                r.corporate_number.clone(),
                r.organisation.clone(),
                r.kind.clone(),
                r.parent.clone(),
                opt(r.industry.map(|i| i.as_str())),
                opt(r.industry.map(|i| i.label_ja())),
                opt(f.map(|f| f.employees)),
                opt(f.and_then(|f| f.holders)),
                rate(f.and_then(|f| f.holding_rate)),
                opt(f.and_then(|f| f.registered)),
                rate(f.and_then(|f| f.registration_rate)),
            ];
            for k in MeasureKind::ALL {
                rec.push(r.measures.get(k).copied().unwrap_or(0).to_string());
            }
            rec.push(r.sessions_held.to_string());
            rec.push(opt(r.session_applications));
            rec.push(opt(r.session_delivered));
            rec.push(if r.bottom_third { "1" } else { "0" }.to_owned());
            w.write_record(&rec)?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(name: &str, industry: Industry, employees: u32, holders: u32) -> OrgFigures {
        OrgFigures {
            corporate_number: format!("cn-{name}"),
            name: name.into(),
            kind: OrgKind::Company,
            industry: Some(industry),
            parent: Some("協会".into()),
            counts: Some(Counts {
                employees,
                holders,
                registered: holders / 2,
                answered: holders,
            }),
            measures: BTreeMap::from([(MeasureKind::Poster, 1)]),
            sessions_held: 1,
            session_applications: holders,
            session_delivered: holders / 2,
        }
    }

    #[test]
    fn industries_are_summed_and_the_bottom_third_flagged() {
        let orgs = vec![
            company("a", Industry::E, 10, 8),
            company("b", Industry::E, 10, 6),
            company("c", Industry::J, 20, 4),
            company("d", Industry::P, 10, 9),
            company("e", Industry::M, 10, 2),
            company("f", Industry::G, 10, 10),
        ];
        let as_of = NaiveDate::from_ymd_opt(2026, 8, 31).unwrap();
        let r = build(&orgs, as_of);
        // Rates: E 70%, J 20%, P 90%, M 20%, G 100% → 5 industries, bottom ceil(5/3)=2: J, M.
        assert_eq!(r.bottom_third, vec![Industry::J, Industry::M]);
        let e = r
            .rows
            .iter()
            .find(|x| x.record_type == "industry" && x.industry == Some(Industry::E))
            .unwrap();
        let f = e.figures.unwrap();
        assert_eq!(
            (f.employees, f.holders, f.holding_rate),
            (20, Some(14), Some(70.0))
        );
        assert_eq!(e.measures[&MeasureKind::Poster], 2);
        let csv = r.to_csv().unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next().unwrap(), CSV_COLUMNS.join(","));
        assert_eq!(csv.lines().count(), 1 + 6 + 5 + 1);
        assert!(csv.lines().any(
            |l| l.starts_with("organisation,2026-08-31,cn-c,c,company,協会,J,")
                && l.ends_with(",1")
        ));
        for line in csv.lines() {
            assert_eq!(line.split(',').count(), CSV_COLUMNS.len());
        }
    }

    #[test]
    fn small_companies_are_withheld_with_a_sibling() {
        let orgs = vec![
            company("a", Industry::E, 3, 3),
            company("b", Industry::E, 10, 6),
            company("c", Industry::J, 8, 4),
        ];
        let r = build(&orgs, NaiveDate::from_ymd_opt(2026, 8, 31).unwrap());
        let org = |n: &str| {
            r.rows
                .iter()
                .find(|x| x.organisation == n)
                .unwrap()
                .figures
                .unwrap()
        };
        assert!(org("a").suppressed && org("a").holding_rate.is_none());
        assert!(org("b").suppressed, "else E − b = a");
        assert!(!org("c").suppressed);
        let a = r.rows.iter().find(|x| x.organisation == "a").unwrap();
        assert_eq!((a.session_applications, a.session_delivered), (None, None));
    }
}
