//! Unit tests of the use cases: each runs the services on a fresh SQLite store in a temporary
//! directory, a CA with P-384 roots, a `ManualClock` and seeded randomness, without HTTP. Time
//! moves by setting the clock, never by sleeping.

use std::sync::Arc;

use chrono::{Duration, TimeZone};
use openmyna_core::{Actor, Clock, ManualClock, Refusal, RefusalKind, Role, SeededEntropy};
use openmyna_jpki::{Jpki, JpkiConfig, KeyKind};
use openmyna_registry::{AddressInput, NewResidentInput, Resident};
use openmyna_store::crypto::{DataKeys, MasterKey};
use openmyna_store::{Store, StoreOptions};

use crate::{ServiceError, Services};

struct Kit {
    s: Services,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn kit() -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let keys = DataKeys::derive(&MasterKey::from_hex(&"42".repeat(32)).unwrap()).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let opts = StoreOptions {
        max_connections: 4,
        ..StoreOptions::default()
    };
    let store = Store::connect(&url, keys, &opts).await.unwrap();
    store.migrate().await.unwrap();
    let start = chrono::Utc
        .with_ymd_and_hms(2026, 12, 2, 1, 0, 0)
        .unwrap()
        .fixed_offset();
    let clock = Arc::new(ManualClock::new(start));
    let entropy = Arc::new(SeededEntropy::new(7));
    let mut jc = JpkiConfig::new("http://127.0.0.1:1", &dir.path().join("crl"));
    jc.root_key = KeyKind::EcP384;
    let jpki = Jpki::open(store.clone(), clock.clone(), entropy.clone(), jc)
        .await
        .unwrap();
    let s = Services::new(
        store,
        Arc::new(jpki),
        clock.clone(),
        entropy,
        dir.path().join("cards"),
    );
    Kit {
        s,
        clock,
        _dir: dir,
    }
}

fn operator() -> Actor {
    Actor::local_operator()
}

/// The refusal a use case answered with (panics on success or on a failure of ours).
fn refusal<T>(r: crate::Result<T>) -> Refusal {
    use openmyna_core::IntoRefusal;
    match r {
        Ok(_) => panic!("expected a refusal"),
        Err(e) => match e.into_refusal() {
            Ok(r) => r,
            Err(e) => panic!("expected a refusal, got {e}"),
        },
    }
}

async fn resident(k: &Kit) -> Resident {
    let input = NewResidentInput {
        name: "山田 太郎".into(),
        name_kana: "ヤマダ タロウ".into(),
        birth_date: "1980-02-17".into(),
        sex: 1,
        address: AddressInput {
            municipality_code: "131016".into(),
            postal_code: Some("1000013".into()),
            text: "東京都千代田区霞が関1-1".into(),
        },
        my_number: None,
    };
    let municipality = Actor {
        org_id: 1,
        org_name: "千代田区".into(),
        role: Role::Municipality,
        token_id: 1,
    };
    k.s.registry()
        .register(&input, &municipality)
        .await
        .unwrap()
}

// ------------------------------------------------------------------ admin

#[tokio::test]
async fn organisations_and_tokens_are_checked_before_anything_is_written() {
    let k = kit().await;
    let (store, clock) = (&k.s.store, k.clock.as_ref() as &dyn Clock);
    let r = refusal(crate::admin::create_organisation(store, clock, "bank", "A", None).await);
    assert_eq!((r.code(), r.field()), ("role.unknown", Some("role")));
    let r = refusal(crate::admin::create_organisation(store, clock, "employer", " ", None).await);
    assert_eq!((r.code(), r.field()), ("name.length", Some("name")));
    let r = refusal(
        crate::admin::create_organisation(store, clock, "municipality", "X", Some("131015")).await,
    );
    assert_eq!(
        r.field(),
        Some("code"),
        "a wrong check digit names the code"
    );
    assert!(
        store.auth().organisations().await.unwrap().is_empty(),
        "nothing written"
    );

    let org = crate::admin::create_organisation(store, clock, "employer", " 株式会社A ", None)
        .await
        .unwrap();
    assert_eq!(org.name, "株式会社A");
    let past = "2026-12-01T00:00:00+09:00";
    let r = refusal(crate::admin::create_token(store, clock, org.id, "hr", Some(past)).await);
    assert_eq!(
        (r.code(), r.field()),
        ("expires_at.past", Some("expires_at"))
    );
    let r = refusal(crate::admin::create_token(store, clock, org.id, "hr", Some("soon")).await);
    assert_eq!(r.code(), "expires_at.format");
    let t = crate::admin::create_token(store, clock, org.id, "hr", Some("2027-01-01T00:00:00Z"))
        .await
        .unwrap();
    let now = clock.now();
    let actor = store
        .auth()
        .authenticate(&t.token, &now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(actor.role, Role::Employer);
    // The token expires with the clock.
    k.clock.advance(Duration::days(31));
    assert!(
        store
            .auth()
            .authenticate(&t.token, &k.clock.now())
            .await
            .unwrap()
            .is_none()
    );
}

// ------------------------------------------------------------------ console

#[tokio::test]
async fn console_sessions_open_only_for_the_operator_and_end_at_logout() {
    use crate::console::{Login, login, logout, operator as console_operator};
    let k = kit().await;
    let clock = k.clock.as_ref() as &dyn Clock;
    assert!(matches!(
        login(&k.s, "omn_unknown").await.unwrap(),
        Login::Unknown
    ));
    let org = crate::admin::create_organisation(&k.s.store, clock, "insurer", "健保", None)
        .await
        .unwrap();
    let t = crate::admin::create_token(&k.s.store, clock, org.id, "x", None)
        .await
        .unwrap();
    assert!(matches!(
        login(&k.s, &t.token).await.unwrap(),
        Login::WrongRole(Role::Insurer)
    ));
    let (_, op) = crate::admin::operator_token(&k.s.store, clock, "運用者")
        .await
        .unwrap();
    let Login::Opened(secret) = login(&k.s, &format!(" {} ", op.token)).await.unwrap() else {
        panic!("the operator's token opens the console");
    };
    assert_eq!(
        console_operator(&k.s, &secret)
            .await
            .unwrap()
            .map(|a| a.role),
        Some(Role::Operator)
    );
    logout(&k.s, &secret).await.unwrap();
    assert!(console_operator(&k.s, &secret).await.unwrap().is_none());
    // A session ends by itself after its hours.
    let Login::Opened(again) = login(&k.s, &op.token).await.unwrap() else {
        panic!("opens again");
    };
    k.clock
        .advance(Duration::hours(crate::console::SESSION_HOURS) + Duration::minutes(1));
    assert!(console_operator(&k.s, &again).await.unwrap().is_none());
}

// ------------------------------------------------------------------ applications

#[tokio::test]
async fn an_application_is_checked_whole_and_the_form_is_its_secret() {
    use crate::applications::{Application, Decision, apply, for_applicant, issue_form};
    let k = kit().await;
    let r = resident(&k).await;
    let form = issue_form(&k.s, r.id.0).await.unwrap();
    let photo = "not base64!";
    let bad_channel = Application {
        form_id: form.as_str(),
        channel: "fax",
        email: None,
        photo_base64: photo,
    };
    let e = refusal(apply(&k.s, &bad_channel).await);
    assert_eq!((e.code(), e.field()), ("channel.unknown", Some("channel")));
    let no_email = Application {
        channel: "smartphone",
        ..bad_channel
    };
    let e = refusal(apply(&k.s, &no_email).await);
    assert_eq!((e.field(), e.kind()), (Some("email"), RefusalKind::Invalid));
    let bad_photo = Application {
        email: Some("taro@example.jp"),
        ..no_email
    };
    let e = refusal(apply(&k.s, &bad_photo).await);
    assert_eq!((e.code(), e.field()), ("photo.base64", Some("photo")));
    let unknown_form = Application {
        form_id: "12345678901234567890123",
        ..bad_photo
    };
    assert_eq!(
        refusal(apply(&k.s, &unknown_form).await).field(),
        Some("form_id")
    );
    assert!(
        k.s.store
            .applications()
            .list(None, None)
            .await
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
    // Without the 申請書ID, an application is not found, whatever its number.
    let e = refusal(for_applicant(&k.s, 1, form.as_str()).await);
    assert_eq!(e.kind(), RefusalKind::NotFound);
    // The decisions a municipality can take.
    assert!(matches!(
        Decision::parse("accept", None),
        Ok(Decision::Accept)
    ));
    let e = refusal(Decision::parse("maybe", None));
    assert_eq!((e.code(), e.field()), ("review.decision", Some("decision")));
}

// ------------------------------------------------------------------ portal

#[tokio::test]
async fn a_handoff_link_works_once_and_for_two_minutes() {
    use crate::portal::{HANDOFF_SECONDS, citizen, handoff, redeem_handoff};
    let k = kit().await;
    let r = resident(&k).await;
    // A session as a card login opens it (the login itself is tested end to end).
    let token = {
        let (t, _) = handoff_session(&k, r.id.0).await;
        redeem_handoff(&k.s, &t).await.unwrap()
    };
    let c = citizen(&k.s, &token).await.unwrap();
    assert_eq!(c.resident_id, r.id.0);

    let (link, expires) = handoff(&k.s, &c).await.unwrap();
    assert_eq!(expires, k.clock.now() + Duration::seconds(HANDOFF_SECONDS));
    let browser = redeem_handoff(&k.s, &link).await.unwrap();
    assert!(citizen(&k.s, &browser).await.is_ok());
    let used = refusal(redeem_handoff(&k.s, &link).await);
    assert_eq!(
        (used.code(), used.kind()),
        ("handoff.invalid", RefusalKind::Unauthenticated)
    );

    let (late, _) = handoff(&k.s, &c).await.unwrap();
    k.clock.advance(Duration::seconds(HANDOFF_SECONDS + 1));
    assert_eq!(
        refusal(redeem_handoff(&k.s, &late).await).code(),
        "handoff.invalid"
    );
}

#[tokio::test]
async fn a_portal_session_ends_after_thirty_idle_minutes() {
    use crate::portal::{citizen, logout, redeem_handoff};
    let k = kit().await;
    let r = resident(&k).await;
    let (t, _) = handoff_session(&k, r.id.0).await;
    let token = redeem_handoff(&k.s, &t).await.unwrap();
    k.clock.advance(Duration::minutes(29));
    let c = citizen(&k.s, &token).await.unwrap();
    k.clock.advance(Duration::minutes(29));
    assert!(citizen(&k.s, &token).await.is_ok(), "use keeps it alive");
    k.clock.advance(Duration::minutes(31));
    let e = refusal(citizen(&k.s, &token).await);
    assert_eq!(e.code(), "session.ended");
    assert!(e.message().contains("30 minutes"));
    // Logging out of an ended session is harmless; an unknown token is unknown.
    logout(&k.s, &c).await.unwrap();
    assert_eq!(
        refusal(citizen(&k.s, "nope").await).code(),
        "session.unknown"
    );
}

/// A handoff session for a resident, as the first step of a login (the card proof is the
/// eligibility service's, tested end to end).
async fn handoff_session(k: &Kit, resident_id: i64) -> (String, ()) {
    use openmyna_portal::session::Session;
    let token = format!("{resident_id:064x}");
    let now = k.clock.now();
    k.s.store
        .portal()
        .create_portal_session(
            &openmyna_store::crypto::sha256_hex(token.as_bytes()),
            &Session {
                resident_id,
                auth_serial: "00".into(),
                created_at: now,
                last_seen: now,
                ended_at: None,
            },
        )
        .await
        .unwrap();
    (token, ())
}

#[tokio::test]
async fn medical_expense_notices_cover_five_years_and_this_one() {
    use crate::portal::{citizen, medical_expenses, redeem_handoff};
    let k = kit().await;
    let r = resident(&k).await;
    let (t, _) = handoff_session(&k, r.id.0).await;
    let c = citizen(&k.s, &redeem_handoff(&k.s, &t).await.unwrap())
        .await
        .unwrap();
    let (header, lines) = medical_expenses(&k.s, &c, 2026).await.unwrap();
    assert_eq!((header.year, lines.len()), (2026, 0));
    assert_eq!(
        header.insured_name, "山田\u{3000}太郎",
        "the registry's name"
    );
    assert!(medical_expenses(&k.s, &c, 2021).await.is_ok());
    assert_eq!(
        refusal(medical_expenses(&k.s, &c, 2020).await).code(),
        "year.range"
    );
    assert_eq!(
        refusal(medical_expenses(&k.s, &c, 2027).await).code(),
        "year.range"
    );
}

// ------------------------------------------------------------------ employers

#[tokio::test]
async fn who_acts_for_an_employer_decides_what_they_may_do() {
    use crate::employers::{EmployeeInput, Employer, create_member, upsert_employee};
    let k = kit().await;
    let clock = k.clock.as_ref() as &dyn Clock;
    let org = crate::admin::create_organisation(&k.s.store, clock, "employer", "株式会社A", None)
        .await
        .unwrap();
    let t = crate::admin::create_token(&k.s.store, clock, org.id, "admin", None)
        .await
        .unwrap();
    let now = clock.now();
    let admin_actor =
        k.s.store
            .auth()
            .authenticate(&t.token, &now)
            .await
            .unwrap()
            .unwrap();
    let admin = Employer::of(&k.s, &admin_actor).await.unwrap();
    assert_eq!(admin.kind(), "admin");
    assert_eq!(
        refusal(admin.require_hr().map(|_| ())).code(),
        "employer.hr_only"
    );

    // Another role is refused, naming the role needed.
    let e = refusal(Employer::of(&k.s, &operator()).await.map(|_| ()));
    assert_eq!((e.code(), e.kind()), ("auth.role", RefusalKind::Forbidden));

    let emp = EmployeeInput {
        employee_no: "E1",
        name: "山田 太郎",
        division_id: None,
        hired_on: "2020-04-01",
        left_on: Some("2019-03-31"),
    };
    let e = refusal(upsert_employee(&k.s, &admin, &emp).await);
    assert_eq!(
        (e.code(), e.field()),
        ("left_on.before_hired", Some("left_on"))
    );
    let (row, created) = upsert_employee(
        &k.s,
        &admin,
        &EmployeeInput {
            left_on: None,
            ..emp
        },
    )
    .await
    .unwrap();
    assert!(created);
    let (_, again) = upsert_employee(
        &k.s,
        &admin,
        &EmployeeInput {
            left_on: None,
            ..emp
        },
    )
    .await
    .unwrap();
    assert!(!again, "the same employee number updates");

    let member = create_member(&k.s, &admin, "employee", None, Some("E1"))
        .await
        .unwrap();
    assert_eq!(member.name, row.name);
    let member_actor =
        k.s.store
            .auth()
            .authenticate(&member.token, &now)
            .await
            .unwrap()
            .unwrap();
    let employee = Employer::of(&k.s, &member_actor).await.unwrap();
    assert_eq!(
        (employee.kind(), employee.employee_no()),
        ("employee", Some("E1"))
    );
    assert_eq!(
        refusal(employee.require_staff()).code(),
        "employer.staff_only"
    );
    let e = refusal(create_member(&k.s, &employee, "hr", Some("佐藤"), None).await);
    assert_eq!(e.code(), "employer.admin_only");
    let e = refusal(create_member(&k.s, &admin, "boss", None, None).await);
    assert_eq!((e.code(), e.field()), ("kind.unknown", Some("kind")));
}

// ------------------------------------------------------------------ errors

#[test]
fn a_field_survives_any_domain_refusal() {
    let e: ServiceError = openmyna_applications::ApplicationError::Refusal(Refusal::invalid(
        "form_id.format",
        "23 digits",
    ))
    .into();
    let r = refusal::<()>(Err(e.with_field("form_id")));
    assert_eq!((r.code(), r.field()), ("form_id.format", Some("form_id")));
    let failure = ServiceError::internal("test", "disk full");
    assert!(matches!(
        failure.with_field("x"),
        ServiceError::Internal { .. }
    ));
}

// ------------------------------------------------------------------ storage

#[tokio::test]
async fn a_status_moves_once_from_what_was_read() {
    use openmyna_applications::CardStatus;
    use openmyna_store::cards::CardRecord;
    let k = kit().await;
    let r = resident(&k).await;
    let now = k.clock.now();
    let card = CardRecord {
        serial: "0123456789ABCDEF".into(),
        resident_id: r.id.0,
        issued_at: now,
        expiry: "2036-02-17".into(),
        auth_serial: "01".into(),
        sign_serial: None,
        status: CardStatus::Active,
        status_at: None,
        presence_key: None,
    };
    k.s.store.cards().insert_card(&card, "test").await.unwrap();
    let store = &k.s.store;
    let set = |from, to| {
        store
            .cards()
            .set_card_status(&card.serial, from, to, &now, "t", "t", "t")
    };
    // Two requests that both read "active": the first moves the card, the second is told.
    assert!(set(CardStatus::Active, CardStatus::Lost).await.unwrap());
    assert!(!set(CardStatus::Active, CardStatus::Returned).await.unwrap());
    let stored = store.cards().card(&card.serial).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.status_at),
        (CardStatus::Lost, Some(now))
    );
    // Only the move was recorded: the issuance and one status change.
    let events = store.cards().card_events(&card.serial).await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(!set(CardStatus::Active, CardStatus::Lost).await.unwrap());
}

/// A manufactured card prints the holder's face as real cards do: a reader opening the 券面AP
/// with 照合番号A reads a JPEG 2000 picture in which a face detector finds a face, and the
/// name as a picture.
#[tokio::test]
async fn a_manufactured_card_shows_the_holders_face_in_jpeg_2000() {
    use openmyna_card::{Session, ber, process};
    let k = kit().await;
    let r = resident(&k).await;
    let made = crate::issuance::manufacture(
        &k.s.store,
        k.s.clock.as_ref(),
        k.s.entropy.as_ref(),
        &r,
        None,
    )
    .await
    .unwrap();
    let mut card = made.state;
    let mut session = Session::default();
    let mut tx = |apdu: Vec<u8>| {
        let o = process(&mut card, &mut session, &apdu);
        (o.response.data, o.response.sw.0)
    };
    let select = |aid: &[u8]| [&[0x00, 0xA4, 0x04, 0x0C, aid.len() as u8][..], aid].concat();
    let verify = |v: &[u8]| [&[0x00, 0x20, 0x00, 0x80, v.len() as u8][..], v].concat();
    assert_eq!(tx(select(openmyna_card::AppletId::Face.aid())).1, 0x9000);
    assert_eq!(tx(vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x13]).1, 0x9000);
    assert_eq!(tx(verify(r.my_number.expose().as_bytes())).1, 0x9000);
    assert_eq!(tx(vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x02]).1, 0x9000);
    let (ef, sw) = tx(vec![0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00]);
    assert_eq!(sw, 0x9000);
    let (outer, _) = ber::parse(&ef).unwrap();
    let items = ber::children(outer.value).unwrap();
    let item = |tag: u32| items.iter().find(|t| t.tag == tag).unwrap().value.to_vec();
    let face = openmyna_cardface::jp2::decode_grey(&item(0xDF27)).unwrap();
    assert_eq!((face.width, face.height), (300, 400));
    let model = rustface::read_model(std::io::Cursor::new(include_bytes!(
        "../../openmyna-cardface/testdata/seeta_fd_frontal_v1.0.bin"
    )))
    .unwrap();
    let mut detector = rustface::create_detector_with_model(model);
    detector.set_min_face_size(40);
    detector.set_score_thresh(2.0);
    let found = detector.detect(&rustface::ImageData::new(
        &face.pixels,
        face.width,
        face.height,
    ));
    assert!(!found.is_empty(), "no face on the card");
    assert!(
        item(0xDF25).starts_with(b"\x89PNG"),
        "the name is a picture"
    );
    assert_eq!(item(0xDF22), b"19800217");
}

/// Several servers on one database: the scheduled work runs on the one holding the lease;
/// when it stops renewing (or steps down), another takes over, picking the schedule up from
/// the published CRLs.
#[tokio::test]
async fn the_scheduled_work_runs_on_one_server_at_a_time() {
    use crate::scheduler::{LEASE, Schedule, step_down, tick};
    let k = kit().await;
    let other = Services::new(
        k.s.store.clone(),
        k.s.jpki.clone(),
        k.clock.clone(),
        Arc::new(SeededEntropy::new(8)),
        k._dir.path().join("cards-b"),
    );
    assert_ne!(k.s.instance, other.instance);
    let now = k.clock.now();
    let (mut a, mut b) = (Schedule::new(24, now), Schedule::new(24, now));
    let first = tick(&k.s, &mut a).await;
    assert!(!first.standby);
    assert_eq!(first.full_crls, 2, "the first full CRLs, once");
    let second = tick(&other, &mut b).await;
    assert!(second.standby, "the other server stands by");
    assert_eq!(second.full_crls, 0);
    // The leader stops renewing: after the lease lapses the other takes over, and finds the
    // CRLs already published (no second full CRL at once).
    k.clock.advance(LEASE + Duration::seconds(1));
    let takeover = tick(&other, &mut b).await;
    assert!(!takeover.standby);
    assert_eq!((takeover.full_crls, takeover.delta_crls), (0, 0));
    assert!(tick(&k.s, &mut a).await.standby);
    // Stepping down hands over at once.
    step_down(&other).await;
    assert!(!tick(&k.s, &mut a).await.standby);
}
