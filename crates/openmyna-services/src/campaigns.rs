//! Card-uptake campaigns: employees' own answers and HR's CSV import, the dashboard per
//! division (本部単位で集計) with small-cell suppression, campaigns with their measures and
//! the award for the leading division, the figures per member organisation for associations,
//! the ministry report, and on-site application sessions (出張申請受付) with the municipality.
//!
//! The rules and the figures are in `openmyna-campaigns` (`dashboard`, `figures`, `session`,
//! `ministry`); these functions read and write the store around them.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use openmyna_applications::Status as ApplicationStatus;
use openmyna_campaigns::CampaignError;
use openmyna_campaigns::campaign::{self, CampaignInput, MeasureInput, MeasureKind};
use openmyna_campaigns::dashboard::{Counts, Division, Employee, Report};
use openmyna_campaigns::figures::{
    self, CampaignView, CompanyData, DashboardView, DivisionFigures, MeasureView, MembersView,
};
use openmyna_campaigns::ministry::{self, OrgFigures};
use openmyna_campaigns::org::{self as org_rules, Industry, OrgKind};
use openmyna_campaigns::reports::{self, Answer};
use openmyna_campaigns::session::{
    SessionRequest, SessionSchedule, SessionStatus, SessionStep, check_session_day,
    session_transition,
};
use openmyna_core::{Actor, Refusal, Role};
use openmyna_store::campaigns::{
    CampaignRow, NewReport, NewSession, Profile, ReportRow, SessionApplicant, SessionPlan,
    SessionRow,
};
use openmyna_store::card_applications::ApplicationRecord;

use crate::applications::{self, OnSite, own_municipality};
use crate::employers::{Employer, Who, profile_of, require_company};
use crate::{Result, ServiceError, Services};

// ------------------------------------------------------------------ answers

/// The employee's own answers (their own token only; nobody else reads them).
pub async fn my_answers(s: &Services, e: &Employer) -> Result<Vec<ReportRow>> {
    let emp = e.require_employee()?;
    Ok(s.store.employers().reports_of_employee(emp.id).await?)
}

/// The employee answers for themselves, for today: do they hold the card, have they
/// registered it for insurance use. It counts only in aggregates.
pub async fn put_my_answer(s: &Services, e: &Employer, a: &Answer) -> Result<Vec<ReportRow>> {
    let emp = e.require_employee()?;
    let a = a.check()?;
    let report = NewReport {
        org_id: e.actor.org_id,
        employee_id: emp.id,
        on: s.clock.today(),
        holds_card: a.holds_card,
        insurance_registered: a.insurance_registered,
        source: "self",
    };
    s.store
        .employers()
        .add_reports(&[report], &s.clock.now())
        .await?;
    Ok(s.store.employers().reports_of_employee(emp.id).await?)
}

/// What became of one row of an imported CSV.
pub enum RowOutcome {
    Accepted,
    Unchanged,
    Rejected(Refusal),
}

/// The answer to an import: each row's outcome (the header is row 1).
pub struct Import {
    pub rows: Vec<(usize, RowOutcome)>,
}

/// HR imports answers by CSV (UTF-8; `employee_no,holds_card,insurance_registered` and
/// optionally `as_of`). Each row is answered; re-importing the same answers changes nothing.
pub async fn import_answers(s: &Services, e: &Employer, csv: &[u8]) -> Result<Import> {
    e.require_staff()?;
    require_company(&s.store, e.actor.org_id).await?;
    if std::str::from_utf8(csv).is_err() {
        return Err(Refusal::invalid(
            "csv.encoding",
            "the CSV must be UTF-8 (convert Shift_JIS files first)",
        )
        .into());
    }
    let today = s.clock.today();
    let rows = reports::read_csv(csv, today)?;
    let employees: HashMap<String, i64> = (s.store.employers().employees(e.actor.org_id).await?)
        .into_iter()
        .map(|x| (x.employee_no, x.id))
        .collect();
    // The latest stored answer per employee and day, to leave repeats unchanged. Only HR's
    // own imports: comparing with employees' self-reports would tell HR their answers.
    let mut stored: HashMap<(i64, NaiveDate), (bool, bool)> = HashMap::new();
    for r in (s.store.employers().reports_of_org(e.actor.org_id).await?)
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
    for (row, parsed) in rows {
        let a = match parsed {
            Ok(a) => a,
            Err(CampaignError::Refusal(r)) => {
                out.push((row, RowOutcome::Rejected(r)));
                continue;
            }
        };
        let Some(&employee_id) = employees.get(&a.employee_no) else {
            let r = Refusal::invalid("employee_no.unknown", "no employee with that number")
                .with_field("employee_no");
            out.push((row, RowOutcome::Rejected(r)));
            continue;
        };
        let on = a.as_of.unwrap_or(today);
        let value = (a.answer.holds_card, a.answer.insurance_registered);
        if stored.get(&(employee_id, on)) == Some(&value) {
            out.push((row, RowOutcome::Unchanged));
            continue;
        }
        stored.insert((employee_id, on), value);
        new.push(NewReport {
            org_id: e.actor.org_id,
            employee_id,
            on,
            holds_card: value.0,
            insurance_registered: value.1,
            source: "hr_import",
        });
        out.push((row, RowOutcome::Accepted));
    }
    s.store
        .employers()
        .add_reports(&new, &s.clock.now())
        .await?;
    Ok(Import { rows: out })
}

// ------------------------------------------------------------------ dashboard

/// A company's divisions, employees and answers.
async fn company_data(s: &Services, org_id: i64) -> Result<CompanyData> {
    let divisions = (s.store.employers().divisions(org_id).await?)
        .into_iter()
        .map(|d| Division {
            id: d.id,
            parent: d.parent_id,
            name: d.name,
        })
        .collect();
    let employees = (s.store.employers().employees(org_id).await?)
        .into_iter()
        .map(|e| Employee {
            id: e.id,
            division: e.division_id,
            hired_on: e.hired_on,
            left_on: e.left_on,
        })
        .collect();
    let reports = (s.store.employers().reports_of_org(org_id).await?)
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

/// The day asked for (YYYY-MM-DD, not in the future), or today.
fn as_of(s: &Services, asked: Option<&str>) -> Result<NaiveDate> {
    let today = s.clock.today();
    let Some(d) = asked else { return Ok(today) };
    let d = openmyna_campaigns::parse_date("as_of", d)?;
    if d > today {
        return Err(
            Refusal::invalid("as_of.future", "as_of must not be in the future")
                .with_field("as_of")
                .into(),
        );
    }
    Ok(d)
}

/// Which day and how much history a dashboard shows.
#[derive(Default, Clone, Copy)]
pub struct Period<'a> {
    /// The day (default today).
    pub as_of: Option<&'a str>,
    /// Months of history in the series (default 12, at most 60).
    pub months: Option<u32>,
}

/// The company's dashboard: rates for the company and each division subtree, the ranking of
/// the top-level divisions and the monthly change; small groups withheld. Employees see
/// today's only: two arbitrary days apart, around one colleague's arrival, would tell that
/// colleague's answer.
pub async fn dashboard(s: &Services, e: &Employer, period: Period<'_>) -> Result<DashboardView> {
    if matches!(e.who, Who::Employee(..)) && period.as_of.is_some() {
        return Err(Refusal::forbidden(
            "as_of.staff_only",
            "employees see today's dashboard; other days are for the organisation's staff",
        )
        .into());
    }
    require_company(&s.store, e.actor.org_id).await?;
    let day = as_of(s, period.as_of)?;
    let months = period.months.unwrap_or(12).min(60);
    let data = company_data(s, e.actor.org_id).await?;
    Ok(figures::dashboard(&data, &e.actor.org_name, day, months))
}

/// The dashboard with the target rate of the campaign running today, if any (for the bars).
pub async fn dashboard_with_target(
    s: &Services,
    e: &Employer,
    period: Period<'_>,
) -> Result<(DashboardView, Option<f64>)> {
    let view = dashboard(s, e, period).await?;
    let today = s.clock.today();
    let target = (s.store.employers().campaigns(e.actor.org_id).await?)
        .into_iter()
        .rev()
        .find(|c| c.starts_on <= today && today <= c.ends_on)
        .map(|c| c.target_rate as f64);
    Ok((view, target))
}

// ------------------------------------------------------------------ campaigns

fn rule_of(c: &CampaignRow) -> campaign::Campaign {
    campaign::Campaign {
        name: c.name.clone(),
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        target_rate: u32::try_from(c.target_rate).unwrap_or(100),
    }
}

async fn campaign_view(s: &Services, c: CampaignRow) -> Result<CampaignView> {
    let data = company_data(s, c.org_id).await?;
    let measures = (s.store.employers().measures_of_org(c.org_id).await?)
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
    Ok(figures::campaign(
        &data,
        c.id,
        &rule_of(&c),
        measures,
        s.clock.today(),
    ))
}

async fn own_campaign(s: &Services, org_id: i64, id: i64) -> Result<CampaignRow> {
    (s.store.employers().campaigns(org_id).await?)
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| Refusal::not_found("campaign.not_found", format!("no campaign {id}")).into())
}

/// Starts a campaign (the organisation's own token).
pub async fn create_campaign(
    s: &Services,
    e: &Employer,
    req: &CampaignInput,
) -> Result<CampaignView> {
    e.require_admin()?;
    require_company(&s.store, e.actor.org_id).await?;
    let c = req.validate()?;
    let id = s
        .store
        .employers()
        .create_campaign(
            e.actor.org_id,
            &c.name,
            c.starts_on,
            c.ends_on,
            i64::from(c.target_rate),
            &s.clock.now(),
        )
        .await?;
    campaign_view(s, own_campaign(s, e.actor.org_id, id).await?).await
}

/// The organisation's campaigns with their results.
pub async fn campaigns(s: &Services, e: &Employer) -> Result<Vec<CampaignView>> {
    let mut out = Vec::new();
    for c in s.store.employers().campaigns(e.actor.org_id).await? {
        out.push(campaign_view(s, c).await?);
    }
    Ok(out)
}

/// One campaign with its results.
pub async fn campaign(s: &Services, e: &Employer, id: i64) -> Result<CampaignView> {
    campaign_view(s, own_campaign(s, e.actor.org_id, id).await?).await
}

/// One campaign and the company's top-level divisions (the lines of its trend chart).
pub async fn campaign_trend(
    s: &Services,
    e: &Employer,
    id: i64,
) -> Result<(CampaignView, Vec<DivisionFigures>)> {
    let c = own_campaign(s, e.actor.org_id, id).await?;
    let lines = figures::top_level(&company_data(s, c.org_id).await?);
    Ok((campaign_view(s, c).await?, lines))
}

/// Records a measure taken in a campaign (the organisation's own token).
pub async fn add_measure(
    s: &Services,
    e: &Employer,
    id: i64,
    req: &MeasureInput,
) -> Result<MeasureView> {
    e.require_admin()?;
    let c = own_campaign(s, e.actor.org_id, id).await?;
    let m = req.validate(&rule_of(&c))?;
    let reached = m.reached.map(i64::from);
    let now = s.clock.now();
    let mid = s
        .store
        .employers()
        .add_measure(c.id, m.kind.as_str(), m.on, &m.note, reached, &now)
        .await?;
    Ok(MeasureView {
        id: mid,
        kind: m.kind.as_str().to_owned(),
        kind_name: m.kind.label_ja().to_owned(),
        on: m.on.to_string(),
        note: m.note,
        reached,
    })
}

// ------------------------------------------------------------------ associations and ministries

/// The company totals of an organisation's subtree: each company's tally, summed.
async fn subtree_counts(
    s: &Services,
    root: i64,
    profiles: &[Profile],
    day: NaiveDate,
) -> Result<Counts> {
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
        if org_rules::is_within(p.org_id, root, parent_of, profiles.len() + 1) {
            let c = company_data(s, p.org_id).await?.total(day);
            total.employees += c.employees;
            total.holders += c.holders;
            total.registered += c.registered;
            total.answered += c.answered;
        }
    }
    Ok(total)
}

/// An association's figures per member organisation, ranked; small members withheld. A
/// ministry reads the report instead, whose suppression covers industries and organisations
/// together: a second view with other groupings would let withheld cells be subtracted.
pub async fn members(s: &Services, e: &Employer, as_of_day: Option<&str>) -> Result<MembersView> {
    e.require_staff()?;
    if profile_of(&s.store, e.actor.org_id).await?.kind != OrgKind::Association.as_str() {
        return Err(Refusal::refused(
            "employer.not_association",
            "the member view is for an industry association (a ministry reads the report)",
        )
        .into());
    }
    let day = as_of(s, as_of_day)?;
    let profiles = s.store.employers().employer_profiles().await?;
    let orgs = s.store.auth().organisations().await?;
    let mut members = Vec::new();
    for p in (profiles.iter()).filter(|p| p.parent_org_id == Some(e.actor.org_id)) {
        let org = orgs.iter().find(|o| o.id == p.org_id);
        members.push(figures::Member {
            organisation: org.map(|o| o.name.clone()).unwrap_or_default(),
            corporate_number: org.and_then(|o| o.code.clone()),
            kind: p.kind.clone(),
            industry: p.industry.clone(),
            counts: subtree_counts(s, p.org_id, &profiles, day).await?,
        });
    }
    Ok(figures::members(members, day))
}

/// What an organisation's campaign page (`/campaigns`) shows, by the kind of organisation.
pub enum Board {
    /// A company: its dashboard (with the running campaign's target) and its campaigns.
    Company {
        dashboard: DashboardView,
        target: Option<f64>,
        campaigns: Vec<CampaignView>,
    },
    /// An industry association: its member organisations' figures.
    Association(MembersView),
    /// A ministry: the report, as CSV.
    Ministry,
}

/// The campaign page's figures for the organisation's staff (its own token or HR's; an
/// employee answers for themselves and sees no page): the same use cases as the JSON API.
pub async fn board(s: &Services, e: &Employer, as_of_day: Option<&str>) -> Result<Board> {
    e.require_staff()?;
    let kind = profile_of(&s.store, e.actor.org_id).await?.kind;
    if kind == OrgKind::Association.as_str() {
        return Ok(Board::Association(members(s, e, as_of_day).await?));
    }
    if kind == OrgKind::Ministry.as_str() {
        return Ok(Board::Ministry);
    }
    let period = Period {
        as_of: as_of_day,
        months: None,
    };
    let (dashboard, target) = dashboard_with_target(s, e, period).await?;
    Ok(Board::Company {
        dashboard,
        target,
        campaigns: campaigns(s, e).await?,
    })
}

/// The ministry report (CSV): every organisation under the calling ministry, per industry
/// and in total, with the measures, the on-site sessions' results and the bottom-third
/// industries flagged.
pub async fn ministry_report(
    s: &Services,
    e: &Employer,
    as_of_day: Option<&str>,
) -> Result<String> {
    e.require_staff()?;
    let me = profile_of(&s.store, e.actor.org_id).await?;
    if me.kind != OrgKind::Ministry.as_str() {
        return Err(Refusal::refused(
            "employer.not_ministry",
            "the ministry report is for a ministry (profile kind ministry)",
        )
        .into());
    }
    let day = as_of(s, as_of_day)?;
    let profiles = s.store.employers().employer_profiles().await?;
    let orgs = s.store.auth().organisations().await?;
    let parent_of = |id: i64| {
        profiles
            .iter()
            .find(|p| p.org_id == id)
            .and_then(|p| p.parent_org_id)
    };
    let mut rows = Vec::new();
    for p in &profiles {
        let below = org_rules::is_within(p.org_id, e.actor.org_id, parent_of, profiles.len() + 1);
        if p.org_id == e.actor.org_id || !below {
            continue;
        }
        rows.push(org_figures(s, p, &orgs, day).await?);
    }
    ministry::build(&rows, day)
        .to_csv()
        .map_err(|err| ServiceError::internal("ministry report", err))
}

/// One organisation's line of the ministry report on `day`.
async fn org_figures(
    s: &Services,
    p: &Profile,
    orgs: &[openmyna_store::auth::Organisation],
    day: NaiveDate,
) -> Result<OrgFigures> {
    let org = orgs.iter().find(|o| o.id == p.org_id);
    let kind = OrgKind::parse(&p.kind)?;
    let counts = if kind == OrgKind::Company {
        Some(company_data(s, p.org_id).await?.total(day))
    } else {
        None
    };
    let mut measures: BTreeMap<MeasureKind, u32> = BTreeMap::new();
    for m in s.store.employers().measures_of_org(p.org_id).await? {
        if m.on <= day
            && let Ok(k) = MeasureKind::parse(&m.kind)
        {
            *measures.entry(k).or_default() += 1;
        }
    }
    let (mut held, mut apps, mut delivered) = (0u32, 0u32, 0u32);
    for sess in s.store.employers().sessions(Some(p.org_id), None).await? {
        // Sessions requested after the report's day are not in it.
        let requested_on = openmyna_store::campaigns::date_of_micros(sess.created_at);
        if requested_on.is_none_or(|d| d > day) {
            continue;
        }
        if sess.status == SessionStatus::Held {
            held += 1;
        }
        for a in s.store.employers().session_applicants(sess.id).await? {
            apps += 1;
            delivered += u32::from(a.status == ApplicationStatus::Delivered);
        }
    }
    Ok(OrgFigures {
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
    })
}

// ------------------------------------------------------------------ on-site sessions

/// A session with what its views show: the organisation's name and the applicants.
pub struct Session {
    pub row: SessionRow,
    pub organisation: String,
    pub applicants: Vec<SessionApplicant>,
}

/// Which side a caller is on for sessions: an organisation's staff, or a municipality.
enum Side {
    Organisation(i64),
    Municipality(String),
}

async fn side(s: &Services, actor: &Actor) -> Result<Side> {
    if actor.role == Role::Municipality {
        return Ok(Side::Municipality(own_municipality(s, actor.org_id).await?));
    }
    let e = Employer::of(s, actor).await?;
    e.require_staff()?;
    Ok(Side::Organisation(e.actor.org_id))
}

/// The municipality's side only (an organisation is refused, naming the role needed).
async fn municipality_side(s: &Services, actor: &Actor) -> Result<Side> {
    let side = side(s, actor).await?;
    if let Side::Organisation(_) = side {
        actor.require(&[Role::Municipality])?;
    }
    Ok(side)
}

async fn session_row(s: &Services, side: &Side, id: i64) -> Result<SessionRow> {
    let not_found = || Refusal::not_found("session.not_found", format!("no session {id}"));
    let r = s
        .store
        .employers()
        .session(id)
        .await?
        .ok_or_else(not_found)?;
    let mine = match side {
        Side::Organisation(o) => r.org_id == *o,
        Side::Municipality(m) => &r.municipality_code == m,
    };
    if !mine {
        return Err(not_found().into());
    }
    Ok(r)
}

async fn session_of(s: &Services, row: SessionRow) -> Result<Session> {
    let organisation = (s.store.auth().organisation(row.org_id).await?)
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(Session {
        applicants: s.store.employers().session_applicants(row.id).await?,
        organisation,
        row,
    })
}

async fn load_session(s: &Services, side: &Side, id: i64) -> Result<Session> {
    session_of(s, session_row(s, side, id).await?).await
}

/// A list of strings as stored (JSON text).
fn json_text(v: &[String]) -> Result<String> {
    serde_json::to_string(v).map_err(|e| ServiceError::internal("sessions", e))
}

/// A stored list of strings (JSON text); empty when absent.
pub fn json_list(s: Option<&str>) -> Vec<String> {
    s.and_then(|x| serde_json::from_str(x).ok())
        .unwrap_or_default()
}

fn concurrent() -> ServiceError {
    Refusal::refused(
        "session.concurrent",
        "the session changed meanwhile; try again",
    )
    .into()
}

/// An organisation (its own token) requests an on-site application session from the
/// municipality of its workplace.
pub async fn request_session(s: &Services, e: &Employer, req: &SessionRequest) -> Result<Session> {
    e.require_admin()?;
    let v = req.validate(s.clock.today())?;
    if let Some(c) = req.campaign_id
        && !(s.store.employers().campaigns(e.actor.org_id).await?)
            .iter()
            .any(|x| x.id == c)
    {
        return Err(Refusal::invalid(
            "campaign_id.unknown",
            format!("no campaign {c} of this organisation"),
        )
        .with_field("campaign_id")
        .into());
    }
    let dates: Vec<String> = v.preferred_dates.iter().map(|d| d.to_string()).collect();
    let dates = json_text(&dates)?;
    let new = NewSession {
        org_id: e.actor.org_id,
        municipality_code: &v.municipality_code,
        campaign_id: req.campaign_id,
        preferred_dates: &dates,
        place: &v.place,
        expected_applicants: i64::from(v.expected_applicants),
        contact: &v.contact,
    };
    let id = s
        .store
        .employers()
        .create_session(&new, &s.clock.now())
        .await?;
    load_session(s, &Side::Organisation(e.actor.org_id), id).await
}

/// The organisation's sessions (its staff), or the municipality's.
pub async fn sessions(s: &Services, actor: &Actor) -> Result<Vec<Session>> {
    let rows = match side(s, actor).await? {
        Side::Organisation(o) => s.store.employers().sessions(Some(o), None).await?,
        Side::Municipality(m) => s.store.employers().sessions(None, Some(&m)).await?,
    };
    let mut out = Vec::new();
    for r in rows {
        out.push(session_of(s, r).await?);
    }
    Ok(out)
}

/// One session of the caller's side, with its applications' progress.
pub async fn session(s: &Services, actor: &Actor, id: i64) -> Result<Session> {
    let side = side(s, actor).await?;
    load_session(s, &side, id).await
}

/// The municipality schedules the session: days, hours, staff, place.
pub async fn schedule_session(
    s: &Services,
    actor: &Actor,
    id: i64,
    req: &SessionSchedule,
) -> Result<Session> {
    let side = municipality_side(s, actor).await?;
    let r = session_row(s, &side, id).await?;
    let from = r.status;
    session_transition(from, SessionStep::Schedule)?;
    let v = req.validate(s.clock.today())?;
    let dates: Vec<String> = v.dates.iter().map(|d| d.to_string()).collect();
    let plan_dates = json_text(&dates)?;
    let staff = json_text(&v.staff)?;
    let plan = SessionPlan {
        dates: &plan_dates,
        hours: &v.hours,
        staff: &staff,
        place: &v.place,
        by: &actor.org_name,
    };
    if !s
        .store
        .employers()
        .schedule_session(id, from, &plan, &s.clock.now())
        .await?
    {
        return Err(concurrent());
    }
    load_session(s, &side, id).await
}

/// An applicant registered at a session by the municipality's staff.
pub struct Applicant<'a> {
    /// The application, as at the window's on-site intake.
    pub application: OnSite<'a>,
    /// Which of the scheduled staff verified the applicant's identity.
    pub verified_by: &'a str,
    /// The applicant's employee number at the organisation, if an employee.
    pub employee_no: Option<&'a str>,
}

/// Municipal staff register an applicant on a day of the session: identity verified on site,
/// the card application created (channel on_site; the card is mailed by 本人限定受取郵便 once
/// made).
pub async fn register_applicant(
    s: &Services,
    actor: &Actor,
    id: i64,
    req: &Applicant<'_>,
) -> Result<(ApplicationRecord, Session)> {
    let side = municipality_side(s, actor).await?;
    let r = session_row(s, &side, id).await?;
    session_transition(r.status, SessionStep::Register)?;
    let days: Vec<NaiveDate> = json_list(r.dates.as_deref())
        .iter()
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .collect();
    check_session_day(&days, s.clock.today())?;
    let verified_by = req.verified_by.trim();
    if !json_list(r.staff.as_deref())
        .iter()
        .any(|x| x == verified_by)
    {
        return Err(Refusal::invalid(
            "verified_by.not_staff",
            "verified_by must be one of the session's scheduled staff",
        )
        .with_field("verified_by")
        .into());
    }
    let employee_id = match req.employee_no {
        None => None,
        Some(no) => Some(
            (s.store
                .employers()
                .employee_by_no(r.org_id, no.trim())
                .await?)
                .ok_or_else(|| {
                    Refusal::invalid(
                        "employee_no.unknown",
                        "the organisation has no employee with that number",
                    )
                    .with_field("employee_no")
                })?
                .id,
        ),
    };
    let municipality = Some(r.municipality_code.as_str());
    let app = applications::take_on_site(s, actor, &req.application, municipality).await?;
    s.store
        .employers()
        .add_session_applicant(app.id, id, employee_id, verified_by, &s.clock.now())
        .await?;
    Ok((app, load_session(s, &side, id).await?))
}

/// A session moves on: the municipality closes it (held; no more applicants), or either side
/// cancels one that has not been held.
pub async fn step_session(
    s: &Services,
    actor: &Actor,
    id: i64,
    step: SessionStep,
) -> Result<Session> {
    let side = if step == SessionStep::Close {
        municipality_side(s, actor).await?
    } else {
        side(s, actor).await?
    };
    let r = session_row(s, &side, id).await?;
    let from = r.status;
    let to = session_transition(from, step)?;
    if !s
        .store
        .employers()
        .set_session_status(id, from, to, &s.clock.now())
        .await?
    {
        return Err(concurrent());
    }
    load_session(s, &side, id).await
}
