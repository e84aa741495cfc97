//! `openmyna terminal`: a facility's reader terminal on the command line — the reader
//! protocol of docs/eligibility.md against a server, with a card file or a PC/SC reader.
//!
//! The card part ([`card_proof`]) is what any terminal does: read the authentication
//! certificate (JPKI AP EF 000A, no PIN), VERIFY the 4-digit PIN, and have the card sign the
//! server's challenge with the authentication key (SHA-256 DigestInfo, PKCS#1 v1.5).

use std::io::Write;

use base64::Engine;
use chrono::NaiveDate;
use clap::Args;
use openmyna_api::error::ErrorBody;
use openmyna_api::oqs::{
    ChallengeView, EligibilityResult, GiveConsent, LimitView, LiveConsent, MedicalData,
    RegisterCard, Registration, TerminalSelf, Verify,
};
use openmyna_card::layout::KeyId;
use openmyna_cardio::client::Certificate;
use openmyna_cardio::{JpkiClient, Transport};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::AppError;
use crate::card_cli::{Target, connect, secret};

/// The card's answer to a challenge.
#[derive(Debug, Clone)]
pub struct Proof {
    pub certificate: Vec<u8>,
    pub signature: Vec<u8>,
    /// Signed by the 券面AP key (no PIN; a face or visual check), not the authentication key.
    pub presence: bool,
}

/// Reads the authentication certificate (no PIN needed) and has the 券面AP's own key sign
/// `challenge`: the proof that the card is on the reader when the holder was confirmed by
/// face or by sight.
pub fn presence_proof<T: Transport>(
    card: &mut JpkiClient<T>,
    challenge: &[u8],
) -> Result<Proof, AppError> {
    let certificate = card
        .read_certificate(Certificate::Auth)
        .map_err(|e| AppError::Invalid(format!("reading the card: {e}")))?;
    let signature = card
        .presence_signature(challenge)
        .map_err(|e| AppError::Invalid(format!("the card refused: {e}")))?;
    Ok(Proof {
        certificate,
        signature,
        presence: true,
    })
}

/// Reads the authentication certificate and signs `challenge` with the authentication key
/// after the PIN.
pub fn card_proof<T: Transport>(
    card: &mut JpkiClient<T>,
    pin: &str,
    challenge: &[u8],
) -> Result<Proof, AppError> {
    let certificate = card
        .read_certificate(Certificate::Auth)
        .map_err(|e| AppError::Invalid(format!("reading the card: {e}")))?;
    let signature = card
        .sign(KeyId::Auth, pin, challenge)
        .map_err(|e| AppError::Invalid(format!("the card refused: {e}")))?;
    Ok(Proof {
        certificate,
        signature,
        presence: false,
    })
}

/// A terminal's connection to the server. Requests and answers are the wire types of
/// `openmyna-api`, as the server declares them.
pub struct OqsClient {
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
}

/// A refusal by the server: HTTP status and the error body.
#[derive(Debug)]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Refusal {
    /// The refusal an error answer carries.
    fn from_body(status: u16, bytes: &[u8]) -> Refusal {
        let body: Option<ErrorBody> = serde_json::from_slice(bytes).ok();
        let (code, message) = body
            .map(|b| (b.error.code, b.error.message))
            .unwrap_or_default();
        Refusal {
            status,
            code,
            message,
        }
    }
}

pub(crate) fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The server's answer: the value, or its refusal.
pub type Answer<T> = Result<T, Refusal>;

impl OqsClient {
    pub fn new(url: &str, token: &str) -> Self {
        OqsClient {
            http: reqwest::Client::new(),
            url: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Answer<T>, AppError> {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| AppError::Invalid(format!("cannot reach {}: {e}", self.url)))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| AppError::Invalid(format!("reading the server's answer: {e}")))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map(Ok).map_err(|e| {
                AppError::Invalid(format!(
                    "the server's answer is not what {path} returns: {e}"
                ))
            });
        }
        Ok(Err(Refusal::from_body(status, &bytes)))
    }

    /// The value, or the refusal as an error for the command line.
    pub fn must<T>(r: Answer<T>) -> Result<T, AppError> {
        r.map_err(|e| AppError::Invalid(format!("{} ({}, HTTP {})", e.message, e.code, e.status)))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Answer<T>, AppError> {
        self.call(reqwest::Method::GET, path, None::<&()>).await
    }

    pub async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Answer<T>, AppError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// The terminal behind the token and its facility.
    pub async fn terminal(&self) -> Result<TerminalSelf, AppError> {
        Self::must(self.get("/api/v1/oqs/terminal").await?)
    }

    /// Reports that the card whose authentication certificate this is locked its PIN at this
    /// reader; `true` when it was recorded (not reported before).
    pub async fn report_pin_lock(&self, certificate: &[u8]) -> Result<Answer<bool>, AppError> {
        let body = openmyna_api::oqs::PinLockReport {
            certificate: b64(certificate),
        };
        let r: Answer<openmyna_api::oqs::PinLockRecorded> =
            self.post("/api/v1/oqs/pin-lockouts", &body).await?;
        Ok(r.map(|r| r.recorded))
    }

    /// A new challenge: its id and the bytes the card signs.
    pub async fn challenge(&self) -> Result<(String, Vec<u8>), AppError> {
        self.challenge_from("/api/v1/oqs/challenges").await
    }

    async fn challenge_from(&self, path: &str) -> Result<(String, Vec<u8>), AppError> {
        let c: ChallengeView = Self::must(self.post(path, &serde_json::json!({})).await?)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&c.challenge)
            .map_err(|_| AppError::Invalid("the challenge is not base64".into()))?;
        Ok((c.challenge_id, bytes))
    }

    /// A POST answered with a document (コンビニ交付): its bytes, its verification code and
    /// its fee, or the refusal.
    pub async fn post_document<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Answer<(Vec<u8>, String, String)>, AppError> {
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| AppError::Invalid(format!("cannot reach {}: {e}", self.url)))?;
        let status = resp.status().as_u16();
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let (code, fee) = (header("x-verification-code"), header("x-fee-yen"));
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| AppError::Invalid(format!("reading the server's answer: {e}")))?;
        if (200..300).contains(&status) {
            return Ok(Ok((bytes.to_vec(), code, fee)));
        }
        Ok(Err(Refusal::from_body(status, &bytes)))
    }

    /// The verification of a card proof over a challenge: an [`EligibilityResult`] (or, for
    /// tests that check the wire itself, the raw JSON).
    pub async fn verify_proof<R: DeserializeOwned>(
        &self,
        challenge_id: String,
        proof: &Proof,
        method: &str,
        date_of_service: Option<NaiveDate>,
    ) -> Result<Answer<R>, AppError> {
        let body = Verify {
            challenge_id,
            certificate: b64(&proof.certificate),
            signature: b64(&proof.signature),
            method: method.to_owned(),
            signed_by: proof.presence.then(|| "presence".to_owned()),
            date_of_service,
        };
        self.post("/api/v1/oqs/verifications", &body).await
    }

    /// Challenge, card proof, and the verification.
    pub async fn verify<R: DeserializeOwned, T: Transport>(
        &self,
        card: &mut JpkiClient<T>,
        pin: &str,
        method: &str,
        date_of_service: Option<NaiveDate>,
    ) -> Result<Answer<R>, AppError> {
        let (id, challenge) = self.challenge().await?;
        let p = card_proof(card, pin, &challenge)?;
        self.verify_proof(id, &p, method, date_of_service).await
    }

    /// Challenge, the 券面AP key's presence proof (no PIN: the holder was confirmed by face or
    /// by sight), and the verification.
    pub async fn verify_presence<R: DeserializeOwned, T: Transport>(
        &self,
        card: &mut JpkiClient<T>,
        method: &str,
        date_of_service: Option<NaiveDate>,
    ) -> Result<Answer<R>, AppError> {
        let (id, challenge) = self.challenge().await?;
        let p = presence_proof(card, &challenge)?;
        self.verify_proof(id, &p, method, date_of_service).await
    }

    /// 利用登録 with a card proof over a challenge: a [`Registration`] (or the raw JSON).
    pub async fn register_proof<R: DeserializeOwned>(
        &self,
        challenge_id: String,
        proof: &Proof,
    ) -> Result<Answer<R>, AppError> {
        let body = RegisterCard {
            challenge_id,
            certificate: b64(&proof.certificate),
            signature: b64(&proof.signature),
            channel: None,
        };
        self.post("/api/v1/oqs/registrations", &body).await
    }

    /// 利用登録 through the reader.
    pub async fn register<R: DeserializeOwned, T: Transport>(
        &self,
        card: &mut JpkiClient<T>,
        pin: &str,
    ) -> Result<Answer<R>, AppError> {
        let (id, challenge) = self.challenge().await?;
        let p = card_proof(card, pin, &challenge)?;
        self.register_proof(id, &p).await
    }

    /// The patient's choices at the reader for a verification.
    pub async fn consent(
        &self,
        verification_id: &str,
        categories: &[String],
    ) -> Result<Answer<Vec<LiveConsent>>, AppError> {
        let body = GiveConsent {
            categories: categories.to_vec(),
        };
        let path = format!("/api/v1/oqs/verifications/{verification_id}/consent");
        self.post(&path, &body).await
    }
}

#[derive(Args)]
pub struct TerminalArgs {
    #[command(flatten)]
    pub target: Target,
    /// This facility's 医療機関コード (checked against the terminal's registration).
    #[arg(long)]
    pub facility: String,
    /// The openmyna server; default: the configured public URL (server.public_url, else http://<server.listen>).
    #[arg(long)]
    pub url: Option<String>,
    /// The terminal's token (from POST /api/v1/oqs/terminals).
    #[arg(long, env = "OPENMYNA_TERMINAL_TOKEN", hide_env_values = true)]
    pub token: String,
    /// `-` to read the 4-digit PIN from standard input (scripts); without it, the PIN is
    /// asked for with the echo off. A PIN written here shows in the process list.
    #[arg(long)]
    pub pin: Option<String>,
    /// How the holder was confirmed: pin (the card signs after the PIN), face or visual
    /// (confirmed at the reader without the PIN: the card's 券面AP key proves its presence).
    #[arg(long, default_value = "pin")]
    pub method: String,
    /// Date of service (YYYY-MM-DD; default today).
    #[arg(long)]
    pub date: Option<String>,
    /// Register the card for health-insurance use (利用登録) if it is not yet.
    #[arg(long)]
    pub register: bool,
    /// The patient's choices, comma-separated (clinical, checkup, surgery, limit_amount);
    /// asked for each offered choice when absent and standard input is a terminal.
    #[arg(long)]
    pub consent: Option<String>,
    /// Print the server's answers as JSON.
    #[arg(long)]
    pub json: bool,
    /// Serve the reader's screen (the kiosk) on this loopback address instead, e.g.
    /// 127.0.0.1:8090: the patient's four steps at `/`, the reception's view at `/staff`.
    #[arg(long, conflicts_with_all = ["pin", "consent", "json", "date", "method"])]
    pub ui: Option<String>,
    /// The kiosk's 顔認証: a node_modules directory with the face-recognition packages
    /// (@vladmandic/face-api and its weights, @tensorflow/tfjs-backend-wasm,
    /// @cornerstonejs/codec-openjpeg), e.g. browser/node_modules after `npm ci --prefix
    /// browser`. Without it the kiosk offers the PIN only.
    #[arg(long, requires = "ui", env = "OPENMYNA_FACE_ASSETS")]
    pub face_assets: Option<std::path::PathBuf>,
    /// The kiosk's 顔認証 threshold: the largest descriptor distance taken as the same person
    /// (lower: fewer false accepts, more patients sent to the PIN; see docs/face.md).
    #[arg(long, default_value_t = crate::kiosk::DEFAULT_FACE_THRESHOLD)]
    pub face_threshold: f32,
}

fn prompt(question: &str) -> Result<String, AppError> {
    eprint!("{question}");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| AppError::io("reading standard input", e))?;
    Ok(line.trim().to_owned())
}

/// Asks for a secret: with the terminal's echo off when standard input is a terminal.
pub fn prompt_secret(question: &str) -> Result<String, AppError> {
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let stty = |arg: &str| {
        if tty {
            let _ = std::process::Command::new("stty")
                .arg(arg)
                .stdin(std::process::Stdio::inherit())
                .status();
        }
    };
    stty("-echo");
    let answer = prompt(question);
    stty("echo");
    if tty {
        eprintln!();
    }
    answer
}

fn show_result(v: &EligibilityResult) {
    println!(
        "資格確認結果: {} ({}), date of service {}",
        v.validity_name, v.validity, v.date_of_service
    );
    if let Some(p) = &v.person {
        println!(
            "  {} ({})  born {}  sex {}",
            p.name,
            p.name_kana,
            p.birth_date,
            p.sex.code()
        );
        println!("  {}", p.address);
    }
    for r in &v.records {
        println!(
            "  保険者 {} {}  記号 {} 番号 {} 枝番 {}  区分 {}  本人家族 {}  負担割合 {}  資格取得 {}{}",
            r.insurer_number,
            r.insurer_name,
            r.symbol,
            r.number,
            r.branch,
            r.card_class,
            r.relationship,
            r.co_payment_ratio,
            r.qualification_date,
            r.loss
                .as_ref()
                .map(|l| format!("  資格喪失 {}", l.date))
                .unwrap_or_default()
        );
    }
}

fn show_medical(path: &str, items: &[MedicalData]) {
    println!("{path}: {} entries", items.len());
    for i in items.iter().take(10) {
        let (what, facility) = match i {
            MedicalData::Medication(m) => (m.drug_name.clone(), &m.facility_name),
            MedicalData::Treatment(t) => (t.procedure_name.clone(), &t.facility_name),
            MedicalData::Checkup(c) => (
                format!("BMI {} BP {}/{}", c.bmi, c.systolic_bp, c.diastolic_bp),
                &c.facility_name,
            ),
            MedicalData::Expense(e) => (format!("{} yen", e.total_cost_yen), &e.facility_name),
        };
        println!("  {}  {what}  ({facility})", i.date());
    }
}

fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Checks that the token is a terminal of `facility`.
pub async fn check_facility(client: &OqsClient, facility: &str) -> Result<(), AppError> {
    let me = client.terminal().await?;
    if me.facility_code != facility.trim() {
        return Err(AppError::Invalid(format!(
            "this token belongs to a terminal of facility {}, not {}",
            me.facility_code, facility
        )));
    }
    Ok(())
}

/// Runs the reader flow once (or serves the kiosk with `--ui`).
pub async fn run(args: TerminalArgs, default_url: &str) -> Result<(), AppError> {
    let client = OqsClient::new(args.url.as_deref().unwrap_or(default_url), &args.token);
    check_facility(&client, &args.facility).await?;
    if let Some(addr) = &args.ui {
        let face = args
            .face_assets
            .clone()
            .map(|assets| crate::kiosk::FaceConfig {
                assets,
                threshold: args.face_threshold,
            });
        if let Some(f) = &face {
            f.check()?;
        }
        return crate::kiosk::run(
            addr,
            crate::kiosk::KioskConfig {
                target: args.target.clone(),
                client,
                register: args.register,
                face,
            },
        )
        .await;
    }
    let mut card = connect(&args.target)?;
    // A face or visual check confirmed the holder without the PIN: the 券面AP key proves
    // that the card is on the reader. The PIN is asked for the PIN check, and for 利用登録.
    let presence = args.method != "pin";
    let ask_pin = || match args.pin.clone() {
        Some(p) => secret(p),
        None => prompt_secret("暗証番号 (4 digits): "),
    };
    let pin = if presence { None } else { Some(ask_pin()?) };
    let date = (args.date.as_deref())
        .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d"))
        .transpose()
        .map_err(|_| AppError::Invalid("--date is a day YYYY-MM-DD".into()))?;
    let mut answer: Answer<EligibilityResult> = match &pin {
        Some(pin) => client.verify(&mut card, pin, &args.method, date).await?,
        None => {
            client
                .verify_presence(&mut card, &args.method, date)
                .await?
        }
    };
    if let Err(r) = &answer
        && r.code == "card.not_registered"
        && args.register
    {
        let pin = match pin {
            Some(p) => p,
            None => ask_pin()?,
        };
        let reg: Registration = OqsClient::must(client.register(&mut card, &pin).await?)?;
        eprintln!(
            "利用登録: registered through the {} at {}",
            reg.channel.code(),
            reg.registered_at.to_rfc3339()
        );
        answer = if presence {
            client
                .verify_presence(&mut card, &args.method, date)
                .await?
        } else {
            client.verify(&mut card, &pin, &args.method, date).await?
        };
    }
    let result = OqsClient::must(answer)?;
    if args.json {
        println!("{}", json_text(&result));
    } else {
        show_result(&result);
    }
    let offered: Vec<String> = (result.consent_choices.iter())
        .map(|c| c.code().to_owned())
        .collect();
    let chosen: Vec<String> = match &args.consent {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            let mut out = Vec::new();
            for c in &offered {
                if prompt(&format!("show {c} to this facility? [y/N] "))?.eq_ignore_ascii_case("y")
                {
                    out.push(c.clone());
                }
            }
            out
        }
        None => {
            println!("consent choices offered: {}", offered.join(", "));
            Vec::new()
        }
    };
    if chosen.is_empty() {
        return Ok(());
    }
    let id = &result.verification_id;
    let live = OqsClient::must(client.consent(id, &chosen).await?)?;
    if !args.json {
        for c in &live {
            println!(
                "consent {} open until {}",
                c.category.code(),
                c.expires_at.to_rfc3339()
            );
        }
    }
    for (category, path) in [
        ("clinical", "medications"),
        ("clinical", "treatments"),
        ("checkup", "checkups"),
        ("limit_amount", "limit-amount"),
    ] {
        if !chosen.iter().any(|c| c == category) {
            continue;
        }
        let path_of = format!("/api/v1/oqs/verifications/{id}/{path}");
        if path == "limit-amount" {
            let v: LimitView = OqsClient::must(client.get(&path_of).await?)?;
            match (&v.limit, args.json) {
                (_, true) => println!("{}", json_text(&v)),
                (Some(l), false) => println!("{path}: {}", json_text(l)),
                (None, false) => println!("{path}: none"),
            }
            continue;
        }
        let items: Vec<MedicalData> = OqsClient::must(client.get(&path_of).await?)?;
        if args.json {
            println!("{}", json_text(&items));
        } else {
            show_medical(path, &items);
        }
    }
    Ok(())
}
