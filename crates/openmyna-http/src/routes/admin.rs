//! `/api/v1/admin`: organisations and their tokens (operator only), and `/api/v1/whoami`.

use axum::extract::State;
use openmyna_core::Role;
use openmyna_services::admin;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, Created, ErrorBody, NoContent};
use crate::json::ApiJson;
use crate::json::ApiPath;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    pub org_id: i64,
    pub org_name: String,
    /// municipality, insurer, medical_institution, relying_party, employer or operator
    pub role: String,
    pub token_id: i64,
}

/// The organisation and role behind the presented token.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "admin",
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn whoami(caller: Caller) -> axum::Json<WhoAmI> {
    let a = caller.0;
    axum::Json(WhoAmI {
        org_id: a.org_id,
        org_name: a.org_name,
        role: a.role.as_str().to_owned(),
        token_id: a.token_id,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    #[schema(example = "千代田区")]
    pub name: String,
    #[schema(example = "municipality")]
    pub role: String,
    /// The organisation's code: municipality code, insurer number, facility code or corporate
    /// number, validated for the role.
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub code: Option<String>,
    pub created_at: String,
}

impl From<openmyna_store::auth::Organisation> for OrganisationView {
    fn from(o: openmyna_store::auth::Organisation) -> Self {
        OrganisationView {
            id: o.id,
            name: o.name,
            role: o.role.as_str().to_owned(),
            code: o.code,
            created_at: o.created_at.to_rfc3339(),
        }
    }
}

/// Register an organisation.
#[utoipa::path(post, path = "/api/v1/admin/organisations", tag = "admin",
    request_body = NewOrganisation,
    responses((status = 201, body = OrganisationView), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_organisation(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewOrganisation>,
) -> Result<Created<axum::Json<OrganisationView>>, ApiError> {
    caller.require(&[Role::Operator])?;
    let (clock, code) = (s.clock.as_ref(), req.code.as_deref());
    let org = admin::create_organisation(&s.store, clock, &req.role, &req.name, code).await?;
    Ok(Created(axum::Json(org.into())))
}

/// List organisations.
#[utoipa::path(get, path = "/api/v1/admin/organisations", tag = "admin",
    responses((status = 200, body = [OrganisationView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_organisations(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<OrganisationView>>, ApiError> {
    caller.require(&[Role::Operator])?;
    Ok(axum::Json(
        s.store
            .auth()
            .organisations()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[schema(example = "reception system")]
    pub label: String,
    /// Expiry, RFC 3339 (none: until revoked).
    #[serde(default)]
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub org_id: i64,
    pub role: String,
    pub label: String,
    /// The bearer token. Shown once; only its hash is stored.
    pub token: String,
}

/// Create a bearer token for an organisation. The token is in the answer and nowhere else.
#[utoipa::path(post, path = "/api/v1/admin/organisations/{id}/tokens", tag = "admin",
    params(("id" = i64, Path)), request_body = NewToken,
    responses((status = 201, body = TokenView), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_token(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<NewToken>,
) -> Result<Created<axum::Json<TokenView>>, ApiError> {
    caller.require(&[Role::Operator])?;
    let expires = req.expires_at.as_deref();
    let t = admin::create_token(&s.store, s.clock.as_ref(), id, &req.label, expires).await?;
    Ok(Created(axum::Json(TokenView {
        id: t.id,
        org_id: t.org_id,
        role: t.role.as_str().to_owned(),
        label: t.label,
        token: t.token,
    })))
}

/// Revoke a token.
#[utoipa::path(delete, path = "/api/v1/admin/tokens/{id}", tag = "admin",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<NoContent, ApiError> {
    caller.require(&[Role::Operator])?;
    admin::revoke_token(&s.store, s.clock.as_ref(), id).await?;
    Ok(NoContent)
}
