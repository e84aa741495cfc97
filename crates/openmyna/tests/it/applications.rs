//! Card applications end to end, on both backends: each channel takes an application to a
//! working virtual card whose certificates OpenSSL verifies against the roots; rejection and
//! resubmission; bad applications refused with the reason and no change.

use std::path::Path;
use std::process::Command;

use crate::common::fixtures::photo;
use crate::common::{Backend, TestApp, spawn_app};
use base64::Engine;
use openmyna_cardio::client::Certificate;
use openmyna_cardio::{CardFile, JpkiClient, VirtualTransport};
use openmyna_core::Role;
use serde_json::{Value, json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn form(app: &TestApp, resident: i64) -> String {
    let (s, f) = app
        .post(
            "/api/v1/card-application-forms",
            Some(Role::Municipality),
            &json!({"resident_id": resident}),
        )
        .await;
    assert_eq!(s, 201, "{f}");
    f["form_id"].as_str().unwrap().to_owned()
}

async fn municipality(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    app.post(path, Some(Role::Municipality), &body).await
}

fn openssl_verify(dir: &Path, root_der: &[u8], cert_der: &[u8], name: &str) -> String {
    let pem = |der: &[u8], n: &str| {
        let p = dir.join(n);
        std::fs::write(&p, openmyna::bench_pem("CERTIFICATE", der)).unwrap();
        p
    };
    let root = pem(root_der, &format!("{name}-root.pem"));
    let cert = pem(cert_der, &format!("{name}.pem"));
    let o = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&root)
        .arg(&cert)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The card works: OpenSSL verifies both certificates against the roots, and it signs.
async fn check_card(app: &TestApp, dir: &Path, card_b64: &str, sign_password: &str) {
    let path = dir.join("card.json");
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, B64.decode(card_b64).unwrap()).unwrap();
    let mut c = JpkiClient::new(VirtualTransport::new(CardFile::open(&path).unwrap()));
    let fetch = |root: &'static str| {
        let url = format!("{}/ca/{root}.crt", app.url);
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec()
        }
    };
    let auth = c.read_certificate(Certificate::Auth).unwrap();
    let out = openssl_verify(dir, &fetch("auth").await, &auth, "auth");
    assert!(out.contains(": OK"), "{out}");
    c.verify(openmyna_card::PinId::Sign, sign_password).unwrap();
    let sign = c.read_certificate(Certificate::Sign).unwrap();
    let out = openssl_verify(dir, &fetch("sign").await, &sign, "sign");
    assert!(out.contains(": OK"), "{out}");
    assert_eq!(
        c.sign(openmyna_card::KeyId::Auth, "1234", b"hello")
            .unwrap()
            .len(),
        256
    );
}

/// Smartphone, PC, photo booth and mail: each application is accepted, made, followed with its
/// 申請書ID, and handed over at the window as a working card of which the server keeps no copy.
async fn four_channels_to_the_window(app: &TestApp, dir: &Path) {
    for channel in ["smartphone", "pc", "photo_booth", "mail"] {
        let resident = app.register_resident(true).await;
        let form_id = form(app, resident).await;
        let email = if channel == "smartphone" || channel == "pc" {
            json!("taro@example.jp")
        } else {
            Value::Null
        };
        let (s, a) = app
            .post(
                "/api/v1/card-applications",
                None,
                &json!({"form_id": form_id, "channel": channel, "email": email, "photo": photo(480, 640)}),
            )
            .await;
        assert_eq!(
            (s, a["status"].as_str()),
            (201, Some("submitted")),
            "{channel}: {a}"
        );
        let id = a["id"].as_i64().unwrap();
        let (s, r) = municipality(
            app,
            &format!("/api/v1/card-applications/{id}/review"),
            json!({"decision": "accept"}),
        )
        .await;
        assert_eq!((s, r["status"].as_str()), (200, Some("accepted")), "{r}");
        let (s, r) = municipality(
            app,
            &format!("/api/v1/card-applications/{id}/manufacture"),
            json!({}),
        )
        .await;
        assert_eq!(
            (s, r["status"].as_str()),
            (200, Some("manufactured")),
            "{r}"
        );
        assert_eq!(r["notice"]["kind"], json!("交付通知書"), "{r}");
        // The applicant follows it with the 申請書ID.
        let (s, st) = app
            .get(
                &format!("/api/v1/card-applications/{id}?form_id={form_id}"),
                None,
            )
            .await;
        assert_eq!(
            (s, st["status"].as_str()),
            (200, Some("manufactured")),
            "{st}"
        );
        let (s, _) = app
            .get(
                &format!("/api/v1/card-applications/{id}?form_id=00000000000000000000000"),
                None,
            )
            .await;
        assert_eq!(s, 404);
        // At the window: identity checked, PINs set, certificates issued.
        let (s, r) = municipality(
            app,
            &format!("/api/v1/card-applications/{id}/handover"),
            json!({"identity_document": "driver_license", "auth_pin": "1234", "sign_password": "abc123"}),
        )
        .await;
        assert_eq!(
            (s, r["application"]["status"].as_str()),
            (200, Some("delivered")),
            "{r}"
        );
        check_card(app, dir, r["card"].as_str().unwrap(), "ABC123").await;
        // The server keeps no copy of the card.
        let (s, _) = municipality(
            app,
            &format!("/api/v1/card-applications/{id}/handover"),
            json!({"identity_document": "driver_license", "auth_pin": "1234", "sign_password": "abc123"}),
        )
        .await;
        assert_eq!(s, 409);
    }
}

/// 出張申請受付: identity verified on site, PINs chosen there, the card mailed and taken with
/// the envelope's one-time code (the municipality cannot hand it over; the 申請書ID alone does
/// not take it).
async fn on_site_to_the_mailbox(app: &TestApp, dir: &Path) {
    let resident = app.register_resident(true).await;
    let (s, a) = municipality(
        app,
        "/api/v1/card-applications/on-site",
        json!({"resident_id": resident, "identity_document": "passport", "photo": photo(600, 800),
               "auth_pin": "1234", "sign_password": "onsite9"}),
    )
    .await;
    assert_eq!((s, a["channel"].as_str()), (201, Some("on_site")), "{a}");
    let id = a["id"].as_i64().unwrap();
    let form_id = a["form_id"].as_str().unwrap().to_owned();
    municipality(
        app,
        &format!("/api/v1/card-applications/{id}/review"),
        json!({"decision": "accept"}),
    )
    .await;
    let (s, r) = municipality(
        app,
        &format!("/api/v1/card-applications/{id}/manufacture"),
        json!({}),
    )
    .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("mailed")), "{r}");
    // The envelope's one-time code, given to the municipality once.
    let code = r["delivery_code"].as_str().unwrap().to_owned();
    let (_, st) = app
        .get(
            &format!("/api/v1/card-applications/{id}?form_id={form_id}"),
            None,
        )
        .await;
    assert!(st.get("delivery_code").is_none(), "{st}");
    let (s, r) = municipality(
        app,
        &format!("/api/v1/card-applications/{id}/handover"),
        json!({"identity_document": "passport", "auth_pin": "1234", "sign_password": "x"}),
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("application.mailed")),
        "{r}"
    );
    let (s, r) = app
        .post(
            &format!("/api/v1/card-applications/{id}/receive"),
            None,
            &json!({"form_id": form_id, "delivery_code": "0000"}),
        )
        .await;
    assert_eq!(s, 404, "the form ID alone does not take the card: {r}");
    let (s, r) = app
        .post(
            &format!("/api/v1/card-applications/{id}/receive"),
            None,
            &json!({"form_id": form_id, "delivery_code": code}),
        )
        .await;
    assert_eq!(
        (s, r["application"]["status"].as_str()),
        (200, Some("delivered")),
        "{r}"
    );
    check_card(app, dir, r["card"].as_str().unwrap(), "ONSITE9").await;
}

async fn the_four_channels_make_working_cards_at_the_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    four_channels_to_the_window(&app, dir.path()).await;
    app.finish().await;
}

async fn an_on_site_application_is_mailed_and_taken_with_the_envelope_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    on_site_to_the_mailbox(&app, dir.path()).await;
    app.finish().await;
}

async fn deliveries_are_counted_per_municipality_and_channel(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    four_channels_to_the_window(&app, dir.path()).await;
    on_site_to_the_mailbox(&app, dir.path()).await;
    // Counts per municipality and channel.
    let (s, stats) = app
        .get("/api/v1/card-applications/stats", Some(Role::Operator))
        .await;
    assert_eq!(s, 200, "{stats}");
    let delivered: i64 = stats
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == json!("delivered"))
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(delivered, 5, "{stats}");
    let channels: std::collections::BTreeSet<&str> = stats
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels.len(), 5, "{stats}");
    app.finish().await;
}

/// A resident with a 申請書 (its 申請書ID) and no application yet.
struct Applicant {
    app: TestApp,
    resident: i64,
    form_id: String,
}

async fn applicant_with_a_form(backend: Backend) -> Applicant {
    let app = spawn_app(backend).await;
    let resident = app.register_resident(true).await;
    let form_id = form(&app, resident).await;
    Applicant {
        app,
        resident,
        form_id,
    }
}

async fn bad_applications_are_refused_with_the_reason_and_store_nothing(backend: Backend) {
    let Applicant { app, form_id, .. } = applicant_with_a_form(backend).await;
    let apply = |body: Value| {
        let app = &app;
        async move { app.post("/api/v1/card-applications", None, &body).await }
    };
    let mut wrong = form_id.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    for (body, code) in [
        (
            json!({"form_id": form_id, "channel": "mail", "photo": ""}),
            "photo.missing",
        ),
        (
            json!({"form_id": form_id, "channel": "mail", "photo": "!!"}),
            "photo.base64",
        ),
        (
            json!({"form_id": form_id, "channel": "mail", "photo": photo(320, 400)}),
            "photo.too_small",
        ),
        (
            json!({"form_id": form_id, "channel": "mail", "photo": photo(800, 600)}),
            "photo.orientation",
        ),
        (
            json!({"form_id": wrong, "channel": "mail", "photo": photo(480, 640)}),
            "form_id.check_digit",
        ),
        (
            json!({"form_id": "1234", "channel": "mail", "photo": photo(480, 640)}),
            "form_id.format",
        ),
        (
            json!({"form_id": "00000000000000000000000", "channel": "mail", "photo": photo(480, 640)}),
            "form_id.unknown",
        ),
        (
            json!({"form_id": form_id, "channel": "smartphone", "photo": photo(480, 640)}),
            "email.invalid",
        ),
        (
            json!({"form_id": form_id, "channel": "fax", "photo": photo(480, 640)}),
            "channel.unknown",
        ),
    ] {
        let (s, r) = apply(body).await;
        assert_eq!((s, r["error"]["code"].as_str()), (422, Some(code)), "{r}");
    }
    let (_, list) = app
        .get("/api/v1/card-applications", Some(Role::Municipality))
        .await;
    assert_eq!(list, json!([]), "nothing was stored");
    app.finish().await;
}

async fn a_rejected_application_is_resubmitted_and_stays_the_only_one(backend: Backend) {
    let Applicant {
        app,
        resident,
        form_id,
    } = applicant_with_a_form(backend).await;
    let apply = |body: Value| {
        let app = &app;
        async move { app.post("/api/v1/card-applications", None, &body).await }
    };
    // Rejected with a reason the applicant sees; resubmitted with a better photo.
    let (s, a) = apply(
        json!({"form_id": form_id, "channel": "pc", "email": "a@b.jp", "photo": photo(480, 640)}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_i64().unwrap();
    // Another municipality (大阪市) does not see or act on 千代田区's application.
    let osaka = app.tokens_of(Role::Municipality)[1].to_owned();
    let (s, r) = app
        .post_as(
            &format!("/api/v1/card-applications/{id}/review"),
            &osaka,
            &json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(s, 404, "{r}");
    let (s, r) = municipality(
        &app,
        &format!("/api/v1/card-applications/{id}/review"),
        json!({"decision": "reject"}),
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("review.reason")),
        "{r}"
    );
    let (s, r) = municipality(
        &app,
        &format!("/api/v1/card-applications/{id}/review"),
        json!({"decision": "reject", "reason": "写真の背景に影があります"}),
    )
    .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("rejected")), "{r}");
    let (_, st) = app
        .get(
            &format!("/api/v1/card-applications/{id}?form_id={form_id}"),
            None,
        )
        .await;
    assert_eq!(st["reason"], json!("写真の背景に影があります"));
    let (s, r) = municipality(
        &app,
        &format!("/api/v1/card-applications/{id}/manufacture"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("application.status")),
        "{r}"
    );
    let (s, a) = apply(json!({"form_id": form_id, "channel": "smartphone", "email": "a@b.jp", "photo": photo(500, 700)})).await;
    assert_eq!(
        (s, a["status"].as_str(), a["id"].as_i64()),
        (201, Some("submitted"), Some(id)),
        "{a}"
    );
    assert_eq!(a["photo"]["width"], json!(500));
    let (s, r) =
        apply(json!({"form_id": form_id, "channel": "mail", "photo": photo(480, 640)})).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("application.exists")),
        "{r}"
    );
    // On-site intake checks the identity document and the PINs before storing anything.
    let (s, r) = municipality(
        &app,
        "/api/v1/card-applications/on-site",
        json!({"resident_id": resident, "identity_document": "library_card", "photo": photo(480, 640), "auth_pin": "1234", "sign_password": "abc123"}),
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("identity_document.unknown")),
        "{r}"
    );
    let (s, r) = municipality(
        &app,
        "/api/v1/card-applications/on-site",
        json!({"resident_id": resident, "identity_document": "passport", "photo": photo(480, 640), "auth_pin": "12", "sign_password": "abc123"}),
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("pin.rule")),
        "{r}"
    );
    let (_, list) = app
        .get("/api/v1/card-applications", Some(Role::Municipality))
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        list[0].get("form_id").is_none(),
        "lists never show the 申請書ID: {list}"
    );
    app.finish().await;
}

on_both_backends!(
    the_four_channels_make_working_cards_at_the_window,
    an_on_site_application_is_mailed_and_taken_with_the_envelope_code,
    deliveries_are_counted_per_municipality_and_channel,
    bad_applications_are_refused_with_the_reason_and_store_nothing,
    a_rejected_application_is_resubmitted_and_stays_the_only_one
);
