//! `openmyna card …` and `openmyna vpcd`: the card commands for people and municipalities.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Args, Subcommand};
use openmyna_card::{KeyId, PinId};
use openmyna_cardio::client::Certificate;
use openmyna_cardio::{CardFile, CardIoError, JpkiClient, Transport, VirtualTransport};
use openmyna_core::Clock;

use crate::app::{self, AppError};
use crate::config::Config;

// Every PIN argument accepts `-`: read it from standard input instead.

/// Which card: a card file (the virtual card in-process) or a PC/SC reader.
#[derive(Args, Clone)]
pub struct Target {
    /// A card file (as written by `card issue`).
    #[arg(long, conflicts_with = "reader")]
    pub card: Option<PathBuf>,
    /// A PC/SC reader whose name contains this (a real reader, or vpcd's "Virtual PCD").
    #[arg(long)]
    pub reader: Option<String>,
}

#[derive(Subcommand)]
pub enum CardCommand {
    /// Issue a card to a resident: keys generated on the card, certificates from the CA, the
    /// 4 information, My Number and a face picture written, the chosen PINs set.
    Issue {
        /// The resident's id in the registry.
        #[arg(long)]
        resident: i64,
        /// The card file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// 利用者証明用 PIN: 4 digits.
        #[arg(long)]
        auth_pin: String,
        /// 署名用 password: 6-16 of A-Z/0-9 with both (15 and older only).
        #[arg(long)]
        sign_password: Option<String>,
        /// 券面事項入力補助用 PIN: 4 digits (default: the authentication PIN).
        #[arg(long)]
        assist_pin: Option<String>,
        /// 住民基本台帳用 PIN: 4 digits (default: the authentication PIN).
        #[arg(long)]
        juki_pin: Option<String>,
        /// Last valid day, YYYY-MM-DD (default: the 10th birthday after issuance, 5th under 18).
        #[arg(long)]
        expiry: Option<String>,
        /// Who issues, for the audit trail.
        #[arg(long, default_value = "municipality window")]
        actor: String,
    },
    /// Show what card software sees: token, certificates, PIN tries; with --assist-pin also
    /// the 4 information (checked against the card's hashes).
    Inspect {
        #[command(flatten)]
        target: Target,
        /// 券面事項入力補助用 PIN (4 digits; `-` reads it from standard input).
        #[arg(long)]
        assist_pin: Option<String>,
    },
    /// Present a PIN (a wrong one costs a try).
    VerifyPin {
        #[command(flatten)]
        target: Target,
        /// Which PIN: auth (利用者証明用), sign (署名用), assist (券面事項入力補助用) or juki
        /// (住民基本台帳用).
        #[arg(long, value_parser = ["auth", "sign", "assist", "juki"])]
        pin: String,
        /// The value to present (`-` reads it from standard input).
        #[arg(long)]
        value: String,
    },
    /// Change a PIN, knowing the current one.
    ChangePin {
        #[command(flatten)]
        target: Target,
        /// Which PIN: auth, sign, assist or juki.
        #[arg(long, value_parser = ["auth", "sign", "assist", "juki"])]
        pin: String,
        /// The current value (`-` reads it from standard input).
        #[arg(long)]
        old: String,
        /// The new value, under the PIN's rules (`-` reads it from standard input).
        #[arg(long)]
        new: String,
    },
    /// Sign a file with the card (sha256WithRSAEncryption); writes the raw signature, or with
    /// --cms a CMS SignedData (the file encapsulated, the certificate included) such as the
    /// verification platform and `openssl cms -verify` read.
    Sign {
        #[command(flatten)]
        target: Target,
        /// auth or sign.
        #[arg(long)]
        key: String,
        /// The PIN (auth) or password (sign) that opens the key.
        #[arg(long)]
        pin: String,
        /// The file to sign.
        #[arg(long = "in")]
        input: PathBuf,
        /// Where to write the signature (raw, 256 bytes).
        #[arg(long)]
        out: PathBuf,
        /// Also write the certificate of the key used (DER).
        #[arg(long)]
        cert_out: Option<PathBuf>,
        /// Write a CMS SignedData (DER) instead of the raw signature.
        #[arg(long)]
        cms: bool,
    },
    /// Certificate renewal at the window (from 3 months before the certificates expire): new
    /// keys on the card, new certificates, the old ones revoked (audited).
    Renew {
        /// The card file (changed in place, durably).
        #[arg(long)]
        card: PathBuf,
        /// Who acts, for the audit trail.
        #[arg(long, default_value = "municipality window")]
        actor: String,
    },
    /// A new signing certificate on the card: abroad (after 海外継続利用 and the 国外転出)
    /// or back in Japan (audited).
    Signing {
        /// The card file (changed in place, durably).
        #[arg(long)]
        card: PathBuf,
        /// Who acts, for the audit trail.
        #[arg(long, default_value = "municipality window")]
        actor: String,
    },
    /// The municipality's reset of a locked or forgotten PIN (audited).
    Unlock {
        /// The card file (changed in place, durably).
        #[arg(long)]
        card: PathBuf,
        /// Which PIN: auth (利用者証明用), sign (署名用), assist (券面事項入力補助用), juki
        /// (住民基本台帳用), or a 照合番号 counter: assist_a, assist_b, face_a, face_b,
        /// face_birth (reset without a new value).
        #[arg(long, value_parser = [
            "auth", "sign", "assist", "juki", "assist_a", "assist_b", "face_a", "face_b", "face_birth",
        ])]
        pin: String,
        /// A new value (required in practice for a forgotten PIN).
        #[arg(long)]
        new_value: Option<String>,
        /// Who resets it, for the audit trail.
        #[arg(long, default_value = "municipality window")]
        actor: String,
    },
}

/// A secret given on the command line, or `-` to read it from the first line of standard
/// input (so that it stays out of `ps` and shell history).
pub fn secret(value: String) -> Result<String, AppError> {
    if value != "-" {
        return Ok(value);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| AppError::io("reading a PIN from standard input", e))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn parse_pin(s: &str) -> Result<PinId, AppError> {
    match PinId::parse(s) {
        Some(p) if p.chosen() => Ok(p),
        _ => Err(AppError::Invalid(format!(
            "{s:?} is not a PIN; use auth, sign, assist or juki"
        ))),
    }
}

pub fn connect(t: &Target) -> Result<JpkiClient<Box<dyn Transport>>, AppError> {
    let transport: Box<dyn Transport> = match (&t.card, &t.reader) {
        (Some(path), _) => Box::new(VirtualTransport::new(CardFile::open(path)?)),
        (None, Some(reader)) => pcsc_transport(reader)?,
        (None, None) => {
            return Err(AppError::Invalid(
                "name the card: --card FILE or --reader NAME".into(),
            ));
        }
    };
    Ok(JpkiClient::new(transport))
}

#[cfg(feature = "pcsc")]
fn pcsc_transport(reader: &str) -> Result<Box<dyn Transport>, AppError> {
    Ok(Box::new(openmyna_cardio::pcsc::PcscTransport::connect(
        Some(reader),
    )?))
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_transport(_reader: &str) -> Result<Box<dyn Transport>, AppError> {
    Err(AppError::Invalid(
        "this build has no PC/SC support; build with --features pcsc (needs libpcsclite-dev)"
            .into(),
    ))
}

fn write(path: &PathBuf, data: &[u8]) -> Result<(), AppError> {
    std::fs::write(path, data).map_err(|e| AppError::io(format!("writing {}", path.display()), e))
}

fn describe_cert(der: &[u8]) -> String {
    use der::Decode;
    match x509_cert::Certificate::from_der(der) {
        Ok(c) => format!(
            "serial {} subject {} valid until {}",
            c.tbs_certificate
                .serial_number
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>(),
            c.tbs_certificate.subject,
            c.tbs_certificate.validity.not_after
        ),
        Err(e) => format!("not a certificate ({e})"),
    }
}

pub async fn run(cmd: CardCommand, config: &Config, clock: Arc<dyn Clock>) -> Result<(), AppError> {
    match cmd {
        CardCommand::Issue {
            resident,
            out,
            auth_pin,
            sign_password,
            assist_pin,
            juki_pin,
            expiry,
            actor,
        } => {
            let auth_pin = secret(auth_pin)?;
            let sign_password = sign_password.map(secret).transpose()?;
            let assist_pin = assist_pin.map(secret).transpose()?;
            let juki_pin = juki_pin.map(secret).transpose()?;
            let card_expiry = expiry
                .map(|e| {
                    chrono::NaiveDate::parse_from_str(&e, "%Y-%m-%d").map_err(|_| {
                        AppError::Invalid(format!("--expiry {e:?} is not a date YYYY-MM-DD"))
                    })
                })
                .transpose()?;
            let (store, jpki, entropy) = app::open_ca(config, clock.clone()).await?;
            let issued = openmyna_services::cards::issue(
                &store,
                &jpki,
                clock.as_ref(),
                entropy.as_ref(),
                &openmyna_services::cards::IssueRequest {
                    resident_id: resident,
                    out: &out,
                    auth_pin: &auth_pin,
                    sign_password: sign_password.as_deref(),
                    assist_pin: assist_pin.as_deref(),
                    juki_pin: juki_pin.as_deref(),
                    card_expiry,
                    actor: &actor,
                },
            )
            .await;
            store.close().await;
            let issued = issued?;
            println!(
                "{}",
                serde_json::to_string_pretty(&issued)
                    .map_err(|e| AppError::Invalid(e.to_string()))?
            );
            Ok(())
        }
        CardCommand::Inspect { target, assist_pin } => {
            let mut c = connect(&target)?;
            println!("card: {}", c.transport().describe());
            println!("token label: {}", c.token_label()?);
            println!("manufacturing number: {}", c.manufacturing_number()?);
            for (label, cert) in [
                ("authentication certificate", Certificate::Auth),
                ("authentication CA", Certificate::AuthCa),
                ("signing CA", Certificate::SignCa),
            ] {
                let der = c.read_certificate(cert)?;
                println!("{label}: {}", describe_cert(&der));
            }
            println!("signing certificate: readable after the signing password");
            for pin in [PinId::Auth, PinId::Sign, PinId::Assist, PinId::Juki] {
                match c.pin_tries(pin) {
                    Ok(0) => println!("{}: LOCKED", pin.label()),
                    Ok(n) => println!("{}: {n} of {} tries left", pin.label(), pin.max_tries()),
                    Err(CardIoError::Status { .. }) => {
                        println!("{}: not on this card", pin.label())
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if let Some(p) = assist_pin {
                let p = secret(p)?;
                let b = c.basic4(&p)?;
                let n = c.my_number(&p)?;
                println!("name: {}", b.name);
                println!("address: {}", b.address);
                println!("birth date: {}", b.birth);
                println!("sex: {}", b.sex);
                let tail: String = n
                    .chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                println!("My Number: ********{tail}");
            }
            Ok(())
        }
        CardCommand::VerifyPin { target, pin, value } => {
            let pin = parse_pin(&pin)?;
            let value = secret(value)?;
            let mut c = connect(&target)?;
            c.verify(pin, &value)?;
            println!("{}: correct", pin.label());
            Ok(())
        }
        CardCommand::ChangePin {
            target,
            pin,
            old,
            new,
        } => {
            let pin = parse_pin(&pin)?;
            let (old, new) = (secret(old)?, secret(new)?);
            let mut c = connect(&target)?;
            c.change_pin(pin, &old, &new)?;
            println!("{}: changed", pin.label());
            Ok(())
        }
        CardCommand::Sign {
            target,
            key,
            pin,
            input,
            out,
            cert_out,
            cms,
        } => {
            let key = match key.as_str() {
                "auth" => KeyId::Auth,
                "sign" => KeyId::Sign,
                other => {
                    return Err(AppError::Invalid(format!(
                        "{other:?} is not a card key; use auth or sign"
                    )));
                }
            };
            let msg = std::fs::read(&input)
                .map_err(|e| AppError::io(format!("reading {}", input.display()), e))?;
            let pin = secret(pin)?;
            let mut c = connect(&target)?;
            if cms {
                c.verify(
                    if key == KeyId::Sign {
                        PinId::Sign
                    } else {
                        PinId::Auth
                    },
                    &pin,
                )?;
                let cert = c.read_certificate(if key == KeyId::Sign {
                    Certificate::Sign
                } else {
                    Certificate::Auth
                })?;
                let signed = openmyna_jpki::cms::build(&msg, &cert, &clock.now(), |h| {
                    c.sign_hash(key, &pin, h)
                })??;
                write(&out, &signed)?;
                println!(
                    "CMS SignedData ({} bytes) written to {}",
                    signed.len(),
                    out.display()
                );
            } else {
                let sig = c.sign(key, &pin, &msg)?;
                write(&out, &sig)?;
                println!(
                    "signature ({} bytes) written to {}",
                    sig.len(),
                    out.display()
                );
            }
            if let Some(path) = cert_out {
                // Still in the JPKI AP with the signing password verified.
                let der = if key == KeyId::Sign {
                    c.read_certificate(Certificate::Sign)?
                } else {
                    c.read_certificate(Certificate::Auth)?
                };
                write(&path, &der)?;
            }
            Ok(())
        }
        CardCommand::Signing { card, actor } => {
            let file = CardFile::open(&card)?;
            let (store, jpki, entropy) = app::open_ca(config, clock.clone()).await?;
            let r = openmyna_services::cards::reissue_signing(
                &store,
                &jpki,
                clock.as_ref(),
                entropy.as_ref(),
                &file,
                &actor,
            )
            .await;
            store.close().await;
            let rec = r?;
            println!(
                "card {}: new signing certificate {}",
                rec.serial,
                rec.sign_serial.as_deref().unwrap_or("none")
            );
            Ok(())
        }
        CardCommand::Renew { card, actor } => {
            let file = CardFile::open(&card)?;
            let (store, jpki, entropy) = app::open_ca(config, clock.clone()).await?;
            let r = openmyna_services::cards::renew(
                &store,
                &jpki,
                clock.as_ref(),
                entropy.as_ref(),
                &file,
                &actor,
            )
            .await;
            store.close().await;
            let rec = r?;
            println!(
                "card {} renewed: authentication certificate {}, signing certificate {}",
                rec.serial,
                rec.auth_serial,
                rec.sign_serial.as_deref().unwrap_or("none")
            );
            Ok(())
        }
        CardCommand::Unlock {
            card,
            pin,
            new_value,
            actor,
        } => {
            let pin = parse_pin(&pin)?;
            let new_value = new_value.map(secret).transpose()?;
            let file = CardFile::open(&card)?;
            let store = app::open_store(config).await?;
            let r = openmyna_services::cards::unlock(
                &store,
                clock.as_ref(),
                &file,
                pin,
                new_value.as_deref(),
                &actor,
            )
            .await;
            store.close().await;
            let tries = r?;
            println!("{}: reset, {tries} tries", pin.label());
            Ok(())
        }
    }
}

/// `openmyna vpcd`: blocks, keeping the card in pcscd's virtual reader until interrupted.
pub fn vpcd(card: PathBuf, addr: &str) -> Result<(), AppError> {
    let addr: std::net::SocketAddr = addr
        .parse()
        .map_err(|_| AppError::Invalid(format!("{addr:?} is not an address HOST:PORT")))?;
    let file = CardFile::open(&card)?;
    let stop = AtomicBool::new(false);
    eprintln!(
        "card {} attached to vpcd at {addr}; Ctrl-C to remove it",
        card.display()
    );
    openmyna_cardio::vpcd::run(file, addr, std::time::Duration::from_millis(500), &stop)?;
    Ok(())
}
