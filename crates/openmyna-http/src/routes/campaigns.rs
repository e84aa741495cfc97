//! Card-uptake campaigns (`/api/v1/campaigns…`): employees' own answers and HR's CSV import,
//! the dashboard per division (本部単位で集計) with small-cell suppression and SVG charts,
//! campaigns with their measures and the award for the leading division, the figures per
//! member organisation for associations, on-site application sessions (出張申請受付) with the
//! municipality, and the ministry report.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use openmyna_campaigns::campaign::{CampaignInput, MeasureInput};
use openmyna_campaigns::figures::{DivisionFigures, SeriesPoint};
use openmyna_campaigns::reports::Answer;
use openmyna_campaigns::session::{SessionRequest, SessionSchedule, SessionStep};
use openmyna_services::campaigns::{self as service, Period, RowOutcome, json_list};
use openmyna_store::campaigns::ReportRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::charts::{self, Bar, Line};
use crate::error::{ApiError, Created, ErrorBody};
use crate::json::ApiJson;
use crate::json::{ApiPath, ApiQuery};
use crate::routes::applications::{self as applications, ApplicationView, OnSite};
use crate::routes::employers::employer;
use crate::state::AppState;

pub use openmyna_campaigns::figures::{CampaignView, DashboardView, MeasureView, MembersView};

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

fn my_answer_view(reports: Vec<ReportRow>) -> MyAnswer {
    let history: Vec<AnswerView> = reports
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
    MyAnswer { latest, history }
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
    Ok(axum::Json(my_answer_view(
        service::put_my_answer(&s, &e, &a).await?,
    )))
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
    Ok(axum::Json(my_answer_view(
        service::my_answers(&s, &e).await?,
    )))
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
    fn of(row: usize, outcome: RowOutcome) -> ImportRow {
        let (status, refusal) = match outcome {
            RowOutcome::Accepted => ("accepted", None),
            RowOutcome::Unchanged => ("unchanged", None),
            RowOutcome::Rejected(r) => ("rejected", Some(r)),
        };
        ImportRow {
            row,
            status: status.to_owned(),
            code: refusal.as_ref().map(|r| r.code().to_owned()),
            field: (refusal.as_ref()).map(|r| r.field().unwrap_or_default().to_owned()),
            message: refusal.as_ref().map(|r| r.message().to_owned()),
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
    let import = service::import_answers(&s, &e, &body).await?;
    let rows: Vec<ImportRow> = (import.rows.into_iter())
        .map(|(row, outcome)| ImportRow::of(row, outcome))
        .collect();
    let count = |status: &str| rows.iter().filter(|r| r.status == status).count();
    Ok(axum::Json(ImportReport {
        accepted: count("accepted"),
        unchanged: count("unchanged"),
        rejected: count("rejected"),
        rows,
    }))
}

// ------------------------------------------------------------------ dashboard

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// The day (default today).
    pub as_of: Option<String>,
    /// Months of history in the series (default 12, at most 60).
    pub months: Option<u32>,
}

impl DashboardQuery {
    fn period(&self) -> Period<'_> {
        Period {
            as_of: self.as_of.as_deref(),
            months: self.months,
        }
    }
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
    ApiQuery(q): ApiQuery<DashboardQuery>,
) -> Result<axum::Json<DashboardView>, ApiError> {
    let e = employer(&s, &caller).await?;
    Ok(axum::Json(service::dashboard(&s, &e, q.period()).await?))
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
    ApiQuery(q): ApiQuery<DashboardQuery>,
) -> Result<Response, ApiError> {
    let e = employer(&s, &caller).await?;
    let (view, target) = service::dashboard_with_target(&s, &e, q.period()).await?;
    Ok(svg(bars_svg(&view, target)))
}

pub(crate) fn bars_svg(view: &DashboardView, target: Option<f64>) -> String {
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
    charts::bar_chart(
        &format!(
            "{} マイナンバーカード取得率 ({})",
            view.organisation, view.as_of
        ),
        ("カード取得", "保険証利用登録"),
        &bars,
        target,
    )
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
    ApiQuery(q): ApiQuery<DashboardQuery>,
) -> Result<Response, ApiError> {
    let e = employer(&s, &caller).await?;
    let view = service::dashboard(&s, &e, q.period()).await?;
    Ok(svg(trend_svg(
        &format!("{} カード取得率の推移", view.organisation),
        &view.series,
        &view.divisions,
    )))
}

pub(crate) fn trend_svg(
    title: &str,
    series: &[SeriesPoint],
    divisions: &[DivisionFigures],
) -> String {
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
    Ok(Created(axum::Json(
        service::create_campaign(&s, &e, &req).await?,
    )))
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
    Ok(axum::Json(service::campaigns(&s, &e).await?))
}

/// One campaign: figures at the start and end, target, ranking, the award once ended.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_campaign(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    let e = employer(&s, &caller).await?;
    Ok(axum::Json(service::campaign(&s, &e, id).await?))
}

/// A campaign's weekly trend per top-level division (SVG).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/trend.svg", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn campaign_trend(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let e = employer(&s, &caller).await?;
    let (view, divisions) = service::campaign_trend(&s, &e, id).await?;
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
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<MeasureInput>,
) -> Result<Created<axum::Json<MeasureView>>, ApiError> {
    let e = employer(&s, &caller).await?;
    Ok(Created(axum::Json(
        service::add_measure(&s, &e, id, &req).await?,
    )))
}

// ------------------------------------------------------------------ associations and ministries

/// An association's figures per member organisation, ranked; small members show no figures.
#[utoipa::path(get, path = "/api/v1/campaigns/member-organisations", tag = "campaigns",
    params(DashboardQuery),
    responses((status = 200, body = MembersView), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn member_organisations(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<DashboardQuery>,
) -> Result<axum::Json<MembersView>, ApiError> {
    let e = employer(&s, &caller).await?;
    Ok(axum::Json(
        service::members(&s, &e, q.as_of.as_deref()).await?,
    ))
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
    ApiQuery(q): ApiQuery<DashboardQuery>,
) -> Result<Response, ApiError> {
    let e = employer(&s, &caller).await?;
    let csv = service::ministry_report(&s, &e, q.as_of.as_deref()).await?;
    Ok(crate::pages::csv(csv, Some("ministry-report.csv")))
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

fn session_view(x: service::Session) -> SessionView {
    let r = x.row;
    let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
    for a in &x.applicants {
        *by_status.entry(a.status.as_str().to_owned()).or_default() += 1;
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
    SessionView {
        id: r.id,
        organisation: x.organisation,
        municipality_code: r.municipality_code,
        campaign_id: r.campaign_id,
        status: r.status.as_str().to_owned(),
        preferred_dates: json_list(Some(&r.preferred_dates)),
        place: r.place,
        expected_applicants: r.expected_applicants,
        contact: r.contact,
        schedule,
        delivered: (x.applicants.iter())
            .filter(|a| a.status == openmyna_applications::Status::Delivered)
            .count() as i64,
        applicants: x.applicants.len() as i64,
        applications: by_status,
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
    let session = service::request_session(&s, &e, &req).await?;
    Ok(Created(axum::Json(session_view(session))))
}

/// The organisation's sessions, or the municipality's.
#[utoipa::path(get, path = "/api/v1/campaigns/onsite-sessions", tag = "campaigns",
    responses((status = 200, body = [SessionView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_sessions(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<SessionView>>, ApiError> {
    let all = service::sessions(&s, &caller.0).await?;
    Ok(axum::Json(all.into_iter().map(session_view).collect()))
}

/// One session with its applications' progress.
#[utoipa::path(get, path = "/api/v1/campaigns/onsite-sessions/{id}", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_session(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::Json<SessionView>, ApiError> {
    Ok(axum::Json(session_view(
        service::session(&s, &caller.0, id).await?,
    )))
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
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SessionSchedule>,
) -> Result<axum::Json<SessionView>, ApiError> {
    let session = service::schedule_session(&s, &caller.0, id, &req).await?;
    Ok(axum::Json(session_view(session)))
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
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SessionApplicantInput>,
) -> Result<Created<axum::Json<Registered>>, ApiError> {
    let applicant = service::Applicant {
        application: req.application.as_intake(),
        verified_by: &req.verified_by,
        employee_no: req.employee_no.as_deref(),
    };
    let (app, session) = service::register_applicant(&s, &caller.0, id, &applicant).await?;
    Ok(Created(axum::Json(Registered {
        application: applications::view(app),
        session: session_view(session),
    })))
}

#[derive(Serialize, ToSchema)]
pub struct Registered {
    /// The application taken, with its 申請書ID for the applicant.
    pub application: ApplicationView,
    pub session: SessionView,
}

/// The municipality closes the session (held); no more applicants.
#[utoipa::path(post, path = "/api/v1/campaigns/onsite-sessions/{id}/close", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn close_session(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::Json<SessionView>, ApiError> {
    let session = service::step_session(&s, &caller.0, id, SessionStep::Close).await?;
    Ok(axum::Json(session_view(session)))
}

/// Either side cancels a session that has not been held.
#[utoipa::path(post, path = "/api/v1/campaigns/onsite-sessions/{id}/cancel", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel_session(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::Json<SessionView>, ApiError> {
    let session = service::step_session(&s, &caller.0, id, SessionStep::Cancel).await?;
    Ok(axum::Json(session_view(session)))
}
