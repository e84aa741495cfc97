//! The relying party's side of the 4-information service: making a consent with the
//! customer's card, and `rp sync` — finding, in the signing root's CRLs, the customers whose
//! signing certificate was revoked.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use openmyna_card::KeyId;
use openmyna_cardio::client::Certificate;
use openmyna_cardio::{JpkiClient, Transport};
use openmyna_core::Timestamp;
use openmyna_fourinfo::{CONSENT_KIND, ConsentDocument, HolderClaim, Item};
use openmyna_jpki::crl_reader::CrlReader;
use openmyna_jpki::{Reason, cms};
use serde::{Deserialize, Serialize};

use crate::app::AppError;

fn invalid(e: impl std::fmt::Display) -> AppError {
    AppError::Invalid(e.to_string())
}

/// What the customer agrees to, before signing.
pub struct ConsentRequest<'a> {
    pub relying_party: i64,
    pub customer_ref: &'a str,
    pub items: Vec<Item>,
    pub purpose: &'a str,
    pub name: &'a str,
    /// YYYY-MM-DD.
    pub birth_date: &'a str,
}

/// Signs a consent with the card's signing key (after the signing password): a CMS
/// SignedData over the consent document, with the signing certificate included.
pub fn sign_consent<T: Transport>(
    card: &mut JpkiClient<T>,
    password: &str,
    req: &ConsentRequest<'_>,
    now: &Timestamp,
) -> Result<Vec<u8>, AppError> {
    let doc = ConsentDocument {
        kind: CONSENT_KIND.into(),
        relying_party: req.relying_party,
        customer_ref: req.customer_ref.into(),
        items: req.items.clone(),
        purpose: req.purpose.into(),
        holder: HolderClaim {
            name: req.name.into(),
            birth_date: req.birth_date.into(),
        },
    };
    let content = doc.to_bytes();
    ConsentDocument::parse(&content).map_err(invalid)?;
    card.verify(openmyna_card::PinId::Sign, password)?;
    let cert = card.read_certificate(Certificate::Sign)?;
    let signed = cms::build(&content, &cert, now, |hash| {
        card.sign_hash(KeyId::Sign, password, hash)
    })?;
    Ok(signed?)
}

/// A customer the relying party follows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Customer {
    pub consent_id: Option<i64>,
    pub customer_ref: String,
    /// Hex serial of the signing certificate followed.
    pub sign_serial: String,
}

/// What `rp sync` remembers between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncState {
    /// The number of the last full CRL read (deltas must name it as their base).
    pub base_crl: Option<u64>,
    /// SHA-256 of the signing root certificate trusted at the first sync; a different root
    /// is refused unless accepted explicitly.
    #[serde(default)]
    pub root_sha256: Option<String>,
    pub last_sync: Option<String>,
}

/// A customer whose followed certificate is on a CRL.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub consent_id: Option<i64>,
    pub customer_ref: String,
    pub sign_serial: String,
    pub reason: &'static str,
    pub revoked_at: String,
}

/// Figures of one sync.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub mode: &'static str,
    pub crl_number: Option<u64>,
    pub crl_bytes: u64,
    pub crl_entries: u64,
    pub customers: usize,
    pub hits: usize,
    pub download_seconds: f64,
    pub scan_seconds: f64,
}

/// The customers as a map from serial to their index (serials of up to 16 bytes as u128);
/// several customers may follow the same certificate (one person, two accounts).
struct Index {
    by_serial: HashMap<u128, u32>,
    long: HashMap<Vec<u8>, u32>,
    /// Further customers on the serial of the first one.
    more: HashMap<u32, Vec<u32>>,
}

fn serial_key(bytes: &[u8]) -> Option<u128> {
    (bytes.len() <= 16).then(|| bytes.iter().fold(0u128, |a, b| (a << 8) | u128::from(*b)))
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    openmyna_jpki::Serial::parse_hex(s)
        .ok()
        .map(|s| s.as_bytes().to_vec())
}

impl Index {
    fn new(customers: &[Customer]) -> Result<Index, AppError> {
        let mut by_serial = HashMap::with_capacity(customers.len());
        let mut long = HashMap::new();
        let mut more: HashMap<u32, Vec<u32>> = HashMap::new();
        for (i, c) in customers.iter().enumerate() {
            let i = i as u32;
            let b = hex_bytes(&c.sign_serial)
                .ok_or_else(|| invalid(format!("{:?} is not a hex serial", c.sign_serial)))?;
            let first = match serial_key(&b) {
                Some(k) => *by_serial.entry(k).or_insert(i),
                None => *long.entry(b).or_insert(i),
            };
            if first != i {
                more.entry(first).or_default().push(i);
            }
        }
        Ok(Index {
            by_serial,
            long,
            more,
        })
    }

    /// Every customer following `serial`.
    fn find(&self, serial: &[u8]) -> Vec<u32> {
        let first = match serial_key(serial) {
            Some(k) => self.by_serial.get(&k).copied(),
            None => self.long.get(serial).copied(),
        };
        match first {
            None => Vec::new(),
            Some(f) => std::iter::once(f)
                .chain(self.more.get(&f).into_iter().flatten().copied())
                .collect(),
        }
    }
}

/// Reads customers from a CSV file `customer_ref,sign_serial` (a header line is skipped).
pub fn read_customers(path: &Path) -> Result<Vec<Customer>, AppError> {
    use std::io::BufRead;
    let f = std::fs::File::open(path)
        .map_err(|e| AppError::io(format!("reading {}", path.display()), e))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| AppError::io("reading customers", e))?;
        let line = line.trim();
        if line.is_empty() || (n == 0 && line.starts_with("customer_ref")) {
            continue;
        }
        let (r, s) = line
            .split_once(',')
            .ok_or_else(|| invalid(format!("line {}: expected customer_ref,sign_serial", n + 1)))?;
        out.push(Customer {
            consent_id: None,
            customer_ref: r.to_owned(),
            sign_serial: s.to_owned(),
        });
    }
    Ok(out)
}

/// The HTTP side of a relying party.
pub struct RpClient {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl RpClient {
    pub fn new(base: &str, token: &str) -> RpClient {
        RpClient {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// The live consents, as customers to follow.
    pub async fn customers(&self) -> Result<Vec<Customer>, AppError> {
        let resp = self
            .http
            .get(format!("{}/api/v1/fourinfo/consents", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(invalid)?;
        if !resp.status().is_success() {
            return Err(invalid(format!(
                "listing consents: HTTP {}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            )));
        }
        let list: Vec<openmyna_api::fourinfo::ConsentView> = resp.json().await.map_err(invalid)?;
        Ok(list
            .into_iter()
            .map(|v| Customer {
                consent_id: Some(v.id),
                customer_ref: v.customer_ref,
                sign_serial: v.sign_serial,
            })
            .collect())
    }

    async fn download(&self, path: &str, to: &Path) -> Result<u64, AppError> {
        let mut resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(invalid)?;
        if !resp.status().is_success() {
            return Err(invalid(format!("GET {path}: HTTP {}", resp.status())));
        }
        let mut f =
            std::fs::File::create(to).map_err(|e| AppError::io("creating a temporary file", e))?;
        let mut n = 0u64;
        while let Some(chunk) = resp.chunk().await.map_err(invalid)? {
            f.write_all(&chunk)
                .map_err(|e| AppError::io("writing the CRL", e))?;
            n += chunk.len() as u64;
        }
        Ok(n)
    }
}

/// Downloads the signing root's full CRL (or only its delta when `state` has the base it
/// refers to), checks its signature against the root, and reports the customers whose
/// followed certificate is on it (suspensions — certificateHold — are not changes of the 4
/// information and are left out).
pub async fn sync(
    client: &RpClient,
    customers: &[Customer],
    state: &mut SyncState,
    work_dir: &Path,
    force_full: bool,
    accept_new_root: bool,
) -> Result<(Vec<Hit>, SyncReport), AppError> {
    let index = Index::new(customers)?;
    let (root_spki, root_subject) = {
        let resp = client
            .http
            .get(format!("{}/ca/sign.crt", client.base))
            .send()
            .await
            .map_err(invalid)?;
        if !resp.status().is_success() {
            return Err(invalid(format!("GET /ca/sign.crt: HTTP {}", resp.status())));
        }
        let der = resp.bytes().await.map_err(invalid)?;
        let fingerprint = openmyna_store::crypto::sha256_hex(&der);
        match &state.root_sha256 {
            Some(pinned) if *pinned != fingerprint && !accept_new_root => {
                return Err(invalid(format!(
                    "the signing root changed (pinned SHA-256 {pinned}, now {fingerprint}); \
                     check it out of band and run again with --accept-new-root"
                )));
            }
            _ => state.root_sha256 = Some(fingerprint),
        }
        let cert = openmyna_jpki::profile::parse_certificate(&der)?;
        (
            der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info).map_err(invalid)?,
            der::Encode::to_der(&cert.tbs_certificate.subject).map_err(invalid)?,
        )
    };
    let delta = state.base_crl.is_some() && !force_full;
    let tmp: PathBuf = work_dir.join(format!(".rp-sync-{}.crl", std::process::id()));
    let t0 = Instant::now();
    let path = if delta {
        "/crl/sign/delta.crl"
    } else {
        "/crl/sign/full.crl"
    };
    let bytes = client.download(path, &tmp).await?;
    let download_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let scanned = tokio::task::spawn_blocking({
        let tmp = tmp.clone();
        move || -> Result<_, AppError> {
            let f = std::fs::File::open(&tmp).map_err(|e| AppError::io("reading the CRL", e))?;
            let mut r = CrlReader::open(BufReader::with_capacity(1 << 20, f))?;
            let mut found = Vec::new();
            while let Some(e) = r.next_entry()? {
                for i in index.find(&e.serial) {
                    found.push((i, e.reason, e.revoked_at));
                }
            }
            let header = r.header.clone();
            let trailer = r.finish(&root_spki)?;
            Ok((found, header, trailer))
        }
    })
    .await
    .map_err(invalid)?;
    let _ = std::fs::remove_file(&tmp);
    let (found, header, trailer) = scanned?;
    if header.issuer_der != root_subject {
        return Err(invalid("the CRL was not issued by the signing root"));
    }
    if trailer.unknown_critical {
        return Err(invalid(
            "the CRL has a critical extension this client does not know",
        ));
    }
    if trailer.partitioned {
        return Err(invalid(
            "a partitioned CRL was served where the full or delta CRL was asked",
        ));
    }
    if header
        .next_update
        .is_some_and(|n| n < openmyna_core::Clock::now(&openmyna_core::SystemClock))
    {
        return Err(invalid("the CRL is out of date (nextUpdate has passed)"));
    }
    if delta && trailer.delta_base != state.base_crl {
        // A newer full CRL was published since: read it instead.
        return Box::pin(sync(
            client,
            customers,
            state,
            work_dir,
            true,
            accept_new_root,
        ))
        .await;
    }
    if !delta {
        if trailer.delta_base.is_some() {
            return Err(invalid(
                "a delta CRL was served where the full CRL was asked",
            ));
        }
        if let (Some(n), Some(base)) = (trailer.number, state.base_crl)
            && n < base
        {
            return Err(invalid(format!(
                "the full CRL #{n} is older than #{base} read before (a replay?)"
            )));
        }
    }
    if !delta {
        state.base_crl = trailer.number;
    }
    state.last_sync = Some(openmyna_core::Clock::now(&openmyna_core::SystemClock).to_rfc3339());
    let hits: Vec<Hit> = found
        .into_iter()
        .filter(|(_, reason, _)| !matches!(reason, Reason::CertificateHold | Reason::RemoveFromCrl))
        .filter_map(|(i, reason, at)| {
            // `found` holds indices into `customers`, from the same list.
            let c = customers.get(usize::try_from(i).ok()?)?;
            Some(Hit {
                consent_id: c.consent_id,
                customer_ref: c.customer_ref.clone(),
                sign_serial: c.sign_serial.clone(),
                reason: reason.name(),
                revoked_at: at.to_rfc3339(),
            })
        })
        .collect();
    let report = SyncReport {
        mode: if delta { "delta" } else { "full" },
        crl_number: trailer.number,
        crl_bytes: bytes,
        crl_entries: trailer.entries,
        customers: customers.len(),
        hits: hits.len(),
        download_seconds,
        scan_seconds: t1.elapsed().as_secs_f64(),
    };
    Ok((hits, report))
}

/// `openmyna rp …`.
#[derive(clap::Subcommand)]
pub enum RpCommand {
    /// The customer's side: sign a 4-information consent with the card (after the signing
    /// password) and write the CMS SignedData (DER).
    Consent {
        #[command(flatten)]
        target: crate::card_cli::Target,
        /// The signing password (`-` reads it from standard input).
        #[arg(long)]
        password: String,
        /// The relying party's organisation id.
        #[arg(long)]
        relying_party: i64,
        /// The relying party's reference for this customer (its account number, say).
        #[arg(long)]
        customer_ref: String,
        /// Comma-separated: name,address,birth_date,sex.
        #[arg(long, default_value = "name,address,birth_date,sex")]
        items: String,
        /// Why the relying party asks, as the customer consents to it.
        #[arg(long, default_value = "keeping your registered details up to date")]
        purpose: String,
        /// The customer's name as declared to the relying party.
        #[arg(long)]
        name: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        birth_date: String,
        /// Where to write the signed consent (CMS, DER).
        #[arg(long)]
        out: PathBuf,
    },
    /// A demo bank: a web page where a customer opens an account with the card (OpenID
    /// Connect login, a signature over the application with the signing key, the
    /// verification platform's check). Serves on a loopback address.
    Bank {
        /// Where the bank serves (loopback).
        #[arg(long, default_value = "127.0.0.1:8092")]
        listen: String,
        /// The openmyna server; default: the configured public URL.
        #[arg(long)]
        url: Option<String>,
        /// The relying party's API token.
        #[arg(long)]
        token: String,
        /// The bank's state file: its client and its accounts (mode 0600).
        #[arg(long, default_value = "demo-bank.json")]
        state: PathBuf,
    },
    /// The relying party's side: download the signing root's CRL (full, then deltas), check
    /// its signature, and print (JSON lines) the customers whose signing certificate was
    /// revoked; figures go to standard error.
    Sync {
        /// The openmyna server; default: the configured public URL (server.public_url, else http://<server.listen>).
        #[arg(long)]
        url: Option<String>,
        /// The relying party's API token (needed unless --customers is given).
        #[arg(long, default_value = "")]
        token: String,
        /// Where to keep the sync state (the base CRL number).
        #[arg(long, default_value = "rp-sync-state.json")]
        state: PathBuf,
        /// Follow these customers (CSV customer_ref,sign_serial) instead of the server's list
        /// of live consents.
        #[arg(long)]
        customers: Option<PathBuf>,
        /// Read the full CRL even when a delta would do.
        #[arg(long)]
        full: bool,
        /// Trust a signing root other than the one pinned at the first sync.
        #[arg(long)]
        accept_new_root: bool,
    },
}

pub async fn run(
    cmd: RpCommand,
    clock: &dyn openmyna_core::Clock,
    default_url: &str,
) -> Result<(), AppError> {
    match cmd {
        RpCommand::Consent {
            target,
            password,
            relying_party,
            customer_ref,
            items,
            purpose,
            name,
            birth_date,
            out,
        } => {
            let items = Item::split(&items).map_err(invalid)?.into_iter().collect();
            let password = crate::card_cli::secret(password)?;
            let mut card = crate::card_cli::connect(&target)?;
            let der = sign_consent(
                &mut card,
                &password,
                &ConsentRequest {
                    relying_party,
                    customer_ref: &customer_ref,
                    items,
                    purpose: &purpose,
                    name: &name,
                    birth_date: &birth_date,
                },
                &clock.now(),
            )?;
            std::fs::write(&out, &der)
                .map_err(|e| AppError::io(format!("writing {}", out.display()), e))?;
            println!(
                "consent signed ({} bytes) written to {}",
                der.len(),
                out.display()
            );
            Ok(())
        }
        RpCommand::Bank {
            listen,
            url,
            token,
            state,
        } => {
            let server = url.unwrap_or_else(|| default_url.to_owned());
            crate::bank::run(
                &listen,
                crate::bank::BankConfig {
                    server,
                    token,
                    state,
                    clock: std::sync::Arc::new(openmyna_core::SystemClock),
                },
            )
            .await
        }
        RpCommand::Sync {
            url,
            token,
            state,
            customers,
            full,
            accept_new_root,
        } => {
            let url = url.unwrap_or_else(|| default_url.to_owned());
            let client = RpClient::new(&url, &token);
            let list = match customers {
                Some(p) => read_customers(&p)?,
                None => client.customers().await?,
            };
            let mut st: SyncState = match std::fs::read(&state) {
                Ok(b) => serde_json::from_slice(&b).map_err(invalid)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => SyncState::default(),
                Err(e) => return Err(AppError::io(format!("reading {}", state.display()), e)),
            };
            let dir = state
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            let (hits, report) = sync(&client, &list, &mut st, &dir, full, accept_new_root).await?;
            let mut stdout = std::io::stdout().lock();
            for h in &hits {
                let line = serde_json::to_string(h).map_err(invalid)?;
                writeln!(stdout, "{line}").map_err(|e| AppError::io("writing", e))?;
            }
            std::fs::write(&state, serde_json::to_vec_pretty(&st).map_err(invalid)?)
                .map_err(|e| AppError::io(format!("writing {}", state.display()), e))?;
            eprintln!("{}", serde_json::to_string(&report).map_err(invalid)?);
            Ok(())
        }
    }
}
