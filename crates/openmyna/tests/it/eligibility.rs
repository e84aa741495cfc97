//! Online eligibility verification end to end, on both backends: an insurer's records (JSON
//! and CSV, with per-row errors and the 5-item check), a facility's terminal, 利用登録, the
//! reader protocol with a virtual card (and every refusal: revoked, suspended, expired or
//! replayed challenge, another card's signature, unregistered card), consent gating over
//! 24 hours, the 資格確認書 query, and the access log.

use std::path::{Path, PathBuf};

use crate::common::fixtures::{b64, card};
use crate::common::{Backend, TestApp, spawn_app};
use chrono::Duration;
use openmyna::terminal::{OqsClient, card_proof, presence_proof};
use openmyna_core::Role;
use serde_json::{Value, json};

const INSURER: &str = "01130012";
const FACILITY: &str = "1311234569";

fn record(my_number: &str, number: &str, name: &str, birth: &str) -> Value {
    json!({
        "my_number": my_number,
        "insurer_number": INSURER,
        "insurer_name": "全国健康保険協会 東京支部",
        "symbol": "12345",
        "number": number,
        "branch": "00",
        "card_class": "01",
        "relationship": "1",
        "name": name,
        "name_kana": "ヤマダ タロウ",
        "birth_date": birth,
        "sex": "1",
        "address": "東京都千代田区霞が関一丁目1番1号",
        "qualification_date": "2020-04-01",
        "co_payment_ratio": "030",
        "limit_kind": "01",
        "limit_category": "A03",
        "limit_valid_from": "2026-04-01",
    })
}

async fn terminal(app: &TestApp) -> OqsClient {
    OqsClient::new(&app.url, &app.terminal_token().await)
}

async fn submit(app: &TestApp, records: Vec<Value>) -> Value {
    let (s, r) = app
        .post(
            "/api/v1/insurance/records",
            Some(Role::Insurer),
            &json!({ "records": records }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    r
}

/// A proof for a fresh challenge (or the given one) by `signer`, presenting `presented`'s
/// certificate.
async fn proof_body(
    t: &OqsClient,
    signer: &Path,
    presented: &Path,
    challenge: Option<(String, Vec<u8>)>,
) -> Value {
    let (id, bytes) = match challenge {
        Some(c) => c,
        None => t.challenge().await.unwrap(),
    };
    let p = card_proof(&mut card(signer), "1234", &bytes).unwrap();
    let cert = card_proof(&mut card(presented), "1234", &bytes)
        .unwrap()
        .certificate;
    json!({
        "challenge_id": id,
        "certificate": b64(&cert),
        "signature": b64(&p.signature),
        "method": "pin",
    })
}

async fn refused(t: &OqsClient, body: &Value) -> (u16, String) {
    match t
        .post::<Value, _>("/api/v1/oqs/verifications", body)
        .await
        .unwrap()
    {
        Ok(v) => panic!("accepted: {v}"),
        Err(r) => (r.status, r.code),
    }
}

/// A clinic with a terminal, two residents with cards, and the insurer's enrollment of four
/// records for them: a good one, one with a bad check digit, one whose name differs from the
/// registry (held), and the good one again (unchanged).
struct Clinic {
    app: TestApp,
    _dir: tempfile::TempDir,
    adult: i64,
    adult_card: PathBuf,
    my_number: String,
    other_card: PathBuf,
    other_number: String,
    t: OqsClient,
    /// The answer to the enrollment.
    enrolled: Value,
}

async fn clinic(backend: Backend) -> Clinic {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let adult = app.register_resident(true).await;
    let adult_card = dir.path().join("adult.json");
    app.issue_card(adult, &adult_card, Some("abc123"))
        .await
        .unwrap();
    let my_number = card(&adult_card).my_number("5678").unwrap();
    let other = app.register_resident(true).await;
    let other_card = dir.path().join("other.json");
    app.issue_card(other, &other_card, Some("abc123"))
        .await
        .unwrap();
    let other_number = card(&other_card).my_number("5678").unwrap();
    let mut bad = record(&my_number, "900", "山田 太郎", "1985-06-15");
    bad["my_number"] = json!(format!("{}0", &my_number[..11]));
    if bad["my_number"] == json!(my_number) {
        bad["my_number"] = json!(format!("{}1", &my_number[..11]));
    }
    let enrolled = submit(
        &app,
        vec![
            record(&my_number, "101", "山田 太郎", "1985-06-15"),
            bad,
            record(&other_number, "102", "山田 次郎", "1985-06-15"),
            record(&my_number, "101", "山田　太郎", "1985-06-15"),
        ],
    )
    .await;
    let t = terminal(&app).await;
    Clinic {
        app,
        _dir: dir,
        adult,
        adult_card,
        my_number,
        other_card,
        other_number,
        t,
        enrolled,
    }
}

impl Clinic {
    /// 利用登録 of the adult's card through the reader.
    async fn register_adult(&self) {
        let reg = self
            .t
            .register::<Value, _>(&mut card(&self.adult_card), "1234")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reg["channel"], "reader");
    }

    /// A verification of the adult's card with the PIN.
    async fn verify_adult(&self) -> Value {
        self.t
            .verify::<Value, _>(
                &mut card(&self.adult_card),
                "1234",
                "pin",
                Some(chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()),
            )
            .await
            .unwrap()
            .unwrap()
    }

    /// The serial of the adult's good authentication certificate.
    async fn auth_serial(&self) -> String {
        let (s, certs) = self
            .app
            .get(
                &format!("/api/v1/jpki/residents/{}/certificates", self.adult),
                Some(Role::Municipality),
            )
            .await;
        assert_eq!(s, 200, "{certs}");
        certs
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["root"] == "auth" && c["status"] == "good")
            .unwrap()["serial"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn certificate_action(&self, serial: &str, action: &str, body: Value) {
        let (s, r) = self
            .app
            .post(
                &format!("/api/v1/jpki/certificates/{serial}/{action}"),
                Some(Role::Municipality),
                &body,
            )
            .await;
        assert_eq!(s, 200, "{r}");
    }
}

async fn enrollment_checks_each_record_and_holds_a_name_mismatch(backend: Backend) {
    let c = clinic(backend).await;
    let r = &c.enrolled;
    assert_eq!(
        (
            r["created"].as_u64(),
            r["rejected"].as_u64(),
            r["held"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["unchanged"], 1, "{r}");
    assert_eq!(r["rows"][1]["error"]["code"], "my_number.check_digit");
    assert_eq!(r["rows"][1]["error"]["field"], "my_number");
    assert_eq!(r["rows"][2]["registry_check"], "held");
    assert_eq!(r["rows"][2]["mismatches"], json!(["name"]));
    let (s, held) = c
        .app
        .get("/api/v1/insurance/records?status=held", Some(Role::Insurer))
        .await;
    assert_eq!(s, 200);
    assert_eq!(held.as_array().unwrap().len(), 1);
    assert_eq!(held[0]["key"], format!("{INSURER}:12345:102:00"));
    let me =
        c.t.get::<Value>("/api/v1/oqs/terminal")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(me["facility_code"].as_str(), Some(FACILITY));
    c.app.finish().await;
}

async fn a_registered_card_verifies_with_the_exact_items_and_no_my_number(backend: Backend) {
    let c = clinic(backend).await;
    // Not registered for insurance use yet.
    let body = proof_body(&c.t, &c.adult_card, &c.adult_card, None).await;
    assert_eq!(
        refused(&c.t, &body).await,
        (409, "card.not_registered".into())
    );
    c.register_adult().await;
    let resp = c.verify_adult().await;
    let text = resp.to_string();
    assert!(!text.contains(&c.my_number), "My Number in {text}");
    assert_eq!(resp["validity"], "1");
    assert_eq!(resp["validity_name"], "valid");
    assert_eq!(resp["reference_classification"], "1");
    let rec = &resp["records"][0];
    assert_eq!(rec["insurer_number"], INSURER);
    assert_eq!(rec["symbol"], "12345");
    assert_eq!(rec["number"], "101");
    assert_eq!(rec["branch"], "00");
    assert_eq!(rec["card_class"], "01");
    assert_eq!(rec["relationship"], "1");
    assert_eq!(rec["co_payment_ratio"], "030");
    assert_eq!(rec["qualification_date"], "2020-04-01");
    assert_eq!(rec["preschool"], false);
    assert!(rec.get("limit").is_none(), "limit only with consent: {rec}");
    assert_eq!(resp["person"]["name"], "山田\u{3000}太郎");
    assert_eq!(resp["person"]["birth_date"], "1985-06-15");
    assert_eq!(
        resp["consent_choices"],
        json!(["clinical", "checkup", "surgery", "limit_amount"])
    );
    c.app.finish().await;
}

async fn each_refused_proof_has_its_own_code(backend: Backend) {
    let c = clinic(backend).await;
    let (app, t) = (&c.app, &c.t);
    c.register_adult().await;
    let ch = t.challenge().await.unwrap();
    let body = proof_body(t, &c.adult_card, &c.adult_card, Some(ch)).await;
    t.post::<Value, _>("/api/v1/oqs/verifications", &body)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refused(t, &body).await, (409, "challenge.used".into()));
    let ch = t.challenge().await.unwrap();
    let body = proof_body(t, &c.adult_card, &c.adult_card, Some(ch)).await;
    app.clock.advance(Duration::seconds(121));
    assert_eq!(refused(t, &body).await, (409, "challenge.expired".into()));
    let body = proof_body(t, &c.other_card, &c.adult_card, None).await;
    assert_eq!(refused(t, &body).await, (409, "signature.invalid".into()));
    let auth_serial = c.auth_serial().await;
    c.certificate_action(&auth_serial, "hold", json!({})).await;
    let body = proof_body(t, &c.adult_card, &c.adult_card, None).await;
    assert_eq!(
        refused(t, &body).await,
        (409, "certificate.suspended".into())
    );
    c.certificate_action(&auth_serial, "release", json!({}))
        .await;
    c.verify_adult().await;
    c.certificate_action(&auth_serial, "revoke", json!({"reason": "keyCompromise"}))
        .await;
    let body = proof_body(t, &c.adult_card, &c.adult_card, None).await;
    assert_eq!(refused(t, &body).await, (409, "certificate.revoked".into()));
    c.app.finish().await;
}

/// A face (or visual) check at the reader takes no PIN: the card's 券面AP key signs the
/// challenge, the key recorded for the card of the certificate presented. The verification
/// records 顔認証 in the holder's access log. A PIN check or 利用登録 cannot be signed that
/// way, and another card's presence key does not pass for this one.
async fn a_face_check_is_proved_by_the_cards_presence_key_without_the_pin(backend: Backend) {
    let c = clinic(backend).await;
    let t = &c.t;
    c.register_adult().await;
    let auth_tries = || {
        card(&c.adult_card)
            .pin_tries(openmyna_card::PinId::Auth)
            .unwrap()
    };
    let tries_before = auth_tries();
    let v: Value = t
        .verify_presence(&mut card(&c.adult_card), "face", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["validity_name"], "valid", "{v}");
    assert_eq!(auth_tries(), tries_before, "no PIN was presented");
    let log = app_log(&c).await;
    assert!(
        log.iter().any(|d| d.contains("顔認証")),
        "the access log names the method: {log:?}"
    );
    // The presence key with method pin, or another card's presence key: refused.
    let body = presence_body(t, &c.adult_card, &c.adult_card, "pin").await;
    assert_eq!(refused(t, &body).await, (422, "signed_by.pin".into()));
    let body = presence_body(t, &c.other_card, &c.adult_card, "face").await;
    assert_eq!(refused(t, &body).await, (409, "signature.invalid".into()));
    let mut body = presence_body(t, &c.adult_card, &c.adult_card, "visual").await;
    body["signed_by"] = json!("thumb");
    assert_eq!(refused(t, &body).await, (422, "signed_by.value".into()));
    // An authentication-key signature cannot pass as the presence key's, nor the reverse.
    let body = proof_body(t, &c.adult_card, &c.adult_card, None).await;
    let mut presence = body.clone();
    presence["signed_by"] = json!("presence");
    presence["method"] = json!("face");
    assert_eq!(
        refused(t, &presence).await,
        (409, "signature.invalid".into())
    );
    c.app.finish().await;
}

/// A presence proof for a fresh challenge by `signer`'s 券面AP key, presenting `presented`'s
/// certificate.
async fn presence_body(t: &OqsClient, signer: &Path, presented: &Path, method: &str) -> Value {
    let (id, bytes) = t.challenge().await.unwrap();
    let p = presence_proof(&mut card(signer), &bytes).unwrap();
    let cert = presence_proof(&mut card(presented), &bytes)
        .unwrap()
        .certificate;
    json!({"challenge_id": id, "certificate": b64(&cert), "signature": b64(&p.signature),
           "method": method, "signed_by": "presence"})
}

/// The details of the adult's access-log entries.
async fn app_log(c: &Clinic) -> Vec<String> {
    c.app
        .store
        .access()
        .access_log(c.adult, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.detail)
        .collect()
}

/// The insurer's medication and treatment records for the adult (one medication older than
/// three years; one treatment row with an unknown setting).
async fn load_medical_records(app: &TestApp) {
    let meds = json!({"records": [
        {"insurer_number": INSURER, "symbol": "12345", "number": "101", "branch": "00",
         "date": "2026-03-01", "facility_name": "霞が関薬局", "drug_code": "2149039F1020",
         "drug_name": "アムロジピン錠5mg", "quantity": "1", "unit": "錠", "days": "28"},
        {"insurer_number": INSURER, "symbol": "12345", "number": "101", "branch": "00",
         "date": "2020-01-10", "facility_name": "霞が関薬局", "drug_code": "2149039F1020",
         "drug_name": "アムロジピン錠5mg", "quantity": "1", "unit": "錠", "days": "28"},
    ]});
    let (s, r) = app
        .post(
            "/api/v1/insurance/medical-records/medication",
            Some(Role::Insurer),
            &meds,
        )
        .await;
    assert_eq!((s, r["created"].as_u64()), (200, Some(2)), "{r}");
    let treatments = "insurer_number,symbol,number,branch,date,facility_name,setting,procedure_code,procedure_name,surgery\n\
        01130012,12345,101,00,2026-03-01,openmyna 病院,5,150000110,虫垂切除術,1\n\
        01130012,12345,101,00,2026-03-02,openmyna 病院,1,111000110,初診料,0\n\
        01130012,12345,101,00,2026-03-03,openmyna 病院,9,111000110,初診料,0\n";
    let resp = app
        .client
        .post(format!(
            "{}/api/v1/insurance/medical-records/treatment/csv",
            app.url
        ))
        .bearer_auth(app.token(Role::Insurer))
        .header("content-type", "text/csv")
        .body(treatments)
        .send()
        .await
        .unwrap();
    let r: Value = resp.json().await.unwrap();
    assert_eq!(
        (r["created"].as_u64(), r["rejected"].as_u64()),
        (Some(2), Some(1)),
        "{r}"
    );
    assert_eq!(r["rows"][2]["row"], 4);
    assert_eq!(r["rows"][2]["error"]["code"], "setting.unknown");
}

async fn medical_records_are_shown_only_under_a_live_consent_and_logged(backend: Backend) {
    let c = clinic(backend).await;
    let (app, t) = (&c.app, &c.t);
    c.register_adult().await;
    let vid = c.verify_adult().await["verification_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = |k: &str| format!("/api/v1/oqs/verifications/{vid}/{k}");
    let r = t
        .get::<Value>(&path("medications"))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!((r.status, r.code.as_str()), (403, "consent.required"));
    load_medical_records(app).await;
    let live = t
        .post::<Value, _>(
            &path("consent"),
            &json!({"categories": ["clinical", "limit_amount"]}),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.as_array().unwrap().len(), 2, "{live}");
    let m = t.get::<Value>(&path("medications")).await.unwrap().unwrap();
    // Three years back only.
    assert_eq!(m.as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m[0]["drug_name"], "アムロジピン錠5mg");
    let tr = t.get::<Value>(&path("treatments")).await.unwrap().unwrap();
    assert_eq!(
        tr.as_array().unwrap().len(),
        1,
        "surgery hidden without its consent: {tr}"
    );
    let l = t
        .get::<Value>(&path("limit-amount"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l["limit"]["category"], "A03");
    let r = t
        .get::<Value>(&path("checkups"))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(r.code, "consent.required");
    // 24 hours later the consent has lapsed.
    app.clock.advance(Duration::hours(24));
    let r = t
        .get::<Value>(&path("medications"))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!((r.status, r.code.as_str()), (403, "consent.required"));
    // The access log lists each disclosure, none to the registry's own staff.
    let log = app.store.access().access_log(c.adult, 100).await.unwrap();
    let cats: Vec<&str> = log.iter().map(|e| e.category.as_str()).collect();
    assert!(cats.contains(&"oqs.eligibility"), "{cats:?}");
    assert!(cats.contains(&"oqs.medication"), "{cats:?}");
    assert!(cats.contains(&"oqs.treatment"), "{cats:?}");
    assert!(cats.contains(&"oqs.limit_amount"), "{cats:?}");
    assert!(!cats.contains(&"oqs.checkup"), "{cats:?}");
    let e = log
        .iter()
        .find(|e| e.category == "oqs.eligibility")
        .unwrap();
    assert_eq!(e.actor_role, "medical_institution");
    assert!(e.detail.contains(FACILITY), "{}", e.detail);
    c.app.finish().await;
}

async fn an_atm_registers_by_channel_and_a_held_record_waits_for_the_insurer(backend: Backend) {
    let c = clinic(backend).await;
    let (app, t) = (&c.app, &c.t);
    // The other resident registers at an ATM (the operator's back end names the channel).
    let atm = OqsClient::new(&app.url, app.token(Role::Operator));
    let (id, bytes) = atm.challenge().await.unwrap();
    let p = card_proof(&mut card(&c.other_card), "1234", &bytes).unwrap();
    let mut body = json!({"challenge_id": id, "certificate": b64(&p.certificate),
                          "signature": b64(&p.signature)});
    let r = atm
        .post::<Value, _>("/api/v1/oqs/registrations", &body)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!((r.status, r.code.as_str()), (422, "channel.required"));
    let (id, bytes) = atm.challenge().await.unwrap();
    let p = card_proof(&mut card(&c.other_card), "1234", &bytes).unwrap();
    body = json!({"challenge_id": id, "certificate": b64(&p.certificate),
                  "signature": b64(&p.signature), "channel": "atm"});
    let reg = atm
        .post::<Value, _>("/api/v1/oqs/registrations", &body)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reg["channel"], "atm");
    // A terminal cannot use the operator's challenge.
    let (id, bytes) = atm.challenge().await.unwrap();
    let mut v = proof_body(t, &c.other_card, &c.other_card, Some((id, bytes))).await;
    v["method"] = json!("pin");
    assert_eq!(refused(t, &v).await, (409, "challenge.holder".into()));

    // The held record: the other resident gets "none" until the insurer corrects it.
    let v = t
        .verify::<Value, _>(&mut card(&c.other_card), "1234", "pin", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["validity_name"], "none", "{v}");
    let r = submit(
        app,
        vec![record(&c.other_number, "102", "山田 太郎", "1985-06-15")],
    )
    .await;
    assert_eq!(
        (r["updated"].as_u64(), r["held"].as_u64()),
        (Some(1), Some(0)),
        "{r}"
    );
    let v = t
        .verify::<Value, _>(&mut card(&c.other_card), "1234", "pin", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["validity_name"], "valid", "{v}");
    let (s, h) = app
        .get(
            &format!("/api/v1/insurance/records/{INSURER}/12345/102/00/history"),
            Some(Role::Insurer),
        )
        .await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["changes"].as_array().unwrap().len(), 2);
    assert_eq!(h["changes"][0]["status"], "held");
    assert_eq!(h["changes"][1]["status"], "matched");
    c.app.finish().await;
}

/// A child with a card, a resident without one, and the insurer's CSV for both: two good rows,
/// an impossible co-payment ratio, another insurer's number.
struct Family {
    app: TestApp,
    _dir: tempfile::TempDir,
    child_card: PathBuf,
    nocard: i64,
    nocard_number: String,
    t: OqsClient,
    /// The answer to the CSV.
    loaded: Value,
}

async fn family(backend: Backend) -> Family {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let child = app.register_resident(false).await;
    let child_card = dir.path().join("child.json");
    app.issue_card(child, &child_card, None).await.unwrap();
    let child_number = card(&child_card).my_number("5678").unwrap();
    // A resident without a card, known to the test by My Number through the registry.
    let nocard = app.register_resident(true).await;
    let (s, r) = app
        .get(
            &format!("/api/v1/registry/residents/{nocard}"),
            Some(Role::Municipality),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let nocard_number = r["my_number"].as_str().unwrap().to_owned();
    let csv = format!(
        "my_number,insurer_number,insurer_name,symbol,number,branch,card_class,relationship,insured_name,name,name_kana,birth_date,sex,address,qualification_date,co_payment_ratio\n\
         {child_number},{INSURER},協会けんぽ,12345,201,01,01,2,山田 花子,山田 太郎,ヤマダ タロウ,2015-06-15,1,東京都千代田区霞が関一丁目1番1号,2015-06-15,020\n\
         {nocard_number},{INSURER},協会けんぽ,12345,202,00,01,1,,山田 太郎,ヤマダ タロウ,1985-06-15,1,東京都千代田区霞が関一丁目1番1号,2010-04-01,030\n\
         {nocard_number},{INSURER},協会けんぽ,12345,203,00,01,1,,山田 太郎,ヤマダ タロウ,1985-06-15,1,東京都千代田区霞が関一丁目1番1号,2010-04-01,050\n\
         {nocard_number},99999999,協会けんぽ,12345,204,00,01,1,,山田 太郎,ヤマダ タロウ,1985-06-15,1,東京都千代田区霞が関一丁目1番1号,2010-04-01,030\n"
    );
    let resp = app
        .client
        .post(format!("{}/api/v1/insurance/records/csv", app.url))
        .bearer_auth(app.token(Role::Insurer))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let loaded: Value = resp.json().await.unwrap();
    let t = terminal(&app).await;
    Family {
        app,
        _dir: dir,
        child_card,
        nocard,
        nocard_number,
        t,
        loaded,
    }
}

impl Family {
    /// 利用登録 and a face verification of the child's card.
    async fn verify_child(&self) -> Value {
        self.t
            .register::<Value, _>(&mut card(&self.child_card), "1234")
            .await
            .unwrap()
            .unwrap();
        self.t
            .verify::<Value, _>(&mut card(&self.child_card), "1234", "face", None)
            .await
            .unwrap()
            .unwrap()
    }
}

fn symbol_query() -> Value {
    json!({"insurer_number": INSURER, "symbol": "12345", "number": "202",
           "branch": "00", "birth_date": "1985-06-15"})
}

async fn a_csv_loads_good_rows_and_names_the_row_and_field_of_bad_ones(backend: Backend) {
    let f = family(backend).await;
    let r = &f.loaded;
    assert_eq!(
        (r["created"].as_u64(), r["rejected"].as_u64()),
        (Some(2), Some(2)),
        "{r}"
    );
    assert_eq!(r["rows"][2]["row"], 4);
    assert_eq!(r["rows"][2]["error"]["code"], "co_payment_ratio.value");
    assert_eq!(r["rows"][2]["error"]["field"], "co_payment_ratio");
    assert_eq!(r["rows"][3]["row"], 5);
    assert_eq!(r["rows"][3]["error"]["field"], "insurer_number");
    f.app.finish().await;
}

async fn a_child_is_offered_no_checkup_consent(backend: Backend) {
    let f = family(backend).await;
    let v = f.verify_child().await;
    assert_eq!(v["validity_name"], "valid", "{v}");
    assert_eq!(v["records"][0]["relationship"], "2");
    assert_eq!(v["records"][0]["insured_name"], "山田 花子");
    assert_eq!(
        v["consent_choices"],
        json!(["clinical", "surgery", "limit_amount"])
    );
    let vid = v["verification_id"].as_str().unwrap();
    let r =
        f.t.post::<Value, _>(
            &format!("/api/v1/oqs/verifications/{vid}/consent"),
            &json!({"categories": ["checkup"]}),
        )
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!((r.status, r.code.as_str()), (422, "category.not_offered"));
    f.app.finish().await;
}

async fn a_qualification_certificate_answers_a_query_by_symbol_and_number(backend: Backend) {
    let f = family(backend).await;
    let (app, t) = (&f.app, &f.t);
    // 資格確認書 for the resident without a card; the clinic queries by 記号・番号.
    let (s, c) = app
        .post(
            &format!("/api/v1/insurance/records/{INSURER}/12345/202/00/certificates"),
            Some(Role::Insurer),
            &json!({"valid_from": "2026-01-01", "valid_until": "2030-12-31"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let (s, c) = app
        .post(
            &format!("/api/v1/insurance/records/{INSURER}/12345/202/00/certificates"),
            Some(Role::Insurer),
            &json!({"valid_from": "2026-01-01", "valid_until": "2031-01-01"}),
        )
        .await;
    assert_eq!(
        (s, c["error"]["code"].as_str()),
        (422, Some("valid_until.too_long"))
    );
    let q = symbol_query();
    let v = t
        .post::<Value, _>("/api/v1/oqs/queries", &q)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["validity_name"], "valid", "{v}");
    assert_eq!(v["reference_classification"], "2");
    assert_eq!(v["qualification_certificate"]["valid_until"], "2030-12-31");
    assert!(!v.to_string().contains(&f.nocard_number));
    let mut wrong = q.clone();
    wrong["birth_date"] = json!("1985-06-16");
    let v = t
        .post::<Value, _>("/api/v1/oqs/queries", &wrong)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["validity_name"], "none");
    let log = app.store.access().access_log(f.nocard, 10).await.unwrap();
    let oqs: Vec<_> = log
        .iter()
        .filter(|e| e.category.starts_with("oqs."))
        .collect();
    assert_eq!(
        oqs.len(),
        1,
        "the query with the wrong birth date disclosed nothing"
    );
    assert_eq!(oqs[0].category, "oqs.eligibility");
    f.app.finish().await;
}

async fn consented_data_and_verification_need_a_terminal(backend: Backend) {
    let f = family(backend).await;
    let (app, t) = (&f.app, &f.t);
    let v = f.verify_child().await;
    let vid = v["verification_id"].as_str().unwrap();
    // Consented data only through a terminal; terminals are managed with the facility's own
    // token; the date of service is today or before.
    let (s, r) = app
        .get(
            &format!("/api/v1/oqs/verifications/{vid}/medications"),
            Some(Role::MedicalInstitution),
        )
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (403, Some("terminal.required"))
    );
    let r = t
        .post::<Value, _>("/api/v1/oqs/terminals", &json!({"name": "rogue"}))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!((r.status, r.code.as_str()), (403, "terminal.not_allowed"));
    let mut future = symbol_query();
    future["date_of_service"] = json!("2027-01-01");
    let r = t
        .post::<Value, _>("/api/v1/oqs/queries", &future)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!((r.status, r.code.as_str()), (422, "date_of_service.range"));
    // A facility token that is not a terminal cannot verify.
    let (s, r) = app
        .post(
            "/api/v1/oqs/challenges",
            Some(Role::MedicalInstitution),
            &json!({}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (403, Some("terminal.required"))
    );
    f.app.finish().await;
}

/// `openmyna terminal` drives the whole flow against the server: PIN from standard input,
/// 利用登録, the result, consent, consented data.
async fn terminal_command(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let resident = app.register_resident(true).await;
    let path = dir.path().join("card.json");
    app.issue_card(resident, &path, Some("abc123"))
        .await
        .unwrap();
    let my_number = card(&path).my_number("5678").unwrap();
    submit(
        &app,
        vec![record(&my_number, "301", "山田 太郎", "1985-06-15")],
    )
    .await;
    let t = terminal(&app).await;
    let run = |facility: &str, extra: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_openmyna"));
        c.args(["terminal", "--card"])
            .arg(&path)
            .args([
                "--facility",
                facility,
                "--url",
                &app.url,
                "--token",
                &t.token,
                "--pin",
                "-",
            ])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"1234\n").unwrap();
        child.wait_with_output().unwrap()
    };
    let o =
        tokio::task::block_in_place(|| run("1311234569", &["--register", "--consent", "clinical"]));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("資格確認結果: valid (1)"), "{out}");
    assert!(out.contains("記号 12345 番号 301 枝番 00"), "{out}");
    assert!(out.contains("consent clinical open until"), "{out}");
    assert!(out.contains("medications: 0 entries"), "{out}");
    assert!(!out.contains(&my_number));
    // The wrong facility is refused before the card is touched.
    let o = tokio::task::block_in_place(|| run("0110113719", &[]));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not 0110113719"));
    app.finish().await;
}

/// A reader reports a card whose PIN locked: recorded once in the card's history (again only
/// after the municipality's reset), counted in /metrics; anything but a card's authentication
/// certificate from this CA is refused, and only a reader (medical institution) reports.
async fn a_reader_reports_a_locked_pin_once(backend: Backend) {
    let Clinic {
        app,
        _dir,
        adult_card,
        t,
        ..
    } = clinic(backend).await;
    let mut c = card(&adult_card);
    for _ in 0..3 {
        let _ = c.sign(openmyna_card::layout::KeyId::Auth, "0000", b"x");
    }
    assert_eq!(c.pin_tries(openmyna_card::PinId::Auth).unwrap(), 0);
    let auth = c
        .read_certificate(openmyna_cardio::client::Certificate::Auth)
        .unwrap();
    let sign_root = app
        .client
        .get(format!("{}/ca/sign.crt", app.url))
        .send()
        .await
        .unwrap();
    let not_a_card = sign_root.bytes().await.unwrap().to_vec();
    assert_eq!(
        t.report_pin_lock(&not_a_card)
            .await
            .unwrap()
            .unwrap_err()
            .code,
        "certificate.unknown"
    );
    let (s, r) = app
        .post(
            "/api/v1/oqs/pin-lockouts",
            Some(Role::Insurer),
            &json!({"certificate": b64(&auth)}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (403, Some("auth.role")),
        "{r}"
    );
    assert!(t.report_pin_lock(&auth).await.unwrap().unwrap(), "recorded");
    assert!(
        !t.report_pin_lock(&auth).await.unwrap().unwrap(),
        "recorded once"
    );
    let metrics = app
        .client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("openmyna_card_events_total{event=\"pin_locked\"} 1"),
        "{metrics}"
    );
    // Reset at the municipality's window; a new lock-out is a new event.
    let file = openmyna_cardio::CardFile::open(&adult_card).unwrap();
    openmyna_services::cards::unlock(
        &app.store,
        app.clock.as_ref(),
        &file,
        openmyna_card::PinId::Auth,
        None,
        "千代田区 窓口",
    )
    .await
    .unwrap();
    assert!(
        t.report_pin_lock(&auth).await.unwrap().unwrap(),
        "after the reset, a lock-out is recorded again"
    );
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM card_events WHERE action IN ('pin_locked', 'pin_reset') ORDER BY id",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(events, ["pin_locked", "pin_reset", "pin_locked"]);
    app.finish().await;
}

on_both_backends!(
    a_reader_reports_a_locked_pin_once,
    enrollment_checks_each_record_and_holds_a_name_mismatch,
    a_registered_card_verifies_with_the_exact_items_and_no_my_number,
    each_refused_proof_has_its_own_code,
    a_face_check_is_proved_by_the_cards_presence_key_without_the_pin,
    medical_records_are_shown_only_under_a_live_consent_and_logged,
    an_atm_registers_by_channel_and_a_held_record_waits_for_the_insurer,
    a_csv_loads_good_rows_and_names_the_row_and_field_of_bad_ones,
    a_child_is_offered_no_checkup_consent,
    a_qualification_certificate_answers_a_query_by_symbol_and_number,
    consented_data_and_verification_need_a_terminal,
    terminal_command,
);
