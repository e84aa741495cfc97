//! Storage for openmyna.
//!
//! One code base serves two backends: SQLite (the embedded default: a file in the data
//! directory, WAL mode, `synchronous=FULL` so that an acknowledged write survives a crash) and
//! PostgreSQL (selected by a `postgres://` URL; the path to scale out). Queries are written once
//! in the SQL both understand (`$1` placeholders, `ON CONFLICT`, `RETURNING`) and run through
//! sqlx's `Any` driver with runtime-checked queries, so building needs no live database. The
//! schema differs only in DDL types; each backend has its own migration directory.
//!
//! Conventions: times are stored as microseconds since the Unix epoch (UTC) in 64-bit integer
//! columns and returned in Japan time; dates are `YYYY-MM-DD` text; booleans are integers.
//!
//! Personal identifiers are protected at rest: a My Number is stored sealed with AES-256-GCM
//! and found through a keyed blind index (HMAC-SHA-256), with keys derived from the
//! installation's master key (see [`crypto`]).

pub mod access_log;
pub mod auth;
pub mod cache;
pub mod campaigns;
pub mod card_applications;
pub mod cards;
pub mod crypto;
pub mod eligibility;
pub mod events;
pub mod fourinfo;
mod group_commit;
pub mod households;
pub mod jpki;
pub mod konbini;
pub mod oidc;
pub mod platform;
pub mod portal;
mod registry;
pub mod transition;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use openmyna_core::{Timestamp, jst};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use crypto::{DataKeys, MasterKey};
pub use registry::BulkInsertOutcome;
pub use transition::StoredStatus;

/// The storage crate's errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {0:?} is not supported; use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("key material: {0}")]
    Crypto(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The PostgreSQL notification channel on which a certificate status change is announced
/// (payload: the root) when its transaction commits.
pub const CHANGES_CHANNEL: &str = "openmyna_jpki";

/// Hears the status changes of every server on a PostgreSQL database as they commit.
pub struct ChangeListener(sqlx::postgres::PgListener);

impl ChangeListener {
    /// Waits for the next change (several at once may come as one).
    pub async fn next(&mut self) -> Result<()> {
        self.0.recv().await?;
        Ok(())
    }
}

/// Declares an area's repository: a handle on the store, borrowed, that holds the area's
/// queries (`store.cards().card(…)`). It dereferences to the store for the shared plumbing
/// (pool, keys, backend, caches).
macro_rules! repositories {
    ($($(#[$doc:meta])* $accessor:ident => $name:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy)]
            pub struct $name<'a>(&'a Store);

            impl std::ops::Deref for $name<'_> {
                type Target = Store;
                fn deref(&self) -> &Store {
                    self.0
                }
            }
        )*

        impl Store {
            $(
                $(#[$doc])*
                pub fn $accessor(&self) -> $name<'_> {
                    $name(self)
                }
            )*
        }
    };
}

repositories! {
    /// The citizen's access log (アクセス記録): disclosures recorded and read, and the hash
    /// chain checked.
    access => AccessLog;
    /// Organisations, their API tokens, and console sessions.
    auth => Auth;
    /// Employers: profiles, divisions, employees, members, answers, campaigns, on-site
    /// sessions and My Number intake.
    employers => Employers;
    /// Card applications (交付申請): forms, applications, their status and delivery.
    applications => Applications;
    /// Cards: their life, certificates, events and sealed secrets.
    cards => Cards;
    /// Eligibility data loaded in bulk, and the facility consents a resident gave.
    eligibility => Eligibility;
    /// The registry's event outbox and its subscribers' cursors.
    events => Events;
    /// 世帯 (households and 続柄), 本籍・筆頭者, 旧氏 and the seal registry.
    households => Households;
    /// コンビニ交付: municipalities taking part, their signers, certificates issued, 支援措置.
    konbini => Konbini;
    /// The CA's bulk loading of revoked entries.
    ca => Ca;
    /// The citizen portal: sessions, the public-money account, smartphone certificates.
    portal => Portal;
    /// Residents loaded in bulk.
    residents => Residents;
    /// The OpenID Connect provider: clients, codes, tokens, signing keys, assertions seen.
    oidc => Oidc;
}

/// Set in `meta` once the access log of an earlier version has been chained.
const ACCESS_CHAIN_META: &str = "access_log.chained";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Tuning for a connection pool.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// SQLite's `synchronous` pragma: `FULL` (default) or `NORMAL`.
    pub sqlite_synchronous: String,
    /// SQLite page cache per connection, MiB (allocated only as used).
    pub sqlite_cache_mib: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
            sqlite_synchronous: "FULL".into(),
            sqlite_cache_mib: 64,
        }
    }
}

/// A handle on the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The URL connected to (for a PostgreSQL listener of its own).
    url: Arc<str>,
    keys: Arc<DataKeys>,
    cache: Arc<cache::Caches>,
    /// SQLite's page cache per connection, KiB (what `PRAGMA cache_size` is set back to).
    sqlite_cache_kib: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

fn sqlite_cache_kib(opts: &StoreOptions) -> u64 {
    u64::from(opts.sqlite_cache_mib.max(1)) * 1024
}

fn sqlite_cache_pragma(kib: u64) -> String {
    format!("PRAGMA cache_size = -{kib}")
}

impl Store {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:` or `postgres://…`).
    pub async fn connect(url: &str, keys: DataKeys, opts: &StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let connect_opts = AnyConnectOptions::from_str(url).map_err(StoreError::Connect)?;
        let mut pool = AnyPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            let sync = match opts.sqlite_synchronous.to_ascii_uppercase().as_str() {
                "NORMAL" => "NORMAL",
                _ => "FULL",
            };
            let cache_pragma = sqlite_cache_pragma(sqlite_cache_kib(opts));
            pool = pool.after_connect(move |conn, _meta| {
                let cache_pragma = cache_pragma.clone();
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    let pragma = if sync == "NORMAL" {
                        "PRAGMA synchronous = NORMAL"
                    } else {
                        "PRAGMA synchronous = FULL"
                    };
                    conn.execute(pragma).await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    // A page cache of `sqlite_cache_mib` per connection (64 MiB by default,
                    // allocated only as used): the registry's indexes are random-access, and
                    // SQLite's 2 MiB default thrashes.
                    conn.execute(sqlx::AssertSqlSafe(cache_pragma)).await?;
                    conn.execute("PRAGMA temp_store = MEMORY").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
        }
        let pool = pool
            .connect_with(connect_opts)
            .await
            .map_err(StoreError::Connect)?;
        Ok(Store {
            pool,
            backend,
            url: Arc::from(url),
            keys: Arc::new(keys),
            cache: Arc::new(cache::Caches::default()),
            sqlite_cache_kib: sqlite_cache_kib(opts),
        })
    }

    /// Applies the backend's migrations that have not run yet.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            // `sqlx::migrate!` is only re-exported with the query macros, which we do not use.
            Backend::Sqlite => {
                sqlx::sqlx_macros::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::sqlx_macros::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        // Once per database: entries written before the chain existed are chained, then the
        // start-up never scans the access log again.
        if self.meta(ACCESS_CHAIN_META).await?.is_none() {
            let chained = self.chain_legacy_access().await?;
            if chained > 0 {
                tracing::info!(
                    entries = chained,
                    "access-log entries of an earlier version chained"
                );
            }
            self.set_meta(ACCESS_CHAIN_META, "done").await?;
        }
        Ok(())
    }

    /// A transaction that reads and then writes: on SQLite it takes the write lock at BEGIN
    /// (`BEGIN IMMEDIATE`, waiting up to the busy timeout), so that what it read cannot be
    /// made stale by another writer before it writes (which SQLite would refuse at once).
    pub(crate) async fn begin_write(
        &self,
    ) -> std::result::Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// The pragma that gives a SQLite connection its configured page cache.
    pub(crate) fn sqlite_cache_pragma(&self) -> String {
        sqlite_cache_pragma(self.sqlite_cache_kib)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn keys(&self) -> &DataKeys {
        &self.keys
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The key of the installation's challenges (see [`DataKeys::challenge_key`]).
    pub fn challenge_key(&self) -> [u8; 32] {
        self.keys.challenge_key()
    }

    /// A listener of the status changes committed by any server, on PostgreSQL (a
    /// connection of its own); `None` on SQLite, where the servers follow the status log.
    pub async fn listen_changes(&self) -> Result<Option<ChangeListener>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let mut l = sqlx::postgres::PgListener::connect(&self.url)
            .await
            .map_err(StoreError::Connect)?;
        l.listen(CHANGES_CHANNEL).await?;
        Ok(Some(ChangeListener(l)))
    }

    /// Takes or renews the lease of `job` for `holder` until `until`: true when `holder` has
    /// it now (it was free, lapsed, or already `holder`'s). One statement, so two servers
    /// asking at once cannot both get it.
    pub async fn take_lease(
        &self,
        job: &str,
        holder: &str,
        now: &Timestamp,
        until: &Timestamp,
    ) -> Result<bool> {
        let row: Option<(String,)> = sqlx::query_as(
            "INSERT INTO job_leases (job, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE job_leases.holder = excluded.holder OR job_leases.until < $4 \
             RETURNING holder",
        )
        .bind(job)
        .bind(holder)
        .bind(to_micros(until))
        .bind(to_micros(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some_and(|(h,)| h == holder))
    }

    /// Forgets the used challenges that have expired (they can no longer be presented).
    pub async fn purge_used_challenges(&self, now: &Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM used_challenges WHERE expires_at < $1")
            .bind(to_micros(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Gives a lease up (a server stopping), so that another takes over at once.
    pub async fn release_lease(&self, job: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM job_leases WHERE job = $1 AND holder = $2")
            .bind(job)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Row counts of the main tables, for metrics and the statistics pages.
    pub async fn counts(&self) -> Result<Counts> {
        let one = |sql: &'static str| async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::from)
        };
        Ok(Counts {
            residents: one("SELECT COUNT(*) FROM residents").await?,
            active_residents: one("SELECT COUNT(*) FROM residents WHERE status = 'active'").await?,
            organisations: one("SELECT COUNT(*) FROM organisations").await?,
            events: one("SELECT COALESCE(MAX(seq), 0) FROM events").await?,
        })
    }
}

/// A dated series the operator console charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatedSeries {
    /// Insurers' enrollment records, by creation.
    Enrollments,
    /// Cards registered for health-insurance use (利用登録).
    InsuranceRegistrations,
}

impl Store {
    /// The times (microseconds) of a series' events at or after `since_micros`.
    pub async fn series_times(&self, series: DatedSeries, since_micros: i64) -> Result<Vec<i64>> {
        let sql = match series {
            DatedSeries::Enrollments => {
                "SELECT created_at FROM insurance_records WHERE created_at >= $1"
            }
            DatedSeries::InsuranceRegistrations => {
                "SELECT registered_at FROM insurance_registrations WHERE registered_at >= $1"
            }
        };
        Ok(sqlx::query_scalar(sql)
            .bind(since_micros)
            .fetch_all(self.pool())
            .await?)
    }
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Counts {
    pub residents: i64,
    pub active_residents: i64,
    pub organisations: i64,
    pub events: i64,
}

/// Removes the password from a URL before it is shown anywhere.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub(crate) fn to_micros(t: &Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(us: i64) -> Result<Timestamp> {
    match Utc.timestamp_micros(us) {
        chrono::LocalResult::Single(t) => Ok(DateTime::<Utc>::with_timezone(&t, &jst())),
        _ => Err(StoreError::Corrupt(format!("timestamp {us} out of range"))),
    }
}

pub(crate) fn parse_date(s: &str) -> Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| StoreError::Corrupt(format!("date {s:?}")))
}

/// Whether an error is a unique-constraint violation, and on which column (best effort).
pub(crate) fn unique_violation(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Some(db.message().to_owned()),
        _ => None,
    }
}

/// Runs one statement on a server outside any store (creating or dropping a database for a
/// benchmark or a test).
pub async fn admin_execute(url: &str, sql: &str) -> Result<()> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await?;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut c)
        .await?;
    let _ = c.close().await;
    Ok(())
}

impl Store {
    /// Ids of residents born on or before `born_by`, in id order (benchmarks pick from them).
    pub async fn resident_ids_born_by(
        &self,
        born_by: chrono::NaiveDate,
        limit: i64,
    ) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM residents WHERE birth_date <= $1 ORDER BY id LIMIT $2",
        )
        .bind(born_by.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@127.0.0.1/test"),
            "postgres://u:***@127.0.0.1/test"
        );
        assert_eq!(redact_url("postgres://u@h/t"), "postgres://u@h/t");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
