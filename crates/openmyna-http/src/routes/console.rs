//! The operator console (`/console`): the CA's roots and responders, the CRL publication
//! history, certificate search by serial or resident with revocation, suspension and
//! release, and the registry and enrollment statistics with charts drawn on the server.
//!
//! The operator logs in with an operator token; the page opens a console session and keeps
//! its random secret — never the token — in a cookie (HttpOnly, Secure, SameSite=Strict,
//! Path=/console, 8 hours). Every request checks the session and the token behind it, so
//! logging out or revoking the token ends the console session at once. The pages call the
//! same use cases as the JSON API (`openmyna_services::console` and `::jpki`).

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use openmyna_core::{Actor, IntoRefusal, RefusalKind};
use openmyna_services::console as service;
use openmyna_services::jpki::StatusChange;
use serde::Deserialize;

use crate::charts;
use crate::error::{ApiError, page_status};
use crate::pages::{LoginForm, PageCookie, render, see_other};
use crate::routes::jpki::{self, CertificateView, CrlView};
use crate::routes::portal::cookie;
use crate::state::AppState;

const COOKIE: PageCookie = PageCookie {
    name: "omn_console",
    path: "/console",
    same_site: "Strict",
};

/// An API token as the console lists it.
pub struct TokenRow {
    pub id: i64,
    pub label: String,
    pub created: String,
    pub expires: String,
    /// 有効, 失効済み or 期限切れ.
    pub state: &'static str,
    pub active: bool,
    /// The token this console session was opened with.
    pub own: bool,
}

/// An organisation with its newest tokens.
pub struct OrgBlock {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub code: String,
    pub created: String,
    pub tokens: Vec<TokenRow>,
    /// Tokens not listed (the page lists the newest 10).
    pub more: usize,
    pub active_tokens: usize,
}

/// A token just issued: shown once, on this page only.
pub struct IssuedShown {
    pub org: String,
    pub label: String,
    pub token: String,
}

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
    /// The host asked for, when a browser cannot keep the login cookie there.
    pub lan_host: Option<String>,
    pub query_name: String,
    pub query_birth_date: String,
    pub certificates: Vec<CertificateView>,
    pub searched: bool,
    pub residents: i64,
    pub active_residents: i64,
    pub enrollments: i64,
    pub registrations: i64,
    pub chart: String,
    pub orgs: Vec<OrgBlock>,
    pub issued: Option<IssuedShown>,
    /// The roles an organisation can have: (value, label).
    pub roles: Vec<(&'static str, &'static str)>,
}

/// Tokens listed per organisation.
const TOKENS_LISTED: usize = 10;

fn org_blocks(
    dir: Vec<(
        openmyna_core::Organisation,
        Vec<openmyna_store::auth::TokenInfo>,
    )>,
    actor: &Actor,
    now: openmyna_core::Timestamp,
) -> Vec<OrgBlock> {
    use openmyna_core::display_time;
    dir.into_iter()
        .map(|(o, tokens)| {
            let state = |t: &openmyna_store::auth::TokenInfo| {
                if t.revoked_at.is_some() {
                    "失効済み / revoked"
                } else if t.expires_at.is_some_and(|e| e <= now) {
                    "期限切れ / expired"
                } else {
                    "有効 / active"
                }
            };
            let active_tokens = tokens
                .iter()
                .filter(|t| state(t).starts_with("有効"))
                .count();
            let more = tokens.len().saturating_sub(TOKENS_LISTED);
            OrgBlock {
                id: o.id,
                name: o.name,
                role: format!("{} ({})", o.role.label_ja(), o.role.as_str()),
                code: o.code.unwrap_or_default(),
                created: display_time(&o.created_at),
                tokens: (tokens.iter().take(TOKENS_LISTED))
                    .map(|t| TokenRow {
                        id: t.id,
                        label: t.label.clone(),
                        created: display_time(&t.created_at),
                        expires: t
                            .expires_at
                            .as_ref()
                            .map_or_else(|| "なし / none".to_owned(), display_time),
                        state: state(t),
                        active: state(t).starts_with("有効"),
                        own: t.id == actor.token_id,
                    })
                    .collect(),
                more,
                active_tokens,
            }
        })
        .collect()
}

/// The operator behind the console cookie, if it holds a live session of an operator token.
async fn operator(s: &AppState, parts: &Parts) -> Result<Option<Actor>, ApiError> {
    match cookie(parts, COOKIE.name) {
        Some(secret) => Ok(service::operator(s, &secret).await?),
        None => Ok(None),
    }
}

#[derive(Deserialize)]
pub struct SearchQuery {
    pub serial: Option<String>,
    pub resident: Option<String>,
    /// Name (kanji or kana), with `birth_date`.
    pub name: Option<String>,
    pub birth_date: Option<String>,
    pub done: Option<String>,
}

async fn build(
    s: &AppState,
    actor: &Actor,
    q: &SearchQuery,
    error: Option<String>,
) -> Result<ConsolePage, ApiError> {
    let o = service::overview(s).await?;
    let field = |f: &Option<String>| f.as_deref().map(str::trim).unwrap_or("").to_owned();
    let (serial, resident, name, birth_date) = (
        field(&q.serial),
        field(&q.resident),
        field(&q.name),
        field(&q.birth_date),
    );
    let search = service::Search {
        serial: &serial,
        resident: &resident,
        name: &name,
        birth_date: &birth_date,
    };
    let (certificates, error) = match service::search(s, actor, &search).await {
        Ok(found) => (found.iter().map(jpki::view).collect(), error),
        Err(e) => (Vec::new(), Some(e.into_refusal()?.message().to_owned())),
    };
    let labels: Vec<String> = (o.months.iter())
        .map(|m| m.format("%Y-%m").to_string())
        .collect();
    let chart = charts::count_bars(
        "月別の登録数 / Registrations per month",
        &labels,
        &[
            ("資格情報 / enrollments", o.enrollments.clone()),
            ("利用登録 / registrations", o.registrations.clone()),
        ],
    );
    Ok(ConsolePage {
        logged_in: true,
        lan_host: None,
        operator: actor.org_name.clone(),
        // Only the actions this page performs, never text from the address bar.
        message: (q.done.as_deref())
            .filter(|d| ["revoke", "hold", "release", "organisation", "token_revoked"].contains(d))
            .map(str::to_owned),
        error,
        roots: (o.roots.into_iter())
            .map(|r| RootRow {
                root: r.root.as_str().to_owned(),
                key: r.key.as_str().to_owned(),
                ocsp: r.ocsp_url,
                crl: r.full_crl_url,
            })
            .collect(),
        crls: o.crls.iter().map(|m| jpki::crl_view(s, m)).collect(),
        searched: !search.is_empty(),
        query_serial: serial,
        query_resident: resident,
        query_name: name,
        query_birth_date: birth_date,
        certificates,
        residents: o.counts.residents,
        active_residents: o.counts.active_residents,
        enrollments: o.enrollments.iter().sum::<u64>() as i64,
        registrations: o.registrations.iter().sum::<u64>() as i64,
        chart,
        orgs: org_blocks(
            openmyna_services::admin::directory(&s.store).await?,
            actor,
            s.clock.now(),
        ),
        issued: None,
        roles: openmyna_core::role::ALL_ROLES
            .iter()
            .map(|r| (r.as_str(), r.label_ja()))
            .collect(),
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
        None => render(
            &ConsolePage {
                lan_host: crate::auth::cookie_cannot_stick(&parts.headers),
                ..Default::default()
            },
            page_status(None),
        ),
    }
}

/// `POST /console/login`: an operator token opens the console.
pub async fn login(
    State(s): State<AppState>,
    Form(f): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let (kind, role) = match COOKIE.opened(service::login(&s, &f.token).await?, "/console") {
        Ok(resp) => return Ok(resp),
        Err(refused) => refused,
    };
    let error = match role {
        Some(role) => format!(
            "this token is of a {} organisation; the console is for the operator",
            role.as_str()
        ),
        None => "the token is unknown, revoked or expired".to_owned(),
    };
    let page = ConsolePage {
        error: Some(error),
        ..Default::default()
    };
    render(&page, page_status(Some(kind)))
}

/// `POST /console/logout`.
pub async fn logout(State(s): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    COOKIE.logout(&s, &parts, "/console").await
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
    let result = match StatusChange::parse(&f.action, f.reason.as_deref()) {
        Ok(change) => openmyna_services::jpki::change_status(&s, &actor, &serial, change).await,
        Err(e) => Err(e),
    };
    match result.map_err(IntoRefusal::into_refusal) {
        Ok(c) => Ok(see_other(&format!(
            "/console?serial={}&done={}#certificates",
            c.serial, f.action
        ))),
        Err(Ok(r)) => {
            let q = SearchQuery {
                serial: Some(serial),
                resident: None,
                name: None,
                birth_date: None,
                done: None,
            };
            let page = build(&s, &actor, &q, Some(r.message().to_owned())).await?;
            render(&page, page_status(Some(r.kind())))
        }
        Err(Err(e)) => Err(e.into()),
    }
}

/// The page again with a refusal's message (nothing changed).
async fn refused_page(
    s: &AppState,
    actor: &Actor,
    r: &openmyna_core::Refusal,
    anchor_query: SearchQuery,
) -> Result<Response, ApiError> {
    let page = build(s, actor, &anchor_query, Some(r.message().to_owned())).await?;
    render(&page, page_status(Some(r.kind())))
}

fn no_search() -> SearchQuery {
    SearchQuery {
        serial: None,
        resident: None,
        name: None,
        birth_date: None,
        done: None,
    }
}

/// The operator behind the cookie, or the login page (401) to answer a form with.
async fn operator_or_login(
    s: &AppState,
    parts: &Parts,
) -> Result<Result<Actor, Response>, ApiError> {
    match operator(s, parts).await? {
        Some(a) => Ok(Ok(a)),
        None => Ok(Err(render(
            &ConsolePage::default(),
            page_status(Some(RefusalKind::Unauthenticated)),
        )?)),
    }
}

#[derive(Deserialize)]
pub struct OrganisationForm {
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub code: String,
}

/// `POST /console/organisations`: registers an organisation (the API's rules: a known role,
/// a name, the code its role takes).
pub async fn create_organisation(
    State(s): State<AppState>,
    parts: Parts,
    Form(f): Form<OrganisationForm>,
) -> Result<Response, ApiError> {
    let actor = match operator_or_login(&s, &parts).await? {
        Ok(a) => a,
        Err(login) => return Ok(login),
    };
    let code = Some(f.code.as_str()).filter(|c| !c.trim().is_empty());
    let made = openmyna_services::admin::create_organisation(
        &s.store,
        s.clock.as_ref(),
        &f.role,
        &f.name,
        code,
    )
    .await;
    match made.map_err(IntoRefusal::into_refusal) {
        Ok(_) => Ok(see_other("/console?done=organisation#orgs")),
        Err(Ok(r)) => refused_page(&s, &actor, &r, no_search()).await,
        Err(Err(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    pub label: String,
    /// The last day it works (YYYY-MM-DD), empty for until revoked.
    #[serde(default)]
    pub expires_on: String,
}

/// `POST /console/organisations/{id}/tokens`: issues a token and shows it, once, on the page
/// this request answers (not after a redirect, so that it is nowhere else).
pub async fn create_token(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    parts: Parts,
    Form(f): Form<TokenForm>,
) -> Result<Response, ApiError> {
    let actor = match operator_or_login(&s, &parts).await? {
        Ok(a) => a,
        Err(login) => return Ok(login),
    };
    let issued = async {
        let expires = openmyna_services::admin::expiry_of_day(&f.expires_on)?;
        openmyna_services::admin::create_token(
            &s.store,
            s.clock.as_ref(),
            id,
            &f.label,
            expires.as_deref(),
        )
        .await
    }
    .await;
    match issued.map_err(IntoRefusal::into_refusal) {
        Ok(t) => {
            let mut page = build(&s, &actor, &no_search(), None).await?;
            let org = (page.orgs.iter())
                .find(|o| o.id == t.org_id)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            page.issued = Some(IssuedShown {
                org,
                label: t.label,
                token: t.token,
            });
            render(&page, StatusCode::CREATED)
        }
        Err(Ok(r)) => refused_page(&s, &actor, &r, no_search()).await,
        Err(Err(e)) => Err(e.into()),
    }
}

/// `POST /console/tokens/{id}/revoke`: revokes a token at once.
pub async fn revoke_token(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let actor = match operator_or_login(&s, &parts).await? {
        Ok(a) => a,
        Err(login) => return Ok(login),
    };
    match openmyna_services::admin::revoke_token(&s.store, s.clock.as_ref(), id)
        .await
        .map_err(IntoRefusal::into_refusal)
    {
        Ok(()) => Ok(see_other("/console?done=token_revoked#orgs")),
        Err(Ok(r)) => refused_page(&s, &actor, &r, no_search()).await,
        Err(Err(e)) => Err(e.into()),
    }
}
