//! `openmyna-bench`: benchmarks that print our figure, a peer's figure from the same run on
//! the same machine, and the ratio. Peers come from Debian: `openssl` (`openssl ca -gencrl`,
//! `openssl ocsp -port`), `golang-cfssl` (`cfssl gencrl`, `cfssl ocspserve`) and `wrk` for HTTP
//! load. Timing and peak memory of child processes come from GNU time (`/usr/bin/time`).
//! Nothing here runs in the test suite, and nothing asserts a timing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::Duration;
use openmyna_core::{Clock, Entropy, OsEntropy, SeededEntropy, SystemClock};
use openmyna_jpki::crl::entry_der;
use openmyna_jpki::{Reason, RootKind, Serial};

use openmyna::app::{self, AppError};
use openmyna::config::Config;

fn tool(name: &str) -> Result<(), AppError> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if found {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "{name} is needed for this benchmark (Debian: apt-get install openssl golang-cfssl wrk time)"
        )))
    }
}

/// Runs a command under GNU time; returns (seconds, peak RSS in MiB, stdout).
fn timed(cmd: &mut Command) -> Result<(f64, f64, Vec<u8>), AppError> {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut t = Command::new("/usr/bin/time");
    t.arg("-f")
        .arg("OPENMYNA_TIME %e %M")
        .arg(program)
        .args(args);
    if let Some(dir) = cmd.get_current_dir() {
        t.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => t.env(k, v),
            None => t.env_remove(k),
        };
    }
    let out = t
        .output()
        .map_err(|e| AppError::io("running /usr/bin/time (Debian package time)", e))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("OPENMYNA_TIME "))
        .ok_or_else(|| AppError::Invalid(format!("no timing from the child: {stderr}")))?;
    let mut parts = line.split_whitespace().skip(1);
    let secs: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let kb: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    if !out.status.success() {
        return Err(AppError::Invalid(format!("child failed: {stderr}")));
    }
    Ok((secs, kb / 1024.0, out.stdout))
}

fn run(cmd: &mut Command, what: &str) -> Result<(), AppError> {
    let out = cmd.output().map_err(|e| AppError::io(what.to_owned(), e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

fn bench_config(dir: &Path) -> Config {
    let mut c = Config {
        data_dir: dir.join("data"),
        ..Config::default()
    };
    c.demo.persons = 0;
    c.server.listen = "127.0.0.1:0".into();
    c
}

/// One row of a result table.
pub struct Row {
    pub what: String,
    pub ours: String,
    pub peer: String,
    pub ratio: String,
}

pub fn print_table(title: &str, rows: &[Row]) {
    println!("\n{title}");
    println!("| measure | openmyna | peer | ratio |");
    println!("|---|---|---|---|");
    for r in rows {
        println!("| {} | {} | {} | {} |", r.what, r.ours, r.peer, r.ratio);
    }
}

/// `bench crl`: full-CRL generation with `entries` revoked certificates, ours against
/// `openssl ca -gencrl` and `cfssl gencrl` (peers skipped above `peer_max` entries).
pub async fn crl(entries: &[u64], peer_max: u64, self_exe: &Path) -> Result<(), AppError> {
    tool("openssl")?;
    tool("cfssl")?;
    let mut rows = Vec::new();
    for &n in entries {
        let dir = tempfile_dir()?;
        let config = bench_config(&dir);
        let store = app::open_store(&config).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let jpki = app::open_jpki(
            &config,
            &store,
            "http://127.0.0.1:8080",
            clock.clone(),
            Arc::new(OsEntropy),
        )
        .await?;
        drop(jpki);
        eprintln!("bench crl: loading {n} revoked entries…");
        let e = SeededEntropy::new(n);
        let now = clock.now();
        let with_peers = n <= peer_max;
        let mut index = String::new();
        let mut serials = String::new();
        let expiry = (now + Duration::days(365))
            .format("%y%m%d%H%M%SZ")
            .to_string();
        let revoked_at = now
            .with_timezone(&chrono::Utc)
            .format("%y%m%d%H%M%SZ")
            .to_string();
        let mut batch = Vec::with_capacity(50_000);
        for i in 0..n {
            let s = Serial::generate(&e);
            let der = entry_der(&s, &now, Reason::KeyCompromise)?;
            if with_peers {
                index.push_str(&format!(
                    "R\t{expiry}\t{revoked_at},keyCompromise\t{}\tunknown\t/CN=bench{i}\n",
                    s.to_hex()
                ));
                serials.push_str(&decimal(s.as_bytes()));
                serials.push('\n');
            }
            batch.push((s.to_hex(), 0i64, i as i64 + 1, der));
            if batch.len() == 50_000 {
                store
                    .ca()
                    .load_revoked_entries(RootKind::Sign, &batch)
                    .await?;
                batch.clear();
            }
        }
        store
            .ca()
            .load_revoked_entries(RootKind::Sign, &batch)
            .await?;
        store.close().await;

        eprintln!("bench crl: generating ours…");
        let (secs, rss, out) = timed(
            Command::new(self_exe)
                .arg("--data-dir")
                .arg(&config.data_dir)
                .arg("crl-generate"),
        )?;
        let bytes: u64 = String::from_utf8_lossy(&out).trim().parse().unwrap_or(0);
        rows.push(Row {
            what: format!("{n} entries: time"),
            ours: format!("{secs:.2} s"),
            peer: String::new(),
            ratio: String::new(),
        });
        let ours_time = secs;
        let ours_rss = rss;
        let ours_bytes = bytes;
        if with_peers {
            eprintln!("bench crl: openssl ca -gencrl…");
            let (o_secs, o_rss, o_bytes) = openssl_gencrl(&dir, &index)?;
            eprintln!("bench crl: cfssl gencrl…");
            let (c_secs, c_rss, c_bytes) = cfssl_gencrl(&dir, &serials)?;
            rows.pop();
            rows.push(Row {
                what: format!("{n} entries: time vs openssl ca -gencrl"),
                ours: format!("{ours_time:.2} s"),
                peer: format!("{o_secs:.2} s"),
                ratio: format!("{:.1}× faster", o_secs / ours_time.max(0.001)),
            });
            rows.push(Row {
                what: format!("{n} entries: peak RSS vs openssl ca -gencrl"),
                ours: format!("{ours_rss:.0} MiB"),
                peer: format!("{o_rss:.0} MiB"),
                ratio: format!("{:.2}×", ours_rss / o_rss.max(0.001)),
            });
            rows.push(Row {
                what: format!("{n} entries: time vs cfssl gencrl"),
                ours: format!("{ours_time:.2} s"),
                peer: format!("{c_secs:.2} s"),
                ratio: format!("{:.1}× faster", c_secs / ours_time.max(0.001)),
            });
            rows.push(Row {
                what: format!("{n} entries: peak RSS vs cfssl gencrl"),
                ours: format!("{ours_rss:.0} MiB"),
                peer: format!("{c_rss:.0} MiB"),
                ratio: format!("{:.2}×", ours_rss / c_rss.max(0.001)),
            });
            rows.push(Row {
                what: format!("{n} entries: DER bytes (openssl / cfssl)"),
                ours: format!("{ours_bytes}"),
                peer: format!("{o_bytes} / {c_bytes}"),
                ratio: String::new(),
            });
        } else {
            rows.push(Row {
                what: format!("{n} entries: peak RSS"),
                ours: format!("{ours_rss:.0} MiB"),
                peer: "(not run)".into(),
                ratio: String::new(),
            });
            rows.push(Row {
                what: format!("{n} entries: DER bytes"),
                ours: format!("{ours_bytes}"),
                peer: String::new(),
                ratio: String::new(),
            });
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    print_table(
        "Full CRL generation (RSA-2048 / SHA-256 signature; same number of revoked entries)",
        &rows,
    );
    Ok(())
}

/// `rp sync` at scale: a full CRL of `entries` revoked certificates served by openmyna, and a
/// relying-party client following `customers` customers of whom `revoked` are on the CRL.
/// The client runs as a child under /usr/bin/time for its wall time and peak RSS.
pub async fn rp_sync(
    entries: u64,
    customers: u64,
    revoked: u64,
    self_exe: &Path,
) -> Result<(), AppError> {
    use std::io::Write as _;
    if revoked > entries.min(customers) {
        return Err(AppError::Invalid(
            "--revoked-customers cannot exceed --entries or --customers".into(),
        ));
    }
    let dir = tempfile_dir()?;
    let config = bench_config(&dir);
    let store = app::open_store(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let jpki = app::open_jpki(
        &config,
        &store,
        "http://127.0.0.1:8080",
        clock.clone(),
        Arc::new(OsEntropy),
    )
    .await?;
    eprintln!("bench rp-sync: loading {entries} revoked entries…");
    let e = SeededEntropy::new(entries ^ 0x5eed);
    let now = clock.now();
    let every = (entries / revoked.max(1)).max(1);
    let csv_path = dir.join("customers.csv");
    let mut csv = std::io::BufWriter::new(
        std::fs::File::create(&csv_path)
            .map_err(|err| AppError::io("creating customers.csv", err))?,
    );
    let w = |csv: &mut std::io::BufWriter<std::fs::File>, r: u64, s: &Serial| {
        writeln!(csv, "CUST-{r:08},{}", s.to_hex())
            .map_err(|err| AppError::io("writing customers", err))
    };
    writeln!(csv, "customer_ref,sign_serial")
        .map_err(|err| AppError::io("writing customers", err))?;
    let mut written = 0u64;
    let mut expected_hits = 0usize;
    let mut batch = Vec::with_capacity(50_000);
    for i in 0..entries {
        let s = Serial::generate(&e);
        // One entry in seven is a suspension (certificateHold), which rp sync leaves out.
        let reason = if i % 7 == 3 {
            Reason::CertificateHold
        } else {
            Reason::AffiliationChanged
        };
        if i % every == 0 && written < revoked {
            w(&mut csv, written, &s)?;
            written += 1;
            if reason != Reason::CertificateHold {
                expected_hits += 1;
            }
        }
        let der = entry_der(&s, &now, reason)?;
        batch.push((s.to_hex(), 0i64, i as i64 + 1, der));
        if batch.len() == 50_000 {
            store
                .ca()
                .load_revoked_entries(RootKind::Sign, &batch)
                .await?;
            batch.clear();
        }
    }
    store
        .ca()
        .load_revoked_entries(RootKind::Sign, &batch)
        .await?;
    for r in written..customers {
        w(&mut csv, r, &Serial::generate(&e))?;
    }
    csv.flush()
        .map_err(|err| AppError::io("writing customers", err))?;
    drop(csv);
    eprintln!("bench rp-sync: publishing the full CRL…");
    let t = std::time::Instant::now();
    let metas = jpki.publish_full(RootKind::Sign).await?;
    let publish_secs = t.elapsed().as_secs_f64();
    let crl_bytes = metas
        .iter()
        .find(|m| m.scope == "full")
        .map(|m| m.bytes)
        .unwrap_or(0);
    drop(jpki);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| AppError::io("binding", err))?;
    let server = app::start(&config, store.clone(), listener, clock, Arc::new(OsEntropy)).await?;
    eprintln!("bench rp-sync: rp sync of {customers} customers…");
    let state = dir.join("rp-state.json");
    let (secs, rss, out) = timed(
        Command::new(self_exe)
            .args([
                "rp",
                "sync",
                "--full",
                "--url",
                &server.url(),
                "--customers",
            ])
            .arg(&csv_path)
            .arg("--state")
            .arg(&state),
    )?;
    server.stop().await?;
    store.close().await;
    let found = String::from_utf8_lossy(&out).lines().count();
    let rows = vec![
        Row {
            what: format!(
                "CRL: {entries} entries, {} MB; published in",
                crl_bytes / 1_000_000
            ),
            ours: format!("{publish_secs:.2} s"),
            peer: String::new(),
            ratio: String::new(),
        },
        Row {
            what: format!("rp sync: {customers} customers, download + verify + scan"),
            ours: format!("{secs:.2} s"),
            peer: String::new(),
            ratio: String::new(),
        },
        Row {
            what: "rp sync: peak RSS".into(),
            ours: format!("{rss:.0} MiB"),
            peer: String::new(),
            ratio: String::new(),
        },
        Row {
            what: "customers found revoked (suspensions left out) / expected".into(),
            ours: format!("{found} / {expected_hits}"),
            peer: String::new(),
            ratio: String::new(),
        },
    ];
    print_table(
        "rp sync: change detection by CRL (RSA-2048 signing root)",
        &rows,
    );
    let _ = std::fs::remove_dir_all(&dir);
    if found != expected_hits {
        return Err(AppError::Invalid(format!(
            "rp sync found {found} customers, expected {expected_hits}"
        )));
    }
    Ok(())
}

/// The child of `bench crl`: publishes the full CRL of the signing root and prints its size.
pub async fn crl_generate(config: &Config) -> Result<(), AppError> {
    let store = app::open_store(config).await?;
    let jpki = app::open_jpki(
        config,
        &store,
        "http://127.0.0.1:8080",
        Arc::new(SystemClock),
        Arc::new(OsEntropy),
    )
    .await?;
    let metas = jpki.publish_full(RootKind::Sign).await?;
    let full = metas
        .iter()
        .find(|m| m.scope == "full")
        .ok_or_else(|| AppError::Invalid("no full CRL".into()))?;
    println!("{}", full.bytes);
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf, AppError> {
    let mut b = [0u8; 8];
    OsEntropy.fill(&mut b);
    let dir = std::env::temp_dir().join(format!(
        "openmyna-bench-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| AppError::io("creating a bench directory", e))?;
    Ok(dir)
}

/// Big-endian bytes to decimal.
fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0];
    for &b in bytes {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

fn throwaway_ca(dir: &Path) -> Result<(PathBuf, PathBuf), AppError> {
    let key = dir.join("peer-ca.key");
    let cert = dir.join("peer-ca.pem");
    if !cert.exists() {
        run(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-sha256",
                    "-days",
                    "3650",
                    "-subj",
                    "/C=JP/O=JPKI/OU=bench peer CA",
                    "-keyout",
                ])
                .arg(&key)
                .arg("-out")
                .arg(&cert),
            "openssl req (peer CA)",
        )?;
    }
    Ok((key, cert))
}

fn openssl_gencrl(dir: &Path, index: &str) -> Result<(f64, f64, u64), AppError> {
    let (key, cert) = throwaway_ca(dir)?;
    let w = |name: &str, s: &str| {
        std::fs::write(dir.join(name), s).map_err(|e| AppError::io(format!("writing {name}"), e))
    };
    w("index.txt", index)?;
    w("index.txt.attr", "unique_subject = no\n")?;
    w("crlnumber", "01\n")?;
    w(
        "ca.cnf",
        &format!(
            "[ ca ]\ndefault_ca = bench\n[ bench ]\ndir = {}\ndatabase = $dir/index.txt\n\
             crlnumber = $dir/crlnumber\ndefault_md = sha256\ndefault_crl_days = 1\n\
             unique_subject = no\ncertificate = {}\nprivate_key = {}\n",
            dir.display(),
            cert.display(),
            key.display()
        ),
    )?;
    let out = dir.join("openssl.crl");
    let (secs, rss, _) = timed(
        Command::new("openssl")
            .args(["ca", "-gencrl", "-config"])
            .arg(dir.join("ca.cnf"))
            .arg("-out")
            .arg(&out),
    )?;
    let der = dir.join("openssl.der");
    run(
        Command::new("openssl")
            .args(["crl", "-in"])
            .arg(&out)
            .args(["-outform", "DER", "-out"])
            .arg(&der),
        "openssl crl (to DER)",
    )?;
    let bytes = std::fs::metadata(&der).map(|m| m.len()).unwrap_or(0);
    Ok((secs, rss, bytes))
}

fn cfssl_gencrl(dir: &Path, serials: &str) -> Result<(f64, f64, u64), AppError> {
    let (key, cert) = throwaway_ca(dir)?;
    let list = dir.join("serials.txt");
    std::fs::write(&list, serials).map_err(|e| AppError::io("writing serials", e))?;
    let (secs, rss, out) = timed(
        Command::new("cfssl")
            .arg("gencrl")
            .arg(&list)
            .arg(&cert)
            .arg(&key),
    )?;
    // cfssl prints the DER CRL in base64.
    let b64 = String::from_utf8_lossy(&out).trim().len() as u64;
    Ok((secs, rss, b64 * 3 / 4))
}

/// The SHA-1 CertID hashes of a root certificate (issuer name, issuer key), as OpenSSL's
/// client uses by default.
fn issuer_hashes(root_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), AppError> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(root_der)
        .map_err(|e| AppError::Invalid(format!("root certificate: {e}")))?;
    let name = cert
        .tbs_certificate
        .subject
        .to_der()
        .map_err(|e| AppError::Invalid(format!("root name: {e}")))?;
    let key = cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let h = |d: &[u8]| {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, d)
            .as_ref()
            .to_vec()
    };
    Ok((h(&name), h(&key)))
}

/// A DER OCSPRequest for one serial, with a 16-octet nonce if asked.
fn ocsp_request(
    hashes: &(Vec<u8>, Vec<u8>),
    serial: &Serial,
    nonce: Option<[u8; 16]>,
) -> Result<Vec<u8>, AppError> {
    use der::Encode;
    use der::asn1::{Null, OctetString};
    let bad = |e: der::Error| AppError::Invalid(format!("encoding a request: {e}"));
    let id = x509_ocsp::CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: openmyna_jpki::oid::SHA1,
            parameters: Some(Null.into()),
        },
        issuer_name_hash: OctetString::new(hashes.0.clone()).map_err(bad)?,
        issuer_key_hash: OctetString::new(hashes.1.clone()).map_err(bad)?,
        serial_number: x509_cert::serial_number::SerialNumber::new(serial.as_bytes())
            .map_err(bad)?,
    };
    let extensions = match nonce {
        Some(n) => Some(vec![x509_cert::ext::Extension {
            extn_id: openmyna_jpki::oid::OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(
                OctetString::new(n.to_vec())
                    .map_err(bad)?
                    .to_der()
                    .map_err(bad)?,
            )
            .map_err(bad)?,
        }]),
        None => None,
    };
    x509_ocsp::OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: id,
                single_request_extensions: None,
            }],
            request_extensions: extensions,
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(bad)
}

fn lua_script(bodies: &[Vec<u8>]) -> String {
    let mut s = String::from("local bodies = {\n");
    for b in bodies {
        s.push('"');
        for byte in b {
            s.push_str(&format!("\\{byte:03}"));
        }
        s.push_str("\",\n");
    }
    // The requests are formatted once, in init(), as wrk's SCRIPTING notes advise for fast
    // servers: formatting one per request costs the load generator, which shares the cores.
    s.push_str(
        "}\nlocal requests = {}\ninit = function(args)\n  for j, b in ipairs(bodies) do\n    \
         requests[j] = wrk.format(\"POST\", nil, {[\"Content-Type\"] = \"application/ocsp-request\"}, b)\n  \
         end\nend\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return requests[(i % #requests) + 1]\nend\n",
    );
    s
}

/// Requests/s and p99 latency (ms) from wrk's output.
fn parse_wrk(out: &str) -> (f64, f64, u64) {
    let mut rps = 0.0;
    let mut p99 = 0.0;
    let mut errors = 0;
    for line in out.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            rps = v.trim().parse().unwrap_or(0.0);
        }
        if let Some(v) = t.strip_prefix("99%") {
            let v = v.trim();
            p99 = if let Some(ms) = v.strip_suffix("ms") {
                ms.parse().unwrap_or(0.0)
            } else if let Some(us) = v.strip_suffix("us") {
                us.parse::<f64>().unwrap_or(0.0) / 1000.0
            } else if let Some(s) = v.strip_suffix('s') {
                s.parse::<f64>().unwrap_or(0.0) * 1000.0
            } else {
                0.0
            };
        }
        if t.starts_with("Non-2xx or 3xx responses:") || t.starts_with("Socket errors:") {
            errors += t
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    (rps, p99, errors)
}

fn wrk(
    url: &str,
    script: &Path,
    connections: u32,
    seconds: u32,
) -> Result<(f64, f64, u64), AppError> {
    let out = Command::new("timeout")
        .arg(format!("{}", seconds + 30))
        .arg("wrk")
        .args([
            "-t",
            "2",
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .map_err(|e| AppError::io("running wrk", e))?;
    Ok(parse_wrk(&String::from_utf8_lossy(&out.stdout)))
}

/// A plain HTTP/1.0 load client: `concurrency` tasks, each posting requests (cycling through
/// `bodies`) over a fresh connection per request for `seconds`. Used for `openssl ocsp -port`,
/// which serves one connection at a time and stalls on wrk's connection pattern.
async fn http10_load(
    port: u16,
    path: &'static str,
    bodies: Arc<Vec<Vec<u8>>>,
    concurrency: u32,
    seconds: u32,
) -> (f64, f64, u64) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(u64::from(seconds));
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let bodies = bodies.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut i = t as usize;
            while tokio::time::Instant::now() < deadline {
                let body = &bodies[i % bodies.len()];
                i += 1;
                let start = std::time::Instant::now();
                let attempt = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
                    let head = format!(
                        "POST {path} HTTP/1.0\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    s.write_all(head.as_bytes()).await?;
                    s.write_all(body).await?;
                    let mut buf = Vec::new();
                    s.read_to_end(&mut buf).await?;
                    Ok::<bool, std::io::Error>(
                        buf.starts_with(b"HTTP/1.0 200") || buf.starts_with(b"HTTP/1.1 200"),
                    )
                })
                .await;
                match attempt {
                    Ok(Ok(true)) => lat.push(start.elapsed().as_secs_f64() * 1000.0),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let (all, errors) = gather(tasks).await;
    let p99 = all
        .get((all.len() as f64 * 0.99) as usize)
        .copied()
        .unwrap_or(0.0);
    (all.len() as f64 / f64::from(seconds.max(1)), p99, errors)
}

/// Starts `openssl ocsp -port` over the bench's index with a throwaway responder key of
/// `kind` (`ec`: P-256, like ours; `rsa`: RSA-2048, a common deployment).
fn start_openssl_ocsp(dir: &Path, kind: &str, seconds: u32) -> Result<(Stopped, u16), AppError> {
    let key = dir.join(format!("resp-{kind}.key"));
    let cert = dir.join(format!("resp-{kind}.pem"));
    let mut req = Command::new("openssl");
    req.args([
        "req",
        "-x509",
        "-nodes",
        "-subj",
        "/CN=bench responder",
        "-days",
        "30",
    ]);
    if kind == "ec" {
        req.args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    } else {
        req.args(["-newkey", "rsa:2048"]);
    }
    run(
        req.arg("-keyout").arg(&key).arg("-out").arg(&cert),
        "openssl req (responder)",
    )?;
    let port = free_port()?;
    let openssl = Stopped::spawn(
        Command::new("timeout")
            .arg(format!("{}", seconds * 6 + 60))
            .args(["openssl", "ocsp", "-port", &port.to_string(), "-index"])
            .arg(dir.join("index.txt"))
            .arg("-CA")
            .arg(dir.join("root.pem"))
            .arg("-rsigner")
            .arg(&cert)
            .arg("-rkey")
            .arg(&key)
            .args(["-nmin", "60"]),
        "openssl ocsp",
        true,
    )?;
    Ok((openssl, port))
}

fn free_port() -> Result<u16, AppError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| AppError::io("finding a port", e))?;
    Ok(l.local_addr()
        .map_err(|e| AppError::io("finding a port", e))?
        .port())
}

fn wait_port(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A child process stopped when the guard is dropped, also when a bench step fails half-way.
/// Children run under coreutils' `timeout` get SIGTERM, which `timeout` passes on to its
/// command (SIGKILL would kill `timeout` alone and leave the command running).
struct Stopped {
    child: std::process::Child,
    under_timeout: bool,
}

impl Stopped {
    /// Starts `cmd` with its output discarded.
    fn spawn(cmd: &mut Command, what: &str, under_timeout: bool) -> Result<Stopped, AppError> {
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| AppError::io(format!("starting {what}"), e))?;
        Ok(Stopped {
            child,
            under_timeout,
        })
    }
}

/// `openmyna serve` on `port` over the bench's data directory and database, in its own
/// process (so that the bench's load clients do not share its threads).
fn serve_child(self_exe: &Path, config: &Config, port: u16) -> Result<Stopped, AppError> {
    let mut cmd = Command::new(self_exe);
    cmd.arg("--data-dir")
        .arg(&config.data_dir)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--demo-persons",
            "0",
        ])
        .env("RUST_LOG", "warn")
        // The load clients all come from 127.0.0.1: no per-client limit.
        .env("OPENMYNA_SERVER_PUBLIC_RATE_PER_MINUTE", "0");
    if !config.database.url.is_empty() {
        cmd.env("OPENMYNA_DATABASE_URL", &config.database.url);
    }
    Stopped::spawn(&mut cmd, "openmyna serve", false)
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.under_timeout {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The run with the median throughput (its p99 and errors with it).
fn median_run(mut runs: Vec<(f64, f64, u64)>) -> (f64, f64, u64) {
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    runs.get(runs.len() / 2).copied().unwrap_or((0.0, 0.0, 0))
}

/// What `bench ocsp` measures.
pub struct OcspBench {
    pub certs: usize,
    pub seconds: u32,
    pub connections: u32,
    pub rounds: u32,
    /// openmyna servers on one database, loaded at once (above 1: PostgreSQL).
    pub nodes: u32,
    /// Run on PostgreSQL (a server URL; the bench creates and drops its own database).
    pub postgres: Option<String>,
}

/// `bench ocsp`: OCSP throughput and p99 latency over HTTP on loopback, ours against
/// `cfssl ocspserve` (serving responses pre-signed by us) and `openssl ocsp -port` (signing
/// live), with the same certificates and the same request mix, with and without nonces.
pub async fn ocsp(b: OcspBench, self_exe: &Path) -> Result<(), AppError> {
    let OcspBench {
        certs,
        seconds,
        connections,
        rounds,
        nodes,
        postgres,
    } = b;
    let rounds = rounds.max(1);
    let nodes = nodes.max(1);
    if nodes > 1 && postgres.is_none() {
        return Err(AppError::Invalid(
            "--nodes above 1 runs the servers on one PostgreSQL: give --postgres URL (a server where the bench creates and drops its own database)".into(),
        ));
    }
    for t in ["wrk", "cfssl", "openssl", "timeout"] {
        tool(t)?;
    }
    let dir = tempfile_dir()?;
    let mut config = bench_config(&dir);
    let mut pg_db = None;
    if let Some(admin) = &postgres {
        let name = format!("openmyna_bench_ocsp_{}", std::process::id());
        pg_admin(admin, &format!("DROP DATABASE IF EXISTS {name}")).await?;
        pg_admin(admin, &format!("CREATE DATABASE {name}")).await?;
        config.database.url = with_database(admin, &name);
        pg_db = Some((admin.clone(), name));
    }
    let backend = if pg_db.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let store = app::open_store(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let entropy: Arc<dyn Entropy> = Arc::new(OsEntropy);
    // Our server runs in its own process (started below, once the certificates exist), like
    // the peers, so that the load clients of this process do not share its threads.
    let ours_port = free_port()?;
    let url = format!("http://127.0.0.1:{ours_port}");
    let jpki = app::open_jpki(&config, &store, &url, clock.clone(), entropy.clone()).await?;
    eprintln!("bench ocsp: issuing {certs} certificates…");
    let key = openmyna_jpki::SigningKey::generate(openmyna_jpki::KeyKind::EcP256)?;
    let spki = key.spki_der()?;
    let holder = openmyna_jpki::Holder {
        name: "ベンチ".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap_or_default(),
        sex_code: 1,
        address: "東京都千代田区".into(),
        municipality_code: "131016".into(),
    };
    let expiry = clock.today() + Duration::days(3000);
    let mut serials = Vec::with_capacity(certs);
    let mut index = String::new();
    let not_after = (clock.now() + Duration::days(3000))
        .format("%y%m%d%H%M%SZ")
        .to_string();
    let revoked_at = clock
        .now()
        .with_timezone(&chrono::Utc)
        .format("%y%m%d%H%M%SZ")
        .to_string();
    for i in 0..certs {
        let issued = jpki
            .issue_card(1, &holder, None, &spki, expiry, None)
            .await?;
        let serial = Serial::parse_hex(&issued.authentication.serial)?;
        if i % 10 == 0 {
            jpki.change_status(
                &serial.to_hex(),
                openmyna_jpki::Action::Revoke(Reason::KeyCompromise),
            )
            .await?;
            index.push_str(&format!(
                "R\t{not_after}\t{revoked_at},keyCompromise\t{}\tunknown\t/CN=c{i}\n",
                serial.to_hex()
            ));
        } else {
            index.push_str(&format!(
                "V\t{not_after}\t\t{}\tunknown\t/CN=c{i}\n",
                serial.to_hex()
            ));
        }
        serials.push(serial);
    }
    let root_der = jpki.root_certificate(RootKind::Auth)?;
    let hashes = issuer_hashes(&root_der)?;
    let plain: Vec<Vec<u8>> = serials
        .iter()
        .map(|s| ocsp_request(&hashes, s, None))
        .collect::<Result<_, _>>()?;
    let with_nonce: Vec<Vec<u8>> = serials
        .iter()
        .map(|s| {
            let mut n = [0u8; 16];
            OsEntropy.fill(&mut n);
            ocsp_request(&hashes, s, Some(n))
        })
        .collect::<Result<_, _>>()?;
    let w = |name: &str, s: &[u8]| {
        std::fs::write(dir.join(name), s).map_err(|e| AppError::io(format!("writing {name}"), e))
    };
    w("plain.lua", lua_script(&plain).as_bytes())?;
    w("nonce.lua", lua_script(&with_nonce).as_bytes())?;

    // cfssl serves responses pre-signed by us for the same certificates.
    let mut responses = String::new();
    for req in &plain {
        use base64::Engine;
        let der = jpki.ocsp(RootKind::Auth, req).await;
        responses.push_str(&base64::engine::general_purpose::STANDARD.encode(der));
        responses.push('\n');
    }
    w("responses.txt", responses.as_bytes())?;
    drop(jpki);
    store.close().await;
    let ours_server = serve_child(self_exe, &config, ours_port)?;
    wait_port(ours_port);
    // The other servers on the same database (the same data directory: the CA's keys).
    let mut others = Vec::new();
    for _ in 1..nodes {
        let port = free_port()?;
        others.push((serve_child(self_exe, &config, port)?, port));
        wait_port(port);
    }
    let cfssl_port = free_port()?;
    let cfssl = Stopped::spawn(
        Command::new("cfssl")
            .args([
                "ocspserve",
                "-port",
                &cfssl_port.to_string(),
                "-loglevel",
                "5",
                "-responses",
            ])
            .arg(dir.join("responses.txt")),
        "cfssl ocspserve",
        false,
    )?;
    wait_port(cfssl_port);

    // openssl signs live with a throwaway responder key, answering from an index of the same
    // certificates (issuer hashes from our root, so requests match).
    w(
        "root.pem",
        openmyna::bench_pem("CERTIFICATE", &root_der).as_bytes(),
    )?;
    w("index.txt", index.as_bytes())?;
    let (openssl_ec, ec_port) = start_openssl_ocsp(&dir, "ec", seconds * rounds * 2)?;
    let (openssl_rsa, rsa_port) = start_openssl_ocsp(&dir, "rsa", seconds * rounds * 2)?;
    // No probe connection: openssl's responder blocks for good on a connection that closes
    // without a request (which is also why wrk cannot drive it).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    let ours_url = format!("{url}/ocsp/auth");
    let cfssl_url = format!("http://127.0.0.1:{cfssl_port}/");
    let mut rows = Vec::new();
    let mut node_rows = Vec::new();
    for (label, script) in [("without nonce", "plain.lua"), ("with nonce", "nonce.lua")] {
        let script = dir.join(script);
        let bodies = Arc::new(if label == "with nonce" {
            with_nonce.clone()
        } else {
            plain.clone()
        });
        // Rounds alternate between us and the peers, and each figure is the median of its
        // rounds, so that a slow minute on a shared machine does not land on one side only.
        let mut runs: [Vec<(f64, f64, u64)>; 5] = Default::default();
        for round in 1..=rounds {
            eprintln!("bench ocsp: {label}: round {round}/{rounds}: openmyna, cfssl (wrk)…");
            let (o, c) = (
                wrk(&ours_url, &script, connections, seconds)?,
                wrk(&cfssl_url, &script, connections, seconds)?,
            );
            eprintln!(
                "bench ocsp: {label}: round {round}/{rounds}: openmyna {:.0}/s, cfssl {:.0}/s ({:.2}×)",
                o.0,
                c.0,
                o.0 / c.0.max(0.001)
            );
            runs[0].push(o);
            runs[1].push(c);
            // openssl is driven by the HTTP/1.0 client; so are we, for a like-for-like ratio.
            eprintln!("bench ocsp: {label}: round {round}/{rounds}: openmyna, openssl (HTTP/1.0)…");
            runs[2].push(http10_load(ours_port, "/ocsp/auth", bodies.clone(), 8, seconds).await);
            runs[3].push(http10_load(ec_port, "/", bodies.clone(), 8, seconds).await);
            runs[4].push(http10_load(rsa_port, "/", bodies.clone(), 8, seconds).await);
        }
        // The ratio to cfssl round by round (each round loads both one after the other): how
        // far the ratio of the medians can be trusted.
        let mut per_round: Vec<f64> = runs[0]
            .iter()
            .zip(&runs[1])
            .map(|(o, c)| o.0 / c.0.max(0.001))
            .collect();
        per_round.sort_by(f64::total_cmp);
        let [ours, cf, ours10, os_ec, os_rsa] = runs.map(median_run);
        if !others.is_empty() {
            // Every server under its own wrk at once, the connections shared out.
            let each = (connections / nodes).max(1);
            let urls: Vec<String> = std::iter::once(ours_port)
                .chain(others.iter().map(|(_, p)| *p))
                .map(|p| format!("http://127.0.0.1:{p}/ocsp/auth"))
                .collect();
            let mut sums = Vec::new();
            for round in 1..=rounds {
                eprintln!(
                    "bench ocsp: {label}: round {round}/{rounds}: {nodes} servers at once (wrk each)…"
                );
                let loads: Vec<_> = urls
                    .iter()
                    .map(|u| {
                        let (u, sc) = (u.clone(), script.clone());
                        std::thread::spawn(move || wrk(&u, &sc, each, seconds))
                    })
                    .collect();
                let mut total = (0.0, 0.0f64, 0u64);
                for l in loads {
                    let r = l
                        .join()
                        .map_err(|_| AppError::Invalid("a wrk thread panicked".into()))??;
                    total = (total.0 + r.0, total.1.max(r.1), total.2 + r.2);
                }
                sums.push(total);
            }
            let all = median_run(sums);
            node_rows.push(Row {
                what: format!(
                    "{label}: requests/s, {nodes} servers on one {backend} (sum; wrk -c{each} on each) vs one server"
                ),
                ours: format!("{:.0}{}", all.0, if all.2 > 0 { format!(" ({} errors)", all.2) } else { String::new() }),
                peer: format!("{:.0}", ours.0),
                ratio: format!("{:.2}×", all.0 / ours.0.max(0.001)),
            });
            node_rows.push(Row {
                what: format!("{label}: p99 latency (worst server), {nodes} servers"),
                ours: format!("{:.2} ms", all.1),
                peer: format!("{:.2} ms", ours.1),
                ratio: String::new(),
            });
        }
        for (peer, ours, p) in [
            ("cfssl ocspserve (wrk, keep-alive)", ours, cf),
            (
                "openssl ocsp -port, P-256 key (HTTP/1.0 client, 8 connections, one request each)",
                ours10,
                os_ec,
            ),
            (
                "openssl ocsp -port, RSA-2048 key (HTTP/1.0 client, 8 connections, one request each)",
                ours10,
                os_rsa,
            ),
        ] {
            let errors = |n: u64| {
                if n > 0 {
                    format!(" ({n} errors)")
                } else {
                    String::new()
                }
            };
            rows.push(Row {
                what: format!("{label}: requests/s vs {peer}"),
                ours: format!("{:.0}{}", ours.0, errors(ours.2)),
                peer: format!("{:.0}{}", p.0, errors(p.2)),
                ratio: format!("{:.1}×", ours.0 / p.0.max(0.001)),
            });
            rows.push(Row {
                what: format!("{label}: p99 latency vs {peer}"),
                ours: format!("{:.2} ms", ours.1),
                peer: format!("{:.2} ms", p.1),
                ratio: String::new(),
            });
        }
        let x = |r: Option<&f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}×"));
        rows.push(Row {
            what: format!(
                "{label}: ratio to cfssl ocspserve within each round: lowest / median / highest"
            ),
            ours: String::new(),
            peer: String::new(),
            ratio: format!(
                "{} / {} / {}",
                x(per_round.first()),
                x(per_round.get(per_round.len() / 2)),
                x(per_round.last())
            ),
        });
    }
    rows.extend(node_rows);
    drop((cfssl, openssl_ec, openssl_rsa, ours_server, others));
    let _ = std::fs::remove_dir_all(&dir);
    if let Some((admin, name)) = pg_db {
        let _ = pg_admin(&admin, &format!("DROP DATABASE IF EXISTS {name}")).await;
    }
    print_table(
        &format!(
            "OCSP over HTTP on loopback, openmyna on {backend}: {certs} certificates (10% revoked), wrk -t2 -c{connections} -d{seconds}s, POST; median of {rounds} alternating rounds"
        ),
        &rows,
    );
    Ok(())
}

/// What `bench eligibility` measures.
pub struct EligibilityBench {
    pub residents: u64,
    /// Distinct patients verified once each (every per-patient read misses the caches).
    pub patients: usize,
    pub cards: usize,
    pub seconds: u32,
    pub concurrency: u32,
    /// A PostgreSQL server URL: the bench creates (and drops) its own database there.
    pub postgres: Option<String>,
    /// The soak: for `seconds`, eligibility checks, OCSP and portal logins at once, with the
    /// server's memory, descriptors, threads, tasks and connections sampled.
    pub soak: bool,
}

/// One sample of the server under the soak: from its own `/metrics`.
#[derive(Clone, Copy, Default)]
struct Sample {
    at: f64,
    rss_mib: f64,
    fds: f64,
    threads: f64,
    tasks: f64,
    db_connections: f64,
}

async fn sample(http: &reqwest::Client, url: &str, at: f64) -> Option<Sample> {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    Some(Sample {
        at,
        rss_mib: value("process_resident_memory_bytes ") / 1048576.0,
        fds: value("process_open_fds "),
        threads: value("process_threads "),
        tasks: value("openmyna_runtime_alive_tasks "),
        db_connections: value("openmyna_db_pool_connections{state=\"open\"}"),
    })
}

/// The soak's other loads beside the eligibility checks, for `seconds`: OCSP (with and
/// without nonce, 4 clients) and portal sessions (challenge, login with a card, a page of the
/// portal, logout; 2 clients); and the sampler, every 10 s. Prints the samples and the
/// requests served.
async fn soak_side_loads(
    url: &str,
    cards: &[(openmyna_card::keys::LoadedKey, String)],
    certs: &[Vec<u8>],
    seconds: u32,
    pid: u32,
) -> Result<(), AppError> {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    let http = reqwest::Client::new();
    let root = http
        .get(format!("{url}/ca/auth.crt"))
        .send()
        .await
        .map_err(|e| AppError::Invalid(format!("root: {e}")))?
        .bytes()
        .await
        .map_err(|e| AppError::Invalid(format!("root: {e}")))?;
    let hashes = issuer_hashes(&root)?;
    let mut bodies = Vec::new();
    for c in certs {
        let cert = openmyna_jpki::profile::parse_certificate(c)?;
        let serial = Serial::from_der_bytes(cert.tbs_certificate.serial_number.as_bytes())?;
        let mut n = [0u8; 16];
        OsEntropy.fill(&mut n);
        bodies.push(ocsp_request(&hashes, &serial, None)?);
        bodies.push(ocsp_request(&hashes, &serial, Some(n))?);
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(u64::from(seconds));
    let (ocsp_ok, ocsp_bad) = (AtomicU64::new(0), AtomicU64::new(0));
    let (portal_ok, portal_bad) = (AtomicU64::new(0), AtomicU64::new(0));
    let ocsp = |w: usize| {
        let (http, bodies, ok, bad) = (&http, &bodies, &ocsp_ok, &ocsp_bad);
        async move {
            let mut i = w;
            while tokio::time::Instant::now() < deadline {
                let body = bodies[i % bodies.len()].clone();
                i += 1;
                let r = http
                    .post(format!("{url}/ocsp/auth"))
                    .header("content-type", "application/ocsp-request")
                    .body(body)
                    .send()
                    .await;
                let answered = match r {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                if answered {
                    ok.fetch_add(1, Relaxed);
                } else {
                    bad.fetch_add(1, Relaxed);
                }
            }
        }
    };
    let portal = |w: usize| {
        let (http, ok, bad) = (&http, &portal_ok, &portal_bad);
        async move {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut i = w;
            while tokio::time::Instant::now() < deadline {
                let (key, cert) = &cards[i % cards.len()];
                i += 1;
                let session = async {
                    let c: serde_json::Value = http
                        .post(format!("{url}/api/v1/portal/challenge"))
                        .send()
                        .await
                        .ok()?
                        .json()
                        .await
                        .ok()?;
                    let bytes = b64.decode(c["challenge"].as_str()?).ok()?;
                    let sig = key.sign_sha256(&bytes).ok()?;
                    let login = http
                        .post(format!("{url}/api/v1/portal/login"))
                        .json(&serde_json::json!({"challenge_id": c["challenge_id"],
                            "certificate": cert, "signature": b64.encode(sig)}))
                        .send()
                        .await
                        .ok()?;
                    let cookie = login
                        .headers()
                        .get("set-cookie")?
                        .to_str()
                        .ok()?
                        .split(';')
                        .next()?
                        .to_owned();
                    let me = http
                        .get(format!("{url}/api/v1/portal/me"))
                        .header("cookie", &cookie)
                        .send()
                        .await
                        .ok()?;
                    me.status().is_success().then_some(())?;
                    me.bytes().await.ok()?;
                    http.post(format!("{url}/api/v1/portal/logout"))
                        .header("cookie", &cookie)
                        .send()
                        .await
                        .ok()?
                        .status()
                        .is_success()
                        .then_some(())
                };
                match session.await {
                    Some(()) => ok.fetch_add(1, Relaxed),
                    None => bad.fetch_add(1, Relaxed),
                };
            }
        }
    };
    let sampler = async {
        let start = std::time::Instant::now();
        let mut samples = Vec::new();
        loop {
            let at = start.elapsed().as_secs_f64();
            if let Some(s) = sample(&http, url, at).await {
                samples.push(s);
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        }
        samples
    };
    let cpu0 = process_cpu_seconds(pid);
    let (samples, ..) = tokio::join!(
        sampler,
        ocsp(0),
        ocsp(1),
        ocsp(2),
        ocsp(3),
        portal(0),
        portal(1)
    );
    let cpu = match (cpu0, process_cpu_seconds(pid)) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    println!(
        "\nSoak, {seconds} s: eligibility checks (the bench's terminals), OCSP (4 clients) and portal sessions (2 clients) at once; the server's /metrics every 10 s\n"
    );
    println!("| s | RSS MiB | open fds | threads | runtime tasks | DB connections |");
    println!("|---|---|---|---|---|---|");
    for s in &samples {
        println!(
            "| {:.0} | {:.1} | {} | {} | {} | {} |",
            s.at, s.rss_mib, s.fds, s.threads, s.tasks, s.db_connections
        );
    }
    let warm = samples
        .iter()
        .find(|s| s.at >= f64::from(seconds) * 0.2)
        .or(samples.first())
        .copied()
        .unwrap_or_default();
    let end = samples.last().copied().unwrap_or_default();
    println!(
        "\nafter warm-up ({:.0} s) → end: RSS {:.1} → {:.1} MiB ({:+.1}), fds {} → {}, threads {} → {}, tasks {} → {}, DB connections {} → {}",
        warm.at,
        warm.rss_mib,
        end.rss_mib,
        end.rss_mib - warm.rss_mib,
        warm.fds,
        end.fds,
        warm.threads,
        end.threads,
        warm.tasks,
        end.tasks,
        warm.db_connections,
        end.db_connections
    );
    println!(
        "served: OCSP {} ({} failed), portal sessions {} ({} failed); server CPU {:.1} s",
        ocsp_ok.load(Relaxed),
        ocsp_bad.load(Relaxed),
        portal_ok.load(Relaxed),
        portal_bad.load(Relaxed),
        cpu
    );
    Ok(())
}

/// The latencies (sorted, ms) and error counts of load tasks, together.
async fn gather(tasks: Vec<tokio::task::JoinHandle<(Vec<f64>, u64)>>) -> (Vec<f64>, u64) {
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((l, e)) = task.await {
            all.extend(l);
            errors += e;
        }
    }
    all.sort_by(|a, b| a.total_cmp(b));
    (all, errors)
}

/// CPU seconds (user + system) a process has used, from /proc.
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some((utime + stime) / 100.0)
}

/// CPU seconds used by every process whose command name is `name` (the PostgreSQL server's
/// backends, on this machine).
fn processes_cpu_seconds(name: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .filter_map(process_cpu_seconds)
        .sum()
}

async fn pg_admin(url: &str, sql: &str) -> Result<(), AppError> {
    openmyna_store::admin_execute(url, sql)
        .await
        .map_err(|e| AppError::Invalid(format!("{sql}: {e}")))
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// `bench eligibility`: end-to-end verifications over HTTP on loopback — challenge, the
/// card's signature (the card's own key, signed in the load generator), verification and
/// result — with `residents` enrolled residents, against `openmyna serve` running as its own
/// process so that its CPU time is measured apart from the load generator's.
pub async fn eligibility(b: EligibilityBench, self_exe: &Path) -> Result<(), AppError> {
    use openmyna::terminal::OqsClient;
    use openmyna_card::keys::LoadedKey;
    use openmyna_card::layout::KeyId;
    use serde_json::json;

    let dir = tempfile_dir()?;
    let mut config = bench_config(&dir);
    let mut pg_db = None;
    if let Some(admin) = &b.postgres {
        let name = format!("openmyna_bench_{}", std::process::id());
        pg_admin(admin, &format!("DROP DATABASE IF EXISTS {name}")).await?;
        pg_admin(admin, &format!("CREATE DATABASE {name}")).await?;
        config.database.url = with_database(admin, &name);
        pg_db = Some((admin.clone(), name));
    }
    let backend = if b.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let store = app::open_store(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let entropy: Arc<dyn Entropy> = Arc::new(OsEntropy);
    let tokens = openmyna::demo::create_demo_organisations(&store, clock.as_ref()).await?;
    let clinic = tokens
        .iter()
        .find(|t| t.role == openmyna_core::Role::MedicalInstitution)
        .map(|t| t.token.clone())
        .ok_or_else(|| AppError::Invalid("no demo clinic".into()))?;
    eprintln!(
        "bench eligibility: enrolling {} residents on {backend}…",
        b.residents
    );
    let t0 = std::time::Instant::now();
    let mut last = std::time::Instant::now();
    openmyna::demo::populate(&store, b.residents, 1, false, clock.as_ref(), |done| {
        if last.elapsed().as_secs() >= 10 {
            eprintln!("  {done}");
            last = std::time::Instant::now();
        }
    })
    .await?;
    let load_seconds = t0.elapsed().as_secs_f64();
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let jpki = app::open_jpki(&config, &store, &url, clock.clone(), entropy.clone()).await?;
    // Cards for residents spread over the population (adults: every 997th resident).
    let ids = store
        .resident_ids_born_by(
            clock.today() - Duration::days(20 * 366),
            (b.cards as i64) * 997,
        )
        .await?;
    let chosen: Vec<i64> = ids.iter().step_by(997).take(b.cards).copied().collect();
    eprintln!("bench eligibility: issuing {} cards…", chosen.len());
    let mut keys = Vec::new();
    let mut certs = Vec::new();
    for (i, id) in chosen.iter().enumerate() {
        let out = dir.join(format!("card{i}.json"));
        openmyna_services::cards::issue(
            &store,
            &jpki,
            clock.as_ref(),
            entropy.as_ref(),
            &openmyna_services::cards::IssueRequest {
                resident_id: *id,
                out: &out,
                auth_pin: "1234",
                sign_password: Some("ABC123"),
                assist_pin: None,
                juki_pin: None,
                card_expiry: None,
                actor: "bench",
            },
        )
        .await?;
        let mut client = openmyna_cardio::JpkiClient::new(openmyna_cardio::VirtualTransport::new(
            openmyna_cardio::CardFile::open(&out)?,
        ));
        certs.push(
            client
                .read_certificate(openmyna_cardio::client::Certificate::Auth)
                .map_err(|e| AppError::Invalid(e.to_string()))?,
        );
        let state = openmyna_cardio::CardFile::open(&out)?.load()?;
        keys.push(
            state
                .keys
                .get(&KeyId::Auth)
                .cloned()
                .ok_or_else(|| AppError::Invalid("card without an authentication key".into()))?,
        );
    }
    // Patients: an authentication certificate each, for residents across the population,
    // all on one key held by the load generator (the server checks each against its own
    // certificate), so that a pass verifies every one of them once.
    eprintln!("bench eligibility: certifying {} patients…", b.patients);
    let (shared_key, shared_spki) =
        openmyna_card::keys::generate().map_err(|e| AppError::Invalid(format!("key: {e}")))?;
    let stride = (b.residents as usize / b.patients.max(1)).clamp(1, 997);
    let pool = store
        .resident_ids_born_by(
            clock.today() - Duration::days(20 * 366),
            (b.patients * stride) as i64,
        )
        .await?;
    let holder = openmyna_jpki::Holder {
        name: "ベンチ".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap_or_default(),
        sex_code: 1,
        address: "東京都千代田区".into(),
        municipality_code: "131016".into(),
    };
    let expiry = clock.today() + Duration::days(3000);
    let mut patients = Vec::with_capacity(b.patients);
    for id in pool.iter().step_by(stride).take(b.patients) {
        let c = jpki
            .issue_card(*id, &holder, None, &shared_spki, expiry, None)
            .await?;
        patients.push(c.authentication.der);
    }
    drop(jpki);
    store.close().await;

    // The server in its own process.
    let server = serve_child(self_exe, &config, port)?;
    wait_port(port);
    let admin = OqsClient::new(&url, &clinic);
    let terminal = match admin
        .post::<serde_json::Value, _>("/api/v1/oqs/terminals", &json!({"name": "bench"}))
        .await?
    {
        Ok(v) => v["token"].as_str().unwrap_or_default().to_owned(),
        Err(r) => return Err(AppError::Invalid(format!("terminal: {}", r.message))),
    };
    let b64 = |x: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(x)
    };
    let t = Arc::new(OqsClient::new(&url, &terminal));
    for (k, c) in keys.iter().zip(&certs) {
        let (id, challenge) = t.challenge().await?;
        let sig = LoadedKey::load(k)
            .and_then(|k| {
                k.sign_sha256(&challenge)
                    .map_err(|_| openmyna_card::CardError::Crypto("signing".into()))
            })
            .map_err(|e| AppError::Invalid(format!("signing: {e}")))?;
        if let Err(r) = t
            .post::<serde_json::Value, _>(
                "/api/v1/oqs/registrations",
                &json!({"challenge_id": id, "certificate": b64(c), "signature": b64(&sig)}),
            )
            .await?
        {
            return Err(AppError::Invalid(format!("registration: {}", r.message)));
        }
    }
    let shared =
        Arc::new(LoadedKey::load(&shared_key).map_err(|e| AppError::Invalid(format!("key: {e}")))?);
    let patients: Arc<Vec<String>> = Arc::new(patients.iter().map(|c| b64(c)).collect());
    // One verification (or registration) of a patient: challenge, signature, request.
    async fn once(
        t: &OqsClient,
        key: &LoadedKey,
        cert: &str,
        path: &str,
        extra: serde_json::Value,
    ) -> Option<serde_json::Value> {
        use base64::Engine;
        let (id, challenge) = t.challenge().await.ok()?;
        let sig = key.sign_sha256(&challenge).ok()?;
        let mut body = serde_json::json!({"challenge_id": id, "certificate": cert,
            "signature": base64::engine::general_purpose::STANDARD.encode(sig)});
        if let (Some(o), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        t.post(path, &body).await.ok()?.ok()
    }
    // Every patient once, `concurrency` at a time.
    let pass = |path: &'static str, extra: serde_json::Value| {
        let t = t.clone();
        let patients = patients.clone();
        let shared = shared.clone();
        async move {
            let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for _ in 0..b.concurrency {
                let (t, patients, shared, next, extra) = (
                    t.clone(),
                    patients.clone(),
                    shared.clone(),
                    next.clone(),
                    extra.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(cert) = patients.get(i) else { break };
                        let start = std::time::Instant::now();
                        match once(&t, &shared, cert, path, extra.clone()).await {
                            Some(v) if path.ends_with("registrations") || v["validity"] == "1" => {
                                lat.push(start.elapsed().as_secs_f64() * 1000.0)
                            }
                            _ => errors += 1,
                        }
                    }
                    (lat, errors)
                }));
            }
            gather(tasks).await
        }
    };
    eprintln!(
        "bench eligibility: registering {} patients…",
        patients.len()
    );
    let (_, reg_errors) = pass("/api/v1/oqs/registrations", json!({})).await;
    if reg_errors > 0 {
        return Err(AppError::Invalid(format!(
            "{reg_errors} registrations failed"
        )));
    }
    let mut loaded = Vec::with_capacity(keys.len());
    for (k, c) in keys.iter().zip(&certs) {
        loaded.push((
            LoadedKey::load(k).map_err(|e| AppError::Invalid(format!("card key: {e}")))?,
            b64(c),
        ));
    }
    let cards: Arc<Vec<(LoadedKey, String)>> = Arc::new(loaded);

    let run = |secs: u32| {
        let t = t.clone();
        let cards = cards.clone();
        async move {
            let deadline =
                tokio::time::Instant::now() + std::time::Duration::from_secs(u64::from(secs));
            let mut tasks = Vec::new();
            for w in 0..b.concurrency {
                let t = t.clone();
                let cards = cards.clone();
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    let mut i = w as usize;
                    while tokio::time::Instant::now() < deadline {
                        let (key, cert) = &cards[i % cards.len()];
                        i += 1;
                        let start = std::time::Instant::now();
                        let v = once(
                            &t,
                            key,
                            cert,
                            "/api/v1/oqs/verifications",
                            json!({"method": "pin"}),
                        )
                        .await;
                        match v {
                            Some(v) if v["validity"] == "1" => {
                                lat.push(start.elapsed().as_secs_f64() * 1000.0)
                            }
                            _ => errors += 1,
                        }
                    }
                    (lat, errors)
                }));
            }
            gather(tasks).await
        }
    };
    eprintln!(
        "bench eligibility: each of {} patients once…",
        patients.len()
    );
    let pg = b.postgres.is_some();
    let cold_db0 = if pg {
        processes_cpu_seconds("postgres")
    } else {
        0.0
    };
    let cold_cpu0 = process_cpu_seconds(server.child.id());
    let cold_wall = std::time::Instant::now();
    let (cold, cold_errors) = pass("/api/v1/oqs/verifications", json!({"method": "pin"})).await;
    let cold_elapsed = cold_wall.elapsed().as_secs_f64();
    let cold_cpu = match (cold_cpu0, process_cpu_seconds(server.child.id())) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let cold_db = if pg {
        processes_cpu_seconds("postgres") - cold_db0
    } else {
        0.0
    };
    eprintln!("bench eligibility: warming up…");
    run(2).await;
    if b.soak {
        let (eligible, _) = tokio::join!(
            run(b.seconds),
            soak_side_loads(&url, &cards, &certs, b.seconds, server.child.id())
        );
        let (lat, errors) = eligible;
        eprintln!(
            "soak: eligibility checks: {} answered, {errors} failed",
            lat.len()
        );
        drop(server);
        if let Some((admin, name)) = pg_db {
            let _ = pg_admin(&admin, &format!("DROP DATABASE IF EXISTS {name}")).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    eprintln!(
        "bench eligibility: {} s with {} concurrent terminals…",
        b.seconds, b.concurrency
    );
    let db0 = if pg {
        processes_cpu_seconds("postgres")
    } else {
        0.0
    };
    let cpu0 = process_cpu_seconds(server.child.id());
    let wall = std::time::Instant::now();
    let (lat, errors) = run(b.seconds).await;
    let elapsed = wall.elapsed().as_secs_f64();
    let cpu1 = process_cpu_seconds(server.child.id());
    let db_cpu = if pg {
        processes_cpu_seconds("postgres") - db0
    } else {
        0.0
    };
    drop(server);
    let row = |what: String, ours: String| Row {
        what,
        ours,
        peer: String::new(),
        ratio: String::new(),
    };
    let mut rows = vec![row(
        "enrolled residents (records loaded)".into(),
        format!("{} in {:.0} s", b.residents, load_seconds),
    )];
    let runs = [
        (
            format!("{} distinct patients, once each (cold)", cold.len()),
            &cold,
            cold_errors,
            cold_elapsed,
            cold_cpu,
            cold_db,
        ),
        (
            format!("{} cards, repeated for {} s (warm)", cards.len(), b.seconds),
            &lat,
            errors,
            elapsed,
            match (cpu0, cpu1) {
                (Some(a), Some(b)) => b - a,
                _ => 0.0,
            },
            db_cpu,
        ),
    ];
    for (label, lat, errors, elapsed, server_cpu, db_cpu) in runs {
        let n = lat.len() as f64;
        let pct = |p: f64| {
            lat.get(((n * p) as usize).min(lat.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0)
        };
        let cpu_per = server_cpu / n.max(1.0);
        let db_per = db_cpu / n.max(1.0);
        rows.push(row(
            format!("{label}: verifications/s end to end"),
            format!("{:.0}", n / elapsed.max(0.001)),
        ));
        rows.push(row(
            format!("{label}: latency p50 / p99"),
            format!("{:.2} / {:.2} ms", pct(0.5), pct(0.99)),
        ));
        rows.push(row(
            format!("{label}: server CPU per verification"),
            format!("{:.3} ms", cpu_per * 1000.0),
        ));
        if pg {
            rows.push(row(
                format!("{label}: PostgreSQL CPU per verification"),
                format!("{:.3} ms", db_per * 1000.0),
            ));
        }
        rows.push(row(
            format!(
                "{label}: capacity of 2 cores (2 / server{} CPU per verification)",
                if pg { " + PostgreSQL" } else { "" }
            ),
            if cpu_per + db_per > 0.0 {
                format!("{:.0}/s", 2.0 / (cpu_per + db_per))
            } else {
                "n/a".into()
            },
        ));
        rows.push(row(format!("{label}: errors"), errors.to_string()));
    }
    if let Some((admin, name)) = pg_db {
        let _ = pg_admin(&admin, &format!("DROP DATABASE IF EXISTS {name}")).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    print_table(
        &format!(
            "Eligibility verification over HTTP on loopback, {backend}: {} residents, {} concurrent terminals; the load generator (RSA signing for the cards) shares the 2 cores",
            b.residents, b.concurrency
        ),
        &rows,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_conversion() {
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(decimal(&[0x7f, 0xff, 0xff, 0xff]), "2147483647");
        assert_eq!(decimal(&[0]), "0");
    }
}
