//! The card login, logout and the browser handoff.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use openmyna_eligibility::CardProof;
use openmyna_services::portal::{self};

use crate::error::{ApiError, Created, ErrorBody, NoContent};
use crate::json::ApiJson;
use crate::routes::eligibility::{b64, challenge_view};
use crate::state::AppState;

use super::{Citizen, set_cookie};
use openmyna_api::oqs::ChallengeView;
use openmyna_api::portal::{Handoff, LoggedIn, Login, PairingApproval, PairingApproved};

/// A login challenge: sign its bytes with the card's authentication key (after the PIN).
/// Rate-limited per client address (`server.public_rate_per_minute`; 429 with Retry-After).
#[utoipa::path(post, path = "/api/v1/portal/challenge", tag = "portal",
    responses((status = 201, body = ChallengeView), (status = 409, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn challenge(
    State(s): State<AppState>,
    client: crate::rate::ClientIp,
) -> Result<Created<axum::Json<ChallengeView>>, ApiError> {
    s.public_rate.admit(client.0, s.clock.now())?;
    let c = portal::challenge(&s)?;
    Ok(Created(axum::Json(challenge_view(c))))
}

/// Log in with the card: the challenge, the authentication certificate and the signature.
/// The certificate must be one this CA issued, valid and neither revoked nor suspended. The
/// session cookie is Secure, HttpOnly and SameSite=Strict; it ends after 30 minutes without
/// use, 8 hours after the login, or at logout.
#[utoipa::path(post, path = "/api/v1/portal/login", tag = "portal", request_body = Login,
    responses((status = 200, body = LoggedIn), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<Login>,
) -> Result<Response, ApiError> {
    let cert = b64("certificate", &req.certificate)?;
    let sig = b64("signature", &req.signature)?;
    let proof = CardProof {
        challenge_id: &req.challenge_id,
        certificate: &cert,
        signature: &sig,
        signed_by: openmyna_eligibility::SignedBy::Auth,
    };
    let opened = portal::login(&s, &proof).await?;
    let mut resp = axum::Json(LoggedIn {
        name: opened.name,
        expires_at: opened.expires_at.to_rfc3339(),
    })
    .into_response();
    set_cookie(&mut resp, &opened.token, SESSION_SECONDS);
    Ok(resp)
}

/// The cookie's lifetime: the session's longest.
pub const SESSION_SECONDS: i64 = openmyna_portal::session::MAX_HOURS * 3600;

/// End the session.
#[utoipa::path(post, path = "/api/v1/portal/logout", tag = "portal",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(s): State<AppState>, c: Citizen) -> Result<Response, ApiError> {
    portal::logout(&s, &c).await?;
    let mut resp = NoContent.into_response();
    set_cookie(&mut resp, "", 0);
    Ok(resp)
}

/// A one-time link that logs a browser in as this citizen (for logging in on a computer
/// whose browser cannot reach the card: the card is read by `openmyna portal login`, or a
/// phone, and the browser follows the link).
#[utoipa::path(post, path = "/api/v1/portal/handoff", tag = "portal",
    responses((status = 201, body = Handoff), (status = 401, body = ErrorBody)))]
pub async fn handoff(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<Created<axum::Json<Handoff>>, ApiError> {
    let (token, expires_at) = portal::handoff(&s, &c).await?;
    Ok(Created(axum::Json(Handoff {
        path: format!("/portal/handoff/{token}"),
        expires_at: expires_at.to_rfc3339(),
    })))
}

/// Approve a browser's login: the code its login page shows (「このブラウザでログイン」). That
/// browser then logs in as this citizen, once; codes live 5 minutes. The answer names the
/// browser (its User-Agent) so that a code someone else sent can be recognised.
#[utoipa::path(post, path = "/api/v1/portal/pairings/approve", tag = "portal",
    request_body = PairingApproval,
    responses((status = 200, body = PairingApproved), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn approve_pairing(
    State(s): State<AppState>,
    c: Citizen,
    ApiJson(req): ApiJson<PairingApproval>,
) -> Result<axum::Json<PairingApproved>, ApiError> {
    let a = portal::approve_pairing(&s, &c, &req.code).await?;
    Ok(axum::Json(PairingApproved {
        browser: a.browser,
        requested_at: a.requested_at.to_rfc3339(),
    }))
}
