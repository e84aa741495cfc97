//! What every server-rendered page shares (the portal, the pairing pages, the operator
//! console, the campaign pages): rendering a template as a response never cached, the redirect
//! after a form, and the pages' cookies — each holding a random session secret, never a token,
//! HttpOnly and Secure (see `auth::cookie_cannot_stick` for LAN addresses).

use askama::Template;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use openmyna_core::{RefusalKind, Role};
use openmyna_services::console::{Login, SESSION_HOURS};
use serde::Deserialize;

use crate::error::{ApiError, SeeOther};
use crate::state::AppState;

/// The page with `status`, marked `Cache-Control: no-store` (pages show personal data).
pub fn render<T: Template>(page: &T, status: StatusCode) -> Result<Response, ApiError> {
    let html = page
        .render()
        .map_err(|e| ApiError::internal(std::any::type_name::<T>(), &e))?;
    let mut resp = (status, Html(html)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `303 See Other` to `to` (after a form).
pub fn see_other(to: &str) -> Response {
    let mut resp = SeeOther.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A page's cookie: its name, the path it is sent on and its SameSite policy.
pub struct PageCookie {
    pub name: &'static str,
    pub path: &'static str,
    /// `Strict` for sessions; `Lax` where the page is reached by a link from elsewhere.
    pub same_site: &'static str,
}

impl PageCookie {
    /// Adds a `Set-Cookie` for `value` (empty with `max_age` 0 to delete it) beside any other.
    pub fn set(&self, resp: &mut Response, value: &str, max_age: i64) {
        let c = format!(
            "{}={value}; Path={}; HttpOnly; Secure; SameSite={}; Max-Age={max_age}",
            self.name, self.path, self.same_site
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// The login form of a page that an organisation's token opens (the console, the campaign
/// pages).
#[derive(Deserialize)]
pub struct LoginForm {
    pub token: String,
}

impl PageCookie {
    /// A page login's answer: the redirect to `to` with the session's cookie, or why not — a
    /// token of another role (`Forbidden`, with the role) or an unknown one
    /// (`Unauthenticated`) — for the page to say in its own words.
    pub fn opened(&self, login: Login, to: &str) -> Result<Response, (RefusalKind, Option<Role>)> {
        match login {
            Login::Opened(secret) => {
                let mut resp = see_other(to);
                self.set(&mut resp, &secret, SESSION_HOURS * 3600);
                Ok(resp)
            }
            Login::WrongRole(role) => Err((RefusalKind::Forbidden, Some(role))),
            Login::Unknown => Err((RefusalKind::Unauthenticated, None)),
        }
    }

    /// A page's logout: ends the session of the request's cookie (if any) on the server, clears
    /// the cookie and goes to `to`.
    pub async fn logout(
        &self,
        s: &AppState,
        parts: &Parts,
        to: &str,
    ) -> Result<Response, ApiError> {
        if let Some(secret) = crate::routes::portal::cookie(parts, self.name) {
            openmyna_services::console::logout(s, &secret).await?;
        }
        let mut resp = see_other(to);
        self.set(&mut resp, "", 0);
        Ok(resp)
    }
}

/// A CSV download (UTF-8), never cached.
pub fn csv(body: String, filename: Option<&str>) -> Response {
    let mut resp = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response();
    if let Some(v) =
        filename.and_then(|f| HeaderValue::from_str(&format!("attachment; filename=\"{f}\"")).ok())
    {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_appended_not_replaced() {
        let mut resp = see_other("/portal");
        let a = PageCookie {
            name: "a",
            path: "/",
            same_site: "Strict",
        };
        let b = PageCookie {
            name: "b",
            path: "/portal",
            same_site: "Lax",
        };
        a.set(&mut resp, "1", 60);
        b.set(&mut resp, "", 0);
        let set: Vec<_> = resp.headers().get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(set.len(), 2);
        assert_eq!(
            set[0],
            "a=1; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=60"
        );
        assert_eq!(resp.headers()[header::LOCATION], "/portal");
    }
}
