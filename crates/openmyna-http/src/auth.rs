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
