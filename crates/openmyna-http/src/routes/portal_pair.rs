//! Logging a browser in from the browser itself (`/portal/pair`, `/portal/approve`), as
//! マイナポータル pairs a computer with the phone that reads the card: the login page's
//! 「このブラウザでログイン」 shows a one-time code and its QR code; the card holder approves it
//! with `openmyna portal login --code …` (or from a browser where they are logged in, at the
//! QR code's address); this page, which refreshes itself, then logs the browser in. The
//! browser's claim is the pairing's secret in a cookie (`omn_pair`), never the code.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use openmyna_core::{IntoRefusal, RefusalKind, display_time};
use openmyna_services::portal::{self as service, BrowserPairing};
use serde::Deserialize;

use crate::error::{ApiError, page_status};
use crate::pages::{PageCookie, render, see_other};
use crate::routes::portal::{self, SESSION_SECONDS};
use crate::state::AppState;

/// The browser's pairing cookie.
const PAIR_COOKIE: PageCookie = PageCookie {
    name: "omn_pair",
    path: "/portal",
    // Lax: the pairing page is the one a browser comes back to by itself.
    same_site: "Lax",
};

#[derive(Template, Default)]
#[template(path = "portal_pair.html")]
pub struct PairPage {
    /// The code shown, `ABCD-EFGH`, while waiting (or the one to approve).
    pub code: Option<String>,
    /// The QR code of the approval address, as a data: URL of an SVG.
    pub qr: Option<String>,
    /// Where the QR code points.
    pub approve_url: String,
    pub base_url: String,
    pub expires_at: String,
    /// This is the approval page (the card holder's side).
    pub approving: bool,
    /// A message: why the code no longer works, or what was approved.
    pub message: Option<String>,
    /// On the approval page: the browser that shows the code and when it asked, while it
    /// waits.
    pub requester: Option<String>,
    /// The message is good news.
    pub ok: bool,
    /// The approval page offers its button.
    pub can_approve: bool,
}

/// A QR code of `text` as a data: URL (an SVG image), or none if it does not fit one.
fn qr_data_url(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        portal::portal_b64(svg.as_bytes())
    ))
}

/// `POST /portal/pair` (the login page's 「このブラウザでログイン」): starts a pairing and shows
/// its code. Rate-limited per client address, as the portal's challenge.
pub async fn start(
    State(s): State<AppState>,
    client: crate::rate::ClientIp,
    parts: Parts,
) -> Result<Response, ApiError> {
    s.public_rate.admit(client.0, s.clock.now())?;
    let ua = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let p = service::start_pairing(&s, ua).await?;
    let mut resp = see_other("/portal/pair");
    PAIR_COOKIE.set(
        &mut resp,
        &p.secret,
        openmyna_portal::pairing::TTL_SECONDS + 60,
    );
    Ok(resp)
}

/// `GET /portal/pair`: the browser's pairing — its code and QR code while waiting (the page
/// refreshes itself every 3 seconds), the portal once approved, or why the code no longer
/// works.
pub async fn status(State(s): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    let base_url = s.info.public_url.trim_end_matches('/').to_owned();
    let gone = |m: &str| PairPage {
        base_url: base_url.clone(),
        message: Some(m.to_owned()),
        ..Default::default()
    };
    let Some(secret) = portal::cookie(&parts, PAIR_COOKIE.name) else {
        return render(
            &gone(
                "ログインコードがありません。ログインの画面から始めてください。 No login code here: start from the login page.",
            ),
            page_status(Some(RefusalKind::NotFound)),
        );
    };
    let page = match service::browser_pairing(&s, &secret).await? {
        BrowserPairing::Waiting { code, expires_at } => {
            let approve_url = format!("{base_url}/portal/approve?code={}", code.display());
            PairPage {
                code: Some(code.display()),
                qr: qr_data_url(&approve_url),
                approve_url,
                base_url: base_url.clone(),
                expires_at: display_time(&expires_at),
                ..Default::default()
            }
        }
        BrowserPairing::LoggedIn(opened) => {
            // Back to the consent page of an OpenID Connect login, if that is where the
            // login started.
            let to = crate::routes::oidc::return_to(&parts);
            let mut resp = see_other(to.as_deref().unwrap_or("/portal"));
            portal::set_cookie(&mut resp, &opened.token, SESSION_SECONDS);
            PAIR_COOKIE.set(&mut resp, "", 0);
            if to.is_some() {
                crate::routes::oidc::RETURN_COOKIE.set(&mut resp, "", 0);
            }
            return Ok(resp);
        }
        BrowserPairing::Used => gone(
            "このログインコードは使用済みです。もう一度ログインするときは、新しいコードを表示してください。 This login code has been used already: show a new one to log in again.",
        ),
        BrowserPairing::Expired => gone(
            "このログインコードは有効期限（5分）が切れました。新しいコードを表示してください。 This login code has expired (codes live 5 minutes): show a new one.",
        ),
        BrowserPairing::Unknown => gone(
            "このログインコードは見つかりません。新しいコードを表示してください。 This login code is not known here: show a new one.",
        ),
    };
    let status = if page.code.is_some() {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    let mut resp = render(&page, status)?;
    if page.code.is_none() {
        PAIR_COOKIE.set(&mut resp, "", 0);
    }
    Ok(resp)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
}

/// `GET /portal/approve?code=…` (the QR code's address): how to approve the browser showing
/// this code — `openmyna portal login --code`, or the button here when this browser is logged
/// in to the portal.
pub async fn approve_page(
    State(s): State<AppState>,
    Query(q): Query<CodeForm>,
) -> Result<Response, ApiError> {
    let code = openmyna_portal::pairing::PairingCode::parse(&q.code)
        .ok()
        .map(|c| c.display());
    let waiting = service::waiting_pairing(&s, &q.code).await?;
    let message = (code.is_some() && waiting.is_none()).then(|| {
        "このコードで待っているブラウザはありません（使用済み・期限切れ、または打ち間違い）。 No browser is waiting with this code (used, expired or mistyped).".to_owned()
    });
    render(
        &PairPage {
            approving: true,
            requester: waiting
                .map(|w| format!("{}（{} に表示）", w.browser, display_time(&w.requested_at))),
            can_approve: message.is_none(),
            message,
            code,
            base_url: s.info.public_url.trim_end_matches('/').to_owned(),
            ..Default::default()
        },
        StatusCode::OK,
    )
}

/// `POST /portal/approve` (the approval page's button): approves the code for the citizen
/// logged in in this browser.
pub async fn approve(
    State(s): State<AppState>,
    parts: Parts,
    axum::extract::Form(f): axum::extract::Form<CodeForm>,
) -> Result<Response, ApiError> {
    let base_url = s.info.public_url.trim_end_matches('/').to_owned();
    let page = |message: String, ok: bool| PairPage {
        approving: true,
        code: Some(f.code.clone()),
        base_url: base_url.clone(),
        message: Some(message),
        ok,
        can_approve: !ok,
        ..Default::default()
    };
    let Some(token) = portal::session_cookie(&parts) else {
        return render(
            &page(
                "このブラウザではマイナポータルにログインしていません。下のコマンドで承認してください。 This browser is not logged in to the portal: approve with the command below.".into(),
                false,
            ),
            page_status(Some(RefusalKind::Unauthenticated)),
        );
    };
    let result = async {
        let c = service::citizen(&s, &token).await?;
        service::approve_pairing(&s, &c, &f.code).await
    }
    .await;
    match result.map_err(IntoRefusal::into_refusal) {
        Ok(a) => render(
            &page(
                format!(
                    "承認しました。コードを表示しているブラウザがログインします。 Approved: the browser showing the code logs in now. ({}, {})",
                    a.browser,
                    display_time(&a.requested_at)
                ),
                true,
            ),
            StatusCode::OK,
        ),
        Err(Ok(r)) => render(
            &page(r.message().to_owned(), false),
            page_status(Some(r.kind())),
        ),
        Err(Err(e)) => Err(e.into()),
    }
}
