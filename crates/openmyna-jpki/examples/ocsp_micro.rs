//! Cost of one signed OCSP response, without HTTP: the ECDSA P-256 signature alone, the
//! hand-encoded `ResponseData`, and the whole response (what a request with a nonce costs).
//!
//! `cargo run --release -p openmyna-jpki --example ocsp_micro`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::time::Instant;

use chrono::{DateTime, Duration};
use openmyna_core::SeededEntropy;
use openmyna_jpki::ca::RootCa;
use openmyna_jpki::ocsp::{self, Answer, ResponderTemplate};
use openmyna_jpki::{JpkiError, KeyKind, RootKind};

fn per_op(n: u32, mut f: impl FnMut() -> Result<(), JpkiError>) -> Result<f64, JpkiError> {
    let start = Instant::now();
    for _ in 0..n {
        f()?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(n))
}

fn main() -> Result<(), JpkiError> {
    let now = DateTime::parse_from_rfc3339("2026-04-01T10:00:00+09:00")
        .map_err(|e| JpkiError::Inconsistent(e.to_string()))?;
    let ca = RootCa::create(
        RootKind::Auth,
        KeyKind::EcP256,
        &now,
        &SeededEntropy::new(9),
    )?;
    let template = ResponderTemplate::new(&ca)?;
    // A SHA-1 CertID's size and a 16-octet nonce extension's size; the content is not parsed.
    let id = [0x30u8; 75];
    let nonce = [0x30u8; 33];
    let answers = [(&id[..], Answer::Good)];
    let n = 50_000;
    let sign = per_op(n, || {
        ca.responder.key.sign(b"an OCSP ResponseData").map(|_| ())
    })?;
    let tbs = per_op(n, || {
        ocsp::response_data(&template, &now, Duration::hours(6), &answers, Some(&nonce)).map(|_| ())
    })?;
    let whole = per_op(n, || {
        ocsp::sign_response(
            &ca,
            &template,
            &now,
            Duration::hours(6),
            &answers,
            Some(&nonce),
        )
        .map(|_| ())
    })?;
    println!("| step | µs per response |");
    println!("|---|---|");
    println!("| ECDSA P-256 signature (aws-lc) | {sign:.2} |");
    println!("| ResponseData encoding | {tbs:.2} |");
    println!("| whole signed response | {whole:.2} |");
    Ok(())
}
