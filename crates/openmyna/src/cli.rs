//! The command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use openmyna_core::{Clock, SystemClock};

use crate::app::{self, AppError};
use crate::config::Config;
use crate::demo;

#[derive(Parser)]
#[command(
    name = "openmyna",
    version,
    about = "A self-hostable implementation of the system around Japan's My Number Card"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct Global {
    /// TOML configuration file (also OPENMYNA_CONFIG).
    #[arg(long, global = true, env = "OPENMYNA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (default: SQLite in the data directory).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Data directory (default ./openmyna-data).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run every service in one process (seeds a demo population into an empty database).
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// Residents to seed into an empty database (0: none).
        #[arg(long)]
        demo_persons: Option<u64>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Generate a synthetic population into the database and report the time taken.
    Demo {
        /// How many residents.
        #[arg(long, default_value_t = 10_000)]
        persons: u64,
        /// Generator seed (the same seed gives the same people).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also create the demo organisations and write their tokens to the data directory.
        #[arg(long)]
        organisations: bool,
    },
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the configuration in effect (secrets redacted).
    Config,
    /// The JPKI certification authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Virtual My Number Cards: issue, inspect, PINs, signing, the municipality's unlock.
    #[command(subcommand)]
    Card(crate::card_cli::CardCommand),
    /// The relying party's tools for the 4-information service: sign a consent with a card;
    /// find revoked customers in the CRLs.
    #[command(subcommand)]
    Rp(crate::rp::RpCommand),
    /// The citizen portal: log in with the card and open the portal in a browser.
    #[command(subcommand)]
    Portal(crate::portal_cli::PortalCommand),
    /// A facility's reader terminal: verify a card's eligibility against a server (prompts
    /// for the PIN, shows the result and the consent choices, reads consented data).
    Terminal(crate::terminal::TerminalArgs),
    /// A convenience store's multi-copy machine (コンビニ交付): the card, the PIN, the
    /// certificate chosen, the signed PDF, served on a loopback address.
    Konbini(crate::konbini::KonbiniArgs),
    /// Put a card file in pcscd's virtual reader (vsmartcard-vpcd) until interrupted;
    /// reconnects when pcscd restarts.
    Vpcd {
        /// The card file to put in the reader.
        #[arg(long)]
        card: PathBuf,
        /// pcscd's vpcd slot (35963 is slot 0).
        #[arg(long, default_value = openmyna_cardio::vpcd::DEFAULT_ADDR)]
        addr: String,
    },
}

#[derive(Subcommand)]
pub enum CaCommand {
    /// Create the signing and authentication roots and their OCSP responders (also done by
    /// `serve` on first start); prints where their certificates are served.
    Init,
    /// Revoke a certificate.
    Revoke {
        /// Serial in hex.
        #[arg(long)]
        serial: String,
        /// RFC 5280 reason (keyCompromise, affiliationChanged, superseded, …).
        #[arg(long, default_value = "unspecified")]
        reason: String,
    },
    /// Suspend (certificateHold) or release a certificate.
    Hold {
        /// Serial in hex.
        #[arg(long)]
        serial: String,
        /// Lift the suspension instead.
        #[arg(long)]
        release: bool,
    },
    /// Publish CRLs now: full (with partitions and an empty delta) or delta (of the full CRL
    /// and of every partition).
    Publish {
        /// full or delta.
        #[arg(long, default_value = "full")]
        kind: String,
    },
    /// Change the CA's public URL (the base of the CRL distribution points, the OCSP URL and
    /// the CRLs' issuing distribution points): an audited CA operation. Certificates and CRLs
    /// made afterwards name the new URL; restart the servers to use it.
    SetUrl {
        /// The new base URL, e.g. https://jpki.example.jp
        url: String,
        /// Why the URL changes (recorded with the change).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Register an organisation.
    Create {
        /// The organisation's name as shown to residents (e.g. 千代田区, 協会けんぽ東京支部).
        #[arg(long)]
        name: String,
        /// municipality, insurer, medical_institution, relying_party, employer or operator
        #[arg(long)]
        role: String,
        /// Municipality code, insurer number, facility code or corporate number.
        #[arg(long)]
        code: Option<String>,
    },
    /// List organisations.
    List,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token for an organisation and print it (the only time it is shown).
    Create {
        /// The organisation's id (see `org list`).
        #[arg(long)]
        org: i64,
        /// A label for the token, to tell tokens apart when revoking.
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Create the first operator: an operator organisation (if none) and a token for it.
    Operator {
        /// The operator organisation's name.
        #[arg(long, default_value = "openmyna operator")]
        name: String,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token's id (printed when it was created).
        id: i64,
    },
}

pub fn load_config(g: &Global) -> Result<Config, AppError> {
    let mut c = Config::load(g.config.as_deref(), std::env::vars())?;
    if let Some(u) = &g.database_url {
        c.database.url = u.clone();
    }
    if let Some(d) = &g.data_dir {
        c.data_dir = d.clone();
    }
    c.validate()?;
    Ok(c)
}

pub fn init_tracing(filter: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_owned());
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        // Colour codes only for a person at a terminal, never into files or journals.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

pub async fn run(cli: Cli) -> Result<(), AppError> {
    let mut config = load_config(&cli.global)?;
    init_tracing(&config.log.filter);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve {
            listen,
            demo_persons,
        } => {
            if let Some(l) = listen {
                config.server.listen = l;
            }
            if let Some(p) = demo_persons {
                config.demo.persons = p;
            }
            config.validate()?;
            app::serve(config).await
        }
        Command::Card(cmd) => crate::card_cli::run(cmd, &config, clock).await,
        Command::Rp(cmd) => {
            let url = app::public_url(&config, config.listen_addr()?);
            crate::rp::run(cmd, clock.as_ref(), &url).await
        }
        Command::Terminal(args) => {
            let url = app::public_url(&config, config.listen_addr()?);
            crate::terminal::run(args, &url).await
        }
        Command::Konbini(args) => {
            let url = app::public_url(&config, config.listen_addr()?);
            crate::konbini::run_args(args, &url).await
        }
        Command::Portal(cmd) => {
            let url = app::public_url(&config, config.listen_addr()?);
            crate::portal_cli::run(cmd, &url).await
        }
        Command::Vpcd { card, addr } => {
            tokio::task::spawn_blocking(move || crate::card_cli::vpcd(card, &addr))
                .await
                .map_err(|e| AppError::Invalid(format!("vpcd task: {e}")))?
        }
        Command::Migrate => {
            let store = app::open_store(&config).await?;
            println!("migrations applied ({})", store.backend().as_str());
            store.close().await;
            Ok(())
        }
        Command::Demo {
            persons,
            seed,
            organisations,
        } => {
            let store = app::open_store(&config).await?;
            if organisations {
                let tokens = demo::create_demo_organisations(&store, clock.as_ref()).await?;
                let path = config.data_dir.join("demo-tokens.json");
                demo::write_tokens(&path, &tokens)?;
                println!("demo organisations created; tokens in {}", path.display());
            }
            let bar = indicatif::ProgressBar::new(persons);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {pos}/{len} residents ({per_sec}, eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let report = demo::populate(&store, persons, seed, true, clock.as_ref(), |done| {
                bar.set_position(done)
            })
            .await?;
            bar.finish_and_clear();
            let c = store.counts().await?;
            println!(
                "{} residents inserted ({} skipped as already present) in {:.1} s = {:.0} residents/s on {}; registry now holds {}",
                report.inserted,
                report.skipped,
                report.seconds,
                report.inserted as f64 / report.seconds.max(1e-9),
                store.backend().as_str(),
                c.residents
            );
            store.close().await;
            Ok(())
        }
        Command::Org(cmd) => {
            let store = app::open_store(&config).await?;
            match cmd {
                OrgCommand::Create { name, role, code } => {
                    let o = openmyna_services::admin::create_organisation(
                        &store,
                        clock.as_ref(),
                        &role,
                        &name,
                        code.as_deref(),
                    )
                    .await?;
                    println!("organisation {} created: {} ({})", o.id, o.name, o.role);
                }
                OrgCommand::List => {
                    for o in store.auth().organisations().await? {
                        println!(
                            "{}\t{}\t{}\t{}",
                            o.id,
                            o.role,
                            o.code.unwrap_or_default(),
                            o.name
                        );
                    }
                }
            }
            store.close().await;
            Ok(())
        }
        Command::Token(cmd) => {
            let store = app::open_store(&config).await?;
            let now = clock.now();
            match cmd {
                TokenCommand::Create { org, label } => {
                    let t = store.auth().create_token(org, &label, &now, None).await?;
                    println!("{}", t.token);
                    eprintln!(
                        "token {} for organisation {} ({}); it is not shown again",
                        t.id, t.org_id, t.role
                    );
                }
                TokenCommand::Operator { name } => {
                    let (org, t) =
                        openmyna_services::admin::operator_token(&store, clock.as_ref(), &name)
                            .await?;
                    println!("{}", t.token);
                    eprintln!(
                        "operator token {} for {}; it is not shown again",
                        t.id, org.name
                    );
                }
                TokenCommand::Revoke { id } => {
                    if store.auth().revoke_token(id, &now).await? {
                        println!("token {id} revoked");
                    } else {
                        return Err(AppError::Invalid(format!("no active token with id {id}")));
                    }
                }
            }
            store.close().await;
            Ok(())
        }
        Command::Ca(CaCommand::SetUrl { url, reason }) => {
            let store = app::open_store(&config).await?;
            let actor = format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "?".into())
            );
            openmyna_jpki::Jpki::change_public_url(&store, clock.as_ref(), &url, &actor, &reason)
                .await?;
            println!(
                "the CA's public URL is now {}; restart the servers to use it",
                url.trim_end_matches('/')
            );
            store.close().await;
            Ok(())
        }
        Command::Ca(cmd) => {
            let (store, jpki, _) = app::open_ca(&config, clock.clone()).await?;
            let url = jpki.endpoints().base().to_owned();
            match cmd {
                CaCommand::Init => {
                    for r in openmyna_jpki::RootKind::ALL {
                        println!(
                            "{} root ready ({}): {}/ca/{}.crt, OCSP {}",
                            r.as_str(),
                            jpki.root_key_kind(r)?.as_str(),
                            url,
                            r.as_str(),
                            jpki.endpoints().ocsp(r)
                        );
                    }
                }
                CaCommand::Revoke { serial, reason } => {
                    let reason = openmyna_jpki::Reason::parse(&reason).ok_or_else(|| {
                        AppError::Invalid(format!("{reason:?} is not an RFC 5280 reason"))
                    })?;
                    let c = jpki
                        .change_status(&serial, openmyna_jpki::Action::Revoke(reason))
                        .await?;
                    println!("certificate {} revoked ({})", c.serial, reason.name());
                }
                CaCommand::Hold { serial, release } => {
                    let action = if release {
                        openmyna_jpki::Action::Release
                    } else {
                        openmyna_jpki::Action::Hold
                    };
                    let c = jpki.change_status(&serial, action).await?;
                    println!("certificate {} is now {}", c.serial, c.status.as_str());
                }
                CaCommand::Publish { kind } => {
                    for r in openmyna_jpki::RootKind::ALL {
                        let metas = match kind.as_str() {
                            "full" => jpki.publish_full(r).await?,
                            "delta" => jpki.publish_deltas(r).await?,
                            other => {
                                return Err(AppError::Invalid(format!(
                                    "{other:?} is not a CRL kind; use full or delta"
                                )));
                            }
                        };
                        for m in metas {
                            println!(
                                "{} {} CRL #{}{}: {} entries, {} bytes",
                                r.as_str(),
                                m.scope,
                                m.number,
                                m.partition
                                    .map(|p| format!(" (partition {p})"))
                                    .unwrap_or_default(),
                                m.entries,
                                m.bytes
                            );
                        }
                    }
                }
                CaCommand::SetUrl { .. } => {}
            }
            store.close().await;
            Ok(())
        }
        Command::Config => {
            let mut shown = config.clone();
            if !shown.storage.master_key.is_empty() {
                shown.storage.master_key = "<redacted>".into();
            }
            shown.database.url = openmyna_store::redact_url(&shown.database_url());
            let text = toml::to_string_pretty(&shown)
                .map_err(|e| AppError::Invalid(format!("rendering config: {e}")))?;
            println!("{text}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command says what it does and every option what it takes: `--help` is the
    /// manual.
    #[test]
    fn every_command_and_option_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if cmd.get_about().is_none() && path != "openmyna" {
                missing.push(format!("{path} (command)"));
            }
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sc in cmd.get_subcommands() {
                if sc.get_name() != "help" {
                    walk(sc, &format!("{path} {}", sc.get_name()), missing);
                }
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "openmyna", &mut missing);
        assert!(missing.is_empty(), "without help text: {missing:#?}");
    }
}
