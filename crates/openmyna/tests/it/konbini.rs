//! コンビニ交付 over HTTP, on SQLite and on PostgreSQL: a household of three; 住民票の写し of
//! the household with 続柄 and of the applicant alone without; 印鑑登録証明書 after a seal
//! registration; each PDF's signature checked by poppler's pdfsig and its text by pdftotext;
//! the verification code confirmed and an altered one refused; and every refusal with its own
//! code and nothing issued.

use std::path::Path;

use crate::common::fixtures::{b64, card};
use crate::common::{Backend, TestApp, spawn_app};
use openmyna::terminal::card_proof;
use openmyna_core::Role;
use serde_json::{Value, json};

struct Issued {
    status: u16,
    code: Option<String>,
    fee: Option<String>,
    body: Vec<u8>,
}

impl Issued {
    fn error(&self) -> String {
        let v: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        v["error"]["code"].as_str().unwrap_or("").to_owned()
    }
}

/// The machine: the centre's challenge, the card's signature after the PIN, the request.
async fn machine(app: &TestApp, card_file: &Path, request: Value) -> Issued {
    // The centre's own challenge (operator token): a proof made at the machine opens nothing
    // else, the portal included.
    let centre = openmyna::terminal::OqsClient::new(&app.url, app.token(Role::Operator));
    let (id, bytes) = centre.challenge().await.unwrap();
    let proof = card_proof(&mut card(card_file), "1234", &bytes).unwrap();
    let mut body = json!({
        "challenge_id": id,
        "certificate": b64(&proof.certificate),
        "signature": b64(&proof.signature),
    });
    for (k, v) in request.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app
        .client
        .post(format!("{}/api/v1/konbini/certificates", app.url))
        .bearer_auth(app.token(Role::Operator))
        .json(&body)
        .send()
        .await
        .unwrap();
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, code, fee) = (
        r.status().as_u16(),
        header("x-verification-code"),
        header("x-fee-yen"),
    );
    Issued {
        status,
        code,
        fee,
        body: r.bytes().await.unwrap().to_vec(),
    }
}

/// pdftotext's text of a PDF, and pdfsig's report.
fn read_pdf(pdf: &[u8]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.pdf");
    std::fs::write(&f, pdf).unwrap();
    let out = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .arg(&f)
            .args(if cmd == "pdftotext" {
                vec!["-"]
            } else {
                vec![]
            })
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    (out("pdftotext", &[]), out("pdfsig", &[]))
}

fn tools() -> bool {
    let have = std::process::Command::new("sh")
        .args(["-c", "command -v pdftotext && command -v pdfsig"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have && std::env::var("OPENMYNA_TEST_REQUIRE_PDF_TOOLS").as_deref() == Ok("1") {
        panic!("pdftotext and pdfsig are missing (apt install poppler-utils poppler-data)");
    }
    have
}

async fn issued_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM issued_certificates")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

async fn certificates_at_the_convenience_store(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let muni = app.as_role(Role::Municipality);
    let op = app.as_role(Role::Operator);
    let (s, r) = op
        .put(
            "/api/v1/konbini/municipalities/131016",
            &json!({"name": "千代田区", "fee_juminhyo": 200, "fee_kisai_jiko": 200, "fee_inkan": 300}),
        )
        .await;
    assert_eq!(s, 204, "{r}");
    // A household of three: the head (with a card), his wife, their child (10, with a card).
    let (head, wife, child) = (
        app.register_resident(true).await,
        app.register_resident(true).await,
        app.register_resident(false).await,
    );
    let head_card = dir.path().join("head.json");
    app.issue_card(head, &head_card, Some("ABC123"))
        .await
        .unwrap();
    let child_card = dir.path().join("child.json");
    app.issue_card(child, &child_card, None).await.unwrap();
    let (_, h) = muni
        .post(
            "/api/v1/registry/households",
            &json!({"head_resident_id": head}),
        )
        .await;
    let hid = h["household_id"].as_i64().unwrap();
    for (r, rel) in [(wife, "妻"), (child, "子")] {
        let (s, _) = muni
            .post(
                &format!("/api/v1/registry/households/{hid}/members"),
                &json!({"resident_id": r, "relationship": rel}),
            )
            .await;
        assert_eq!(s, 200);
    }
    let pdf_tools = tools();

    // 住民票の写し, the whole household with 続柄.
    let all = machine(
        &app,
        &head_card,
        json!({"kind": "juminhyo", "household": true, "relationship": true}),
    )
    .await;
    assert_eq!(all.status, 201, "{}", String::from_utf8_lossy(&all.body));
    assert!(all.body.starts_with(b"%PDF-"));
    assert_eq!(all.fee.as_deref(), Some("200"));
    let code = all.code.clone().unwrap();
    if pdf_tools {
        let (text, sig) = read_pdf(&all.body);
        assert!(text.contains("住民票の写し"), "{text}");
        assert!(
            text.contains("続柄") && text.contains("妻") && text.contains("子"),
            "{text}"
        );
        assert!(text.contains("世帯主"), "{text}");
        assert!(text.contains(&code), "the code is printed: {text}");
        assert_eq!(text.matches("氏名").count(), 3, "three people: {text}");
        assert!(sig.contains("Signature is Valid"), "{sig}");
        assert!(sig.contains("ETSI.CAdES.detached"), "{sig}");
        assert!(sig.contains("千代田区長"), "{sig}");
    }
    // The applicant alone, without 続柄.
    let one = machine(&app, &head_card, json!({"kind": "juminhyo"})).await;
    assert_eq!(one.status, 201);
    if pdf_tools {
        let (text, sig) = read_pdf(&one.body);
        assert!(!text.contains("続柄") && !text.contains("世帯主"), "{text}");
        assert_eq!(text.matches("氏名").count(), 1, "{text}");
        assert!(sig.contains("Signature is Valid"), "{sig}");
    }
    // Each person printed has the issuance in their access log.
    for r in [head, wife, child] {
        let log = app.store.access().access_log(r, 50).await.unwrap();
        assert!(
            log.iter().any(|e| e.category == "certificate.konbini"),
            "{r}: {log:?}"
        );
    }

    // 印鑑登録証明書: refused before a registration, issued after it.
    let before = issued_count(&app).await;
    let no_seal = machine(&app, &head_card, json!({"kind": "inkan"})).await;
    assert_eq!(
        (no_seal.status, no_seal.error()),
        (409, "inkan.none".into())
    );
    let (s, reg) = muni
        .post(
            &format!("/api/v1/registry/residents/{head}/inkan"),
            &json!({"image": b64(&crate::common::fixtures::seal_png())}),
        )
        .await;
    assert_eq!(s, 201, "{reg}");
    let seal = machine(&app, &head_card, json!({"kind": "inkan"})).await;
    assert_eq!(seal.status, 201, "{}", String::from_utf8_lossy(&seal.body));
    assert_eq!(seal.fee.as_deref(), Some("300"));
    if pdf_tools {
        let (text, sig) = read_pdf(&seal.body);
        assert!(text.contains("印鑑登録証明書"), "{text}");
        assert!(text.contains(reg["number"].as_str().unwrap()), "{text}");
        assert!(sig.contains("Signature is Valid"), "{sig}");
    }
    assert_eq!(issued_count(&app).await, before + 1);

    if let Ok(keep) = std::env::var("OPENMYNA_KEEP_PDF_DIR") {
        std::fs::write(Path::new(&keep).join("juminhyo.pdf"), &all.body).unwrap();
        std::fs::write(Path::new(&keep).join("inkan.pdf"), &seal.body).unwrap();
    }
    // OpenSSL on the CMS: the detached signature over the two byte ranges, chained to the
    // CA's signing root (/ca/sign.crt).
    if pdf_tools {
        let root = app.get_bytes("/ca/sign.crt").await;
        let d = tempfile::tempdir().unwrap();
        let [a, b, c, l] = openmyna_pdf::byte_range(&all.body).unwrap();
        let mut signed = all.body[a..a + b].to_vec();
        signed.extend_from_slice(&all.body[c..c + l]);
        std::fs::write(d.path().join("signed.bin"), &signed).unwrap();
        std::fs::write(
            d.path().join("sig.der"),
            openmyna_pdf::signature_contents(&all.body).unwrap(),
        )
        .unwrap();
        std::fs::write(d.path().join("root.der"), &root).unwrap();
        let run = |args: &[&str]| {
            let o = std::process::Command::new("openssl")
                .args(args)
                .current_dir(d.path())
                .output()
                .unwrap();
            (
                o.status.success(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        };
        let (ok, err) = run(&[
            "x509", "-inform", "DER", "-in", "root.der", "-out", "root.pem",
        ]);
        assert!(ok, "{err}");
        let (ok, err) = run(&[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "sig.der",
            "-content",
            "signed.bin",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ]);
        assert!(ok, "openssl cms -verify: {err}");
    }
    // The verification page: the code confirmed with the PDF's hash; an altered one refused.
    let (s, v) = app
        .anonymous()
        .get(&format!("/api/v1/certificates/{}", code.to_lowercase()))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["kind_label"], "住民票の写し");
    assert_eq!(v["municipality"], "千代田区");
    let sha: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &all.body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v["pdf_sha256"], sha);
    let mut altered = code.clone().into_bytes();
    altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
    let (s, v) = app
        .anonymous()
        .get(&format!(
            "/api/v1/certificates/{}",
            String::from_utf8(altered).unwrap()
        ))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("certificate.unknown"))
    );

    // The page printed on the certificate says the same.
    let page = |c: String| {
        let app = &app;
        async move {
            app.client
                .get(format!("{}/certificates/verify?code={c}", app.url))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = page(code.clone()).await;
    assert!(
        html.contains("交付されています") && html.contains("住民票の写し"),
        "{html}"
    );
    assert!(html.contains(&sha), "{html}");
    let html = page(format!("{}X", &code[..code.len() - 1])).await;
    assert!(html.contains("交付された証明書はありません"), "{html}");

    // Refusals, each with its own code and nothing issued.
    let before = issued_count(&app).await;
    let refused = |i: Issued, want: &str| {
        assert_eq!(
            (i.status, i.error()),
            (409, want.to_owned()),
            "{}",
            String::from_utf8_lossy(&i.body)
        );
    };
    // Outside the service hours.
    app.clock
        .set(chrono::DateTime::parse_from_rfc3339("2026-04-01T23:30:00+09:00").unwrap());
    refused(
        machine(&app, &head_card, json!({"kind": "juminhyo"})).await,
        "konbini.closed",
    );
    app.clock
        .set(chrono::DateTime::parse_from_rfc3339("2026-12-30T10:00:00+09:00").unwrap());
    refused(
        machine(&app, &head_card, json!({"kind": "juminhyo"})).await,
        "konbini.closed",
    );
    app.clock
        .set(chrono::DateTime::parse_from_rfc3339("2026-04-02T09:00:00+09:00").unwrap());
    // The municipality's own hours (narrower than the machines').
    let (s, _) = op
        .put(
            "/api/v1/konbini/municipalities/131016",
            &json!({"name": "千代田区", "fee_juminhyo": 200, "fee_kisai_jiko": 200,
                    "fee_inkan": 300, "opens": "10:00", "closes": "17:00"}),
        )
        .await;
    assert_eq!(s, 204);
    refused(
        machine(&app, &head_card, json!({"kind": "juminhyo"})).await,
        "konbini.closed",
    );
    let (s, r) = op
        .put(
            "/api/v1/konbini/municipalities/131016",
            &json!({"name": "千代田区", "fee_juminhyo": 200, "fee_kisai_jiko": 200,
                    "fee_inkan": 300, "opens": "05:00"}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("hours.range")),
        "{r}"
    );
    let (s, _) = op
        .put(
            "/api/v1/konbini/municipalities/131016",
            &json!({"name": "千代田区", "fee_juminhyo": 200, "fee_kisai_jiko": 200, "fee_inkan": 300}),
        )
        .await;
    assert_eq!(s, 204);
    // Under 15.
    refused(
        machine(&app, &child_card, json!({"kind": "juminhyo"})).await,
        "konbini.age",
    );
    // A household member under 支援措置: not on a household copy (the applicant's own is fine).
    let (s, _) = muni
        .put(
            &format!("/api/v1/registry/residents/{wife}/support-measure"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 204);
    refused(
        machine(
            &app,
            &head_card,
            json!({"kind": "juminhyo", "household": true}),
        )
        .await,
        "konbini.support_measure",
    );
    let (s, _) = muni
        .delete(&format!(
            "/api/v1/registry/residents/{wife}/support-measure"
        ))
        .await;
    assert_eq!(s, 204);
    // A municipality not taking part.
    let (s, _) = op.delete("/api/v1/konbini/municipalities/131016").await;
    assert_eq!(s, 204);
    refused(
        machine(&app, &head_card, json!({"kind": "juminhyo"})).await,
        "konbini.not_participating",
    );
    let (s, _) = op
        .put(
            "/api/v1/konbini/municipalities/131016",
            &json!({"name": "千代田区", "fee_juminhyo": 200, "fee_kisai_jiko": 200, "fee_inkan": 300}),
        )
        .await;
    assert_eq!(s, 204);
    // A suspended, then a revoked authentication certificate.
    let (_, certs) = muni
        .get(&format!("/api/v1/jpki/residents/{head}/certificates"))
        .await;
    let serial = certs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["root"] == "auth" && c["status"] == "good")
        .unwrap()["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let action = |a: &'static str, body: Value| {
        let serial = serial.clone();
        let muni = &muni;
        async move {
            let (s, r) = muni
                .post(&format!("/api/v1/jpki/certificates/{serial}/{a}"), &body)
                .await;
            assert_eq!(s, 200, "{r}");
        }
    };
    action("hold", json!({})).await;
    refused(
        machine(&app, &head_card, json!({"kind": "juminhyo"})).await,
        "certificate.suspended",
    );
    action("release", json!({})).await;
    action("revoke", json!({"reason": "keyCompromise"})).await;
    refused(
        machine(&app, &head_card, json!({"kind": "juminhyo"})).await,
        "certificate.revoked",
    );
    assert_eq!(
        issued_count(&app).await,
        before,
        "nothing issued by a refusal"
    );
    app.finish().await;
}

on_both_backends!(certificates_at_the_convenience_store);
