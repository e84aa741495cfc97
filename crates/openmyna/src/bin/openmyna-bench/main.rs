//! `openmyna-bench`: the benchmarks, a binary of their own beside `openmyna` (which it runs:
//! `openmyna serve`, `openmyna rp sync`), so that the shipped server carries none of their
//! code. Each prints our figure, a peer's from the same run on the same machine, and the
//! ratio; see docs/BENCHMARKS.md.
//!
//! `cargo build --release -p openmyna --features bench` builds both; run
//! `target/release/openmyna-bench …`.

// A measuring tool over its own fixtures, not a way in for input: it indexes its tables.
#![allow(clippy::indexing_slicing)]

mod bench;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use openmyna::app::AppError;
use openmyna::cli::{Global, init_tracing, load_config};

// The same allocator as the server, so that the load clients in this process behave alike.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmarks against peers on this machine (prints figures and ratios).
#[derive(Parser)]
#[command(name = "openmyna-bench", version)]
struct Cli {
    /// Data directory (only for the internal crl-generate step).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The relying party's change detection: `rp sync` of many customers against a full CRL
    /// of many entries (time and peak memory of the client).
    RpSync {
        /// Revoked entries in the CRL.
        #[arg(long, default_value_t = 10_000_000)]
        entries: u64,
        /// Customers the relying party follows.
        #[arg(long, default_value_t = 1_000_000)]
        customers: u64,
        /// How many of them are on the CRL.
        #[arg(long, default_value_t = 10_000)]
        revoked_customers: u64,
    },
    /// Full-CRL generation against `openssl ca -gencrl` and `cfssl gencrl`.
    Crl {
        /// Numbers of revoked entries, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
        entries: Vec<u64>,
        /// Run the peers only up to this many entries (ours alone above).
        #[arg(long, default_value_t = 1_000_000)]
        peer_max: u64,
    },
    /// OCSP throughput and p99 latency against `cfssl ocspserve` and `openssl ocsp -port`.
    Ocsp {
        #[arg(long, default_value_t = 1000)]
        certs: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        #[arg(long, default_value_t = 64)]
        connections: u32,
        /// Rounds alternating between us and the peers; each figure is the median.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        /// openmyna servers on one database, loaded at once after the comparison (above 1
        /// needs --postgres).
        #[arg(long, default_value_t = 1)]
        nodes: u32,
        /// Run on PostgreSQL (a server URL; the bench creates and drops its own database).
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Online eligibility verification end to end over HTTP (challenge, card signature,
    /// verification), with a population of enrolled residents, on SQLite or PostgreSQL.
    Eligibility {
        /// Enrolled residents.
        #[arg(long, default_value_t = 1_000_000)]
        residents: u64,
        /// Distinct patients verified once each (cold caches).
        #[arg(long, default_value_t = 20_000)]
        patients: usize,
        /// Cards used by the terminals for the repeated (warm) run.
        #[arg(long, default_value_t = 64)]
        cards: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u32,
        /// Concurrent terminals.
        #[arg(long, default_value_t = 32)]
        concurrency: u32,
        /// Run on PostgreSQL (a server URL; the bench creates and drops its own database).
        #[arg(long)]
        postgres: Option<String>,
    },
    /// (internal) Generate the signing root's full CRL in the configured data directory.
    /// The soak: a bounded mixed load (eligibility checks, OCSP with and without nonce,
    /// portal logins) for several minutes, with the server's memory, file descriptors,
    /// threads, runtime tasks and database connections sampled every 10 s.
    Soak {
        #[arg(long, default_value_t = 300)]
        seconds: u32,
        #[arg(long, default_value_t = 10_000)]
        residents: u64,
        #[arg(long)]
        postgres: Option<String>,
    },
    #[command(hide = true)]
    CrlGenerate,
}

/// The `openmyna` binary beside this one.
fn openmyna_exe(bench_exe: &Path) -> Result<PathBuf, AppError> {
    let exe = bench_exe.with_file_name("openmyna");
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(AppError::Invalid(format!(
            "{} is missing: build it first (cargo build --release -p openmyna)",
            exe.display()
        )))
    }
}

async fn run(cli: Cli) -> Result<(), AppError> {
    let config = load_config(&Global {
        config: None,
        database_url: None,
        data_dir: cli.data_dir,
    })?;
    init_tracing(&config.log.filter);
    let this = std::env::current_exe().map_err(|e| AppError::io("locating this binary", e))?;
    match cli.command {
        BenchCommand::Crl { entries, peer_max } => bench::crl(&entries, peer_max, &this).await,
        BenchCommand::CrlGenerate => bench::crl_generate(&config).await,
        BenchCommand::RpSync {
            entries,
            customers,
            revoked_customers,
        } => bench::rp_sync(entries, customers, revoked_customers, &openmyna_exe(&this)?).await,
        BenchCommand::Ocsp {
            certs,
            seconds,
            connections,
            rounds,
            nodes,
            postgres,
        } => {
            let b = bench::OcspBench {
                certs,
                seconds,
                connections,
                rounds,
                nodes,
                postgres,
            };
            bench::ocsp(b, &openmyna_exe(&this)?).await
        }
        BenchCommand::Eligibility {
            residents,
            patients,
            cards,
            seconds,
            concurrency,
            postgres,
        } => {
            bench::eligibility(
                bench::EligibilityBench {
                    residents,
                    patients,
                    cards,
                    seconds,
                    concurrency,
                    postgres,
                    soak: false,
                },
                &openmyna_exe(&this)?,
            )
            .await
        }
        BenchCommand::Soak {
            seconds,
            residents,
            postgres,
        } => {
            bench::eligibility(
                bench::EligibilityBench {
                    residents,
                    patients: 200,
                    cards: 16,
                    seconds,
                    concurrency: 8,
                    postgres,
                    soak: true,
                },
                &openmyna_exe(&this)?,
            )
            .await
        }
    }
}

fn main() -> ExitCode {
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
