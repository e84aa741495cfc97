//! The citizen portal on both backends: login with a virtual card (a wrong PIN counts on the
//! card, a locked card and a suspended certificate cannot log in), the session cookie and its
//! end, 利用登録 from the portal, the public-money account rules, and the access log — every
//! disclosure made elsewhere listed, its hash chain checked, an altered entry detected, the
//! signed head verifiable.

use std::path::{Path, PathBuf};

use crate::common::{Backend, TestApp, spawn_app};
use base64::Engine;
use chrono::Duration;
use openmyna::terminal::card_proof;
use openmyna_card::pin::PinId;
use openmyna_cardio::{CardFile, JpkiClient, VirtualTransport};
use openmyna_core::{Clock, Role};
use serde_json::{Value, json};

fn card(path: &Path) -> JpkiClient<VirtualTransport> {
    JpkiClient::new(VirtualTransport::new(CardFile::open(path).unwrap()))
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A portal challenge: its id and bytes.
async fn challenge(app: &TestApp) -> (Value, Vec<u8>) {
    crate::common::fixtures::portal_challenge(&app.client, &app.url).await
}

/// Posts a login: Ok((cookie, Set-Cookie header)) or Err((HTTP status, error code)).
async fn post_login(
    app: &TestApp,
    id: Value,
    cert: &[u8],
    sig: &[u8],
) -> Result<(String, String), (u16, String)> {
    let resp = app
        .client
        .post(format!("{}/api/v1/portal/login", app.url))
        .json(&json!({"challenge_id": id, "certificate": b64(cert), "signature": b64(sig)}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let set = resp
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = resp.json().await.unwrap();
    if status != 200 {
        return Err((
            status,
            body["error"]["code"].as_str().unwrap_or("").to_owned(),
        ));
    }
    Ok((set.split(';').next().unwrap().to_owned(), set))
}

/// Logs in with the card: Ok((cookie, Set-Cookie)) or Err((HTTP status, error code)); the
/// card refusing (wrong PIN, locked) is Err((0, message)).
pub(crate) async fn login(
    app: &TestApp,
    path: &Path,
    pin: &str,
) -> Result<(String, String), (u16, String)> {
    let (id, bytes) = challenge(app).await;
    let p = card_proof(&mut card(path), pin, &bytes).map_err(|e| (0, e.to_string()))?;
    post_login(app, id, &p.certificate, &p.signature).await
}

async fn get(app: &TestApp, cookie: &str, path: &str) -> (u16, Value) {
    let resp = app
        .client
        .get(format!("{}{path}", app.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn send(app: &TestApp, cookie: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let rb = match method {
        "PUT" => app.client.put(format!("{}{path}", app.url)),
        _ => app.client.post(format!("{}{path}", app.url)),
    };
    let resp = rb.header("cookie", cookie).json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A resident with a card (authentication PIN 1234, signing password abc123) in a directory of
/// the test's own.
struct Holder {
    app: TestApp,
    dir: tempfile::TempDir,
    path: PathBuf,
    resident: i64,
}

async fn card_holder(backend: Backend) -> Holder {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = app.register_resident(true).await;
    let path = dir.path().join("card.json");
    app.issue_card(resident, &path, Some("abc123"))
        .await
        .unwrap();
    Holder {
        app,
        dir,
        path,
        resident,
    }
}

async fn a_card_logs_in_and_a_wrong_pin_counts_on_the_card(backend: Backend) {
    let Holder {
        app,
        dir: _dir,
        path,
        ..
    } = card_holder(backend).await;
    // A wrong PIN counts on the card and logs nobody in.
    let e = login(&app, &path, "9999").await.unwrap_err();
    assert_eq!(e.0, 0, "{e:?}");
    assert_eq!(card(&path).pin_tries(PinId::Auth).unwrap(), 2);
    let (cookie, set) = login(&app, &path, "1234").await.unwrap();
    assert_eq!(card(&path).pin_tries(PinId::Auth).unwrap(), 3);
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    let (s, me) = get(&app, &cookie, "/api/v1/portal/me").await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["name"], "山田\u{3000}太郎");
    assert!(me["my_number"].as_str().unwrap().starts_with("********"));
    let (s, r) = get(&app, "omn_session=nonsense", "/api/v1/portal/me").await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (401, Some("session.unknown"))
    );
    app.finish().await;
}

async fn the_holder_registers_for_insurance_from_the_portal(backend: Backend) {
    let Holder {
        app,
        dir: _dir,
        path,
        ..
    } = card_holder(backend).await;
    let (cookie, _) = login(&app, &path, "1234").await.unwrap();
    // 利用登録 from the portal.
    let (s, reg) = send(
        &app,
        &cookie,
        "POST",
        "/api/v1/portal/insurance/registration",
        &json!({}),
    )
    .await;
    assert_eq!((s, reg["channel"].as_str()), (200, Some("portal")), "{reg}");
    let (s, ins) = get(&app, &cookie, "/api/v1/portal/insurance").await;
    assert_eq!(
        (s, ins["registration"]["channel"].as_str()),
        (200, Some("portal"))
    );
    app.finish().await;
}

async fn a_public_money_account_is_checked_and_replaced_with_history(backend: Backend) {
    let Holder {
        app,
        dir: _dir,
        path,
        ..
    } = card_holder(backend).await;
    let (cookie, _) = login(&app, &path, "1234").await.unwrap();
    // The public-money account.
    let account = |holder: &str, bank: &str, branch: &str, number: &str| {
        json!({"bank_code": bank, "branch_code": branch, "account_type": "ordinary",
               "account_number": number, "holder_kana": holder})
    };
    let put = |body: Value| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            send(
                app,
                &cookie,
                "PUT",
                "/api/v1/portal/public-money-account",
                &body,
            )
            .await
        }
    };
    for (body, code) in [
        (
            account("サトウ ハナコ", "0001", "001", "1234567"),
            "holder_kana.mismatch",
        ),
        (
            account("ﾔﾏﾀﾞ ﾀﾛｳ", "001", "001", "1234567"),
            "bank_code.length",
        ),
        (
            account("ﾔﾏﾀﾞ ﾀﾛｳ", "0001", "0a1", "1234567"),
            "branch_code.digits",
        ),
        (
            account("ﾔﾏﾀﾞ ﾀﾛｳ", "0001", "001", "123456"),
            "account_number.length",
        ),
        // Codes the directory of financial institutions does not list.
        (
            account("ﾔﾏﾀﾞ ﾀﾛｳ", "0002", "001", "1234567"),
            "bank_code.unknown",
        ),
        (
            account("ﾔﾏﾀﾞ ﾀﾛｳ", "0001", "999", "1234567"),
            "branch_code.unknown",
        ),
    ] {
        let (s, r) = put(body).await;
        assert_eq!((s, r["error"]["code"].as_str()), (422, Some(code)), "{r}");
    }
    let (s, r) = get(&app, &cookie, "/api/v1/portal/public-money-account").await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (404, Some("account.not_registered"))
    );
    let (s, r) = put(account("ﾔﾏﾀﾞ ﾀﾛｳ", "0001", "001", "1234567")).await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = put(account("やまだ たろう", "0005", "123", "7654321")).await;
    assert_eq!(s, 200, "{r}");
    let (_, r) = get(&app, &cookie, "/api/v1/portal/public-money-account").await;
    assert_eq!(r["account"]["bank_code"], "0005");
    assert_eq!(
        (r["bank_name"].as_str(), r["branch_name"].as_str()),
        (Some("三菱ＵＦＪ"), Some("横浜中山"))
    );
    assert_eq!(r["account"]["account_number"], "7654321");
    let (_, h) = get(&app, &cookie, "/api/v1/portal/public-money-account/history").await;
    let actions: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["registered", "replaced"]);
    assert!(
        !h.to_string().contains("7654321"),
        "history shows the last digits only: {h}"
    );
    app.finish().await;
}

async fn the_access_log_lists_disclosures_and_detects_an_altered_entry(backend: Backend) {
    let Holder {
        app,
        dir: _dir,
        path,
        resident,
    } = card_holder(backend).await;
    let (cookie, _) = login(&app, &path, "1234").await.unwrap();
    // Disclosures made elsewhere are in the access log, chained, under a signed head.
    let (s, _) = app
        .get(
            &format!("/api/v1/registry/residents/{resident}"),
            Some(Role::Municipality),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .get(
            &format!("/api/v1/registry/residents/{resident}"),
            Some(Role::Operator),
        )
        .await;
    assert_eq!(s, 200);
    let (s, log) = get(&app, &cookie, "/api/v1/portal/access-log").await;
    assert_eq!(s, 200, "{log}");
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    assert_eq!(entries[0]["actor_role"], "operator");
    assert_eq!(entries[1]["actor_role"], "municipality");
    assert_eq!(log["chain"]["intact"], true);
    assert_eq!(log["head"]["seq"], 2);
    let spki = base64::engine::general_purpose::STANDARD
        .decode(log["head"]["public_key"].as_str().unwrap())
        .unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(log["head"]["signature"].as_str().unwrap())
        .unwrap();
    openmyna_jpki::key::verify(
        &spki,
        log["head"]["statement"].as_str().unwrap().as_bytes(),
        &sig,
    )
    .unwrap();
    // Someone with database access alters the first entry: the chain says so.
    sqlx::query(
        "UPDATE access_log SET detail = 'nothing to see' WHERE resident_id = $1 AND seq = 1",
    )
    .bind(resident)
    .execute(app.store.pool())
    .await
    .unwrap();
    let (_, log) = get(&app, &cookie, "/api/v1/portal/access-log").await;
    assert_eq!(log["chain"]["intact"], false);
    assert_eq!(log["chain"]["broken_at_seq"], 1);
    app.finish().await;
}

async fn logout_and_thirty_idle_minutes_end_the_session(backend: Backend) {
    let Holder {
        app,
        dir: _dir,
        path,
        ..
    } = card_holder(backend).await;
    let (cookie, _) = login(&app, &path, "1234").await.unwrap();
    // Logout ends the session; so do 30 idle minutes.
    let (s, _) = send(&app, &cookie, "POST", "/api/v1/portal/logout", &json!({})).await;
    assert_eq!(s, 204);
    let (s, r) = get(&app, &cookie, "/api/v1/portal/me").await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (401, Some("session.ended"))
    );
    let (cookie, _) = login(&app, &path, "1234").await.unwrap();
    app.clock.advance(Duration::minutes(31));
    let (s, _) = get(&app, &cookie, "/api/v1/portal/me").await;
    assert_eq!(s, 401);
    app.finish().await;
}

async fn a_suspended_certificate_or_a_locked_card_cannot_log_in(backend: Backend) {
    let Holder {
        app,
        dir: _dir,
        path,
        resident,
    } = card_holder(backend).await;
    // A suspended certificate cannot log in; a locked card cannot sign.
    let (_, certs) = app
        .get(
            &format!("/api/v1/jpki/residents/{resident}/certificates"),
            Some(Role::Municipality),
        )
        .await;
    let serial = certs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["root"] == "auth")
        .unwrap()["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = app
        .post(
            &format!("/api/v1/jpki/certificates/{serial}/hold"),
            Some(Role::Municipality),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        login(&app, &path, "1234").await.unwrap_err(),
        (409, "certificate.suspended".into())
    );
    let (s, _) = app
        .post(
            &format!("/api/v1/jpki/certificates/{serial}/release"),
            Some(Role::Municipality),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200);
    for _ in 0..3 {
        assert_eq!(login(&app, &path, "0000").await.unwrap_err().0, 0);
    }
    assert_eq!(card(&path).pin_tries(PinId::Auth).unwrap(), 0);
    assert_eq!(
        login(&app, &path, "1234").await.unwrap_err().0,
        0,
        "a locked card cannot log in"
    );
    app.finish().await;
}

/// The portal's login challenge is rate-limited per client address: a burst of
/// `server.public_rate_per_minute`, then 429 `rate.limited` with Retry-After until the bucket
/// refills (on the injected clock). The limit also holds for the browser pairing's start.
async fn public_challenges_are_rate_limited(backend: Backend) {
    let app = crate::common::spawn_app_configured(backend, crate::common::start_time(), |c| {
        c.server.public_rate_per_minute = 3
    })
    .await;
    let post = |path: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}{path}", app.url))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(
            post("/api/v1/portal/challenge").await.status().as_u16(),
            201
        );
    }
    let refused = post("/api/v1/portal/challenge").await;
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(refused.headers()["retry-after"], "20");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate.limited");
    // The pairing's start shares the client's bucket.
    assert_eq!(post("/portal/pair").await.status().as_u16(), 429);
    // 20 seconds later one more is admitted.
    app.clock.advance(Duration::seconds(20));
    assert_eq!(
        post("/api/v1/portal/challenge").await.status().as_u16(),
        201
    );
    assert_eq!(
        post("/api/v1/portal/challenge").await.status().as_u16(),
        429
    );
    app.finish().await;
}

on_both_backends!(
    public_challenges_are_rate_limited,
    a_card_logs_in_and_a_wrong_pin_counts_on_the_card,
    the_holder_registers_for_insurance_from_the_portal,
    a_public_money_account_is_checked_and_replaced_with_history,
    the_access_log_lists_disclosures_and_detects_an_altered_entry,
    logout_and_thirty_idle_minutes_end_the_session,
    a_suspended_certificate_or_a_locked_card_cannot_log_in
);

fn pem(der: &[u8]) -> String {
    let b = b64(der);
    let lines: Vec<&str> = b
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// What OpenSSL's OCSP client says of the phone's authentication certificate.
async fn ocsp(app: &TestApp, dir: &Path, cert_der: &[u8]) -> String {
    let root = app.get_bytes("/ca/auth.crt").await;
    std::fs::write(dir.join("auth-root.pem"), pem(&root)).unwrap();
    std::fs::write(dir.join("phone-auth.pem"), pem(cert_der)).unwrap();
    let url = format!("{}/ocsp/auth", app.url);
    let dir = dir.to_owned();
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new("openssl")
            .args(["ocsp", "-no_nonce", "-issuer"])
            .arg(dir.join("auth-root.pem"))
            .arg("-cert")
            .arg(dir.join("phone-auth.pem"))
            .args(["-url", &url, "-CAfile"])
            .arg(dir.join("auth-root.pem"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Logs the phone in: Ok(cookie) or Err((status, code)).
async fn phone_login(
    app: &TestApp,
    phone: &openmyna::phone::Phone,
) -> Result<String, (u16, String)> {
    let (id, bytes) = challenge(app).await;
    let sig = phone
        .sign_auth(openmyna::phone::Unlock::Biometric, &bytes)
        .unwrap();
    post_login(app, id, &phone.auth_certificate_der().unwrap(), &sig)
        .await
        .map(|(cookie, _)| cookie)
}

/// A holder logged in to the portal (`cookie`) with a phone certified there (`id`): a wrong
/// passcode does not unlock the phone; a request signed by another person's card, or whose
/// signature does not verify, is refused; the same request again once certified is refused.
struct Certified {
    app: TestApp,
    dir: tempfile::TempDir,
    cookie: String,
    phone: openmyna::phone::Phone,
    id: i64,
}

async fn certified_phone(backend: Backend) -> Certified {
    use openmyna::phone::{Phone, Unlock, sign_request};
    // OpenSSL judges OCSP thisUpdate by the real clock.
    let app = crate::common::spawn_app_at(backend, crate::common::real_now()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let resident = app.register_resident(true).await;
    let path = d.join("card.json");
    app.issue_card(resident, &path, Some("abc123"))
        .await
        .unwrap();
    let other = app.register_resident(true).await;
    let other_path = d.join("other.json");
    app.issue_card(other, &other_path, Some("abc123"))
        .await
        .unwrap();
    let (cookie, _) = login(&app, &path, "1234").await.unwrap();

    let mut phone = Phone::create("Pixel 9", "123456", true, &openmyna_core::OsEntropy).unwrap();
    assert!(phone.sign_auth(Unlock::Passcode("000000"), b"x").is_err());
    let request = phone.request().unwrap();
    // Signed by someone else's card: refused.
    let theirs =
        sign_request(&mut card(&other_path), "abc123", &request, &app.clock.now()).unwrap();
    let (s, r) = send(
        &app,
        &cookie,
        "POST",
        "/api/v1/portal/phones",
        &json!({"request": b64(&theirs)}),
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (403, Some("request.signer")),
        "{r}"
    );
    // A signature that does not verify: refused.
    let mut signed = sign_request(&mut card(&path), "abc123", &request, &app.clock.now()).unwrap();
    let mut broken = signed.clone();
    let n = broken.len();
    broken[n - 10] ^= 0x55;
    let (s, r) = send(
        &app,
        &cookie,
        "POST",
        "/api/v1/portal/phones",
        &json!({"request": b64(&broken)}),
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("request.signature")),
        "{r}"
    );
    // The holder's own signature: certified.
    let (s, r) = send(
        &app,
        &cookie,
        "POST",
        "/api/v1/portal/phones",
        &json!({"request": b64(&signed)}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["token_label"], "JPKIAPGPSETOKEN");
    phone.install(
        r["auth_certificate"].as_str().unwrap(),
        r["sign_certificate"].as_str().unwrap(),
    );
    phone.save(&d.join("phone.json")).unwrap();
    let phone = Phone::load(&d.join("phone.json")).unwrap();
    let id = r["phone"]["id"].as_i64().unwrap();
    // The same request again: the device has its certificates already.
    signed = sign_request(&mut card(&path), "abc123", &request, &app.clock.now()).unwrap();
    let (s, _) = send(
        &app,
        &cookie,
        "POST",
        "/api/v1/portal/phones",
        &json!({"request": b64(&signed)}),
    )
    .await;
    assert_eq!(s, 409);
    Certified {
        app,
        dir,
        cookie,
        phone,
        id,
    }
}

/// The 24-hour hotline suspends the phone on a reported loss, then lifts the suspension.
async fn suspend_and_release(c: &Certified) {
    let (app, d, phone, id) = (&c.app, c.dir.path(), &c.phone, c.id);
    let cert = phone.auth_certificate_der().unwrap();
    let (s, r) = app
        .post(
            &format!("/api/v1/hotline/phones/{id}/suspend"),
            Some(Role::Operator),
            &json!({"note": "紛失の連絡 (本人から電話)"}),
        )
        .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("suspended")), "{r}");
    assert_eq!(
        phone_login(app, phone).await.unwrap_err(),
        (409, "certificate.suspended".into())
    );
    let out = ocsp(app, d, &cert).await;
    assert!(
        out.contains(": revoked") && out.contains("certificateHold"),
        "{out}"
    );
    let (s, _) = app
        .post(
            &format!("/api/v1/hotline/phones/{id}/release"),
            Some(Role::Operator),
            &json!({"note": "発見"}),
        )
        .await;
    assert_eq!(s, 200);
    phone_login(app, phone).await.unwrap();
    let (s, r) = app
        .post(
            &format!("/api/v1/hotline/phones/{id}/suspend"),
            Some(Role::Municipality),
            &json!({"note": "x"}),
        )
        .await;
    assert_eq!((s, r["error"]["code"].as_str()), (403, Some("auth.role")));
}

async fn a_certified_phone_logs_in_and_ocsp_says_good(backend: Backend) {
    let Certified {
        app, dir, phone, ..
    } = certified_phone(backend).await;
    let d = dir.path();
    // The phone logs in; OCSP says good.
    let phone_cookie = phone_login(&app, &phone).await.unwrap();
    let (s, me) = get(&app, &phone_cookie, "/api/v1/portal/me").await;
    assert_eq!((s, me["name"].as_str()), (200, Some("山田\u{3000}太郎")));
    let cert = phone.auth_certificate_der().unwrap();
    let out = ocsp(&app, d, &cert).await;
    assert!(
        out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );
    // The verification platform tells a phone's certificate from a card's.
    let data = b"login at the bank";
    let sig = phone
        .sign_auth(openmyna::phone::Unlock::Biometric, data)
        .unwrap();
    let (s, check) = app
        .post(
            "/api/v1/platform/verifications",
            Some(Role::RelyingParty),
            &json!({"purpose": "ログイン", "certificate": b64(&cert), "signature": b64(&sig),
                    "data": b64(data), "expect": "authentication"}),
        )
        .await;
    assert_eq!(s, 201, "{check}");
    assert_eq!(check["result"], "verified", "{check}");
    assert_eq!(check["certificate"]["type"], "authentication");
    assert_eq!(check["certificate"]["device"], "smartphone");
    app.finish().await;
}

async fn the_hotline_suspends_a_lost_phone_and_lifts_the_suspension(backend: Backend) {
    let c = certified_phone(backend).await;
    suspend_and_release(&c).await;
    c.app.finish().await;
}

async fn the_holder_revokes_a_phone_with_a_reason_before_selling_it(backend: Backend) {
    let c = certified_phone(backend).await;
    suspend_and_release(&c).await;
    let Certified {
        app,
        dir,
        cookie,
        phone,
        id,
    } = c;
    let d = dir.path();
    let cert = phone.auth_certificate_der().unwrap();
    // The portal page offers a revoke button per phone; the form without a reason is
    // refused on the page and changes nothing.
    let page = app
        .client
        .get(format!("{}/portal", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("/portal/phones/{id}/revoke")),
        "{page}"
    );
    let resp = app
        .client
        .post(format!("{}/portal/phones/{id}/revoke", app.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("note=")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    assert!(resp.text().await.unwrap().contains("id=\"notice\""));
    let (_, list) = get(&app, &cookie, "/api/v1/portal/phones").await;
    assert_eq!(list[0]["status"], "active");

    // The holder revokes it before selling the phone: OCSP says revoked, no more logins.
    let (s, r) = send(
        &app,
        &cookie,
        "POST",
        &format!("/api/v1/portal/phones/{id}/revoke"),
        &json!({"note": "機種変更のため売却"}),
    )
    .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("revoked")), "{r}");
    let out = ocsp(&app, d, &cert).await;
    assert!(
        out.contains(": revoked") && out.contains("cessationOfOperation"),
        "{out}"
    );
    assert_eq!(
        phone_login(&app, &phone).await.unwrap_err(),
        (409, "certificate.revoked".into())
    );
    let (_, list) = get(&app, &cookie, "/api/v1/portal/phones").await;
    assert_eq!(list[0]["status"], "revoked");
    let events = app.store.portal().phone_events(id).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["issued", "suspended", "released", "revoked"]);
    assert!(events[1].actor.contains("24-hour hotline"));
    app.finish().await;
}

on_both_backends!(
    a_certified_phone_logs_in_and_ocsp_says_good,
    the_hotline_suspends_a_lost_phone_and_lifts_the_suspension,
    the_holder_revokes_a_phone_with_a_reason_before_selling_it
);

async fn medical_expense_notices(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = app.register_resident(true).await;
    let path = dir.path().join("card.json");
    app.issue_card(resident, &path, Some("abc123"))
        .await
        .unwrap();
    let my_number = card(&path).my_number("5678").unwrap();
    let (s, r) = app
        .post(
            "/api/v1/insurance/records",
            Some(Role::Insurer),
            &json!({"records": [{
                "my_number": my_number, "insurer_number": "01130012",
                "insurer_name": "全国健康保険協会 東京支部", "symbol": "12345", "number": "101",
                "branch": "00", "card_class": "01", "relationship": "1", "name": "山田 太郎",
                "name_kana": "ヤマダ タロウ", "birth_date": "1985-06-15", "sex": "1",
                "address": "東京都千代田区霞が関一丁目1番1号", "qualification_date": "2020-04-01",
                "co_payment_ratio": "030"}]}),
        )
        .await;
    assert_eq!((s, r["created"].as_u64()), (200, Some(1)), "{r}");
    let row = |date: &str, facility: &str, total: &str, paid: &str| {
        json!({"insurer_number": "01130012", "symbol": "12345", "number": "101", "branch": "00",
               "date": date, "facility_name": facility, "facility_kind": "medical",
               "days": "2", "total_cost_yen": total, "paid_yen": paid})
    };
    let (s, r) = app
        .post(
            "/api/v1/insurance/medical-records/expense",
            Some(Role::Insurer),
            &json!({"records": [
                row("2025-11", "霞が関クリニック", "10000", "3000"),
                row("2026-01", "霞が関クリニック", "12000", "3600"),
                row("2026-03", "A&B <病院>", "50000", "15000"),
                row("2026-03", "過大請求", "1000", "2000"),
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["created"].as_u64(), r["rejected"].as_u64()),
        (Some(3), Some(1)),
        "{r}"
    );
    assert_eq!(r["rows"][3]["error"]["code"], "paid_yen.range");
    let (cookie, _) = login(&app, &path, "1234").await.unwrap();

    let (s, j) = get(&app, &cookie, "/api/v1/portal/medical-expenses/2026").await;
    assert_eq!(s, 200, "{j}");
    assert_eq!(j["lines"].as_array().unwrap().len(), 2);
    assert_eq!(j["header"]["insurer_number"], "01130012");
    let resp = app
        .client
        .get(format!(
            "{}/api/v1/portal/medical-expenses/2026?format=xml",
            app.url
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let xml = resp.text().await.unwrap();
    // Well-formed: a strict parser reads it to the end; exactly this year's notices.
    let mut reader = quick_xml::Reader::from_str(&xml);
    reader.config_mut().check_end_names = true;
    let mut lines = Vec::new();
    let mut root = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e))
                if e.name().as_ref() == "医療費通知".as_bytes() =>
            {
                root += 1
            }
            Ok(quick_xml::events::Event::Empty(e)) if e.name().as_ref() == "明細".as_bytes() => {
                let month = e
                    .attributes()
                    .map(|a| a.unwrap())
                    .find(|a| a.key.as_ref() == "診療年月".as_bytes())
                    .unwrap();
                lines.push(String::from_utf8(month.value.to_vec()).unwrap());
            }
            Ok(_) => {}
            Err(e) => panic!(
                "not well-formed at {}: {e}\n{xml}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(root, 1);
    assert_eq!(lines, ["2026-01", "2026-03"]);
    assert!(xml.contains("医療機関等=\"A&amp;B &lt;病院&gt;\""), "{xml}");
    assert!(xml.contains("窓口負担相当額=\"18600\""), "{xml}");
    let resp = app
        .client
        .get(format!(
            "{}/api/v1/portal/medical-expenses/2025?format=csv",
            app.url
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csv = resp.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.lines().nth(1).unwrap().starts_with("2025-11,山田"),
        "{csv}"
    );
    app.finish().await;
}

on_both_backends!(medical_expense_notices);

/// `openmyna portal login` reads the card and prints a one-time link; the browser follows it
/// and sees the portal page; the link does not work twice.
async fn pages_and_handoff(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = app.register_resident(true).await;
    let path = dir.path().join("card.json");
    app.issue_card(resident, &path, Some("abc123"))
        .await
        .unwrap();
    let (s, _) = app
        .get(
            &format!("/api/v1/registry/residents/{resident}"),
            Some(Role::Municipality),
        )
        .await;
    assert_eq!(s, 200);

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser
        .get(format!("{}/portal", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("openmyna portal login --card")
    );

    let url = app.url.clone();
    let card_path = path.clone();
    let o = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_openmyna"))
            .args(["portal", "login", "--card"])
            .arg(&card_path)
            .args(["--url", &url, "--pin", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"1234\n").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let link = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(
        link.starts_with(&format!("{}/portal/handoff/", app.url)),
        "{link}"
    );

    let r = browser.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/portal");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let html = browser
        .get(format!("{}/portal", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("山田　太郎"), "{html}");
    assert!(html.contains("記録は改ざんされていません"), "{html}");
    // The access log in plain Japanese: who (the role in words), what, when to the minute.
    assert!(
        html.contains("市区町村") && html.contains("住民票の基本4情報"),
        "the registry read is listed: {html}"
    );
    assert!(
        !html.contains("registry.basic4"),
        "no internal category names"
    );
    assert!(
        !html.contains("+09:00"),
        "times read as dates, not RFC 3339: {html}"
    );
    // The link works once, and says so.
    let again = browser.get(&link).send().await.unwrap();
    assert_eq!(again.status(), 401);
    assert!(again.text().await.unwrap().contains("used already"));
    // A link not followed within two minutes says it expired.
    let h = app
        .client
        .post(format!("{}/api/v1/portal/handoff", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 201);
    let late: Value = h.json().await.unwrap();
    app.clock.advance(Duration::seconds(121));
    let r = browser
        .get(format!("{}{}", app.url, late["path"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("has expired"));
    // Logging out from the page ends the session.
    let out = browser
        .post(format!("{}/portal/logout", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let (s, _) = get(&app, &cookie, "/api/v1/portal/me").await;
    assert_eq!(s, 401);
    app.finish().await;
}

on_both_backends!(pages_and_handoff);

/// The code a browser's page shows (`/portal/pair`), or none.
fn shown_code(html: &str) -> Option<String> {
    let start = html.find("id=\"pair-code\"")?;
    let rest = &html[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].to_owned())
}

/// The browser's own login (「このブラウザでログイン」): the page shows a code and its QR code;
/// `openmyna portal login --code` (the card holder, elsewhere) approves it; the page then logs
/// the browser in, once. A code works once, for 5 minutes; only a logged-in citizen approves.
async fn a_browser_logs_in_with_a_code_the_card_holder_approves(backend: Backend) {
    let Holder {
        app,
        dir: _dir,
        path,
        ..
    } = card_holder(backend).await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("TestBrowser/1.0 (pairing)")
        .build()
        .unwrap();
    let login_page = browser
        .get(format!("{}/portal", app.url))
        .send()
        .await
        .unwrap();
    assert!(
        login_page
            .text()
            .await
            .unwrap()
            .contains("action=\"/portal/pair\"")
    );
    let start = |browser: reqwest::Client, url: String| async move {
        let r = browser
            .post(format!("{url}/portal/pair"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/portal/pair");
        let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("Path=/portal"),
            "{set}"
        );
        let pair_cookie = set.split(';').next().unwrap().to_owned();
        let r = browser
            .get(format!("{url}/portal/pair"))
            .header("cookie", &pair_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("http-equiv=\"refresh\""),
            "the page checks by itself"
        );
        assert!(
            html.contains("id=\"pair-qr\" src=\"data:image/svg+xml;base64,"),
            "{html}"
        );
        (pair_cookie, shown_code(&html).expect("a code on the page"))
    };
    let (pair_cookie, code) = start(browser.clone(), app.url.clone()).await;
    assert_eq!(code.len(), 9, "{code}");

    // Only a logged-in citizen approves; bad and unknown codes say what is wrong.
    let (s, r) = send(
        &app,
        "",
        "POST",
        "/api/v1/portal/pairings/approve",
        &json!({"code": code}),
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (401, Some("session.required"))
    );
    let (holder, _) = login(&app, &path, "1234").await.unwrap();
    for (bad, status, want) in [
        ("ABC", 422, "pairing.code_length"),
        ("ABCD-EFG0", 422, "pairing.code_characters"),
        ("2222-2222", 404, "pairing.unknown"),
    ] {
        let (s, r) = send(
            &app,
            &holder,
            "POST",
            "/api/v1/portal/pairings/approve",
            &json!({"code": bad}),
        )
        .await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (status, Some(want)),
            "{r}"
        );
    }
    // Not approved yet: the page still shows the code.
    let r = browser
        .get(format!("{}/portal/pair", app.url))
        .header("cookie", &pair_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The card holder approves with the command, which names the browser.
    let url = app.url.clone();
    let card_path = path.clone();
    let typed = code.to_lowercase().replace('-', " ");
    let o = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_openmyna"))
            .args(["portal", "login", "--card"])
            .arg(&card_path)
            .args(["--url", &url, "--pin", "-", "--code", &typed])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"1234\n").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("approved") && out.contains("TestBrowser/1.0 (pairing)"),
        "{out}"
    );
    // A code is approved once.
    let (s, r) = send(
        &app,
        &holder,
        "POST",
        "/api/v1/portal/pairings/approve",
        &json!({"code": code}),
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("pairing.used"))
    );

    // The browser's next check logs it in, with its own session; the pairing cookie goes.
    let r = browser
        .get(format!("{}/portal/pair", app.url))
        .header("cookie", &pair_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/portal");
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("omn_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("omn_pair=;") && c.contains("Max-Age=0"))
    );
    assert_ne!(session, holder, "the browser has a session of its own");
    let (s, me) = get(&app, &session, "/api/v1/portal/me").await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["name"], "山田\u{3000}太郎");
    // The pairing logs in once: the same cookie again is told the code was used.
    let r = browser
        .get(format!("{}/portal/pair", app.url))
        .header("cookie", &pair_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("使用済み"));

    // A code not approved within 5 minutes expires, on both sides.
    let (pair_cookie, code) = start(browser.clone(), app.url.clone()).await;
    app.clock.advance(Duration::seconds(301));
    let (s, r) = send(
        &app,
        &holder,
        "POST",
        "/api/v1/portal/pairings/approve",
        &json!({"code": code}),
    )
    .await;
    // The holder's session has been idle for 5 minutes only: still live.
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("pairing.expired")),
        "{r}"
    );
    let r = browser
        .get(format!("{}/portal/pair", app.url))
        .header("cookie", &pair_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("有効期限"));
    app.finish().await;
}

on_both_backends!(a_browser_logs_in_with_a_code_the_card_holder_approves);
