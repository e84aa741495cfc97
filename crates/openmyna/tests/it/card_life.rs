//! The card's life, on both backends: validity and renewal dates for an adult and a child; a
//! lost card suspended at once (OpenSSL's OCSP client sees certificateHold), released when
//! found, revoked when a new card is issued (the new one works, the old one does not), and a
//! returned card.

use std::path::Path;
use std::process::Command;

use crate::common::fixtures::card as client;
use crate::common::{Backend, TestApp, real_now, spawn_app, spawn_app_at};
use openmyna_card::KeyId;
use openmyna_cardio::CardFile;
use openmyna_cardio::client::Certificate;
use openmyna_core::Role;
use serde_json::{Value, json};

async fn card(app: &TestApp, serial: &str) -> Value {
    let (s, c) = app
        .get(&format!("/api/v1/cards/{serial}"), Some(Role::Municipality))
        .await;
    assert_eq!(s, 200, "{c}");
    c
}

async fn event(app: &TestApp, serial: &str, what: &str, role: Role) -> (u16, Value) {
    app.post(
        &format!("/api/v1/cards/{serial}/{what}"),
        Some(role),
        &json!({"note": "本人から電話 (24時間コールセンター)"}),
    )
    .await
}

/// OpenSSL's OCSP client on a certificate of the card.
async fn ocsp(app: &TestApp, dir: &Path, card_path: &Path, cert: Certificate, pin: &str) -> String {
    let mut c = client(card_path);
    let (root, der) = match cert {
        Certificate::Auth => ("auth", c.read_certificate(Certificate::Auth).unwrap()),
        _ => {
            c.verify(openmyna_card::PinId::Sign, pin).unwrap();
            ("sign", c.read_certificate(Certificate::Sign).unwrap())
        }
    };
    let root_der = app.get_bytes(&format!("/ca/{root}.crt")).await;
    let pem = |label: &str, der: &[u8], name: &str| {
        let p = dir.join(name);
        std::fs::write(&p, openmyna::bench_pem(label, der)).unwrap();
        p
    };
    let cert_path = pem("CERTIFICATE", &der, &format!("{root}-cert.pem"));
    let root_path = pem("CERTIFICATE", &root_der, &format!("{root}-root.pem"));
    let o = Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(&root_path)
        .arg("-cert")
        .arg(&cert_path)
        .args(["-url", &format!("{}/ocsp/{root}", app.url), "-CAfile"])
        .arg(&root_path)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn dates_for_adult_and_child(backend: Backend) {
    // Issued on 2026-04-01 (the test clock).
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let adult = app.register_resident(true).await; // born 1985-06-15
    let child = app.register_resident(false).await; // born 2015-06-15: 10 years old
    let a = app
        .issue_card(adult, &dir.path().join("a.json"), Some("ABC123"))
        .await
        .unwrap();
    let c = app
        .issue_card(child, &dir.path().join("c.json"), None)
        .await
        .unwrap();
    let a = card(&app, &a.serial).await;
    assert_eq!(
        a["dates"],
        json!({"issued_on": "2026-04-01", "card_expiry": "2035-06-15",
               "card_renewal_from": "2035-03-15", "certificates_expiry": "2030-06-15",
               "certificates_renewal_from": "2030-03-15"})
    );
    let c = card(&app, &c.serial).await;
    assert_eq!(
        c["dates"],
        json!({"issued_on": "2026-04-01", "card_expiry": "2030-06-15",
               "card_renewal_from": "2030-03-15", "certificates_expiry": "2030-06-15",
               "certificates_renewal_from": "2030-03-15"})
    );
    assert_eq!(
        c["sign_certificate"],
        Value::Null,
        "no signing certificate under 15"
    );
    // The certificates on the cards end on those dates (end of day, Japan time).
    for (view, expiry) in [(&a, "2030-06-15"), (&c, "2030-06-15")] {
        let (s, cert) = app
            .get(
                &format!(
                    "/api/v1/jpki/certificates/{}",
                    view["auth_certificate"].as_str().unwrap()
                ),
                Some(Role::Municipality),
            )
            .await;
        assert_eq!(s, 200, "{cert}");
        assert!(
            cert["not_after"].as_str().unwrap().starts_with(expiry),
            "{cert}"
        );
    }
    app.finish().await;
}

async fn lost_found_reissued_returned(backend: Backend) {
    // OpenSSL judges OCSP answers by the real clock.
    let app = spawn_app_at(backend, real_now()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let resident = app.register_resident(true).await;
    let first_path = d.join("first.json");
    let first = app
        .issue_card(resident, &first_path, Some("ABC123"))
        .await
        .unwrap();
    let out = ocsp(&app, d, &first_path, Certificate::Auth, "").await;
    assert!(
        out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );

    // Lost, reported to the 24-hour centre: both certificates suspended at once.
    let (s, c) = event(&app, &first.serial, "loss", Role::Operator).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("lost")), "{c}");
    for cert in [Certificate::Auth, Certificate::Sign] {
        let out = ocsp(&app, d, &first_path, cert, "ABC123").await;
        assert!(
            out.contains(": revoked") && out.contains("certificateHold"),
            "{out}"
        );
    }
    let (s, r) = event(&app, &first.serial, "loss", Role::Municipality).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("card.already_lost")),
        "{r}"
    );

    // Found again: released.
    let (s, c) = event(&app, &first.serial, "found", Role::Municipality).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("active")), "{c}");
    let out = ocsp(&app, d, &first_path, Certificate::Sign, "ABC123").await;
    assert!(out.contains(": good"), "{out}");

    // Lost for good: a new card. The old card's certificates are revoked (superseded); the
    // new card works.
    event(&app, &first.serial, "loss", Role::Operator).await;
    let second_path = d.join("second.json");
    let second = app
        .issue_card(resident, &second_path, Some("NEW456"))
        .await
        .unwrap();
    let old = card(&app, &first.serial).await;
    assert_eq!(old["status"], json!("replaced"));
    for cert in [Certificate::Auth, Certificate::Sign] {
        let out = ocsp(&app, d, &first_path, cert, "ABC123").await;
        assert!(
            out.contains(": revoked") && out.contains("superseded"),
            "{out}"
        );
        let out = ocsp(&app, d, &second_path, cert, "NEW456").await;
        assert!(
            out.contains("Response verify OK") && out.contains(": good"),
            "{out}"
        );
    }
    let sig = client(&second_path)
        .sign(KeyId::Auth, "1234", b"login")
        .unwrap();
    assert_eq!(sig.len(), 256);
    let (_, cards) = app
        .get(
            &format!("/api/v1/registry/residents/{resident}/cards"),
            Some(Role::Municipality),
        )
        .await;
    let statuses: Vec<&str> = cards
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(
        statuses.contains(&"replaced") && statuses.contains(&"active"),
        "{cards}"
    );

    // Returned (返納): revoked for good; nothing else is possible.
    let (s, c) = event(&app, &second.serial, "return", Role::Municipality).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("returned")), "{c}");
    let out = ocsp(&app, d, &second_path, Certificate::Auth, "").await;
    assert!(
        out.contains(": revoked") && out.contains("cessationOfOperation"),
        "{out}"
    );
    let (s, r) = event(&app, &second.serial, "found", Role::Municipality).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("card.status")),
        "{r}"
    );
    // Every step is in the cards' audit trail; unknown cards and other roles are refused.
    let events = app.store.cards().card_events(&first.serial).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["issued", "lost", "found", "lost", "replace"]);
    // The operator's 24-hour centre takes loss reports only.
    let (s, _) = event(&app, &second.serial, "found", Role::Operator).await;
    assert_eq!(s, 403);
    // A death voids the resident's card.
    let third = app
        .issue_card(resident, &d.join("third.json"), Some("ABC123"))
        .await
        .unwrap();
    let (s, r) = app
        .post(
            &format!("/api/v1/registry/residents/{resident}/death"),
            Some(Role::Municipality),
            &json!({"date": real_now().date_naive().to_string()}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(card(&app, &third.serial).await["status"], json!("void"));
    let (s, _) = event(&app, "ZZ00000000000", "loss", Role::Operator).await;
    assert_eq!(s, 404);
    let (s, _) = event(&app, &second.serial, "loss", Role::RelyingParty).await;
    assert_eq!(s, 403);
    app.finish().await;
}

async fn renewal_in_its_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = app.register_resident(true).await;
    let path = dir.path().join("card.json");
    let issued = app
        .issue_card(resident, &path, Some("ABC123"))
        .await
        .unwrap();
    let jpki = app.jpki().await;
    let file = CardFile::open(&path).unwrap();
    let e = openmyna_services::cards::renew(
        &app.store,
        &jpki,
        app.clock.as_ref(),
        &openmyna_core::OsEntropy,
        &file,
        "window",
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("from 2030-03-15"), "{e}");
    // 2030-04-01: inside the window (the certificates end on 2030-06-15).
    app.clock
        .set(chrono::DateTime::parse_from_rfc3339("2030-04-01T10:00:00+09:00").unwrap());
    let rec = openmyna_services::cards::renew(
        &app.store,
        &jpki,
        app.clock.as_ref(),
        &openmyna_core::OsEntropy,
        &file,
        "window",
    )
    .await
    .unwrap();
    assert_ne!(rec.auth_serial, issued.auth_certificate);
    for (old, new) in [
        (issued.auth_certificate.clone(), rec.auth_serial.clone()),
        (
            issued.sign_certificate.clone().unwrap(),
            rec.sign_serial.clone().unwrap(),
        ),
    ] {
        let (_, o) = app
            .get(
                &format!("/api/v1/jpki/certificates/{old}"),
                Some(Role::Municipality),
            )
            .await;
        assert_eq!(
            (o["status"].as_str(), o["reason"].as_str()),
            (Some("revoked"), Some("superseded")),
            "{o}"
        );
        let (_, n) = app
            .get(
                &format!("/api/v1/jpki/certificates/{new}"),
                Some(Role::Municipality),
            )
            .await;
        assert_eq!(n["status"], json!("good"), "{n}");
        // Until the 5th birthday after the renewal (2030-06-15 is the first).
        assert!(
            n["not_after"].as_str().unwrap().starts_with("2034-06-15"),
            "{n}"
        );
    }
    // The card carries the new certificate and signs with the new key; the PINs are unchanged.
    let mut c = client(&path);
    let der = c.read_certificate(Certificate::Auth).unwrap();
    let cert = openmyna_jpki::profile::parse_certificate(&der).unwrap();
    assert_eq!(
        openmyna_jpki::Serial::from_der_bytes(cert.tbs_certificate.serial_number.as_bytes())
            .unwrap()
            .to_hex(),
        rec.auth_serial
    );
    let sig = c.sign(KeyId::Auth, "1234", b"after renewal").unwrap();
    let spki = der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info).unwrap();
    openmyna_jpki::key::verify(&spki, b"after renewal", &sig).unwrap();
    let events = app.store.cards().card_events(&issued.serial).await.unwrap();
    assert_eq!(events.last().map(|e| e.action.as_str()), Some("renewed"));
    app.finish().await;
}

async fn kept_through_emigration_and_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = app.register_resident(true).await;
    let path = dir.path().join("card.json");
    let issued = app
        .issue_card(resident, &path, Some("ABC123"))
        .await
        .unwrap();
    let status = |serial: String| {
        let app = &app;
        async move {
            let (_, c) = app
                .get(
                    &format!("/api/v1/jpki/certificates/{serial}"),
                    Some(Role::Municipality),
                )
                .await;
            (
                c["status"].as_str().unwrap().to_owned(),
                c["reason"].as_str().unwrap_or("").to_owned(),
            )
        }
    };
    // 海外継続利用 before leaving, then the 国外転出 in the registry.
    let (s, c) = event(&app, &issued.serial, "overseas", Role::Municipality).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("overseas")), "{c}");
    let (s, r) = app
        .post(
            &format!("/api/v1/registry/residents/{resident}/removal"),
            Some(Role::Municipality),
            &json!({"date": "2026-04-01", "reason": "国外転出"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let auth = issued.auth_certificate.clone();
    let sign = issued.sign_certificate.clone().unwrap();
    assert_eq!(
        status(auth.clone()).await.0,
        "good",
        "the authentication certificate continues"
    );
    assert_eq!(
        status(sign.clone()).await,
        ("revoked".into(), "affiliationChanged".into())
    );
    // A new signing certificate for the holder abroad.
    let jpki = app.jpki().await;
    let file = CardFile::open(&path).unwrap();
    let e = openmyna_core::OsEntropy;
    let abroad = openmyna_services::cards::reissue_signing(
        &app.store,
        &jpki,
        app.clock.as_ref(),
        &e,
        &file,
        "在外公館",
    )
    .await
    .unwrap();
    let abroad_serial = abroad.sign_serial.clone().unwrap();
    assert_eq!(status(abroad_serial.clone()).await.0, "good");
    let mut c = client(&path);
    c.verify(openmyna_card::PinId::Sign, "ABC123").unwrap();
    let der = c.read_certificate(Certificate::Sign).unwrap();
    assert!(
        der.windows("国外".len()).any(|w| w == "国外".as_bytes()),
        "the address abroad is in the certificate"
    );
    let sig = c.sign(KeyId::Sign, "ABC123", b"signed abroad").unwrap();
    let cert = openmyna_jpki::profile::parse_certificate(&der).unwrap();
    let spki = der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info).unwrap();
    openmyna_jpki::key::verify(&spki, b"signed abroad", &sig).unwrap();
    // Domestic use needs the return in the registry first.
    let (s, r) = event(&app, &issued.serial, "domestic", Role::Municipality).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("resident.not_returned")),
        "{r}"
    );
    let (s, r) = app
        .post(
            &format!("/api/v1/registry/residents/{resident}/return"),
            Some(Role::Municipality),
            &json!({"address": {"municipality_code": "27100", "text": "大阪府大阪市北区梅田一丁目1番"}}),
        )
        .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("active")), "{r}");
    // The address changed again: the signing certificate abroad is revoked.
    assert_eq!(
        status(abroad_serial).await,
        ("revoked".into(), "affiliationChanged".into())
    );
    let (s, c) = event(&app, &issued.serial, "domestic", Role::Municipality).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("active")), "{c}");
    let home = openmyna_services::cards::reissue_signing(
        &app.store,
        &jpki,
        app.clock.as_ref(),
        &e,
        &file,
        "window",
    )
    .await
    .unwrap();
    assert_eq!(status(home.sign_serial.clone().unwrap()).await.0, "good");
    assert_eq!(
        status(auth).await.0,
        "good",
        "one authentication certificate throughout"
    );
    let mut c = client(&path);
    c.verify(openmyna_card::PinId::Sign, "ABC123").unwrap();
    let der = c.read_certificate(Certificate::Sign).unwrap();
    assert!(der.windows("梅田".len()).any(|w| w == "梅田".as_bytes()));
    app.finish().await;
}

on_both_backends!(
    dates_for_adult_and_child,
    lost_found_reissued_returned,
    renewal_in_its_window,
    kept_through_emigration_and_back
);
