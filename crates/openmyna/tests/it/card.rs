//! The virtual card end to end on both backends: issuance from the registry and the CA,
//! the JPKI client library over the in-process transport, PIN lockout that survives reloading
//! the card, the municipality's audited reset, and signatures checked by OpenSSL.

use std::process::Command;

use crate::common::fixtures::card as client;
use crate::common::{Backend, spawn_app};
use openmyna_card::{KeyId, PinId};
use openmyna_cardio::client::Certificate;
use openmyna_cardio::{CardFile, CardIoError};
use openmyna_core::Role;

fn openssl(args: &[&str]) -> (bool, String) {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

async fn issue_read_sign(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = app.register_resident(true).await;
    let path = dir.path().join("card.json");
    let issued = app
        .issue_card(resident, &path, Some("abc123"))
        .await
        .unwrap();
    assert_eq!(issued.serial.len(), 13);
    let sign_serial = issued
        .sign_certificate
        .clone()
        .expect("adult: signing certificate");

    // The certificates on the card are the ones the CA issued and serves.
    let mut c = client(&path);
    assert_eq!(c.token_label().unwrap(), "JPKIAPICCTOKEN2");
    assert_eq!(c.manufacturing_number().unwrap(), issued.serial);
    let auth = c.read_certificate(Certificate::Auth).unwrap();
    let (s, served) = app
        .get(
            &format!("/api/v1/jpki/certificates/{}", issued.auth_certificate),
            Some(Role::Municipality),
        )
        .await;
    assert_eq!(s, 200, "{served}");
    let auth_path = dir.path().join("auth.der");
    std::fs::write(&auth_path, &auth).unwrap();
    let (ok, text) = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        auth_path.to_str().unwrap(),
        "-noout",
        "-serial",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains(&issued.auth_certificate), "{text}");
    // The signing certificate only after the password.
    assert!(matches!(
        c.read_certificate(Certificate::Sign),
        Err(CardIoError::Status { .. })
    ));
    c.verify(PinId::Sign, "abc123").unwrap();
    let sign = c.read_certificate(Certificate::Sign).unwrap();
    let sign_path = dir.path().join("sign.der");
    std::fs::write(&sign_path, &sign).unwrap();
    let (ok, text) = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        sign_path.to_str().unwrap(),
        "-noout",
        "-serial",
        "-ext",
        "subjectAltName",
    ]);
    assert!(ok && text.contains(&sign_serial), "{text}");

    // The 4 information and My Number from the 入力補助AP match the registry.
    let b = c.basic4("5678").unwrap();
    assert_eq!(
        b.name, "山田\u{3000}太郎",
        "the registry keeps a full-width space"
    );
    assert_eq!(b.address, "東京都千代田区霞が関一丁目1番1号");
    assert_eq!((b.birth.as_str(), b.sex.as_str()), ("19850615", "1"));
    let entropy = openmyna_core::SeededEntropy::new(1);
    let registry = openmyna_registry::Registry::new(&app.store, app.clock.as_ref(), &entropy);
    let record = registry
        .get(openmyna_registry::ResidentId::parse(&resident.to_string()).unwrap())
        .await
        .unwrap();
    assert_eq!(c.my_number("5678").unwrap(), record.my_number.expose());

    // Signatures from both keys verify with OpenSSL against the certified keys.
    let msg = dir.path().join("msg.txt");
    std::fs::write(&msg, b"I agree to share my address with my bank.").unwrap();
    for (key, pin, cert) in [
        (KeyId::Auth, "1234", &auth_path),
        (KeyId::Sign, "ABC123", &sign_path),
    ] {
        let sig = c.sign(key, pin, &std::fs::read(&msg).unwrap()).unwrap();
        let sig_path = dir.path().join("msg.sig");
        std::fs::write(&sig_path, &sig).unwrap();
        let pubkey = dir.path().join("key.pub");
        let (ok, text) = openssl(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            cert.to_str().unwrap(),
            "-pubkey",
            "-noout",
            "-out",
            pubkey.to_str().unwrap(),
        ]);
        assert!(ok, "{text}");
        let (ok, text) = openssl(&[
            "dgst",
            "-sha256",
            "-verify",
            pubkey.to_str().unwrap(),
            "-signature",
            sig_path.to_str().unwrap(),
            msg.to_str().unwrap(),
        ]);
        assert!(ok && text.contains("Verified OK"), "{key:?}: {text}");
    }
    // No private key material leaves the card: the card file's keys are not in any answer,
    // and Debug of the state hides them.
    let state = CardFile::open(&path).unwrap().load().unwrap();
    assert!(format!("{state:?}").contains("not exportable"));
    app.finish().await;
}

async fn lockout_survives_and_unlock_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = app.register_resident(true).await;
    let path = dir.path().join("card.json");
    let issued = app
        .issue_card(resident, &path, Some("PASS1234"))
        .await
        .unwrap();
    {
        let mut c = client(&path);
        assert!(matches!(
            c.verify(PinId::Auth, "0000"),
            Err(CardIoError::WrongPin { tries_left: 2, .. })
        ));
    }
    // Each answered failure is on disk: a new holder of the file (a restarted process) sees it.
    let mut c = client(&path);
    assert_eq!(c.pin_tries(PinId::Auth).unwrap(), 2);
    assert!(matches!(
        c.verify(PinId::Auth, "1111"),
        Err(CardIoError::WrongPin { tries_left: 1, .. })
    ));
    assert!(matches!(
        c.verify(PinId::Auth, "2222"),
        Err(CardIoError::PinBlocked { .. })
    ));
    assert!(matches!(
        c.verify(PinId::Auth, "1234"),
        Err(CardIoError::PinBlocked { .. })
    ));
    let mut c = client(&path);
    assert_eq!(c.pin_tries(PinId::Auth).unwrap(), 0);
    assert!(c.sign(KeyId::Auth, "1234", b"x").is_err());
    // The signing password, the 入力補助 PIN and the 住基 PIN are separate counters; the
    // 住基 PIN defaulted to the authentication PIN at issuance.
    assert_eq!(c.pin_tries(PinId::Sign).unwrap(), 5);
    assert_eq!(c.pin_tries(PinId::Assist).unwrap(), 3);
    assert_eq!(c.pin_tries(PinId::Juki).unwrap(), 3);
    c.verify(PinId::Juki, "1234").unwrap();

    // The municipality resets it; the reset is audited.
    let file = CardFile::open(&path).unwrap();
    let tries = openmyna_services::cards::unlock(
        &app.store,
        app.clock.as_ref(),
        &file,
        PinId::Auth,
        Some("4321"),
        "千代田区 window 3",
    )
    .await
    .unwrap();
    assert_eq!(tries, 3);
    let mut c = client(&path);
    assert_eq!(c.pin_tries(PinId::Auth).unwrap(), 3);
    assert!(matches!(
        c.verify(PinId::Auth, "1234"),
        Err(CardIoError::WrongPin { .. })
    ));
    c.verify(PinId::Auth, "4321").unwrap();
    let events = app.store.cards().card_events(&issued.serial).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["issued", "pin_reset"]);
    assert_eq!(events[1].actor, "千代田区 window 3");
    assert!(
        events[1]
            .detail
            .contains("auth reset (0 tries left before)"),
        "{}",
        events[1].detail
    );
    assert!(
        !events[1].detail.contains("4321"),
        "no PIN in the audit trail"
    );

    // Changing a PIN needs the current one and obeys the rules.
    assert!(c.change_pin(PinId::Sign, "PASS1234", "short").is_err());
    c.change_pin(PinId::Sign, "pass1234", "newpass99").unwrap();
    c.verify(PinId::Sign, "NEWPASS99").unwrap();
    app.finish().await;
}

async fn issuance_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let adult = app.register_resident(true).await;
    let child = app.register_resident(false).await;
    let out = dir.path().join("a.json");
    // Rules are checked before anything is certified or written.
    for (pw, needle) in [
        (None, "signing password is required"),
        (Some("abcdef"), "letter and at least one digit"),
        (Some("ab1"), "6 to 16"),
    ] {
        let e = app.issue_card(adult, &out, pw).await.unwrap_err();
        assert!(e.to_string().contains(needle), "{e}");
        assert!(!out.exists());
    }
    let (s, certs) = app
        .get(
            &format!("/api/v1/jpki/residents/{adult}/certificates"),
            Some(Role::Municipality),
        )
        .await;
    assert_eq!(s, 200, "{certs}");
    assert_eq!(certs.as_array().map(Vec::len), Some(0), "{certs}");
    // Children get no signing key, certificate or password.
    let e = app
        .issue_card(child, &out, Some("ABC123"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("under 15"), "{e}");
    let issued = app.issue_card(child, &out, None).await.unwrap();
    assert!(issued.sign_certificate.is_none());
    let mut c = client(&out);
    assert_eq!(
        c.pin_tries(PinId::Sign).unwrap(),
        0,
        "no signing password: answers as locked"
    );
    assert_eq!(c.pin_tries(PinId::Auth).unwrap(), 3);
    // A card file is never overwritten.
    let e = app
        .issue_card(adult, &out, Some("ABC123"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("never overwritten"), "{e}");
    app.finish().await;
}

on_both_backends!(
    issue_read_sign,
    lockout_survives_and_unlock_is_audited,
    issuance_rules
);
