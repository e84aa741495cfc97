//! Smartphone certificates: a phone certified with the card's signing key, its revocation by
//! the holder, and the 24-hour hotline.

use axum::extract::State;
use openmyna_services::portal::{self, PhoneState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Created, ErrorBody};
use crate::json::ApiJson;
use crate::json::ApiPath;
use crate::routes::eligibility::b64;
use crate::state::AppState;

use super::{Citizen, portal_b64};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneApplication {
    /// A CMS SignedData (DER, base64) made with the card's signing key over a phone request
    /// (`openmyna.phone.request/1`, see docs/portal.md).
    pub request: String,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneView {
    pub id: i64,
    pub device_id: String,
    pub model: String,
    pub auth_serial: String,
    pub sign_serial: String,
    /// active, suspended or revoked.
    pub status: String,
    pub created_at: String,
    pub status_at: Option<String>,
    pub status_note: Option<String>,
}

fn phone_view(p: &openmyna_store::portal::Phone) -> PhoneView {
    PhoneView {
        id: p.id,
        device_id: p.device_id.clone(),
        model: p.model.clone(),
        auth_serial: p.auth_serial.clone(),
        sign_serial: p.sign_serial.clone(),
        status: p.status.as_str().to_owned(),
        created_at: p.created_at.to_rfc3339(),
        status_at: p.status_at.map(|t| t.to_rfc3339()),
        status_note: p.status_note.clone(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct PhoneIssued {
    pub phone: PhoneView,
    /// The token label the phone shows (`JPKIAPGPSETOKEN`).
    pub token_label: String,
    /// DER, base64.
    pub auth_certificate: String,
    pub sign_certificate: String,
}

/// Certify a phone: the request must be signed with the logged-in citizen's own signing
/// certificate (valid, not revoked or suspended), within 10 minutes. The phone gets an
/// authentication and a signing certificate for its own keys, valid as long as the card's
/// signing certificate.
#[utoipa::path(post, path = "/api/v1/portal/phones", tag = "portal",
    request_body = PhoneApplication,
    responses((status = 201, body = PhoneIssued), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn apply_phone(
    State(s): State<AppState>,
    c: Citizen,
    ApiJson(req): ApiJson<PhoneApplication>,
) -> Result<Created<axum::Json<PhoneIssued>>, ApiError> {
    let der = b64("request", &req.request)?;
    let issued = portal::apply_phone(&s, &c, &der).await?;
    Ok(Created(axum::Json(PhoneIssued {
        phone: phone_view(&issued.phone),
        token_label: openmyna_portal::phone::TOKEN_LABEL.into(),
        auth_certificate: portal_b64(&issued.auth_certificate),
        sign_certificate: portal_b64(&issued.sign_certificate),
    })))
}

/// The citizen's phones and their states.
#[utoipa::path(get, path = "/api/v1/portal/phones", tag = "portal",
    responses((status = 200, body = Vec<PhoneView>), (status = 401, body = ErrorBody)))]
pub async fn phones(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Vec<PhoneView>>, ApiError> {
    Ok(axum::Json(
        portal::phones(&s, &c)
            .await?
            .iter()
            .map(phone_view)
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneNote {
    /// Why: sold, exchanged, repaired, lost, … (1–200 characters).
    pub note: String,
}

/// Revoke a phone's certificates (before selling, exchanging or repairing it).
#[utoipa::path(post, path = "/api/v1/portal/phones/{id}/revoke", tag = "portal",
    params(("id" = i64, Path)), request_body = PhoneNote,
    responses((status = 200, body = PhoneView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn revoke_phone(
    State(s): State<AppState>,
    c: Citizen,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<PhoneNote>,
) -> Result<axum::Json<PhoneView>, ApiError> {
    let phone = portal::revoke_phone(&s, &c, id, &req.note).await?;
    Ok(axum::Json(phone_view(&phone)))
}

/// The 24-hour hotline (operator): suspend a phone's certificates at once on a reported
/// loss. Visible in OCSP at the next request.
#[utoipa::path(post, path = "/api/v1/hotline/phones/{id}/suspend", tag = "portal",
    params(("id" = i64, Path)), request_body = PhoneNote,
    responses((status = 200, body = PhoneView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hotline_suspend(
    State(s): State<AppState>,
    caller: crate::auth::Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<PhoneNote>,
) -> Result<axum::Json<PhoneView>, ApiError> {
    hotline(&s, caller, id, PhoneState::Suspended, &req.note).await
}

/// The hotline lifts a phone's suspension (the phone was found).
#[utoipa::path(post, path = "/api/v1/hotline/phones/{id}/release", tag = "portal",
    params(("id" = i64, Path)), request_body = PhoneNote,
    responses((status = 200, body = PhoneView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hotline_release(
    State(s): State<AppState>,
    caller: crate::auth::Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<PhoneNote>,
) -> Result<axum::Json<PhoneView>, ApiError> {
    hotline(&s, caller, id, PhoneState::Active, &req.note).await
}

async fn hotline(
    s: &AppState,
    caller: crate::auth::Caller,
    id: i64,
    to: PhoneState,
    note: &str,
) -> Result<axum::Json<PhoneView>, ApiError> {
    let actor = caller.require(&[openmyna_core::Role::Operator])?;
    let phone = portal::hotline(s, actor, id, to, note).await?;
    Ok(axum::Json(phone_view(&phone)))
}
