//! `openmyna portal login`: log in to the portal with the card and either approve the login
//! code a browser shows (`--code`, the browser's 「このブラウザでログイン」) or print a one-time
//! link that logs a browser in (the browser cannot reach the card; the command reads it).
//! `openmyna portal sign`: sign, with the card's signing key, a signing transaction a service
//! asked for through OpenID Connect (the consent page shows the command).

use base64::Engine;
use clap::Subcommand;
use openmyna_api::error::ErrorBody;
use openmyna_api::oqs::ChallengeView;
use openmyna_api::portal::{Handoff, LoggedIn, Login, PairingApproval, PairingApproved};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::AppError;
use crate::card_cli::{Target, connect, secret};
use crate::terminal::card_proof;

#[derive(Subcommand)]
pub enum PortalCommand {
    /// Log in with the card, then approve the login code a browser shows (--code), or print a
    /// link that logs a browser in (once, within 2 minutes).
    Login {
        #[command(flatten)]
        target: Target,
        /// The openmyna server; default: the configured public URL (server.public_url, else http://<server.listen>).
        #[arg(long)]
        url: Option<String>,
        /// `-` to read the 4-digit PIN from standard input; asked for when absent.
        #[arg(long)]
        pin: Option<String>,
        /// The login code the browser shows (ABCD-EFGH): approve that browser's login instead
        /// of printing a link. Approve only a code you showed yourself.
        #[arg(long, value_name = "ABCD-EFGH")]
        code: Option<String>,
    },
    /// Sign, with the card's signing key, the signing transaction a service asked for (its
    /// consent page shows the id); then consent on that page.
    Sign {
        #[command(flatten)]
        target: Target,
        /// The openmyna server; default: the configured public URL.
        #[arg(long)]
        url: Option<String>,
        /// The signing transaction (UUID) the consent page shows.
        #[arg(long)]
        transaction: String,
        /// `-` to read the 4-digit PIN (the login) from standard input; asked for when absent.
        #[arg(long)]
        pin: Option<String>,
        /// `-` to read the signing password from standard input; asked for when absent.
        #[arg(long)]
        password: Option<String>,
    },
}

fn invalid(m: impl Into<String>) -> AppError {
    AppError::Invalid(m.into())
}

/// POSTs `body` (with the session cookie, if any); the typed answer and the session cookie
/// the server set.
async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
    http: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    body: &B,
) -> Result<(T, Option<String>), AppError> {
    let mut rb = http.post(url).json(body);
    if let Some(c) = cookie {
        rb = rb.header("cookie", c);
    }
    let resp = rb
        .send()
        .await
        .map_err(|e| invalid(format!("cannot reach {url}: {e}")))?;
    let status = resp.status();
    let set = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| invalid(format!("reading the server's answer: {e}")))?;
    if !status.is_success() {
        let e: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let (code, message) = e
            .map(|b| (b.error.code, b.error.message))
            .unwrap_or_default();
        return Err(invalid(format!("{message} ({code})")));
    }
    let v = serde_json::from_slice(&bytes).map_err(|e| {
        invalid(format!(
            "the server's answer is not what {url} returns: {e}"
        ))
    })?;
    Ok((v, set))
}

/// A portal session opened with the card: the citizen's name and the session cookie.
struct CardSession {
    http: reqwest::Client,
    base: String,
    name: String,
    cookie: String,
}

/// Logs in with the card at `base`.
async fn card_login(target: &Target, base: &str, pin: &str) -> Result<CardSession, AppError> {
    let base = base.trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();
    let (c, _): (ChallengeView, _) = post(
        &http,
        &format!("{base}/api/v1/portal/challenge"),
        None,
        &serde_json::json!({}),
    )
    .await?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&c.challenge)
        .map_err(|_| invalid("the challenge is not base64"))?;
    let mut card = connect(target)?;
    let p = card_proof(&mut card, pin, &bytes)?;
    let e = base64::engine::general_purpose::STANDARD;
    let login = Login {
        challenge_id: c.challenge_id,
        certificate: e.encode(&p.certificate),
        signature: e.encode(&p.signature),
    };
    let (me, cookie): (LoggedIn, _) =
        post(&http, &format!("{base}/api/v1/portal/login"), None, &login).await?;
    let cookie = cookie.ok_or_else(|| invalid("the server set no session cookie"))?;
    Ok(CardSession {
        http,
        base,
        name: me.name,
        cookie,
    })
}

/// Logs in with the card at `base` and asks for a one-time browser link; returns the
/// citizen's name and the link.
pub async fn handoff_link(
    target: &Target,
    base: &str,
    pin: &str,
) -> Result<(String, String), AppError> {
    let c = card_login(target, base, pin).await?;
    let (h, _): (Handoff, _) = post(
        &c.http,
        &format!("{}/api/v1/portal/handoff", c.base),
        Some(&c.cookie),
        &serde_json::json!({}),
    )
    .await?;
    Ok((c.name, format!("{}{}", c.base, h.path)))
}

/// Logs in with the card at `base` and approves the login code a browser shows; returns the
/// citizen's name and the browser approved.
pub async fn approve_code(
    target: &Target,
    base: &str,
    pin: &str,
    code: &str,
) -> Result<(String, PairingApproved), AppError> {
    let c = card_login(target, base, pin).await?;
    let (a, _): (PairingApproved, _) = post(
        &c.http,
        &format!("{}/api/v1/portal/pairings/approve", c.base),
        Some(&c.cookie),
        &PairingApproval {
            code: code.to_owned(),
        },
    )
    .await?;
    Ok((c.name, a))
}

/// What the server says of a signing transaction.
#[derive(serde::Deserialize)]
pub struct SignTransactionView {
    pub id: String,
    pub client_name: String,
    pub description: String,
    /// The SHA-256 to sign (base64).
    pub digest: String,
    pub signed: bool,
}

/// Logs in with the card (PIN), then signs the transaction's digest with the signing key
/// (password) and hands over the signature and the signing certificate.
pub async fn sign_transaction(
    target: &Target,
    base: &str,
    pin: &str,
    password: &str,
    id: &str,
) -> Result<SignTransactionView, AppError> {
    let c = card_login(target, base, pin).await?;
    let url = format!("{}/api/v1/portal/sign-transactions/{id}", c.base);
    let resp = c
        .http
        .get(&url)
        .header("cookie", &c.cookie)
        .send()
        .await
        .map_err(|e| invalid(format!("cannot reach {url}: {e}")))?;
    if !resp.status().is_success() {
        let e: Option<ErrorBody> = resp.json().await.ok();
        let (code, message) = e
            .map(|b| (b.error.code, b.error.message))
            .unwrap_or_default();
        return Err(invalid(format!("{message} ({code})")));
    }
    let t: SignTransactionView = resp.json().await.map_err(|e| {
        invalid(format!(
            "the server's answer is not a signing transaction: {e}"
        ))
    })?;
    let digest: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(&t.digest)
        .ok()
        .and_then(|d| d.try_into().ok())
        .ok_or_else(|| invalid("the transaction's digest is not a SHA-256"))?;
    let mut card = connect(target)?;
    card.verify(openmyna_card::PinId::Sign, password)?;
    let cert = card.read_certificate(openmyna_cardio::client::Certificate::Sign)?;
    let sig = card.sign_hash(openmyna_card::KeyId::Sign, password, &digest)?;
    let e = base64::engine::general_purpose::STANDARD;
    let (v, _): (SignTransactionView, _) = post(
        &c.http,
        &format!("{url}/signature"),
        Some(&c.cookie),
        &serde_json::json!({"signature": e.encode(&sig), "certificate": e.encode(&cert)}),
    )
    .await?;
    Ok(v)
}

pub async fn run(cmd: PortalCommand, default_url: &str) -> Result<(), AppError> {
    match cmd {
        PortalCommand::Sign {
            target,
            url,
            transaction,
            pin,
            password,
        } => {
            let url = url.unwrap_or_else(|| default_url.to_owned());
            let pin = match pin {
                Some(p) => secret(p)?,
                None => crate::terminal::prompt_secret("暗証番号 (4 digits): ")?,
            };
            let password = match password {
                Some(p) => secret(p)?,
                None => crate::terminal::prompt_secret("署名用パスワード (6-16): ")?,
            };
            let v = sign_transaction(&target, &url, &pin, &password, &transaction).await?;
            println!(
                "signed for {}: {} — go back to the consent page and consent",
                v.client_name, v.description
            );
            Ok(())
        }
        PortalCommand::Login {
            target,
            url,
            pin,
            code,
        } => {
            let url = url.unwrap_or_else(|| default_url.to_owned());
            let pin = match pin {
                Some(p) => secret(p)?,
                None => crate::terminal::prompt_secret("暗証番号 (4 digits): ")?,
            };
            if let Some(code) = code {
                let (name, a) = approve_code(&target, &url, &pin, &code).await?;
                println!(
                    "approved: the browser showing {code} logs in as {name} now (it asked at {}: {})",
                    a.requested_at, a.browser
                );
                return Ok(());
            }
            let (name, link) = handoff_link(&target, &url, &pin).await?;
            eprintln!("logged in as {name}; open this link in your browser within two minutes:");
            println!("{link}");
            Ok(())
        }
    }
}
