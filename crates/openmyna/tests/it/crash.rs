//! The crash harness: "write before you answer", tested. A real `openmyna serve` process takes
//! writes from several clients at once — registrations and moves (a move revokes the mover's
//! certificates), revocations and suspensions, 利用登録, eligibility checks with their consents
//! and access-log entries, PIN lock-outs (a card locked by wrong PINs at the reader, then
//! reported), public-money account registrations — while the harness kills it with `kill -9`
//! at random moments and starts it again, many times. Every answer the clients received as
//! acknowledged (2xx) is written down; at the end every one of them must be in the database,
//! the OCSP answers (asked with `openssl ocsp`) must match the database, every access-log hash
//! chain must hold, and on SQLite `PRAGMA integrity_check` must say ok.
//!
//! On PostgreSQL, `OPENMYNA_TEST_CRASH_PG_RESTART` names a command that crashes and restarts the
//! database server during the load (scripts/pg-crash.sh runs the test so on a private cluster).
//!
//! `OPENMYNA_TEST_CRASH_KILLS` sets the number of kills (default 12, which CI runs on both
//! backends); `OPENMYNA_TEST_CRASH_SEED` the seed of the kill times. The report is printed (run with
//! `--nocapture` to see it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use openmyna::terminal::card_proof;
use openmyna_cardio::client::Certificate;
use openmyna_core::Role;
use serde_json::{Value, json};

use crate::common::fixtures::{b64, card};
use crate::common::{Backend, TestApp, real_now, spawn_app_at};

/// What a request came to, as its client saw it.
enum Outcome {
    /// 2xx: the server acknowledged the write. The body, and the cookie it set.
    Ack(Value, Option<String>),
    /// 4xx: refused (nothing was written, by the API's rules).
    Refused(u16, String),
    /// No answer (the server was killed or not yet back), or a 5xx.
    Lost,
}

enum Auth<'a> {
    Bearer(&'a str),
    Cookie(&'a str),
    Anonymous,
}

/// The server the clients talk to: its URL changes with every restart.
#[derive(Clone)]
struct Target {
    url: Arc<RwLock<String>>,
    http: reqwest::Client,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    sent: AtomicU64,
    lost: AtomicU64,
    server_errors: AtomicU64,
    refused: Mutex<HashMap<String, u64>>,
}

impl Target {
    async fn call(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        body: Option<&Value>,
    ) -> Outcome {
        self.counts.sent.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{path}", self.url.read().unwrap());
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.http.request(method, url);
        rb = match auth {
            Auth::Bearer(t) => rb.bearer_auth(t),
            Auth::Cookie(c) => rb.header("cookie", c),
            Auth::Anonymous => rb,
        };
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let outcome = match rb.send().await {
            Err(_) => Outcome::Lost,
            Ok(resp) => {
                let status = resp.status().as_u16();
                let cookie = resp
                    .headers()
                    .get("set-cookie")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(';').next())
                    .map(str::to_owned);
                match resp.bytes().await {
                    Err(_) => Outcome::Lost,
                    Ok(bytes) => {
                        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        match status {
                            200..=299 => Outcome::Ack(v, cookie),
                            500.. => {
                                self.counts.server_errors.fetch_add(1, Ordering::Relaxed);
                                Outcome::Lost
                            }
                            _ => Outcome::Refused(
                                status,
                                v["error"]["code"].as_str().unwrap_or("").to_owned(),
                            ),
                        }
                    }
                }
            }
        };
        match &outcome {
            Outcome::Lost => {
                self.counts.lost.fetch_add(1, Ordering::Relaxed);
                // The server is down or restarting: do not spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Outcome::Refused(status, code) => {
                *self
                    .counts
                    .refused
                    .lock()
                    .unwrap()
                    .entry(format!(
                        "{path_kind} {status} {code}",
                        path_kind = kind(path)
                    ))
                    .or_default() += 1;
            }
            Outcome::Ack(..) => {}
        }
        outcome
    }
}

/// A path without its identifiers, for the report.
fn kind(path: &str) -> String {
    path.split('/')
        .map(|p| {
            if p.chars().any(|c| c.is_ascii_digit()) && p.len() > 3 {
                "{id}"
            } else {
                p
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Everything the server acknowledged.
#[derive(Default)]
struct Ledger {
    residents: Vec<i64>,
    /// Resident → the highest move number acknowledged (the address names it).
    moves: HashMap<i64, u32>,
    revoked: Vec<String>,
    held: Vec<String>,
    /// Certificates of residents whose move was acknowledged (a move revokes them).
    moved_certificates: Vec<String>,
    verifications: Vec<String>,
    consents: Vec<String>,
    registrations: Vec<i64>,
    pin_locks: Vec<String>,
    /// The highest account number acknowledged.
    account: u32,
}

fn moved_address(n: u32) -> Value {
    json!({"address": {"municipality_code": "131016",
                       "text": format!("東京都千代田区霞が関二丁目{n}番")}})
}

fn resident_body(i: usize) -> Value {
    json!({"name": format!("再起 {i}"), "name_kana": "サイキ タロウ", "birth_date": "1985-06-15",
           "sex": 1, "address": {"municipality_code": "131016", "postal_code": "1000013",
                                  "text": "東京都千代田区霞が関一丁目1番1号"}})
}

fn insurance_record(my_number: &str, number: usize) -> Value {
    json!({"my_number": my_number, "insurer_number": "01130012",
           "insurer_name": "全国健康保険協会 東京支部", "symbol": "12345",
           "number": format!("{}", 300 + number), "branch": "00", "card_class": "01",
           "relationship": "1", "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
           "birth_date": "1985-06-15", "sex": "1", "address": "東京都千代田区霞が関一丁目1番1号",
           "qualification_date": "2020-04-01", "co_payment_ratio": "030", "limit_kind": "01",
           "limit_category": "A03", "limit_valid_from": "2026-04-01"})
}

/// The bytes of a challenge answer (the terminal's or the portal's).
fn challenge_bytes(c: &Value) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(c["challenge"].as_str()?)
        .ok()
}

/// A challenge for the terminal, then the card's proof over it.
async fn proof(
    t: &Target,
    terminal: &str,
    path: &Path,
    pin: &str,
) -> Option<(Value, String, String)> {
    let Outcome::Ack(c, _) = t
        .call(
            "POST",
            "/api/v1/oqs/challenges",
            Auth::Bearer(terminal),
            Some(&json!({})),
        )
        .await
    else {
        return None;
    };
    let bytes = challenge_bytes(&c)?;
    let p = card_proof(&mut card(path), pin, &bytes).ok()?;
    Some((
        c["challenge_id"].clone(),
        b64(&p.certificate),
        b64(&p.signature),
    ))
}

/// The portal session of the card at `path` (login with its authentication PIN).
async fn portal_login(t: &Target, path: &Path) -> Option<String> {
    let Outcome::Ack(c, _) = t
        .call("POST", "/api/v1/portal/challenge", Auth::Anonymous, None)
        .await
    else {
        return None;
    };
    let bytes = challenge_bytes(&c)?;
    let p = card_proof(&mut card(path), "1234", &bytes).ok()?;
    let body = json!({"challenge_id": c["challenge_id"], "certificate": b64(&p.certificate),
                      "signature": b64(&p.signature)});
    match t
        .call("POST", "/api/v1/portal/login", Auth::Anonymous, Some(&body))
        .await
    {
        Outcome::Ack(_, cookie) => cookie,
        _ => None,
    }
}

/// `openssl ocsp` for many serials of one root at once: serial (hex, upper case) → the line
/// openssl printed for it ("good", "revoked", …) with the reason line if any.
fn ocsp_statuses(url: &str, root_pem: &Path, serials: &[String]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for chunk in serials.chunks(50) {
        let mut args = vec![
            "ocsp".to_owned(),
            "-issuer".into(),
            root_pem.to_str().unwrap().into(),
            "-CAfile".into(),
            root_pem.to_str().unwrap().into(),
            "-url".into(),
            url.into(),
        ];
        for s in chunk {
            args.push("-serial".into());
            args.push(format!("0x{s}"));
        }
        let o = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .expect("openssl runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(text.contains("Response verify OK"), "{text}");
        let mut current: Option<String> = None;
        for line in text.lines() {
            if let Some((serial, status)) = line.split_once(": ")
                && let Some(hex) = serial.trim().strip_prefix("0x")
            {
                let key = hex.to_ascii_uppercase();
                out.insert(key.clone(), status.trim().to_owned());
                current = Some(key);
            } else if let (Some(k), Some(reason)) = (&current, line.trim().strip_prefix("Reason: "))
                && let Some(v) = out.get_mut(k)
            {
                v.push_str(&format!(" ({reason})"));
            }
        }
    }
    out
}

fn normalise(serial: &str) -> String {
    serial.to_ascii_uppercase()
}

struct Fixture {
    /// The card used for eligibility checks (registered, with an insurance record).
    eligibility_card: PathBuf,
    eligibility_resident: i64,
    /// Cards registered (利用登録) during the load: (card file, resident).
    to_register: Vec<(PathBuf, i64)>,
    /// Cards whose PIN is locked at the reader during the load: (card file, card serial).
    to_lock: Vec<(PathBuf, String)>,
    /// The card that logs in to the portal and registers accounts.
    portal_card: PathBuf,
    portal_resident: i64,
    /// Certificates revoked or suspended during the load (hex serials).
    ca_pool: Vec<String>,
    /// Residents who move during the load, with their certificates.
    movers: Vec<(i64, Vec<String>)>,
    terminal: String,
}

/// Pools sized so that the revocations and moves last about as long as `kills` kills.
async fn set_up(a: &TestApp, dir: &Path, kills: usize) -> Fixture {
    let mut card_files = Vec::new();
    for i in 0..7 {
        let resident = a.register_resident(true).await;
        let path = dir.join(format!("card{i}.json"));
        let issued = a.issue_card(resident, &path, Some("abc123")).await.unwrap();
        card_files.push((path, resident, issued.serial));
    }
    // Insurance records for the cards that check eligibility or register.
    let records: Vec<Value> = card_files
        .iter()
        .enumerate()
        .take(4)
        .map(|(i, (p, _, _))| insurance_record(&card(p).my_number("5678").unwrap(), i))
        .collect();
    let (s, r) = a
        .post(
            "/api/v1/insurance/records",
            Some(Role::Insurer),
            &json!({ "records": records }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let terminal = a.terminal_token().await;
    let eligibility_card = card_files[0].0.clone();
    openmyna::terminal::OqsClient::new(&a.url, &terminal)
        .register::<Value, _>(&mut card(&eligibility_card), "1234")
        .await
        .unwrap()
        .unwrap();

    // Certificates only (no card), for revocations, suspensions and moves.
    let jpki = a.jpki().await;
    let (_key, spki) = openmyna_card::keys::generate().unwrap();
    let holder = openmyna_jpki::Holder {
        name: "再起 花子".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1985, 6, 15).unwrap(),
        sex_code: 2,
        address: "東京都千代田区霞が関一丁目1番1号".into(),
        municipality_code: "131016".into(),
    };
    let expiry = chrono::NaiveDate::from_ymd_opt(2035, 1, 1).unwrap();
    let mut ca_pool = Vec::new();
    let owner = a.register_resident(true).await;
    for _ in 0..kills.max(4) * 8 {
        let c = jpki
            .issue_card(owner, &holder, None, &spki, expiry, None)
            .await
            .unwrap();
        ca_pool.push(c.authentication.serial);
    }
    let mut movers = Vec::new();
    for _ in 0..kills.max(4) * 4 {
        let r = a.register_resident(true).await;
        // A move revokes the signing certificate (it carries the address).
        let c = jpki
            .issue_card(r, &holder, Some(&spki), &spki, expiry, None)
            .await
            .unwrap();
        movers.push((r, vec![c.signing.unwrap().serial]));
    }
    Fixture {
        eligibility_card,
        eligibility_resident: card_files[0].1,
        to_register: card_files[1..4]
            .iter()
            .map(|(p, r, _)| (p.clone(), *r))
            .collect(),
        to_lock: card_files[4..6]
            .iter()
            .map(|(p, _, s)| (p.clone(), s.clone()))
            .collect(),
        portal_card: card_files[6].0.clone(),
        portal_resident: card_files[6].1,
        ca_pool,
        movers,
        terminal,
    }
}

/// A small deterministic generator for the kill times.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

async fn kills_lose_nothing_acknowledged(backend: Backend) {
    let kills: usize = std::env::var("OPENMYNA_TEST_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("OPENMYNA_TEST_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261203);
    let mut a = spawn_app_at(backend, real_now()).await;
    let dir = tempfile::tempdir().unwrap();
    let f = Arc::new(set_up(&a, dir.path(), kills).await);
    let municipality = a.token(Role::Municipality).to_owned();
    // From here on the server runs as a process of its own, killed and restarted.
    a.stop_server().await;
    let (child, url) = a.serve_process();
    let mut server = child;
    let target = Target {
        url: Arc::new(RwLock::new(url)),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
        counts: Arc::new(Counts::default()),
    };
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();

    // 1. The registry: residents registered, each then moved twice.
    {
        let (t, l, stop, token) = (
            target.clone(),
            ledger.clone(),
            stop.clone(),
            municipality.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let Outcome::Ack(r, _) = t
                    .call(
                        "POST",
                        "/api/v1/registry/residents",
                        Auth::Bearer(&token),
                        Some(&resident_body(i)),
                    )
                    .await
                else {
                    continue;
                };
                let id = r["id"].as_i64().unwrap();
                l.lock().unwrap().residents.push(id);
                for n in 1..=2 {
                    let path = format!("/api/v1/registry/residents/{id}/address");
                    match t
                        .call("POST", &path, Auth::Bearer(&token), Some(&moved_address(n)))
                        .await
                    {
                        Outcome::Ack(..) => {
                            l.lock().unwrap().moves.insert(id, n);
                        }
                        _ => break,
                    }
                }
            }
        }));
    }
    // 2. The CA: revocations and suspensions.
    {
        let (t, l, stop, token, f) = (
            target.clone(),
            ledger.clone(),
            stop.clone(),
            municipality.clone(),
            f.clone(),
        );
        workers.push(tokio::spawn(async move {
            for (i, serial) in f.ca_pool.iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (path, body) = if i % 2 == 0 {
                    (
                        format!("/api/v1/jpki/certificates/{serial}/revoke"),
                        json!({"reason": "keyCompromise"}),
                    )
                } else {
                    (
                        format!("/api/v1/jpki/certificates/{serial}/hold"),
                        json!({}),
                    )
                };
                if let Outcome::Ack(..) = t
                    .call("POST", &path, Auth::Bearer(&token), Some(&body))
                    .await
                {
                    let mut l = l.lock().unwrap();
                    if i % 2 == 0 {
                        l.revoked.push(serial.clone())
                    } else {
                        l.held.push(serial.clone())
                    }
                }
                tokio::time::sleep(Duration::from_millis(80)).await;
            }
        }));
    }
    // 3. Moves of certificate holders: their certificates are revoked with the move.
    {
        let (t, l, stop, token, f) = (
            target.clone(),
            ledger.clone(),
            stop.clone(),
            municipality.clone(),
            f.clone(),
        );
        workers.push(tokio::spawn(async move {
            for (resident, certs) in &f.movers {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let path = format!("/api/v1/registry/residents/{resident}/address");
                if let Outcome::Ack(..) = t
                    .call("POST", &path, Auth::Bearer(&token), Some(&moved_address(9)))
                    .await
                {
                    l.lock()
                        .unwrap()
                        .moved_certificates
                        .extend(certs.iter().cloned());
                }
                tokio::time::sleep(Duration::from_millis(160)).await;
            }
        }));
    }
    // 4. Eligibility checks at the reader, each with the patient's consent.
    {
        let (t, l, stop, f) = (target.clone(), ledger.clone(), stop.clone(), f.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Some((id, cert, sig)) = proof(&t, &f.terminal, &f.eligibility_card, "1234").await else {
                    continue;
                };
                let body = json!({"challenge_id": id, "certificate": cert, "signature": sig, "method": "pin"});
                let Outcome::Ack(v, _) = t
                    .call("POST", "/api/v1/oqs/verifications", Auth::Bearer(&f.terminal), Some(&body))
                    .await
                else {
                    continue;
                };
                let vid = v["verification_id"].as_str().unwrap().to_owned();
                l.lock().unwrap().verifications.push(vid.clone());
                let path = format!("/api/v1/oqs/verifications/{vid}/consent");
                let body = json!({"categories": ["clinical", "limit_amount"]});
                if let Outcome::Ack(..) = t.call("POST", &path, Auth::Bearer(&f.terminal), Some(&body)).await {
                    l.lock().unwrap().consents.push(vid);
                }
            }
        }));
    }
    // 5. 利用登録 of three cards, and two cards locked by wrong PINs at the reader, then
    //    reported.
    {
        let (t, l, stop, f) = (target.clone(), ledger.clone(), stop.clone(), f.clone());
        workers.push(tokio::spawn(async move {
            for (path, resident) in &f.to_register {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let Some((id, cert, sig)) = proof(&t, &f.terminal, path, "1234").await else {
                        continue;
                    };
                    let body = json!({"challenge_id": id, "certificate": cert, "signature": sig});
                    if let Outcome::Ack(..) = t
                        .call(
                            "POST",
                            "/api/v1/oqs/registrations",
                            Auth::Bearer(&f.terminal),
                            Some(&body),
                        )
                        .await
                    {
                        l.lock().unwrap().registrations.push(*resident);
                        break;
                    }
                }
            }
            for (path, serial) in &f.to_lock {
                // Three wrong PINs: the card locks itself.
                for _ in 0..3 {
                    assert!(card_proof(&mut card(path), "0000", b"x").is_err());
                }
                let cert = card(path).read_certificate(Certificate::Auth).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let body = json!({"certificate": b64(&cert)});
                    if let Outcome::Ack(..) = t
                        .call(
                            "POST",
                            "/api/v1/oqs/pin-lockouts",
                            Auth::Bearer(&f.terminal),
                            Some(&body),
                        )
                        .await
                    {
                        l.lock().unwrap().pin_locks.push(serial.clone());
                        break;
                    }
                }
            }
        }));
    }
    // 6. The portal: the public-money account registered again and again (the number counts).
    {
        let (t, l, stop, f) = (target.clone(), ledger.clone(), stop.clone(), f.clone());
        workers.push(tokio::spawn(async move {
            let mut cookie = None;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let Some(c) = &cookie else {
                    cookie = portal_login(&t, &f.portal_card).await;
                    continue;
                };
                n += 1;
                let body = json!({"bank_code": "0001", "branch_code": "001", "account_type": "ordinary",
                                  "account_number": format!("{n:07}"), "holder_kana": "ヤマダ タロウ"});
                match t.call("PUT", "/api/v1/portal/public-money-account", Auth::Cookie(c), Some(&body)).await {
                    Outcome::Ack(..) => l.lock().unwrap().account = n,
                    Outcome::Refused(401, _) => cookie = None,
                    _ => {}
                }
            }
        }));
    }

    // The killer.
    let started = Instant::now();
    let mut rng = Lcg(seed);
    let mut restart_ms = Vec::new();
    // On PostgreSQL, a command that crashes and restarts the database server itself (e.g.
    // `pg_ctl restart -m immediate`; scripts/pg-crash.sh gives one for a private cluster):
    // run once, in the middle of the load, while the clients write.
    let pg_restart = std::env::var("OPENMYNA_TEST_CRASH_PG_RESTART")
        .ok()
        .filter(|c| !c.is_empty() && backend == Backend::Postgres);
    let mut pg_restarts = 0;
    for k in 0..kills {
        if k == kills / 2
            && let Some(cmd) = &pg_restart
        {
            let cmd = cmd.clone();
            let status = tokio::task::spawn_blocking(move || {
                std::process::Command::new("sh").args(["-c", &cmd]).status()
            })
            .await
            .unwrap()
            .unwrap();
            assert!(status.success(), "the PostgreSQL restart command failed");
            pg_restarts += 1;
        }
        tokio::time::sleep(Duration::from_millis(300 + rng.next(900))).await;
        server.kill().unwrap();
        server.wait().unwrap();
        let t0 = Instant::now();
        let (child, url) = a.serve_process();
        restart_ms.push(t0.elapsed().as_millis());
        server = child;
        *target.url.write().unwrap() = url;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let load_seconds = started.elapsed().as_secs_f64();
    // One more kill and start: the checks read what the last server left.
    server.kill().unwrap();
    server.wait().unwrap();
    let (child, url) = a.serve_process();
    server = child;
    *target.url.write().unwrap() = url.clone();

    let l = std::mem::take(&mut *ledger.lock().unwrap());
    let get = |path: String| {
        let t = target.clone();
        let token = municipality.clone();
        async move {
            match t.call("GET", &path, Auth::Bearer(&token), None).await {
                Outcome::Ack(v, _) => v,
                Outcome::Refused(s, c) => panic!("{path}: {s} {c}"),
                Outcome::Lost => panic!("{path}: no answer"),
            }
        }
    };
    let pool = a.store.pool();
    let count = |sql: &'static str, key: String| async move {
        let n: i64 = sqlx::query_scalar(sql)
            .bind(key)
            .fetch_one(pool)
            .await
            .unwrap();
        n
    };
    let mut found = 0usize;
    // Registrations and moves.
    for id in &l.residents {
        let r = get(format!("/api/v1/registry/residents/{id}")).await;
        if let Some(n) = l.moves.get(id) {
            let text = r["address"]["text"].as_str().unwrap();
            let now: u32 = text
                .strip_prefix("東京都千代田区霞が関二丁目")
                .and_then(|t| t.strip_suffix('番'))
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("resident {id}: acknowledged move {n} lost: {text}"));
            assert!(
                now >= *n,
                "resident {id}: acknowledged move {n}, found {now}"
            );
            found += 1;
        }
        found += 1;
    }
    // Certificate statuses, in the database and at OCSP.
    let status = |serial: String| get(format!("/api/v1/jpki/certificates/{serial}"));
    for s in l.revoked.iter().chain(&l.moved_certificates) {
        assert_eq!(status(s.clone()).await["status"], "revoked", "{s}");
        found += 1;
    }
    for s in &l.held {
        assert_eq!(status(s.clone()).await["status"], "held", "{s}");
        found += 1;
    }
    let mut ocsp = HashMap::new();
    for (root, serials) in [
        (
            "auth",
            l.revoked.iter().chain(&l.held).cloned().collect::<Vec<_>>(),
        ),
        ("sign", l.moved_certificates.clone()),
    ] {
        let pem = dir.path().join(format!("{root}-root.pem"));
        let der = target
            .http
            .get(format!("{url}/ca/{root}.crt"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        std::fs::write(&pem, openmyna::bench_pem("CERTIFICATE", &der)).unwrap();
        ocsp.extend(ocsp_statuses(&format!("{url}/ocsp/{root}"), &pem, &serials));
    }
    let asked = l.revoked.len() + l.held.len() + l.moved_certificates.len();
    for s in l.revoked.iter().chain(&l.moved_certificates) {
        let a = ocsp
            .get(&normalise(s))
            .map(String::as_str)
            .unwrap_or("missing");
        assert!(
            a.starts_with("revoked") && !a.contains("certificateHold"),
            "{s}: OCSP says {a}"
        );
    }
    for s in &l.held {
        let a = ocsp
            .get(&normalise(s))
            .map(String::as_str)
            .unwrap_or("missing");
        assert!(a.contains("certificateHold"), "{s}: OCSP says {a}");
    }
    // Eligibility checks, consents, 利用登録, PIN lock-outs.
    for v in &l.verifications {
        assert_eq!(
            count(
                "SELECT COUNT(*) FROM oqs_verifications WHERE id = $1",
                v.clone()
            )
            .await,
            1,
            "verification {v}"
        );
        found += 1;
    }
    for v in &l.consents {
        assert!(
            count(
                "SELECT COUNT(*) FROM oqs_consents WHERE verification_id = $1",
                v.clone()
            )
            .await
                >= 1,
            "consent of {v}"
        );
        found += 1;
    }
    let logged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_log WHERE resident_id = $1 AND category = 'oqs.eligibility'",
    )
    .bind(f.eligibility_resident)
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(
        logged >= l.verifications.len() as i64,
        "{logged} access-log entries for {} acknowledged checks",
        l.verifications.len()
    );
    for r in &l.registrations {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM insurance_registrations WHERE resident_id = $1",
        )
        .bind(r)
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(n, 1, "利用登録 of resident {r}");
        found += 1;
    }
    for s in &l.pin_locks {
        assert_eq!(
            count(
                "SELECT COUNT(*) FROM card_events WHERE action = 'pin_locked' AND card_serial = $1",
                s.clone()
            )
            .await,
            1,
            "PIN lock-out of card {s}"
        );
        found += 1;
    }
    // The account: the last acknowledged number, or a later one whose answer was lost.
    if l.account > 0 {
        let cookie = portal_login(&target, &f.portal_card)
            .await
            .expect("portal login");
        let Outcome::Ack(v, _) = target
            .call(
                "GET",
                "/api/v1/portal/public-money-account",
                Auth::Cookie(&cookie),
                None,
            )
            .await
        else {
            panic!("no account");
        };
        let n: u32 = v["account"]["account_number"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            n >= l.account,
            "acknowledged account {}, found {n}",
            l.account
        );
        found += 1;
    }
    // Every access-log chain holds.
    let mut chains = vec![f.eligibility_resident, f.portal_resident];
    chains.extend(&l.registrations);
    for r in &chains {
        let (_, chain) = a.store.access().verify_access_chain(*r).await.unwrap();
        assert!(
            chain.intact,
            "resident {r}: the access log's chain broke at {:?}",
            chain.broken_at_seq
        );
    }
    if backend == Backend::Sqlite {
        let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(ok, "ok");
    }
    let acknowledged = l.residents.len()
        + l.moves.len()
        + l.revoked.len()
        + l.held.len()
        + l.moved_certificates.len()
        + l.verifications.len()
        + l.consents.len()
        + l.registrations.len()
        + l.pin_locks.len()
        + usize::from(l.account > 0);
    // The load must have written something of every kind, or the test proves nothing.
    for (what, n) in [
        ("registrations", l.residents.len()),
        ("moves", l.moves.len()),
        ("revocations", l.revoked.len()),
        ("suspensions", l.held.len()),
        ("moves with revocation", l.moved_certificates.len()),
        ("eligibility checks", l.verifications.len()),
        ("consents", l.consents.len()),
        ("利用登録", l.registrations.len()),
        ("PIN lock-outs", l.pin_locks.len()),
        ("account registrations", usize::from(l.account > 0)),
    ] {
        assert!(n > 0, "no {what} was acknowledged");
    }
    let refused = target.counts.refused.lock().unwrap().clone();
    eprintln!(
        "crash harness ({backend:?}, seed {seed}): {kills} kills and {pg_restarts} PostgreSQL crash-restarts in {load_seconds:.1} s of load; restarts took {:?} ms; \
         {} requests sent, {} without an answer, {} 5xx; refused: {refused:?}\n\
         acknowledged: {} residents, {} moves, {} revocations, {} suspensions, {} certificates revoked by moves, \
         {} eligibility checks, {} consents, {} 利用登録, {} PIN lock-outs, account number {}\n\
         acknowledged writes {acknowledged}, found after the last restart {found} (OCSP agreeing for {} certificates; {} access-log chains intact)",
        restart_ms,
        target.counts.sent.load(Ordering::Relaxed),
        target.counts.lost.load(Ordering::Relaxed),
        target.counts.server_errors.load(Ordering::Relaxed),
        l.residents.len(),
        l.moves.len(),
        l.revoked.len(),
        l.held.len(),
        l.moved_certificates.len(),
        l.verifications.len(),
        l.consents.len(),
        l.registrations.len(),
        l.pin_locks.len(),
        l.account,
        asked,
        chains.len(),
    );
    assert_eq!(found, acknowledged);
    let _ = server.kill();
    let _ = server.wait();
    a.finish().await;
}

on_both_backends!(kills_lose_nothing_acknowledged);
