//! The card's life at the municipality (`/api/v1/cards/…`): loss reports (at once, also from
//! the 24-hour call centre), found again, return (返納), and the dates of validity and renewal.
//! A new card for the same person replaces the old one (its certificates revoked).

use axum::extract::State;
use openmyna_applications::{CardDates, CardEvent};
use openmyna_core::Role;
use openmyna_store::cards::CardRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use openmyna_services::cards;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use crate::json::ApiPath;
use crate::state::AppState;

/// Municipalities, and the operator's 24-hour call centre (loss reports).
const CARD_KEEPERS: &[Role] = &[Role::Municipality, Role::Operator];
const MUNICIPALITIES: &[Role] = &[Role::Municipality];

/// A card as the municipality sees it.
#[derive(Serialize, ToSchema)]
pub struct CardView {
    /// 製造番号.
    pub serial: String,
    pub resident_id: i64,
    /// active, lost, returned, replaced or overseas.
    pub status: String,
    pub status_at: Option<String>,
    pub auth_certificate: String,
    pub sign_certificate: Option<String>,
    pub dates: CardDates,
}

async fn view(s: &AppState, c: CardRecord) -> Result<CardView, ApiError> {
    let dates = openmyna_services::cards::dates(s, &c).await?;
    Ok(CardView {
        serial: c.serial,
        resident_id: c.resident_id,
        status: c.status.as_str().to_owned(),
        status_at: c.status_at.map(|t| t.to_rfc3339()),
        auth_certificate: c.auth_serial,
        sign_certificate: c.sign_serial,
        dates,
    })
}

/// A card: status, certificates, and its dates of validity and renewal.
#[utoipa::path(get, path = "/api/v1/cards/{serial}", tag = "cards",
    params(("serial" = String, Path, description = "製造番号")),
    responses((status = 200, body = CardView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn card(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(serial): ApiPath<String>,
) -> Result<axum::Json<CardView>, ApiError> {
    caller.require(CARD_KEEPERS)?;
    let c = s
        .store
        .cards()
        .card(&serial)
        .await?
        .ok_or_else(|| ApiError::not_found("card.not_found", format!("no card {serial}")))?;
    Ok(axum::Json(view(&s, c).await?))
}

/// A resident's cards, oldest first.
#[utoipa::path(get, path = "/api/v1/registry/residents/{id}/cards", tag = "cards",
    params(("id" = i64, Path)),
    responses((status = 200, body = [CardView]), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resident_cards(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::Json<Vec<CardView>>, ApiError> {
    caller.require(CARD_KEEPERS)?;
    let mut out = Vec::new();
    for c in s.store.cards().cards_of_resident(id).await? {
        out.push(view(&s, c).await?);
    }
    Ok(axum::Json(out))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardEventRequest {
    /// Who reported it and how (recorded in the card's audit trail).
    pub note: String,
}

async fn event(
    s: &AppState,
    caller: Caller,
    serial: &str,
    ev: CardEvent,
    note: &str,
) -> Result<axum::Json<CardView>, ApiError> {
    // The operator's 24-hour centre takes loss reports; everything else is the municipality's.
    let roles = if ev == CardEvent::Lost {
        CARD_KEEPERS
    } else {
        MUNICIPALITIES
    };
    let actor = caller.require(roles)?;
    let c = cards::record_event(s, serial, ev, &actor.org_name, note).await?;
    tracing::info!(card = serial, event = ?ev, org = actor.org_id, "card event");
    Ok(axum::Json(view(s, c).await?))
}

/// 紛失届: both certificates are suspended (certificateHold) at once — the next OCSP answer
/// says so.
#[utoipa::path(post, path = "/api/v1/cards/{serial}/loss", tag = "cards",
    params(("serial" = String, Path)), request_body = CardEventRequest,
    responses((status = 200, body = CardView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn loss(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<CardEventRequest>,
) -> Result<axum::Json<CardView>, ApiError> {
    event(&s, caller, &serial, CardEvent::Lost, &req.note).await
}

/// The lost card was found: the suspension is lifted.
#[utoipa::path(post, path = "/api/v1/cards/{serial}/found", tag = "cards",
    params(("serial" = String, Path)), request_body = CardEventRequest,
    responses((status = 200, body = CardView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn found(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<CardEventRequest>,
) -> Result<axum::Json<CardView>, ApiError> {
    event(&s, caller, &serial, CardEvent::Found, &req.note).await
}

/// 返納: the card is given back; both certificates are revoked (cessationOfOperation).
#[utoipa::path(post, path = "/api/v1/cards/{serial}/return", tag = "cards",
    params(("serial" = String, Path)), request_body = CardEventRequest,
    responses((status = 200, body = CardView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn return_card(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<CardEventRequest>,
) -> Result<axum::Json<CardView>, ApiError> {
    event(&s, caller, &serial, CardEvent::Return, &req.note).await
}

/// 海外継続利用の手続 (before emigrating, with the 国外転出届): the card is kept; when the
/// registry records the removal, only the signing certificate is revoked, and a new one is
/// issued onto the card for the holder abroad (`openmyna card signing`).
#[utoipa::path(post, path = "/api/v1/cards/{serial}/overseas", tag = "cards",
    params(("serial" = String, Path)), request_body = CardEventRequest,
    responses((status = 200, body = CardView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn overseas(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<CardEventRequest>,
) -> Result<axum::Json<CardView>, ApiError> {
    event(&s, caller, &serial, CardEvent::GoOverseas, &req.note).await
}

/// Back in Japan (after the registry recorded the return): the card is for domestic use
/// again; a new signing certificate with the new address follows (`openmyna card signing`).
#[utoipa::path(post, path = "/api/v1/cards/{serial}/domestic", tag = "cards",
    params(("serial" = String, Path)), request_body = CardEventRequest,
    responses((status = 200, body = CardView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn domestic(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<CardEventRequest>,
) -> Result<axum::Json<CardView>, ApiError> {
    event(&s, caller, &serial, CardEvent::ComeBack, &req.note).await
}
