//! Who saw the citizen's data: the access log with its chain checked and its head signed.

use axum::extract::State;
use openmyna_services::portal::{self};
use openmyna_store::access_log::{AccessEntry, ChainCheck};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

use super::{Citizen, portal_b64};

#[derive(Serialize, ToSchema)]
pub struct SignedHead {
    pub seq: i64,
    pub hash: String,
    pub at: String,
    /// ECDSA P-256 / SHA-256 signature (DER, base64) over `statement`.
    pub signature: String,
    /// The exact bytes signed (UTF-8).
    pub statement: String,
    /// The log's public key (SPKI DER, base64); the same for every resident.
    pub public_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccessLog {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<AccessEntry>,
    /// The chain recomputed from the first entry: every hash right and linked.
    #[schema(value_type = Object)]
    pub chain: ChainCheck,
    /// The head of the chain, signed by this installation: keep it; a later log whose chain
    /// does not pass through it has been altered.
    pub head: SignedHead,
}

/// Who saw the citizen's data, when and why — every disclosure by municipalities, clinics,
/// relying parties and employers — with the hash chain checked and its head signed.
#[utoipa::path(get, path = "/api/v1/portal/access-log", tag = "portal",
    responses((status = 200, body = AccessLog), (status = 401, body = ErrorBody)))]
pub async fn access_log(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<AccessLog>, ApiError> {
    let log = portal::access_log(&s, &c).await?;
    let head = log.head;
    Ok(axum::Json(AccessLog {
        entries: log.entries,
        chain: log.chain,
        head: SignedHead {
            seq: head.seq,
            hash: head.hash,
            at: head.at.to_rfc3339(),
            signature: portal_b64(&head.signature),
            statement: head.statement,
            public_key: portal_b64(&head.public_key),
        },
    }))
}
