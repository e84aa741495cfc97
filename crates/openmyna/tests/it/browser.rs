//! Pages in a real browser: Playwright (npm playwright-core, installed in `browser/` by
//! `.ci/run`) drives Debian's Chromium headless against the real server and the real kiosk
//! on loopback. Each script checks every page it visits (valid HTML, a label on every
//! control, no sideways scrolling at 1280 px and 390 px) and writes a screenshot of each step
//! to `target/browser-screenshots/<test>/`, which the test prints.
//!
//! Skipped (with a message) when Chromium or the npm packages are missing, unless
//! `OPENMYNA_TEST_REQUIRE_BROWSER=1` (set by CI).

use std::path::{Path, PathBuf};

use crate::common::{Backend, TestApp, fixtures, spawn_app};
use openmyna::card_cli::Target;
use openmyna::kiosk::KioskConfig;
use openmyna::terminal::OqsClient;
use openmyna_core::{Clock, Role};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Whether the browser tests can run here; panics when CI requires them and they cannot.
fn browser_available() -> bool {
    let ok = Path::new(&chromium()).exists()
        && repo().join("browser/node_modules/playwright-core").exists()
        && std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("OPENMYNA_TEST_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "OPENMYNA_TEST_REQUIRE_BROWSER=1 but Chromium ({}) or browser/node_modules is missing: \
                 apt install chromium; npm ci --prefix browser",
                chromium()
            );
        }
        eprintln!("SKIPPED: browser test (install chromium and run npm ci --prefix browser)");
    }
    ok
}

/// Runs `browser/<script>` with `env`; returns its report, failing the test on failure.
async fn node(script: &str, env: &[(&str, String)]) -> Value {
    let shots = repo().join("target/browser-screenshots");
    // Under coreutils' timeout: a hung browser fails the test instead of stalling CI.
    let mut cmd = std::process::Command::new("timeout");
    cmd.args(["--kill-after=10", "300", "node"])
        .arg(repo().join("browser").join(script))
        .current_dir(repo().join("browser"))
        .env("SHOTS_DIR", &shots)
        .env("CHROMIUM", chromium());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // The server and the kiosk answer on this runtime's workers meanwhile.
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the browser script ran")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no report from {script}:\n{stdout}\n{stderr}"));
    println!(
        "{script}: screenshots in {}",
        report["screenshots"].as_str().unwrap_or("?")
    );
    assert!(
        out.status.success() && report["ok"] == true,
        "{script} failed: {}\n{stderr}",
        report["error"].as_str().unwrap_or("")
    );
    report
}

/// An adult resident with a card (PIN 1234) in `dir`, enrolled with the demo insurer, with one
/// dispensing on record.
/// A reader terminal of the demo clinic, and its client.
async fn reader_terminal(app: &TestApp) -> OqsClient {
    let (s, t) = app
        .post(
            "/api/v1/oqs/terminals",
            Some(Role::MedicalInstitution),
            &json!({"name": "受付 顔認証付きカードリーダー"}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    OqsClient::new(&app.url, t["token"].as_str().unwrap())
}

/// The kiosk on a loopback port: its URL.
async fn spawn_kiosk(config: KioskConfig) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(openmyna::kiosk::serve(listener, config));
    url
}

async fn patient(app: &TestApp, dir: &Path) -> (i64, PathBuf) {
    let resident = app.register_resident(true).await;
    patient_with(app, dir, resident).await
}

/// [`patient`] for a resident already registered.
async fn patient_with(app: &TestApp, dir: &Path, resident: i64) -> (i64, PathBuf) {
    let card = dir.join("card.json");
    app.issue_card(resident, &card, Some("abc123"))
        .await
        .unwrap();
    let (s, r) = app
        .get(
            &format!("/api/v1/registry/residents/{resident}"),
            Some(Role::Municipality),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = app
        .post(
            "/api/v1/insurance/records",
            Some(Role::Insurer),
            &json!({"records": [{
                "my_number": r["my_number"], "insurer_number": "01130012",
                "insurer_name": "全国健康保険協会 東京支部", "symbol": "12345", "number": "777",
                "branch": "00", "card_class": "01", "relationship": "1", "name": "山田 太郎",
                "name_kana": "ヤマダ タロウ", "birth_date": "1985-06-15", "sex": "1",
                "address": "東京都千代田区霞が関一丁目1番1号", "qualification_date": "2020-04-01",
                "co_payment_ratio": "030", "limit_kind": "01", "limit_category": "A03",
                "limit_valid_from": "2026-04-01"}]}),
        )
        .await;
    assert_eq!((s, r["created"].as_i64()), (200, Some(1)), "{r}");
    // A dispensing: the history the portal shows, and what a clinic sees with consent.
    let (s, r) = app
        .post(
            "/api/v1/insurance/medical-records/medication",
            Some(Role::Insurer),
            &json!({"records": [{"insurer_number": "01130012", "symbol": "12345",
                "number": "777", "branch": "00", "date": "2026-03-01",
                "facility_name": "霞が関薬局", "drug_code": "2149039F1020",
                "drug_name": "アムロジピン錠5mg", "quantity": "1", "unit": "錠", "days": "28"}]}),
        )
        .await;
    assert_eq!((s, r["created"].as_u64()), (200, Some(1)), "{r}");
    (resident, card)
}

/// 顔認証 at the kiosk with a fake camera (browser/face.mjs): the holder's face (from the
/// original photograph: moved, scaled, turned, relit) is matched with the card's photo and
/// the verification records `face` without the PIN; another person's face and an empty
/// camera send the patient to the PIN. Afterwards nothing of the card's photo is under the
/// server's data directory or in the browsers' profiles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_face() {
    if !browser_available() {
        return;
    }
    let Some(assets) = face_assets() else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    // A resident whose demo face is a clear frontal one (face-01, -03, -05, -08: the demo
    // face is the resident id modulo the 14 faces).
    let resident = loop {
        let r = app.register_resident(true).await;
        if [0, 2, 4, 7].contains(&(r % 14)) {
            break r;
        }
    };
    let (resident, card) = patient_with(&app, dir.path(), resident).await;
    let client = reader_terminal(&app).await;
    // 利用登録 was made before (with the PIN).
    let reg: Value = client
        .register(&mut fixtures::card(&card), "1234")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reg["channel"], "reader");
    let face = openmyna::kiosk::FaceConfig {
        assets,
        threshold: openmyna::kiosk::DEFAULT_FACE_THRESHOLD,
    };
    face.check().unwrap();
    let kiosk_url = spawn_kiosk(KioskConfig {
        target: Target {
            card: Some(card.clone()),
            reader: None,
        },
        client,
        register: false,
        face: Some(face),
    })
    .await;
    let work = tempfile::tempdir().unwrap();
    let report = node(
        "face.mjs",
        &[
            ("KIOSK_URL", kiosk_url),
            ("FACE", (resident % 14).to_string()),
            ("WORK_DIR", work.path().display().to_string()),
        ],
    )
    .await;
    println!("face checks: {}", report["outcomes"]);

    // One verification, by face; the PIN was never presented.
    let log = app.store.access().access_log(resident, 100).await.unwrap();
    let checks: Vec<&str> = log
        .iter()
        .filter(|e| e.category == "oqs.eligibility")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert!(checks[0].contains("顔認証"), "{checks:?}");
    let mut c = fixtures::card(&card);
    assert_eq!(c.pin_tries(openmyna_card::PinId::Auth).unwrap(), 3);

    // Nothing of the card's photo was written: not under the server's data directory, not in
    // the browsers' profiles (cache included).
    let front = openmyna_cardio::CardFile::open(&card)
        .unwrap()
        .load()
        .unwrap()
        .printed_collation_b
        .unwrap();
    let photo = c.face_entries(&front).unwrap().photo_jp2;
    // The codestream after the JP2 boxes' headers: 64 bytes from its middle.
    let needle = &photo[photo.len() / 2..photo.len() / 2 + 64];
    for root in [app.config.data_dir.as_path(), work.path()] {
        for file in files_under(root) {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "the card's photo is in {}",
                file.display()
            );
        }
    }
    app.finish().await;
}

/// The face assets, or `None` (with a message, or a failure under CI) when not installed.
fn face_assets() -> Option<PathBuf> {
    let assets = repo().join("browser/node_modules");
    if assets.join("@vladmandic/face-api/model").exists() {
        return Some(assets);
    }
    assert!(
        std::env::var("OPENMYNA_TEST_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "browser/node_modules has no @vladmandic/face-api: npm ci --prefix browser"
    );
    eprintln!("SKIPPED: face test (npm ci --prefix browser)");
    None
}

/// The kiosk's face matcher (the script the face screen runs) on the face-api package's
/// sample photographs (browser/face-matcher.mjs): each demo card photo against camera-like
/// pictures of the same person and of the others. At the default threshold every genuine
/// pair is accepted and every impostor pair refused; the figures (distances, false-accept and
/// false-reject rates at several thresholds, time per descriptor) are printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn face_matcher() {
    if !browser_available() {
        return;
    }
    let Some(assets) = face_assets() else {
        return;
    };
    let kiosk_url = spawn_kiosk(KioskConfig {
        target: Target {
            card: None,
            reader: None,
        },
        client: OqsClient::new("http://127.0.0.1:9", "unused"),
        register: false,
        face: Some(openmyna::kiosk::FaceConfig {
            assets,
            threshold: openmyna::kiosk::DEFAULT_FACE_THRESHOLD,
        }),
    })
    .await;
    let faces = repo().join("crates/openmyna-cardface/faces");
    let r = node(
        "face-matcher.mjs",
        &[
            ("KIOSK_URL", kiosk_url),
            ("FACES_DIR", faces.display().to_string()),
        ],
    )
    .await;
    println!("face matcher: {r}");
    assert_eq!(r["card_photos_with_a_face"], 13, "{r}");
    // A probe whose face the detector misses goes to the PIN (a false reject, counted in the
    // rates); a few of the darker or closer framings are.
    assert!(r["probes_without_a_face"].as_u64().unwrap() <= 5, "{r}");
    let t = f64::from(openmyna::kiosk::DEFAULT_FACE_THRESHOLD);
    let genuine_max = r["genuine"]["max"].as_f64().unwrap();
    let impostor_min = r["impostor"]["min"].as_f64().unwrap();
    assert!(
        genuine_max <= t && t < impostor_min,
        "genuine pairs within, impostor pairs beyond the threshold {t}: {r}"
    );
}

/// The multi-copy machine (`openmyna konbini --ui`, browser/konbini.mjs): the card, a wrong
/// PIN with the tries left, 住民票の写し of the household with 続柄, the fee, the PDF
/// (signed: pdfsig), then three wrong PINs: locked, nothing more issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn konbini_machine() {
    if !browser_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = app
        .as_role(Role::Operator)
        .put(
            "/api/v1/konbini/municipalities/131016",
            &json!({"name": "千代田区", "fee_juminhyo": 200, "fee_kisai_jiko": 200, "fee_inkan": 300}),
        )
        .await;
    assert_eq!(s, 204);
    let head = app.register_resident(true).await;
    let wife = app.register_resident(true).await;
    let card = dir.path().join("card.json");
    app.issue_card(head, &card, Some("ABC123")).await.unwrap();
    let muni = app.as_role(Role::Municipality);
    let (_, h) = muni
        .post(
            "/api/v1/registry/households",
            &json!({"head_resident_id": head}),
        )
        .await;
    let hid = h["household_id"].as_i64().unwrap();
    let (s, _) = muni
        .post(
            &format!("/api/v1/registry/households/{hid}/members"),
            &json!({"resident_id": wife, "relationship": "妻"}),
        )
        .await;
    assert_eq!(s, 200);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(openmyna::konbini::serve(
        listener,
        openmyna::konbini::MachineConfig {
            target: Target {
                card: Some(card.clone()),
                reader: None,
            },
            centre: OqsClient::new(&app.url, app.token(Role::Operator)),
        },
    ));
    let work = tempfile::tempdir().unwrap();
    let report = node(
        "konbini.mjs",
        &[
            ("MACHINE_URL", url),
            ("WORK_DIR", work.path().display().to_string()),
        ],
    )
    .await;
    assert!(report["checked"].as_array().unwrap().len() >= 6, "{report}");
    let pdf = work.path().join("certificate.pdf");
    let sig = std::process::Command::new("pdfsig").arg(&pdf).output();
    if let Ok(o) = sig {
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("Signature is Valid"), "{out}");
    }
    let issued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM issued_certificates")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(issued, 1, "one certificate; nothing after the lock-out");
    assert_eq!(
        fixtures::card(&card)
            .pin_tries(openmyna_card::PinId::Auth)
            .unwrap(),
        0
    );
    app.finish().await;
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk() {
    if !browser_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (resident, card) = patient(&app, dir.path()).await;
    let client = reader_terminal(&app).await;
    openmyna::terminal::check_facility(&client, "1311234569")
        .await
        .unwrap();
    let kiosk_url = spawn_kiosk(KioskConfig {
        target: Target {
            card: Some(card.clone()),
            reader: None,
        },
        client,
        register: true,
        face: None,
    })
    .await;
    let report = node("kiosk.mjs", &[("KIOSK_URL", kiosk_url)]).await;
    assert!(
        report["checked"].as_array().unwrap().len() >= 10,
        "{report}"
    );

    // What the browser did reached the server: two verifications, and exactly the consents
    // chosen (the second patient said no to everything).
    let log = app.store.access().access_log(resident, 100).await.unwrap();
    let checks = log
        .iter()
        .filter(|e| e.category == "oqs.eligibility")
        .count();
    assert_eq!(checks, 2, "two patients verified: {log:?}");
    // The third patient's wrong PINs locked the card, and the reader reported it.
    assert_eq!(
        crate::common::fixtures::card(&card)
            .pin_tries(openmyna_card::PinId::Auth)
            .unwrap(),
        0
    );
    let locked: Vec<String> =
        sqlx::query_scalar("SELECT actor FROM card_events WHERE action = 'pin_locked'")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        locked.len(),
        1,
        "the lock-out is in the card's history: {locked:?}"
    );
    let mut given: Vec<String> = sqlx::query_scalar("SELECT category FROM oqs_consents")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    given.sort();
    assert_eq!(given, ["clinical", "limit_amount"]);
    app.finish().await;
}

/// The portal's login from the browser itself: a code on the computer, approved from a
/// logged-in phone at the QR code's address; the computer's page logs in by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_pairing() {
    if !browser_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (_, card) = patient(&app, dir.path()).await;
    let target = Target {
        card: Some(card),
        reader: None,
    };
    let (_, link) = openmyna::portal_cli::handoff_link(&target, &app.url, "1234")
        .await
        .unwrap();
    node(
        "portal-pair.mjs",
        &[("BASE_URL", app.url.clone()), ("HANDOFF_URL", link)],
    )
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal() {
    if !browser_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (resident, card) = patient(&app, dir.path()).await;
    let target = Target {
        card: Some(card.clone()),
        reader: None,
    };
    let (name, link) = openmyna::portal_cli::handoff_link(&target, &app.url, "1234")
        .await
        .unwrap();
    assert_eq!(name, "山田\u{3000}太郎");
    node("portal.mjs", &[("HANDOFF_URL", link)]).await;

    // The browser's forms reached the server.
    let account = app
        .store
        .portal()
        .public_money_account(resident)
        .await
        .unwrap();
    assert!(account.is_some(), "the account is registered");
    let history = app
        .store
        .portal()
        .public_money_account_history(resident)
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "the refused form changed nothing");
    // Registered from the page, the card is used at a clinic, and the patient shares
    // 診療・薬剤情報: a consent the portal withdraws after a confirmation.
    let (s, t) = app
        .post(
            "/api/v1/oqs/terminals",
            Some(Role::MedicalInstitution),
            &json!({"name": "受付1"}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let clinic = OqsClient::new(&app.url, t["token"].as_str().unwrap());
    let v = clinic
        .verify::<Value, _>(&mut fixtures::card(&card), "1234", "pin", None)
        .await
        .unwrap()
        .unwrap();
    let vid = v["verification_id"].as_str().unwrap();
    clinic
        .consent(vid, &["clinical".to_owned()])
        .await
        .unwrap()
        .unwrap();
    let now = app.clock.now();
    let consents = app.store.eligibility();
    let open = consents
        .facility_consents_of_resident(resident, &now)
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "the clinic's consent is open");
    let (_, link) = openmyna::portal_cli::handoff_link(&target, &app.url, "1234")
        .await
        .unwrap();
    node("portal-consent.mjs", &[("HANDOFF_URL", link)]).await;
    let open = app
        .store
        .eligibility()
        .facility_consents_of_resident(resident, &now)
        .await
        .unwrap();
    assert!(
        open.is_empty(),
        "the confirmed withdrawal closed the consent"
    );
    app.finish().await;
}

/// The API reference renders in a browser from the binary alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_reference() {
    if !browser_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    node("docs.mjs", &[("DOCS_URL", format!("{}/docs", app.url))]).await;
    app.finish().await;
}

/// The campaign pages: the demo company's staff log in with its token and see the dashboard,
/// the charts and the running campaign, at 1280 and 390 px.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaigns() {
    if !browser_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    openmyna::demo::seed_campaign(&app.store, app.clock.as_ref())
        .await
        .unwrap();
    node(
        "campaigns.mjs",
        &[
            ("CAMPAIGNS_URL", format!("{}/campaigns", app.url)),
            ("EMPLOYER_TOKEN", app.token(Role::Employer).to_owned()),
        ],
    )
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console() {
    if !browser_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (resident, _card) = patient(&app, dir.path()).await;
    let (s, r) = app
        .post(
            "/api/v1/jpki/crls/publish",
            Some(Role::Operator),
            &json!({"kind": "full"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    node(
        "console.mjs",
        &[
            ("CONSOLE_URL", format!("{}/console", app.url)),
            ("OPERATOR_TOKEN", app.token(Role::Operator).to_owned()),
            ("RESIDENT_ID", resident.to_string()),
        ],
    )
    .await;

    // The operator's clicks reached the CA: the first certificate is revoked for key
    // compromise, and OCSP-visible state says so.
    let (s, certs) = app
        .get(
            &format!("/api/v1/jpki/residents/{resident}/certificates"),
            Some(Role::Operator),
        )
        .await;
    assert_eq!(s, 200, "{certs}");
    let revoked: Vec<&Value> = certs
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "{certs}");
    assert_eq!(revoked[0]["reason"], "keyCompromise");
    // The search by name is in the resident's access log.
    let log = app.store.access().access_log(resident, 50).await.unwrap();
    assert!(
        log.iter().any(|e| e.category == "jpki.console_search"),
        "{:?}",
        log.iter().map(|e| &e.category).collect::<Vec<_>>()
    );
    app.finish().await;
}

/// OpenID Connect in the browser: the card login from the consent page (a code approved by a
/// logged-in phone), back to the consent page, one item unticked, the code at the service's
/// redirect URI — redeemed by the relying party's client (Authlib), whose userinfo lacks the
/// unticked item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_login() {
    if !browser_available() {
        return;
    }
    let Some(py) = crate::oidc::python() else {
        return;
    };
    let app = crate::common::spawn_app_at(Backend::Sqlite, crate::common::real_now()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, card) = patient(&app, d).await;
    let redirect = format!("{}/oidc-callback", app.url);
    let client_id = crate::oidc::register(&app, &py, d, &redirect).await;
    let issuer = format!("{}/api/realms/main", app.url);
    let auth_url = crate::oidc::client(
        &py,
        d,
        &[
            "authorize",
            d.to_str().unwrap(),
            &issuer,
            &client_id,
            &redirect,
            "openid name address birthdate gender",
        ],
    );
    let target = Target {
        card: Some(card),
        reader: None,
    };
    let (_, link) = openmyna::portal_cli::handoff_link(&target, &app.url, "1234")
        .await
        .unwrap();
    let callback_file = d.join("callback.txt");
    node(
        "oidc.mjs",
        &[
            ("BASE_URL", app.url.clone()),
            ("AUTH_URL", auth_url),
            ("HANDOFF_URL", link),
            (
                "CALLBACK_FILE",
                callback_file.to_string_lossy().into_owned(),
            ),
        ],
    )
    .await;
    let callback = std::fs::read_to_string(&callback_file).unwrap();
    let out: Value = serde_json::from_str(&crate::oidc::client(
        &py,
        d,
        &["finish", d.to_str().unwrap(), &callback],
    ))
    .unwrap();
    assert_eq!(out["userinfo"]["name"], "山田\u{3000}太郎", "{out}");
    assert!(out["userinfo"].get("gender").is_none(), "unticked: {out}");
    app.finish().await;
}
