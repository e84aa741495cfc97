//! The OpenID Connect provider: relying parties register clients; the holder, logged in to the
//! portal with the card (authentication certificate and PIN), consents item by item; the
//! client redeems the code with PKCE and a `private_key_jwt` assertion, and reads the claims
//! at userinfo. The rules are `openmyna_platform::oidc`'s.

use std::collections::BTreeSet;

use openmyna_core::{Actor, Refusal, Role, Timestamp};
use openmyna_platform::oidc::{
    self, AuthParams, AuthRequest, CODE_SECONDS, KEY_ROTATION_DAYS, OidcError, Scope, SigningKey,
    TOKEN_SECONDS,
};
use openmyna_registry::ResidentId;
use openmyna_store::crypto::sha256_hex;
use openmyna_store::oidc::{
    ClientRow, CodeRow, ConsentEntry, Redeemed, SignTransaction, Signed, TokenRow,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::portal::Citizen;
use crate::{Result, ServiceError, Services};

/// A client as shown to the relying party that registered it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// The public key of the client's `private_key_jwt` (JWK).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub jwk: Value,
    pub created_at: String,
}

fn client_view(r: &ClientRow) -> Client {
    Client {
        client_id: r.client_id.clone(),
        name: r.name.clone(),
        redirect_uris: serde_json::from_str(&r.redirect_uris).unwrap_or_default(),
        jwk: serde_json::from_str(&r.jwk).unwrap_or(Value::Null),
        created_at: r.created_at.to_rfc3339(),
    }
}

/// The issuer: the public URL and the realm's path.
pub fn issuer(s: &Services) -> String {
    format!(
        "{}{}",
        s.jpki.endpoints().base().trim_end_matches('/'),
        oidc::REALM_PATH
    )
}

fn endpoint(s: &Services, name: &str) -> String {
    format!("{}/protocol/openid-connect/{name}", issuer(s))
}

fn random_hex(s: &Services, n: usize) -> String {
    let mut b = vec![0u8; n];
    s.entropy.fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn random_b64(s: &Services, n: usize) -> String {
    let mut b = vec![0u8; n];
    s.entropy.fill(&mut b);
    oidc::b64url(&b)
}

fn store_error(e: openmyna_store::StoreError) -> OidcError {
    OidcError::new("server_error", e.to_string())
}

/// An access token that is known, not revoked and not expired.
async fn live_token(s: &Services, bearer: &str) -> std::result::Result<TokenRow, OidcError> {
    let t = s
        .store
        .oidc()
        .token(&sha256_hex(bearer.as_bytes()))
        .await
        .map_err(store_error)?
        .filter(|t| !t.revoked && t.expires_at >= s.clock.now());
    t.ok_or_else(|| {
        OidcError::new(
            "invalid_token",
            "the access token is unknown, expired or revoked",
        )
    })
}

/// The relying party behind a client, as the actor of the holder's access-log entries.
async fn relying_actor(s: &Services, org_id: i64) -> Result<Actor> {
    let org_name = s
        .store
        .auth()
        .organisation(org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(Actor {
        org_id,
        org_name,
        role: Role::RelyingParty,
        token_id: 0,
    })
}

/// Registers a client for the relying party (its name, redirect URIs and public key).
pub async fn register_client(
    s: &Services,
    actor: &Actor,
    name: &str,
    redirect_uris: &[String],
    jwk: &Value,
) -> Result<Client> {
    if actor.role != Role::RelyingParty {
        return Err(Refusal::forbidden(
            "role.forbidden",
            "clients are registered by relying parties",
        )
        .into());
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Refusal::invalid(
            "oidc.client_name",
            "name: 1 to 100 characters, shown to the holder on the consent page",
        )
        .into());
    }
    if redirect_uris.is_empty() || redirect_uris.len() > 10 {
        return Err(Refusal::invalid("oidc.redirect_uri", "give 1 to 10 redirect URIs").into());
    }
    for u in redirect_uris {
        oidc::check_redirect_uri(u).map_err(|m| Refusal::invalid("oidc.redirect_uri", m))?;
    }
    oidc::check_client_jwk(jwk).map_err(|m| Refusal::invalid("oidc.jwk", format!("jwk: {m}")))?;
    let public: Value = match jwk {
        // Only the public members are kept (a private "d" sent by mistake is dropped).
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k.as_str(),
                    "kty" | "crv" | "x" | "y" | "n" | "e" | "kid" | "alg" | "use"
                )
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        _ => Value::Null,
    };
    let row = ClientRow {
        client_id: random_hex(s, 16),
        org_id: actor.org_id,
        name: name.to_owned(),
        redirect_uris: serde_json::to_string(redirect_uris)
            .map_err(|e| ServiceError::internal("oidc client", e))?,
        jwk: public.to_string(),
        created_at: s.clock.now(),
    };
    s.store.oidc().insert_client(&row).await?;
    Ok(client_view(&row))
}

pub async fn clients(s: &Services, actor: &Actor) -> Result<Vec<Client>> {
    Ok(s.store
        .oidc()
        .clients_of(actor.org_id)
        .await?
        .iter()
        .map(client_view)
        .collect())
}

/// Where an authorisation request's failure goes.
#[derive(Debug)]
pub enum AuthFailure {
    /// The client or its redirect URI is not known: shown to the user, never redirected.
    Page(OidcError),
    /// Back to the client's redirect URI with `error`, `error_description` and `state`.
    Redirect(String),
}

fn error_redirect(redirect_uri: &str, e: &OidcError, state: Option<&str>) -> String {
    let mut q = vec![
        ("error", e.error.to_owned()),
        ("error_description", e.description.clone()),
    ];
    if let Some(st) = state {
        q.push(("state", st.to_owned()));
    }
    with_query(redirect_uri, &q)
}

fn with_query(uri: &str, q: &[(&str, String)]) -> String {
    let enc: Vec<String> = q
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", enc.join("&"))
}

/// Percent-encodes all but the unreserved characters (RFC 3986 §2.3).
pub fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn request_key(s: &Services) -> aws_lc_rs::hmac::Key {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &s.store.challenge_key());
    let derived = aws_lc_rs::hmac::sign(&k, b"openmyna.oidc.request/1");
    aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, derived.as_ref())
}

/// Checks an authorisation request; returns it sealed (signed, for any server of the
/// installation to take) for the consent page.
pub async fn authorize(s: &Services, p: &AuthParams) -> std::result::Result<String, AuthFailure> {
    let page = |e: OidcError| AuthFailure::Page(e);
    let client_id = p
        .client_id
        .as_deref()
        .filter(|c| oidc::valid_client_id(c))
        .ok_or_else(|| {
            page(OidcError::invalid_request(
                "client_id is missing or malformed",
            ))
        })?;
    let client = s
        .store
        .oidc()
        .client(client_id)
        .await
        .map_err(|e| page(OidcError::new("server_error", e.to_string())))?
        .ok_or_else(|| {
            page(OidcError::new(
                "unauthorized_client",
                "no client with this client_id is registered",
            ))
        })?;
    let registered: Vec<String> = serde_json::from_str(&client.redirect_uris).unwrap_or_default();
    let redirect_uri = p
        .redirect_uri
        .as_deref()
        .ok_or_else(|| page(OidcError::invalid_request("redirect_uri is required")))?;
    if !registered.iter().any(|r| r == redirect_uri) {
        return Err(page(OidcError::invalid_request(
            "redirect_uri is not one the client registered",
        )));
    }
    let now = s.clock.now();
    let back =
        |e: OidcError| AuthFailure::Redirect(error_redirect(redirect_uri, &e, p.state.as_deref()));
    let req = oidc::check_request(p, client_id, redirect_uri, &now).map_err(back)?;
    if let Some(id) = &req.sign_transaction_id {
        let tx = s
            .store
            .oidc()
            .sign_transaction(id)
            .await
            .map_err(|e| back(OidcError::new("server_error", e.to_string())))?;
        match tx {
            Some(t) if t.client_id == client_id && t.expires_at >= now && t.signed.is_none() => {}
            _ => {
                return Err(back(OidcError::invalid_request(
                    "sign_transaction_id: no open signing transaction of this client",
                )));
            }
        }
    }
    seal_request(s, &req).map_err(|e| {
        AuthFailure::Redirect(error_redirect(
            redirect_uri,
            &OidcError::new("server_error", e.to_string()),
            p.state.as_deref(),
        ))
    })
}

fn seal_request(s: &Services, req: &AuthRequest) -> Result<String> {
    let json = serde_json::to_vec(req).map_err(|e| ServiceError::internal("oidc request", e))?;
    let body = oidc::b64url(&json);
    let tag = aws_lc_rs::hmac::sign(&request_key(s), body.as_bytes());
    Ok(format!("{body}.{}", oidc::b64url(tag.as_ref())))
}

/// A pending request, for the consent page.
#[derive(Debug, Clone)]
pub struct Pending {
    pub request: AuthRequest,
    pub client_name: String,
    /// The relying party behind the client.
    pub org_id: i64,
    pub org_name: String,
    /// With the sign scope: what is to be signed.
    pub sign: Option<SignView>,
}

/// A signing transaction as the holder sees it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignView {
    pub id: String,
    /// The service asking.
    pub client_name: String,
    /// What the document is, in the relying party's words.
    pub description: String,
    /// The SHA-256 to sign (base64).
    pub digest: String,
    pub expires_at: String,
    /// Signed already.
    pub signed: bool,
}

fn sign_view(t: &SignTransaction, client_name: &str) -> SignView {
    SignView {
        id: t.id.clone(),
        client_name: client_name.to_owned(),
        description: t.description.clone(),
        digest: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &t.digest),
        expires_at: t.expires_at.to_rfc3339(),
        signed: t.signed.is_some(),
    }
}

/// Opens a sealed request (the consent page's `req`): untampered and not expired.
pub async fn pending(s: &Services, sealed: &str) -> Result<Pending> {
    let bad = || {
        Refusal::invalid(
            "oidc.request",
            "this login request is not valid or has expired; start again at the service",
        )
    };
    let (body, tag) = sealed.split_once('.').ok_or_else(bad)?;
    let tag = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, tag)
        .map_err(|_| bad())?;
    aws_lc_rs::hmac::verify(&request_key(s), body.as_bytes(), &tag).map_err(|_| bad())?;
    let json = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, body)
        .map_err(|_| bad())?;
    let request: AuthRequest = serde_json::from_slice(&json).map_err(|_| bad())?;
    if request.expires_at < s.clock.now() {
        return Err(bad().into());
    }
    let client = s
        .store
        .oidc()
        .client(&request.client_id)
        .await?
        .ok_or_else(bad)?;
    let org_name = relying_actor(s, client.org_id).await?.org_name;
    let sign = match &request.sign_transaction_id {
        Some(id) => s
            .store
            .oidc()
            .sign_transaction(id)
            .await?
            .map(|t| sign_view(&t, &client.name)),
        None => None,
    };
    Ok(Pending {
        request,
        client_name: client.name,
        org_id: client.org_id,
        org_name,
        sign,
    })
}

/// The holder's decision on the consent page: the scopes granted (`openid` always), or a
/// refusal. Returns where to send the browser: the client's redirect URI with the code and
/// state, or with `error=access_denied`.
pub async fn decide(
    s: &Services,
    citizen: &Citizen,
    sealed: &str,
    granted: &[String],
    approve: bool,
) -> Result<String> {
    let p = pending(s, sealed).await?;
    let r = &p.request;
    if !approve {
        return Ok(error_redirect(
            &r.redirect_uri,
            &OidcError::new("access_denied", "the holder did not consent"),
            Some(&r.state),
        ));
    }
    let mut scopes: BTreeSet<Scope> = BTreeSet::from([Scope::Openid]);
    // The signature was asked for: it is made with the card before consenting, by this holder.
    if let Some(id) = &r.sign_transaction_id {
        let signed_by_holder = s
            .store
            .oidc()
            .sign_transaction(id)
            .await?
            .and_then(|t| t.signed)
            .is_some_and(|sg| sg.resident_id == citizen.resident_id);
        if !signed_by_holder {
            return Err(Refusal::refused(
                "oidc.not_signed",
                "sign the document with your card first (openmyna portal sign), then consent",
            )
            .into());
        }
        scopes.insert(Scope::Sign);
    }
    for g in granted {
        match Scope::parse(g) {
            Some(sc) if r.scopes.contains(&sc) && sc != Scope::Sign => {
                scopes.insert(sc);
            }
            _ => {
                return Err(Refusal::invalid(
                    "oidc.scope",
                    format!("{g:?} was not asked for by this service"),
                )
                .into());
            }
        }
    }
    let now = s.clock.now();
    let code = random_b64(s, 32);
    let actor = Actor {
        org_id: p.org_id,
        org_name: p.org_name.clone(),
        role: Role::RelyingParty,
        token_id: 0,
    };
    let items: Vec<&str> = scopes
        .iter()
        .filter(|sc| **sc != Scope::Openid)
        .map(|sc| sc.label_ja())
        .collect();
    let detail = format!(
        "{}（{}）へのログインに同意。提供に同意した情報: {}",
        p.client_name,
        p.org_name,
        if items.is_empty() {
            "なし（識別子のみ）".to_owned()
        } else {
            items.join("、")
        }
    );
    s.store
        .oidc()
        .insert_code(
            &sha256_hex(code.as_bytes()),
            &CodeRow {
                client_id: r.client_id.clone(),
                resident_id: citizen.resident_id,
                request: serde_json::to_string(r)
                    .map_err(|e| ServiceError::internal("oidc request", e))?,
                granted: Scope::join(&scopes),
                auth_time: now,
                expires_at: now + chrono::Duration::seconds(CODE_SECONDS),
                token_hash: None,
            },
            &ConsentEntry {
                actor: &actor,
                purpose: "ログイン (OpenID Connect)",
                detail: &detail,
            },
        )
        .await?;
    Ok(with_query(
        &r.redirect_uri,
        &[("code", code), ("state", r.state.clone())],
    ))
}

/// The token endpoint's form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
    /// With grant_type=client_credentials: `sign`.
    pub scope: Option<String>,
}

/// What the token endpoint answers.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// None for a client's own token (client_credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The client of a `private_key_jwt` assertion, checked (signature, claims, jti single use).
async fn authenticate_client(
    s: &Services,
    f: &TokenForm,
) -> std::result::Result<ClientRow, OidcError> {
    if f.client_assertion_type.as_deref() != Some(ASSERTION_TYPE) {
        return Err(OidcError::invalid_client(format!(
            "client authentication is private_key_jwt: client_assertion_type must be {ASSERTION_TYPE}"
        )));
    }
    let jws = f
        .client_assertion
        .as_deref()
        .ok_or_else(|| OidcError::invalid_client("client_assertion is required"))?;
    // The client is named by the assertion's iss (checked against its signature below).
    let claims_part = jws.split('.').nth(1).unwrap_or("");
    let unverified: Value = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims_part,
    )
    .ok()
    .and_then(|b| serde_json::from_slice(&b).ok())
    .unwrap_or(Value::Null);
    let client_id = unverified
        .get("iss")
        .and_then(Value::as_str)
        .filter(|c| oidc::valid_client_id(c))
        .ok_or_else(|| OidcError::invalid_client("client_assertion: iss must be the client_id"))?;
    if f.client_id.as_deref().is_some_and(|c| c != client_id) {
        return Err(OidcError::invalid_client(
            "client_id differs from the assertion's iss",
        ));
    }
    let store_err = store_error;
    let client = s
        .store
        .oidc()
        .client(client_id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| OidcError::invalid_client("no such client"))?;
    let jwk: Value = serde_json::from_str(&client.jwk).unwrap_or(Value::Null);
    let claims = oidc::verify_jws(jws, &jwk)?;
    let token_url = endpoint(s, "token");
    let iss = issuer(s);
    let (jti, exp) =
        oidc::check_assertion_claims(&claims, client_id, &[&token_url, &iss], &s.clock.now())?;
    if !s
        .store
        .oidc()
        .record_assertion(client_id, &jti, &exp)
        .await
        .map_err(store_err)?
    {
        return Err(OidcError::invalid_client(
            "client_assertion: this jti was used already (a replayed assertion)",
        ));
    }
    Ok(client)
}

/// The current ID-token signing key: the newest, or a new one when the newest is older than
/// [`KEY_ROTATION_DAYS`].
async fn current_key(s: &Services, now: &Timestamp) -> Result<SigningKey> {
    let since = *now - chrono::Duration::days(KEY_ROTATION_DAYS);
    if let Some((_, der, _)) = s.store.oidc().keys_since(&since).await?.into_iter().next() {
        return SigningKey::from_pkcs8(&der).map_err(|e| ServiceError::internal("oidc key", e));
    }
    let (der, key) = SigningKey::generate().map_err(|e| ServiceError::internal("oidc key", e))?;
    s.store.oidc().insert_key(&key.kid, &der, now).await?;
    tracing::info!(kid = %key.kid, "new ID-token signing key");
    Ok(key)
}

/// The JWKS: the current key and those replaced within the last day.
pub async fn jwks(s: &Services) -> Result<Value> {
    let now = s.clock.now();
    current_key(s, &now).await?;
    let since = now - chrono::Duration::days(KEY_ROTATION_DAYS + 1);
    let keys: Vec<Value> = s
        .store
        .oidc()
        .keys_since(&since)
        .await?
        .iter()
        .filter_map(|(_, der, _)| SigningKey::from_pkcs8(der).ok().map(|k| k.public_jwk()))
        .collect();
    Ok(json!({ "keys": keys }))
}

pub fn discovery(s: &Services) -> Value {
    oidc::discovery(&issuer(s))
}

/// The token endpoint: the code redeemed once, with the verifier and the client's assertion.
pub async fn token(s: &Services, f: &TokenForm) -> std::result::Result<TokenResponse, OidcError> {
    let server = |e: ServiceError| OidcError::new("server_error", e.to_string());
    let store_err = store_error;
    let client = authenticate_client(s, f).await?;
    match f.grant_type.as_deref() {
        Some("authorization_code") => {}
        Some("client_credentials") => return client_token(s, &client, f).await,
        _ => {
            return Err(OidcError::new(
                "unsupported_grant_type",
                "grant_type is authorization_code, or client_credentials for the sign scope",
            ));
        }
    }
    let code = f
        .code
        .as_deref()
        .ok_or_else(|| OidcError::invalid_request("code is required"))?;
    let now = s.clock.now();
    let code_hash = sha256_hex(code.as_bytes());
    let row = match s
        .store
        .oidc()
        .redeem_code(&code_hash, &now)
        .await
        .map_err(store_err)?
    {
        Redeemed::Fresh(r) => r,
        Redeemed::Replayed(r) => {
            // RFC 6749 §4.1.2: a code used twice revokes what it gave.
            if let Some(t) = &r.token_hash {
                s.store
                    .oidc()
                    .revoke_token(t, &now)
                    .await
                    .map_err(store_err)?;
            }
            tracing::warn!(client = %client.client_id, "an authorisation code was replayed; its token is revoked");
            return Err(OidcError::invalid_grant("the code was used already"));
        }
        Redeemed::Unknown => return Err(OidcError::invalid_grant("unknown code")),
    };
    if row.client_id != client.client_id {
        return Err(OidcError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if row.expires_at < now {
        return Err(OidcError::invalid_grant("the code has expired"));
    }
    let req: AuthRequest = serde_json::from_str(&row.request)
        .map_err(|e| OidcError::new("server_error", e.to_string()))?;
    if f.redirect_uri.as_deref() != Some(req.redirect_uri.as_str()) {
        return Err(OidcError::invalid_grant(
            "redirect_uri differs from the authorisation request's",
        ));
    }
    let verifier = f
        .code_verifier
        .as_deref()
        .ok_or_else(|| OidcError::invalid_grant("code_verifier is required (PKCE)"))?;
    if !oidc::pkce_matches(verifier, &req.code_challenge) {
        return Err(OidcError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let key = current_key(s, &now).await.map_err(server)?;
    let sub = oidc::pairwise_subject(&s.store.challenge_key(), &client.client_id, row.resident_id);
    let exp = now + chrono::Duration::seconds(TOKEN_SECONDS);
    let id_token = key.sign(&json!({
        "iss": issuer(s),
        "sub": sub,
        "aud": client.client_id,
        "exp": exp.timestamp(),
        "iat": now.timestamp(),
        "auth_time": row.auth_time.timestamp(),
        "nonce": req.nonce,
        "acr": req.acr,
        "amr": ["hwk", "pin"],
    }))?;
    let access_token = random_b64(s, 32);
    s.store
        .oidc()
        .insert_token(
            &sha256_hex(access_token.as_bytes()),
            Some(&code_hash),
            &TokenRow {
                client_id: client.client_id.clone(),
                resident_id: Some(row.resident_id),
                granted: row.granted.clone(),
                expires_at: exp,
                revoked: false,
            },
        )
        .await
        .map_err(store_err)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: TOKEN_SECONDS,
        id_token: Some(id_token),
        scope: row.granted,
    })
}

/// A client's own token (client_credentials, scope `sign`): for creating signing
/// transactions.
async fn client_token(
    s: &Services,
    client: &ClientRow,
    f: &TokenForm,
) -> std::result::Result<TokenResponse, OidcError> {
    if f.scope.as_deref().map(str::trim) != Some("sign") {
        return Err(OidcError::new(
            "invalid_scope",
            "a client's own token is for the sign scope only (scope=sign)",
        ));
    }
    let now = s.clock.now();
    let access_token = random_b64(s, 32);
    s.store
        .oidc()
        .insert_token(
            &sha256_hex(access_token.as_bytes()),
            None,
            &TokenRow {
                client_id: client.client_id.clone(),
                resident_id: None,
                granted: "sign".into(),
                expires_at: now + chrono::Duration::seconds(TOKEN_SECONDS),
                revoked: false,
            },
        )
        .await
        .map_err(|e| OidcError::new("server_error", e.to_string()))?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: TOKEN_SECONDS,
        id_token: None,
        scope: "sign".into(),
    })
}

/// The claims the holder consented to, for the access token's client (recorded in the
/// holder's access log before they are answered).
pub async fn userinfo(s: &Services, access_token: &str) -> std::result::Result<Value, OidcError> {
    let invalid = || {
        OidcError::new(
            "invalid_token",
            "the access token is unknown, expired or revoked",
        )
    };
    let store_err = store_error;
    let now = s.clock.now();
    let t = live_token(s, access_token).await?;
    let resident_id = t.resident_id.ok_or_else(invalid)?;
    let client = s
        .store
        .oidc()
        .client(&t.client_id)
        .await
        .map_err(store_err)?
        .ok_or_else(invalid)?;
    let resident = s
        .registry()
        .get(ResidentId(resident_id))
        .await
        .map_err(|e| OidcError::new("server_error", e.to_string()))?;
    let b = &resident.basic4;
    let granted: BTreeSet<Scope> = t.granted.split(' ').filter_map(Scope::parse).collect();
    let mut claims = serde_json::Map::new();
    claims.insert(
        "sub".into(),
        oidc::pairwise_subject(&s.store.challenge_key(), &t.client_id, resident_id).into(),
    );
    let mut shared = Vec::new();
    for sc in &granted {
        let (k, v): (&str, Value) = match sc {
            Scope::Openid | Scope::Sign => continue,
            Scope::Name => ("name", b.name.name.clone().into()),
            Scope::Address => ("address", json!({"formatted": b.address.text})),
            Scope::Birthdate => (
                "birthdate",
                b.birth_date.format("%Y-%m-%d").to_string().into(),
            ),
            Scope::Gender => (
                "gender",
                match b.sex.code() {
                    1 => "male",
                    2 => "female",
                    _ => "not_applicable",
                }
                .into(),
            ),
        };
        claims.insert(k.into(), v);
        shared.push(sc.label_ja());
    }
    let actor = relying_actor(s, client.org_id)
        .await
        .map_err(|e| OidcError::new("server_error", e.to_string()))?;
    let org_name = &actor.org_name;
    s.store
        .access()
        .record_access(
            resident_id,
            &actor,
            &now,
            "oidc.userinfo",
            "ログイン (OpenID Connect)",
            &format!(
                "{}（{org_name}）に提供: {}",
                client.name,
                if shared.is_empty() {
                    "識別子のみ".to_owned()
                } else {
                    shared.join("、")
                }
            ),
        )
        .await
        .map_err(store_err)?;
    Ok(Value::Object(claims))
}

/// Forgets expired codes, tokens and assertions (the scheduler).
pub async fn purge(s: &Services) -> Result<u64> {
    let before = s.clock.now() - chrono::Duration::hours(1);
    Ok(s.store.oidc().purge(&before).await?)
}

/// How long a signing transaction waits for the holder.
pub const SIGN_TRANSACTION_SECONDS: i64 = 600;

/// The client of a client token (`client_credentials`, scope `sign`).
async fn client_of_token(s: &Services, bearer: &str) -> std::result::Result<String, OidcError> {
    let t = live_token(s, bearer).await?;
    if t.resident_id.is_some() || t.granted != "sign" {
        return Err(OidcError::new(
            "invalid_token",
            "a client token (scope sign) is required",
        ));
    }
    Ok(t.client_id)
}

/// `POST /api/sign-transactions`: a relying party asks for a signature over a SHA-256 digest;
/// the answer's id goes in the authorisation request (`sign_transaction_id`, scope `sign`).
pub async fn create_sign_transaction(
    s: &Services,
    bearer: &str,
    digest: &[u8],
    description: &str,
) -> std::result::Result<SignView, OidcError> {
    let client_id = client_of_token(s, bearer).await?;
    if digest.len() != 32 {
        return Err(OidcError::invalid_request(
            "hash: the SHA-256 digest of the document, 32 bytes in base64",
        ));
    }
    let description = description.trim();
    if description.is_empty()
        || description.chars().count() > 200
        || description.chars().any(char::is_control)
    {
        return Err(OidcError::invalid_request(
            "description: 1 to 200 characters, shown to the holder",
        ));
    }
    let now = s.clock.now();
    let mut id = [0u8; 16];
    s.entropy.fill(&mut id);
    let t = SignTransaction {
        id: oidc::uuid_v4(id),
        client_id: client_id.clone(),
        digest: digest.to_vec(),
        description: description.to_owned(),
        created_at: now,
        expires_at: now + chrono::Duration::seconds(SIGN_TRANSACTION_SECONDS),
        signed: None,
    };
    let store_err = store_error;
    s.store
        .oidc()
        .insert_sign_transaction(&t)
        .await
        .map_err(store_err)?;
    let name = s
        .store
        .oidc()
        .client(&client_id)
        .await
        .map_err(store_err)?
        .map(|c| c.name)
        .unwrap_or_default();
    Ok(sign_view(&t, &name))
}

async fn open_transaction(s: &Services, id: &str) -> Result<(SignTransaction, ClientRow)> {
    let gone = || Refusal::not_found("oidc.sign_transaction", "no such signing transaction");
    let t = if oidc::valid_uuid(id) {
        s.store
            .oidc()
            .sign_transaction(&id.to_ascii_lowercase())
            .await?
    } else {
        None
    }
    .ok_or_else(gone)?;
    let c = s
        .store
        .oidc()
        .client(&t.client_id)
        .await?
        .ok_or_else(gone)?;
    Ok((t, c))
}

/// A signing transaction, for the holder about to sign it.
pub async fn sign_transaction_for(s: &Services, id: &str) -> Result<SignView> {
    let (t, c) = open_transaction(s, id).await?;
    Ok(sign_view(&t, &c.name))
}

/// The holder's signature over a transaction's digest, made with the card's signing key:
/// checked (the holder's own, current signing certificate; the signature over the digest) and
/// recorded, once, in the transaction and the holder's access log.
pub async fn sign(
    s: &Services,
    citizen: &Citizen,
    id: &str,
    signature: &[u8],
    certificate: &[u8],
) -> Result<SignView> {
    let (t, c) = open_transaction(s, id).await?;
    let now = s.clock.now();
    if t.expires_at < now {
        return Err(
            Refusal::refused("oidc.sign_expired", "the signing transaction has expired").into(),
        );
    }
    if t.signed.is_some() {
        return Err(Refusal::refused("oidc.signed", "the transaction is signed already").into());
    }
    let bad = |m: &str| Refusal::invalid("oidc.signature", m.to_owned());
    let cert = openmyna_jpki::profile::parse_certificate(certificate)
        .map_err(|_| bad("certificate: not a DER X.509 certificate"))?;
    let serial =
        openmyna_jpki::Serial::from_der_bytes(cert.tbs_certificate.serial_number.as_bytes())
            .map_err(|_| bad("certificate: no serial of ours"))?;
    let record = s
        .jpki
        .current_certificate(
            &serial,
            Some(certificate),
            openmyna_jpki::RootKind::Sign,
            &now,
            openmyna_jpki::Lookup::Store,
        )
        .await
        .map_err(|why| {
            Refusal::refused(
                "oidc.certificate",
                format!("the signing certificate is not a current one of this CA ({why:?})"),
            )
        })?;
    if record.resident_id != citizen.resident_id {
        return Err(Refusal::forbidden(
            "oidc.signer",
            "the document is signed by someone other than the logged-in holder",
        )
        .into());
    }
    let spki = der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info)
        .map_err(|e| ServiceError::internal("oidc sign", e))?;
    let digest = aws_lc_rs::digest::Digest::import_less_safe(&t.digest, &aws_lc_rs::digest::SHA256)
        .map_err(|_| ServiceError::internal("oidc sign", "stored digest"))?;
    openmyna_jpki::key::verify_digest(&spki, &digest, signature)
        .map_err(|_| bad("the signature does not verify over the transaction's digest"))?;
    let done = s
        .store
        .oidc()
        .record_signature(
            &t.id,
            &Signed {
                resident_id: citizen.resident_id,
                signature: signature.to_vec(),
                certificate: certificate.to_vec(),
                at: now,
            },
        )
        .await?;
    if !done {
        return Err(Refusal::refused("oidc.signed", "the transaction is signed already").into());
    }
    let actor = relying_actor(s, c.org_id).await?;
    s.store
        .access()
        .record_access(
            citizen.resident_id,
            &actor,
            &now,
            "oidc.sign",
            "電子署名 (OpenID Connect)",
            &format!(
                "{}（{}）の依頼に署名用電子証明書で署名: {}",
                c.name, actor.org_name, t.description
            ),
        )
        .await?;
    let mut v = sign_view(&t, &c.name);
    v.signed = true;
    Ok(v)
}

/// The signature and the signing certificate of a transaction, for the client, with the
/// holder's access token (granted `sign`).
pub async fn sign_result(
    s: &Services,
    bearer: &str,
    id: &str,
) -> std::result::Result<Value, OidcError> {
    let store_err = store_error;
    let t = live_token(s, bearer).await?;
    let granted: BTreeSet<Scope> = t.granted.split(' ').filter_map(Scope::parse).collect();
    let not_yours = || {
        OidcError::new(
            "invalid_request",
            "no signed transaction of this holder and client with this id",
        )
    };
    let tx = if oidc::valid_uuid(id) {
        s.store
            .oidc()
            .sign_transaction(&id.to_ascii_lowercase())
            .await
            .map_err(store_err)?
    } else {
        None
    }
    .ok_or_else(not_yours)?;
    let signed = tx.signed.as_ref().ok_or_else(not_yours)?;
    if !granted.contains(&Scope::Sign)
        || tx.client_id != t.client_id
        || t.resident_id != Some(signed.resident_id)
    {
        return Err(not_yours());
    }
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    Ok(json!({
        "id": tx.id,
        "hash_algorithm": "SHA-256",
        "hash": b64(&tx.digest),
        "signature": b64(&signed.signature),
        "certificate": b64(&signed.certificate),
        "signed_at": signed.at.to_rfc3339(),
    }))
}
