//! The OpenID Connect provider's rules, after the デジタル認証アプリ's public documentation:
//! the authorisation code flow only, PKCE S256 required, `state` and `nonce` required (1–255
//! printable ASCII), scopes `openid` (required) `name` `address` `birthdate` `gender`, clients
//! authenticated at the token endpoint by `private_key_jwt` (RFC 7523), ID tokens signed ES256
//! with a rotating key, errors as `error` and `error_description` only.
//!
//! Pure functions: parsing and checking requests, PKCE, JWS signing and verification, the
//! pairwise subject. Storage and the pages are elsewhere.

use std::collections::BTreeSet;

use aws_lc_rs::signature::{self, KeyPair};
use base64::Engine;
use openmyna_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The realm's path under the public URL, as the デジタル認証アプリ names it.
pub const REALM_PATH: &str = "/api/realms/main";
/// How long an authorisation code may be redeemed.
pub const CODE_SECONDS: i64 = 60;
/// How long an access token (for userinfo) and an ID token are valid.
pub const TOKEN_SECONDS: i64 = 300;
/// How long an authorisation request waits for the login and the consent.
pub const REQUEST_SECONDS: i64 = 600;
/// The ID-token signing key is replaced after this many days; the previous one stays in the
/// JWKS one more day.
pub const KEY_ROTATION_DAYS: i64 = 30;

/// An OAuth/OIDC error: the code and the description, as the protocol carries them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OidcError {
    pub error: &'static str,
    pub description: String,
}

impl OidcError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        OidcError {
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }

    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new("invalid_client", d)
    }
}

/// The scopes offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    Openid,
    Name,
    Address,
    Birthdate,
    Gender,
    /// A signing transaction: the holder signs a digest with the card's signing key.
    Sign,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::Openid,
        Scope::Name,
        Scope::Address,
        Scope::Birthdate,
        Scope::Gender,
        Scope::Sign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Openid => "openid",
            Scope::Name => "name",
            Scope::Address => "address",
            Scope::Birthdate => "birthdate",
            Scope::Gender => "gender",
            Scope::Sign => "sign",
        }
    }

    /// What the holder is asked to share, in Japanese (the consent page).
    pub fn label_ja(self) -> &'static str {
        match self {
            Scope::Openid => "利用者の識別子（事業者ごとに異なる値）",
            Scope::Name => "氏名",
            Scope::Address => "住所",
            Scope::Birthdate => "生年月日",
            Scope::Gender => "性別",
            Scope::Sign => "電子署名（署名用電子証明書による署名と、その証明書）",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// A space-separated scope: `openid` required, every value known, none twice.
    pub fn parse_list(s: &str) -> Result<BTreeSet<Scope>, OidcError> {
        let mut out = BTreeSet::new();
        for word in s.split(' ').filter(|w| !w.is_empty()) {
            let scope = Scope::parse(word).ok_or_else(|| {
                OidcError::new("invalid_scope", format!("unknown scope {word:?}"))
            })?;
            if !out.insert(scope) {
                return Err(OidcError::new(
                    "invalid_scope",
                    format!("scope {word:?} appears twice"),
                ));
            }
        }
        if !out.contains(&Scope::Openid) {
            return Err(OidcError::new(
                "invalid_scope",
                "the openid scope is required",
            ));
        }
        Ok(out)
    }

    pub fn join(set: &BTreeSet<Scope>) -> String {
        set.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// The parameters of an authorisation request, as received.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub acr_values: Option<String>,
    /// With the `sign` scope: the signing transaction the relying party created.
    pub sign_transaction_id: Option<String>,
}

/// A checked authorisation request, waiting for the holder's login and consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: BTreeSet<Scope>,
    pub state: String,
    pub nonce: String,
    pub code_challenge: String,
    pub acr: String,
    pub expires_at: Timestamp,
    /// With the `sign` scope.
    #[serde(default)]
    pub sign_transaction_id: Option<String>,
}

/// `client_id`: 1–255 of [0-9a-zA-Z] (the デジタル認証アプリ's rule).
pub fn valid_client_id(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn printable(name: &str, v: Option<&str>) -> Result<String, OidcError> {
    let v = v.ok_or_else(|| OidcError::invalid_request(format!("{name} is required")))?;
    if !(1..=255).contains(&v.len()) || !v.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(OidcError::invalid_request(format!(
            "{name} must be 1 to 255 printable ASCII characters"
        )));
    }
    Ok(v.to_owned())
}

/// A PKCE code challenge or verifier: 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4).
fn pkce_text(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The second half of the request's check, once the client and its redirect URI are known to
/// be good (errors from here on go back to the redirect URI).
pub fn check_request(
    p: &AuthParams,
    client_id: &str,
    redirect_uri: &str,
    now: &Timestamp,
) -> Result<AuthRequest, OidcError> {
    match p.response_type.as_deref() {
        Some("code") => {}
        Some(_) => {
            return Err(OidcError::new(
                "unsupported_response_type",
                "only the authorization code flow (response_type=code) is offered",
            ));
        }
        None => return Err(OidcError::invalid_request("response_type is required")),
    }
    let scopes = Scope::parse_list(p.scope.as_deref().unwrap_or(""))?;
    let state = printable("state", p.state.as_deref())?;
    let nonce = printable("nonce", p.nonce.as_deref())?;
    match p.code_challenge_method.as_deref() {
        Some("S256") => {}
        Some(_) => {
            return Err(OidcError::invalid_request(
                "code_challenge_method must be S256",
            ));
        }
        None => {
            return Err(OidcError::invalid_request(
                "PKCE is required: code_challenge and code_challenge_method=S256",
            ));
        }
    }
    let code_challenge = p
        .code_challenge
        .clone()
        .filter(|c| pkce_text(c))
        .ok_or_else(|| {
            OidcError::invalid_request("code_challenge must be 43 to 128 characters (RFC 7636)")
        })?;
    let acr = match p.acr_values.as_deref().map(str::trim) {
        None | Some("") => "aal3".to_owned(),
        Some(v) => {
            for word in v.split(' ').filter(|w| !w.is_empty()) {
                if !matches!(word, "aal3" | "crl" | "ocsp") {
                    return Err(OidcError::invalid_request(format!(
                        "acr_values: {word:?} is not offered (aal3, with crl or ocsp)"
                    )));
                }
            }
            v.to_owned()
        }
    };
    let sign_transaction_id = match (scopes.contains(&Scope::Sign), &p.sign_transaction_id) {
        (true, Some(id)) if valid_uuid(id) => Some(id.to_ascii_lowercase()),
        (true, _) => {
            return Err(OidcError::invalid_request(
                "the sign scope needs sign_transaction_id (a UUID from POST /api/sign-transactions)",
            ));
        }
        (false, Some(_)) => {
            return Err(OidcError::invalid_request(
                "sign_transaction_id goes with the sign scope",
            ));
        }
        (false, None) => None,
    };
    Ok(AuthRequest {
        sign_transaction_id,
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state,
        nonce,
        code_challenge,
        acr,
        expires_at: *now + chrono::Duration::seconds(REQUEST_SECONDS),
    })
}

/// A UUID in its text form (8-4-4-4-12 hex digits).
pub fn valid_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A random UUID (version 4) from 16 random bytes.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or(""),
        h.get(8..12).unwrap_or(""),
        h.get(12..16).unwrap_or(""),
        h.get(16..20).unwrap_or(""),
        h.get(20..32).unwrap_or("")
    )
}

/// Whether `verifier` is the one `challenge` was made from (S256).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    pkce_text(verifier) && b64url(&openmyna_jpki::key::sha256(verifier.as_bytes())) == challenge
}

pub fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn unb64url(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

/// A redirect URI a client may register: absolute, no fragment; `https`, or `http` on a
/// loopback host (for development, as RFC 8252 §7.3 allows).
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    let ok_scheme = uri.starts_with("https://")
        || loopback.iter().any(|p| {
            uri.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if !ok_scheme {
        return Err(format!(
            "{uri:?}: a redirect URI must be https, or http on 127.0.0.1, localhost or [::1]"
        ));
    }
    if uri.contains('#') || uri.len() > 2000 || uri.chars().any(|c| c.is_whitespace()) {
        return Err(format!(
            "{uri:?}: no fragment, no spaces, at most 2000 characters"
        ));
    }
    Ok(())
}

/// A client's public key as a JWK: EC P-256 (`ES256`) or RSA of 2048 bits or more (`RS256`).
/// Returns the algorithm it signs with.
pub fn check_client_jwk(jwk: &Value) -> Result<&'static str, String> {
    match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => {
            if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err("an EC key must be on P-256 (ES256)".into());
            }
            ec_point(jwk).ok_or("x and y must be 32-byte base64url coordinates")?;
            Ok("ES256")
        }
        Some("RSA") => {
            let n = jwk
                .get("n")
                .and_then(Value::as_str)
                .and_then(unb64url)
                .ok_or("n must be base64url")?;
            jwk.get("e")
                .and_then(Value::as_str)
                .and_then(unb64url)
                .ok_or("e must be base64url")?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < 2048 {
                return Err("an RSA key must have 2048 bits or more".into());
            }
            Ok("RS256")
        }
        _ => Err("kty must be EC (P-256) or RSA".into()),
    }
}

fn ec_point(jwk: &Value) -> Option<Vec<u8>> {
    let x = jwk.get("x").and_then(Value::as_str).and_then(unb64url)?;
    let y = jwk.get("y").and_then(Value::as_str).and_then(unb64url)?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let mut p = vec![4u8];
    p.extend_from_slice(&x);
    p.extend_from_slice(&y);
    Some(p)
}

/// Verifies a compact JWS with a client's JWK; returns the claims.
pub fn verify_jws(jws: &str, jwk: &Value) -> Result<Value, OidcError> {
    let bad = |m: &str| OidcError::invalid_client(format!("client_assertion: {m}"));
    let mut parts = jws.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a compact JWS"));
    };
    let header: Value = unb64url(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("the header is not base64url JSON"))?;
    let sig = unb64url(s).ok_or_else(|| bad("the signature is not base64url"))?;
    let signed = format!("{h}.{c}");
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let expected = check_client_jwk(jwk).map_err(|e| bad(&e))?;
    if alg != expected {
        return Err(bad(&format!(
            "alg {alg:?} does not match the registered key ({expected})"
        )));
    }
    let ok = match alg {
        "ES256" => ec_point(jwk).is_some_and(|p| {
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, p)
                .verify(signed.as_bytes(), &sig)
                .is_ok()
        }),
        "RS256" => {
            let n = jwk.get("n").and_then(Value::as_str).and_then(unb64url);
            let e = jwk.get("e").and_then(Value::as_str).and_then(unb64url);
            match (n, e) {
                (Some(n), Some(e)) => signature::RsaPublicKeyComponents { n, e }
                    .verify(
                        &signature::RSA_PKCS1_2048_8192_SHA256,
                        signed.as_bytes(),
                        &sig,
                    )
                    .is_ok(),
                _ => false,
            }
        }
        _ => false,
    };
    if !ok {
        return Err(bad("the signature does not verify with the registered key"));
    }
    unb64url(c)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("the claims are not base64url JSON"))
}

/// Checks a `private_key_jwt` client assertion's claims (RFC 7523 §3): `iss` and `sub` the
/// client, `aud` the token endpoint (or the issuer), not expired, a `jti`. Returns the `jti`
/// and when the assertion expires (the `jti` is remembered until then).
pub fn check_assertion_claims(
    claims: &Value,
    client_id: &str,
    audiences: &[&str],
    now: &Timestamp,
) -> Result<(String, Timestamp), OidcError> {
    let bad = |m: &str| OidcError::invalid_client(format!("client_assertion: {m}"));
    let s = |k: &str| claims.get(k).and_then(Value::as_str);
    if s("iss") != Some(client_id) || s("sub") != Some(client_id) {
        return Err(bad("iss and sub must be the client_id"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audiences.contains(&a.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .any(|a| a.as_str().is_some_and(|a| audiences.contains(&a))),
        _ => false,
    };
    if !aud_ok {
        return Err(bad("aud must be the token endpoint"));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("exp is required"))?;
    let exp_at = chrono::DateTime::from_timestamp(exp, 0)
        .map(|t| t.fixed_offset())
        .ok_or_else(|| bad("exp is not a time"))?;
    if exp_at <= *now {
        return Err(bad("the assertion has expired"));
    }
    // An hour is what client libraries give by default; five minutes of clock skew on top.
    if exp_at > *now + chrono::Duration::minutes(65) {
        return Err(bad("exp is more than an hour ahead"));
    }
    let jti = s("jti")
        .filter(|j| !j.is_empty() && j.len() <= 255)
        .ok_or_else(|| bad("jti is required"))?;
    Ok((jti.to_owned(), exp_at))
}

/// An ID-token signing key (ES256).
pub struct SigningKey {
    pub kid: String,
    pair: signature::EcdsaKeyPair,
}

impl SigningKey {
    /// A new key (PKCS#8 DER to store) with its key id.
    pub fn generate() -> Result<(Vec<u8>, SigningKey), OidcError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .map_err(|_| OidcError::new("server_error", "key generation failed"))?;
        let der = pkcs8.as_ref().to_vec();
        let key = SigningKey::from_pkcs8(&der)?;
        Ok((der, key))
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, OidcError> {
        let pair =
            signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map_err(|_| OidcError::new("server_error", "a stored key does not load"))?;
        // The key id: the JWK thumbprint (RFC 7638) of the public key.
        let jwk = public_jwk_of(pair.public_key().as_ref(), "");
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk.get("x").and_then(Value::as_str).unwrap_or(""),
            jwk.get("y").and_then(Value::as_str).unwrap_or("")
        );
        let kid = b64url(&openmyna_jpki::key::sha256(canonical.as_bytes()));
        Ok(SigningKey { kid, pair })
    }

    /// The public key as a JWK for the JWKS.
    pub fn public_jwk(&self) -> Value {
        public_jwk_of(self.pair.public_key().as_ref(), &self.kid)
    }

    /// A compact JWS (ES256) of `claims`.
    pub fn sign(&self, claims: &Value) -> Result<String, OidcError> {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let signed = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let sig = self
            .pair
            .sign(&rng, signed.as_bytes())
            .map_err(|_| OidcError::new("server_error", "signing failed"))?;
        Ok(format!("{signed}.{}", b64url(sig.as_ref())))
    }
}

fn public_jwk_of(point: &[u8], kid: &str) -> Value {
    let (x, y) = point
        .get(1..33)
        .zip(point.get(33..65))
        .unwrap_or((&[], &[]));
    json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
           "x": b64url(x), "y": b64url(y)})
}

/// The pairwise subject (OIDC Core §8.1): the same person gets a different `sub` at each
/// client, stable across logins; derived with the installation's key.
pub fn pairwise_subject(key: &[u8; 32], client_id: &str, resident_id: i64) -> String {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let tag = aws_lc_rs::hmac::sign(
        &k,
        format!("openmyna.oidc.sub/1\0{client_id}\0{resident_id}").as_bytes(),
    );
    b64url(tag.as_ref())
}

/// The discovery document (OpenID Connect Discovery 1.0) for `issuer`.
pub fn discovery(issuer: &str) -> Value {
    let ep = |p: &str| format!("{issuer}/protocol/openid-connect/{p}");
    json!({
        "issuer": issuer,
        "authorization_endpoint": ep("auth"),
        "token_endpoint": ep("token"),
        "userinfo_endpoint": ep("userinfo"),
        "jwks_uri": ep("certs"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "claims_supported": ["sub", "name", "address", "birthdate", "gender", "iss", "aud",
                             "exp", "iat", "auth_time", "nonce", "acr", "amr"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256"],
        "acr_values_supported": ["aal3"],
        "request_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00+09:00").unwrap()
    }

    fn params() -> AuthParams {
        AuthParams {
            response_type: Some("code".into()),
            client_id: Some("bank1".into()),
            redirect_uri: Some("https://bank.example/cb".into()),
            scope: Some("openid name address".into()),
            state: Some("s1".into()),
            nonce: Some("n1".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            code_challenge_method: Some("S256".into()),
            acr_values: None,
            sign_transaction_id: None,
        }
    }

    #[test]
    fn requests_are_checked_in_the_documented_way() {
        let ok = check_request(&params(), "bank1", "https://bank.example/cb", &now()).unwrap();
        assert_eq!(Scope::join(&ok.scopes), "openid name address");
        let err = |p: AuthParams| check_request(&p, "bank1", "x", &now()).unwrap_err().error;
        assert_eq!(
            err(AuthParams {
                response_type: Some("token".into()),
                ..params()
            }),
            "unsupported_response_type"
        );
        assert_eq!(
            err(AuthParams {
                scope: Some("name".into()),
                ..params()
            }),
            "invalid_scope"
        );
        assert_eq!(
            err(AuthParams {
                state: None,
                ..params()
            }),
            "invalid_request"
        );
        assert_eq!(
            err(AuthParams {
                nonce: Some("\u{7f}".into()),
                ..params()
            }),
            "invalid_request"
        );
        assert_eq!(
            err(AuthParams {
                code_challenge_method: Some("plain".into()),
                ..params()
            }),
            "invalid_request"
        );
        assert_eq!(
            err(AuthParams {
                code_challenge: None,
                ..params()
            }),
            "invalid_request"
        );
    }

    /// S256: base64url(SHA-256(verifier)), as Python's hashlib computes it.
    #[test]
    fn pkce_s256() {
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mJ92o4tnoW3oV-LiLVsb81TWq6xqBc",
            "CeedcfHPjVhbS-5b9G8V_FhlkrBgEZ0zxPIRteMzG3w"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mJ92o4tnoW3oV-LiLVsb81TWq6xqBd",
            "CeedcfHPjVhbS-5b9G8V_FhlkrBgEZ0zxPIRteMzG3w"
        ));
        assert!(!pkce_matches(
            "short",
            "CeedcfHPjVhbS-5b9G8V_FhlkrBgEZ0zxPIRteMzG3w"
        ));
    }

    #[test]
    fn redirect_uris() {
        assert!(check_redirect_uri("https://bank.example/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:8000/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1.evil.example/cb").is_err());
        assert!(check_redirect_uri("http://bank.example/cb").is_err());
        assert!(check_redirect_uri("https://bank.example/cb#x").is_err());
    }

    #[test]
    fn signed_tokens_verify_with_the_published_key_and_assertions_are_checked() {
        let (_, key) = SigningKey::generate().unwrap();
        let jwk = key.public_jwk();
        let t = key
            .sign(
                &json!({"iss": "bank1", "sub": "bank1", "aud": "https://op/token",
                           "exp": now().timestamp() + 60, "jti": "j1"}),
            )
            .unwrap();
        let claims = verify_jws(&t, &jwk).unwrap();
        let (jti, _) =
            check_assertion_claims(&claims, "bank1", &["https://op/token"], &now()).unwrap();
        assert_eq!(jti, "j1");
        assert!(check_assertion_claims(&claims, "bank2", &["https://op/token"], &now()).is_err());
        assert!(check_assertion_claims(&claims, "bank1", &["https://other"], &now()).is_err());
        let later = now() + chrono::Duration::seconds(61);
        assert!(check_assertion_claims(&claims, "bank1", &["https://op/token"], &later).is_err());
        // Another key's signature, or a changed payload, does not verify.
        let (_, other) = SigningKey::generate().unwrap();
        assert!(verify_jws(&t, &other.public_jwk()).is_err());
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = b64url(br#"{"iss":"bank1"}"#);
        parts[1] = &forged;
        assert!(verify_jws(&parts.join("."), &jwk).is_err());
        assert_eq!(check_client_jwk(&jwk).unwrap(), "ES256");
    }

    #[test]
    fn the_sign_scope_needs_its_transaction() {
        let p = AuthParams {
            scope: Some("openid sign".into()),
            ..params()
        };
        assert_eq!(
            check_request(&p, "bank1", "x", &now()).unwrap_err().error,
            "invalid_request"
        );
        let id = uuid_v4([7; 16]);
        assert!(valid_uuid(&id), "{id}");
        let ok = check_request(
            &AuthParams {
                sign_transaction_id: Some(id.clone()),
                ..p
            },
            "bank1",
            "x",
            &now(),
        )
        .unwrap();
        assert_eq!(ok.sign_transaction_id, Some(id.clone()));
        let stray = AuthParams {
            sign_transaction_id: Some(id),
            ..params()
        };
        assert!(check_request(&stray, "bank1", "x", &now()).is_err());
    }

    #[test]
    fn pairwise_subjects_differ_by_client() {
        let k = [7u8; 32];
        assert_eq!(pairwise_subject(&k, "a", 1), pairwise_subject(&k, "a", 1));
        assert_ne!(pairwise_subject(&k, "a", 1), pairwise_subject(&k, "b", 1));
        assert_ne!(pairwise_subject(&k, "a", 1), pairwise_subject(&k, "a", 2));
    }
}
