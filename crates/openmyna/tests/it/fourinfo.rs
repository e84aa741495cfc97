//! The latest basic-4-information service end to end, on both backends: a consent signed by
//! a virtual card (verified by OpenSSL too), an address change that revokes the signing
//! certificate, `openmyna rp sync` finding the customer in the CRL, and the query before and
//! after re-issuance; and the consents that must be refused.

use std::path::Path;
use std::process::Command;

use crate::common::{Backend, TestApp, spawn_app};
use base64::Engine;
use openmyna::rp::{ConsentRequest, sign_consent};
use openmyna_cardio::{CardFile, JpkiClient, VirtualTransport};
use openmyna_core::{Clock, Role};
use openmyna_fourinfo::Item;
use serde_json::{Value, json};

const NAME: &str = "山田 太郎";
const BIRTH: &str = "1985-06-15";

fn card(path: &Path) -> JpkiClient<VirtualTransport> {
    JpkiClient::new(VirtualTransport::new(CardFile::open(path).unwrap()))
}

async fn rp_id(app: &TestApp) -> i64 {
    let (s, r) = app
        .get("/api/v1/fourinfo/relying-party", Some(Role::RelyingParty))
        .await;
    assert_eq!(s, 200, "{r}");
    r["org_id"].as_i64().unwrap()
}

fn consent(app: &TestApp, card_path: &Path, rp: i64, customer: &str, name: &str) -> Vec<u8> {
    sign_consent(
        &mut card(card_path),
        "ABC123",
        &ConsentRequest {
            relying_party: rp,
            customer_ref: customer,
            items: Item::ALL.to_vec(),
            purpose: "口座開設時の登録情報を最新に保つため",
            name,
            birth_date: BIRTH,
        },
        &app.clock.now(),
    )
    .unwrap()
}

async fn submit(app: &TestApp, der: &[u8]) -> (u16, Value) {
    app.post(
        "/api/v1/fourinfo/consents",
        Some(Role::RelyingParty),
        &json!({"document": base64::engine::general_purpose::STANDARD.encode(der)}),
    )
    .await
}

async fn query(app: &TestApp, id: i64) -> (u16, Value) {
    app.post(
        &format!("/api/v1/fourinfo/consents/{id}/query"),
        Some(Role::RelyingParty),
        &json!({"purpose": "登録住所の確認"}),
    )
    .await
}

fn rp_sync(app: &TestApp, dir: &Path) -> Vec<Value> {
    let token = app.token(Role::RelyingParty).to_owned();
    let o = Command::new(env!("CARGO_BIN_EXE_openmyna"))
        .args([
            "rp", "sync", "--url", &app.url, "--token", &token, "--state",
        ])
        .arg(dir.join("rp-state.json"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn publish(app: &TestApp, kind: &str) {
    let (s, r) = app
        .post(
            "/api/v1/jpki/crls/publish",
            Some(Role::Operator),
            &json!({"kind": kind}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
}

/// A resident with a card, and the relying party holding the customer's consent (ACCT-0001,
/// every item) signed with it: `der` the signed document, `id` the consent. The same document
/// is accepted once; the consent names the signing certificate, and the first query finds
/// nothing changed.
struct Consented {
    app: TestApp,
    dir: tempfile::TempDir,
    resident: i64,
    /// The card the consent was signed with.
    first: openmyna_services::cards::IssuedCard,
    der: Vec<u8>,
    id: i64,
}

async fn consented(backend: Backend) -> Consented {
    // rp sync judges the CRL's nextUpdate by the real clock.
    let app = crate::common::spawn_app_at(backend, crate::common::real_now()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let resident = app.register_resident(true).await;
    let card1 = d.join("card1.json");
    let first = app
        .issue_card(resident, &card1, Some("abc123"))
        .await
        .unwrap();
    let rp = rp_id(&app).await;
    let der = consent(&app, &card1, rp, "ACCT-0001", NAME);

    let (s, c) = submit(&app, &der).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    // The same signed document is accepted once.
    let (s, r) = submit(&app, &der).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("consent.reused")),
        "{r}"
    );
    assert_eq!(
        c["sign_serial"],
        json!(first.sign_certificate.clone().unwrap())
    );
    let (s, q) = query(&app, id).await;
    assert_eq!((s, q["status"].as_str()), (200, Some("unchanged")), "{q}");
    Consented {
        app,
        dir,
        resident,
        first,
        der,
        id,
    }
}

/// The customer moves: `openmyna rp sync` finds the consent in the delta CRL (nothing before),
/// and the query discloses nothing until there is a new signing certificate.
async fn move_the_customer(c: &Consented) {
    let (app, d, resident, id) = (&c.app, c.dir.path(), c.resident, c.id);
    // Nothing to report yet.
    publish(app, "full").await;
    assert!(rp_sync(app, d).is_empty());

    // The customer moves: the signing certificate is revoked at once.
    app.clock.advance(chrono::Duration::days(3));
    let (s, r) = app
        .post(
            &format!("/api/v1/registry/residents/{resident}/address"),
            Some(Role::Municipality),
            &json!({"address": {"municipality_code": "27100", "text": "大阪府大阪市北区梅田一丁目1番"}}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    publish(app, "delta").await;
    let hits = rp_sync(app, d);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["customer_ref"], json!("ACCT-0001"));
    assert_eq!(hits[0]["consent_id"], json!(id));
    assert_eq!(hits[0]["reason"], json!("affiliationChanged"));
    let (s, q) = query(app, id).await;
    assert_eq!(
        (s, q["status"].as_str()),
        (200, Some("no_new_certificate")),
        "{q}"
    );
    assert!(
        q.get("latest").is_none(),
        "nothing disclosed before a new certificate"
    );
}

async fn the_signed_consent_is_standard_cms_that_openssl_verifies(backend: Backend) {
    let Consented { app, dir, der, .. } = consented(backend).await;
    let d = dir.path();
    // The customer signs; OpenSSL reads the result as standard CMS.
    std::fs::write(d.join("consent.p7s"), &der).unwrap();
    let root = app
        .client
        .get(format!("{}/ca/sign.crt", app.url))
        .send()
        .await
        .unwrap();
    std::fs::write(d.join("sign-root.der"), root.bytes().await.unwrap()).unwrap();
    let conv = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(d.join("sign-root.der"))
        .arg("-out")
        .arg(d.join("sign-root.pem"))
        .output()
        .unwrap();
    assert!(conv.status.success());
    let o = Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-purpose", "any", "-in"])
        .arg(d.join("consent.p7s"))
        .arg("-CAfile")
        .arg(d.join("sign-root.pem"))
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success() && out.contains("Verification successful"),
        "{out}"
    );
    assert!(
        out.contains("ACCT-0001"),
        "the content is the consent document: {out}"
    );
    app.finish().await;
}

async fn an_address_change_is_found_by_rp_sync_and_discloses_nothing_yet(backend: Backend) {
    let c = consented(backend).await;
    move_the_customer(&c).await;
    c.app.finish().await;
}

async fn a_new_certificate_gives_the_new_address_until_followed_or_withdrawn(backend: Backend) {
    let c = consented(backend).await;
    move_the_customer(&c).await;
    let Consented {
        app,
        dir,
        resident,
        first,
        id,
        ..
    } = c;
    let d = dir.path();
    // A new card (and signing certificate) at the window: the query gives the new address.
    app.clock.advance(chrono::Duration::days(1));
    let card2 = d.join("card2.json");
    let second = app
        .issue_card(resident, &card2, Some("XYZ789"))
        .await
        .unwrap();
    let (s, q) = query(&app, id).await;
    assert_eq!((s, q["status"].as_str()), (200, Some("changed")), "{q}");
    assert_eq!(
        q["latest"]["address"],
        json!("大阪府大阪市北区梅田一丁目1番")
    );
    assert_eq!(q["latest"]["name"], json!("山田\u{3000}太郎"));
    assert_eq!(q["latest"]["birth_date"], json!(BIRTH));
    assert_eq!(q["latest"]["sex"], json!(1));
    assert_eq!(
        q["new_sign_serial"],
        json!(second.sign_certificate.clone().unwrap())
    );
    assert_eq!(
        q["revoked_serial"],
        json!(first.sign_certificate.clone().unwrap())
    );
    // The answer repeats until the relying party follows the new certificate (a lost
    // answer loses nothing); following anything but that certificate is refused.
    let (s, q2) = query(&app, id).await;
    assert_eq!((s, q2["status"].as_str()), (200, Some("changed")), "{q2}");
    let follow = |serial: Value| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/fourinfo/consents/{id}/follow"),
                Some(Role::RelyingParty),
                &json!({"sign_serial": serial}),
            )
            .await
        }
    };
    let (s, r) = follow(q["revoked_serial"].clone()).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("follow.serial")),
        "{r}"
    );
    let (s, r) = follow(q["new_sign_serial"].clone()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["sign_serial"], q["new_sign_serial"]);
    let (s, q) = query(&app, id).await;
    assert_eq!((s, q["status"].as_str()), (200, Some("unchanged")), "{q}");
    assert_eq!(q["sign_serial"], json!(second.sign_certificate.unwrap()));
    let (_, list) = app
        .get("/api/v1/fourinfo/consents", Some(Role::RelyingParty))
        .await;
    assert_eq!(
        list[0]["consent_serial"],
        json!(first.sign_certificate.unwrap())
    );

    // Every answer is in the customer's access log.
    let log = app.store.access().access_log(resident, 50).await.unwrap();
    let fourinfo: Vec<_> = log
        .iter()
        .filter(|e| e.category.starts_with("jpki.latest_basic4"))
        .collect();
    assert_eq!(fourinfo.len(), 6, "consent + 5 queries: {fourinfo:?}");
    assert!(
        fourinfo
            .iter()
            .any(|e| e.detail.contains("disclosed name,address,birth_date,sex"))
    );

    // Withdrawn: no more answers.
    let (s, w) = app
        .post(
            &format!("/api/v1/fourinfo/consents/{id}/withdraw"),
            Some(Role::RelyingParty),
            &json!({"reason": "customer's request"}),
        )
        .await;
    assert_eq!((s, w["status"].as_str()), (200, Some("withdrawn")), "{w}");
    let (s, q) = query(&app, id).await;
    assert_eq!(
        (s, q["error"]["code"].as_str()),
        (409, Some("consent.withdrawn")),
        "{q}"
    );
    // A withdrawn consent is not followed by rp sync.
    let (_, list) = app
        .get("/api/v1/fourinfo/consents", Some(Role::RelyingParty))
        .await;
    assert_eq!(list, json!([]));
    app.finish().await;
}

async fn death_is_reported(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = app.register_resident(true).await;
    let path = dir.path().join("card.json");
    app.issue_card(resident, &path, Some("ABC123"))
        .await
        .unwrap();
    let rp = rp_id(&app).await;
    let (s, c) = submit(&app, &consent(&app, &path, rp, "C-9", NAME)).await;
    assert_eq!(s, 201, "{c}");
    let (s, r) = app
        .post(
            &format!("/api/v1/registry/residents/{resident}/death"),
            Some(Role::Municipality),
            &json!({"date": "2026-04-01"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, q) = query(&app, c["id"].as_i64().unwrap()).await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(q, json!({"status": "deceased", "date": "2026-04-01"}));
    app.finish().await;
}

async fn bad_consents_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rp = rp_id(&app).await;
    let a = app.register_resident(true).await;
    let b = app.register_resident(true).await;
    let card_a = d.join("a.json");
    let card_b = d.join("b.json");
    let issued_a = app.issue_card(a, &card_a, Some("ABC123")).await.unwrap();
    app.issue_card(b, &card_b, Some("ABC123")).await.unwrap();

    // Tampered: a byte of the content changed after signing.
    let mut der = consent(&app, &card_a, rp, "C-1", NAME);
    let at = der.windows(3).position(|w| w == b"C-1").unwrap();
    der[at + 2] = b'2';
    let (s, r) = submit(&app, &der).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("document.signature")),
        "{r}"
    );

    // Another person's card: B signs a consent declaring to be A (a different birth date).
    let der = sign_consent(
        &mut card(&card_b),
        "ABC123",
        &ConsentRequest {
            relying_party: rp,
            customer_ref: "C-1",
            items: Item::ALL.to_vec(),
            purpose: "p",
            name: NAME,
            birth_date: "1970-01-01",
        },
        &app.clock.now(),
    )
    .unwrap();
    let (s, r) = submit(&app, &der).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("consent.holder_mismatch")),
        "{r}"
    );

    // Addressed to another relying party.
    let (s, r) = submit(&app, &consent(&app, &card_a, rp + 1000, "C-1", NAME)).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("consent.relying_party")),
        "{r}"
    );

    // Items the relying party is not registered for.
    let (s, r) = app
        .post(
            "/api/v1/fourinfo/relying-parties",
            Some(Role::Operator),
            &json!({"org_id": rp, "items": ["address"]}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = submit(&app, &consent(&app, &card_a, rp, "C-1", NAME)).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("consent.items")),
        "{r}"
    );
    let (s, _) = app
        .post(
            "/api/v1/fourinfo/relying-parties",
            Some(Role::Operator),
            &json!({"org_id": rp, "items": ["name", "address", "birth_date", "sex"]}),
        )
        .await;
    assert_eq!(s, 200);

    // Signed by a revoked certificate.
    let valid = consent(&app, &card_a, rp, "C-1", NAME);
    let (s, r) = app
        .post(
            &format!(
                "/api/v1/jpki/certificates/{}/revoke",
                issued_a.sign_certificate.unwrap()
            ),
            Some(Role::Municipality),
            &json!({"reason": "keyCompromise"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = submit(&app, &valid).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("consent.certificate")),
        "{r}"
    );
    assert!(
        r["error"]["message"].as_str().unwrap().contains("revoked"),
        "{r}"
    );

    // Garbage, and only relying parties may submit.
    let (s, r) = submit(&app, b"not a cms").await;
    assert_eq!(s, 422, "{r}");
    let (s, _) = app
        .post(
            "/api/v1/fourinfo/consents",
            Some(Role::Municipality),
            &json!({"document": "AAAA"}),
        )
        .await;
    assert_eq!(s, 403);
    // Nothing was stored by any refusal.
    let (_, list) = app
        .get(
            "/api/v1/fourinfo/consents?all=true",
            Some(Role::RelyingParty),
        )
        .await;
    assert_eq!(list, json!([]));
    app.finish().await;
}

on_both_backends!(
    the_signed_consent_is_standard_cms_that_openssl_verifies,
    an_address_change_is_found_by_rp_sync_and_discloses_nothing_yet,
    a_new_certificate_gives_the_new_address_until_followed_or_withdrawn,
    death_is_reported,
    bad_consents_are_refused
);
