//! Bearer-token authentication and role checks.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use openmyna_core::{Actor, Role};

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller. Extracting it fails with 401 when the token is missing, unknown,
/// revoked or expired.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthenticated(
                    "send an organisation token as Authorization: Bearer <token>",
                )
            })?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthenticated("the Authorization header is not ASCII"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::unauthenticated("the Authorization header must be Bearer <token>")
            })?
            .trim();
        let now = state.clock.now();
        match state.store.auth().authenticate(token, &now).await? {
            Some(actor) => Ok(Caller(actor)),
            None => Err(ApiError::unauthenticated(
                "the token is unknown, revoked or expired",
            )),
        }
    }
}

impl Caller {
    /// Fails with 403, naming the roles that may, unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<&Actor, ApiError> {
        Ok(self.0.require(roles)?)
    }
}

/// Whether a browser cannot keep this server's login cookies: they are `Secure`, and browsers
/// keep a Secure cookie only over HTTPS or from the machine itself (`localhost`, loopback
/// addresses). A page asked for over plain HTTP under another name — a LAN address — with no
/// TLS-terminating proxy in front (which says `X-Forwarded-Proto: https`) would log in and at
/// once forget it. The login pages say so instead; this returns the host as asked for.
pub fn cookie_cannot_stick(headers: &axum::http::HeaderMap) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if text("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https")) {
        return None;
    }
    let host_port = text("host")?;
    // Browsers also treat `*.localhost` as this machine (RFC 6761).
    let local = is_loopback_host(host_port)
        || host_of(host_port)
            .to_ascii_lowercase()
            .ends_with(".localhost");
    (!local).then(|| host_port.to_owned())
}

/// The host of a `Host` header or an origin's authority, without its port (IPv6 unbracketed).
fn host_of(host_port: &str) -> &str {
    match host_port.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    }
}

/// Whether a `Host` (or an origin's host) names this machine: `localhost` or a loopback
/// address, with any port.
pub fn is_loopback_host(host_port: &str) -> bool {
    let host = host_of(host_port);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::cookie_cannot_stick;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(host: &str, proto: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_str(host).unwrap());
        if let Some(p) = proto {
            h.insert("x-forwarded-proto", HeaderValue::from_str(p).unwrap());
        }
        h
    }

    #[test]
    fn only_plain_http_from_another_machine_loses_the_cookie() {
        for local in [
            "127.0.0.1:8080",
            "localhost:8080",
            "[::1]:8080",
            "app.localhost",
        ] {
            assert_eq!(cookie_cannot_stick(&headers(local, None)), None, "{local}");
        }
        assert_eq!(
            cookie_cannot_stick(&headers("192.168.1.20:8080", None)).as_deref(),
            Some("192.168.1.20:8080")
        );
        assert_eq!(
            cookie_cannot_stick(&headers("myna.example.jp", Some("https"))),
            None,
            "behind a TLS proxy"
        );
        assert!(cookie_cannot_stick(&headers("myna.example.jp", Some("http"))).is_some());
    }
}
