//! 「数字で見える化」: employees' answers tallied per division subtree (本部単位で集計) and per
//! member organisation, with small-cell suppression so that no published figure discloses
//! one person's answer.
//!
//! **Suppression.** A cell (a division's subtree, a member organisation) with fewer than
//! [`MIN_CELL`] employees publishes no counts and no rates (primary suppression). Each parent
//! is the sum of its cells, so subtraction yields the hidden cells together: wherever the
//! hidden cells under a parent hold fewer than [`MIN_CELL`] people between them, one more cell
//! is hidden (secondary suppression) — the employees placed directly in the parent (not in a
//! child division) first, since they are never published on their own, else the smallest
//! published sibling. A hidden parent whose cells are all published would be their sum, so one
//! of them is hidden too. This runs to a fixed point.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::reports::Answer;

/// The smallest group whose answers are published.
pub const MIN_CELL: u32 = 5;

/// Counts of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    /// Employees in the group on the day.
    pub employees: u32,
    /// Of them, those whose latest answer says they hold the card.
    pub holders: u32,
    /// Of them, those registered for insurance use.
    pub registered: u32,
    /// Those who have answered at all (self-report or HR import).
    pub answered: u32,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.employees += o.employees;
        self.holders += o.holders;
        self.registered += o.registered;
        self.answered += o.answered;
    }

    fn count(&mut self, a: Option<&Answer>) {
        self.employees += 1;
        if let Some(a) = a {
            self.answered += 1;
            self.holders += u32::from(a.holds_card);
            self.registered += u32::from(a.insurance_registered);
        }
    }

    /// Compares holding rates exactly (cross-multiplied), then registration rates.
    fn cmp_rates(&self, o: &Counts) -> Ordering {
        let h = (u64::from(self.holders) * u64::from(o.employees))
            .cmp(&(u64::from(o.holders) * u64::from(self.employees)));
        h.then_with(|| {
            (u64::from(self.registered) * u64::from(o.employees))
                .cmp(&(u64::from(o.registered) * u64::from(self.employees)))
        })
    }
}

/// Percent with one decimal.
pub fn percent(part: u32, whole: u32) -> Option<f64> {
    if whole == 0 {
        return None;
    }
    Some((f64::from(part) * 1000.0 / f64::from(whole)).round() / 10.0)
}

/// What a published cell shows; `None` everywhere when suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Published {
    pub employees: u32,
    /// True when the counts are withheld (fewer than 5 employees, or to protect such a cell).
    pub suppressed: bool,
    pub holders: Option<u32>,
    pub registered: Option<u32>,
    pub answered: Option<u32>,
    /// Card holders per 100 employees (one decimal).
    pub holding_rate: Option<f64>,
    /// Insurance-use registrations per 100 employees.
    pub registration_rate: Option<f64>,
}

impl Published {
    pub fn new(c: Counts, suppressed: bool) -> Published {
        let shown = !suppressed && c.employees > 0;
        Published {
            employees: c.employees,
            suppressed,
            holders: shown.then_some(c.holders),
            registered: shown.then_some(c.registered),
            answered: shown.then_some(c.answered),
            holding_rate: if shown {
                percent(c.holders, c.employees)
            } else {
                None
            },
            registration_rate: if shown {
                percent(c.registered, c.employees)
            } else {
                None
            },
        }
    }
}

/// A division of a company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    pub id: i64,
    pub parent: Option<i64>,
    pub name: String,
}

/// An employee as the tally needs them (no name, no answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Employee {
    pub id: i64,
    pub division: Option<i64>,
    pub hired_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
}

impl Employee {
    /// Employed on `d` (hired by then, not yet left).
    pub fn active_on(&self, d: NaiveDate) -> bool {
        self.hired_on <= d && self.left_on.is_none_or(|l| l > d)
    }
}

/// One stored answer, dated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub employee: i64,
    pub on: NaiveDate,
    pub answer: Answer,
}

/// Each employee's latest answer on or before `d`; `reports` in the order they were made.
pub fn answers_at(reports: &[Report], d: NaiveDate) -> HashMap<i64, Answer> {
    let mut latest: HashMap<i64, (NaiveDate, Answer)> = HashMap::new();
    for r in reports.iter().filter(|r| r.on <= d) {
        match latest.get(&r.employee) {
            Some((on, _)) if *on > r.on => {}
            _ => {
                latest.insert(r.employee, (r.on, r.answer));
            }
        }
    }
    latest.into_iter().map(|(k, (_, a))| (k, a)).collect()
}

/// The parent of `i` in a parent table; `None` also for an index out of range.
fn up(parent: &[Option<usize>], i: usize) -> Option<usize> {
    parent.get(i).copied().flatten()
}

/// A company's divisions, indexed for the tally.
pub struct Tree<'a> {
    divisions: &'a [Division],
    index: HashMap<i64, usize>,
    parent: Vec<Option<usize>>,
    depth: Vec<u32>,
}

impl<'a> Tree<'a> {
    /// Builds the tree; a parent that is missing (or a cycle) makes the division a top-level
    /// one, so a damaged tree still tallies every employee once.
    pub fn new(divisions: &'a [Division]) -> Tree<'a> {
        let index: HashMap<i64, usize> = divisions
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id, i))
            .collect();
        let mut parent: Vec<Option<usize>> = divisions
            .iter()
            .map(|d| d.parent.and_then(|p| index.get(&p).copied()))
            .collect();
        let n = divisions.len();
        for i in 0..n {
            let mut cur = up(&parent, i);
            let mut steps = 0;
            while let Some(c) = cur {
                steps += 1;
                if c == i || steps > n {
                    if let Some(p) = parent.get_mut(i) {
                        *p = None;
                    }
                    break;
                }
                cur = up(&parent, c);
            }
        }
        let depth = (0..n)
            .map(|i| {
                let mut d = 0;
                let mut cur = up(&parent, i);
                while let Some(c) = cur {
                    d += 1;
                    cur = up(&parent, c);
                }
                d
            })
            .collect();
        Tree {
            divisions,
            index,
            parent,
            depth,
        }
    }

    pub fn divisions(&self) -> &[Division] {
        self.divisions
    }

    /// The depth of division `i` (0 for a top-level one, and for an index out of range).
    pub fn depth(&self, i: usize) -> u32 {
        self.depth.get(i).copied().unwrap_or(0)
    }

    /// The parent of division `i` (`None` for a top-level one, and for an index out of range).
    pub fn parent(&self, i: usize) -> Option<usize> {
        up(&self.parent, i)
    }

    pub fn index_of(&self, id: i64) -> Option<usize> {
        self.index.get(&id).copied()
    }

    /// Divisions in depth-first order (parents before children, siblings by name).
    pub fn ordered(&self) -> Vec<usize> {
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); self.divisions.len()];
        let mut roots = Vec::new();
        for i in 0..self.divisions.len() {
            match self.parent(i).and_then(|p| children.get_mut(p)) {
                Some(siblings) => siblings.push(i),
                None => roots.push(i),
            }
        }
        let by_name =
            |v: &mut Vec<usize>| v.sort_by_key(|&i| self.divisions.get(i).map(|d| d.name.as_str()));
        by_name(&mut roots);
        for c in children.iter_mut() {
            by_name(c);
        }
        let mut out = Vec::with_capacity(self.divisions.len());
        let mut stack: Vec<usize> = roots.into_iter().rev().collect();
        while let Some(i) = stack.pop() {
            out.push(i);
            if let Some(kids) = children.get(i) {
                stack.extend(kids.iter().rev());
            }
        }
        out
    }
}

/// The one ranking of campaigns (divisions, member organisations): by holding rate, then
/// registration rate, best first; equal rates share a rank (1, 1, 3); within a shared rank,
/// by name. Takes `(index, counts, name)` of the entries to rank and returns `(index, rank)`.
pub fn rank_by_rates(entries: &[(usize, Counts, &str)]) -> Vec<(usize, u32)> {
    let mut order: Vec<&(usize, Counts, &str)> = entries.iter().collect();
    order.sort_by(|a, b| b.1.cmp_rates(&a.1).then_with(|| a.2.cmp(b.2)));
    let mut out: Vec<(usize, u32)> = Vec::with_capacity(order.len());
    let mut prev: Option<&Counts> = None;
    for (pos, (i, c, _)) in order.iter().enumerate() {
        let rank = match (prev, out.last()) {
            (Some(p), Some(&(_, r))) if p.cmp_rates(c).is_eq() => r,
            _ => pos as u32 + 1,
        };
        out.push((*i, rank));
        prev = Some(c);
    }
    out
}

/// The tally of one company on one day.
#[derive(Debug, Clone)]
pub struct Tally {
    pub total: Counts,
    /// Per division (by tree index): everyone in its subtree.
    pub subtree: Vec<Counts>,
    /// Per division: those placed directly in it.
    pub direct: Vec<Counts>,
    /// Those in no division.
    pub unplaced: Counts,
    /// Per division: withheld.
    pub suppressed: Vec<bool>,
    /// The company total withheld (fewer than 5 employees).
    pub total_suppressed: bool,
}

impl Tally {
    pub fn new(
        tree: &Tree<'_>,
        employees: &[Employee],
        answers: &HashMap<i64, Answer>,
        day: NaiveDate,
    ) -> Tally {
        let n = tree.divisions.len();
        let mut direct = vec![Counts::default(); n];
        let mut unplaced = Counts::default();
        for e in employees.iter().filter(|e| e.active_on(day)) {
            let a = answers.get(&e.id);
            match e
                .division
                .and_then(|d| tree.index_of(d))
                .and_then(|i| direct.get_mut(i))
            {
                Some(c) => c.count(a),
                None => unplaced.count(a),
            }
        }
        let mut subtree = direct.clone();
        // Add each division's own people to every ancestor.
        for (i, own) in direct.iter().enumerate() {
            let mut cur = tree.parent(i);
            while let Some(p) = cur {
                if let Some(s) = subtree.get_mut(p) {
                    s.add(own);
                }
                cur = tree.parent(p);
            }
        }
        let mut total = unplaced;
        for (i, c) in subtree.iter().enumerate() {
            if tree.parent(i).is_none() {
                total.add(c);
            }
        }
        let cells: Vec<CellNode> = subtree
            .iter()
            .zip(&direct)
            .enumerate()
            .map(|(i, (s, d))| CellNode {
                parent: tree.parent(i),
                employees: s.employees,
                direct: d.employees,
            })
            .collect();
        let (total_suppressed, suppressed) = suppress(&cells, unplaced.employees, total.employees);
        Tally {
            total,
            subtree,
            direct,
            unplaced,
            suppressed,
            total_suppressed,
        }
    }

    /// Top-level divisions ranked by holding rate, then registration rate (equal rates share
    /// a rank); suppressed and empty divisions are not ranked.
    pub fn ranking(&self, tree: &Tree<'_>) -> Vec<(usize, u32)> {
        let tops: Vec<(usize, Counts, &str)> = self
            .subtree
            .iter()
            .zip(&self.suppressed)
            .zip(tree.divisions)
            .enumerate()
            .filter(|&(i, ((c, &suppressed), _))| {
                tree.parent(i).is_none() && !suppressed && c.employees > 0
            })
            .map(|(i, ((&c, _), d))| (i, c, d.name.as_str()))
            .collect();
        rank_by_rates(&tops)
    }

    /// What division `i` publishes (nothing, suppressed, for an index out of range).
    pub fn published(&self, i: usize) -> Published {
        Published::new(
            self.subtree.get(i).copied().unwrap_or_default(),
            self.suppressed.get(i).copied().unwrap_or(true),
        )
    }

    pub fn published_total(&self) -> Published {
        Published::new(self.total, self.total_suppressed)
    }
}

/// A node of a suppression tree: its parent, its employees, and those placed directly in it
/// (not published on their own).
#[derive(Debug, Clone, Copy)]
pub struct CellNode {
    pub parent: Option<usize>,
    pub employees: u32,
    pub direct: u32,
}

fn sensitive(n: u32) -> bool {
    n > 0 && n < MIN_CELL
}

/// Which cells to withhold: `(root withheld, per node)`. `root_direct` is the number of people
/// directly under the root (in no node), `root_total` everyone.
pub fn suppress(nodes: &[CellNode], root_direct: u32, root_total: u32) -> (bool, Vec<bool>) {
    let n = nodes.len();
    let mut hidden: Vec<bool> = nodes.iter().map(|c| sensitive(c.employees)).collect();
    let root_hidden = root_total < MIN_CELL;
    // Parents: None = the root (index n), Some(i) = node i.
    let mut direct_hidden: Vec<bool> = nodes
        .iter()
        .map(|c| sensitive(c.direct))
        .chain(std::iter::once(sensitive(root_direct)))
        .collect();
    // Node p's direct people; p == n is the root.
    let direct_of = |p: usize| nodes.get(p).map_or(root_direct, |c| c.direct);
    // Per parent (the root last): its cells with people, as (node, employees).
    let mut children: Vec<Vec<(usize, u32)>> = vec![Vec::new(); n + 1];
    for (i, c) in nodes.iter().enumerate() {
        if c.employees > 0
            && let Some(siblings) = children.get_mut(c.parent.unwrap_or(n))
        {
            siblings.push((i, c.employees));
        }
    }
    loop {
        let mut changed = false;
        for (p, (kids, direct_is_hidden)) in
            children.iter().zip(direct_hidden.iter_mut()).enumerate()
        {
            let has_direct = direct_of(p) > 0;
            let cells = kids.len() + usize::from(has_direct);
            if cells == 0 {
                continue;
            }
            // Every child is a node.
            let is_hidden = |c: usize| hidden.get(c).copied().unwrap_or(true);
            let hidden_cells = kids.iter().filter(|&&(c, _)| is_hidden(c)).count()
                + usize::from(has_direct && *direct_is_hidden);
            let hidden_people: u32 = kids
                .iter()
                .filter(|&&(c, _)| is_hidden(c))
                .map(|&(_, employees)| employees)
                .sum::<u32>()
                + if has_direct && *direct_is_hidden {
                    direct_of(p)
                } else {
                    0
                };
            let p_hidden = hidden.get(p).copied().unwrap_or(root_hidden);
            let need_one_more = (p_hidden && hidden_cells == 0)
                || (hidden_cells >= 1 && hidden_people < MIN_CELL && hidden_cells < cells);
            if !need_one_more {
                continue;
            }
            if has_direct && !*direct_is_hidden {
                *direct_is_hidden = true;
            } else {
                let smallest_shown = kids
                    .iter()
                    .filter(|&&(c, _)| !is_hidden(c))
                    .min_by_key(|&&(c, employees)| (employees, c))
                    .map(|&(c, _)| c);
                match smallest_shown.and_then(|c| hidden.get_mut(c)) {
                    Some(h) => *h = true,
                    None => continue,
                }
            }
            changed = true;
        }
        if !changed {
            break;
        }
    }
    let root_hidden_final = root_hidden;
    if root_hidden_final {
        for h in hidden.iter_mut() {
            *h = true;
        }
    }
    (root_hidden_final, hidden)
}

/// The monthly points from `from` to `to`: the last day of each month, and `to` itself.
pub fn month_ends(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    use chrono::{Datelike, Months};
    let mut out = Vec::new();
    let Some(mut first) = NaiveDate::from_ymd_opt(from.year(), from.month(), 1) else {
        return out;
    };
    while first <= to && out.len() < 600 {
        let Some(next) = first.checked_add_months(Months::new(1)) else {
            break;
        };
        let end = next.pred_opt().unwrap_or(first);
        if end >= from && end < to {
            out.push(end);
        }
        first = next;
    }
    if from <= to {
        out.push(to);
    }
    out
}

/// Weekly points from `from` to `to` (every 7th day, and `to`).
pub fn weeks(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = from;
    while d < to && out.len() < 600 {
        out.push(d);
        d += chrono::Duration::days(7);
    }
    if from <= to {
        out.push(to);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn equal_holding_rates_are_ranked_by_registration_rate_then_share_a_rank() {
        let c = |employees, holders, registered| Counts {
            employees,
            holders,
            registered,
            answered: holders,
        };
        // A, B, D hold 50 %; B and D register 40 %, A 20 %; C holds 30 %.
        let entries = [
            (0, c(10, 5, 2), "A社"),
            (1, c(10, 5, 4), "B社"),
            (2, c(10, 3, 3), "C社"),
            (3, c(20, 10, 8), "D社"),
        ];
        let ranked = super::rank_by_rates(&entries);
        // B and D tie on both rates (shared rank 1, listed by name); A is third, C fourth.
        assert_eq!(ranked, vec![(1, 1), (3, 1), (0, 3), (2, 4)]);
    }

    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn yes() -> Answer {
        Answer {
            holds_card: true,
            insurance_registered: true,
        }
    }

    fn card_only() -> Answer {
        Answer {
            holds_card: true,
            insurance_registered: false,
        }
    }

    fn people(division: i64, from_id: i64, n: i64) -> Vec<Employee> {
        (0..n)
            .map(|k| Employee {
                id: from_id + k,
                division: Some(division),
                hired_on: day(1, 1),
                left_on: None,
            })
            .collect()
    }

    fn divisions() -> Vec<Division> {
        let d = |id, parent, name: &str| Division {
            id,
            parent,
            name: name.into(),
        };
        vec![
            d(1, None, "営業本部"),
            d(2, Some(1), "東日本営業部"),
            d(3, Some(1), "西日本営業部"),
            d(4, None, "管理本部"),
            d(5, None, "研究所"),
        ]
    }

    #[test]
    fn subtrees_add_up_and_rank() {
        let divs = divisions();
        let tree = Tree::new(&divs);
        let mut emps = people(2, 100, 6);
        emps.extend(people(3, 200, 5));
        emps.extend(people(4, 300, 8));
        emps.extend(people(5, 400, 5));
        let mut reports = Vec::new();
        for e in &emps {
            // 東日本: 6 of 6 hold; 西日本: 2 of 5; 管理: 6 of 8 (4 registered); 研究所: 0.
            let a = match e.id {
                100..=105 => Some(yes()),
                200..=201 => Some(card_only()),
                300..=303 => Some(yes()),
                304..=305 => Some(card_only()),
                _ => None,
            };
            if let Some(a) = a {
                reports.push(Report {
                    employee: e.id,
                    on: day(3, 1),
                    answer: a,
                });
            }
        }
        let answers = answers_at(&reports, day(4, 1));
        let t = Tally::new(&tree, &emps, &answers, day(4, 1));
        assert_eq!(t.total.employees, 24);
        assert_eq!(t.total.holders, 14);
        let sales = tree.index_of(1).unwrap();
        assert_eq!(
            t.subtree[sales],
            Counts {
                employees: 11,
                holders: 8,
                registered: 6,
                answered: 8
            }
        );
        assert!(t.suppressed.iter().all(|s| !s));
        let ranking: Vec<(String, u32)> = t
            .ranking(&tree)
            .into_iter()
            .map(|(i, r)| (divs[i].name.clone(), r))
            .collect();
        assert_eq!(
            ranking,
            vec![
                ("管理本部".to_string(), 1),
                ("営業本部".to_string(), 2),
                ("研究所".to_string(), 3)
            ]
        );
        // Before the answers, nobody holds a card.
        let before = Tally::new(&tree, &emps, &answers_at(&reports, day(2, 1)), day(2, 1));
        assert_eq!(before.total.holders, 0);
    }

    #[test]
    fn small_cells_and_their_siblings_are_withheld() {
        let divs = divisions();
        let tree = Tree::new(&divs);
        // 東日本 3 people (primary), 西日本 6, 管理 8, 研究所 9.
        let mut emps = people(2, 100, 3);
        emps.extend(people(3, 200, 6));
        emps.extend(people(4, 300, 8));
        emps.extend(people(5, 400, 9));
        let t = Tally::new(&tree, &emps, &HashMap::new(), day(4, 1));
        let at = |id| t.suppressed[tree.index_of(id).unwrap()];
        assert!(at(2), "fewer than 5");
        assert!(at(3), "the only sibling, else 営業本部 − 西日本 = 東日本");
        assert!(!at(1));
        assert!(!at(4) && !at(5));
        let p = t.published(tree.index_of(2).unwrap());
        assert_eq!(p.employees, 3);
        assert!(p.holding_rate.is_none() && p.holders.is_none());
    }

    #[test]
    fn people_placed_in_a_parent_protect_a_small_child() {
        let divs = divisions();
        let tree = Tree::new(&divs);
        // 営業本部 itself has 7 people; 東日本 3 (primary), 西日本 6.
        let mut emps = people(1, 50, 7);
        emps.extend(people(2, 100, 3));
        emps.extend(people(3, 200, 6));
        emps.extend(people(4, 300, 8));
        emps.extend(people(5, 400, 9));
        let t = Tally::new(&tree, &emps, &HashMap::new(), day(4, 1));
        let at = |id| t.suppressed[tree.index_of(id).unwrap()];
        // The unpublished direct cell is the second hidden cell: 西日本 stays published.
        assert!(at(2));
        assert!(!at(3));
    }

    #[test]
    fn a_tiny_company_publishes_nothing() {
        let divs = divisions();
        let tree = Tree::new(&divs);
        let emps = people(4, 1, 4);
        let t = Tally::new(&tree, &emps, &HashMap::new(), day(4, 1));
        assert!(t.total_suppressed);
        assert!(t.published_total().holding_rate.is_none());
    }

    #[test]
    fn a_hidden_parent_is_not_the_sum_of_published_children() {
        // Root (published) over A (hidden secondarily: 5) and B (3); A has children A1 (5)
        // only: A = A1 would give A away, so A1 is hidden too.
        let nodes = [
            CellNode {
                parent: None,
                employees: 5,
                direct: 0,
            },
            CellNode {
                parent: None,
                employees: 3,
                direct: 3,
            },
            CellNode {
                parent: Some(0),
                employees: 5,
                direct: 5,
            },
        ];
        let (root, hidden) = suppress(&nodes, 0, 8);
        assert!(!root);
        assert_eq!(hidden, vec![true, true, true]);
    }

    #[test]
    fn hidden_cells_hold_at_least_five_people_together() {
        let cell = |employees| CellNode {
            parent: None,
            employees,
            direct: employees,
        };
        // 1 + 1 + 18: hiding the two single people is not enough (total − 18 = 2 people).
        let (_, hidden) = suppress(&[cell(1), cell(1), cell(18)], 0, 20);
        assert_eq!(hidden, vec![true, true, true]);
        // 3 + 1 direct: the 3-person child and the single person placed in the parent.
        let nodes = [
            CellNode {
                parent: None,
                employees: 12,
                direct: 1,
            },
            CellNode {
                parent: Some(0),
                employees: 3,
                direct: 3,
            },
            CellNode {
                parent: Some(0),
                employees: 8,
                direct: 8,
            },
        ];
        let (_, hidden) = suppress(&nodes, 0, 12);
        assert!(hidden[1] && hidden[2], "{hidden:?}");
        // Across levels: the grandparent's hidden pair and the parent's hidden child.
        let nodes = [
            CellNode {
                parent: None,
                employees: 10,
                direct: 0,
            },
            CellNode {
                parent: None,
                employees: 1,
                direct: 1,
            },
            CellNode {
                parent: Some(0),
                employees: 1,
                direct: 1,
            },
            CellNode {
                parent: Some(0),
                employees: 9,
                direct: 9,
            },
            CellNode {
                parent: None,
                employees: 20,
                direct: 20,
            },
        ];
        let (_, hidden) = suppress(&nodes, 0, 31);
        // Root: {10, 1, 20} with the 1 hidden → the 10 hidden too (11 people). Under the 10:
        // {1, 9} with the 1 hidden → the 9 hidden too, so 10 − 9 cannot be taken.
        assert_eq!(hidden, vec![true, true, true, true, false]);
    }

    #[test]
    fn leavers_and_joiners_count_on_their_days() {
        let e = Employee {
            id: 1,
            division: None,
            hired_on: day(2, 1),
            left_on: Some(day(5, 1)),
        };
        assert!(!e.active_on(day(1, 31)));
        assert!(e.active_on(day(2, 1)));
        assert!(!e.active_on(day(5, 1)));
    }

    #[test]
    fn answers_take_the_latest_by_date() {
        let r = |on, holds| Report {
            employee: 1,
            on,
            answer: Answer {
                holds_card: holds,
                insurance_registered: false,
            },
        };
        let reports = [r(day(3, 1), true), r(day(2, 1), false)];
        assert!(answers_at(&reports, day(4, 1))[&1].holds_card);
        assert!(!answers_at(&reports, day(2, 15))[&1].holds_card);
    }

    #[test]
    fn series_points() {
        assert_eq!(
            month_ends(day(1, 15), day(3, 10)),
            vec![day(1, 31), day(2, 28), day(3, 10)]
        );
        assert_eq!(
            weeks(day(1, 1), day(1, 10)),
            vec![day(1, 1), day(1, 8), day(1, 10)]
        );
        assert!(month_ends(day(3, 1), day(1, 1)).is_empty());
    }

    #[test]
    fn cycles_do_not_hang_the_tree() {
        let d = |id, parent| Division {
            id,
            parent: Some(parent),
            name: format!("d{id}"),
        };
        let divs = vec![d(1, 2), d(2, 1)];
        let tree = Tree::new(&divs);
        assert_eq!(tree.ordered().len(), 2);
    }
}
