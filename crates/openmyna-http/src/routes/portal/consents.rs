//! The consents the citizen gave, and their withdrawal.

use axum::extract::State;
use openmyna_services::portal::{self};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody, NoContent};
use crate::json::ApiPath;
use crate::state::AppState;

use super::Citizen;

#[derive(Serialize, ToSchema)]
pub struct RelyingPartyConsent {
    pub id: i64,
    pub relying_party: i64,
    pub items: Vec<String>,
    pub purpose: String,
    pub created_at: String,
    /// live or withdrawn.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct FacilityConsentView {
    pub org_id: i64,
    pub facility: String,
    pub category: String,
    pub given_at: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Consents {
    /// Consents signed with the card for the 4-information service.
    pub relying_parties: Vec<RelyingPartyConsent>,
    /// Consents given at a facility's reader, still open.
    pub facilities: Vec<FacilityConsentView>,
}

/// The consents the citizen has given.
#[utoipa::path(get, path = "/api/v1/portal/consents", tag = "portal",
    responses((status = 200, body = Consents), (status = 401, body = ErrorBody)))]
pub async fn consents(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Consents>, ApiError> {
    Ok(axum::Json(Consents::of(portal::consents(&s, &c).await?)))
}

impl Consents {
    pub(crate) fn of(c: portal::Consents) -> Consents {
        Consents {
            relying_parties: c
                .relying_parties
                .iter()
                .map(|x| RelyingPartyConsent {
                    id: x.id,
                    relying_party: x.rp_org_id,
                    items: x.items.iter().map(|i| i.as_str().to_owned()).collect(),
                    purpose: x.purpose.clone(),
                    created_at: x.created_at.to_rfc3339(),
                    status: if x.live() { "live" } else { "withdrawn" }.into(),
                })
                .collect(),
            facilities: c
                .facilities
                .into_iter()
                .map(|f| FacilityConsentView {
                    org_id: f.org_id,
                    facility: f.facility,
                    category: f.category,
                    given_at: f.given_at.to_rfc3339(),
                    expires_at: f.expires_at.to_rfc3339(),
                })
                .collect(),
        }
    }
}

/// Withdraw a consent given to a relying party (the 4-information service).
#[utoipa::path(post, path = "/api/v1/portal/consents/relying-parties/{id}/withdraw", tag = "portal",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn withdraw_rp(
    State(s): State<AppState>,
    c: Citizen,
    ApiPath(id): ApiPath<i64>,
) -> Result<NoContent, ApiError> {
    portal::withdraw_relying_party(&s, &c, id).await?;
    Ok(NoContent)
}

/// End the open consents given to one facility.
#[utoipa::path(post, path = "/api/v1/portal/consents/facilities/{org_id}/withdraw", tag = "portal",
    params(("org_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn withdraw_facility(
    State(s): State<AppState>,
    c: Citizen,
    ApiPath(org_id): ApiPath<i64>,
) -> Result<NoContent, ApiError> {
    portal::withdraw_facility(&s, &c, org_id).await?;
    Ok(NoContent)
}
