//! `openmyna terminal … --ui ADDR`: the screen of a face-recognition card reader at a clinic's
//! reception (the kiosk), served on a local address. It walks the four steps of the
//! ministry's leaflet — 1 place the card, 2 identity (4-digit PIN, with the tries left after a
//! wrong one), 3 the consent screens (診療・薬剤情報, 手術情報, 特定健診情報 when offered from 40,
//! 限度額情報: 提供する / 提供しない), 4 done (カードを忘れずに!) — and shows the reception staff
//! the eligibility result at `/staff`. Japanese by default, English at `/lang/en`.
//!
//! Server-rendered HTML forms (POST, then a redirect). One patient at a time: the state lives
//! in this process; the server keeps everything that matters (the verification, the consents,
//! the access log).
//!
//! 顔認証 (with `--face-assets`): the face screen's script asks the browser for the camera,
//! reads the card's photo from this process (the 券面AP after 照合番号B, read from the card
//! at that moment and never kept), and compares the two with a face-recognition model
//! (`@vladmandic/face-api`, in the page); only the outcome comes back. A match has the card's
//! 券面AP key sign the server's challenge (no PIN) and the verification records `face`;
//! no match after a few tries, or no face, sends the patient to the PIN. Neither the photo
//! nor a camera frame is written anywhere or sent to the server. See docs/face.md.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use openmyna_api::oqs::{EligibilityResult, LimitView, MedicalData};
use openmyna_card::layout::KeyId;
use openmyna_cardio::CardIoError;
use openmyna_cardio::client::Certificate;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::app::AppError;
use crate::card_cli::{Target, connect};
use crate::terminal::{OqsClient, Proof};
use openmyna_http::auth::is_loopback_host;

/// Where the patient is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// 1: waiting for a card.
    PlaceCard,
    /// 2: choose how to confirm identity.
    Identity,
    /// 2: 顔認証: the camera, the card's photo and the comparison in the page.
    Face,
    /// 2: the PIN, with the tries left after a wrong one.
    Pin { tries_left: Option<u8> },
    /// 2: the card is checking a PIN; another PIN is not taken meanwhile (a double tap
    /// would cost the patient a second try).
    Checking,
    /// 3: the n-th offered consent screen.
    Consent(usize),
    /// 4: done.
    Done,
    /// The PIN is locked (the last try used up, or locked before): the patient is sent to
    /// the municipality, and the staff see it.
    Locked,
    /// Something the patient cannot fix here: ask the staff.
    Stopped(String),
}

/// The kiosk: one patient at a time.
pub struct Kiosk {
    pub step: Step,
    pub lang: Lang,
    /// The eligibility result, for the staff screen.
    pub result: Option<EligibilityResult>,
    /// The consent screens offered, in leaflet order.
    pub offered: Vec<String>,
    /// The patient's answers so far.
    pub answers: Vec<(String, bool)>,
    /// Consents opened at the server.
    pub opened: Vec<String>,
    /// What the clinic may see now that the patient consented (for the staff screen; gone
    /// with the next patient).
    pub disclosed: Option<Disclosed>,
    /// The digits pressed on the on-screen number pad (never shown, logged or kept past the
    /// PIN screen).
    pub entered: String,
    /// How this patient was confirmed (for the staff screen): `pin` or `face`.
    pub method: Option<&'static str>,
    /// 顔認証 did not confirm the patient: the PIN screen says to use the PIN.
    pub face_failed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

/// The leaflet's order of the consent screens.
const CONSENT_ORDER: [&str; 4] = ["clinical", "surgery", "checkup", "limit_amount"];

impl Kiosk {
    pub fn new() -> Kiosk {
        Kiosk {
            step: Step::PlaceCard,
            lang: Lang::Ja,
            result: None,
            offered: Vec::new(),
            answers: Vec::new(),
            opened: Vec::new(),
            disclosed: None,
            entered: String::new(),
            method: None,
            face_failed: false,
        }
    }

    /// Back to step 1 for the next patient, in Japanese again (a language is chosen per
    /// patient).
    pub fn reset(&mut self) {
        *self = Kiosk::new();
    }

    /// 取消: this patient starts again from step 1, in the language they chose.
    pub fn cancel(&mut self) {
        let lang = self.lang;
        *self = Kiosk::new();
        self.lang = lang;
    }

    /// A verification answered: the consent screens offered, or done when none is.
    pub fn verified(&mut self, result: EligibilityResult) {
        let offered: Vec<&str> = result.consent_choices.iter().map(|c| c.code()).collect();
        self.offered = CONSENT_ORDER
            .iter()
            .filter(|c| offered.contains(c))
            .map(|c| (*c).to_owned())
            .collect();
        self.result = Some(result);
        self.answers.clear();
        self.step = if self.offered.is_empty() {
            Step::Done
        } else {
            Step::Consent(0)
        };
    }

    /// The patient answered the current consent screen; true when that was the last one.
    pub fn answer(&mut self, yes: bool) -> bool {
        let Step::Consent(i) = self.step else {
            return false;
        };
        if let Some(c) = self.offered.get(i) {
            self.answers.push((c.clone(), yes));
        }
        if i + 1 < self.offered.len() {
            self.step = Step::Consent(i + 1);
            false
        } else {
            self.step = Step::Done;
            true
        }
    }

    /// A key of the on-screen number pad: a digit (at most four), or 訂正 (the last digit
    /// taken back). Only on the PIN screen.
    pub fn key(&mut self, key: &str) {
        if !matches!(self.step, Step::Pin { .. }) {
            return;
        }
        match key {
            "correct" => {
                self.entered.pop();
            }
            d if d.len() == 1
                && d.bytes().all(|b| b.is_ascii_digit())
                && self.entered.len() < 4 =>
            {
                self.entered.push_str(d);
            }
            _ => {}
        }
    }

    /// 戻る: one screen back — from the PIN to the choice of method (the digits forgotten),
    /// from the method to placing the card, from a consent screen to the one before (its
    /// answer taken back). The verification itself is not undone: the first consent screen
    /// has nothing before it.
    pub fn back(&mut self) {
        self.entered.clear();
        self.step = match self.step {
            Step::Pin { .. } | Step::Face => Step::Identity,
            Step::Identity => Step::PlaceCard,
            Step::Consent(i) if i > 0 => {
                // Screens 0..i were answered; the one before is asked again.
                self.answers.truncate(i - 1);
                Step::Consent(i - 1)
            }
            ref other => other.clone(),
        };
    }

    pub fn chosen(&self) -> Vec<String> {
        self.answers
            .iter()
            .filter(|(_, y)| *y)
            .map(|(c, _)| c.clone())
            .collect()
    }
}

impl Default for Kiosk {
    fn default() -> Self {
        Kiosk::new()
    }
}

/// One entry of the consented records the reception may see.
#[derive(Debug, Clone, PartialEq)]
pub struct DisclosedRow {
    /// 薬剤 / 診療 / 手術 / 特定健診.
    pub kind: &'static str,
    pub date: String,
    pub what: String,
    pub facility: String,
}

/// The consented records, fetched from the server once the consents are open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Disclosed {
    pub rows: Vec<DisclosedRow>,
    /// 限度額適用区分, when consented (and "なし" when the patient has none).
    pub limit: Option<String>,
    /// What could not be fetched (the reception can retry with the CLI).
    pub errors: Vec<String>,
}

impl Disclosed {
    fn add(&mut self, items: &[MedicalData]) {
        for i in items {
            let (kind, what, facility) = match i {
                MedicalData::Medication(m) => (
                    "薬剤",
                    format!("{} {}{} × {}日", m.drug_name, m.quantity, m.unit, m.days),
                    &m.facility_name,
                ),
                MedicalData::Treatment(t) => (
                    if t.surgery { "手術" } else { "診療" },
                    t.procedure_name.clone(),
                    &t.facility_name,
                ),
                MedicalData::Checkup(c) => (
                    "特定健診",
                    format!(
                        "BMI {} 血圧 {}/{}{}",
                        c.bmi,
                        c.systolic_bp,
                        c.diastolic_bp,
                        c.hba1c.map(|h| format!(" HbA1c {h}%")).unwrap_or_default()
                    ),
                    &c.facility_name,
                ),
                MedicalData::Expense(e) => (
                    "医療費",
                    format!("{}円", e.total_cost_yen),
                    &e.facility_name,
                ),
            };
            self.rows.push(DisclosedRow {
                kind,
                date: i.date().to_string(),
                what,
                facility: facility.clone(),
            });
        }
    }
}

/// Fetches what the open consents let the clinic see: medication and treatment records
/// (clinical; surgeries only with their own consent, as the server decides), check-ups,
/// the limit-amount category.
async fn fetch_disclosed(client: &OqsClient, verification: &str, opened: &[String]) -> Disclosed {
    let mut d = Disclosed::default();
    let open = |c: &str| opened.iter().any(|o| o == c);
    for (wanted, path) in [
        (open("clinical"), "medications"),
        (open("clinical") || open("surgery"), "treatments"),
        (open("checkup"), "checkups"),
    ] {
        if !wanted {
            continue;
        }
        let url = format!("/api/v1/oqs/verifications/{verification}/{path}");
        match client.get::<Vec<MedicalData>>(&url).await {
            Ok(Ok(items)) => d.add(&items),
            Ok(Err(r)) => d.errors.push(format!("{path}: {}", r.code)),
            Err(e) => d.errors.push(format!("{path}: {e}")),
        }
    }
    if open("limit_amount") {
        let url = format!("/api/v1/oqs/verifications/{verification}/limit-amount");
        match client.get::<LimitView>(&url).await {
            Ok(Ok(v)) => {
                d.limit = Some(match v.limit {
                    Some(l) => format!("{}（{}）", l.category.code(), l.category.label_ja()),
                    None => "なし".into(),
                })
            }
            Ok(Err(r)) => d.errors.push(format!("limit-amount: {}", r.code)),
            Err(e) => d.errors.push(format!("limit-amount: {e}")),
        }
    }
    d
}

/// What the kiosk needs to work.
pub struct KioskConfig {
    pub target: Target,
    pub client: OqsClient,
    /// Register the card (利用登録) when it is not yet.
    pub register: bool,
    /// 顔認証: the face-recognition model and its threshold; `None`: PIN only.
    pub face: Option<FaceConfig>,
}

/// The face-recognition reader's model: the npm packages that carry it and the threshold.
#[derive(Debug, Clone)]
pub struct FaceConfig {
    /// A `node_modules` directory holding `@vladmandic/face-api` (with its weights),
    /// `@tensorflow/tfjs-backend-wasm` and `@cornerstonejs/codec-openjpeg` (for example
    /// `browser/node_modules` after `npm ci --prefix browser`).
    pub assets: std::path::PathBuf,
    /// The largest descriptor distance taken as the same person (see docs/face.md for the
    /// false-accept / false-reject trade-off).
    pub threshold: f32,
}

/// The threshold by default: much stricter than face-api's 0.6 (which is meant for telling
/// people apart in one photograph): on the card photos' small, grey JPEG 2000 the closest
/// impostor pair measured 0.40 and the farthest genuine pair 0.32 (docs/face.md).
pub const DEFAULT_FACE_THRESHOLD: f32 = 0.4;

/// The files of the face screen, served from [`FaceConfig::assets`]: nothing else there is
/// reachable.
const FACE_ASSETS: &[(&str, &str)] = &[
    (
        "@vladmandic/face-api/dist/face-api.esm.js",
        "text/javascript",
    ),
    (
        "@vladmandic/face-api/model/ssd_mobilenetv1_model-weights_manifest.json",
        "application/json",
    ),
    (
        "@vladmandic/face-api/model/ssd_mobilenetv1_model.bin",
        "application/octet-stream",
    ),
    (
        "@vladmandic/face-api/model/face_landmark_68_model-weights_manifest.json",
        "application/json",
    ),
    (
        "@vladmandic/face-api/model/face_landmark_68_model.bin",
        "application/octet-stream",
    ),
    (
        "@vladmandic/face-api/model/face_recognition_model-weights_manifest.json",
        "application/json",
    ),
    (
        "@vladmandic/face-api/model/face_recognition_model.bin",
        "application/octet-stream",
    ),
    (
        "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
        "application/wasm",
    ),
    (
        "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
        "application/wasm",
    ),
    (
        "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm",
        "application/wasm",
    ),
    (
        "@cornerstonejs/codec-openjpeg/dist/openjpegwasm_decode.js",
        "text/javascript",
    ),
    (
        "@cornerstonejs/codec-openjpeg/dist/openjpegwasm_decode.wasm",
        "application/wasm",
    ),
];

impl FaceConfig {
    /// Checks that the packages are there (the kiosk refuses to start with a face screen
    /// that cannot work).
    pub fn check(&self) -> Result<(), AppError> {
        if !(0.1..=1.0).contains(&self.threshold) {
            return Err(AppError::Invalid(format!(
                "--face-threshold {} is outside 0.1..1.0 (a descriptor distance; 0.5 by default)",
                self.threshold
            )));
        }
        for (file, _) in FACE_ASSETS {
            if !self.assets.join(file).is_file() {
                return Err(AppError::Invalid(format!(
                    "--face-assets {}: {file} is missing (npm ci --prefix browser installs the face-recognition packages)",
                    self.assets.display()
                )));
            }
        }
        Ok(())
    }
}

/// 照合番号B as printed on the card's front, which the reader's camera reads: a card file
/// carries it; a card in a PC/SC reader shows the reader nothing.
fn printed_collation_b(target: &Target) -> Option<String> {
    let path = target.card.as_ref()?;
    openmyna_cardio::CardFile::open(path)
        .and_then(|f| f.load())
        .ok()?
        .printed_collation_b
}

#[derive(Clone)]
struct Shared {
    kiosk: Arc<Mutex<Kiosk>>,
    config: Arc<KioskConfig>,
}

/// The kiosk's texts: (key, Japanese, English).
const TEXTS: &[(&str, &str, &str)] = &[
    ("title", "マイナ受付", "My Number Card reception"),
    ("step1", "カードを置いてください", "Place your card"),
    (
        "step1_hint",
        "マイナンバーカードをカードリーダーに置いて、ボタンを押してください。",
        "Put your My Number Card on the reader and press the button.",
    ),
    ("place", "カードを置きました", "My card is on the reader"),
    (
        "step2",
        "本人確認の方法を選んでください",
        "Choose how to confirm it is you",
    ),
    ("face", "顔認証", "Face recognition"),
    (
        "face_unavailable",
        "この端末では顔認証を使えません（カメラまたは顔認証の設定がありません）。暗証番号をお使いください。",
        "Face recognition is not available here (no camera or no face model). Please use your PIN.",
    ),
    (
        "face_guide",
        "画面の枠に顔が収まるようにすると自動的に撮影されます",
        "Fit your face in the frame on the screen and the picture is taken automatically",
    ),
    (
        "face_loading",
        "顔認証の準備をしています…",
        "Preparing face recognition…",
    ),
    ("face_camera", "カメラの映像", "Camera picture"),
    ("face_use_pin", "暗証番号で確認する", "Use my PIN instead"),
    (
        "face_failed",
        "暗証番号で本人確認してください",
        "Please confirm it is you with your PIN",
    ),
    ("pin", "暗証番号", "PIN"),
    ("pin_label", "暗証番号（数字4桁）", "PIN (4 digits)"),
    ("pin_wrong", "暗証番号が違います。", "The PIN is wrong."),
    (
        "checking",
        "確認しています。カードを置いたままお待ちください。",
        "Checking… keep the card on the reader.",
    ),
    ("tries_left", "残りの回数", "Tries left"),
    ("ok", "確定", "OK"),
    ("correct", "訂正", "Delete"),
    ("back", "戻る", "Back"),
    ("cancel", "取消", "Cancel"),
    ("pad", "数字ボタン", "Number pad"),
    ("entered", "入力した桁数", "Digits entered"),
    (
        "step3",
        "情報の提供に同意しますか",
        "Do you agree to share this information?",
    ),
    ("yes", "提供する", "Share"),
    ("no", "提供しない", "Do not share"),
    (
        "clinical",
        "過去の診療・薬剤情報",
        "Past treatment and medication records",
    ),
    (
        "clinical_hint",
        "過去の診療・お薬の情報を、この医療機関の医師等に提供します。",
        "Your past treatments and medications are shown to the doctors here.",
    ),
    ("surgery", "手術情報", "Surgery records"),
    (
        "surgery_hint",
        "過去の手術の情報を、この医療機関の医師等に提供します。",
        "Your past surgeries are shown to the doctors here.",
    ),
    ("checkup", "特定健診等の情報", "Health check-up results"),
    (
        "checkup_hint",
        "特定健診などの結果を、この医療機関の医師等に提供します。",
        "Your health check-up results are shown to the doctors here.",
    ),
    ("limit_amount", "限度額情報", "Co-payment limit"),
    (
        "limit_amount_hint",
        "高額療養費の限度額の区分を提供します。窓口での支払いが限度額までになります。",
        "Your co-payment limit category is shared, so you pay no more than the limit here.",
    ),
    ("step4", "受付が完了しました", "You are checked in"),
    ("forget", "カードを忘れずに!", "Don't forget your card!"),
    ("next", "次の方", "Next person"),
    (
        "stopped",
        "受付の職員にお声がけください",
        "Please ask the reception staff",
    ),
    (
        "locked",
        "暗証番号がロックされています",
        "Your PIN is locked",
    ),
    (
        "locked_hint",
        "暗証番号を続けて間違えたため、このカードの利用者証明用の暗証番号はロックされました。お住まいの市区町村の窓口で暗証番号の再設定（ロック解除）を行ってください。本日の受付は職員にお声がけください。",
        "The PIN was entered wrongly too many times and the card's user-authentication PIN is now locked. Please have it reset at your municipality's office. For today, please ask the reception staff.",
    ),
    ("steps", "手順", "Steps"),
    ("s1", "カードを置く", "Place card"),
    ("s2", "本人確認", "Identity"),
    ("s3", "同意", "Consent"),
    ("s4", "完了", "Done"),
    ("lang_other", "English", "日本語"),
];

fn text(lang: Lang, key: &str) -> &'static str {
    TEXTS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, ja, en)| if lang == Lang::Ja { *ja } else { *en })
        .unwrap_or("")
}

#[derive(Template)]
#[template(path = "kiosk.html")]
struct Page<'a> {
    lang: &'a str,
    l: Lang,
    other_lang: &'a str,
    step_no: u8,
    screen: &'a str,
    tries_left: Option<u8>,
    pin_wrong: bool,
    consent: &'a str,
    consent_no: usize,
    consent_total: usize,
    stopped: &'a str,
    face_note: bool,
    /// How many digits were pressed on the number pad.
    entered: usize,
    /// The PIN screen after 顔認証 did not confirm the patient.
    face_failed: bool,
    /// The face screen's threshold (a descriptor distance).
    face_threshold: String,
}

#[derive(Template)]
#[template(path = "kiosk_staff.html")]
struct StaffPage<'a> {
    lang: &'a str,
    l: Lang,
    rows: Vec<(String, String)>,
    /// (category, CSS class, label).
    consents: Vec<(String, &'static str, &'static str)>,
    opened: &'a [String],
    disclosed: Option<&'a Disclosed>,
    waiting: bool,
    /// The patient's PIN locked at this reader.
    locked: bool,
}

impl Page<'_> {
    fn tr(&self, key: &str) -> &'static str {
        text(self.l, key)
    }

    fn hint(&self) -> &'static str {
        text(self.l, &format!("{}_hint", self.consent))
    }

    /// The digit keys of the number pad, in the telephone order.
    fn pad_keys(&self) -> &'static [&'static str] {
        &["1", "2", "3", "4", "5", "6", "7", "8", "9"]
    }

    /// The pad's display: a filled circle per digit pressed, open circles for the rest.
    fn dots(&self) -> String {
        (0..4)
            .map(|i| if i < self.entered { '●' } else { '○' })
            .collect()
    }

    /// The tries left as shown (none before a wrong PIN; a malformed PIN costs none).
    fn tries(&self) -> String {
        match self.tries_left {
            Some(n) if n != u8::MAX => n.to_string(),
            _ => String::new(),
        }
    }
}

impl StaffPage<'_> {
    fn tr(&self, key: &str) -> &'static str {
        text(self.l, key)
    }
}

fn html<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "kiosk page");
            (StatusCode::INTERNAL_SERVER_ERROR, "page error").into_response()
        }
    }
}

async fn index(State(s): State<Shared>) -> Response {
    let k = s.kiosk.lock().await;
    let lang = k.lang;
    let (step_no, screen) = match &k.step {
        Step::PlaceCard => (1, "place"),
        Step::Identity => (2, "identity"),
        Step::Face => (2, "face"),
        Step::Pin { .. } => (2, "pin"),
        Step::Checking => (2, "checking"),
        Step::Consent(_) => (3, "consent"),
        Step::Done => (4, "done"),
        Step::Locked => (2, "locked"),
        Step::Stopped(_) => (0, "stopped"),
    };
    let (consent, consent_no) = match k.step {
        Step::Consent(i) => (k.offered.get(i).map(String::as_str).unwrap_or(""), i + 1),
        _ => ("", 0),
    };
    let tries_left = match k.step {
        Step::Pin { tries_left } => tries_left,
        _ => None,
    };
    let stopped = match &k.step {
        Step::Stopped(m) => m.as_str(),
        _ => "",
    };
    html(&Page {
        lang: if lang == Lang::Ja { "ja" } else { "en" },
        l: lang,
        other_lang: if lang == Lang::Ja { "en" } else { "ja" },
        step_no,
        screen,
        tries_left,
        pin_wrong: tries_left.is_some(),
        consent,
        consent_no,
        consent_total: k.offered.len(),
        stopped,
        face_note: false,
        entered: k.entered.len(),
        face_failed: k.face_failed && matches!(k.step, Step::Pin { .. }),
        face_threshold: s
            .config
            .face
            .as_ref()
            .map(|f| f.threshold.to_string())
            .unwrap_or_default(),
    })
}

async fn set_lang(State(s): State<Shared>, Path(l): Path<String>) -> Redirect {
    s.kiosk.lock().await.lang = if l == "en" { Lang::En } else { Lang::Ja };
    Redirect::to("/")
}

async fn place(State(s): State<Shared>) -> Redirect {
    let target = s.config.target.clone();
    // Reading the certificate tells that a card is there (no PIN needed).
    let read = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut card = connect(&target).map_err(|e| e.to_string())?;
        card.read_certificate(Certificate::Auth)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    let mut k = s.kiosk.lock().await;
    if k.step != Step::PlaceCard {
        return Redirect::to("/");
    }
    k.step = match read {
        Ok(Ok(())) => Step::Identity,
        Ok(Err(e)) => Step::Stopped(format!("card: {e}")),
        Err(_) => Step::Stopped("card: the reader stopped".into()),
    };
    Redirect::to("/")
}

#[derive(Deserialize)]
struct IdentityForm {
    method: String,
}

async fn identity(State(s): State<Shared>, Form(f): Form<IdentityForm>) -> Response {
    let mut k = s.kiosk.lock().await;
    if k.step != Step::Identity {
        return Redirect::to("/").into_response();
    }
    if f.method == "pin" {
        k.step = Step::Pin { tries_left: None };
        return Redirect::to("/").into_response();
    }
    // 顔認証 needs the model, and 照合番号B from the card's front.
    if s.config.face.is_some() {
        let target = s.config.target.clone();
        let front = tokio::task::spawn_blocking(move || printed_collation_b(&target))
            .await
            .ok()
            .flatten();
        if front.is_some() {
            k.step = Step::Face;
            return Redirect::to("/").into_response();
        }
    }
    let lang = k.lang;
    html(&Page {
        lang: if lang == Lang::Ja { "ja" } else { "en" },
        l: lang,
        other_lang: if lang == Lang::Ja { "en" } else { "ja" },
        step_no: 2,
        screen: "identity",
        tries_left: None,
        pin_wrong: false,
        consent: "",
        consent_no: 0,
        consent_total: 0,
        stopped: "",
        face_note: true,
        entered: 0,
        face_failed: false,
        face_threshold: String::new(),
    })
}

/// The card's photo for the face screen: read from the card now (the 券面AP after 照合番号B),
/// handed to the page over loopback and kept nowhere (not in this process, not in the
/// browser's cache).
async fn face_photo(State(s): State<Shared>) -> Response {
    if s.kiosk.lock().await.step != Step::Face || s.config.face.is_none() {
        return (StatusCode::CONFLICT, "no face check in progress").into_response();
    }
    let target = s.config.target.clone();
    let read = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let b = printed_collation_b(&target).ok_or("the card's front cannot be read")?;
        let mut card = connect(&target).map_err(|e| e.to_string())?;
        card.face_entries(&b)
            .map(|e| e.photo_jp2)
            .map_err(|e| e.to_string())
    })
    .await;
    match read {
        Ok(Ok(jp2)) => (
            [
                (axum::http::header::CONTENT_TYPE, "image/jp2"),
                (axum::http::header::CACHE_CONTROL, "no-store"),
            ],
            jp2,
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the card's photo could not be read");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the card's photo could not be read",
            )
                .into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the reader stopped").into_response(),
    }
}

/// The face screen's script.
async fn face_script() -> Response {
    script(include_str!("../assets/kiosk-face.js"))
}

/// The face matcher the face screen imports.
async fn face_match_script() -> Response {
    script(include_str!("../assets/face-match.js"))
}

fn script(body: &'static str) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/javascript"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The face-recognition packages' files (only those of [`FACE_ASSETS`]).
async fn face_asset(State(s): State<Shared>, Path(file): Path<String>) -> Response {
    let Some(face) = &s.config.face else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some((name, kind)) = FACE_ASSETS.iter().find(|(f, _)| *f == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(face.assets.join(name)).await {
        Ok(bytes) => (
            [
                (axum::http::header::CONTENT_TYPE, *kind),
                (axum::http::header::CACHE_CONTROL, "max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct FaceResult {
    /// `match`, `no_match`, `no_face`, `skip` (the patient chose the PIN) or `error`.
    outcome: String,
    #[serde(default)]
    attempts: Option<u32>,
    #[serde(default)]
    distance: Option<String>,
}

/// The face screen's outcome: a match → the card's presence proof and the verification with
/// `face`; anything else → the PIN screen, which says to use the PIN.
async fn face_result(State(s): State<Shared>, Form(f): Form<FaceResult>) -> Redirect {
    {
        let mut k = s.kiosk.lock().await;
        if k.step != Step::Face {
            return Redirect::to("/");
        }
        tracing::info!(
            outcome = %f.outcome,
            attempts = f.attempts.unwrap_or(0),
            distance = f.distance.as_deref().unwrap_or("-"),
            "face check"
        );
        if f.outcome != "match" {
            k.step = Step::Pin { tries_left: None };
            k.face_failed = f.outcome != "skip";
            return Redirect::to("/");
        }
        k.step = Step::Checking;
    }
    let outcome = run_face(&s.config).await;
    let mut k = s.kiosk.lock().await;
    if k.step != Step::Checking {
        return Redirect::to("/");
    }
    match outcome {
        Ok(result) => {
            k.method = Some("face");
            k.verified(result)
        }
        Err(FaceOutcome::NeedsPin) => {
            k.step = Step::Pin { tries_left: None };
            k.face_failed = true;
        }
        Err(FaceOutcome::Stop(m)) => k.step = Step::Stopped(m),
    }
    Redirect::to("/")
}

enum FaceOutcome {
    /// Confirmed by face, but the card is not registered for insurance use: 利用登録 takes
    /// the PIN.
    NeedsPin,
    Stop(String),
}

/// The face matched: the server's challenge, signed by the card's 券面AP key (the card is on
/// the reader; no PIN), and the verification with `face`.
async fn run_face(c: &KioskConfig) -> Result<EligibilityResult, FaceOutcome> {
    let stop = |e: AppError| FaceOutcome::Stop(e.to_string());
    let (id, challenge) = c.client.challenge().await.map_err(stop)?;
    let target = c.target.clone();
    let proof = tokio::task::spawn_blocking(move || {
        let mut card = connect(&target)?;
        crate::terminal::presence_proof(&mut card, &challenge)
    })
    .await
    .map_err(|_| FaceOutcome::Stop("the reader stopped".into()))?
    .map_err(stop)?;
    match c
        .client
        .verify_proof(id, &proof, "face", None)
        .await
        .map_err(stop)?
    {
        Ok(v) => Ok(v),
        Err(r) if r.code == "card.not_registered" => Err(FaceOutcome::NeedsPin),
        Err(r) => Err(FaceOutcome::Stop(format!("{}: {}", r.code, r.message))),
    }
}

#[derive(Deserialize)]
struct PinForm {
    #[serde(default)]
    pin: String,
}

#[derive(Deserialize)]
struct KeyForm {
    key: String,
}

async fn key(State(s): State<Shared>, Form(f): Form<KeyForm>) -> Redirect {
    s.kiosk.lock().await.key(&f.key);
    Redirect::to("/")
}

async fn cancel(State(s): State<Shared>) -> Redirect {
    s.kiosk.lock().await.cancel();
    Redirect::to("/")
}

async fn back(State(s): State<Shared>) -> Redirect {
    s.kiosk.lock().await.back();
    Redirect::to("/")
}

/// What the card said.
enum CardAnswer {
    Proof(Proof),
    WrongPin(u8),
    /// The PIN is locked; the card's authentication certificate, for the report.
    Locked(Vec<u8>),
    Failed(String),
}

fn sign_with_card(target: &Target, pin: &str, challenge: &[u8]) -> CardAnswer {
    let mut card = match connect(target) {
        Ok(c) => c,
        Err(e) => return CardAnswer::Failed(e.to_string()),
    };
    let certificate = match card.read_certificate(Certificate::Auth) {
        Ok(c) => c,
        Err(e) => return CardAnswer::Failed(e.to_string()),
    };
    match card.sign(KeyId::Auth, pin, challenge) {
        Ok(signature) => CardAnswer::Proof(Proof {
            certificate,
            signature,
            presence: false,
        }),
        Err(CardIoError::WrongPin { tries_left: 0, .. } | CardIoError::PinBlocked { .. }) => {
            CardAnswer::Locked(certificate)
        }
        Err(CardIoError::WrongPin { tries_left, .. }) => CardAnswer::WrongPin(tries_left),
        Err(e) => CardAnswer::Failed(e.to_string()),
    }
}

async fn pin(State(s): State<Shared>, Form(f): Form<PinForm>) -> Redirect {
    let pin = {
        let mut k = s.kiosk.lock().await;
        if !matches!(k.step, Step::Pin { .. }) {
            return Redirect::to("/");
        }
        k.step = Step::Checking;
        // Typed on a keyboard, or pressed on the pad.
        let pad = std::mem::take(&mut k.entered);
        match f.pin.trim() {
            "" => pad,
            typed => typed.to_owned(),
        }
    };
    let outcome = run_pin(&s.config, pin).await;
    let mut k = s.kiosk.lock().await;
    if k.step != Step::Checking {
        // The staff reset the kiosk meanwhile: this patient's outcome is dropped.
        return Redirect::to("/");
    }
    match outcome {
        Ok(result) => {
            k.method = Some("pin");
            k.verified(result)
        }
        Err(PinOutcome::Wrong(tries_left)) => {
            k.step = Step::Pin {
                tries_left: Some(tries_left),
            }
        }
        Err(PinOutcome::Locked) => k.step = Step::Locked,
        Err(PinOutcome::Stop(m)) => k.step = Step::Stopped(m),
    }
    Redirect::to("/")
}

enum PinOutcome {
    Wrong(u8),
    Locked,
    Stop(String),
}

/// Challenge, the card's signature after the PIN, the verification (利用登録 first when
/// configured and needed).
async fn run_pin(c: &KioskConfig, pin: String) -> Result<EligibilityResult, PinOutcome> {
    if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        // A malformed PIN never reaches the card (it would cost a try).
        return Err(PinOutcome::Wrong(u8::MAX));
    }
    let stop = |e: AppError| PinOutcome::Stop(e.to_string());
    let mut registered = false;
    loop {
        let (id, challenge) = c.client.challenge().await.map_err(stop)?;
        let target = c.target.clone();
        let p = pin.clone();
        let answer = tokio::task::spawn_blocking(move || sign_with_card(&target, &p, &challenge))
            .await
            .map_err(|_| PinOutcome::Stop("the reader stopped".into()))?;
        let proof = match answer {
            CardAnswer::Proof(p) => p,
            CardAnswer::WrongPin(n) => return Err(PinOutcome::Wrong(n)),
            CardAnswer::Locked(certificate) => {
                // The system learns of a lock-out only from the reader: report it (the
                // patient is sent to the municipality either way).
                match c.client.report_pin_lock(&certificate).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(r)) => {
                        tracing::warn!(code = %r.code, "the PIN lock-out report was refused")
                    }
                    Err(e) => tracing::warn!(error = %e, "the PIN lock-out could not be reported"),
                }
                return Err(PinOutcome::Locked);
            }
            CardAnswer::Failed(m) => return Err(PinOutcome::Stop(m)),
        };
        match c
            .client
            .verify_proof(id, &proof, "pin", None)
            .await
            .map_err(stop)?
        {
            Ok(v) => return Ok(v),
            Err(r) if r.code == "card.not_registered" && c.register && !registered => {
                let (rid, rch) = c.client.challenge().await.map_err(stop)?;
                let target = c.target.clone();
                let p = pin.clone();
                let answer = tokio::task::spawn_blocking(move || sign_with_card(&target, &p, &rch))
                    .await
                    .map_err(|_| PinOutcome::Stop("the reader stopped".into()))?;
                let CardAnswer::Proof(proof) = answer else {
                    return Err(PinOutcome::Stop("the card did not sign".into()));
                };
                c.client
                    .register_proof::<openmyna_api::oqs::Registration>(rid, &proof)
                    .await
                    .map_err(stop)?
                    .map_err(|r| PinOutcome::Stop(format!("{}: {}", r.code, r.message)))?;
                registered = true;
            }
            Err(r) => return Err(PinOutcome::Stop(format!("{}: {}", r.code, r.message))),
        }
    }
}

#[derive(Deserialize)]
struct ConsentForm {
    choice: String,
}

async fn consent(State(s): State<Shared>, Form(f): Form<ConsentForm>) -> Redirect {
    let (last, id, chosen) = {
        let mut k = s.kiosk.lock().await;
        if !matches!(k.step, Step::Consent(_)) {
            return Redirect::to("/");
        }
        let last = k.answer(f.choice == "yes");
        let id = (k.result.as_ref())
            .map(|r| r.verification_id.clone())
            .unwrap_or_default();
        (last, id, k.chosen())
    };
    if last && !chosen.is_empty() {
        let answer = s.config.client.consent(&id, &chosen).await;
        let opened: Vec<String> = match &answer {
            Ok(Ok(live)) => live.iter().map(|c| c.category.code().to_owned()).collect(),
            _ => Vec::new(),
        };
        let disclosed = match &answer {
            Ok(Ok(_)) => Some(fetch_disclosed(&s.config.client, &id, &opened).await),
            _ => None,
        };
        let mut k = s.kiosk.lock().await;
        if k.result.as_ref().map(|r| r.verification_id.as_str()) != Some(id.as_str()) {
            // The staff reset the kiosk meanwhile: this patient's records are dropped.
            return Redirect::to("/");
        }
        match answer {
            Ok(Ok(_)) => {
                k.opened = opened;
                k.disclosed = disclosed;
            }
            Ok(Err(r)) => k.step = Step::Stopped(format!("{}: {}", r.code, r.message)),
            Err(e) => k.step = Step::Stopped(e.to_string()),
        }
    }
    Redirect::to("/")
}

async fn reset(State(s): State<Shared>) -> Redirect {
    s.kiosk.lock().await.reset();
    Redirect::to("/")
}

async fn staff(State(st): State<Shared>) -> Response {
    let k = st.kiosk.lock().await;
    let lang = k.lang;
    let mut rows = Vec::new();
    if let Some(r) = &k.result {
        rows.push((
            "資格確認結果 / validity".to_owned(),
            format!(
                "{} ({} {})",
                validity_words(&r.validity_name),
                r.validity,
                r.validity_name
            ),
        ));
        rows.push((
            "本人確認 / identity".to_owned(),
            match k.method {
                Some("face") => "顔認証 / face",
                _ => "暗証番号 / PIN",
            }
            .to_owned(),
        ));
        rows.push((
            "診療日 / date of service".to_owned(),
            r.date_of_service.to_string(),
        ));
        let p = r.person.as_ref();
        let item = |f: fn(&openmyna_eligibility::record::FiveItems) -> String| {
            p.map(f).unwrap_or_default()
        };
        rows.push(("氏名 / name".to_owned(), item(|p| p.name.clone())));
        rows.push(("カナ / kana".to_owned(), item(|p| p.name_kana.clone())));
        rows.push((
            "生年月日 / birth date".to_owned(),
            item(|p| p.birth_date.to_string()),
        ));
        for rec in &r.records {
            rows.push((
                "保険者 / insurer".to_owned(),
                format!("{} {}", rec.insurer_number, rec.insurer_name),
            ));
            rows.push((
                "記号・番号・枝番".to_owned(),
                format!("{} · {} · {}", rec.symbol, rec.number, rec.branch),
            ));
            rows.push((
                "負担割合 / co-payment".to_owned(),
                ratio_words(&rec.co_payment_ratio),
            ));
            rows.push((
                "資格取得日 / since".to_owned(),
                rec.qualification_date.to_string(),
            ));
        }
    }
    html(&StaffPage {
        // The reception's screen is Japanese whatever language the patient chose.
        lang: "ja",
        l: lang,
        rows,
        consents: k
            .answers
            .iter()
            .map(|(c, yes)| {
                let name = format!("{} ({c})", text(Lang::Ja, c));
                if *yes {
                    (name, "yes", "提供する / shared")
                } else {
                    (name, "no", "提供しない / not shared")
                }
            })
            .collect(),
        opened: &k.opened,
        disclosed: k.disclosed.as_ref(),
        waiting: k.result.is_none() && k.step != Step::Locked,
        locked: k.step == Step::Locked,
    })
}

/// The validity as the reception reads it.
fn validity_words(name: &str) -> &'static str {
    match name {
        "valid" => "有効",
        "invalid" => "無効",
        "invalid_newer_exists" => "無効（新しい資格あり）",
        "none" => "該当資格なし",
        "multiple" => "複数の資格あり",
        _ => "不明",
    }
}

/// The co-payment ratio as the reception reads it: `030` → 3割 (030).
fn ratio_words(code: &str) -> String {
    match code.parse::<u32>() {
        Ok(n) if n % 10 == 0 => format!("{}割 ({code})", n / 10),
        Ok(n) => format!("{}% ({code})", n),
        Err(_) => code.to_owned(),
    }
}

/// Only this machine's own pages may drive the kiosk. Listening on loopback keeps other
/// machines out, not other web pages open in a browser on the reception PC: a page could post
/// PINs (each wrong one costs the patient's card a try) or, through DNS rebinding, read the
/// staff screen. So: the `Host` must be a loopback name, a cross-site request (by
/// `Sec-Fetch-Site`) is refused, and a POST's `Origin`, when sent, must be loopback too.
pub(crate) async fn same_machine_only(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::{Method, header};
    let headers = req.headers();
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let refuse = |why: &'static str| (StatusCode::FORBIDDEN, why).into_response();
    if !text(header::HOST).is_some_and(|h| is_loopback_host(&h)) {
        return refuse("the kiosk answers requests for this machine only");
    }
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && site != "same-origin"
        && site != "none"
    {
        return refuse("the kiosk does not take requests from other sites");
    }
    if req.method() != Method::GET
        && req.method() != Method::HEAD
        && let Some(origin) = text(header::ORIGIN)
    {
        let host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        if !is_loopback_host(host) {
            return refuse("the kiosk does not take forms from other sites");
        }
    }
    next.run(req).await
}

/// The kiosk's routes.
pub fn router(config: KioskConfig) -> Router {
    let shared = Shared {
        kiosk: Arc::new(Mutex::new(Kiosk::new())),
        config: Arc::new(config),
    };
    Router::new()
        .route("/", get(index))
        .route("/lang/{lang}", get(set_lang))
        .route("/place", post(place))
        .route("/identity", post(identity))
        .route("/pin", post(pin))
        .route("/key", post(key))
        .route("/back", post(back))
        .route("/cancel", post(cancel))
        .route("/consent", post(consent))
        .route("/reset", post(reset))
        .route("/staff", get(staff))
        .route("/face/photo", get(face_photo))
        .route("/face/result", post(face_result))
        .route("/face.js", get(face_script))
        .route("/face-match.js", get(face_match_script))
        .route("/face-assets/{*file}", get(face_asset))
        .layer(axum::middleware::from_fn(same_machine_only))
        .with_state(shared)
}

/// Serves a local screen's `router` on `listener` until the process ends, with the same
/// slow-client limits as the server (the kiosk, the multi-copy machine).
pub(crate) async fn serve_local(
    listener: tokio::net::TcpListener,
    router: Router,
    what: &str,
) -> Result<(), AppError> {
    openmyna_http::listener::serve_router(
        listener,
        router,
        openmyna_http::listener::ConnectionLimits::default(),
        std::future::pending(),
    )
    .await
    .map_err(|e| AppError::io(format!("serving {what}"), e))
}

/// Binds `addr` for a local screen (loopback only: it has no login); returns the listener and
/// its URL.
pub(crate) async fn bind_loopback(
    addr: &str,
    what: &str,
) -> Result<(tokio::net::TcpListener, String), AppError> {
    let a: SocketAddr = addr.parse().map_err(|_| {
        AppError::Invalid(format!(
            "--ui {addr:?} is not an address like 127.0.0.1:8090"
        ))
    })?;
    if !a.ip().is_loopback() {
        return Err(AppError::Invalid(format!(
            "{what} serves on a loopback address only (it has no login)"
        )));
    }
    let listener = tokio::net::TcpListener::bind(a)
        .await
        .map_err(|e| AppError::io(format!("binding {addr}"), e))?;
    let url = format!(
        "http://{}",
        listener
            .local_addr()
            .map_err(|e| AppError::io("reading the address", e))?
    );
    Ok((listener, url))
}

/// Serves the kiosk on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, config: KioskConfig) -> Result<(), AppError> {
    serve_local(listener, router(config), "the kiosk").await
}

/// Binds `addr` (loopback only: the kiosk has no login) and serves.
pub async fn run(addr: &str, config: KioskConfig) -> Result<(), AppError> {
    let (listener, url) = bind_loopback(addr, "the kiosk").await?;
    println!("kiosk on {url}  (staff screen: {url}/staff)");
    serve(listener, config).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A verification's answer as the server sends it.
    fn result(choices: &[&str]) -> EligibilityResult {
        serde_json::from_value(serde_json::json!({
            "verification_id": "v",
            "reference_classification": "1",
            "date_of_service": "2026-12-02",
            "validity": "1",
            "validity_name": "valid",
            "records": [],
            "consent_choices": choices,
            "live_consents": [],
        }))
        .unwrap()
    }

    #[test]
    fn the_number_pad_takes_four_digits_and_takes_one_back() {
        let mut k = Kiosk::new();
        // Not on the PIN screen: keys do nothing.
        k.key("1");
        assert_eq!(k.entered, "");
        k.step = Step::Pin { tries_left: None };
        for key in ["1", "2", "x", "12", "9", "correct", "3", "4", "5"] {
            k.key(key);
        }
        assert_eq!(
            k.entered, "1234",
            "at most four digits, 訂正 removes the last"
        );
        // 戻る forgets the digits and returns to the choice of method, then to the card.
        k.back();
        assert_eq!((k.step.clone(), k.entered.as_str()), (Step::Identity, ""));
        k.back();
        assert_eq!(k.step, Step::PlaceCard);
        // 取消 starts this patient again, in their language; 次の方 starts the next in Japanese.
        k.lang = Lang::En;
        k.step = Step::Pin { tries_left: None };
        k.key("1");
        k.cancel();
        assert_eq!(
            (k.step.clone(), k.lang, k.entered.as_str()),
            (Step::PlaceCard, Lang::En, "")
        );
        k.reset();
        assert_eq!(k.lang, Lang::Ja);
    }

    #[test]
    fn back_on_a_consent_screen_asks_the_one_before_again() {
        let mut k = Kiosk::new();
        k.verified(result(&["clinical", "surgery", "limit_amount"]));
        // The first screen has nothing before it (the verification is not undone).
        k.back();
        assert_eq!(k.step, Step::Consent(0));
        k.answer(true);
        k.answer(true);
        assert_eq!(k.step, Step::Consent(2));
        k.back();
        assert_eq!(k.step, Step::Consent(1));
        k.answer(false);
        k.answer(false);
        assert_eq!(k.step, Step::Done);
        assert_eq!(
            k.chosen(),
            ["clinical"],
            "the surgery answer was taken back"
        );
    }

    #[test]
    fn consent_screens_follow_the_leaflet_and_end_done() {
        let mut k = Kiosk::new();
        k.verified(result(&["limit_amount", "clinical", "surgery"]));
        assert_eq!(k.offered, ["clinical", "surgery", "limit_amount"]);
        assert_eq!(k.step, Step::Consent(0));
        assert!(!k.answer(true));
        assert!(!k.answer(false));
        assert!(k.answer(true));
        assert_eq!(k.step, Step::Done);
        assert_eq!(k.chosen(), ["clinical", "limit_amount"]);
        // The next patient starts in Japanese, whatever the one before chose.
        k.lang = Lang::En;
        k.reset();
        assert_eq!((k.step.clone(), k.lang), (Step::PlaceCard, Lang::Ja));
        k.verified(result(&[]));
        assert_eq!(k.step, Step::Done);
    }

    #[test]
    fn back_from_the_face_screen_returns_to_the_choice() {
        let mut k = Kiosk::new();
        k.step = Step::Face;
        k.back();
        assert_eq!(k.step, Step::Identity);
    }

    #[test]
    fn the_face_configuration_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = FaceConfig {
            assets: dir.path().to_owned(),
            threshold: DEFAULT_FACE_THRESHOLD,
        };
        let e = f.check().unwrap_err().to_string();
        assert!(e.contains("face-api.esm.js is missing"), "{e}");
        for (file, _) in FACE_ASSETS {
            let p = dir.path().join(file);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        f.check().unwrap();
        let e = FaceConfig {
            threshold: 1.5,
            ..f.clone()
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(e.contains("outside 0.1..1.0"), "{e}");
    }

    /// Only the listed files of the packages are served; the card's photo only during a face
    /// check; a face outcome outside one changes nothing.
    #[tokio::test]
    async fn the_face_routes_serve_only_what_the_face_screen_needs() {
        let dir = tempfile::tempdir().unwrap();
        for (file, _) in FACE_ASSETS {
            let p = dir.path().join(file);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        std::fs::write(dir.path().join("secret.txt"), b"secret").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(
            listener,
            KioskConfig {
                target: Target {
                    card: Some("/nonexistent/card.json".into()),
                    reader: None,
                },
                client: OqsClient::new("http://127.0.0.1:9", "token"),
                register: false,
                face: Some(FaceConfig {
                    assets: dir.path().to_owned(),
                    threshold: DEFAULT_FACE_THRESHOLD,
                }),
            },
        ));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let get = |path: &str| http.get(format!("{url}{path}")).send();
        let r = get("/face-assets/@vladmandic/face-api/model/face_recognition_model.bin")
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        for bad in [
            "/face-assets/secret.txt",
            "/face-assets/..%2Fsecret.txt",
            "/face-assets/@vladmandic/face-api/package.json",
        ] {
            assert_eq!(get(bad).await.unwrap().status(), 404, "{bad}");
        }
        assert_eq!(get("/face/photo").await.unwrap().status(), 409);
        let r = http
            .post(format!("{url}/face/result"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("outcome=match")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection());
        let body = get("/").await.unwrap().text().await.unwrap();
        assert!(body.contains(r#"data-screen="place""#), "{body}");
        for script in ["/face.js", "/face-match.js"] {
            let r = get(script).await.unwrap();
            assert_eq!(
                r.headers()["content-type"].to_str().unwrap(),
                "text/javascript"
            );
        }
    }

    #[test]
    fn every_text_has_both_languages() {
        for key in [
            "title",
            "step1",
            "place",
            "step2",
            "face",
            "pin",
            "pin_label",
            "pin_wrong",
            "tries_left",
            "checking",
            "ok",
            "step3",
            "yes",
            "no",
            "clinical",
            "surgery",
            "checkup",
            "limit_amount",
            "step4",
            "forget",
            "next",
            "stopped",
        ] {
            assert!(!text(Lang::Ja, key).is_empty(), "{key}");
            assert!(!text(Lang::En, key).is_empty(), "{key}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for ok in [
            "127.0.0.1:8090",
            "localhost:8090",
            "LOCALHOST",
            "[::1]:8090",
            "127.0.0.2",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8090",
            "10.0.0.1:8090",
            "",
            "[::2]:1",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    /// Other web pages cannot drive the kiosk: a foreign `Host` (DNS rebinding), a cross-site
    /// fetch and a form posted from another origin are refused before any handler runs, and
    /// the step does not move.
    #[tokio::test]
    async fn other_sites_cannot_drive_the_kiosk() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let config = KioskConfig {
            target: Target {
                card: Some("/nonexistent/card.json".into()),
                reader: None,
            },
            client: OqsClient::new("http://127.0.0.1:9", "token"),
            register: false,
            face: None,
        };
        tokio::spawn(serve(listener, config));
        let http = reqwest::Client::new();
        let r = http
            .get(format!("{url}/staff"))
            .header("Host", "evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        for (name, value) in [
            ("Origin", "http://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ] {
            let r = http
                .post(format!("{url}/place"))
                .header(name, value)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{name}");
        }
        let page = http.get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let body = page.text().await.unwrap();
        assert!(body.contains(r#"data-screen="place""#), "{body}");
        // The kiosk's own form is taken (and fails on the missing card, which stops it).
        let r = http
            .post(format!("{url}/place"))
            .header("Origin", url.as_str())
            .header("Sec-Fetch-Site", "same-origin")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection() || r.status().is_success());
        let body = http.get(&url).send().await.unwrap().text().await.unwrap();
        assert!(body.contains(r#"data-screen="stopped""#), "{body}");
    }
}
