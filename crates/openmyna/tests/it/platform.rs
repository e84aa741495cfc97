//! The verification platform end to end, on both backends: documents signed by a virtual
//! card checked step by step (and by OpenSSL, which must agree on the signature), raw
//! signatures over a hash, the revocation step by OCSP and by CRL, suspension, release,
//! revocation, expiry, an authentication certificate where a signing one is required, a
//! forged certificate, re-checks, and the 確認記録 and access log of each check.

use std::path::Path;
use std::process::Command;

use crate::common::{Backend, TestApp, spawn_app};
use base64::Engine;
use openmyna_card::{KeyId, PinId};
use openmyna_cardio::client::Certificate;
use openmyna_cardio::{CardFile, JpkiClient, VirtualTransport};
use openmyna_core::{Clock, Role};
use openmyna_jpki::cms;
use serde_json::{Value, json};

const PURPOSE: &str = "口座開設時の本人確認 (犯収法施行規則6条1項1号ワ)";
const STEPS: [&str; 5] = [
    "certificate_type",
    "issuer",
    "validity",
    "signature",
    "revocation",
];

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn card(path: &Path) -> JpkiClient<VirtualTransport> {
    JpkiClient::new(VirtualTransport::new(CardFile::open(path).unwrap()))
}

/// A CMS SignedData over `content`, made with the card's signing key.
fn sign_document(app: &TestApp, path: &Path, content: &[u8]) -> Vec<u8> {
    let mut c = card(path);
    c.verify(PinId::Sign, "ABC123").unwrap();
    let cert = c.read_certificate(Certificate::Sign).unwrap();
    cms::build(content, &cert, &app.clock.now(), |h| {
        c.sign_hash(KeyId::Sign, "ABC123", h)
    })
    .unwrap()
    .unwrap()
}

/// A signature over SHA-256(`data`) with the card's authentication key, and its certificate.
fn sign_with_auth(path: &Path, data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut c = card(path);
    let cert = c.read_certificate(Certificate::Auth).unwrap();
    c.verify(PinId::Auth, "1234").unwrap();
    let sig = c
        .sign_hash(KeyId::Auth, "1234", &openmyna_jpki::key::sha256(data))
        .unwrap();
    (cert, sig)
}

async fn check(app: &TestApp, body: &Value) -> (u16, Value) {
    app.post(
        "/api/v1/platform/verifications",
        Some(Role::RelyingParty),
        body,
    )
    .await
}

async fn check_document(app: &TestApp, der: &[u8], revocation: &str) -> Value {
    let (s, r) = check(
        app,
        &json!({"purpose": PURPOSE, "document": b64(der), "revocation": revocation}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    r
}

async fn recheck(app: &TestApp, id: i64, revocation: &str) -> Value {
    let (s, r) = app
        .post(
            &format!("/api/v1/platform/verifications/{id}/recheck"),
            Some(Role::RelyingParty),
            &json!({"revocation": revocation}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    r
}

fn step_names(c: &Value) -> Vec<&str> {
    c["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect()
}

fn outcome<'a>(c: &'a Value, step: &str) -> &'a str {
    c["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == step)
        .unwrap()["outcome"]
        .as_str()
        .unwrap()
}

fn assert_refused(c: &Value, code: &str) {
    assert_eq!(c["result"], "refused", "{c}");
    assert_eq!(c["error"], code, "{c}");
    assert!(c.get("basic4").is_none(), "nothing disclosed: {c}");
}

async fn status(app: &TestApp, serial: &str, action: &str, body: Value) {
    let (s, r) = app
        .post(
            &format!("/api/v1/jpki/certificates/{serial}/{action}"),
            Some(Role::Municipality),
            &body,
        )
        .await;
    assert_eq!(s, 200, "{r}");
}

async fn publish_delta(app: &TestApp) {
    let (s, r) = app
        .post(
            "/api/v1/jpki/crls/publish",
            Some(Role::Operator),
            &json!({"kind": "delta"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
}

async fn list(app: &TestApp) -> Vec<Value> {
    let (s, r) = app
        .get("/api/v1/platform/verifications", Some(Role::RelyingParty))
        .await;
    assert_eq!(s, 200, "{r}");
    r.as_array().unwrap().clone()
}

fn openssl_cms_verify(dir: &Path, root_pem: &Path, der: &[u8]) -> (bool, String) {
    let p = dir.join("doc.p7s");
    std::fs::write(&p, der).unwrap();
    let o = Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-purpose", "any", "-in"])
        .arg(&p)
        .arg("-CAfile")
        .arg(root_pem)
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

async fn sign_root_pem(app: &TestApp, dir: &Path) -> std::path::PathBuf {
    let der = app.get_bytes("/ca/sign.crt").await;
    let pem = dir.join("sign-root.pem");
    std::fs::write(&pem, openmyna_jpki::pem("CERTIFICATE", &der)).unwrap();
    pem
}

async fn a_signed_document_is_checked_step_by_step_and_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let resident = app.register_resident(true).await;
    let path = d.join("card.json");
    let issued = app
        .issue_card(resident, &path, Some("ABC123"))
        .await
        .unwrap();
    let content = "普通預金口座開設申込書 ACCT-0001".as_bytes();
    let doc = sign_document(&app, &path, content);

    let c = check_document(&app, &doc, "ocsp").await;
    assert_eq!(c["result"], "verified", "{c}");
    assert!(c.get("error").is_none(), "{c}");
    assert_eq!(step_names(&c), STEPS);
    for s in STEPS {
        assert_eq!(outcome(&c, s), "passed", "{s}: {c}");
    }
    assert_eq!(c["certificate"]["type"], "signing");
    assert_eq!(c["certificate"]["device"], "card");
    assert_eq!(
        c["certificate"]["serial"],
        json!(issued.sign_certificate.clone().unwrap())
    );
    assert_eq!(c["revocation"]["method"], "ocsp");
    assert_eq!(c["revocation"]["status"], "good");
    assert!(
        c["revocation"]["url"].as_str().unwrap().contains("/ocsp"),
        "{c}"
    );
    assert_eq!(
        c["basic4"],
        json!({"name": "山田\u{3000}太郎", "birth_date": "1985-06-15", "sex": "male",
               "address": "東京都千代田区霞が関一丁目1番1号"})
    );
    assert_eq!(
        c["signed_sha256"],
        json!(
            openmyna_jpki::key::sha256(content)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    );
    assert_eq!(c["purpose"], PURPOSE);
    assert!(
        c["keep_until"].as_str().unwrap().starts_with("2033-"),
        "{c}"
    );

    // OpenSSL agrees on the signature, for the good document and for a tampered one.
    let root = sign_root_pem(&app, d).await;
    let (ok, out) = openssl_cms_verify(d, &root, &doc);
    assert!(ok && out.contains("Verification successful"), "{out}");
    let at = doc.windows(4).position(|w| w == b"ACCT").unwrap();
    let mut tampered = doc.clone();
    tampered[at] ^= 1;
    let (ok, out) = openssl_cms_verify(d, &root, &tampered);
    assert!(!ok, "OpenSSL must refuse the tampered document: {out}");
    let t = check_document(&app, &tampered, "ocsp").await;
    assert_refused(&t, "signature_did_not_match");
    assert_eq!(outcome(&t, "signature"), "failed");
    assert_eq!(
        outcome(&t, "revocation"),
        "passed",
        "the other steps still run"
    );

    // By CRL: the certificate's partition CRL (published at issuance) and its delta.
    let by_crl = check_document(&app, &doc, "crl").await;
    assert_eq!(by_crl["result"], "verified", "{by_crl}");
    assert_eq!(by_crl["revocation"]["method"], "crl");
    assert!(
        by_crl["revocation"]["url"]
            .as_str()
            .unwrap()
            .contains("/crl/"),
        "{by_crl}"
    );
    assert!(by_crl["revocation"]["crl_number"].as_u64().is_some());

    // A raw signature over a hash: the data or its digest.
    let mut c = card(&path);
    c.verify(PinId::Sign, "ABC123").unwrap();
    let cert = c.read_certificate(Certificate::Sign).unwrap();
    let data = b"login challenge 42";
    let sig = c
        .sign_hash(KeyId::Sign, "ABC123", &openmyna_jpki::key::sha256(data))
        .unwrap();
    let hex: String = openmyna_jpki::key::sha256(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for body in [
        json!({"purpose": PURPOSE, "certificate": b64(&cert), "signature": b64(&sig), "data": b64(data)}),
        json!({"purpose": PURPOSE, "certificate": b64(&cert), "signature": b64(&sig), "digest": hex}),
    ] {
        let (s, r) = check(&app, &body).await;
        assert_eq!((s, r["result"].as_str()), (201, Some("verified")), "{r}");
        assert_eq!(r["submitted"], "signature");
    }
    let (s, r) = check(
        &app,
        &json!({"purpose": PURPOSE, "certificate": b64(&cert), "signature": b64(&sig), "data": b64(b"other")}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_refused(&r, "signature_did_not_match");

    // The 確認記録: every check, newest first, only to the relying party that made it.
    let records = list(&app).await;
    assert_eq!(records.len(), 6, "{records:?}");
    let first = c_id(&records[5]);
    let (s, one) = app
        .get(
            &format!("/api/v1/platform/verifications/{first}"),
            Some(Role::RelyingParty),
        )
        .await;
    assert_eq!(s, 200, "{one}");
    assert_eq!(one["basic4"]["name"], "山田\u{3000}太郎");
    let (s, r) = app
        .get(
            &format!("/api/v1/platform/verifications/{first}"),
            Some(Role::Operator),
        )
        .await;
    assert_eq!(s, 403, "{r}");

    // Each check is in the holder's access log, with its purpose and relying party.
    let log = app.store.access().access_log(resident, 100).await.unwrap();
    let entries: Vec<_> = log
        .iter()
        .filter(|e| e.category == "jpki.verification")
        .collect();
    assert_eq!(entries.len(), 6, "{log:?}");
    for e in &entries {
        assert_eq!(e.purpose, PURPOSE);
        assert_eq!(e.actor_role, "relying_party");
        assert!(e.detail.contains("確認記録"), "{}", e.detail);
    }
    let (_, chain) = app
        .store
        .access()
        .verify_access_chain(resident)
        .await
        .unwrap();
    assert!(chain.intact, "{chain:?}");
    app.finish().await;
}

fn c_id(c: &Value) -> i64 {
    c["id"].as_i64().unwrap()
}

async fn status_changes_expiry_and_wrong_certificates_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let resident = app.register_resident(true).await;
    let path = d.join("card.json");
    let issued = app
        .issue_card(resident, &path, Some("ABC123"))
        .await
        .unwrap();
    let sign_serial = issued.sign_certificate.clone().unwrap();
    let doc = sign_document(&app, &path, b"application ACCT-0002");
    let first = check_document(&app, &doc, "ocsp").await;
    assert_eq!(first["result"], "verified", "{first}");
    let first_id = c_id(&first);

    // The authentication certificate where a signing one is required; and where it is.
    let (auth_cert, auth_sig) = sign_with_auth(&path, b"nonce-1");
    let body = |expect: &str| {
        json!({"purpose": "ログイン", "certificate": b64(&auth_cert),
               "signature": b64(&auth_sig), "data": b64(b"nonce-1"), "expect": expect})
    };
    let (s, r) = check(&app, &body("signing")).await;
    assert_eq!(s, 201, "{r}");
    assert_refused(&r, "unsupported_certificate");
    assert_eq!(step_names(&r)[0], "certificate_type");
    assert_eq!(r["certificate"]["type"], "authentication");
    let (s, r) = check(&app, &body("authentication")).await;
    assert_eq!((s, r["result"].as_str()), (201, Some("verified")), "{r}");
    assert!(
        r.get("basic4").is_none(),
        "an authentication certificate carries no personal data"
    );

    // Suspended (一時停止): by OCSP at once; by CRL after the next delta.
    status(&app, &sign_serial, "hold", json!({})).await;
    let held = check_document(&app, &doc, "ocsp").await;
    assert_refused(&held, "certificate_is_suspended");
    assert_eq!(held["revocation"]["status"], "suspended");
    publish_delta(&app).await;
    let held = check_document(&app, &doc, "crl").await;
    assert_refused(&held, "certificate_is_suspended");
    assert!(
        held["revocation"]["delta_number"].as_u64().is_some(),
        "{held}"
    );

    // Released: good again, by OCSP and (after the delta) by CRL.
    status(&app, &sign_serial, "release", json!({})).await;
    let again = recheck(&app, first_id, "ocsp").await;
    assert_eq!(again["result"], "verified", "{again}");
    assert_eq!(again["recheck_of"], json!(first_id));
    publish_delta(&app).await;
    let again = recheck(&app, first_id, "crl").await;
    assert_eq!(again["result"], "verified", "{again}");

    // Revoked: the re-check of the first check finds it.
    status(
        &app,
        &sign_serial,
        "revoke",
        json!({"reason": "keyCompromise"}),
    )
    .await;
    let revoked = recheck(&app, first_id, "ocsp").await;
    assert_refused(&revoked, "certificate_has_been_revoked");
    assert_eq!(revoked["revocation"]["reason"], "keyCompromise");
    let revoked = check_document(&app, &doc, "ocsp").await;
    assert_refused(&revoked, "certificate_has_been_revoked");

    // A certificate with the root's name but not its key: a forgery.
    let key = openmyna_jpki::SigningKey::generate(openmyna_jpki::KeyKind::Rsa2048).unwrap();
    let forged_cert = openmyna_jpki::profile::root_certificate(
        openmyna_jpki::RootKind::Sign,
        &key,
        openmyna_jpki::Serial::generate(&openmyna_core::OsEntropy),
        &app.clock.now(),
    )
    .unwrap();
    let forged = cms::build(b"forged", &forged_cert, &app.clock.now(), |h| {
        key.sign_digest(
            &aws_lc_rs::digest::Digest::import_less_safe(h, &aws_lc_rs::digest::SHA256).unwrap(),
        )
    })
    .unwrap()
    .unwrap();
    let f = check_document(&app, &forged, "ocsp").await;
    assert_refused(&f, "untrusted_issuer");
    assert_eq!(outcome(&f, "signature"), "passed", "{f}");
    assert_eq!(outcome(&f, "revocation"), "skipped", "{f}");

    // Expired: eleven years on, the card's certificates are past their notAfter.
    let before = list(&app).await.len();
    app.clock.advance(chrono::Duration::days(365 * 11));
    let expired = recheck(&app, first_id, "ocsp").await;
    assert_eq!(expired["error"], "certificate_has_expired", "{expired}");
    assert_eq!(list(&app).await.len(), before + 1);

    // Bad input: a clear error and nothing recorded.
    let before = list(&app).await.len();
    for (body, code) in [
        (
            json!({"purpose": PURPOSE, "document": "%%%"}),
            "platform.base64",
        ),
        (
            json!({"purpose": PURPOSE, "document": b64(b"garbage")}),
            "document.signature",
        ),
        (
            json!({"purpose": " ", "document": b64(&doc)}),
            "platform.purpose",
        ),
        (json!({"purpose": PURPOSE}), "platform.submission"),
        (
            json!({"purpose": PURPOSE, "document": b64(&doc), "certificate": b64(&auth_cert)}),
            "platform.submission",
        ),
        (
            json!({"purpose": PURPOSE, "certificate": b64(&auth_cert), "signature": b64(&auth_sig)}),
            "platform.digest",
        ),
        (
            json!({"purpose": PURPOSE, "certificate": b64(b"x"), "signature": b64(&auth_sig), "data": "AA=="}),
            "platform.certificate",
        ),
    ] {
        let (s, r) = check(&app, &body).await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (422, Some(code)),
            "{body}: {r}"
        );
    }
    let (s, r) = app
        .post(
            "/api/v1/platform/verifications/999999/recheck",
            Some(Role::RelyingParty),
            &json!({}),
        )
        .await;
    assert_eq!(s, 404, "{r}");
    let (s, _) = app
        .post(
            "/api/v1/platform/verifications",
            Some(Role::MedicalInstitution),
            &json!({"purpose": PURPOSE, "document": b64(&doc)}),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(list(&app).await.len(), before, "nothing recorded");
    app.finish().await;
}

on_both_backends!(
    a_signed_document_is_checked_step_by_step_and_recorded,
    status_changes_expiry_and_wrong_certificates_are_refused
);
