//! 最新の利用者情報提供サービス (`/api/v1/fourinfo/…`): relying parties submit the consents
//! their customers signed with the card, follow them, and query what changed. See
//! docs/fourinfo.md.

use axum::extract::State;
use base64::Engine;
use openmyna_core::Refusal;
use openmyna_core::Role;
use openmyna_fourinfo::{Consent, FourInfo, Item, Outcome, RelyingParty};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Created, ErrorBody};
use crate::json::ApiJson;
use crate::json::{ApiPath, ApiQuery};
use crate::state::AppState;

const RELYING_PARTIES: &[Role] = &[Role::RelyingParty];

fn service(s: &AppState) -> FourInfo<'_, openmyna_store::Store, openmyna_store::Store> {
    FourInfo::new(&s.store, &s.jpki, s.clock.as_ref(), s.entropy.as_ref())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRelyingParty {
    /// An organisation of role relying_party.
    pub org_id: i64,
    /// The items it may receive.
    pub items: Vec<Item>,
}

/// Register an organisation of role relying_party for the service, with the items it may
/// receive (operator).
#[utoipa::path(post, path = "/api/v1/fourinfo/relying-parties", tag = "fourinfo",
    request_body = RegisterRelyingParty,
    responses((status = 200, body = RelyingParty), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_relying_party(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<RegisterRelyingParty>,
) -> Result<axum::Json<RelyingParty>, ApiError> {
    caller.require(&[Role::Operator])?;
    Ok(axum::Json(
        service(&s)
            .register_relying_party(req.org_id, &req.items)
            .await?,
    ))
}

/// This relying party's registration.
#[utoipa::path(get, path = "/api/v1/fourinfo/relying-party", tag = "fourinfo",
    responses((status = 200, body = RelyingParty), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn relying_party(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<RelyingParty>, ApiError> {
    let actor = caller.require(RELYING_PARTIES)?;
    Ok(axum::Json(service(&s).relying_party(actor).await?))
}

pub use openmyna_api::fourinfo::ConsentView;

fn view(c: &Consent) -> ConsentView {
    ConsentView {
        id: c.id,
        customer_ref: c.customer_ref.clone(),
        items: c.items.iter().copied().collect(),
        purpose: c.purpose.clone(),
        sign_serial: c.sign_serial.clone(),
        consent_serial: c.consent_serial.clone(),
        created_at: c.created_at.to_rfc3339(),
        status: if c.live() { "live" } else { "withdrawn" }.into(),
        withdrawn_at: c.withdrawn_at.map(|t| t.to_rfc3339()),
        withdrawn_reason: c.withdrawn_reason.clone(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitConsent {
    /// The CMS SignedData (DER, base64) the customer made with the card's signing key over a
    /// consent document.
    pub document: String,
}

/// Submit a consent signed by the customer's card. The server checks the signature, that the
/// signing certificate is a JPKI signing certificate that is valid and not revoked or
/// suspended now, the document (addressed to this relying party, items it is registered for)
/// and that the signer is the declared customer.
#[utoipa::path(post, path = "/api/v1/fourinfo/consents", tag = "fourinfo",
    request_body = SubmitConsent,
    responses((status = 201, body = ConsentView), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn submit_consent(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<SubmitConsent>,
) -> Result<Created<axum::Json<ConsentView>>, ApiError> {
    let actor = caller.require(RELYING_PARTIES)?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(req.document.trim())
        .map_err(|_| {
            ApiError::from(Refusal::invalid(
                "document.base64",
                "document must be the base64 of a DER CMS SignedData",
            ))
            .with_field("document")
        })?;
    let c = service(&s).submit_consent(actor, &der).await?;
    tracing::info!(
        consent = c.id,
        org = actor.org_id,
        "4-information consent accepted"
    );
    Ok(Created(axum::Json(view(&c))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Include withdrawn consents.
    #[serde(default)]
    pub all: bool,
}

/// This relying party's consents (live ones unless `all=true`).
#[utoipa::path(get, path = "/api/v1/fourinfo/consents", tag = "fourinfo", params(ListQuery),
    responses((status = 200, body = [ConsentView]), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_consents(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Vec<ConsentView>>, ApiError> {
    let actor = caller.require(RELYING_PARTIES)?;
    let list = service(&s).consents(actor, q.all).await?;
    Ok(axum::Json(list.iter().map(view).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Withdraw {
    /// Why (e.g. "customer's request", "account closed").
    pub reason: String,
}

/// Withdraw a consent (on the customer's request). No query is answered for it afterwards.
#[utoipa::path(post, path = "/api/v1/fourinfo/consents/{id}/withdraw", tag = "fourinfo",
    params(("id" = i64, Path)), request_body = Withdraw,
    responses((status = 200, body = ConsentView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<Withdraw>,
) -> Result<axum::Json<ConsentView>, ApiError> {
    let actor = caller.require(RELYING_PARTIES)?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ApiError::from(Refusal::invalid(
            "withdraw.reason",
            "reason must be 1-200 characters",
        ))
        .with_field("reason"));
    }
    let c = service(&s).withdraw_as_rp(actor, id, reason).await?;
    Ok(axum::Json(view(&c)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// Why the relying party asks now (recorded in the customer's access log).
    pub purpose: String,
}

/// Ask what happened to a consented customer's signing certificate: unchanged; expired;
/// changed (the latest consented items and the new certificate's serial — repeated until the
/// relying party follows it); no new certificate yet; deceased; removed. Recorded in the
/// customer's access log.
#[utoipa::path(post, path = "/api/v1/fourinfo/consents/{id}/query", tag = "fourinfo",
    params(("id" = i64, Path)), request_body = QueryRequest,
    responses((status = 200, body = Outcome), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn query(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<QueryRequest>,
) -> Result<axum::Json<Outcome>, ApiError> {
    let actor = caller.require(RELYING_PARTIES)?;
    let purpose = req.purpose.trim();
    if purpose.is_empty() || purpose.chars().count() > 200 {
        return Err(ApiError::from(Refusal::invalid(
            "query.purpose",
            "purpose must be 1-200 characters",
        ))
        .with_field("purpose"));
    }
    Ok(axum::Json(service(&s).query(actor, id, purpose).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Follow {
    /// The `new_sign_serial` of a `changed` answer.
    pub sign_serial: String,
}

/// Follow the new signing certificate a `changed` answer named: from now on the consent (and
/// `rp sync`) watches it.
#[utoipa::path(post, path = "/api/v1/fourinfo/consents/{id}/follow", tag = "fourinfo",
    params(("id" = i64, Path)), request_body = Follow,
    responses((status = 200, body = ConsentView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn follow(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<Follow>,
) -> Result<axum::Json<ConsentView>, ApiError> {
    let actor = caller.require(RELYING_PARTIES)?;
    let c = service(&s)
        .follow(actor, id, req.sign_serial.trim())
        .await?;
    Ok(axum::Json(view(&c)))
}
