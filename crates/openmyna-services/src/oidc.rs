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
use openmyna_store::oidc::{ClientRow, CodeRow, ConsentEntry, Redeemed, TokenRow};
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
    let req = oidc::check_request(p, client_id, redirect_uri, &s.clock.now())
        .map_err(|e| AuthFailure::Redirect(error_redirect(redirect_uri, &e, p.state.as_deref())))?;
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
    pub org_name: String,
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
    let org_name = s
        .store
        .auth()
        .organisation(client.org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(Pending {
        request,
        client_name: client.name,
        org_name,
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
    for g in granted {
        match Scope::parse(g) {
            Some(sc) if r.scopes.contains(&sc) => {
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
        org_id: s
            .store
            .oidc()
            .client(&r.client_id)
            .await?
            .map(|c| c.org_id)
            .unwrap_or_default(),
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
}

/// What the token endpoint answers.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
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
    let store_err = |e: openmyna_store::StoreError| OidcError::new("server_error", e.to_string());
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
    let store_err = |e: openmyna_store::StoreError| OidcError::new("server_error", e.to_string());
    let client = authenticate_client(s, f).await?;
    if f.grant_type.as_deref() != Some("authorization_code") {
        return Err(OidcError::new(
            "unsupported_grant_type",
            "only grant_type=authorization_code is offered",
        ));
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
            &code_hash,
            &TokenRow {
                client_id: client.client_id.clone(),
                resident_id: row.resident_id,
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
        id_token,
        scope: row.granted,
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
    let store_err = |e: openmyna_store::StoreError| OidcError::new("server_error", e.to_string());
    let now = s.clock.now();
    let t = s
        .store
        .oidc()
        .token(&sha256_hex(access_token.as_bytes()))
        .await
        .map_err(store_err)?
        .ok_or_else(invalid)?;
    if t.revoked || t.expires_at < now {
        return Err(invalid());
    }
    let client = s
        .store
        .oidc()
        .client(&t.client_id)
        .await
        .map_err(store_err)?
        .ok_or_else(invalid)?;
    let resident = s
        .registry()
        .get(ResidentId(t.resident_id))
        .await
        .map_err(|e| OidcError::new("server_error", e.to_string()))?;
    let b = &resident.basic4;
    let granted: BTreeSet<Scope> = t.granted.split(' ').filter_map(Scope::parse).collect();
    let mut claims = serde_json::Map::new();
    claims.insert(
        "sub".into(),
        oidc::pairwise_subject(&s.store.challenge_key(), &t.client_id, t.resident_id).into(),
    );
    let mut shared = Vec::new();
    for sc in &granted {
        let (k, v): (&str, Value) = match sc {
            Scope::Openid => continue,
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
    let org_name = s
        .store
        .auth()
        .organisation(client.org_id)
        .await
        .map_err(store_err)?
        .map(|o| o.name)
        .unwrap_or_default();
    s.store
        .access()
        .record_access(
            t.resident_id,
            &Actor {
                org_id: client.org_id,
                org_name: org_name.clone(),
                role: Role::RelyingParty,
                token_id: 0,
            },
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
