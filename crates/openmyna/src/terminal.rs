//! `openmyna terminal`: a facility's reader terminal on the command line — the reader
//! protocol of docs/eligibility.md against a server, with a card file or a PC/SC reader.
//!
//! The card part ([`card_proof`]) is what any terminal does: read the authentication
//! certificate (JPKI AP EF 000A, no PIN), VERIFY the 4-digit PIN, and have the card sign the
//! server's challenge with the authentication key (SHA-256 DigestInfo, PKCS#1 v1.5).

use std::io::Write;

use base64::Engine;
use clap::Args;
use openmyna_card::layout::KeyId;
use openmyna_cardio::client::Certificate;
use openmyna_cardio::{JpkiClient, Transport};
use serde_json::{Value, json};

use crate::app::AppError;
use crate::card_cli::{Target, connect, secret};

/// The card's answer to a challenge.
#[derive(Debug, Clone)]
pub struct Proof {
    pub certificate: Vec<u8>,
    pub signature: Vec<u8>,
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
    })
}

/// A terminal's connection to the server.
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

pub(crate) fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

impl OqsClient {
    pub fn new(url: &str, token: &str) -> Self {
        OqsClient {
            http: reqwest::Client::new(),
            url: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Result<Value, Refusal>, AppError> {
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
        let v: Value = resp
            .json()
            .await
            .map_err(|e| AppError::Invalid(format!("the server's answer is not JSON: {e}")))?;
        if (200..300).contains(&status) {
            Ok(Ok(v))
        } else {
            Ok(Err(Refusal {
                status,
                code: v["error"]["code"].as_str().unwrap_or("").to_owned(),
                message: v["error"]["message"].as_str().unwrap_or("").to_owned(),
            }))
        }
    }

    fn must(r: Result<Value, Refusal>) -> Result<Value, AppError> {
        r.map_err(|e| AppError::Invalid(format!("{} ({}, HTTP {})", e.message, e.code, e.status)))
    }

    pub async fn get(&self, path: &str) -> Result<Result<Value, Refusal>, AppError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Result<Value, Refusal>, AppError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// A new challenge: its id and the bytes the card signs.
    pub async fn challenge(&self) -> Result<(String, Vec<u8>), AppError> {
        let v = Self::must(self.post("/api/v1/oqs/challenges", &json!({})).await?)?;
        let id = v["challenge_id"].as_str().unwrap_or_default().to_owned();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v["challenge"].as_str().unwrap_or_default())
            .map_err(|_| AppError::Invalid("the challenge is not base64".into()))?;
        Ok((id, bytes))
    }

    /// Challenge, card proof, and the verification.
    pub async fn verify<T: Transport>(
        &self,
        card: &mut JpkiClient<T>,
        pin: &str,
        method: &str,
        date_of_service: Option<&str>,
    ) -> Result<Result<Value, Refusal>, AppError> {
        let (id, challenge) = self.challenge().await?;
        let p = card_proof(card, pin, &challenge)?;
        let mut body = json!({
            "challenge_id": id,
            "certificate": b64(&p.certificate),
            "signature": b64(&p.signature),
            "method": method,
        });
        if let Some(d) = date_of_service {
            body["date_of_service"] = json!(d);
        }
        self.post("/api/v1/oqs/verifications", &body).await
    }

    /// 利用登録 through the reader.
    pub async fn register<T: Transport>(
        &self,
        card: &mut JpkiClient<T>,
        pin: &str,
    ) -> Result<Result<Value, Refusal>, AppError> {
        let (id, challenge) = self.challenge().await?;
        let p = card_proof(card, pin, &challenge)?;
        self.post(
            "/api/v1/oqs/registrations",
            &json!({
                "challenge_id": id,
                "certificate": b64(&p.certificate),
                "signature": b64(&p.signature),
            }),
        )
        .await
    }
}

#[derive(Args)]
pub struct TerminalArgs {
    #[command(flatten)]
    pub target: Target,
    /// This facility's 医療機関コード (checked against the terminal's registration).
    #[arg(long)]
    pub facility: String,
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The terminal's token (from POST /api/v1/oqs/terminals).
    #[arg(long, env = "OPENMYNA_TERMINAL_TOKEN", hide_env_values = true)]
    pub token: String,
    /// `-` to read the 4-digit PIN from standard input (scripts); without it, the PIN is
    /// asked for with the echo off. A PIN written here shows in the process list.
    #[arg(long)]
    pub pin: Option<String>,
    /// How the holder was confirmed: pin, face or visual.
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

fn show_result(v: &Value) {
    println!(
        "資格確認結果: {} ({}), date of service {}",
        v["validity_name"].as_str().unwrap_or(""),
        v["validity"].as_str().unwrap_or(""),
        v["date_of_service"].as_str().unwrap_or("")
    );
    if let Some(p) = v.get("person").filter(|p| !p.is_null()) {
        println!(
            "  {} ({})  born {}  sex {}",
            p["name"].as_str().unwrap_or(""),
            p["name_kana"].as_str().unwrap_or(""),
            p["birth_date"].as_str().unwrap_or(""),
            p["sex"]
        );
        println!("  {}", p["address"].as_str().unwrap_or(""));
    }
    for r in v["records"].as_array().into_iter().flatten() {
        println!(
            "  保険者 {} {}  記号 {} 番号 {} 枝番 {}  区分 {}  本人家族 {}  負担割合 {}  資格取得 {}{}",
            r["insurer_number"].as_str().unwrap_or(""),
            r["insurer_name"].as_str().unwrap_or(""),
            r["symbol"].as_str().unwrap_or(""),
            r["number"].as_str().unwrap_or(""),
            r["branch"].as_str().unwrap_or(""),
            r["card_class"].as_str().unwrap_or(""),
            r["relationship"].as_str().unwrap_or(""),
            r["co_payment_ratio"].as_str().unwrap_or(""),
            r["qualification_date"].as_str().unwrap_or(""),
            r["loss"]["date"]
                .as_str()
                .map(|d| format!("  資格喪失 {d}"))
                .unwrap_or_default()
        );
    }
}

/// Checks that the token is a terminal of `facility`.
pub async fn check_facility(client: &OqsClient, facility: &str) -> Result<(), AppError> {
    let me = OqsClient::must(client.get("/api/v1/oqs/terminal").await?)?;
    if me["facility_code"].as_str() != Some(facility.trim()) {
        return Err(AppError::Invalid(format!(
            "this token belongs to a terminal of facility {}, not {}",
            me["facility_code"].as_str().unwrap_or("?"),
            facility
        )));
    }
    Ok(())
}

/// Runs the reader flow once (or serves the kiosk with `--ui`).
pub async fn run(args: TerminalArgs) -> Result<(), AppError> {
    let client = OqsClient::new(&args.url, &args.token);
    check_facility(&client, &args.facility).await?;
    if let Some(addr) = &args.ui {
        return crate::kiosk::run(
            addr,
            crate::kiosk::KioskConfig {
                target: args.target.clone(),
                client,
                register: args.register,
            },
        )
        .await;
    }
    let mut card = connect(&args.target)?;
    let pin = match args.pin.clone() {
        Some(p) => secret(p)?,
        None => prompt_secret("暗証番号 (4 digits): ")?,
    };
    let date = args.date.as_deref();
    let mut answer = client.verify(&mut card, &pin, &args.method, date).await?;
    if let Err(r) = &answer
        && r.code == "card.not_registered"
        && args.register
    {
        let reg = OqsClient::must(client.register(&mut card, &pin).await?)?;
        eprintln!(
            "利用登録: registered through the {} at {}",
            reg["channel"].as_str().unwrap_or(""),
            reg["registered_at"].as_str().unwrap_or("")
        );
        answer = client.verify(&mut card, &pin, &args.method, date).await?;
    }
    let result = OqsClient::must(answer)?;
    if args.json {
        println!("{result:#}");
    } else {
        show_result(&result);
    }
    let offered: Vec<String> = result["consent_choices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_owned))
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
    let id = result["verification_id"].as_str().unwrap_or_default();
    let live = OqsClient::must(
        client
            .post(
                &format!("/api/v1/oqs/verifications/{id}/consent"),
                &json!({ "categories": chosen }),
            )
            .await?,
    )?;
    if !args.json {
        for c in live.as_array().into_iter().flatten() {
            println!(
                "consent {} open until {}",
                c["category"].as_str().unwrap_or(""),
                c["expires_at"].as_str().unwrap_or("")
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
        let v = OqsClient::must(
            client
                .get(&format!("/api/v1/oqs/verifications/{id}/{path}"))
                .await?,
        )?;
        if args.json {
            println!("{v:#}");
            continue;
        }
        match v.as_array() {
            Some(items) => {
                println!("{path}: {} entries", items.len());
                for i in items.iter().take(10) {
                    let date = ["dispensed_on", "treated_on", "examined_on"]
                        .iter()
                        .find_map(|k| i[*k].as_str())
                        .unwrap_or("");
                    let what = ["drug_name", "procedure_name"]
                        .iter()
                        .find_map(|k| i[*k].as_str())
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            format!(
                                "BMI {} BP {}/{}",
                                i["bmi"], i["systolic_bp"], i["diastolic_bp"]
                            )
                        });
                    println!(
                        "  {date}  {what}  ({})",
                        i["facility_name"].as_str().unwrap_or("")
                    );
                }
            }
            None => println!("{path}: {}", v["limit"]),
        }
    }
    Ok(())
}
