//! The campaign pages (`/campaigns`) for an organisation's staff, in a browser: a company's
//! dashboard (rates per 本部 with small groups withheld, the bars and the monthly trend, its
//! campaigns with their measures, trend and award), an association's member organisations,
//! a ministry's report download. The same use cases as the JSON API
//! (`openmyna_services::campaigns::board`).
//!
//! Staff log in with the organisation's token or an HR member token; the page opens a browser
//! session and keeps its random secret — never the token — in a cookie (HttpOnly, Secure,
//! SameSite=Strict, Path=/campaigns, 8 hours), as the operator console does. Revoking the
//! token ends the session at once.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use openmyna_campaigns::dashboard::Published;
use openmyna_campaigns::figures::{CampaignView, DashboardView, MembersView};
use openmyna_core::{IntoRefusal, Role};
use openmyna_services::campaigns::{self as service, Board};
use openmyna_services::console as sessions;
use openmyna_services::employers::Employer;
use serde::Deserialize;

use crate::charts::{self, Bar};
use crate::error::{ApiError, page_status};
use crate::pages::{LoginForm, PageCookie, csv as csv_download, render};
use crate::routes::campaigns::{bars_svg, trend_svg};
use crate::routes::portal::{cookie, portal_b64};
use crate::state::AppState;

const COOKIE: PageCookie = PageCookie {
    name: "omn_campaigns",
    path: "/campaigns",
    same_site: "Strict",
};

/// One row of figures: a division (indented by depth), a member organisation, or the total.
pub struct FigureRow {
    pub name: String,
    pub depth: u32,
    pub employees: u32,
    /// Withheld: fewer than 5 people, or to protect such a group.
    pub withheld: bool,
    pub holders: String,
    pub holding_rate: String,
    pub registration_rate: String,
    pub rank: String,
}

pub struct CampaignBlock {
    pub name: String,
    pub period: String,
    pub phase: String,
    pub target: i64,
    pub at_start: String,
    pub latest: String,
    pub change: String,
    pub target_met: String,
    pub measures: Vec<String>,
    pub award: Option<String>,
    pub trend: String,
}

#[derive(Template, Default)]
#[template(path = "campaigns.html")]
pub struct CampaignsPage {
    pub logged_in: bool,
    pub organisation: String,
    pub who: String,
    /// company, association, ministry.
    pub kind: String,
    pub error: Option<String>,
    pub lan_host: Option<String>,
    pub as_of: String,
    pub min_cell: u32,
    pub total: Option<FigureRow>,
    pub rows: Vec<FigureRow>,
    pub bars: String,
    pub trend: String,
    pub campaigns: Vec<CampaignBlock>,
}

/// An SVG as an image's data: URL (the page shows the figures in a table beside it).
fn svg_url(svg: &str) -> String {
    format!("data:image/svg+xml;base64,{}", portal_b64(svg.as_bytes()))
}

fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}%"))
}

fn row(name: &str, depth: u32, p: &Published, rank: Option<u32>) -> FigureRow {
    FigureRow {
        name: name.to_owned(),
        depth,
        employees: p.employees,
        withheld: p.suppressed,
        holders: p.holders.map_or_else(|| "—".to_owned(), |h| h.to_string()),
        holding_rate: rate(p.holding_rate),
        registration_rate: rate(p.registration_rate),
        rank: rank.map_or_else(String::new, |r| format!("{r}位")),
    }
}

/// The staff member behind the cookie, if it holds a live session of an employer token.
async fn staff(s: &AppState, parts: &Parts) -> Result<Option<Employer>, ApiError> {
    let Some(secret) = cookie(parts, COOKIE.name) else {
        return Ok(None);
    };
    match sessions::session_actor(s, &secret, Role::Employer).await? {
        Some(actor) => Ok(Some(Employer::of(s, &actor).await?)),
        None => Ok(None),
    }
}

#[derive(Deserialize)]
pub struct BoardQuery {
    /// The day to show (YYYY-MM-DD); today when absent.
    pub as_of: Option<String>,
}

fn company(page: &mut CampaignsPage, d: &DashboardView, target: Option<f64>, cs: &[CampaignView]) {
    page.as_of = d.as_of.clone();
    page.min_cell = d.min_cell;
    page.total = Some(row("全体 / Company", 0, &d.total, None));
    page.rows = (d.divisions.iter())
        .map(|x| row(&x.name, x.depth, &x.figures, x.rank))
        .collect();
    page.bars = svg_url(&bars_svg(d, target));
    page.trend = svg_url(&trend_svg(
        &format!("{} カード取得率の推移", d.organisation),
        &d.series,
        &d.divisions,
    ));
    page.campaigns = cs
        .iter()
        .rev()
        .map(|c| CampaignBlock {
            name: c.name.clone(),
            period: format!("{} 〜 {}", c.starts_on, c.ends_on),
            phase: match c.phase.as_str() {
                "running" => "実施中 / running".to_owned(),
                "ended" => "終了 / ended".to_owned(),
                "planned" => "開始前 / planned".to_owned(),
                other => other.to_owned(),
            },
            target: c.target_rate,
            at_start: rate(c.at_start.holding_rate),
            latest: format!("{} ({})", rate(c.latest.holding_rate), c.latest_on),
            change: c
                .change
                .map_or_else(|| "—".to_owned(), |v| format!("{v:+.1} ポイント")),
            target_met: match c.target_met {
                Some(true) => "達成 / met".to_owned(),
                Some(false) => "未達 / not met".to_owned(),
                None => "—".to_owned(),
            },
            measures: (c.measures.iter())
                .map(|m| {
                    let reached = m.reached.map_or_else(String::new, |n| format!("（{n}人）"));
                    format!("{} {}{}: {}", m.on, m.kind_name, reached, m.note)
                })
                .collect(),
            award: c.award.as_ref().map(|a| {
                (a.divisions.iter())
                    .map(|d| format!("{}（{}）", d.name, rate(d.holding_rate)))
                    .collect::<Vec<_>>()
                    .join("、")
            }),
            trend: svg_url(&trend_svg(
                &format!("{} ({}〜{})", c.name, c.starts_on, c.ends_on),
                &c.series,
                &d.divisions,
            )),
        })
        .collect();
}

fn association(page: &mut CampaignsPage, m: &MembersView) {
    page.as_of = m.as_of.clone();
    page.min_cell = openmyna_campaigns::dashboard::MIN_CELL;
    page.total = Some(row("会員全体 / All members", 0, &m.total, None));
    page.rows = (m.members.iter())
        .map(|x| row(&x.organisation, 0, &x.figures, x.rank))
        .collect();
    let bars: Vec<Bar<'_>> = (m.members.iter())
        .map(|x| Bar {
            label: &x.organisation,
            first: x.figures.holding_rate,
            second: x.figures.registration_rate,
        })
        .collect();
    page.bars = svg_url(&charts::bar_chart(
        &format!("会員企業のマイナンバーカード取得率 ({})", m.as_of),
        ("カード取得", "保険証利用登録"),
        &bars,
        None,
    ));
}

/// `GET /campaigns`: the organisation's page, or the login form.
pub async fn page(
    State(s): State<AppState>,
    Query(q): Query<BoardQuery>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let Some(e) = staff(&s, &parts).await? else {
        return render(
            &CampaignsPage {
                lan_host: crate::auth::cookie_cannot_stick(&parts.headers),
                ..Default::default()
            },
            page_status(None),
        );
    };
    let as_of = q.as_of.as_deref().map(str::trim).filter(|d| !d.is_empty());
    let mut page = CampaignsPage {
        logged_in: true,
        organisation: e.actor.org_name.clone(),
        who: e.name(),
        ..Default::default()
    };
    match service::board(&s, &e, as_of)
        .await
        .map_err(IntoRefusal::into_refusal)
    {
        Ok(Board::Company {
            dashboard,
            target,
            campaigns,
        }) => {
            page.kind = "company".into();
            company(&mut page, &dashboard, target, &campaigns);
        }
        Ok(Board::Association(m)) => {
            page.kind = "association".into();
            association(&mut page, &m);
        }
        Ok(Board::Ministry) => page.kind = "ministry".into(),
        Err(Ok(r)) => {
            page.error = Some(r.message().to_owned());
            return render(&page, page_status(Some(r.kind())));
        }
        Err(Err(e)) => return Err(e.into()),
    }
    render(&page, page_status(None))
}

/// `POST /campaigns/login`: an employer token (the organisation's own or HR's) opens the page.
pub async fn login(
    State(s): State<AppState>,
    Form(f): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let login = sessions::login_as(&s, &f.token, Role::Employer).await?;
    let (kind, role) = match COOKIE.opened(login, "/campaigns") {
        Ok(resp) => return Ok(resp),
        Err(refused) => refused,
    };
    let error = match role {
        Some(role) => format!(
            "このトークンは{}のものです。この画面は勤務先（会社・業界団体・所管省庁）の担当者向けです。 This token is of a {} organisation; these pages are for employers.",
            role.label_ja(),
            role.as_str()
        ),
        None => "トークンが見つからないか、失効・期限切れです。 The token is unknown, revoked or expired.".to_owned(),
    };
    render(
        &CampaignsPage {
            error: Some(error),
            ..Default::default()
        },
        page_status(Some(kind)),
    )
}

/// `POST /campaigns/logout`.
pub async fn logout(State(s): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    COOKIE.logout(&s, &parts, "/campaigns").await
}

/// `GET /campaigns/ministry-report.csv`: a ministry's report, for the page's download link.
pub async fn ministry_report(
    State(s): State<AppState>,
    Query(q): Query<BoardQuery>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let e = staff(&s, &parts).await?.ok_or_else(|| {
        ApiError::unauthenticated("log in at /campaigns with the ministry's token first")
    })?;
    let csv = service::ministry_report(&s, &e, q.as_of.as_deref()).await?;
    Ok(csv_download(csv, Some("ministry-report.csv")))
}
