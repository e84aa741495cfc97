//! A signed document checked by standard tools: poppler's `pdfsig` (the signature valid, and
//! the signer trusted once our root is in its NSS database), `qpdf --check` (the file's
//! structure), `pdftotext` (the Japanese text extractable), and OpenSSL on the CMS over the
//! signed byte ranges. Skipped when the tools are missing, unless
//! `OPENMYNA_TEST_REQUIRE_PDF_TOOLS=1` (CI).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::process::Command;

use openmyna_core::{Entropy, OsEntropy};
use openmyna_jpki::{KeyKind, RootCa, RootKind, Serial, SigningKey, cms, profile};
use openmyna_pdf::{Document, Page, PdfError, SignatureInfo};

fn tool(name: &str) -> bool {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("OPENMYNA_TEST_REQUIRE_PDF_TOOLS").as_deref() == Ok("1") {
        panic!("{name} is missing (apt install poppler-utils poppler-data qpdf libnss3-tools)");
    }
    ok
}

fn run(cmd: &mut Command) -> (bool, String) {
    let o = cmd.output().expect("the tool runs");
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn pem(der: &[u8]) -> String {
    let b64 = {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in der.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    };
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

#[test]
fn a_signed_certificate_document_passes_standard_validators() {
    let entropy = OsEntropy;
    let now = chrono::Utc::now().fixed_offset();
    let root = RootCa::create(RootKind::Sign, KeyKind::Rsa2048, &now, &entropy).unwrap();
    let signer = SigningKey::generate(KeyKind::Rsa2048).unwrap();
    let cert = profile::document_signer_certificate(
        &root.key,
        &signer.spki_der().unwrap(),
        "東京都千代田区",
        "千代田区長",
        Serial::generate(&entropy as &dyn Entropy),
        &(now - chrono::Duration::minutes(5)),
        &(now + chrono::Duration::days(365)),
    )
    .unwrap();

    let mut page = Page::new();
    page.text_centred(297.0, 780.0, 20.0, "住民票の写し");
    page.text(60.0, 720.0, 11.0, "氏名　山田　太郎");
    page.text(60.0, 700.0, 11.0, "住所　東京都千代田区霞が関一丁目1番1号");
    page.line(60.0, 690.0, 535.0, 690.0, 0.8);
    page.text(60.0, 120.0, 9.0, "照合番号 ABCD-1234-EFGH");
    let mut doc = Document::new("住民票の写し", "東京都千代田区");
    doc.push(page);
    let info = SignatureInfo {
        name: "千代田区長".into(),
        reason: "住民票の写し".into(),
        location: "東京都千代田区".into(),
        time: "D:20261204090000+09'00'".into(),
    };
    let pdf = doc
        .sign(&info, |digest| -> Result<Vec<u8>, PdfError> {
            let cms = cms::build_pades(digest, &cert, &[], |attrs| signer.sign(attrs))
                .unwrap()
                .unwrap();
            Ok(cms)
        })
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("juminhyo.pdf");
    std::fs::write(&file, &pdf).unwrap();
    if let Ok(keep) = std::env::var("OPENMYNA_KEEP_PDF") {
        std::fs::write(keep, &pdf).unwrap();
    }
    std::fs::write(d.join("root.pem"), pem(&root.cert_der)).unwrap();

    // OpenSSL: the detached CMS over the signed byte ranges, chained to the root.
    if tool("openssl") {
        let [a, b, c, l] = openmyna_pdf::byte_range(&pdf).unwrap();
        let mut signed = pdf[a..a + b].to_vec();
        signed.extend_from_slice(&pdf[c..c + l]);
        std::fs::write(d.join("signed.bin"), &signed).unwrap();
        std::fs::write(
            d.join("sig.der"),
            openmyna_pdf::signature_contents(&pdf).unwrap(),
        )
        .unwrap();
        let (ok, out) = run(Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(d.join("sig.der"))
            .arg("-content")
            .arg(d.join("signed.bin"))
            .arg("-CAfile")
            .arg(d.join("root.pem"))
            .args(["-purpose", "any", "-out", "/dev/null"]));
        assert!(ok, "openssl cms -verify: {out}");
    }
    if tool("qpdf") {
        let (ok, out) = run(Command::new("qpdf").arg("--check").arg(&file));
        assert!(ok, "qpdf --check: {out}");
    }
    if tool("pdftotext") {
        let (ok, out) = run(Command::new("pdftotext").arg(&file).arg("-"));
        assert!(
            ok && out.contains("住民票の写し") && out.contains("山田"),
            "{out}"
        );
    }
    if tool("pdfsig") && tool("certutil") {
        let (ok, out) = run(Command::new("pdfsig").arg(&file));
        assert!(ok, "{out}");
        assert!(out.contains("Signature is Valid"), "{out}");
        assert!(out.contains("ETSI.CAdES.detached"), "{out}");
        // With our root trusted in an NSS database, the signer is trusted too.
        let nss = d.join("nss");
        std::fs::create_dir(&nss).unwrap();
        let db = format!("sql:{}", nss.display());
        let (ok, out) = run(Command::new("certutil").args(["-N", "--empty-password", "-d", &db]));
        assert!(ok, "{out}");
        let (ok, out) = run(Command::new("certutil")
            .args(["-A", "-n", "openmyna-root", "-t", "C,C,C", "-d", &db, "-i"])
            .arg(d.join("root.pem")));
        assert!(ok, "{out}");
        let (ok, out) = run(Command::new("pdfsig").arg("-nssdir").arg(&db).arg(&file));
        assert!(ok, "{out}");
        assert!(
            out.contains("Signature is Valid") && out.contains("Certificate is Trusted"),
            "{out}"
        );
        // One changed byte in the covered part: the signature no longer verifies.
        let mut bad = pdf.clone();
        let at = pdf.windows(4).position(|w| w == b"<FEF").unwrap();
        bad[at + 4] = if bad[at + 4] == b'F' { b'E' } else { b'F' };
        let tampered = d.join("tampered.pdf");
        std::fs::write(&tampered, &bad).unwrap();
        let (_, out) = run(Command::new("pdfsig").arg(&tampered));
        assert!(!out.contains("Signature is Valid"), "{out}");
    }
}
