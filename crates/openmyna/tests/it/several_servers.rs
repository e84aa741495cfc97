//! Two openmyna servers on one database, as where users outgrow one machine: a challenge
//! issued by one is taken by the other (and only once: on PostgreSQL whichever server sees it
//! again), and a
//! suspension made through one reaches the other's cached OCSP answers at once (PostgreSQL's
//! LISTEN/NOTIFY; the status-log poll on SQLite). The scheduler's lease is tested in the
//! services' unit tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openmyna::terminal::card_proof;
use openmyna_cardio::client::Certificate;
use openmyna_core::{Role, SeededEntropy};
use serde_json::{Value, json};

use crate::common::fixtures::{b64, card, portal_challenge};
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
    let (challenge_id, bytes) = portal_challenge(&a.client, &a.url).await;
    let proof = card_proof(&mut card(&path), "1234", &bytes).unwrap();
    let body = json!({"challenge_id": challenge_id, "certificate": b64(&proof.certificate),
                      "signature": b64(&proof.signature)});
    let at_b = a
        .client
        .post(format!("{b_url}/api/v1/portal/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(at_b.status().as_u16(), 200, "{:?}", at_b.text().await);
    // On PostgreSQL the other server refuses the replay too (the database records each use);
    // on SQLite, which serves one server, the server that took it does.
    let replayed_at: Vec<&String> = if backend == Backend::Postgres {
        vec![&a.url, &b_url]
    } else {
        vec![&b_url]
    };
    for url in replayed_at {
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
    let root = a.get_bytes("/ca/auth.crt").await;
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

/// Three `openmyna serve` processes on one PostgreSQL: the terminal takes each challenge from
/// one server and answers at the next; one server is killed (`kill -9`) during the load.
/// Every verification that was answered 200 is in the database with its access-log entry,
/// and the access log's hash chain holds.
async fn three_processes_and_a_kill() {
    let a = spawn_app_at(Backend::Postgres, real_now()).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = a.register_resident(true).await;
    let path = dir.path().join("card.json");
    a.issue_card(resident, &path, Some("abc123")).await.unwrap();
    let my_number = card(&path).my_number("5678").unwrap();
    let (s, r) = a
        .post(
            "/api/v1/insurance/records",
            Some(Role::Insurer),
            &json!({"records": [{
                "my_number": my_number, "insurer_number": "01130012",
                "insurer_name": "全国健康保険協会 東京支部", "symbol": "12345", "number": "301",
                "branch": "00", "card_class": "01", "relationship": "1", "name": "山田 太郎",
                "name_kana": "ヤマダ タロウ", "birth_date": "1985-06-15", "sex": "1",
                "address": "東京都千代田区霞が関一丁目1番1号", "qualification_date": "2020-04-01",
                "co_payment_ratio": "030", "limit_kind": "01", "limit_category": "A03",
                "limit_valid_from": "2026-04-01"}]}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let token = a.terminal_token().await;
    let t = openmyna::terminal::OqsClient::new(&a.url, &token);
    t.register::<Value, _>(&mut card(&path), "1234")
        .await
        .unwrap()
        .unwrap();

    let mut servers: Vec<(std::process::Child, String)> =
        (0..3).map(|_| a.serve_process()).collect();
    let urls: Vec<String> = servers.iter().map(|(_, u)| u.clone()).collect();
    let clients: Vec<_> = urls
        .iter()
        .map(|u| openmyna::terminal::OqsClient::new(u, &token))
        .collect();
    let mut acknowledged = Vec::new();
    let mut failed = 0;
    let mut killed = false;
    for i in 0..60usize {
        if i == 20 {
            // kill -9 the second server in the middle of the load.
            servers[1].0.kill().unwrap();
            servers[1].0.wait().unwrap();
            killed = true;
        }
        let (from, to) = (i % 3, (i + 1) % 3);
        let Ok(Ok((id, bytes))) =
            tokio::time::timeout(Duration::from_secs(5), clients[from].challenge()).await
        else {
            failed += 1;
            continue;
        };
        let proof = card_proof(&mut card(&path), "1234", &bytes).unwrap();
        let body = json!({"challenge_id": id, "certificate": b64(&proof.certificate),
                          "signature": b64(&proof.signature), "method": "pin"});
        match tokio::time::timeout(
            Duration::from_secs(5),
            clients[to].post::<Value, _>("/api/v1/oqs/verifications", &body),
        )
        .await
        {
            Ok(Ok(Ok(v))) => acknowledged.push(v["verification_id"].as_str().unwrap().to_owned()),
            Ok(Ok(Err(refusal))) => panic!("refused: {} {}", refusal.status, refusal.code),
            _ => failed += 1,
        }
    }
    assert!(killed);
    // Everything that did not involve the killed server went through.
    assert!(
        acknowledged.len() >= 20,
        "{} acknowledged, {failed} failed",
        acknowledged.len()
    );
    for id in &acknowledged {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oqs_verifications WHERE id = $1")
            .bind(id)
            .fetch_one(a.store.pool())
            .await
            .unwrap();
        assert_eq!(n, 1, "acknowledged verification {id} is missing");
    }
    let logged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_log WHERE resident_id = $1 AND category = 'oqs.eligibility'",
    )
    .bind(resident)
    .fetch_one(a.store.pool())
    .await
    .unwrap();
    assert!(
        logged >= acknowledged.len() as i64,
        "{logged} access-log entries"
    );
    let (_, chain) = a
        .store
        .access()
        .verify_access_chain(resident)
        .await
        .unwrap();
    assert!(
        chain.intact,
        "the access log's chain broke at {:?}",
        chain.broken_at_seq
    );
    for (mut child, _) in servers {
        let _ = child.kill();
        let _ = child.wait();
    }
    a.finish().await;
}

/// Several servers need PostgreSQL (SQLite serves one server), so this runs on PostgreSQL only.
mod three_processes_on_postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(openmyna_test_pg),
        ignore = "no PostgreSQL: build with OPENMYNA_TEST_DATABASE_URL set to run it"
    )]
    async fn and_a_kill() {
        if crate::common::postgres_url().is_some() {
            super::three_processes_and_a_kill().await
        }
    }
}
