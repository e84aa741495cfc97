//! `openmyna rp bank`: a demo bank — a relying party with a web page, run beside the server as
//! a bank would run its own site. A customer opens an account with the card, the way the law
//! for non-face-to-face account opening (犯収法施行規則 6条1項1号 ワ) and the デジタル認証アプリ
//! have it:
//!
//! 1. the bank creates a signing transaction over its application form (its own token,
//!    `client_credentials`, scope `sign`) and sends the browser to the OpenID Connect
//!    authorisation endpoint (PKCE, state, nonce, `sign_transaction_id`);
//! 2. the customer logs in with the card, signs the form with the card's signing key
//!    (`openmyna portal sign`) and consents;
//! 3. back at the bank: the code is redeemed with a `private_key_jwt` assertion, the ID token
//!    checked against the JWKS (signature, iss, aud, nonce, exp), userinfo read, the signature
//!    and signing certificate fetched and checked by the verification platform, which keeps
//!    the 確認記録; the account is opened with the basic four information the certificate
//!    certifies.
//!
//! The bank keeps its client (id, ES256 key) and its accounts in a state file (mode 0600).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use openmyna_platform::oidc::{self, SigningKey, b64url};
use openmyna_services::oidc::urlencode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::AppError;

fn invalid(m: impl std::fmt::Display) -> AppError {
    AppError::Invalid(m.to_string())
}

/// A member of a JSON object (null when absent).
fn at<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.get(k).unwrap_or(&Value::Null)
}

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    at(v, k).as_str().unwrap_or("")
}

const SCOPE: &str = "openid name address birthdate sign";
const PURPOSE: &str = "普通預金口座の開設に伴う本人確認（犯収法施行規則6条1項1号ワ）";

/// Where the bank runs and whom it talks to.
#[derive(Clone)]
pub struct BankConfig {
    /// The openmyna server.
    pub server: String,
    /// The relying party's API token (the platform and client registration).
    pub token: String,
    /// The state file (client and accounts).
    pub state: PathBuf,
    /// The bank's clock (its assertions' and the ID token's times).
    pub clock: Arc<dyn openmyna_core::Clock>,
}

/// An account opened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub number: String,
    pub name: String,
    pub address: String,
    pub birth_date: String,
    /// The pairwise subject at the provider.
    pub sub: String,
    /// The signing certificate's serial (to follow with the 4-information service).
    pub sign_serial: String,
    /// The platform's check (確認記録).
    pub check_id: i64,
    pub opened_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StateFile {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    /// PKCS#8 (base64) of the client's ES256 key.
    key: Option<String>,
    #[serde(default)]
    accounts: Vec<Account>,
}

struct Pending {
    verifier: String,
    nonce: String,
    transaction: String,
    document: Vec<u8>,
    number: String,
}

struct Bank {
    cfg: BankConfig,
    http: reqwest::Client,
    client_id: String,
    redirect_uri: String,
    key: SigningKey,
    pending: Mutex<HashMap<String, Pending>>,
    file: Mutex<StateFile>,
}

fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::fill(&mut b[..]);
    b64url(&b)
}

impl Bank {
    fn issuer(&self) -> String {
        format!(
            "{}{}",
            self.cfg.server.trim_end_matches('/'),
            oidc::REALM_PATH
        )
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}/protocol/openid-connect/{name}", self.issuer())
    }

    /// A `private_key_jwt` client assertion for the token endpoint.
    fn assertion(&self) -> Result<String, AppError> {
        let now = self.cfg.clock.now().timestamp();
        self.key
            .sign(&json!({"iss": self.client_id, "sub": self.client_id,
                          "aud": self.endpoint("token"), "iat": now, "exp": now + 300,
                          "jti": random(16)}))
            .map_err(invalid)
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<Value, AppError> {
        let assertion = self.assertion()?;
        let mut body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        body.push(format!(
            "client_assertion_type={}",
            urlencode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        ));
        body.push(format!("client_assertion={assertion}"));
        let r = self
            .http
            .post(self.endpoint("token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .await
            .map_err(|e| invalid(format!("the token endpoint: {e}")))?;
        let ok = r.status().is_success();
        let v: Value = r.json().await.map_err(invalid)?;
        if !ok {
            return Err(invalid(format!(
                "the token endpoint refused: {} ({})",
                text(&v, "error_description"),
                text(&v, "error")
            )));
        }
        Ok(v)
    }

    async fn json(&self, rb: reqwest::RequestBuilder, what: &str) -> Result<Value, AppError> {
        let r = rb
            .send()
            .await
            .map_err(|e| invalid(format!("{what}: {e}")))?;
        let ok = r.status().is_success();
        let v: Value = r
            .json()
            .await
            .map_err(|e| invalid(format!("{what}: {e}")))?;
        if !ok {
            return Err(invalid(format!("{what} refused: {v}")));
        }
        Ok(v)
    }

    /// Step 1: the application form, its signing transaction, and the authorisation request.
    async fn start(&self) -> Result<String, AppError> {
        let number = format!("{:07}", rand::random::<u32>() % 10_000_000);
        let document = format!(
            "デモ銀行 普通預金口座開設申込書\n口座番号: {number}\n申込日時: {}\n\
             私は、上記の口座の開設を申し込み、取引時確認のため署名用電子証明書による電子署名を行います。\n",
            self.cfg.clock.now().to_rfc3339()
        )
        .into_bytes();
        let token = self
            .token(&[("grant_type", "client_credentials"), ("scope", "sign")])
            .await?;
        let access = text(&token, "access_token");
        let tx = self
            .json(
                self.http
                    .post(format!(
                        "{}/api/sign-transactions",
                        self.cfg.server.trim_end_matches('/')
                    ))
                    .bearer_auth(access)
                    .json(&json!({"hash_algorithm": "SHA-256",
                                  "hash": base64::engine::general_purpose::STANDARD
                                      .encode(openmyna_jpki::key::sha256(&document)),
                                  "description": format!("デモ銀行 普通預金口座開設申込書（口座番号 {number}）")})),
                "creating the signing transaction",
            )
            .await?;
        let transaction = at(&tx, "id")
            .as_str()
            .ok_or_else(|| invalid("no transaction id"))?
            .to_owned();
        let verifier = random(32);
        let challenge = b64url(&openmyna_jpki::key::sha256(verifier.as_bytes()));
        let state = random(16);
        let nonce = random(16);
        let url = format!(
            "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&state={state}&nonce={nonce}\
             &code_challenge={challenge}&code_challenge_method=S256&sign_transaction_id={transaction}",
            self.endpoint("auth"),
            self.client_id,
            urlencode(&self.redirect_uri),
            urlencode(SCOPE)
        );
        if let Ok(mut p) = self.pending.lock() {
            p.insert(
                state,
                Pending {
                    verifier,
                    nonce,
                    transaction,
                    document,
                    number,
                },
            );
        }
        Ok(url)
    }

    /// Step 3: the code, the ID token, userinfo, the signature, the platform's check.
    async fn finish(&self, code: &str, state: &str) -> Result<(Account, Value), AppError> {
        let p = self
            .pending
            .lock()
            .ok()
            .and_then(|mut m| m.remove(state))
            .ok_or_else(|| invalid("this login is not one the bank started (state)"))?;
        let token = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", &p.verifier),
            ])
            .await?;
        let id_token = text(&token, "id_token");
        let access = text(&token, "access_token").to_owned();
        // The ID token: signed by a key of the provider's JWKS, for us, with our nonce.
        let jwks = self
            .json(self.http.get(self.endpoint("certs")), "the JWKS")
            .await?;
        let header: Value = id_token
            .split('.')
            .next()
            .and_then(|h| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(h)
                    .ok()
            })
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let jwk = at(&jwks, "keys")
            .as_array()
            .and_then(|ks| ks.iter().find(|k| at(k, "kid") == at(&header, "kid")))
            .ok_or_else(|| invalid("the ID token's key is not in the JWKS"))?;
        let claims = oidc::verify_jws(id_token, jwk)
            .map_err(|e| invalid(format!("the ID token: {}", e.description)))?;
        if text(&claims, "iss") != self.issuer()
            || text(&claims, "aud") != self.client_id
            || text(&claims, "nonce") != p.nonce
            || at(&claims, "exp").as_i64().unwrap_or(0) < self.cfg.clock.now().timestamp() - 60
        {
            return Err(invalid(
                "the ID token is not for this login (iss, aud, nonce or exp)",
            ));
        }
        let info = self
            .json(
                self.http
                    .get(self.endpoint("userinfo"))
                    .bearer_auth(&access),
                "userinfo",
            )
            .await?;
        let signed = self
            .json(
                self.http
                    .get(format!(
                        "{}/api/sign-transactions/{}/result",
                        self.cfg.server.trim_end_matches('/'),
                        p.transaction
                    ))
                    .bearer_auth(&access),
                "the signature",
            )
            .await?;
        let check = self
            .json(
                self.http
                    .post(format!(
                        "{}/api/v1/platform/verifications",
                        self.cfg.server.trim_end_matches('/')
                    ))
                    .bearer_auth(&self.cfg.token)
                    .json(&json!({"purpose": PURPOSE, "certificate": at(&signed, "certificate"),
                                  "signature": at(&signed, "signature"),
                                  "data": base64::engine::general_purpose::STANDARD.encode(&p.document)})),
                "the verification platform",
            )
            .await?;
        if text(&check, "result") != "verified" {
            return Err(invalid(format!(
                "the verification platform refused the signature: {}",
                at(&check, "error").as_str().unwrap_or("?")
            )));
        }
        let b = at(&check, "basic4");
        let account = Account {
            number: p.number,
            name: text(b, "name").to_owned(),
            address: text(b, "address").to_owned(),
            birth_date: text(b, "birth_date").to_owned(),
            sub: text(&claims, "sub").to_owned(),
            sign_serial: at(at(&check, "certificate"), "serial")
                .as_str()
                .unwrap_or("")
                .to_owned(),
            check_id: at(&check, "id").as_i64().unwrap_or(0),
            opened_at: self.cfg.clock.now().to_rfc3339(),
        };
        if let Ok(mut f) = self.file.lock() {
            f.accounts.push(account.clone());
            save(&self.cfg.state, &f)?;
        }
        Ok((account, info))
    }
}

fn save(path: &std::path::Path, f: &StateFile) -> Result<(), AppError> {
    let bytes = serde_json::to_vec_pretty(f).map_err(invalid)?;
    std::fs::write(path, bytes)
        .map_err(|e| AppError::io(format!("writing {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

#[derive(Template, Default)]
#[template(path = "bank.html")]
struct BankPage {
    opened: Option<Account>,
    /// What userinfo gave (the names of the claims).
    claims: String,
    error: Option<String>,
    accounts: Vec<Account>,
}

fn page(p: &BankPage) -> Response {
    match p.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn index(State(b): State<Arc<Bank>>) -> Response {
    let accounts = b
        .file
        .lock()
        .map(|f| f.accounts.clone())
        .unwrap_or_default();
    page(&BankPage {
        accounts,
        ..Default::default()
    })
}

async fn open(State(b): State<Arc<Bank>>) -> Response {
    match b.start().await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => page(&BankPage {
            error: Some(e.to_string()),
            ..Default::default()
        }),
    }
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(State(b): State<Arc<Bank>>, Query(q): Query<Callback>) -> Response {
    let result = match (&q.code, &q.state, &q.error) {
        (Some(code), Some(state), None) => b.finish(code, state).await,
        _ => Err(invalid(format!(
            "the login did not complete: {} ({})",
            q.error_description.as_deref().unwrap_or(""),
            q.error.as_deref().unwrap_or("no code")
        ))),
    };
    let accounts = b
        .file
        .lock()
        .map(|f| f.accounts.clone())
        .unwrap_or_default();
    match result {
        Ok((account, info)) => page(&BankPage {
            opened: Some(account),
            claims: info
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            accounts,
            ..Default::default()
        }),
        Err(e) => page(&BankPage {
            error: Some(e.to_string()),
            accounts,
            ..Default::default()
        }),
    }
}

/// Registers the bank's client (a new ES256 key) unless the state file has one for this
/// redirect URI.
async fn client(
    cfg: &BankConfig,
    http: &reqwest::Client,
    redirect_uri: &str,
) -> Result<(String, SigningKey, StateFile), AppError> {
    let mut f: StateFile = match std::fs::read(&cfg.state) {
        Ok(b) => serde_json::from_slice(&b).map_err(invalid)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFile::default(),
        Err(e) => return Err(AppError::io(format!("reading {}", cfg.state.display()), e)),
    };
    if let (Some(id), Some(key), Some(uri)) = (&f.client_id, &f.key, &f.redirect_uri)
        && uri == redirect_uri
    {
        let der = base64::engine::general_purpose::STANDARD
            .decode(key)
            .map_err(invalid)?;
        return Ok((
            id.clone(),
            SigningKey::from_pkcs8(&der).map_err(invalid)?,
            f,
        ));
    }
    let (der, key) = SigningKey::generate().map_err(invalid)?;
    let mut jwk = key.public_jwk();
    if let Some(o) = jwk.as_object_mut() {
        o.remove("use");
    }
    let r = http
        .post(format!(
            "{}/api/v1/oidc/clients",
            cfg.server.trim_end_matches('/')
        ))
        .bearer_auth(&cfg.token)
        .json(&json!({"name": "デモ銀行 インターネット口座開設", "redirect_uris": [redirect_uri], "jwk": jwk}))
        .send()
        .await
        .map_err(|e| invalid(format!("registering the client: {e}")))?;
    let ok = r.status().is_success();
    let v: Value = r.json().await.map_err(invalid)?;
    if !ok {
        return Err(invalid(format!("registering the client was refused: {v}")));
    }
    let id = at(&v, "client_id")
        .as_str()
        .ok_or_else(|| invalid("no client_id"))?
        .to_owned();
    f.client_id = Some(id.clone());
    f.redirect_uri = Some(redirect_uri.to_owned());
    f.key = Some(base64::engine::general_purpose::STANDARD.encode(der));
    save(&cfg.state, &f)?;
    Ok((id, key, f))
}

/// Serves the bank on `listener` (its client registered first); returns when the server
/// stops.
pub async fn serve(listener: tokio::net::TcpListener, cfg: BankConfig) -> Result<(), AppError> {
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::io("reading the address", e))?;
    let redirect_uri = format!("http://{addr}/callback");
    let http = reqwest::Client::new();
    let (client_id, key, file) = client(&cfg, &http, &redirect_uri).await?;
    let bank = Arc::new(Bank {
        cfg,
        http,
        client_id,
        redirect_uri,
        key,
        pending: Mutex::new(HashMap::new()),
        file: Mutex::new(file),
    });
    let app = Router::new()
        .route("/", get(index))
        .route("/open", get(open))
        .route("/callback", get(callback))
        .with_state(bank);
    openmyna_http::listener::serve_router(
        listener,
        app,
        openmyna_http::listener::ConnectionLimits::default(),
        std::future::pending(),
    )
    .await
    .map_err(|e| AppError::io("serving the bank", e))
}

/// Binds `addr` (loopback: the redirect URI is http) and serves.
pub async fn run(addr: &str, cfg: BankConfig) -> Result<(), AppError> {
    let a: SocketAddr = addr.parse().map_err(|_| {
        invalid(format!(
            "--listen {addr:?} is not an address like 127.0.0.1:8092"
        ))
    })?;
    if !a.ip().is_loopback() {
        return Err(invalid(
            "the demo bank serves on a loopback address (its redirect URI is http)",
        ));
    }
    let listener = tokio::net::TcpListener::bind(a)
        .await
        .map_err(|e| AppError::io(format!("binding {addr}"), e))?;
    println!(
        "demo bank on http://{}",
        listener
            .local_addr()
            .map_err(|e| AppError::io("reading the address", e))?
    );
    serve(listener, cfg).await
}
