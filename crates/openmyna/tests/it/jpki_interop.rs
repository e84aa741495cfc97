//! The JPKI CA driven through the real server and checked by OpenSSL: certificates verify
//! against the roots and show the JPKI extensions, OCSP answers good / revoked / suspended /
//! unknown (with and without nonce) and changes at once, and full, delta and partitioned CRLs
//! verify and list what they must. Runs on both backends.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Backend, TestApp, real_now, spawn_app, spawn_app_at};
use openmyna_core::Role;
use openmyna_jpki::{KeyKind, SigningKey};
use serde_json::{Value, json};

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn pem_of(label: &str, der: &[u8]) -> String {
    openmyna_jpki::pem(label, der)
}

struct Fixture {
    app: TestApp,
    dir: tempfile::TempDir,
    resident_id: i64,
    sign: Value,
    auth: Value,
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, contents: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, contents).unwrap();
        p.to_string_lossy().into_owned()
    }

    async fn fetch(&self, path: &str) -> Vec<u8> {
        let resp = self
            .app
            .client
            .get(format!("{}{path}", self.app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        resp.bytes().await.unwrap().to_vec()
    }

    /// Runs `openssl ocsp` for `cert` against the server; returns its output.
    fn ocsp(&self, root: &str, cert: &str, nonce: bool) -> String {
        let url = format!("{}/ocsp/{root}", self.app.url);
        let issuer = self.path(&format!("{root}-root.pem"));
        let mut args = vec![
            "ocsp",
            "-issuer",
            issuer.to_str().unwrap(),
            "-cert",
            cert,
            "-url",
            &url,
            "-CAfile",
            issuer.to_str().unwrap(),
        ];
        if !nonce {
            args.push("-no_nonce");
        }
        let (_, out) = openssl(&args);
        out
    }

    async fn publish(&self, kind: &str) -> Value {
        let (s, r) = self
            .app
            .post(
                "/api/v1/jpki/crls/publish",
                Some(Role::Operator),
                &json!({"kind": kind}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        r
    }

    async fn crl(&self, root: &str, file: &str, name: &str) -> String {
        let der = self.fetch(&format!("/crl/{root}/{file}")).await;
        self.write(name, pem_of("X509 CRL", &der).as_bytes())
    }
}

fn key_pem(k: &SigningKey) -> String {
    pem_of("PUBLIC KEY", &k.spki_der().unwrap())
}

async fn setup(backend: Backend, birth: &str) -> Fixture {
    let app = spawn_app_at(backend, real_now()).await;
    let dir = tempfile::tempdir().unwrap();
    let (s, r) = app
        .post(
            "/api/v1/registry/residents",
            Some(Role::Municipality),
            &json!({
                "name": "山田 太郎", "name_kana": "ヤマダ タロウ", "birth_date": birth, "sex": 1,
                "address": {"municipality_code": "131016", "postal_code": "1000013",
                            "text": "東京都千代田区霞が関一丁目1番1号"}
            }),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let resident_id = r["id"].as_i64().unwrap();
    let sign_key = SigningKey::generate(KeyKind::Rsa2048).unwrap();
    let auth_key = SigningKey::generate(KeyKind::Rsa2048).unwrap();
    let (s, issued) = app
        .post(
            "/api/v1/jpki/cards",
            Some(Role::Municipality),
            &json!({"resident_id": resident_id, "sign_public_key": key_pem(&sign_key),
                    "auth_public_key": key_pem(&auth_key)}),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    let f = Fixture {
        app,
        dir,
        resident_id,
        sign: issued["signing"].clone(),
        auth: issued["authentication"].clone(),
    };
    for root in ["sign", "auth"] {
        let der = f.fetch(&format!("/ca/{root}.crt")).await;
        f.write(
            &format!("{root}-root.pem"),
            pem_of("CERTIFICATE", &der).as_bytes(),
        );
    }
    f.write(
        "sign-cert.pem",
        f.sign["certificate_pem"].as_str().unwrap().as_bytes(),
    );
    f.write(
        "auth-cert.pem",
        f.auth["certificate_pem"].as_str().unwrap().as_bytes(),
    );
    f
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

async fn certificates_verify_and_carry_the_profile(backend: Backend) {
    let f = setup(backend, "1990-05-01").await;
    for root in ["sign", "auth"] {
        let (ok, out) = openssl(&[
            "verify",
            "-CAfile",
            p(&f.path(&format!("{root}-root.pem"))),
            p(&f.path(&format!("{root}-cert.pem"))),
        ]);
        assert!(ok && out.contains(": OK"), "{root}: {out}");
    }
    let (_, text) = openssl(&[
        "x509",
        "-in",
        p(&f.path("sign-cert.pem")),
        "-noout",
        "-text",
    ]);
    assert!(
        text.contains("Digital Signature, Non Repudiation"),
        "{text}"
    );
    assert!(text.contains("1.2.392.200149.8.5.1.1.20"), "{text}");
    assert!(text.contains("http://www.jpki.go.jp/cps.html"), "{text}");
    assert!(text.contains(&format!("{}/ocsp/sign", f.app.url)), "{text}");
    assert!(
        text.contains(&format!("{}/crl/sign/p0.crl", f.app.url)),
        "{text}"
    );
    assert!(text.contains("sha256WithRSAEncryption"));
    assert!(text.contains("Public-Key: (2048 bit)"));
    // The SAN otherNames carry the four information, in the order a real card has them.
    let address = "東京都千代田区霞が関一丁目1番1号";
    let expected = format!(
        "othername: 1.2.392.200149.8.5.5.1::山田\u{3000}太郎, \
         othername: 1.2.392.200149.8.5.5.4::419900501, \
         othername: 1.2.392.200149.8.5.5.3::1, \
         othername: 1.2.392.200149.8.5.5.5::{address}, \
         othername: 1.2.392.200149.8.5.5.2::00000, \
         othername: 1.2.392.200149.8.5.5.6::{}",
        "0".repeat(address.chars().count())
    );
    assert!(text.contains(&expected), "{text}");
    // The subject: C=JP, L=<prefecture>, L=<city>, CN=<time><sequence><window>.
    let (_, subject) = openssl(&[
        "x509",
        "-in",
        p(&f.path("sign-cert.pem")),
        "-noout",
        "-subject",
        "-nameopt",
        "utf8,sep_comma_plus_space",
    ]);
    assert!(
        subject.contains("C=JP, L=東京都, L=千代田区, CN="),
        "{subject}"
    );
    let (_, auth_text) = openssl(&[
        "x509",
        "-in",
        p(&f.path("auth-cert.pem")),
        "-noout",
        "-text",
    ]);
    assert!(
        !auth_text.contains("200149.8.5.5"),
        "the authentication certificate carries no personal data"
    );
    assert!(!auth_text.contains("Non Repudiation"));
    assert!(auth_text.contains("1.2.392.200149.8.5.1.3.30"));
    f.app.finish().await;
}

async fn ocsp_reflects_every_status_at_once(backend: Backend) {
    let f = setup(backend, "1990-05-01").await;
    let sign_cert = p(&f.path("sign-cert.pem")).to_owned();
    for nonce in [true, false] {
        let out = f.ocsp("sign", &sign_cert, nonce);
        assert!(out.contains("Response verify OK"), "{out}");
        assert!(out.contains(": good"), "{out}");
    }
    let serial = f.sign["serial"].as_str().unwrap().to_owned();
    // Suspension (certificateHold) shows at once, release too.
    let (s, r) = f
        .app
        .post(
            &format!("/api/v1/jpki/certificates/{serial}/hold"),
            Some(Role::Operator),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let out = f.ocsp("sign", &sign_cert, false);
    assert!(
        out.contains(": revoked") && out.contains("certificateHold"),
        "{out}"
    );
    let (s, _) = f
        .app
        .post(
            &format!("/api/v1/jpki/certificates/{serial}/release"),
            Some(Role::Operator),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let out = f.ocsp("sign", &sign_cert, false);
    assert!(out.contains(": good"), "{out}");
    // Revocation with a reason.
    let (s, r) = f
        .app
        .post(
            &format!("/api/v1/jpki/certificates/{serial}/revoke"),
            Some(Role::Municipality),
            &json!({"reason": "keyCompromise"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["status"], "revoked");
    for nonce in [true, false] {
        let out = f.ocsp("sign", &sign_cert, nonce);
        assert!(out.contains("Response verify OK"), "{out}");
        assert!(
            out.contains(": revoked") && out.contains("keyCompromise"),
            "{out}"
        );
    }
    // Revocation is final.
    let (s, r) = f
        .app
        .post(
            &format!("/api/v1/jpki/certificates/{serial}/release"),
            Some(Role::Operator),
            &json!({}),
        )
        .await;
    assert_eq!(s, 409, "{r}");
    // An unknown serial, asked of the right issuer.
    let url = format!("{}/ocsp/sign", f.app.url);
    let (_, out) = openssl(&[
        "ocsp",
        "-issuer",
        p(&f.path("sign-root.pem")),
        "-serial",
        "0x1234567890",
        "-url",
        &url,
        "-CAfile",
        p(&f.path("sign-root.pem")),
    ]);
    assert!(
        out.contains("Response verify OK") && out.contains(": unknown"),
        "{out}"
    );
    // OCSP over GET: the base64 request in the URL.
    let req = f.path("req.der");
    let (ok, out) = openssl(&[
        "ocsp",
        "-issuer",
        p(&f.path("sign-root.pem")),
        "-cert",
        &sign_cert,
        "-no_nonce",
        "-reqout",
        p(&req),
    ]);
    assert!(ok, "{out}");
    let b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&req).unwrap())
    };
    let encoded = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let resp = f.fetch(&format!("/ocsp/sign/{encoded}")).await;
    let resp_path = f.write("resp.der", &resp);
    let (_, out) = openssl(&[
        "ocsp",
        "-respin",
        &resp_path,
        "-issuer",
        p(&f.path("sign-root.pem")),
        "-cert",
        &sign_cert,
        "-CAfile",
        p(&f.path("sign-root.pem")),
    ]);
    assert!(
        out.contains("Response verify OK") && out.contains(": revoked"),
        "{out}"
    );
    // Garbage gets malformedRequest, never a crash.
    let resp = f
        .app
        .client
        .post(&url)
        .header("Content-Type", "application/ocsp-request")
        .body(vec![0x30, 0x03, 0x02, 0x01])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/ocsp-response");
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        &[0x30, 0x03, 0x0a, 0x01, 0x01]
    );
    f.app.finish().await;
}

async fn crls_full_delta_and_partition_verify(backend: Backend) {
    let f = setup(backend, "1990-05-01").await;
    f.publish("full").await;
    let root = p(&f.path("sign-root.pem")).to_owned();
    let cert = p(&f.path("sign-cert.pem")).to_owned();
    let full = f.crl("sign", "full.crl", "full1.pem").await;
    let (ok, out) = openssl(&[
        "verify",
        "-crl_check",
        "-CAfile",
        &root,
        "-CRLfile",
        &full,
        &cert,
    ]);
    assert!(ok && out.contains(": OK"), "{out}");
    // Revoke, publish a delta: the old full CRL plus the delta say revoked.
    let serial = f.sign["serial"].as_str().unwrap().to_owned();
    let (s, _) = f
        .app
        .post(
            &format!("/api/v1/jpki/certificates/{serial}/revoke"),
            Some(Role::Municipality),
            &json!({"reason": "superseded"}),
        )
        .await;
    assert_eq!(s, 200);
    f.publish("delta").await;
    let delta = f.crl("sign", "delta.crl", "delta.pem").await;
    let (_, dtext) = openssl(&["crl", "-in", &delta, "-noout", "-text"]);
    assert!(dtext.contains("Delta CRL Indicator"), "{dtext}");
    assert!(dtext.contains(&serial), "{dtext}");
    let (ok, out) = openssl(&[
        "verify",
        "-crl_check",
        "-use_deltas",
        "-CAfile",
        &root,
        "-CRLfile",
        &full,
        "-CRLfile",
        &delta,
        &cert,
    ]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    // The authentication certificate held, released, held and revoked: the CRL's length
    // (kept as running totals by the database) follows every step, the entry's reason too.
    let auth_serial = f.auth["serial"].as_str().unwrap().to_owned();
    for (action, body) in [
        ("hold", json!({})),
        ("release", json!({})),
        ("hold", json!({})),
        ("revoke", json!({"reason": "keyCompromise"})),
    ] {
        let (s, r) = f
            .app
            .post(
                &format!("/api/v1/jpki/certificates/{auth_serial}/{action}"),
                Some(Role::Municipality),
                &body,
            )
            .await;
        assert_eq!(s, 200, "{action}: {r}");
        f.publish("full").await;
        let auth_full = f.crl("auth", "full.crl", "auth-full.pem").await;
        let (ok, text) = openssl(&["crl", "-in", &auth_full, "-noout", "-text"]);
        assert!(ok, "{text}");
        let listed = text.matches("Serial Number").count();
        assert_eq!(listed, usize::from(action != "release"), "{action}: {text}");
    }
    let (_, text) = openssl(&["crl", "-in", p(&f.path("auth-full.pem")), "-noout", "-text"]);
    assert!(text.contains("Key Compromise"), "{text}");
    // A new full CRL and the certificate's partition CRL list it.
    f.publish("full").await;
    let full2 = f.crl("sign", "full.crl", "full2.pem").await;
    let part = f.crl("sign", "p0.crl", "p0.pem").await;
    for crl in [&full2, &part] {
        let (ok, out) = openssl(&[
            "verify",
            "-crl_check",
            "-CAfile",
            &root,
            "-CRLfile",
            crl,
            &cert,
        ]);
        assert!(!ok && out.contains("certificate revoked"), "{out}");
    }
    let (_, ptext) = openssl(&["crl", "-in", &part, "-noout", "-text"]);
    assert!(
        ptext.contains("Issuing Distribution Point") && ptext.contains("p0.crl"),
        "{ptext}"
    );
    for crl in [&full, &delta, &full2, &part] {
        let (ok, out) = openssl(&["crl", "-in", crl, "-noout", "-CAfile", &root]);
        assert!(ok && out.contains("verify OK"), "{out}");
    }
    // CRL numbers only go up.
    let (_, n1) = openssl(&["crl", "-in", &full, "-noout", "-crlnumber"]);
    let (_, n2) = openssl(&["crl", "-in", &full2, "-noout", "-crlnumber"]);
    let num =
        |s: &str| i64::from_str_radix(s.trim().trim_start_matches("crlNumber=0x"), 16).unwrap();
    assert!(num(&n2) > num(&n1), "{n1} {n2}");
    let resp = f
        .app
        .client
        .get(format!("{}/crl/sign/full.crl", f.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/pkix-crl");
    f.app.finish().await;
}

async fn address_change_revokes_signing_certificate_only(backend: Backend) {
    let f = setup(backend, "1990-05-01").await;
    let (s, r) = f
        .app
        .post(
            &format!("/api/v1/registry/residents/{}/address", f.resident_id),
            Some(Role::Municipality),
            &json!({"address": {"municipality_code": "27100", "text": "大阪府大阪市北区梅田一丁目1番"}}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    // At once, in OCSP: the signing certificate is revoked, the authentication one is good.
    let out = f.ocsp("sign", p(&f.path("sign-cert.pem")), true);
    assert!(
        out.contains(": revoked") && out.contains("affiliationChanged"),
        "{out}"
    );
    let out = f.ocsp("auth", p(&f.path("auth-cert.pem")), true);
    assert!(out.contains(": good"), "{out}");
    // And in the next CRL.
    f.publish("full").await;
    let full = f.crl("sign", "full.crl", "after-move.pem").await;
    let (ok, out) = openssl(&[
        "verify",
        "-crl_check",
        "-CAfile",
        p(&f.path("sign-root.pem")),
        "-CRLfile",
        &full,
        p(&f.path("sign-cert.pem")),
    ]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    // Death revokes the authentication certificate too.
    let (s, _) = f
        .app
        .post(
            &format!("/api/v1/registry/residents/{}/death", f.resident_id),
            Some(Role::Municipality),
            &json!({"date": real_now().date_naive().to_string()}),
        )
        .await;
    assert_eq!(s, 200);
    let out = f.ocsp("auth", p(&f.path("auth-cert.pem")), false);
    assert!(
        out.contains(": revoked") && out.contains("cessationOfOperation"),
        "{out}"
    );
    f.app.finish().await;
}

async fn issuance_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, r) = app
        .post(
            "/api/v1/registry/residents",
            Some(Role::Municipality),
            &json!({
                "name": "山田 花子", "name_kana": "ヤマダ ハナコ", "birth_date": "2016-01-01", "sex": 2,
                "address": {"municipality_code": "131016", "text": "東京都千代田区霞が関一丁目1番1号"}
            }),
        )
        .await;
    let child = r["id"].as_i64().unwrap();
    let k = key_pem(&SigningKey::generate(KeyKind::Rsa2048).unwrap());
    let (s, r) = app
        .post(
            "/api/v1/jpki/cards",
            Some(Role::Municipality),
            &json!({"resident_id": child, "sign_public_key": k, "auth_public_key": k}),
        )
        .await;
    assert_eq!(s, 409, "{r}");
    assert_eq!(r["error"]["code"], "holder.under_15");
    let (s, r) = app
        .post(
            "/api/v1/jpki/cards",
            Some(Role::Municipality),
            &json!({"resident_id": child, "auth_public_key": k}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert!(r["signing"].is_null());
    // A ten-year-old's card lasts 5 years: the authentication certificate ends at the card's
    // expiry (the 5th birthday after issuance).
    assert_eq!(
        r["authentication"]["not_after"],
        "2031-01-01T23:59:59+09:00"
    );
    let (s, r) = app
        .post(
            "/api/v1/jpki/cards",
            Some(Role::Municipality),
            &json!({"resident_id": child, "auth_public_key": "not a key"}),
        )
        .await;
    assert_eq!(s, 422, "{r}");
    let (s, _) = app
        .post(
            "/api/v1/jpki/cards",
            Some(Role::Insurer),
            &json!({"resident_id": child, "auth_public_key": k}),
        )
        .await;
    assert_eq!(s, 403);
    app.finish().await;
}

/// A revocation written by another process on the same database (as `openmyna ca revoke`
/// does) reaches the running server's OCSP answers, cached ones included, within moments.
async fn another_process_revocation_reaches_ocsp(backend: Backend) {
    let f = setup(backend, "1990-05-01").await;
    let sign_cert = p(&f.path("sign-cert.pem")).to_owned();
    // Both caches warm: the pre-signed response and the status.
    for nonce in [false, true, false] {
        let out = f.ocsp("sign", &sign_cert, nonce);
        assert!(out.contains(": good"), "{out}");
    }
    let other = openmyna::app::open_jpki(
        &f.app.config,
        &f.app.store,
        &f.app.url,
        std::sync::Arc::new(openmyna_core::SystemClock),
        std::sync::Arc::new(openmyna_core::OsEntropy),
    )
    .await
    .unwrap();
    let serial = f.sign["serial"].as_str().unwrap();
    other
        .change_status(
            serial,
            openmyna_jpki::Action::Revoke(openmyna_jpki::Reason::KeyCompromise),
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for nonce in [false, true] {
        loop {
            let out = f.ocsp("sign", &sign_cert, nonce);
            if out.contains(": revoked") {
                assert!(out.contains("keyCompromise"), "{out}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still not revoked after 10 s: {out}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    f.app.finish().await;
}

/// The URIs that follow `heading` in OpenSSL's text form of a certificate or CRL.
fn uris_after(text: &str, heading: &str) -> Vec<String> {
    let Some(at) = text.find(heading) else {
        return Vec::new();
    };
    text[at..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("                ") || l.trim().starts_with("Full Name"))
        .filter_map(|l| l.trim().strip_prefix("URI:").map(str::to_owned))
        .collect()
}

/// A validator that knows only CRLs follows the certificate: its CRL distribution point
/// answers from the moment of issuance, the partition CRL names its delta (Freshest CRL),
/// and a revocation, a hold and its release are seen through the next delta. A publication
/// by another process (with the default URL) keeps the CA's URLs; a configuration that
/// names another URL is refused.
/// A signing certificate as a CRL-only validator sees it: the root and certificate files, and
/// the CRL distribution point the certificate names.
struct CrlView {
    f: Fixture,
    root: String,
    cert: String,
    cdp: String,
}

async fn crl_view(backend: Backend) -> CrlView {
    let f = setup(backend, "1990-05-01").await;
    let root = p(&f.path("sign-root.pem")).to_owned();
    let cert = p(&f.path("sign-cert.pem")).to_owned();
    let (_, ctext) = openssl(&["x509", "-in", &cert, "-noout", "-text"]);
    let cdp = uris_after(&ctext, "X509v3 CRL Distribution Points");
    assert_eq!(cdp.len(), 1, "{ctext}");
    let cdp = cdp[0].clone();
    assert!(
        cdp.starts_with(&f.app.url) && cdp.ends_with("/crl/sign/p0.crl"),
        "{cdp}"
    );
    CrlView { f, root, cert, cdp }
}

impl CrlView {
    /// Downloads a CRL and writes it as PEM under `name`; returns the file's path.
    async fn fetch_pem(&self, url: &str, name: &str) -> String {
        let der = self.f.app.client.get(url).send().await.unwrap();
        assert_eq!(der.status().as_u16(), 200, "{url}");
        let der = der.bytes().await.unwrap();
        self.f.write(name, pem_of("X509 CRL", &der).as_bytes())
    }

    /// The partition CRL of the CDP, and the Freshest CRL (delta) URL it names.
    async fn partition_and_delta_url(&self, name: &str) -> (String, String) {
        let part = self.fetch_pem(&self.cdp, name).await;
        let (_, ptext) = openssl(&["crl", "-in", &part, "-noout", "-text"]);
        let freshest = uris_after(&ptext, "X509v3 Freshest CRL");
        assert_eq!(freshest.len(), 1, "{ptext}");
        assert!(freshest[0].ends_with("/crl/sign/p0-delta.crl"), "{ptext}");
        (part, freshest[0].clone())
    }

    /// OpenSSL's verdict with a base CRL and a delta.
    fn check(&self, part: &str, delta: &str) -> (bool, String) {
        openssl(&[
            "verify",
            "-crl_check",
            "-use_deltas",
            "-CAfile",
            &self.root,
            "-CRLfile",
            part,
            "-CRLfile",
            delta,
            &self.cert,
        ])
    }

    /// OpenSSL's verdict downloading the CRL the certificate names.
    fn download_check(&self) -> (bool, String) {
        openssl(&[
            "verify",
            "-crl_check",
            "-crl_download",
            "-CAfile",
            &self.root,
            &self.cert,
        ])
    }

    async fn act(&self, action: &str, body: Value) {
        let serial = self.f.sign["serial"].as_str().unwrap();
        let (s, r) = self
            .f
            .app
            .post(
                &format!("/api/v1/jpki/certificates/{serial}/{action}"),
                Some(Role::Municipality),
                &body,
            )
            .await;
        assert_eq!(s, 200, "{action}: {r}");
    }
}

async fn a_certificates_crl_answers_at_once_and_names_its_delta(backend: Backend) {
    let v = crl_view(backend).await;
    // Nothing was published by hand: the CDP answers at once, and OpenSSL downloading it
    // says the certificate is good.
    let resp = v.f.app.client.get(&v.cdp).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{}", v.cdp);
    let (ok, out) = v.download_check();
    assert!(ok && out.contains(": OK"), "{out}");
    // The partition CRL names its delta; the delta has the partition's scope.
    let (part, delta_url) = v.partition_and_delta_url("cdp-p0.pem").await;
    let delta0 = v.fetch_pem(&delta_url, "d0.pem").await;
    let (ok, out) = v.check(&part, &delta0);
    assert!(ok && out.contains(": OK"), "{out}");
    v.f.app.finish().await;
}

async fn hold_release_and_revocation_reach_crl_only_validators_by_delta(backend: Backend) {
    let v = crl_view(backend).await;
    let (part, delta_url) = v.partition_and_delta_url("cdp-p0.pem").await;
    // A hold, then its release, then a revocation: each seen through the next delta.
    for (i, (action, body, revoked)) in [
        ("hold", json!({}), true),
        ("release", json!({}), false),
        ("revoke", json!({"reason": "keyCompromise"}), true),
    ]
    .into_iter()
    .enumerate()
    {
        v.act(action, body).await;
        v.f.publish("delta").await;
        let delta = v.fetch_pem(&delta_url, &format!("d{}.pem", i + 1)).await;
        let (_, dtext) = openssl(&["crl", "-in", &delta, "-noout", "-text"]);
        assert!(
            dtext.contains("Delta CRL Indicator") && dtext.contains("Issuing Distribution Point"),
            "{dtext}"
        );
        let (ok, out) = v.check(&part, &delta);
        if revoked {
            assert!(
                !ok && out.contains("certificate revoked"),
                "{action}: {out}"
            );
        } else {
            assert!(ok && out.contains(": OK"), "{action}: {out}");
        }
    }
    // The delta's nextUpdate is one delta period (an hour) after its thisUpdate.
    let (_, last) = openssl(&[
        "crl",
        "-in",
        p(&v.f.path("d3.pem")),
        "-noout",
        "-lastupdate",
        "-nextupdate",
    ]);
    let when = |key: &str| {
        let line = last.lines().find(|l| l.starts_with(key)).unwrap();
        chrono::NaiveDateTime::parse_from_str(
            line.trim_start_matches(key).trim_end_matches(" GMT").trim(),
            "%b %e %H:%M:%S %Y",
        )
        .unwrap()
    };
    assert_eq!(
        when("nextUpdate=") - when("lastUpdate="),
        chrono::Duration::hours(1),
        "{last}"
    );
    v.f.app.finish().await;
}

async fn crls_name_the_cas_url_whoever_publishes_them(backend: Backend) {
    let v = crl_view(backend).await;
    let f = &v.f;
    v.act("revoke", json!({"reason": "keyCompromise"})).await;
    // Another process publishes with the default URL: the CRLs still name the CA's URL.
    let other = openmyna::app::open_jpki(
        &f.app.config,
        &f.app.store,
        "http://127.0.0.1:8080",
        std::sync::Arc::new(openmyna_core::SystemClock),
        std::sync::Arc::new(openmyna_core::OsEntropy),
    )
    .await
    .unwrap();
    other
        .publish_full(openmyna_jpki::RootKind::Sign)
        .await
        .unwrap();
    let part = v.fetch_pem(&v.cdp, "cdp-p0-other.pem").await;
    let (_, ptext) = openssl(&["crl", "-in", &part, "-noout", "-text"]);
    assert!(
        ptext.contains(&v.cdp) && !ptext.contains(":8080/"),
        "{ptext}"
    );
    let (ok, out) = v.download_check();
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    assert!(!out.contains("different CRL scope"), "{out}");
    // A configuration naming another URL is refused, with what to do.
    let mut config = f.app.config.clone();
    config.server.public_url = "https://jpki.example.jp".into();
    let err = openmyna::app::open_jpki(
        &config,
        &f.app.store,
        "https://jpki.example.jp",
        std::sync::Arc::new(openmyna_core::SystemClock),
        std::sync::Arc::new(openmyna_core::OsEntropy),
    )
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains(&f.app.url) && err.contains("ca set-url"),
        "{err}"
    );
    // Unknown partitions are not found (never an endless publication).
    let resp = f
        .app
        .client
        .get(format!("{}/crl/sign/p7.crl", f.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    v.f.app.finish().await;
}

on_both_backends!(
    a_certificates_crl_answers_at_once_and_names_its_delta,
    hold_release_and_revocation_reach_crl_only_validators_by_delta,
    crls_name_the_cas_url_whoever_publishes_them,
    another_process_revocation_reaches_ocsp,
    certificates_verify_and_carry_the_profile,
    ocsp_reflects_every_status_at_once,
    crls_full_delta_and_partition_verify,
    address_change_revokes_signing_certificate_only,
    issuance_rules,
);
