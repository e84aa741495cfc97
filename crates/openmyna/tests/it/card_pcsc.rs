//! Real card software against the virtual card: pcscd with vsmartcard's vpcd driver, the card
//! attached with `openmyna vpcd`, and OpenSC's tools (opensc-tool, pkcs15-tool, pkcs11-tool)
//! and OpenSSL as the judges.
//!
//! Needs pcscd, vsmartcard-vpcd, opensc and openssl (`.ci/run` installs them) and the right to
//! start pcscd (root in CI). The tests own pcscd, one at a time: each starts it, and one restarts
//! it to show that a PIN lock survives. Without the tools they print that they were skipped, unless
//! `OPENMYNA_TEST_REQUIRE_PCSC=1` (set by CI).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Backend, spawn_app};

const PKCS11: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

fn tools_present() -> bool {
    let have = |cmd: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {cmd}")])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    [
        "pcscd",
        "opensc-tool",
        "pkcs15-tool",
        "pkcs11-tool",
        "openssl",
    ]
    .iter()
    .all(|c| have(c))
        && Path::new(PKCS11).exists()
        && Path::new(VPCD_DRIVER).exists()
}

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new("timeout")
        .arg("60")
        .arg(cmd)
        .args(args)
        .output()
        .expect("spawn");
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// pcscd in the foreground, owned by the test.
struct Pcscd(Child);

impl Pcscd {
    fn start(log: &Path) -> Pcscd {
        // Stop one left over from an earlier run (its pid file names it).
        if let Ok(pid) = std::fs::read_to_string("/run/pcscd/pcscd.pid") {
            let _ = Command::new("kill").arg(pid.trim()).status();
            std::thread::sleep(Duration::from_millis(1500));
        }
        let child = Command::new("pcscd")
            .arg("--foreground")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("pcscd");
        let p = Pcscd(child);
        wait_for(
            || std::net::TcpStream::connect("127.0.0.1:35963").is_ok(),
            "pcscd's vpcd port",
        );
        p
    }

    fn stop(mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Vpcd(Child);

impl Vpcd {
    fn start(data_dir: &Path, card: &Path, log: &Path) -> Vpcd {
        let child = Command::new(env!("CARGO_BIN_EXE_openmyna"))
            .arg("--data-dir")
            .arg(data_dir)
            .arg("vpcd")
            .arg("--card")
            .arg(card)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("openmyna vpcd");
        Vpcd(child)
    }
}

impl Drop for Vpcd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

fn card_present() -> bool {
    let (_, out) = run("opensc-tool", &["-l"]);
    out.lines()
        .any(|l| l.contains("Virtual PCD 00 00") && l.contains("Yes"))
}

fn tries_left(listing: &str) -> Vec<u32> {
    listing
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Tries left"))
        .filter_map(|l| l.trim_start_matches([' ', ':']).trim().parse().ok())
        .collect()
}

fn pem_to_der(pem_path: &Path, der_path: &Path) -> Vec<u8> {
    let (ok, out) = run(
        "openssl",
        &[
            "x509",
            "-in",
            pem_path.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            der_path.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    std::fs::read(der_path).unwrap()
}

/// `pkcs11-tool --login --sign -m SHA256-RSA-PKCS` of msg.txt with key `id` on slot `slot`.
fn pkcs11_sign(d: &Path, slot: &str, pin: &str, id: &str, out: &str) -> (bool, String) {
    run(
        "pkcs11-tool",
        &[
            "--module",
            PKCS11,
            "--slot-index",
            slot,
            "--login",
            "--pin",
            pin,
            "--id",
            id,
            "--sign",
            "-m",
            "SHA256-RSA-PKCS",
            "-i",
            p(d, "msg.txt").to_str().unwrap(),
            "-o",
            p(d, out).to_str().unwrap(),
        ],
    )
}

fn p(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// The machine has one pcscd: the tests that own it run one at a time.
static PCSCD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether the tools are here; without them the test is skipped (refused under CI).
fn skipped() -> bool {
    if tools_present() {
        return false;
    }
    assert!(
        std::env::var("OPENMYNA_TEST_REQUIRE_PCSC").as_deref() != Ok("1"),
        "pcscd, vpcd, opensc and openssl are required (OPENMYNA_TEST_REQUIRE_PCSC=1)"
    );
    eprintln!("PC/SC interop test skipped: pcscd, vsmartcard-vpcd or opensc not installed");
    true
}

/// A server, a card issued by it (signing password ABC123, PIN 1234), pcscd, and the card
/// attached to its virtual reader with `openmyna vpcd`.
struct Rig {
    app: crate::common::TestApp,
    dir: tempfile::TempDir,
    card: PathBuf,
    issued: openmyna_services::cards::IssuedCard,
    auth_der: Vec<u8>,
    pcscd: Option<Pcscd>,
    vpcd: Vpcd,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

async fn rig() -> Rig {
    let turn = PCSCD.lock().await;
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let resident = app.register_resident(true).await;
    let card = p(d, "card.json");
    let issued = app
        .issue_card(resident, &card, Some("ABC123"))
        .await
        .unwrap();
    let auth_der = openmyna_cardio::JpkiClient::new(openmyna_cardio::VirtualTransport::new(
        openmyna_cardio::CardFile::open(&card).unwrap(),
    ))
    .read_certificate(openmyna_cardio::client::Certificate::Auth)
    .unwrap();
    // What the tests sign through PKCS#11.
    std::fs::write(p(d, "msg.txt"), b"signed through PKCS#11").unwrap();
    let pcscd = Pcscd::start(&p(d, "pcscd.log"));
    let vpcd = Vpcd::start(&app.config.data_dir, &card, &p(d, "vpcd.log"));
    wait_for(card_present, "the card in Virtual PCD 00 00");
    Rig {
        app,
        dir,
        card,
        issued,
        auth_der,
        pcscd: Some(pcscd),
        vpcd,
        _turn: turn,
    }
}

impl Rig {
    fn d(&self) -> &Path {
        self.dir.path()
    }

    async fn finish(self) {
        let Rig {
            app, pcscd, vpcd, ..
        } = self;
        drop(vpcd);
        if let Some(pcscd) = pcscd {
            pcscd.stop();
        }
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensc_lists_reads_and_signs_with_the_virtual_card() {
    if skipped() {
        return;
    }
    let r = rig().await;
    let d = r.d();
    // OpenSC recognises a JPKI card.
    let (ok, out) = run("opensc-tool", &["-n", "-v"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("JPKI(Japanese Individual Number Cards)"),
        "{out}"
    );
    // Both certificates listed; the authentication certificate is the CA's DER.
    let (ok, out) = run("pkcs15-tool", &["--list-certificates"]);
    assert!(ok, "{out}");
    assert!(out.contains("User Authentication Certificate"), "{out}");
    assert!(out.contains("Digital Signature Certificate"), "{out}");
    assert!(out.contains(&r.issued.auth_certificate), "{out}");
    let auth_pem = p(d, "auth.pem");
    let (ok, out) = run(
        "pkcs15-tool",
        &["--read-certificate", "01", "-o", auth_pem.to_str().unwrap()],
    );
    assert!(ok, "{out}");
    assert_eq!(pem_to_der(&auth_pem, &p(d, "auth.der")), r.auth_der);
    let sign_pem = p(d, "sign.pem");
    let (ok, out) = run(
        "pkcs15-tool",
        &[
            "--read-certificate",
            "02",
            "--auth-id",
            "02",
            "--verify-pin",
            "--pin",
            "ABC123",
            "-o",
            sign_pem.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    pem_to_der(&sign_pem, &p(d, "sign.der"));
    let (ok, out) = run(
        "openssl",
        &[
            "x509",
            "-in",
            sign_pem.to_str().unwrap(),
            "-noout",
            "-serial",
        ],
    );
    let sign_serial = r.issued.sign_certificate.as_deref().unwrap();
    assert!(ok && out.contains(sign_serial), "{out}");
    let (ok, out) = run("pkcs15-tool", &["--list-pins"]);
    assert!(ok, "{out}");
    assert_eq!(tries_left(&out), [3, 5], "{out}");
    // PKCS#11 signatures with both keys, verified by OpenSSL with the certified public keys.
    for (slot, id, pin, cert) in [
        ("0", "01", "1234", "auth.pem"),
        ("1", "02", "ABC123", "sign.pem"),
    ] {
        let (ok, out) = pkcs11_sign(d, slot, pin, id, "msg.sig");
        assert!(ok, "{out}");
        let (ok, out) = run(
            "openssl",
            &[
                "x509",
                "-in",
                p(d, cert).to_str().unwrap(),
                "-pubkey",
                "-noout",
                "-out",
                p(d, "k.pub").to_str().unwrap(),
            ],
        );
        assert!(ok, "{out}");
        let (ok, out) = run(
            "openssl",
            &[
                "dgst",
                "-sha256",
                "-verify",
                p(d, "k.pub").to_str().unwrap(),
                "-signature",
                p(d, "msg.sig").to_str().unwrap(),
                p(d, "msg.txt").to_str().unwrap(),
            ],
        );
        assert!(ok && out.contains("Verified OK"), "key {id}: {out}");
    }
    // Our own client library over PC/SC drives the same card.
    #[cfg(feature = "pcsc")]
    {
        let t = openmyna_cardio::pcsc::PcscTransport::connect(Some("Virtual PCD 00 00")).unwrap();
        let mut c = openmyna_cardio::JpkiClient::new(t);
        assert_eq!(c.token_label().unwrap(), "JPKIAPICCTOKEN2");
        assert_eq!(
            c.read_certificate(openmyna_cardio::client::Certificate::Auth)
                .unwrap(),
            r.auth_der
        );
        assert_eq!(c.pin_tries(openmyna_card::PinId::Auth).unwrap(), 3);
    }
    r.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_locked_through_pcsc_survives_restarts_until_the_municipality_unlocks_it() {
    if skipped() {
        return;
    }
    let mut r = rig().await;
    let d = r.dir.path().to_owned();
    let d = d.as_path();
    // Three wrong PINs lock the authentication PIN.
    for _ in 0..3 {
        let (ok, _) = pkcs11_sign(d, "0", "0000", "01", "bad.sig");
        assert!(!ok, "a wrong PIN must not sign");
    }
    let locked = |what: &str| {
        let (_, out) = run("pkcs15-tool", &["--list-pins"]);
        assert_eq!(tries_left(&out), [0, 5], "{what}: {out}");
    };
    locked("after three wrong PINs");
    // The lock survives a restart of `openmyna vpcd` …
    let _ = r.vpcd.0.kill();
    let _ = r.vpcd.0.wait();
    wait_for(|| !card_present(), "the card to leave the reader");
    r.vpcd = Vpcd::start(&r.app.config.data_dir, &r.card, &p(d, "vpcd2.log"));
    wait_for(card_present, "the card back in the reader");
    locked("after restarting openmyna vpcd");
    // … and of pcscd (the connector reconnects by itself).
    if let Some(old) = r.pcscd.take() {
        old.stop();
    }
    r.pcscd = Some(Pcscd::start(&p(d, "pcscd2.log")));
    wait_for(card_present, "the card after restarting pcscd");
    locked("after restarting pcscd");
    let (ok, out) = pkcs11_sign(d, "0", "1234", "01", "bad.sig");
    assert!(!ok, "a locked PIN opens nothing, even the right one: {out}");
    // The municipality's unlock (the CLI, audited) restores it while the card stays attached.
    let o = Command::new(env!("CARGO_BIN_EXE_openmyna"))
        .arg("--data-dir")
        .arg(&r.app.config.data_dir)
        .args([
            "card",
            "unlock",
            "--card",
            r.card.to_str().unwrap(),
            "--pin",
            "auth",
            "--actor",
            "test window",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, out) = run("pkcs15-tool", &["--list-pins"]);
    assert_eq!(tries_left(&out), [3, 5], "{out}");
    let (ok, out) = pkcs11_sign(d, "0", "1234", "01", "msg.sig");
    assert!(ok, "{out}");
    let events = r
        .app
        .store
        .cards()
        .card_events(&r.issued.serial)
        .await
        .unwrap();
    assert_eq!(events.last().map(|e| e.action.as_str()), Some("pin_reset"));
    r.finish().await;
}
