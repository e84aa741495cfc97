//! Layered configuration: built-in defaults, then a TOML file, then `OPENMYNA_*` environment
//! variables, then command-line flags. Unknown keys in the file and unknown `OPENMYNA_*`
//! variables are errors, so a typo never silently falls back to a default.
//!
//! ```toml
//! data_dir = "openmyna-data"
//!
//! [server]
//! listen = "127.0.0.1:8080"
//! public_url = "http://127.0.0.1:8080"
//! public_rate_per_minute = 300            # per client address, public endpoints; 0: none
//!
//! [database]
//! url = "postgres://127.0.0.1/openmyna"   # default: sqlite://<data_dir>/openmyna.db
//! max_connections = 16
//! sqlite_synchronous = "FULL"             # or NORMAL
//! sqlite_cache_mib = 64                   # page cache per SQLite connection
//!
//! [storage]
//! master_key = "<64 hex digits>"          # default: <data_dir>/master.key, created at first start
//!
//! [demo]
//! persons = 10000                         # seeded into an empty database by `serve`; 0 = none
//! seed = 1
//!
//! [log]
//! filter = "info"                         # tracing filter directives
//!
//! [jpki]
//! profile = "current"                     # or next_generation (ECDSA P-384), at root creation
//! partition_size = 1000000                # certificates per CRL partition
//! full_crl_hours = 24                     # full CRLs on this schedule; deltas hourly
//! ```
//!
//! Environment variables name the same keys: `OPENMYNA_DATA_DIR`, `OPENMYNA_SERVER_LISTEN`,
//! `OPENMYNA_DATABASE_URL`, `OPENMYNA_DEMO_PERSONS`, … (section and key joined by `_`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub storage: StorageConfig,
    pub demo: DemoConfig,
    pub log: LogConfig,
    pub jpki: JpkiSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JpkiSettings {
    /// `current` (RSA-2048 / SHA-256 roots) or `next_generation` (ECDSA P-384 / SHA-384);
    /// applies when the roots are created.
    pub profile: String,
    /// Certificates per CRL partition.
    pub partition_size: i64,
    /// Hours between scheduled full CRLs (deltas are published every hour).
    pub full_crl_hours: i64,
}

impl Default for JpkiSettings {
    fn default() -> Self {
        JpkiSettings {
            profile: "current".into(),
            partition_size: 1_000_000,
            full_crl_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    /// Base URL relying parties use to reach this server; empty: derived from `listen`. The
    /// CA records it at `ca init`; a different one later is refused (`ca set-url`).
    pub public_url: String,
    /// Seconds a client may take to send a request's headers before it is disconnected.
    pub header_timeout_secs: u64,
    /// Seconds a request body may stall (no bytes) before the request fails.
    pub body_timeout_secs: u64,
    /// Requests a minute per client address to the public endpoints that create state
    /// without a login (portal challenge, browser pairing, card application); 0: no limit.
    pub public_rate_per_minute: u32,
}

impl ServerConfig {
    /// The slow-client limits of every listener.
    pub fn connection_limits(&self) -> openmyna_http::listener::ConnectionLimits {
        openmyna_http::listener::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_timeout_secs.max(1)),
            body_read_timeout: std::time::Duration::from_secs(self.body_timeout_secs.max(1)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Empty: SQLite in the data directory.
    pub url: String,
    pub max_connections: u32,
    pub sqlite_synchronous: String,
    pub sqlite_cache_mib: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// 64 hex digits; empty: `<data_dir>/master.key`.
    pub master_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    pub persons: u64,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("openmyna-data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            storage: StorageConfig::default(),
            demo: DemoConfig::default(),
            log: LogConfig::default(),
            jpki: JpkiSettings::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            header_timeout_secs: 10,
            body_timeout_secs: 10,
            public_rate_per_minute: 300,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: String::new(),
            max_connections: 16,
            sqlite_synchronous: "FULL".into(),
            sqlite_cache_mib: 64,
        }
    }
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            persons: 10_000,
            seed: 1,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
}

/// Every setting that an environment variable may override: (section, key, kind).
const SETTINGS: &[(&str, &str, Kind)] = &[
    ("", "data_dir", Kind::Str),
    ("server", "listen", Kind::Str),
    ("server", "public_url", Kind::Str),
    ("server", "header_timeout_secs", Kind::Int),
    ("server", "body_timeout_secs", Kind::Int),
    ("server", "public_rate_per_minute", Kind::Int),
    ("database", "url", Kind::Str),
    ("database", "max_connections", Kind::Int),
    ("database", "sqlite_synchronous", Kind::Str),
    ("database", "sqlite_cache_mib", Kind::Int),
    ("storage", "master_key", Kind::Str),
    ("demo", "persons", Kind::Int),
    ("demo", "seed", Kind::Int),
    ("log", "filter", Kind::Str),
    ("jpki", "profile", Kind::Str),
    ("jpki", "partition_size", Kind::Int),
    ("jpki", "full_crl_hours", Kind::Int),
];

/// Variables with the prefix that are not settings: the config file's path, and the test
/// suite's own variables.
fn is_reserved(name: &str) -> bool {
    name == "OPENMYNA_CONFIG" || name.starts_with("OPENMYNA_TEST_")
}

fn env_name(section: &str, key: &str) -> String {
    if section.is_empty() {
        format!("OPENMYNA_{}", key.to_ascii_uppercase())
    } else {
        format!(
            "OPENMYNA_{}_{}",
            section.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        )
    }
}

impl Config {
    /// Defaults ← file (if given) ← environment.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse {
                        path: path.to_owned(),
                        message: e.to_string(),
                    })?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            if !name.starts_with("OPENMYNA_") || is_reserved(&name) {
                continue;
            }
            let Some(&(section, key, kind)) =
                SETTINGS.iter().find(|(s, k, _)| env_name(s, k) == name)
            else {
                let known: Vec<String> = SETTINGS.iter().map(|(s, k, _)| env_name(s, k)).collect();
                return Err(ConfigError::Env {
                    name,
                    message: format!("not a setting; known: {}", known.join(", ")),
                });
            };
            let v = match kind {
                Kind::Str => toml::Value::String(value),
                Kind::Int => {
                    toml::Value::Integer(value.trim().parse().map_err(|_| ConfigError::Env {
                        name: name.clone(),
                        message: format!("{value:?} is not a whole number"),
                    })?)
                }
            };
            let target = if section.is_empty() {
                &mut table
            } else {
                match table
                    .entry(section)
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                {
                    toml::Value::Table(t) => t,
                    _ => {
                        return Err(ConfigError::Invalid(format!("[{section}] must be a table")));
                    }
                }
            };
            target.insert(key.to_owned(), v);
        }
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: file
                        .map(Path::to_owned)
                        .unwrap_or_else(|| "(environment)".into()),
                    message: e.to_string(),
                })?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        let sync = self.database.sqlite_synchronous.to_ascii_uppercase();
        if sync != "FULL" && sync != "NORMAL" {
            return Err(ConfigError::Invalid(
                "database.sqlite_synchronous must be FULL or NORMAL".into(),
            ));
        }
        if self.jpki.profile != "current" && self.jpki.profile != "next_generation" {
            return Err(ConfigError::Invalid(
                "jpki.profile must be current or next_generation".into(),
            ));
        }
        if self.jpki.partition_size < 1 || self.jpki.full_crl_hours < 1 {
            return Err(ConfigError::Invalid(
                "jpki.partition_size and jpki.full_crl_hours must be at least 1".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        let url = &self.database.url;
        if !url.is_empty()
            && !url.starts_with("sqlite:")
            && !url.starts_with("postgres://")
            && !url.starts_with("postgresql://")
        {
            return Err(ConfigError::Invalid(
                "database.url must start with sqlite: or postgres://".into(),
            ));
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "server.listen {:?} is not an address such as 127.0.0.1:8080",
                self.server.listen
            ))
        })
    }

    /// The database URL in effect (SQLite in the data directory unless set).
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("openmyna.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:8080");
        assert_eq!(
            c.database_url(),
            "sqlite://openmyna-data/openmyna.db?mode=rwc"
        );
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[server]\nlisten = \"127.0.0.1:9000\"\n[demo]\npersons = 5\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&p),
            env(&[
                ("OPENMYNA_DEMO_PERSONS", "7"),
                ("OPENMYNA_DATABASE_URL", "postgres://127.0.0.1/test"),
                ("OPENMYNA_TEST_DATABASE_URL", "ignored"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:9000");
        assert_eq!(c.demo.persons, 7);
        assert_eq!(c.database_url(), "postgres://127.0.0.1/test");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[server]\nlisen = \"127.0.0.1:9000\"\n").unwrap();
        let e = Config::load(Some(&p), env(&[])).unwrap_err().to_string();
        assert!(e.contains("unknown field `lisen`"), "{e}");
        let e = Config::load(None, env(&[("OPENMYNA_SERVER_LISEN", "x")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("OPENMYNA_SERVER_LISEN") && e.contains("not a setting"),
            "{e}"
        );
        let e = Config::load(None, env(&[("OPENMYNA_DEMO_PERSONS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a whole number"), "{e}");
        assert!(Config::load(None, env(&[("OPENMYNA_SERVER_LISTEN", "nowhere")])).is_err());
    }
}
