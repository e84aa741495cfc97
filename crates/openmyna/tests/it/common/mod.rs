//! The test kit: starts the real server on port 0 with a fresh database (a temporary SQLite
//! file, or a fresh PostgreSQL database created for the test) and drives it over HTTP.
//!
//! PostgreSQL tests run when `OPENMYNA_TEST_DATABASE_URL` names a server they may create
//! databases on (e.g. `postgres://postgres@127.0.0.1:5432/test`). Without it (at build time)
//! they are ignored, and at run time they fail if `OPENMYNA_TEST_REQUIRE_POSTGRES=1` (set by
//! CI). Each test's database is dropped when its `TestApp` is dropped, and databases left by
//! killed runs (`omt_<pid>_…` of processes no longer alive) are swept at the first start.
#![allow(dead_code)]

pub mod client;
pub mod fixtures;

use std::sync::Arc;

use openmyna::app::{self, RunningServer};
use openmyna::config::Config;
use openmyna::demo;
use openmyna_core::{Clock, ManualClock, Role, SeededEntropy};
use openmyna_store::Store;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub config: Config,
    tokens: Vec<(Role, String)>,
    server: Option<RunningServer>,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

/// Generates one `#[tokio::test]` per backend for an async test function taking a `Backend`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(
                    not(openmyna_test_pg),
                    ignore = "no PostgreSQL: build with OPENMYNA_TEST_DATABASE_URL set to run it"
                )]
                async fn postgres() {
                    if $crate::common::postgres_url().is_some() {
                        super::$name($crate::common::Backend::Postgres).await
                    }
                }
            }
        )*
    };
}

/// The PostgreSQL server for tests, if configured.
pub fn postgres_url() -> Option<String> {
    match std::env::var("OPENMYNA_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("OPENMYNA_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("OPENMYNA_TEST_REQUIRE_POSTGRES=1 but OPENMYNA_TEST_DATABASE_URL is unset");
            }
            eprintln!("SKIPPED: PostgreSQL test (set OPENMYNA_TEST_DATABASE_URL to run it)");
            None
        }
    }
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let root = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

async fn admin_exec(url: &str, sql: &str) {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the PostgreSQL test server: {e}"));
    c.execute(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = c.close().await;
}

pub fn start_time() -> openmyna_core::Timestamp {
    chrono::DateTime::parse_from_rfc3339("2026-04-01T09:00:00+09:00").unwrap()
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_at(backend, start_time()).await
}

/// Now, to the second, in Japan time: for tests where real tools (OpenSSL) judge validity
/// against the real clock.
pub fn real_now() -> openmyna_core::Timestamp {
    use chrono::{SubsecRound, Utc};
    Utc::now()
        .trunc_subsecs(0)
        .with_timezone(&openmyna_core::jst())
}

pub async fn spawn_app_at(backend: Backend, start: openmyna_core::Timestamp) -> TestApp {
    spawn_app_configured(backend, start, |_| {}).await
}

/// A server whose configuration `tweak` adjusts before it starts.
pub async fn spawn_app_configured(
    backend: Backend,
    start: openmyna_core::Timestamp,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::load(None, Vec::new()).unwrap();
    config.data_dir = dir.path().join("data");
    config.demo.persons = 0;
    config.server.listen = "127.0.0.1:0".into();
    tweak(&mut config);
    let mut pg = None;
    if backend == Backend::Postgres {
        let admin = postgres_url().expect("PostgreSQL URL");
        sweep_leftover_databases(&admin).await;
        let name = format!("omt_{}_{:x}", std::process::id(), rand_suffix());
        admin_exec(&admin, &format!("CREATE DATABASE {name}")).await;
        config.database.url = with_database(&admin, &name);
        pg = Some((admin, name));
    }
    let store = app::open_store(&config).await.unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let tokens = demo::create_demo_organisations(&store, clock.as_ref())
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.role, t.token))
        .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = app::start(
        &config,
        store.clone(),
        listener,
        clock.clone() as Arc<dyn Clock>,
        Arc::new(SeededEntropy::new(7)),
    )
    .await
    .unwrap();
    TestApp {
        url: server.url(),
        client: reqwest::Client::new(),
        store,
        clock,
        config,
        tokens,
        server: Some(server),
        pg,
        _dir: dir,
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .elapsed()
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish()
}

impl TestApp {
    /// Registers an adult (born 1985) or a child (born 2015) and returns the resident id.
    pub async fn register_resident(&self, adult: bool) -> i64 {
        let birth = if adult { "1985-06-15" } else { "2015-06-15" };
        let (s, r) = self
            .post(
                "/api/v1/registry/residents",
                Some(Role::Municipality),
                &serde_json::json!({
                    "name": "山田 太郎", "name_kana": "ヤマダ タロウ", "birth_date": birth, "sex": 1,
                    "address": {"municipality_code": "131016", "postal_code": "1000013",
                                "text": "東京都千代田区霞が関一丁目1番1号"}
                }),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        r["id"].as_i64().unwrap()
    }

    /// The CA service on this app's database (as `openmyna card issue` opens it).
    pub async fn jpki(&self) -> openmyna_jpki::Jpki<Store> {
        app::open_jpki(
            &self.config,
            &self.store,
            &self.url,
            self.clock.clone() as Arc<dyn Clock>,
            // Serials must differ between the CA instances a test opens.
            Arc::new(openmyna_core::OsEntropy),
        )
        .await
        .unwrap()
    }

    /// Issues a card to `resident` into `out` with PINs 1234 / ABC123 (adults) / 5678.
    pub async fn issue_card(
        &self,
        resident: i64,
        out: &std::path::Path,
        sign_password: Option<&str>,
    ) -> Result<openmyna_services::cards::IssuedCard, openmyna_services::ServiceError> {
        let jpki = self.jpki().await;
        openmyna_services::cards::issue(
            &self.store,
            &jpki,
            self.clock.as_ref(),
            &openmyna_core::OsEntropy,
            &openmyna_services::cards::IssueRequest {
                resident_id: resident,
                out,
                auth_pin: "1234",
                sign_password,
                assist_pin: Some("5678"),
                juki_pin: None,
                card_expiry: None,
                actor: "test window",
            },
        )
        .await
    }

    /// Every demo token of a role (e.g. the two demo municipalities).
    pub fn tokens_of(&self, role: Role) -> Vec<&str> {
        self.tokens
            .iter()
            .filter(|(r, _)| *r == role)
            .map(|(_, t)| t.as_str())
            .collect()
    }

    /// POST with an explicit bearer token.
    pub async fn post_as(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.as_token(token).post(path, body).await
    }

    pub fn token(&self, role: Role) -> &str {
        &self
            .tokens
            .iter()
            .find(|(r, _)| *r == role)
            .expect("a demo organisation for every role")
            .1
    }

    /// GET as `role` (its demo token), or without a token.
    pub async fn get(&self, path: &str, role: Option<Role>) -> (u16, Value) {
        match role {
            Some(r) => self.as_role(r).get(path).await,
            None => self.anonymous().get(path).await,
        }
    }

    /// The body of a GET without a token, as bytes (a certificate, a CRL).
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let resp = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        resp.bytes().await.unwrap().to_vec()
    }

    /// POST as `role` (its demo token), or without a token.
    pub async fn post(&self, path: &str, role: Option<Role>, body: &Value) -> (u16, Value) {
        match role {
            Some(r) => self.as_role(r).post(path, body).await,
            None => self.anonymous().post(path, body).await,
        }
    }

    /// A reader terminal registered by the demo clinic: its token.
    pub async fn terminal_token(&self) -> String {
        let (s, r) = self
            .post(
                "/api/v1/oqs/terminals",
                Some(Role::MedicalInstitution),
                &serde_json::json!({"name": "受付1"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        r["token"].as_str().unwrap().to_owned()
    }

    /// A `openmyna serve` process on this test's database and data directory (same master
    /// key), on a port of its own; its URL from what it prints.
    pub fn serve_process(&self) -> (std::process::Child, String) {
        use std::io::BufRead;
        // Its log beside the data directory, quoted if it does not start.
        let log_path = self.config.data_dir.with_file_name("serve.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_openmyna"))
            .args(["serve", "--listen", "127.0.0.1:0", "--demo-persons", "0"])
            .env("OPENMYNA_DATA_DIR", &self.config.data_dir)
            .env("OPENMYNA_DATABASE_URL", &self.config.database.url)
            .env("OPENMYNA_LOG_FILTER", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(out).lines();
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                panic!(
                    "the server did not print its address; its log ends:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            };
            if let Some(u) = line.strip_prefix("openmyna listening on ") {
                break u.trim().to_owned();
            }
        };
        // Keep draining its output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        (child, url)
    }

    /// Stops the in-process server, keeping the database and the data directory (for tests
    /// that go on with `serve_process`).
    pub async fn stop_server(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.unwrap();
        }
    }

    /// Stops the server and drops the test database (dropping the `TestApp` without
    /// `finish` drops the database too).
    pub async fn finish(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.unwrap();
        }
        self.store.close().await;
        if let Some((admin, name)) = self.pg.take() {
            admin_exec(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
    }
}

impl Drop for TestApp {
    /// A test that failed (or did not call `finish`) still drops its PostgreSQL database, on
    /// a thread of its own (no runtime may be running here).
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let done = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(admin_exec(&admin, &sql));
                }
            })
            .join();
            if done.is_err() {
                eprintln!("could not drop the test database {name}");
            }
        }
    }
}

/// Drops the test databases of earlier runs that were killed before they could drop their
/// own (`omt_<pid>_…` whose process is gone). Runs once per test process.
async fn sweep_leftover_databases(admin: &str) {
    use sqlx::{Connection, Row};
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            sqlx::any::install_default_drivers();
            let Ok(mut c) = sqlx::AnyConnection::connect(admin).await else {
                return;
            };
            let rows = sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'omt\\_%'")
                .fetch_all(&mut c)
                .await
                .unwrap_or_default();
            let _ = c.close().await;
            for r in rows {
                let Ok(name) = r.try_get::<String, _>(0) else {
                    continue;
                };
                let pid = name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
                let alive =
                    pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
                if !alive {
                    admin_exec(
                        admin,
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    )
                    .await;
                }
            }
        })
        .await;
}
