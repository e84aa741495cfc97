//! The OpenID Connect provider with a real client library (Python Authlib, with joserfc checking
//! the ID token against the JWKS) on both backends: the code flow with PKCE and
//! private_key_jwt, the holder logged in with the card and consenting item by item, userinfo
//! with only what was granted, and what must be refused — a replayed code (and the token it
//! gave revoked), a wrong PKCE verifier, an unregistered redirect URI, a denied consent. The
//! test plays the holder's browser; `tests/oidc_client.py` plays the relying party.
//!
//! The client needs Python with `authlib` (CI installs it into its venv and sets
//! `OPENMYNA_TEST_PYTHON` and `OPENMYNA_TEST_REQUIRE_OIDC_CLIENT=1`); without it the test says
//! so and passes, unless required.

use std::path::Path;
use std::process::Command;

use crate::common::{Backend, TestApp, spawn_app_at};
use openmyna_core::Role;
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

pub(crate) fn python() -> Option<String> {
    let py = std::env::var("OPENMYNA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import authlib, joserfc, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(
        std::env::var("OPENMYNA_TEST_REQUIRE_OIDC_CLIENT").as_deref() != Ok("1"),
        "OPENMYNA_TEST_REQUIRE_OIDC_CLIENT=1 but {py} has no authlib/joserfc/requests"
    );
    eprintln!("oidc: SKIPPED (no Python with authlib; set OPENMYNA_TEST_PYTHON)");
    None
}

pub(crate) fn client(py: &str, dir: &Path, args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc_client.py");
    let o = Command::new(py)
        .arg(script)
        .args(args)
        .env("AUTHLIB_INSECURE_TRANSPORT", "1")
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "oidc_client.py {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap().trim().to_owned()
}

/// The relying party registers its client with the public key of its private_key_jwt (made
/// by the client script); returns the client_id.
pub(crate) async fn register(app: &TestApp, py: &str, d: &Path, redirect: &str) -> String {
    let jwk: Value =
        serde_json::from_str(&client(py, d, &["keygen", d.to_str().unwrap()])).unwrap();
    let (s, c) = app
        .post(
            "/api/v1/oidc/clients",
            Some(Role::RelyingParty),
            &json!({"name": "テスト銀行 口座開設", "redirect_uris": [redirect], "jwk": jwk}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    c["client_id"].as_str().unwrap().to_owned()
}

/// A card holder logged in to the portal (on the real clock: client libraries check the ID
/// token's exp against it).
struct Holder {
    app: TestApp,
    dir: tempfile::TempDir,
    resident: i64,
    card: std::path::PathBuf,
    /// The portal's session cookie.
    cookie: String,
}

async fn holder_at(backend: Backend) -> Holder {
    let app = spawn_app_at(backend, crate::common::real_now()).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = app.register_resident(true).await;
    let card = dir.path().join("card.json");
    app.issue_card(resident, &card, Some("ABC123"))
        .await
        .unwrap();
    let (cookie, _) = crate::portal::login(&app, &card, "1234").await.unwrap();
    Holder {
        app,
        dir,
        resident,
        card,
        cookie,
    }
}

/// A client without redirects, as the browser part is followed step by step.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The meta refresh target of the authorisation endpoint's page.
fn next_of(html: &str) -> String {
    let at = html.find("url=").expect("a meta refresh") + 4;
    let rest = &html[at..];
    rest[..rest.find('"').unwrap()].replace("&amp;", "&")
}

/// The holder's browser: from the authorisation URL to the client's redirect URI, consenting
/// to `grant` (or denying when empty and `approve` is false). Returns the final Location.
async fn holder(
    app: &TestApp,
    cookie: &str,
    auth_url: &str,
    grant: &[&str],
    approve: bool,
) -> String {
    let b = browser();
    let r = b.get(auth_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let consent = next_of(&r.text().await.unwrap());
    assert!(
        consent.starts_with("/portal/oidc/consent?req="),
        "{consent}"
    );
    // Without a session the consent page is the portal's login.
    let r = b.get(format!("{}{consent}", app.url)).send().await.unwrap();
    let set = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        set.unwrap_or_default().starts_with("omn_return="),
        "the login returns here"
    );
    assert!(r.text().await.unwrap().contains("ログイン"));
    // Logged in with the card: the items asked for.
    let r = b
        .get(format!("{}{consent}", app.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("テスト銀行 口座開設"), "{page}");
    for item in ["氏名", "住所", "生年月日", "性別"] {
        assert!(page.contains(item), "{item}: {page}");
    }
    let req = consent
        .trim_start_matches("/portal/oidc/consent?req=")
        .to_owned();
    let mut form: Vec<(String, String)> = vec![
        ("req".into(), req),
        (
            "decision".into(),
            if approve { "approve" } else { "deny" }.into(),
        ),
    ];
    for g in grant {
        form.push(((*g).into(), "on".into()));
    }
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", openmyna_services::oidc::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let r = b
        .post(format!("{}/portal/oidc/consent", app.url))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn the_code_flow_with_pkce_and_private_key_jwt(backend: Backend) {
    let Some(py) = python() else { return };
    let Holder {
        app,
        dir,
        resident,
        card: _,
        cookie,
    } = holder_at(backend).await;
    let d = dir.path();

    let client_id = register(&app, &py, d, REDIRECT).await;
    let issuer = format!("{}/api/realms/main", app.url);
    let scope = "openid name address birthdate gender";
    let authorize = |d: &Path| {
        client(
            &py,
            d,
            &[
                "authorize",
                d.to_str().unwrap(),
                &issuer,
                &client_id,
                REDIRECT,
                scope,
            ],
        )
    };

    // The flow: the holder grants name, address and birth date, not gender.
    let url = authorize(d);
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let callback = holder(&app, &cookie, &url, &["name", "address", "birthdate"], true).await;
    assert!(
        callback.starts_with(REDIRECT) && callback.contains("code="),
        "{callback}"
    );
    let out: Value =
        serde_json::from_str(&client(&py, d, &["finish", d.to_str().unwrap(), &callback])).unwrap();
    assert!(out.get("error").is_none(), "{out}");
    assert_eq!(out["id_token_header"]["alg"], "ES256");
    assert_eq!(out["id_token"]["iss"], json!(issuer));
    assert_eq!(out["id_token"]["aud"], json!(client_id));
    assert_eq!(out["id_token"]["acr"], "aal3");
    let info = &out["userinfo"];
    assert_eq!(info["sub"], out["id_token"]["sub"], "{out}");
    assert_eq!(info["name"], "山田\u{3000}太郎");
    assert_eq!(info["birthdate"], "1985-06-15");
    assert_eq!(
        info["address"]["formatted"],
        "東京都千代田区霞が関一丁目1番1号"
    );
    assert!(info.get("gender").is_none(), "not granted: {info}");
    assert_eq!(out["scope"], "openid name address birthdate");

    // The same holder at the same client: the same pairwise subject.
    let url = authorize(d);
    let callback2 = holder(&app, &cookie, &url, &[], true).await;
    let again: Value = serde_json::from_str(&client(
        &py,
        d,
        &["finish", d.to_str().unwrap(), &callback2],
    ))
    .unwrap();
    assert_eq!(again["id_token"]["sub"], out["id_token"]["sub"]);
    assert_eq!(
        again["userinfo"].as_object().unwrap().len(),
        1,
        "only sub: {again}"
    );

    // A replayed code is refused, and the token it gave is revoked.
    let replay: Value = serde_json::from_str(&client(
        &py,
        d,
        &["finish", d.to_str().unwrap(), &callback2],
    ))
    .unwrap();
    assert_eq!(replay["error"], "invalid_grant", "{replay}");
    let r = browser()
        .get(format!("{issuer}/protocol/openid-connect/userinfo"))
        .bearer_auth(again["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A wrong PKCE verifier.
    let url = authorize(d);
    let callback3 = holder(&app, &cookie, &url, &["name"], true).await;
    let wrong = "x".repeat(50);
    let bad: Value = serde_json::from_str(&client(
        &py,
        d,
        &[
            "finish",
            d.to_str().unwrap(),
            &callback3,
            "--verifier",
            &wrong,
        ],
    ))
    .unwrap();
    assert_eq!(bad["error"], "invalid_grant", "{bad}");

    // Denied: back to the client with access_denied and the state.
    let url = authorize(d);
    let denied = holder(&app, &cookie, &url, &[], false).await;
    assert!(
        denied.starts_with(REDIRECT) && denied.contains("error=access_denied"),
        "{denied}"
    );
    assert!(denied.contains("state="), "{denied}");

    // An unregistered redirect URI is shown, never followed; a request without PKCE goes back
    // with invalid_request.
    let evil = url.replace("127.0.0.1%3A9%2Fcallback", "127.0.0.1%3A9%2Fevil");
    assert_ne!(evil, url);
    let r = browser().get(&evil).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    let no_pkce = url
        .split('&')
        .filter(|p| !p.starts_with("code_challenge"))
        .collect::<Vec<_>>()
        .join("&");
    let r = browser().get(&no_pkce).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(
        loc.starts_with(REDIRECT) && loc.contains("error=invalid_request"),
        "{loc}"
    );

    // The holder's access log: each consent and the one disclosure of claims.
    let log = app.store.access().access_log(resident, 100).await.unwrap();
    let n = |cat: &str| log.iter().filter(|e| e.category == cat).count();
    assert_eq!(n("oidc.login"), 3, "{log:?}");
    assert_eq!(n("oidc.userinfo"), 2, "{log:?}");
    app.finish().await;
}

/// The discovery document names the endpoints; the ID-token key is replaced after 30 days and
/// the old one stays in the JWKS one more day.
async fn discovery_and_the_rotating_key(backend: Backend) {
    let app = crate::common::spawn_app(backend).await;
    let issuer = format!("{}/api/realms/main", app.url);
    let get = |path: String| {
        let c = app.client.clone();
        async move {
            let r = c.get(path).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let d = get(format!("{issuer}/.well-known/openid-configuration")).await;
    assert_eq!(d["issuer"], json!(issuer));
    assert_eq!(
        d["token_endpoint"],
        json!(format!("{issuer}/protocol/openid-connect/token"))
    );
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    let kids = |j: &Value| -> Vec<String> {
        j["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let certs = format!("{issuer}/protocol/openid-connect/certs");
    let first = kids(&get(certs.clone()).await);
    assert_eq!(first.len(), 1);
    assert_eq!(kids(&get(certs.clone()).await), first, "stable");
    app.clock.advance(chrono::Duration::days(31));
    let both = kids(&get(certs.clone()).await);
    assert_eq!(both.len(), 2, "{both:?}");
    assert_ne!(both[0], first[0], "the newest first");
    assert_eq!(both[1], first[0]);
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(kids(&get(certs).await), vec![both[0].clone()]);
    // A token request without a client assertion, and userinfo without a token.
    let r = browser()
        .post(format!("{issuer}/protocol/openid-connect/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=authorization_code&code=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let r = browser()
        .get(format!("{issuer}/protocol/openid-connect/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    app.finish().await;
}

/// The sign scope: the client creates a signing transaction with its own token, the holder
/// signs its digest with the card (`openmyna portal sign`) before consenting, the client reads
/// the signature and the certificate, and the verification platform verifies them.
async fn a_signature_through_the_sign_scope(backend: Backend) {
    let Some(py) = python() else { return };
    let Holder {
        app,
        dir,
        resident,
        card,
        cookie,
    } = holder_at(backend).await;
    let d = dir.path();
    let client_id = register(&app, &py, d, REDIRECT).await;
    let issuer = format!("{}/api/realms/main", app.url);
    let document = "普通預金口座開設申込書 ACCT-0009".as_bytes();
    let digest = openmyna_jpki::key::sha256(document);
    let b64 = |b: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let tx: Value = serde_json::from_str(&client(
        &py,
        d,
        &[
            "sign-transaction",
            d.to_str().unwrap(),
            &issuer,
            &client_id,
            &b64(&digest),
            "普通預金口座開設申込書",
        ],
    ))
    .unwrap();
    assert_eq!(tx["status"], 201, "{tx}");
    let id = tx["body"]["id"].as_str().unwrap().to_owned();
    let url = client(
        &py,
        d,
        &[
            "authorize",
            d.to_str().unwrap(),
            &issuer,
            &client_id,
            REDIRECT,
            "openid sign name",
            &id,
        ],
    );

    // The consent page asks for the signature first.
    let b = browser();
    let page = b.get(&url).send().await.unwrap().text().await.unwrap();
    let consent = format!("{}{}", app.url, next_of(&page));
    let page_of = |b: reqwest::Client, consent: String, cookie: String| async move {
        b.get(consent)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let page = page_of(b.clone(), consent.clone(), cookie.clone()).await;
    assert!(page.contains("普通預金口座開設申込書"), "{page}");
    assert!(page.contains(&format!("--transaction {id}")), "{page}");
    let req = consent.split("req=").nth(1).unwrap().to_owned();
    let approve = |b: reqwest::Client, req: String, cookie: String, url: String| async move {
        b.post(format!("{url}/portal/oidc/consent"))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "req={}&decision=approve&name=on",
                openmyna_services::oidc::urlencode(&req)
            ))
            .send()
            .await
            .unwrap()
    };
    let r = approve(b.clone(), req.clone(), cookie.clone(), app.url.clone()).await;
    assert_eq!(r.status(), 409, "not signed yet");
    let said = r.text().await.unwrap();
    assert!(
        said.contains("sign the document with your card first") && said.contains("id=\"back\""),
        "{said}"
    );

    // The holder signs with the card (PIN to log in, the signing password to sign).
    let target = openmyna::card_cli::Target {
        card: Some(card.clone()),
        reader: None,
    };
    let signed = openmyna::portal_cli::sign_transaction(&target, &app.url, "1234", "ABC123", &id)
        .await
        .unwrap();
    assert!(signed.signed);
    assert!(
        openmyna::portal_cli::sign_transaction(&target, &app.url, "1234", "ABC123", &id)
            .await
            .is_err(),
        "signed once"
    );
    let page = page_of(b.clone(), consent.clone(), cookie.clone()).await;
    assert!(page.contains("署名済み"), "{page}");
    let r = approve(b.clone(), req, cookie.clone(), app.url.clone()).await;
    assert_eq!(r.status(), 303);
    let callback = r.headers()["location"].to_str().unwrap().to_owned();
    let out: Value =
        serde_json::from_str(&client(&py, d, &["finish", d.to_str().unwrap(), &callback])).unwrap();
    assert!(out.get("error").is_none(), "{out}");
    assert_eq!(out["scope"], "openid name sign");
    let result = &out["sign_result"];
    assert_eq!(result["hash"], json!(b64(&digest)), "{out}");

    // The relying party has the signature checked by the verification platform.
    let (s, check) = app
        .post(
            "/api/v1/platform/verifications",
            Some(Role::RelyingParty),
            &json!({"purpose": "口座開設時の本人確認", "certificate": result["certificate"],
                    "signature": result["signature"], "data": b64(document)}),
        )
        .await;
    assert_eq!(s, 201, "{check}");
    assert_eq!(check["result"], "verified", "{check}");
    assert_eq!(check["basic4"]["name"], "山田\u{3000}太郎");

    // The sign scope without its transaction goes back with invalid_request.
    let without = url
        .split('&')
        .filter(|p| !p.starts_with("sign_transaction_id"))
        .collect::<Vec<_>>()
        .join("&");
    let r = browser().get(&without).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(loc.contains("error=invalid_request"), "{loc}");
    let log = app.store.access().access_log(resident, 100).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.category == "oidc.sign").count(), 1);
    app.finish().await;
}

/// The demo bank (`openmyna rp bank`) opens an account: its login request with a signing
/// transaction, the holder's card login, signature and consent, and at the bank the code, the
/// ID token, userinfo, the signature and the platform's check.
async fn the_demo_bank_opens_an_account(backend: Backend) {
    let Holder {
        app,
        dir,
        resident: _,
        card,
        cookie,
    } = holder_at(backend).await;
    let d = dir.path();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bank_url = format!("http://{}", listener.local_addr().unwrap());
    let state = d.join("bank.json");
    tokio::spawn(openmyna::bank::serve(
        listener,
        openmyna::bank::BankConfig {
            server: app.url.clone(),
            token: app.token(Role::RelyingParty).to_owned(),
            state: state.clone(),
            clock: std::sync::Arc::new(openmyna_core::SystemClock),
        },
    ));
    let b = browser();
    let mut r = None;
    for _ in 0..100 {
        match b.get(format!("{bank_url}/open")).send().await {
            Ok(resp) => {
                r = Some(resp);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let r = r.expect("the bank answers");
    assert_eq!(r.status(), 303);
    let auth = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(auth.contains("sign_transaction_id="), "{auth}");
    let page = b.get(&auth).send().await.unwrap().text().await.unwrap();
    let consent = format!("{}{}", app.url, next_of(&page));
    let page = b
        .get(&consent)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("デモ銀行 インターネット口座開設"), "{page}");
    let at = page.find("--transaction ").unwrap() + "--transaction ".len();
    let id = page[at..at + 36].to_owned();
    let target = openmyna::card_cli::Target {
        card: Some(card.clone()),
        reader: None,
    };
    openmyna::portal_cli::sign_transaction(&target, &app.url, "1234", "ABC123", &id)
        .await
        .unwrap();
    let req = consent.split("req=").nth(1).unwrap();
    let r = b
        .post(format!("{}/portal/oidc/consent", app.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "req={}&decision=approve&name=on&address=on&birthdate=on",
            openmyna_services::oidc::urlencode(req)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let callback = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        callback.starts_with(&format!("{bank_url}/callback")),
        "{callback}"
    );
    let page = b.get(&callback).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("口座を開設しました"), "{page}");
    assert!(page.contains("山田\u{3000}太郎"), "{page}");
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["accounts"].as_array().unwrap().len(), 1, "{saved}");
    let (s, checks) = app
        .get("/api/v1/platform/verifications", Some(Role::RelyingParty))
        .await;
    assert_eq!(s, 200);
    assert_eq!(checks[0]["result"], "verified", "{checks}");
    assert_eq!(checks[0]["id"], saved["accounts"][0]["check_id"]);
    // The same callback again: the bank refuses a login it did not start (state used).
    let page = b.get(&callback).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("口座を開設できませんでした"), "{page}");
    app.finish().await;
}

on_both_backends!(
    the_code_flow_with_pkce_and_private_key_jwt,
    discovery_and_the_rotating_key,
    a_signature_through_the_sign_scope,
    the_demo_bank_opens_an_account
);
