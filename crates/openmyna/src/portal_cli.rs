//! `openmyna portal login`: log in to the portal with the card and print a one-time link that
//! logs a browser in (the browser cannot reach the card; the command reads it).

use base64::Engine;
use clap::Subcommand;
use openmyna_api::error::ErrorBody;
use openmyna_api::oqs::ChallengeView;
use openmyna_api::portal::{Handoff, LoggedIn, Login};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::AppError;
use crate::card_cli::{Target, connect, secret};
use crate::terminal::card_proof;

#[derive(Subcommand)]
pub enum PortalCommand {
    /// Log in with the card and print a link that logs a browser in (once, within 2 minutes).
    Login {
        #[command(flatten)]
        target: Target,
        /// The openmyna server; default: the configured public URL (server.public_url, else http://<server.listen>).
        #[arg(long)]
        url: Option<String>,
        /// `-` to read the 4-digit PIN from standard input; asked for when absent.
        #[arg(long)]
        pin: Option<String>,
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

/// Logs in with the card at `base` and asks for a one-time browser link; returns the
/// citizen's name and the link.
pub async fn handoff_link(
    target: &Target,
    base: &str,
    pin: &str,
) -> Result<(String, String), AppError> {
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
    let (h, _): (Handoff, _) = post(
        &http,
        &format!("{base}/api/v1/portal/handoff"),
        Some(&cookie),
        &serde_json::json!({}),
    )
    .await?;
    Ok((me.name, format!("{base}{}", h.path)))
}

pub async fn run(cmd: PortalCommand, default_url: &str) -> Result<(), AppError> {
    match cmd {
        PortalCommand::Login { target, url, pin } => {
            let url = url.unwrap_or_else(|| default_url.to_owned());
            let pin = match pin {
                Some(p) => secret(p)?,
                None => crate::terminal::prompt_secret("暗証番号 (4 digits): ")?,
            };
            let (name, link) = handoff_link(&target, &url, &pin).await?;
            eprintln!("logged in as {name}; open this link in your browser within two minutes:");
            println!("{link}");
            Ok(())
        }
    }
}
