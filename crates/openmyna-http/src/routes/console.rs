//! The operator console (`/console`): the CA's roots and responders, the CRL publication
//! history, certificate search by serial or resident with revocation, suspension and
//! release, and the registry and enrollment statistics with charts drawn on the server.
//!
//! The operator logs in with an operator token; the page opens a console session and keeps
//! its random secret — never the token — in a cookie (HttpOnly, Secure, SameSite=Strict,
//! Path=/console, 8 hours). Every request checks the session and the token behind it, so
//! logging out or revoking the token ends the console session at once. Every action goes
//! through the same handlers as the JSON API.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use openmyna_core::RefusalKind;
use openmyna_core::{Actor, Role};
use openmyna_store::DatedSeries;
use serde::Deserialize;

use crate::auth::Caller;
use crate::charts;
use crate::error::{ApiError, SeeOther, page_status};
use crate::json::ApiJson;
use crate::routes::jpki::{self, CertificateView, CrlView, RevokeRequest};
use crate::routes::portal::cookie;
use crate::state::AppState;

const COOKIE: &str = "omn_console";

pub struct RootRow {
    pub root: String,
    pub key: String,
    pub ocsp: String,
    pub crl: String,
}

#[derive(Template, Default)]
#[template(path = "console.html")]
pub struct ConsolePage {
    pub logged_in: bool,
    pub operator: String,
    pub message: Option<String>,
    pub error: Option<String>,
    pub roots: Vec<RootRow>,
    pub crls: Vec<CrlView>,
    pub query_serial: String,
    pub query_resident: String,
    pub certificates: Vec<CertificateView>,
    pub searched: bool,
    pub residents: i64,
    pub active_residents: i64,
    pub enrollments: i64,
    pub registrations: i64,
    pub chart: String,
}

fn render(page: &ConsolePage, status: StatusCode) -> Result<Response, ApiError> {
    let html = page
        .render()
        .map_err(|e| ApiError::internal("console template", &e))?;
    let mut resp = (status, Html(html)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

fn set_cookie(resp: &mut Response, value: &str, max_age: i64) {
    let c = format!(
        "{COOKIE}={value}; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}"
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
}

fn see_other(to: &str) -> Response {
    let mut resp = SeeOther.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// How long a console session lasts.
const SESSION_HOURS: i64 = 8;

/// The operator behind the console cookie, if it holds a live session of an operator token.
async fn operator(s: &AppState, parts: &Parts) -> Result<Option<Actor>, ApiError> {
    let Some(secret) = cookie(parts, COOKIE) else {
        return Ok(None);
    };
    Ok(s.store
        .console_actor(&secret, &s.clock.now())
        .await?
        .filter(|a| a.role == Role::Operator))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    pub serial: Option<String>,
    pub resident: Option<String>,
    pub done: Option<String>,
}

/// The first day of the month `back` months before `d`'s month.
fn month_start(d: NaiveDate, back: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d);
    first
        .checked_sub_months(chrono::Months::new(back))
        .unwrap_or(first)
}

async fn monthly(
    s: &AppState,
    series: DatedSeries,
    months: &[NaiveDate],
) -> Result<Vec<u64>, ApiError> {
    let Some(first) = months.first() else {
        return Ok(Vec::new());
    };
    let since = first
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(openmyna_core::jst()).single())
        .map(|t| t.timestamp_micros())
        .unwrap_or(0);
    let mut counts = vec![0u64; months.len()];
    for t in s.store.series_times(series, since).await? {
        let Some(day) = chrono::DateTime::from_timestamp_micros(t)
            .map(|u| u.with_timezone(&openmyna_core::jst()).date_naive())
        else {
            continue;
        };
        if let Some(c) = months
            .iter()
            .rposition(|m| *m <= day)
            .and_then(|i| counts.get_mut(i))
        {
            *c += 1;
        }
    }
    Ok(counts)
}

async fn build(
    s: &AppState,
    actor: &Actor,
    q: &SearchQuery,
    error: Option<String>,
) -> Result<ConsolePage, ApiError> {
    let caller = || Caller(actor.clone());
    let roots = jpki::roots(State(s.clone())).await?.0;
    let crls = jpki::crl_history(
        State(s.clone()),
        caller(),
        Query(jpki::HistoryQuery { limit: Some(20) }),
    )
    .await?
    .0;
    let mut certificates = Vec::new();
    let mut error = error;
    let serial = q.serial.as_deref().map(str::trim).unwrap_or("");
    let resident = q.resident.as_deref().map(str::trim).unwrap_or("");
    if !serial.is_empty() {
        match jpki::certificate(State(s.clone()), caller(), Path(serial.to_owned())).await {
            Ok(c) => certificates.push(c.0),
            Err(e) if e.is_client_error() => error = Some(e.message().to_owned()),
            Err(e) => return Err(e),
        }
    } else if !resident.is_empty() {
        match resident.parse::<i64>() {
            Ok(id) => {
                certificates = jpki::resident_certificates(State(s.clone()), caller(), Path(id))
                    .await?
                    .0
            }
            Err(_) => error = Some("a resident id is a number".into()),
        }
    }
    let counts = s.store.counts().await?;
    let today = s.clock.today();
    let months: Vec<NaiveDate> = (0..12).rev().map(|b| month_start(today, b)).collect();
    let enrol = monthly(s, DatedSeries::Enrollments, &months).await?;
    let regs = monthly(s, DatedSeries::InsuranceRegistrations, &months).await?;
    let labels: Vec<String> = months
        .iter()
        .map(|m| m.format("%Y-%m").to_string())
        .collect();
    let chart = charts::count_bars(
        "月別の登録数 / Registrations per month",
        &labels,
        &[
            ("資格情報 / enrollments", enrol.clone()),
            ("利用登録 / registrations", regs.clone()),
        ],
    );
    Ok(ConsolePage {
        logged_in: true,
        operator: actor.org_name.clone(),
        // Only the actions this page performs, never text from the address bar.
        message: q
            .done
            .as_deref()
            .filter(|d| ["revoke", "hold", "release"].contains(d))
            .map(str::to_owned),
        error,
        roots: roots
            .into_iter()
            .map(|r| RootRow {
                root: r.root,
                key: r.key,
                ocsp: r.ocsp_url,
                crl: r.full_crl_url,
            })
            .collect(),
        crls,
        query_serial: serial.to_owned(),
        query_resident: resident.to_owned(),
        searched: !serial.is_empty() || !resident.is_empty(),
        certificates,
        residents: counts.residents,
        active_residents: counts.active_residents,
        enrollments: enrol.iter().sum::<u64>() as i64,
        registrations: regs.iter().sum::<u64>() as i64,
        chart,
    })
}

/// `GET /console`: the console, or the login form.
pub async fn page(
    State(s): State<AppState>,
    Query(q): Query<SearchQuery>,
    parts: Parts,
) -> Result<Response, ApiError> {
    match operator(&s, &parts).await? {
        Some(actor) => render(&build(&s, &actor, &q, None).await?, page_status(None)),
        None => render(&ConsolePage::default(), page_status(None)),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub token: String,
}

/// `POST /console/login`: an operator token opens the console.
pub async fn login(
    State(s): State<AppState>,
    Form(f): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let token = f.token.trim();
    let actor = s.store.authenticate(token, &s.clock.now()).await?;
    match actor {
        Some(a) if a.role == Role::Operator => {
            let now = s.clock.now();
            let secret = s
                .store
                .open_console_session(
                    a.token_id,
                    &now,
                    &(now + chrono::Duration::hours(SESSION_HOURS)),
                )
                .await?;
            let mut resp = see_other("/console");
            set_cookie(&mut resp, &secret, SESSION_HOURS * 3600);
            Ok(resp)
        }
        Some(a) => render(
            &ConsolePage {
                error: Some(format!(
                    "this token is of a {} organisation; the console is for the operator",
                    a.role.as_str()
                )),
                ..Default::default()
            },
            page_status(Some(RefusalKind::Forbidden)),
        ),
        None => render(
            &ConsolePage {
                error: Some("the token is unknown, revoked or expired".into()),
                ..Default::default()
            },
            page_status(Some(RefusalKind::Unauthenticated)),
        ),
    }
}

/// `POST /console/logout`.
pub async fn logout(State(s): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    if let Some(secret) = cookie(&parts, COOKIE) {
        s.store.end_console_session(&secret, &s.clock.now()).await?;
    }
    let mut resp = see_other("/console");
    set_cookie(&mut resp, "", 0);
    Ok(resp)
}

#[derive(Deserialize)]
pub struct ActionForm {
    /// revoke, hold or release.
    pub action: String,
    /// For revoke: an RFC 5280 reason.
    pub reason: Option<String>,
}

/// `POST /console/certificates/{serial}`: revoke, suspend or release, then back to the
/// certificate (or the page again with the refusal).
pub async fn act(
    State(s): State<AppState>,
    Path(serial): Path<String>,
    parts: Parts,
    Form(f): Form<ActionForm>,
) -> Result<Response, ApiError> {
    let Some(actor) = operator(&s, &parts).await? else {
        return render(
            &ConsolePage::default(),
            page_status(Some(RefusalKind::Unauthenticated)),
        );
    };
    let caller = Caller(actor.clone());
    let st = State(s.clone());
    let p = Path(serial.clone());
    let result = match f.action.as_str() {
        "revoke" => {
            jpki::revoke(
                st,
                caller,
                p,
                ApiJson(RevokeRequest {
                    reason: f.reason.clone().unwrap_or_else(|| "unspecified".into()),
                }),
            )
            .await
        }
        "hold" => jpki::hold(st, caller, p).await,
        "release" => jpki::release(st, caller, p).await,
        _ => Err(ApiError::bad_request(
            "action.unknown",
            "the action is revoke, hold or release",
        )),
    };
    match result {
        Ok(c) => Ok(see_other(&format!(
            "/console?serial={}&done={}#certificates",
            c.0.serial, f.action
        ))),
        Err(e) if e.is_client_error() => {
            let q = SearchQuery {
                serial: Some(serial),
                resident: None,
                done: None,
            };
            render(
                &build(&s, &actor, &q, Some(e.message().to_owned())).await?,
                e.status(),
            )
        }
        Err(e) => Err(e),
    }
}
