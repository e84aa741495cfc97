//! The citizen portal (マイナポータル), `/api/v1/portal/…`: login with the card (a challenge
//! signed by the authentication key after the PIN) opens a session held in a cookie; the
//! citizen then sees their own data, the consents they gave (and withdraws them), their
//! access log with its hash chain checked and its head signed, registers the card for
//! health-insurance use and their public-money account. See docs/portal.md.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use openmyna_core::Refusal;
use openmyna_services::portal;

use crate::error::ApiError;
use crate::state::AppState;

mod access_log;
mod account;
mod consents;
mod data;
mod phones;
mod session;

pub use access_log::*;
pub use account::*;
pub use consents::*;
pub use data::*;
pub use openmyna_services::portal::HANDOFF_SECONDS;
pub use phones::*;
pub use session::*;

/// The session cookie.
pub const COOKIE: &str = "omn_session";

pub(crate) fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The logged-in citizen. Extracting it fails with 401 without a live session.
#[derive(Clone)]
pub struct Citizen(pub portal::Citizen);

impl std::ops::Deref for Citizen {
    type Target = portal::Citizen;

    fn deref(&self) -> &portal::Citizen {
        &self.0
    }
}

impl FromRequestParts<AppState> for Citizen {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let token = cookie(parts, COOKIE).ok_or_else(|| {
            ApiError::from(Refusal::unauthenticated(
                "session.required",
                "log in with your card first (POST /api/v1/portal/login)",
            ))
        })?;
        Ok(Citizen(portal::citizen(s, &token).await?))
    }
}

/// The session cookie's value in a request, if any.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(parts, COOKIE)
}

pub fn set_cookie(resp: &mut Response, value: &str, max_age: i64) {
    SESSION_COOKIE.set(resp, value, max_age);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The portal's session cookie, on every path (the JSON API and the pages).
const SESSION_COOKIE: crate::pages::PageCookie = crate::pages::PageCookie {
    name: COOKIE,
    path: "/",
    same_site: "Strict",
};

pub(crate) fn portal_b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
