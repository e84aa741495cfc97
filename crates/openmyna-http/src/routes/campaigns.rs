//! Card-uptake campaigns (`/api/v1/campaigns…`): employees' own answers and HR's CSV import,
//! the dashboard per division (本部単位で集計) with small-cell suppression and SVG charts,
//! campaigns with their measures and the award for the leading division, the figures per
//! member organisation for associations, on-site application sessions (出張申請受付) with the
//! municipality, and the ministry report.

use openmyna_core::Refusal;
use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use openmyna_campaigns::campaign::{self, CampaignInput, MeasureInput, MeasureKind};
use openmyna_campaigns::dashboard::{
    self, CellNode, Counts, Division, Employee, Published, Report, Tally, Tree,
};
use openmyna_campaigns::ministry::{self, OrgFigures};
use openmyna_campaigns::org::{Industry, OrgKind};
use openmyna_campaigns::reports::{self, Answer};
use openmyna_campaigns::session::{
    SessionRequest, SessionSchedule, SessionStatus, SessionStep, check_session_day,
    session_transition,
};
use openmyna_core::Role;
use openmyna_store::campaigns::{NewReport, NewSession, SessionPlan, SessionRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::charts::{self, Bar, Line};
use crate::error::{ApiError, Created, ErrorBody};
use crate::json::ApiJson;
use crate::routes::applications::{self as applications, ApplicationView, OnSite};
use crate::routes::employers::{EmployerCaller, Who, employer, require_company};
use crate::state::AppState;
use openmyna_services::applications::{own_municipality, take_on_site};
use openmyna_services::employers::profile_of;

// ------------------------------------------------------------------ answers

#[derive(Serialize, ToSchema)]
pub struct AnswerView {
    pub holds_card: bool,
    pub insurance_registered: bool,
    /// The day the answer speaks for.
    pub on: String,
    /// self or hr_import.
    pub source: String,
}

#[derive(Serialize, ToSchema)]
pub struct MyAnswer {
    pub latest: Option<AnswerView>,
    pub history: Vec<AnswerView>,
}

async fn my_answer_view(s: &AppState, employee_id: i64) -> Result<MyAnswer, ApiError> {
    let history: Vec<AnswerView> = s
        .store
        .reports_of_employee(employee_id)
        .await?
        .into_iter()
        .map(|r| AnswerView {
            holds_card: r.holds_card,
            insurance_registered: r.insurance_registered,
            on: r.on.to_string(),
            source: r.source,
        })
        .collect();
    let latest = history
        .iter()
        .max_by(|a, b| a.on.cmp(&b.on))
        .map(|a| AnswerView {
            holds_card: a.holds_card,
            insurance_registered: a.insurance_registered,
            on: a.on.clone(),
            source: a.source.clone(),
        });
    Ok(MyAnswer { latest, history })
}

/// The employee answers for themselves: do they hold the card, have they registered it for
/// insurance use. Nobody else can read this answer; it counts only in aggregates.
#[utoipa::path(put, path = "/api/v1/campaigns/my-answer", tag = "campaigns",
    request_body = Answer,
    responses((status = 200, body = MyAnswer), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_my_answer(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(a): ApiJson<Answer>,
) -> Result<axum::Json<MyAnswer>, ApiError> {
    let e = employer(&s, &caller).await?;
    let emp = e.require_employee()?.clone();
    let a = a.check()?;
    s.store
        .add_reports(
            &[NewReport {
                org_id: e.actor.org_id,
                employee_id: emp.id,
                on: s.clock.today(),
                holds_card: a.holds_card,
                insurance_registered: a.insurance_registered,
                source: "self",
            }],
            &s.clock.now(),
        )
        .await?;
    Ok(axum::Json(my_answer_view(&s, emp.id).await?))
}

/// The employee's own answers.
#[utoipa::path(get, path = "/api/v1/campaigns/my-answer", tag = "campaigns",
    responses((status = 200, body = MyAnswer), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_my_answer(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<MyAnswer>, ApiError> {
    let e = employer(&s, &caller).await?;
    let emp = e.require_employee()?.clone();
    Ok(axum::Json(my_answer_view(&s, emp.id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ImportRow {
    /// The CSV row (the header is row 1).
    pub row: usize,
    /// accepted, unchanged or rejected.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ImportRow {
    fn answered(row: usize, status: &str) -> ImportRow {
        ImportRow {
            row,
            status: status.to_owned(),
            code: None,
            field: None,
            message: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    pub accepted: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub rows: Vec<ImportRow>,
}

fn rejected(row: usize, e: openmyna_campaigns::CampaignError) -> ImportRow {
    let openmyna_campaigns::CampaignError::Refusal(r) = e;
    let (code, field, message) = (
        r.code().to_owned(),
        r.field().unwrap_or_default().to_owned(),
        r.message().to_owned(),
    );
    ImportRow {
        row,
        status: "rejected".into(),
        code: Some(code),
        field: Some(field),
        message: Some(message),
    }
}

/// HR imports answers by CSV (UTF-8; columns `employee_no,holds_card,insurance_registered`
/// and optionally `as_of`). Each row is answered; re-importing the same answers changes
/// nothing.
#[utoipa::path(post, path = "/api/v1/campaigns/answers/csv", tag = "campaigns",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_answers(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<axum::Json<ImportReport>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_staff()?;
    require_company(&s.store, e.actor.org_id).await?;
    if std::str::from_utf8(&body).is_err() {
        return Err(ApiError::from(Refusal::invalid(
            "csv.encoding",
            "the CSV must be UTF-8 (convert Shift_JIS files first)",
        )));
    }
    let today = s.clock.today();
    let rows = reports::read_csv(&body, today)?;
    let employees: HashMap<String, i64> = s
        .store
        .employees(e.actor.org_id)
        .await?
        .into_iter()
        .map(|x| (x.employee_no, x.id))
        .collect();
    // The latest stored answer per employee and day, to leave repeats unchanged.
    let mut stored: HashMap<(i64, NaiveDate), (bool, bool)> = HashMap::new();
    // Only HR's own imports: comparing with employees' self-reports would tell HR their
    // answers.
    for r in s
        .store
        .reports_of_org(e.actor.org_id)
        .await?
        .into_iter()
        .filter(|r| r.source == "hr_import")
    {
        stored.insert(
            (r.employee_id, r.on),
            (r.holds_card, r.insurance_registered),
        );
    }
    let mut out = Vec::new();
    let mut new: Vec<NewReport<'_>> = Vec::new();
    let (mut accepted, mut unchanged) = (0, 0);
    for (row, parsed) in rows {
        let a = match parsed {
            Ok(a) => a,
            Err(err) => {
                out.push(rejected(row, err));
                continue;
            }
        };
        let Some(&employee_id) = employees.get(&a.employee_no) else {
            out.push(rejected(
                row,
                openmyna_campaigns::CampaignError::invalid(
                    "employee_no.unknown",
                    "employee_no",
                    "no employee with that number",
                ),
            ));
            continue;
        };
        let on = a.as_of.unwrap_or(today);
        let value = (a.answer.holds_card, a.answer.insurance_registered);
        if stored.get(&(employee_id, on)) == Some(&value) {
            unchanged += 1;
            out.push(ImportRow::answered(row, "unchanged"));
            continue;
        }
        stored.insert((employee_id, on), value);
        accepted += 1;
        new.push(NewReport {
            org_id: e.actor.org_id,
            employee_id,
            on,
            holds_card: value.0,
            insurance_registered: value.1,
            source: "hr_import",
        });
        out.push(ImportRow::answered(row, "accepted"));
    }
    s.store.add_reports(&new, &s.clock.now()).await?;
    let rejected = out.iter().filter(|r| r.status == "rejected").count();
    Ok(axum::Json(ImportReport {
        accepted,
        unchanged,
        rejected,
        rows: out,
    }))
}

// ------------------------------------------------------------------ dashboard

/// A company's data for tallies.
struct CompanyData {
    divisions: Vec<Division>,
    employees: Vec<Employee>,
    reports: Vec<Report>,
}

async fn company_data(s: &AppState, org_id: i64) -> Result<CompanyData, ApiError> {
    let divisions = s
        .store
        .divisions(org_id)
        .await?
        .into_iter()
        .map(|d| Division {
            id: d.id,
            parent: d.parent_id,
            name: d.name,
        })
        .collect();
    let employees = s
        .store
        .employees(org_id)
        .await?
        .into_iter()
        .map(|e| Employee {
            id: e.id,
            division: e.division_id,
            hired_on: e.hired_on,
            left_on: e.left_on,
        })
        .collect();
    let reports = s
        .store
        .reports_of_org(org_id)
        .await?
        .into_iter()
        .map(|r| Report {
            employee: r.employee_id,
            on: r.on,
            answer: Answer {
                holds_card: r.holds_card,
                insurance_registered: r.insurance_registered,
            },
        })
        .collect();
    Ok(CompanyData {
        divisions,
        employees,
        reports,
    })
}

impl CompanyData {
    fn tally(&self, tree: &Tree<'_>, day: NaiveDate) -> Tally {
        let answers = dashboard::answers_at(&self.reports, day);
        Tally::new(tree, &self.employees, &answers, day)
    }
}

#[derive(Serialize, ToSchema)]
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

#[derive(Serialize, ToSchema)]
pub struct RankEntry {
    pub rank: u32,
    pub division_id: i64,
    pub name: String,
    pub holding_rate: Option<f64>,
    pub registration_rate: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct SeriesPoint {
    pub date: String,
    pub holding_rate: Option<f64>,
    pub registration_rate: Option<f64>,
    /// Top-level divisions (withheld ones have no rates).
    pub divisions: Vec<SeriesDivision>,
}

#[derive(Serialize, ToSchema)]
pub struct SeriesDivision {
    pub division_id: i64,
    pub holding_rate: Option<f64>,
    pub registration_rate: Option<f64>,
}

#[derive(Serialize, ToSchema)]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// The day (default today).
    pub as_of: Option<String>,
    /// Months of history in the series (default 12, at most 60).
    pub months: Option<u32>,
}

/// Employees see the dashboard of today (with its month-end series) only: two arbitrary days
/// apart, around one colleague's arrival, would tell that colleague's answer.
fn employees_see_today(e: &EmployerCaller, q: &DashboardQuery) -> Result<(), ApiError> {
    if matches!(e.who, Who::Employee(..)) && q.as_of.is_some() {
        return Err(ApiError::from(Refusal::forbidden(
            "as_of.staff_only",
            "employees see today's dashboard; other days are for the organisation's staff",
        )));
    }
    Ok(())
}

fn as_of(s: &AppState, q: Option<&str>) -> Result<NaiveDate, ApiError> {
    let today = s.clock.today();
    match q {
        None => Ok(today),
        Some(d) => {
            let d = openmyna_campaigns::parse_date("as_of", d)?;
            if d > today {
                return Err(ApiError::from(Refusal::invalid(
                    "as_of.future",
                    "as_of must not be in the future",
                ))
                .with_field("as_of"));
            }
            Ok(d)
        }
    }
}

fn ranking(tree: &Tree<'_>, t: &Tally) -> Vec<RankEntry> {
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

fn series(data: &CompanyData, tree: &Tree<'_>, days: &[NaiveDate]) -> Vec<SeriesPoint> {
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

async fn build_dashboard(
    s: &AppState,
    org_id: i64,
    org_name: &str,
    q: &DashboardQuery,
) -> Result<(DashboardView, CompanyData), ApiError> {
    require_company(&s.store, org_id).await?;
    let day = as_of(s, q.as_of.as_deref())?;
    let months = q.months.unwrap_or(12).min(60);
    let data = company_data(s, org_id).await?;
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
    let view = DashboardView {
        organisation: org_name.to_owned(),
        as_of: day.to_string(),
        min_cell: dashboard::MIN_CELL,
        total: t.published_total(),
        divisions,
        ranking: ranking(&tree, &t),
        series: series(&data, &tree, &points),
    };
    Ok((view, data))
}

/// The dashboard: card-holding and registration rates for the company and each division
/// subtree, the ranking of the top-level divisions and the monthly change. Groups under 5
/// employees (and cells that would give them away) show no figures.
#[utoipa::path(get, path = "/api/v1/campaigns/dashboard", tag = "campaigns",
    params(DashboardQuery),
    responses((status = 200, body = DashboardView), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_dashboard(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<DashboardQuery>,
) -> Result<axum::Json<DashboardView>, ApiError> {
    let e = employer(&s, &caller).await?;
    employees_see_today(&e, &q)?;
    Ok(axum::Json(
        build_dashboard(&s, e.actor.org_id, &e.actor.org_name, &q)
            .await?
            .0,
    ))
}

fn svg(body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// The dashboard's bars: each top-level division's rates (SVG).
#[utoipa::path(get, path = "/api/v1/campaigns/dashboard/divisions.svg", tag = "campaigns",
    params(DashboardQuery),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn dashboard_bars(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, ApiError> {
    let e = employer(&s, &caller).await?;
    employees_see_today(&e, &q)?;
    let (view, _) = build_dashboard(&s, e.actor.org_id, &e.actor.org_name, &q).await?;
    let target = s
        .store
        .campaigns(e.actor.org_id)
        .await?
        .into_iter()
        .rev()
        .find(|c| c.starts_on <= s.clock.today() && s.clock.today() <= c.ends_on)
        .map(|c| c.target_rate as f64);
    let mut bars = vec![Bar {
        label: "全体",
        first: view.total.holding_rate,
        second: view.total.registration_rate,
    }];
    bars.extend(view.divisions.iter().filter(|d| d.depth == 0).map(|d| Bar {
        label: &d.name,
        first: d.figures.holding_rate,
        second: d.figures.registration_rate,
    }));
    Ok(svg(charts::bar_chart(
        &format!(
            "{} マイナンバーカード取得率 ({})",
            view.organisation, view.as_of
        ),
        ("カード取得", "保険証利用登録"),
        &bars,
        target,
    )))
}

/// The dashboard's trend: the company's and each top-level division's card-holding rate at
/// each month end (SVG).
#[utoipa::path(get, path = "/api/v1/campaigns/dashboard/trend.svg", tag = "campaigns",
    params(DashboardQuery),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn dashboard_trend(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, ApiError> {
    let e = employer(&s, &caller).await?;
    employees_see_today(&e, &q)?;
    let (view, _) = build_dashboard(&s, e.actor.org_id, &e.actor.org_name, &q).await?;
    Ok(svg(trend_svg(
        &format!("{} カード取得率の推移", view.organisation),
        &view.series,
        &view.divisions,
    )))
}

fn trend_svg(title: &str, series: &[SeriesPoint], divisions: &[DivisionFigures]) -> String {
    let points: Vec<String> = series.iter().map(|p| p.date.clone()).collect();
    let mut lines = vec![Line {
        name: "全体",
        values: series.iter().map(|p| p.holding_rate).collect(),
    }];
    for d in divisions.iter().filter(|d| d.depth == 0) {
        lines.push(Line {
            name: &d.name,
            values: series
                .iter()
                .map(|p| {
                    p.divisions
                        .iter()
                        .find(|x| x.division_id == d.id)
                        .and_then(|x| x.holding_rate)
                })
                .collect(),
        });
    }
    charts::line_chart(title, &points, &lines)
}

// ------------------------------------------------------------------ campaigns

#[derive(Serialize, ToSchema)]
pub struct MeasureView {
    pub id: i64,
    pub kind: String,
    pub kind_name: String,
    pub on: String,
    pub note: String,
    pub reached: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Award {
    /// The leading top-level division(s) at the end (equal rates share the award).
    pub divisions: Vec<RankEntry>,
}

#[derive(Serialize, ToSchema)]
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

async fn campaign_view(
    s: &AppState,
    c: openmyna_store::campaigns::CampaignRow,
) -> Result<CampaignView, ApiError> {
    let today = s.clock.today();
    let data = company_data(s, c.org_id).await?;
    let tree = Tree::new(&data.divisions);
    let latest_on = c.ends_on.min(today).max(c.starts_on);
    let start = data.tally(&tree, c.starts_on).published_total();
    let t = data.tally(&tree, latest_on);
    let latest = t.published_total();
    let rule = campaign::Campaign {
        name: c.name.clone(),
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        target_rate: u32::try_from(c.target_rate).unwrap_or(100),
    };
    let phase = campaign::phase(&rule, today);
    let ranking = ranking(&tree, &t);
    let award = (phase == "ended").then(|| Award {
        divisions: ranking
            .iter()
            .filter(|r| r.rank == 1)
            .map(|r| RankEntry {
                rank: r.rank,
                division_id: r.division_id,
                name: r.name.clone(),
                holding_rate: r.holding_rate,
                registration_rate: r.registration_rate,
            })
            .collect(),
    });
    let measures = s
        .store
        .measures_of_org(c.org_id)
        .await?
        .into_iter()
        .filter(|m| m.campaign_id == c.id)
        .map(|m| MeasureView {
            id: m.id,
            kind_name: MeasureKind::parse(&m.kind)
                .map(|k| k.label_ja().to_owned())
                .unwrap_or_default(),
            kind: m.kind,
            on: m.on.to_string(),
            note: m.note,
            reached: m.reached,
        })
        .collect();
    let weeks = if phase == "planned" {
        Vec::new()
    } else {
        dashboard::weeks(c.starts_on, latest_on)
    };
    Ok(CampaignView {
        id: c.id,
        name: c.name,
        starts_on: c.starts_on.to_string(),
        ends_on: c.ends_on.to_string(),
        target_rate: c.target_rate,
        phase: phase.to_owned(),
        measures,
        change: match (start.holding_rate, latest.holding_rate) {
            (Some(a), Some(b)) => Some(((b - a) * 10.0).round() / 10.0),
            _ => None,
        },
        target_met: latest.holding_rate.map(|r| r >= c.target_rate as f64),
        at_start: start,
        latest,
        latest_on: latest_on.to_string(),
        ranking,
        award,
        series: series(&data, &tree, &weeks),
    })
}

async fn own_campaign(
    s: &AppState,
    org_id: i64,
    id: i64,
) -> Result<openmyna_store::campaigns::CampaignRow, ApiError> {
    s.store
        .campaigns(org_id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found("campaign.not_found", format!("no campaign {id}")))
}

/// Starts a campaign (the organisation's own token).
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns",
    request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_campaign(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CampaignInput>,
) -> Result<Created<axum::Json<CampaignView>>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_admin()?;
    require_company(&s.store, e.actor.org_id).await?;
    let c = req.validate()?;
    let id = s
        .store
        .create_campaign(
            e.actor.org_id,
            &c.name,
            c.starts_on,
            c.ends_on,
            i64::from(c.target_rate),
            &s.clock.now(),
        )
        .await?;
    let row = own_campaign(&s, e.actor.org_id, id).await?;
    Ok(Created(axum::Json(campaign_view(&s, row).await?)))
}

/// The organisation's campaigns with their results.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    responses((status = 200, body = [CampaignView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_campaigns(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<CampaignView>>, ApiError> {
    let e = employer(&s, &caller).await?;
    let mut out = Vec::new();
    for c in s.store.campaigns(e.actor.org_id).await? {
        out.push(campaign_view(&s, c).await?);
    }
    Ok(axum::Json(out))
}

/// One campaign: figures at the start and end, target, ranking, the award once ended.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_campaign(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    let e = employer(&s, &caller).await?;
    let c = own_campaign(&s, e.actor.org_id, id).await?;
    Ok(axum::Json(campaign_view(&s, c).await?))
}

/// A campaign's weekly trend per top-level division (SVG).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/trend.svg", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn campaign_trend(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let e = employer(&s, &caller).await?;
    let c = own_campaign(&s, e.actor.org_id, id).await?;
    let data = company_data(&s, c.org_id).await?;
    let tree = Tree::new(&data.divisions);
    let view = campaign_view(&s, c).await?;
    let divisions: Vec<DivisionFigures> = tree
        .divisions()
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
        .collect();
    Ok(svg(trend_svg(
        &format!("{} ({}〜{})", view.name, view.starts_on, view.ends_on),
        &view.series,
        &divisions,
    )))
}

/// Records a measure taken in a campaign.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/measures", tag = "campaigns",
    params(("id" = i64, Path)),
    request_body = MeasureInput,
    responses((status = 201, body = MeasureView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_measure(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<MeasureInput>,
) -> Result<Created<axum::Json<MeasureView>>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_admin()?;
    let c = own_campaign(&s, e.actor.org_id, id).await?;
    let rule = campaign::Campaign {
        name: c.name.clone(),
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        target_rate: u32::try_from(c.target_rate).unwrap_or(100),
    };
    let m = req.validate(&rule)?;
    let reached = m.reached.map(i64::from);
    let mid = s
        .store
        .add_measure(
            c.id,
            m.kind.as_str(),
            m.on,
            &m.note,
            reached,
            &s.clock.now(),
        )
        .await?;
    Ok(Created(axum::Json(MeasureView {
        id: mid,
        kind: m.kind.as_str().to_owned(),
        kind_name: m.kind.label_ja().to_owned(),
        on: m.on.to_string(),
        note: m.note,
        reached,
    })))
}

// ------------------------------------------------------------------ associations and ministries

/// The company totals of an organisation's subtree: each company's tally, summed.
async fn subtree_counts(
    s: &AppState,
    root: i64,
    profiles: &[openmyna_store::campaigns::Profile],
    day: NaiveDate,
) -> Result<Counts, ApiError> {
    let mut total = Counts::default();
    let parent_of = |id: i64| {
        profiles
            .iter()
            .find(|p| p.org_id == id)
            .and_then(|p| p.parent_org_id)
    };
    for p in profiles
        .iter()
        .filter(|p| p.kind == OrgKind::Company.as_str())
    {
        if openmyna_campaigns::org::is_within(p.org_id, root, parent_of, profiles.len() + 1) {
            let c = company_total(s, p.org_id, day).await?;
            total.employees += c.employees;
            total.holders += c.holders;
            total.registered += c.registered;
            total.answered += c.answered;
        }
    }
    Ok(total)
}

async fn company_total(s: &AppState, org_id: i64, day: NaiveDate) -> Result<Counts, ApiError> {
    let data = company_data(s, org_id).await?;
    let tree = Tree::new(&data.divisions);
    Ok(data.tally(&tree, day).total)
}

#[derive(Serialize, ToSchema)]
pub struct MemberFigures {
    pub organisation: String,
    pub corporate_number: Option<String>,
    pub kind: String,
    pub industry: Option<String>,
    pub rank: Option<u32>,
    pub figures: Published,
}

#[derive(Serialize, ToSchema)]
pub struct MembersView {
    pub as_of: String,
    pub total: Published,
    pub members: Vec<MemberFigures>,
}

/// An association's figures per member organisation, ranked; small members show no figures.
#[utoipa::path(get, path = "/api/v1/campaigns/member-organisations", tag = "campaigns",
    params(DashboardQuery),
    responses((status = 200, body = MembersView), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn member_organisations(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<DashboardQuery>,
) -> Result<axum::Json<MembersView>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_staff()?;
    // A ministry reads the report, whose suppression covers industries and organisations
    // together; a second view with other groupings would let withheld cells be subtracted.
    if profile_of(&s.store, e.actor.org_id).await?.kind != OrgKind::Association.as_str() {
        return Err(ApiError::from(Refusal::refused(
            "employer.not_association",
            "the member view is for an industry association (a ministry reads the report)",
        )));
    }
    let day = as_of(&s, q.as_of.as_deref())?;
    let profiles = s.store.employer_profiles().await?;
    let orgs = s.store.organisations().await?;
    let mut members: Vec<(openmyna_store::campaigns::Profile, Counts)> = Vec::new();
    for p in profiles
        .iter()
        .filter(|p| p.parent_org_id == Some(e.actor.org_id))
    {
        let c = subtree_counts(&s, p.org_id, &profiles, day).await?;
        members.push((p.clone(), c));
    }
    let nodes: Vec<CellNode> = members
        .iter()
        .map(|(_, c)| CellNode {
            parent: None,
            employees: c.employees,
            direct: 0,
        })
        .collect();
    let mut total = Counts::default();
    for (_, c) in &members {
        total.employees += c.employees;
        total.holders += c.holders;
        total.registered += c.registered;
        total.answered += c.answered;
    }
    let (total_hidden, hidden) = dashboard::suppress(&nodes, 0, total.employees);
    let mut out: Vec<MemberFigures> = members
        .iter()
        .zip(&hidden)
        .map(|((p, c), h)| {
            let org = orgs.iter().find(|o| o.id == p.org_id);
            MemberFigures {
                organisation: org.map(|o| o.name.clone()).unwrap_or_default(),
                corporate_number: org.and_then(|o| o.code.clone()),
                kind: p.kind.clone(),
                industry: p.industry.clone(),
                rank: None,
                figures: Published::new(*c, *h),
            }
        })
        .collect();
    // Rank the published members the domain's way (holding rate, then registration rate).
    let published: Vec<(usize, Counts, &str)> = out
        .iter()
        .zip(&members)
        .enumerate()
        .filter(|(_, (m, _))| m.figures.holding_rate.is_some())
        .map(|(i, (m, (_, c)))| (i, *c, m.organisation.as_str()))
        .collect();
    let ranks = dashboard::rank_by_rates(&published);
    for (i, rank) in ranks {
        if let Some(m) = out.get_mut(i) {
            m.rank = Some(rank);
        }
    }
    Ok(axum::Json(MembersView {
        as_of: day.to_string(),
        total: Published::new(total, total_hidden),
        members: out,
    }))
}

/// The ministry report (CSV, layout in docs/campaigns.md): every organisation under the
/// calling ministry, per industry and in total, with the measures, the on-site sessions'
/// results and the bottom-third industries flagged.
#[utoipa::path(get, path = "/api/v1/campaigns/ministry-report", tag = "campaigns",
    params(DashboardQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn ministry_report(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_staff()?;
    let me = profile_of(&s.store, e.actor.org_id).await?;
    if me.kind != OrgKind::Ministry.as_str() {
        return Err(ApiError::from(Refusal::refused(
            "employer.not_ministry",
            "the ministry report is for a ministry (profile kind ministry)",
        )));
    }
    let day = as_of(&s, q.as_of.as_deref())?;
    let profiles = s.store.employer_profiles().await?;
    let orgs = s.store.organisations().await?;
    let parent_of = |id: i64| {
        profiles
            .iter()
            .find(|p| p.org_id == id)
            .and_then(|p| p.parent_org_id)
    };
    let mut figures = Vec::new();
    for p in &profiles {
        if p.org_id == e.actor.org_id
            || !openmyna_campaigns::org::is_within(
                p.org_id,
                e.actor.org_id,
                parent_of,
                profiles.len() + 1,
            )
        {
            continue;
        }
        let org = orgs.iter().find(|o| o.id == p.org_id);
        let kind = OrgKind::parse(&p.kind)?;
        let counts = if kind == OrgKind::Company {
            Some(company_total(&s, p.org_id, day).await?)
        } else {
            None
        };
        let mut measures: BTreeMap<MeasureKind, u32> = BTreeMap::new();
        for m in s.store.measures_of_org(p.org_id).await? {
            if m.on <= day
                && let Ok(k) = MeasureKind::parse(&m.kind)
            {
                *measures.entry(k).or_default() += 1;
            }
        }
        let (mut held, mut apps, mut delivered) = (0u32, 0u32, 0u32);
        for sess in s.store.sessions(Some(p.org_id), None).await? {
            // Sessions requested after the report's day are not in it.
            let requested_on = openmyna_store::campaigns::date_of_micros(sess.created_at);
            if requested_on.is_none_or(|d| d > day) {
                continue;
            }
            if sess.status == SessionStatus::Held.as_str() {
                held += 1;
            }
            for a in s.store.session_applicants(sess.id).await? {
                apps += 1;
                delivered += u32::from(a.status == "delivered");
            }
        }
        figures.push(OrgFigures {
            corporate_number: org.and_then(|o| o.code.clone()).unwrap_or_default(),
            name: org.map(|o| o.name.clone()).unwrap_or_default(),
            kind,
            industry: p.industry.as_deref().and_then(|i| Industry::parse(i).ok()),
            parent: p
                .parent_org_id
                .and_then(|id| orgs.iter().find(|o| o.id == id))
                .map(|o| o.name.clone()),
            counts,
            measures,
            sessions_held: held,
            session_applications: apps,
            session_delivered: delivered,
        });
    }
    let report = ministry::build(&figures, day);
    let csv = report
        .to_csv()
        .map_err(|err| ApiError::internal("ministry report", &err))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"ministry-report.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

// ------------------------------------------------------------------ on-site sessions

#[derive(Serialize, ToSchema)]
pub struct ScheduleView {
    pub dates: Vec<String>,
    pub hours: String,
    pub staff: Vec<String>,
    pub place: String,
    pub scheduled_by: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub id: i64,
    pub organisation: String,
    pub municipality_code: String,
    pub campaign_id: Option<i64>,
    /// requested, scheduled, held, cancelled.
    pub status: String,
    pub preferred_dates: Vec<String>,
    pub place: String,
    pub expected_applicants: i64,
    pub contact: String,
    pub schedule: Option<ScheduleView>,
    /// Applications taken at the session, by status (submitted … mailed, delivered).
    pub applications: BTreeMap<String, i64>,
    pub applicants: i64,
    /// Cards received by the applicants (本人限定受取郵便).
    pub delivered: i64,
}

/// A list of strings as stored (JSON text).
fn json_text(v: &[String]) -> Result<String, ApiError> {
    serde_json::to_string(v).map_err(|e| ApiError::internal("sessions", &e))
}

fn json_list(s: Option<&str>) -> Vec<String> {
    s.and_then(|x| serde_json::from_str(x).ok())
        .unwrap_or_default()
}

async fn session_view(s: &AppState, r: SessionRow) -> Result<SessionView, ApiError> {
    let org = s.store.organisation(r.org_id).await?;
    let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
    let applicants = s.store.session_applicants(r.id).await?;
    for a in &applicants {
        *by_status.entry(a.status.clone()).or_default() += 1;
    }
    let schedule = match (&r.dates, &r.hours, &r.scheduled_place, &r.scheduled_by) {
        (Some(d), Some(h), Some(p), Some(by)) => Some(ScheduleView {
            dates: json_list(Some(d)),
            hours: h.clone(),
            staff: json_list(r.staff.as_deref()),
            place: p.clone(),
            scheduled_by: by.clone(),
        }),
        _ => None,
    };
    Ok(SessionView {
        id: r.id,
        organisation: org.map(|o| o.name).unwrap_or_default(),
        municipality_code: r.municipality_code,
        campaign_id: r.campaign_id,
        status: r.status,
        preferred_dates: json_list(Some(&r.preferred_dates)),
        place: r.place,
        expected_applicants: r.expected_applicants,
        contact: r.contact,
        schedule,
        delivered: by_status.get("delivered").copied().unwrap_or(0),
        applicants: applicants.len() as i64,
        applications: by_status,
    })
}

/// Which side the caller is on for a session.
enum Side {
    Organisation(i64),
    Municipality(String),
}

async fn side(s: &AppState, caller: &Caller) -> Result<Side, ApiError> {
    match caller.0.role {
        Role::Municipality => Ok(Side::Municipality(
            own_municipality(s, caller.0.org_id).await?,
        )),
        _ => {
            let e = employer(s, caller).await?;
            e.require_staff()?;
            Ok(Side::Organisation(e.actor.org_id))
        }
    }
}

async fn session_for(s: &AppState, side: &Side, id: i64) -> Result<SessionRow, ApiError> {
    let r = s
        .store
        .session(id)
        .await?
        .ok_or_else(|| ApiError::not_found("session.not_found", format!("no session {id}")))?;
    let mine = match side {
        Side::Organisation(o) => r.org_id == *o,
        Side::Municipality(m) => &r.municipality_code == m,
    };
    if !mine {
        return Err(ApiError::not_found(
            "session.not_found",
            format!("no session {id}"),
        ));
    }
    Ok(r)
}

fn municipality_only(side: &Side) -> Result<(), ApiError> {
    match side {
        Side::Municipality(_) => Ok(()),
        Side::Organisation(_) => Err(ApiError::forbidden_role(
            Role::Employer,
            &[Role::Municipality],
        )),
    }
}

/// An organisation requests an on-site application session from the municipality of its
/// workplace.
#[utoipa::path(post, path = "/api/v1/campaigns/onsite-sessions", tag = "campaigns",
    request_body = SessionRequest,
    responses((status = 201, body = SessionView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn request_session(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<SessionRequest>,
) -> Result<Created<axum::Json<SessionView>>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_admin()?;
    let v = req.validate(s.clock.today())?;
    if let Some(c) = req.campaign_id
        && !s
            .store
            .campaigns(e.actor.org_id)
            .await?
            .iter()
            .any(|x| x.id == c)
    {
        return Err(ApiError::from(Refusal::invalid(
            "campaign_id.unknown",
            format!("no campaign {c} of this organisation"),
        ))
        .with_field("campaign_id"));
    }
    let dates: Vec<String> = v.preferred_dates.iter().map(|d| d.to_string()).collect();
    let dates = json_text(&dates)?;
    let id = s
        .store
        .create_session(
            &NewSession {
                org_id: e.actor.org_id,
                municipality_code: &v.municipality_code,
                campaign_id: req.campaign_id,
                preferred_dates: &dates,
                place: &v.place,
                expected_applicants: i64::from(v.expected_applicants),
                contact: &v.contact,
            },
            &s.clock.now(),
        )
        .await?;
    let r = session_for(&s, &Side::Organisation(e.actor.org_id), id).await?;
    Ok(Created(axum::Json(session_view(&s, r).await?)))
}

/// The organisation's sessions, or the municipality's.
#[utoipa::path(get, path = "/api/v1/campaigns/onsite-sessions", tag = "campaigns",
    responses((status = 200, body = [SessionView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_sessions(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<SessionView>>, ApiError> {
    let rows = match side(&s, &caller).await? {
        Side::Organisation(o) => s.store.sessions(Some(o), None).await?,
        Side::Municipality(m) => s.store.sessions(None, Some(&m)).await?,
    };
    let mut out = Vec::new();
    for r in rows {
        out.push(session_view(&s, r).await?);
    }
    Ok(axum::Json(out))
}

/// One session with its applications' progress.
#[utoipa::path(get, path = "/api/v1/campaigns/onsite-sessions/{id}", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_session(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<SessionView>, ApiError> {
    let side = side(&s, &caller).await?;
    let r = session_for(&s, &side, id).await?;
    Ok(axum::Json(session_view(&s, r).await?))
}

/// The municipality schedules the session: days, hours, staff, place.
#[utoipa::path(post, path = "/api/v1/campaigns/onsite-sessions/{id}/schedule", tag = "campaigns",
    params(("id" = i64, Path)),
    request_body = SessionSchedule,
    responses((status = 200, body = SessionView), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn schedule_session(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<SessionSchedule>,
) -> Result<axum::Json<SessionView>, ApiError> {
    let side = side(&s, &caller).await?;
    municipality_only(&side)?;
    let r = session_for(&s, &side, id).await?;
    let from = SessionStatus::parse(&r.status)?;
    session_transition(from, SessionStep::Schedule)?;
    let v = req.validate(s.clock.today())?;
    let dates: Vec<String> = v.dates.iter().map(|d| d.to_string()).collect();
    let plan_dates = json_text(&dates)?;
    let staff = json_text(&v.staff)?;
    let ok = s
        .store
        .schedule_session(
            id,
            from.as_str(),
            &SessionPlan {
                dates: &plan_dates,
                hours: &v.hours,
                staff: &staff,
                place: &v.place,
                by: &caller.0.org_name,
            },
            &s.clock.now(),
        )
        .await?;
    if !ok {
        return Err(ApiError::from(Refusal::refused(
            "session.concurrent",
            "the session changed meanwhile; try again",
        )));
    }
    let r = session_for(&s, &side, id).await?;
    Ok(axum::Json(session_view(&s, r).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionApplicantInput {
    /// The application, as at the window's on-site intake (resident, identity document,
    /// photo, PINs).
    pub application: OnSite,
    /// Which of the scheduled staff verified the applicant's identity.
    pub verified_by: String,
    /// The applicant's employee number at the organisation, if an employee.
    #[serde(default)]
    pub employee_no: Option<String>,
}

/// Municipal staff register an applicant at the session: identity verified on site, the
/// card application is created (channel on_site) and the card will be mailed by 本人限定受取
/// 郵便 once made.
#[utoipa::path(post, path = "/api/v1/campaigns/onsite-sessions/{id}/applicants", tag = "campaigns",
    params(("id" = i64, Path)),
    request_body = SessionApplicantInput,
    responses((status = 201, body = Registered), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_applicant(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<SessionApplicantInput>,
) -> Result<Created<axum::Json<Registered>>, ApiError> {
    let side = side(&s, &caller).await?;
    municipality_only(&side)?;
    let r = session_for(&s, &side, id).await?;
    session_transition(SessionStatus::parse(&r.status)?, SessionStep::Register)?;
    let days: Vec<NaiveDate> = json_list(r.dates.as_deref())
        .iter()
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .collect();
    check_session_day(&days, s.clock.today())?;
    let staff = json_list(r.staff.as_deref());
    let verified_by = req.verified_by.trim();
    if !staff.iter().any(|x| x == verified_by) {
        return Err(ApiError::from(Refusal::invalid(
            "verified_by.not_staff",
            "verified_by must be one of the session's scheduled staff",
        ))
        .with_field("verified_by"));
    }
    let employee_id = match req.employee_no.as_deref() {
        None => None,
        Some(no) => Some(
            s.store
                .employee_by_no(r.org_id, no.trim())
                .await?
                .ok_or_else(|| {
                    ApiError::from(Refusal::invalid(
                        "employee_no.unknown",
                        "the organisation has no employee with that number",
                    ))
                    .with_field("employee_no")
                })?
                .id,
        ),
    };
    let app = take_on_site(
        &s,
        &caller.0,
        &req.application.as_intake(),
        Some(&r.municipality_code),
    )
    .await?;
    s.store
        .add_session_applicant(app.id, id, employee_id, verified_by, &s.clock.now())
        .await?;
    let r = session_for(&s, &side, id).await?;
    Ok(Created(axum::Json(Registered {
        application: applications::view(app),
        session: session_view(&s, r).await?,
    })))
}

#[derive(Serialize, ToSchema)]
pub struct Registered {
    /// The application taken, with its 申請書ID for the applicant.
    pub application: ApplicationView,
    pub session: SessionView,
}

async fn step_session(
    s: &AppState,
    caller: &Caller,
    id: i64,
    step: SessionStep,
) -> Result<SessionView, ApiError> {
    let side = side(s, caller).await?;
    if step == SessionStep::Close {
        municipality_only(&side)?;
    }
    let r = session_for(s, &side, id).await?;
    let from = SessionStatus::parse(&r.status)?;
    let to = session_transition(from, step)?;
    if !s
        .store
        .set_session_status(id, from.as_str(), to.as_str(), &s.clock.now())
        .await?
    {
        return Err(ApiError::from(Refusal::refused(
            "session.concurrent",
            "the session changed meanwhile; try again",
        )));
    }
    let r = session_for(s, &side, id).await?;
    session_view(s, r).await
}

/// The municipality closes the session (held); no more applicants.
#[utoipa::path(post, path = "/api/v1/campaigns/onsite-sessions/{id}/close", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn close_session(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<SessionView>, ApiError> {
    Ok(axum::Json(
        step_session(&s, &caller, id, SessionStep::Close).await?,
    ))
}

/// Either side cancels a session that has not been held.
#[utoipa::path(post, path = "/api/v1/campaigns/onsite-sessions/{id}/cancel", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel_session(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<SessionView>, ApiError> {
    Ok(axum::Json(
        step_session(&s, &caller, id, SessionStep::Cancel).await?,
    ))
}
