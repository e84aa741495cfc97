//! `openmyna konbini --ui ADDR`: the screen of a convenience store's multi-copy machine
//! (マルチコピー機) for コンビニ交付, served on a loopback address, with the card through the
//! same client library as the kiosk: 1 place the card, 2 the authentication PIN (the tries
//! left after a wrong one; a locked PIN is sent to the municipality), 3 choose the certificate
//! and what to print, 4 the fee and the document (download or print), then the card back.
//!
//! The card signs the 証明書交付センター's challenge right after the PIN, so the PIN is never
//! kept; the challenge lives two minutes, after which the machine starts over. The document is
//! held in this process until it is taken once, or for two minutes, then forgotten. Each
//! customer is a generation: an answer that arrives after 取消 or 終了 belongs to nobody and is
//! dropped. See docs/konbini.md.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use openmyna_card::layout::KeyId;
use openmyna_cardio::CardIoError;
use openmyna_cardio::client::Certificate;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::app::AppError;
use crate::card_cli::{Target, connect};
use crate::terminal::{OqsClient, Proof, b64};

/// The card's proof over the centre's challenge, made after the PIN.
struct Signed {
    challenge_id: String,
    proof: Proof,
}

/// Where the customer is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    PlaceCard,
    Pin {
        tries_left: Option<u8>,
    },
    /// The card or the centre is working: nothing else is taken meanwhile (a double tap
    /// would cost a second PIN try).
    Checking,
    Choose,
    /// The document is ready: its fee, verification code and title.
    Ready {
        fee: String,
        code: String,
        title: String,
    },
    Locked,
    Refused(String),
}

struct Machine {
    step: Step,
    signed: Option<Signed>,
    document: Option<Vec<u8>>,
    /// Bumped for every customer: answers of an earlier one are dropped.
    generation: u64,
    /// When the proof (at Choose) or the document (at Ready) is forgotten.
    until: Option<std::time::Instant>,
}

/// How long a proof waits for the choice, and a document for the customer.
const HOLD: std::time::Duration = std::time::Duration::from_secs(120);

impl Machine {
    fn new(generation: u64) -> Machine {
        Machine {
            step: Step::PlaceCard,
            signed: None,
            document: None,
            generation,
            until: None,
        }
    }

    /// The next customer.
    fn reset(&mut self) {
        *self = Machine::new(self.generation + 1);
    }

    /// Forgets a proof or a document held too long.
    fn expire(&mut self) {
        if self.until.is_some_and(|t| std::time::Instant::now() > t) {
            self.reset();
            self.step = Step::Refused(
                "時間が経過したため、最初からやり直してください (the time ran out)".into(),
            );
        }
    }
}

/// What the machine needs: the card, and the centre (the server, with an operator token).
pub struct MachineConfig {
    pub target: Target,
    pub centre: OqsClient,
}

#[derive(Clone)]
struct Shared {
    machine: Arc<Mutex<Machine>>,
    config: Arc<MachineConfig>,
}

#[derive(Template)]
#[template(path = "konbini.html")]
struct Page<'a> {
    screen: &'a str,
    tries: String,
    fee: &'a str,
    code: &'a str,
    title: &'a str,
    message: &'a str,
}

fn render(step: &Step) -> Response {
    let (screen, tries, fee, code, title, message) = match step {
        Step::PlaceCard => ("place", String::new(), "", "", "", ""),
        Step::Pin { tries_left } => (
            "pin",
            tries_left.map(|n| n.to_string()).unwrap_or_default(),
            "",
            "",
            "",
            "",
        ),
        Step::Checking => ("checking", String::new(), "", "", "", ""),
        Step::Choose => ("choose", String::new(), "", "", "", ""),
        Step::Ready { fee, code, title } => (
            "ready",
            String::new(),
            fee.as_str(),
            code.as_str(),
            title.as_str(),
            "",
        ),
        Step::Locked => ("locked", String::new(), "", "", "", ""),
        Step::Refused(m) => ("refused", String::new(), "", "", "", m.as_str()),
    };
    match (Page {
        screen,
        tries,
        fee,
        code,
        title,
        message,
    })
    .render()
    {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "machine page");
            (StatusCode::INTERNAL_SERVER_ERROR, "page error").into_response()
        }
    }
}

async fn index(State(s): State<Shared>) -> Response {
    let mut m = s.machine.lock().await;
    m.expire();
    render(&m.step)
}

async fn place(State(s): State<Shared>) -> Redirect {
    let target = s.config.target.clone();
    let read = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut card = connect(&target).map_err(|e| e.to_string())?;
        card.read_certificate(Certificate::Auth)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    let mut m = s.machine.lock().await;
    if m.step == Step::PlaceCard {
        m.step = match read {
            Ok(Ok(())) => Step::Pin { tries_left: None },
            Ok(Err(e)) => Step::Refused(format!("カードを読み取れません: {e}")),
            Err(_) => Step::Refused("カードを読み取れません".into()),
        };
    }
    Redirect::to("/")
}

#[derive(Deserialize)]
struct PinForm {
    #[serde(default)]
    pin: String,
}

enum CardAnswer {
    Proof(Proof),
    Wrong(u8),
    Locked,
    Failed(String),
}

fn sign(target: &Target, pin: &str, challenge: &[u8]) -> CardAnswer {
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
            CardAnswer::Locked
        }
        Err(CardIoError::WrongPin { tries_left, .. }) => CardAnswer::Wrong(tries_left),
        Err(e) => CardAnswer::Failed(e.to_string()),
    }
}

/// The PIN: the card signs the centre's challenge at once (the PIN is not kept).
async fn pin(State(s): State<Shared>, Form(f): Form<PinForm>) -> Redirect {
    let pin = f.pin.trim().to_owned();
    let generation = {
        let mut m = s.machine.lock().await;
        if !matches!(m.step, Step::Pin { .. }) {
            return Redirect::to("/");
        }
        if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
            // A malformed PIN never reaches the card.
            m.step = Step::Pin { tries_left: None };
            return Redirect::to("/");
        }
        m.step = Step::Checking;
        m.generation
    };
    let answer = match s.config.centre.challenge().await {
        Ok((id, bytes)) => {
            let target = s.config.target.clone();
            tokio::task::spawn_blocking(move || sign(&target, &pin, &bytes))
                .await
                .map(|a| (id, a))
                .map_err(|_| "the reader stopped".to_owned())
        }
        Err(e) => Err(e.to_string()),
    };
    let mut m = s.machine.lock().await;
    if m.generation != generation || m.step != Step::Checking {
        // 取消 meanwhile: this answer belongs to nobody.
        return Redirect::to("/");
    }
    match answer {
        Ok((id, CardAnswer::Proof(proof))) => {
            m.signed = Some(Signed {
                challenge_id: id,
                proof,
            });
            m.until = Some(std::time::Instant::now() + HOLD);
            m.step = Step::Choose;
        }
        Ok((_, CardAnswer::Wrong(n))) => {
            m.step = Step::Pin {
                tries_left: Some(n),
            }
        }
        Ok((_, CardAnswer::Locked)) => m.step = Step::Locked,
        Ok((_, CardAnswer::Failed(e))) | Err(e) => m.step = Step::Refused(e),
    }
    Redirect::to("/")
}

#[derive(Deserialize)]
struct ChooseForm {
    kind: String,
    #[serde(default)]
    household: Option<String>,
    #[serde(default)]
    relationship: Option<String>,
    #[serde(default)]
    honseki: Option<String>,
    #[serde(default)]
    my_number: Option<String>,
}

/// The choice: the centre issues the document (refusals shown as they come).
async fn choose(State(s): State<Shared>, Form(f): Form<ChooseForm>) -> Redirect {
    let (signed, generation) = {
        let mut m = s.machine.lock().await;
        m.expire();
        if m.step != Step::Choose {
            return Redirect::to("/");
        }
        m.step = Step::Checking;
        (m.signed.take(), m.generation)
    };
    let Some(signed) = signed else {
        s.machine.lock().await.step = Step::Refused("最初からやり直してください".into());
        return Redirect::to("/");
    };
    let body = serde_json::json!({
        "challenge_id": signed.challenge_id,
        "certificate": b64(&signed.proof.certificate),
        "signature": b64(&signed.proof.signature),
        "kind": f.kind,
        "household": f.household.is_some(),
        "relationship": f.relationship.is_some(),
        "honseki": f.honseki.is_some(),
        "my_number": f.my_number.is_some(),
    });
    let answer = s
        .config
        .centre
        .post_document("/api/v1/konbini/certificates", &body)
        .await;
    let mut m = s.machine.lock().await;
    if m.generation != generation {
        // 取消 meanwhile: the document belongs to nobody here; it is dropped.
        return Redirect::to("/");
    }
    m.until = None;
    match answer {
        Ok(Ok((pdf, code, fee))) => {
            let title = match f.kind.as_str() {
                "inkan" => "印鑑登録証明書",
                "kisai_jiko" => "住民票記載事項証明書",
                _ => "住民票の写し",
            };
            m.document = Some(pdf);
            m.until = Some(std::time::Instant::now() + HOLD);
            m.step = Step::Ready {
                fee,
                code,
                title: title.to_owned(),
            };
        }
        Ok(Err(r)) => m.step = Step::Refused(format!("{} ({})", r.message, r.code)),
        Err(e) => m.step = Step::Refused(e.to_string()),
    }
    Redirect::to("/")
}

/// The document, once: printed (or saved) and forgotten.
async fn document(State(s): State<Shared>) -> Response {
    let mut m = s.machine.lock().await;
    m.expire();
    match m.document.take() {
        Some(pdf) => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (header::CACHE_CONTROL, "no-store"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"certificate.pdf\"",
                ),
            ],
            pdf,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "the document was taken already").into_response(),
    }
}

/// 終了 / 取消: the card back, everything forgotten.
async fn reset(State(s): State<Shared>) -> Redirect {
    s.machine.lock().await.reset();
    Redirect::to("/")
}

/// The machine's routes.
pub fn router(config: MachineConfig) -> Router {
    let shared = Shared {
        machine: Arc::new(Mutex::new(Machine::new(0))),
        config: Arc::new(config),
    };
    Router::new()
        .route("/", get(index))
        .route("/place", post(place))
        .route("/pin", post(pin))
        .route("/choose", post(choose))
        .route("/document", get(document))
        .route("/reset", post(reset))
        .layer(axum::middleware::from_fn(crate::kiosk::same_machine_only))
        .with_state(shared)
}

/// Serves the machine on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: MachineConfig,
) -> Result<(), AppError> {
    crate::kiosk::serve_local(listener, router(config), "the machine").await
}

/// Binds `addr` (loopback only) and serves.
pub async fn run(addr: &str, config: MachineConfig) -> Result<(), AppError> {
    let (listener, url) = crate::kiosk::bind_loopback(addr, "the machine").await?;
    println!("multi-copy machine on {url}");
    serve(listener, config).await
}

/// `openmyna konbini`: the multi-copy machine.
#[derive(clap::Args)]
pub struct KonbiniArgs {
    #[command(flatten)]
    pub target: Target,
    /// The openmyna server; default: the configured public URL.
    #[arg(long)]
    pub url: Option<String>,
    /// The 証明書交付センター's token (an operator token).
    #[arg(long, env = "OPENMYNA_KONBINI_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Serve the machine's screen on this loopback address, e.g. 127.0.0.1:8095.
    #[arg(long)]
    pub ui: String,
}

pub async fn run_args(args: KonbiniArgs, default_url: &str) -> Result<(), AppError> {
    let centre = OqsClient::new(args.url.as_deref().unwrap_or(default_url), &args.token);
    run(
        &args.ui,
        MachineConfig {
            target: args.target,
            centre,
        },
    )
    .await
}
