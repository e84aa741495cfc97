//! Two openmyna servers on one database, as where users outgrow one machine: a challenge
//! issued by one is taken by the other (and only once, whichever server sees it again), and a
//! suspension made through one reaches the other's cached OCSP answers at once (PostgreSQL's
//! LISTEN/NOTIFY; the status-log poll on SQLite). The scheduler's lease is tested in the
//! services' unit tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use openmyna::terminal::card_proof;
use openmyna_cardio::client::Certificate;
use openmyna_core::{Role, SeededEntropy};
use serde_json::{Value, json};

use crate::common::fixtures::{b64, card};
use crate::common::{Backend, real_now, spawn_app_at};

fn openssl(args: &[&str]) -> String {
    let o = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn pem(label: &str, der: &[u8]) -> String {
    openmyna::bench_pem(label, der)
}

async fn servers_share_challenges_and_status_changes(backend: Backend) {
    let a = spawn_app_at(backend, real_now()).await;
    // Server B: its own connections, CA caches and challenge book, on A's database and
    // configuration (the same master key).
    let store_b = openmyna::app::open_store(&a.config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = openmyna::app::start(
        &a.config,
        store_b,
        listener,
        a.clock.clone(),
        Arc::new(SeededEntropy::new(99)),
    )
    .await
    .unwrap();
    let b_url = b.url();
    let dir = tempfile::tempdir().unwrap();
    let resident = a.register_resident(true).await;
    let path = dir.path().join("card.json");
    a.issue_card(resident, &path, Some("abc123")).await.unwrap();

    // A portal challenge from A, answered at B; the same answer again at A is a replay.
    let c: Value = a
        .client
        .post(format!("{}/api/v1/portal/challenge", a.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(c["challenge"].as_str().unwrap())
        .unwrap();
    let proof = card_proof(&mut card(&path), "1234", &bytes).unwrap();
    let body = json!({"challenge_id": c["challenge_id"], "certificate": b64(&proof.certificate),
                      "signature": b64(&proof.signature)});
    let at_b = a
        .client
        .post(format!("{b_url}/api/v1/portal/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(at_b.status().as_u16(), 200, "{:?}", at_b.text().await);
    for url in [&a.url, &b_url] {
        let again = a
            .client
            .post(format!("{url}/api/v1/portal/login"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status().as_u16(), 409);
        let e: Value = again.json().await.unwrap();
        assert_eq!(e["error"]["code"], "challenge.used", "{url}");
    }

    // B's OCSP cache holds "good"; a suspension through A reaches it.
    let root = a
        .client
        .get(format!("{}/ca/auth.crt", a.url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let cert = card(&path).read_certificate(Certificate::Auth).unwrap();
    let root_pem = dir.path().join("root.pem");
    let cert_pem = dir.path().join("cert.pem");
    std::fs::write(&root_pem, pem("CERTIFICATE", &root)).unwrap();
    std::fs::write(&cert_pem, pem("CERTIFICATE", &cert)).unwrap();
    let ocsp_at_b = || {
        openssl(&[
            "ocsp",
            "-issuer",
            root_pem.to_str().unwrap(),
            "-cert",
            cert_pem.to_str().unwrap(),
            "-url",
            &format!("{b_url}/ocsp/auth"),
            "-CAfile",
            root_pem.to_str().unwrap(),
            "-no_nonce",
        ])
    };
    for _ in 0..2 {
        let out = ocsp_at_b();
        assert!(out.contains(": good"), "{out}");
    }
    let serial = openmyna_jpki::profile::parse_certificate(&cert)
        .map(|c| {
            openmyna_jpki::serial::Serial::from_der_bytes(
                c.tbs_certificate.serial_number.as_bytes(),
            )
            .unwrap()
            .to_hex()
        })
        .unwrap();
    let (s, r) = a
        .post(
            &format!("/api/v1/jpki/certificates/{serial}/hold"),
            Some(Role::Municipality),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let started = Instant::now();
    loop {
        let out = ocsp_at_b();
        if out.contains(": revoked") {
            assert!(out.contains("certificateHold"), "{out}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B still answers good: {out}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.stop().await.unwrap();
    a.finish().await;
}

on_both_backends!(servers_share_challenges_and_status_changes);
