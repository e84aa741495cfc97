//! The OpenID Connect provider, at the デジタル認証アプリ's paths under
//! `/api/realms/main` (discovery, JWKS, authorisation, token, userinfo), the holder's consent
//! page under `/portal/oidc/consent` (after the portal's card login), and the relying
//! parties' client registration (`/api/v1/oidc/clients`). See docs/oidc.md.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openmyna_core::Role;
use openmyna_platform::oidc::{AuthParams, OidcError, Scope};
use openmyna_services::oidc::{self as service, AuthFailure, Client, SignView, TokenForm};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, Created, ErrorBody};
use crate::json::ApiJson;
use crate::pages::{PageCookie, render, see_other};
use crate::state::AppState;

/// Where the portal's login returns to (the consent page), set while the holder logs in.
pub(crate) const RETURN_COOKIE: PageCookie = PageCookie {
    name: "omn_return",
    path: "/portal",
    same_site: "Lax",
};

/// The one place a login may return to.
pub(crate) const CONSENT_PATH: &str = "/portal/oidc/consent";

/// The consent page's address to return to after a login, if the cookie holds one.
pub(crate) fn return_to(parts: &Parts) -> Option<String> {
    crate::routes::portal::cookie(parts, RETURN_COOKIE.name)
        .filter(|v| v.starts_with(&format!("{CONSENT_PATH}?req=")) && !v.contains(['"', '<', '>']))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterClient {
    /// Shown to the holder on the consent page (1–100 characters).
    pub name: String,
    /// Where the holder's browser is sent back with the code: https, or http on a loopback
    /// host; compared exactly.
    pub redirect_uris: Vec<String>,
    /// The public key (JWK: EC P-256 or RSA ≥ 2048) that verifies the client's
    /// `private_key_jwt` assertions at the token endpoint.
    #[schema(value_type = Object)]
    pub jwk: Value,
}

/// Register an OpenID Connect client (relying party): its name, redirect URIs and the public
/// key of its `private_key_jwt`. The answer's `client_id` goes in its authorisation requests.
#[utoipa::path(post, path = "/api/v1/oidc/clients", tag = "oidc", request_body = RegisterClient,
    responses((status = 201, body = Client), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_client(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<RegisterClient>,
) -> Result<Created<axum::Json<Client>>, ApiError> {
    let actor = caller.require(&[Role::RelyingParty])?;
    Ok(Created(axum::Json(
        service::register_client(&s, actor, &req.name, &req.redirect_uris, &req.jwk).await?,
    )))
}

/// This relying party's OpenID Connect clients.
#[utoipa::path(get, path = "/api/v1/oidc/clients", tag = "oidc",
    responses((status = 200, body = [Client])),
    security(("bearer" = [])))]
pub async fn list_clients(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<Client>>, ApiError> {
    let actor = caller.require(&[Role::RelyingParty])?;
    Ok(axum::Json(service::clients(&s, actor).await?))
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, axum::Json(v)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn oauth_error(status: StatusCode, e: &OidcError) -> Response {
    json_response(
        status,
        &json!({"error": e.error, "error_description": e.description}),
    )
}

/// `GET /api/realms/main/.well-known/openid-configuration`.
pub async fn discovery(State(s): State<AppState>) -> Response {
    json_response(StatusCode::OK, &service::discovery(&s))
}

/// `GET /api/realms/main/protocol/openid-connect/certs`: the JWKS.
pub async fn certs(State(s): State<AppState>) -> Result<Response, ApiError> {
    Ok(json_response(StatusCode::OK, &service::jwks(&s).await?))
}

#[derive(Template, Default)]
#[template(path = "oidc.html")]
pub struct OidcPage {
    pub error: Option<String>,
    /// With an error: the consent page to go back to.
    pub back: Option<String>,
    /// Go on to this address at once (a same-site navigation, so that the portal's session
    /// cookie, SameSite=Strict, is sent).
    pub next: Option<String>,
    pub req: String,
    pub client_name: String,
    pub org_name: String,
    /// (scope, label) of each item asked for besides openid (and sign).
    pub items: Vec<(&'static str, &'static str)>,
    /// With the sign scope: what is to be signed.
    pub sign: Option<SignView>,
}

fn error_page(status: StatusCode, e: &OidcError) -> Result<Response, ApiError> {
    render(
        &OidcPage {
            error: Some(format!("{} ({})", e.description, e.error)),
            ..Default::default()
        },
        status,
    )
}

/// `GET /api/realms/main/protocol/openid-connect/auth`: checks the request; an unknown client
/// or redirect URI is shown here, any other error goes back to the client; a good request
/// continues to the consent page (after the card login).
pub async fn authorize(
    State(s): State<AppState>,
    Query(p): Query<AuthParams>,
) -> Result<Response, ApiError> {
    match service::authorize(&s, &p).await {
        Ok(sealed) => render(
            &OidcPage {
                next: Some(format!("{CONSENT_PATH}?req={sealed}")),
                ..Default::default()
            },
            StatusCode::OK,
        ),
        Err(AuthFailure::Page(e)) => error_page(StatusCode::BAD_REQUEST, &e),
        Err(AuthFailure::Redirect(to)) => Ok(see_other(&to)),
    }
}

#[derive(Deserialize)]
pub struct ReqQuery {
    #[serde(default)]
    pub req: String,
}

/// `GET /portal/oidc/consent?req=…`: the card login if needed (returning here), then what the
/// service asks for, item by item.
pub async fn consent_page(
    State(s): State<AppState>,
    Query(q): Query<ReqQuery>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let pending = match service::pending(&s, &q.req).await {
        Ok(p) => p,
        Err(e) => {
            return match openmyna_core::IntoRefusal::into_refusal(e) {
                Ok(r) => error_page(
                    StatusCode::BAD_REQUEST,
                    &OidcError::invalid_request(r.message().to_owned()),
                ),
                Err(e) => Err(e.into()),
            };
        }
    };
    if let Err(mut login) = crate::routes::portal_pages::citizen_or_login(&s, &parts).await? {
        RETURN_COOKIE.set(
            &mut login,
            &format!("{CONSENT_PATH}?req={}", q.req),
            openmyna_platform::oidc::REQUEST_SECONDS,
        );
        return Ok(login);
    }
    render(
        &OidcPage {
            req: q.req.clone(),
            client_name: pending.client_name,
            org_name: pending.org_name,
            items: pending
                .request
                .scopes
                .iter()
                .filter(|sc| !matches!(sc, Scope::Openid | Scope::Sign))
                .map(|sc| (sc.as_str(), sc.label_ja()))
                .collect(),
            sign: pending.sign,
            ..Default::default()
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    pub req: String,
    #[serde(default)]
    pub decision: String,
    pub name: Option<String>,
    pub address: Option<String>,
    pub birthdate: Option<String>,
    pub gender: Option<String>,
}

/// `POST /portal/oidc/consent`: the holder's decision; back to the service with the code (or
/// `access_denied`).
pub async fn consent(
    State(s): State<AppState>,
    parts: Parts,
    Form(f): Form<ConsentForm>,
) -> Result<Response, ApiError> {
    let citizen = match crate::routes::portal_pages::citizen_or_login(&s, &parts).await? {
        Ok(c) => c,
        Err(login) => return Ok(login),
    };
    let granted: Vec<String> = [
        ("name", &f.name),
        ("address", &f.address),
        ("birthdate", &f.birthdate),
        ("gender", &f.gender),
    ]
    .iter()
    .filter(|(_, v)| v.is_some())
    .map(|(k, _)| (*k).to_owned())
    .collect();
    let to = match service::decide(&s, &citizen, &f.req, &granted, f.decision == "approve").await {
        Ok(to) => to,
        Err(e) => {
            return match openmyna_core::IntoRefusal::into_refusal(e) {
                // Said on the page, with the way back (sign first, then consent again).
                Ok(r) => render(
                    &OidcPage {
                        error: Some(r.message().to_owned()),
                        back: Some(format!("{CONSENT_PATH}?req={}", f.req)),
                        ..Default::default()
                    },
                    crate::error::page_status(Some(r.kind())),
                ),
                Err(e) => Err(e.into()),
            };
        }
    };
    let mut resp = see_other(&to);
    RETURN_COOKIE.set(&mut resp, "", 0);
    Ok(resp)
}

/// `POST /api/realms/main/protocol/openid-connect/token`.
pub async fn token(State(s): State<AppState>, body: axum::body::Bytes) -> Response {
    let form: TokenForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                &OidcError::invalid_request(format!("the body must be a form: {e}")),
            );
        }
    };
    match service::token(&s, &form).await {
        Ok(t) => json_response(
            StatusCode::OK,
            &serde_json::to_value(&t).unwrap_or(Value::Null),
        ),
        Err(e) if e.error == "invalid_client" => {
            let mut r = oauth_error(StatusCode::UNAUTHORIZED, &e);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"main\""),
            );
            r
        }
        Err(e) if e.error == "server_error" => {
            tracing::error!(error = %e.description, "token endpoint failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &OidcError::new("server_error", "the server failed; try again"),
            )
        }
        Err(e) => oauth_error(StatusCode::BAD_REQUEST, &e),
    }
}

/// `GET|POST /api/realms/main/protocol/openid-connect/userinfo` with the access token.
pub async fn userinfo(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let token = bearer(&headers);
    if token.is_empty() {
        return bearer_error(&OidcError::new(
            "invalid_token",
            "an access token is required (Authorization: Bearer …)",
        ));
    }
    match service::userinfo(&s, token).await {
        Ok(claims) => json_response(StatusCode::OK, &claims),
        Err(e) => bearer_error(&e),
    }
}

fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("")
}

/// An OAuth error answer for a bearer-protected endpoint: 401 with `WWW-Authenticate` for a
/// bad token, 500 for ours, else 400.
fn bearer_error(e: &OidcError) -> Response {
    match e.error {
        "invalid_token" => {
            let mut r = oauth_error(StatusCode::UNAUTHORIZED, e);
            if let Ok(v) = HeaderValue::from_str(&format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                e.error,
                e.description.replace('"', "'")
            )) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            r
        }
        "server_error" => {
            tracing::error!(error = %e.description, "OpenID Connect endpoint failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &OidcError::new("server_error", "the server failed; try again"),
            )
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Deserialize)]
pub struct NewSignTransaction {
    #[serde(default)]
    pub hash_algorithm: Option<String>,
    /// The SHA-256 of the document (base64).
    #[serde(default)]
    pub hash: String,
    /// What the document is, shown to the holder.
    #[serde(default)]
    pub description: String,
}

/// `POST /api/sign-transactions` (the client's own token, scope `sign`): a signing
/// transaction over a digest.
pub async fn create_sign_transaction(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let req: NewSignTransaction = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bearer_error(&OidcError::invalid_request(format!(
                "the body must be JSON {{hash_algorithm, hash, description}}: {e}"
            )));
        }
    };
    if req
        .hash_algorithm
        .as_deref()
        .is_some_and(|a| a != "SHA-256")
    {
        return bearer_error(&OidcError::invalid_request(
            "hash_algorithm must be SHA-256",
        ));
    }
    let digest =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, req.hash.trim())
            .unwrap_or_default();
    match service::create_sign_transaction(&s, bearer(&headers), &digest, &req.description).await {
        Ok(v) => json_response(
            StatusCode::CREATED,
            &serde_json::to_value(&v).unwrap_or(Value::Null),
        ),
        Err(e) => bearer_error(&e),
    }
}

/// `GET /api/sign-transactions/{id}/result` (the holder's access token, granted `sign`): the
/// signature and the signing certificate.
pub async fn sign_result(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    match service::sign_result(&s, bearer(&headers), &id).await {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => bearer_error(&e),
    }
}

/// A signing transaction the logged-in holder is asked to sign.
#[utoipa::path(get, path = "/api/v1/portal/sign-transactions/{id}", tag = "portal",
    params(("id" = String, Path, description = "The signing transaction (UUID)")),
    responses((status = 200, body = SignView), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn portal_sign_transaction(
    State(s): State<AppState>,
    _c: crate::routes::portal::Citizen,
    crate::json::ApiPath(id): crate::json::ApiPath<String>,
) -> Result<axum::Json<SignView>, ApiError> {
    Ok(axum::Json(service::sign_transaction_for(&s, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureBody {
    /// The signature over the transaction's digest (base64), made with the card's signing key.
    pub signature: String,
    /// The signing certificate (DER, base64).
    pub certificate: String,
}

/// Sign a transaction: the signature the card made over its digest with the signing key, and
/// the signing certificate. Checked (the holder's own current signing certificate, the
/// signature) and recorded once, in the holder's access log too.
#[utoipa::path(post, path = "/api/v1/portal/sign-transactions/{id}/signature", tag = "portal",
    params(("id" = String, Path, description = "The signing transaction (UUID)")),
    request_body = SignatureBody,
    responses((status = 200, body = SignView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn portal_sign(
    State(s): State<AppState>,
    c: crate::routes::portal::Citizen,
    crate::json::ApiPath(id): crate::json::ApiPath<String>,
    ApiJson(body): ApiJson<SignatureBody>,
) -> Result<axum::Json<SignView>, ApiError> {
    let b64 = |field: &'static str, v: &str| {
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v.trim()).map_err(|_| {
            ApiError::from(openmyna_core::Refusal::invalid(
                "oidc.base64",
                format!("{field} must be base64"),
            ))
            .with_field(field)
        })
    };
    let sig = b64("signature", &body.signature)?;
    let cert = b64("certificate", &body.certificate)?;
    Ok(axum::Json(service::sign(&s, &c.0, &id, &sig, &cert).await?))
}
