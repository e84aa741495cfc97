//! `openmyna portal login`: log in to the portal with the card and print a one-time link that
//! logs a browser in (the browser cannot reach the card; the command reads it).

use base64::Engine;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::app::AppError;
use crate::card_cli::{Target, connect, secret};
use crate::terminal::card_proof;

#[derive(Subcommand)]
pub enum PortalCommand {
    /// Log in with the card and print a link that logs a browser in (once, within 2 minutes).
    Login {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// `-` to read the 4-digit PIN from standard input; asked for when absent.
        #[arg(long)]
        pin: Option<String>,
    },
}

fn invalid(m: impl Into<String>) -> AppError {
    AppError::Invalid(m.into())
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    body: &Value,
) -> Result<(Value, Option<String>), AppError> {
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
    let v: Value = resp
        .json()
        .await
        .map_err(|e| invalid(format!("the server's answer is not JSON: {e}")))?;
    if !status.is_success() {
        return Err(invalid(format!(
            "{} ({})",
            v["error"]["message"].as_str().unwrap_or(""),
            v["error"]["code"].as_str().unwrap_or("")
        )));
    }
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
    let (c, _) = post(
        &http,
        &format!("{base}/api/v1/portal/challenge"),
        None,
        &json!({}),
    )
    .await?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(c["challenge"].as_str().unwrap_or_default())
        .map_err(|_| invalid("the challenge is not base64"))?;
    let mut card = connect(target)?;
    let p = card_proof(&mut card, pin, &bytes)?;
    let e = base64::engine::general_purpose::STANDARD;
    let (me, cookie) = post(
        &http,
        &format!("{base}/api/v1/portal/login"),
        None,
        &json!({"challenge_id": c["challenge_id"], "certificate": e.encode(&p.certificate),
                "signature": e.encode(&p.signature)}),
    )
    .await?;
    let cookie = cookie.ok_or_else(|| invalid("the server set no session cookie"))?;
    let (h, _) = post(
        &http,
        &format!("{base}/api/v1/portal/handoff"),
        Some(&cookie),
        &json!({}),
    )
    .await?;
    Ok((
        me["name"].as_str().unwrap_or("").to_owned(),
        format!("{base}{}", h["path"].as_str().unwrap_or("")),
    ))
}

pub async fn run(cmd: PortalCommand) -> Result<(), AppError> {
    match cmd {
        PortalCommand::Login { target, url, pin } => {
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
