//! The figures that a company's dashboard, its campaigns and an association's member view
//! publish, computed from the company's divisions, employees and answers: per division
//! subtree, ranked, over time. Every figure goes through [`Published`], so a withheld cell
//! stays withheld in the JSON, the charts and the reports alike.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::campaign::{self, Campaign};
use crate::dashboard::{
    self, CellNode, Counts, Division, Employee, Published, Report, Tally, Tree,
};

/// A company's data for tallies: its divisions, employees and every answer (in the order
/// they were made).
pub struct CompanyData {
    pub divisions: Vec<Division>,
    pub employees: Vec<Employee>,
    pub reports: Vec<Report>,
}

impl CompanyData {
    /// The tally on `day`: each employee's latest answer by then.
    pub fn tally(&self, tree: &Tree<'_>, day: NaiveDate) -> Tally {
        let answers = dashboard::answers_at(&self.reports, day);
        Tally::new(tree, &self.employees, &answers, day)
    }

    /// The company's total on `day`.
    pub fn total(&self, day: NaiveDate) -> Counts {
        self.tally(&Tree::new(&self.divisions), day).total
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DivisionFigures {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
    /// 0 for a top-level division (本部).
    pub depth: u32,
    /// Rank among the top-level divisions by card-holding rate (then registration rate).
    pub rank: Option<u32>,
    /// Everyone in the division and the divisions below it.
    pub figures: Published,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankEntry {
    pub rank: u32,
    pub division_id: i64,
    pub name: String,
    pub holding_rate: Option<f64>,
    pub registration_rate: Option<f64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesPoint {
    pub date: String,
    pub holding_rate: Option<f64>,
    pub registration_rate: Option<f64>,
    /// Top-level divisions (withheld ones have no rates).
    pub divisions: Vec<SeriesDivision>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesDivision {
    pub division_id: i64,
    pub holding_rate: Option<f64>,
    pub registration_rate: Option<f64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardView {
    pub organisation: String,
    pub as_of: String,
    /// Groups smaller than this publish no figures.
    pub min_cell: u32,
    pub total: Published,
    pub divisions: Vec<DivisionFigures>,
    pub ranking: Vec<RankEntry>,
    /// Month ends (and the day itself): the change over time.
    pub series: Vec<SeriesPoint>,
}

/// The top-level divisions ranked on the tally `t`.
pub fn ranking(tree: &Tree<'_>, t: &Tally) -> Vec<RankEntry> {
    t.ranking(tree)
        .into_iter()
        .filter_map(|(i, rank)| {
            let d = tree.divisions().get(i)?;
            let p = t.published(i);
            Some(RankEntry {
                rank,
                division_id: d.id,
                name: d.name.clone(),
                holding_rate: p.holding_rate,
                registration_rate: p.registration_rate,
            })
        })
        .collect()
}

/// The company's and each top-level division's rates on each of `days`.
pub fn series(data: &CompanyData, tree: &Tree<'_>, days: &[NaiveDate]) -> Vec<SeriesPoint> {
    days.iter()
        .map(|d| {
            let t = data.tally(tree, *d);
            let total = t.published_total();
            SeriesPoint {
                date: d.to_string(),
                holding_rate: total.holding_rate,
                registration_rate: total.registration_rate,
                divisions: tree
                    .divisions()
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| tree.parent(*i).is_none())
                    .map(|(i, d)| {
                        let p = t.published(i);
                        SeriesDivision {
                            division_id: d.id,
                            holding_rate: p.holding_rate,
                            registration_rate: p.registration_rate,
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The dashboard on `day`: the company and each division subtree, the ranking of the
/// top-level divisions, and the month ends of the last `months` months.
pub fn dashboard(
    data: &CompanyData,
    organisation: &str,
    day: NaiveDate,
    months: u32,
) -> DashboardView {
    let tree = Tree::new(&data.divisions);
    let t = data.tally(&tree, day);
    let ranks: HashMap<usize, u32> = t.ranking(&tree).into_iter().collect();
    let divisions = tree
        .ordered()
        .into_iter()
        .filter_map(|i| {
            let d = tree.divisions().get(i)?;
            Some(DivisionFigures {
                id: d.id,
                name: d.name.clone(),
                parent_id: tree
                    .parent(i)
                    .and_then(|p| tree.divisions().get(p))
                    .map(|p| p.id),
                depth: tree.depth(i),
                rank: ranks.get(&i).copied(),
                figures: t.published(i),
            })
        })
        .collect();
    let from = day
        .checked_sub_months(chrono::Months::new(months))
        .unwrap_or(day);
    let points = dashboard::month_ends(from, day);
    DashboardView {
        organisation: organisation.to_owned(),
        as_of: day.to_string(),
        min_cell: dashboard::MIN_CELL,
        total: t.published_total(),
        divisions,
        ranking: ranking(&tree, &t),
        series: series(data, &tree, &points),
    }
}

/// The top-level divisions without figures: the lines of a trend chart.
pub fn top_level(data: &CompanyData) -> Vec<DivisionFigures> {
    let tree = Tree::new(&data.divisions);
    tree.divisions()
        .iter()
        .enumerate()
        .filter(|(i, _)| tree.parent(*i).is_none())
        .map(|(_, d)| DivisionFigures {
            id: d.id,
            name: d.name.clone(),
            parent_id: None,
            depth: 0,
            rank: None,
            figures: Published::new(Counts::default(), true),
        })
        .collect()
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeasureView {
    pub id: i64,
    pub kind: String,
    pub kind_name: String,
    pub on: String,
    pub note: String,
    pub reached: Option<i64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Award {
    /// The leading top-level division(s) at the end (equal rates share the award).
    pub divisions: Vec<RankEntry>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignView {
    pub id: i64,
    pub name: String,
    pub starts_on: String,
    pub ends_on: String,
    pub target_rate: i64,
    /// planned, running or ended.
    pub phase: String,
    pub measures: Vec<MeasureView>,
    /// The figures on the first day.
    pub at_start: Published,
    /// The figures at the end (or today while running).
    pub latest: Published,
    pub latest_on: String,
    /// Change of the card-holding rate since the start, in points.
    pub change: Option<f64>,
    /// Whether the target rate was reached (at the end, or so far).
    pub target_met: Option<bool>,
    pub ranking: Vec<RankEntry>,
    /// Once ended: the best division (キャンペーン終了時により取得率の高かった本部を表彰).
    pub award: Option<Award>,
    /// Weekly points through the campaign.
    pub series: Vec<SeriesPoint>,
}

/// A campaign's results on `today`: the figures at the start and at the end (or today while
/// it runs), the change, the target, the ranking, the award once it has ended, and weekly
/// points.
pub fn campaign(
    data: &CompanyData,
    id: i64,
    c: &Campaign,
    measures: Vec<MeasureView>,
    today: NaiveDate,
) -> CampaignView {
    let tree = Tree::new(&data.divisions);
    let latest_on = c.ends_on.min(today).max(c.starts_on);
    let start = data.tally(&tree, c.starts_on).published_total();
    let t = data.tally(&tree, latest_on);
    let latest = t.published_total();
    let phase = campaign::phase(c, today);
    let ranking = ranking(&tree, &t);
    let award = (phase == "ended").then(|| Award {
        divisions: ranking.iter().filter(|r| r.rank == 1).cloned().collect(),
    });
    let weeks = if phase == "planned" {
        Vec::new()
    } else {
        dashboard::weeks(c.starts_on, latest_on)
    };
    let target = f64::from(c.target_rate);
    CampaignView {
        id,
        name: c.name.clone(),
        starts_on: c.starts_on.to_string(),
        ends_on: c.ends_on.to_string(),
        target_rate: i64::from(c.target_rate),
        phase: phase.to_owned(),
        measures,
        change: match (start.holding_rate, latest.holding_rate) {
            (Some(a), Some(b)) => Some(((b - a) * 10.0).round() / 10.0),
            _ => None,
        },
        target_met: latest.holding_rate.map(|r| r >= target),
        at_start: start,
        latest,
        latest_on: latest_on.to_string(),
        ranking,
        award,
        series: series(data, &tree, &weeks),
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberFigures {
    pub organisation: String,
    pub corporate_number: Option<String>,
    pub kind: String,
    pub industry: Option<String>,
    pub rank: Option<u32>,
    pub figures: Published,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembersView {
    pub as_of: String,
    pub total: Published,
    pub members: Vec<MemberFigures>,
}

/// A member organisation of an association and the counts of the companies in its subtree.
pub struct Member {
    pub organisation: String,
    pub corporate_number: Option<String>,
    pub kind: String,
    pub industry: Option<String>,
    pub counts: Counts,
}

/// An association's figures per member organisation on `day`: small members (and cells that
/// would give them away) withheld, the published ones ranked the domain's way
/// ([`dashboard::rank_by_rates`]).
pub fn members(members: Vec<Member>, day: NaiveDate) -> MembersView {
    let nodes: Vec<CellNode> = members
        .iter()
        .map(|m| CellNode {
            parent: None,
            employees: m.counts.employees,
            direct: 0,
        })
        .collect();
    let mut total = Counts::default();
    for m in &members {
        total.employees += m.counts.employees;
        total.holders += m.counts.holders;
        total.registered += m.counts.registered;
        total.answered += m.counts.answered;
    }
    let (total_hidden, hidden) = dashboard::suppress(&nodes, 0, total.employees);
    let counts: Vec<Counts> = members.iter().map(|m| m.counts).collect();
    let mut out: Vec<MemberFigures> = members
        .into_iter()
        .zip(&hidden)
        .map(|(m, h)| MemberFigures {
            figures: Published::new(m.counts, *h),
            organisation: m.organisation,
            corporate_number: m.corporate_number,
            kind: m.kind,
            industry: m.industry,
            rank: None,
        })
        .collect();
    let published: Vec<(usize, Counts, &str)> = out
        .iter()
        .zip(&counts)
        .enumerate()
        .filter(|(_, (m, _))| m.figures.holding_rate.is_some())
        .map(|(i, (m, c))| (i, *c, m.organisation.as_str()))
        .collect();
    let ranks = dashboard::rank_by_rates(&published);
    for (i, rank) in ranks {
        if let Some(m) = out.get_mut(i) {
            m.rank = Some(rank);
        }
    }
    MembersView {
        as_of: day.to_string(),
        total: Published::new(total, total_hidden),
        members: out,
    }
}
