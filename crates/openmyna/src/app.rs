//! The composition root: opens storage from configuration, builds the HTTP application with the
//! real clock and entropy, and runs it until asked to stop.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use openmyna_core::{Clock, Entropy, OsEntropy, SystemClock};
use openmyna_http::metrics::Metrics;
use openmyna_http::{AppState, AppStateInner, ServerInfo};
use openmyna_jpki::{Jpki, JpkiConfig, KeyKind};
use openmyna_services::{Services, registry_sync, scheduler};
use openmyna_store::{DataKeys, MasterKey, Store, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError};
use crate::demo;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] openmyna_store::StoreError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("certification authority: {0}")]
    Jpki(#[from] openmyna_jpki::JpkiError),
    #[error(transparent)]
    Service(#[from] openmyna_services::ServiceError),
    #[error("{0}")]
    Invalid(String),
}

impl From<openmyna_cardio::CardIoError> for AppError {
    fn from(e: openmyna_cardio::CardIoError) -> Self {
        AppError::Invalid(e.to_string())
    }
}

impl From<openmyna_card::CardError> for AppError {
    fn from(e: openmyna_card::CardError) -> Self {
        AppError::Invalid(e.to_string())
    }
}

impl AppError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        AppError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Creates the data directory (mode 0700) if needed.
pub fn ensure_data_dir(dir: &Path) -> Result<(), AppError> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| AppError::io(format!("creating {}", dir.display()), e))?;
    }
    Ok(())
}

/// Opens the database of `config` and brings its schema up to date.
pub async fn open_store(config: &Config) -> Result<Store, AppError> {
    ensure_data_dir(&config.data_dir)?;
    let master = if config.storage.master_key.is_empty() {
        MasterKey::load_or_create(&config.data_dir.join("master.key"))?
    } else {
        MasterKey::from_hex(&config.storage.master_key)?
    };
    let keys = DataKeys::derive(&master)?;
    let url = config.database_url();
    let store = Store::connect(
        &url,
        keys,
        &StoreOptions {
            max_connections: config.database.max_connections,
            sqlite_synchronous: config.database.sqlite_synchronous.clone(),
            sqlite_cache_mib: config.database.sqlite_cache_mib,
        },
    )
    .await?;
    store.migrate().await?;
    tracing::info!(
        backend = store.backend().as_str(),
        database = %openmyna_store::redact_url(&url),
        "database ready"
    );
    Ok(store)
}

/// The public URL of the server: configured, or derived from the listening address.
pub fn public_url(config: &Config, addr: SocketAddr) -> String {
    if config.server.public_url.is_empty() {
        format!("http://{addr}")
    } else {
        config.server.public_url.trim_end_matches('/').to_owned()
    }
}

/// Opens the CA: loads the roots, creating them on first use (`ca init`).
pub async fn open_jpki(
    config: &Config,
    store: &Store,
    public_url: &str,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
) -> Result<Jpki<Store>, AppError> {
    let mut jc = JpkiConfig::new(public_url, &config.data_dir.join("crl"));
    jc.public_url_configured = !config.server.public_url.is_empty();
    jc.root_key = if config.jpki.profile == "next_generation" {
        KeyKind::EcP384
    } else {
        KeyKind::Rsa2048
    };
    jc.partition_size = config.jpki.partition_size;
    Ok(Jpki::open(store.clone(), clock, entropy, jc).await?)
}

/// The store and the CA as the command-line tools open them (OS randomness, the configured
/// public URL).
pub async fn open_ca(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<(Store, Jpki<Store>, Arc<dyn Entropy>), AppError> {
    let store = open_store(config).await?;
    let url = public_url(config, config.listen_addr()?);
    let entropy: Arc<dyn Entropy> = Arc::new(openmyna_core::OsEntropy);
    let jpki = open_jpki(config, &store, &url, clock, entropy.clone()).await?;
    Ok((store, jpki, entropy))
}

/// A server running in the background, for `serve` and for tests.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub store: Store,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting connections, lets requests in flight finish, and waits.
    pub async fn stop(mut self) -> Result<(), AppError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.handle.await {
            Ok(r) => r.map_err(|e| AppError::io("serving", e)),
            Err(e) => Err(AppError::Invalid(format!("server task failed: {e}"))),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Starts the HTTP server on `listener` with the given clock and entropy.
pub async fn start(
    config: &Config,
    store: Store,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
) -> Result<RunningServer, AppError> {
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::io("reading the listening address", e))?;
    let public_url = public_url(config, addr);
    let jpki =
        Arc::new(open_jpki(config, &store, &public_url, clock.clone(), entropy.clone()).await?);
    let services = Arc::new(Services::new(
        store.clone(),
        jpki,
        clock.clone(),
        entropy,
        config.data_dir.join("cards"),
    ));
    let state = AppState::new(AppStateInner {
        services,
        metrics: Arc::new(Metrics::default()),
        public_rate: Arc::new(openmyna_http::rate::RateLimiter::new(
            config.server.public_rate_per_minute,
        )),
        info: Arc::new(ServerInfo {
            version: env!("CARGO_PKG_VERSION"),
            started_at: clock.now(),
            public_url,
            backend: store.backend().as_str(),
        }),
    });
    // Catch up with registry events left unprocessed by a crash, then keep watching.
    if let Err(e) = registry_sync::sync_registry_to_jpki(&state).await {
        tracing::warn!(error = %e, "registry subscriber could not catch up at start");
    }
    let background = spawn_background(state.clone(), config.jpki.full_crl_hours);
    let (tx, rx) = oneshot::channel::<()>();
    let limits = config.server.connection_limits();
    let handle = tokio::spawn(async move {
        let services = state.services.clone();
        let r = openmyna_http::serve(listener, state, limits, async move {
            let _ = rx.await;
        })
        .await;
        background.abort();
        // Another server takes the scheduled work over at its next tick.
        scheduler::step_down(&services).await;
        r
    });
    Ok(RunningServer {
        addr,
        store,
        shutdown: Some(tx),
        handle,
    })
}

/// Background work: the registry subscriber every few seconds, deltas hourly, full CRLs on
/// their schedule (and once at start if none was ever published), and the daily deletion of
/// employees' My Numbers whose retention period has ended.
/// Aborts a task when dropped (with the task that owns it).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn spawn_background(state: AppState, full_crl_hours: i64) -> JoinHandle<()> {
    // On PostgreSQL, a status change committed by another server is heard at once
    // (LISTEN/NOTIFY); the half-second poll below stays as the fallback (and is the way on
    // SQLite). Changes made through this server reach its caches before it answers.
    let listener = {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                match state.store.listen_changes().await {
                    Ok(None) => return,
                    Ok(Some(mut l)) => {
                        while l.next().await.is_ok() {
                            if let Err(e) = state.jpki.follow_changes().await {
                                tracing::warn!(error = %e, "following a notified change failed");
                            }
                        }
                        tracing::warn!("the change listener lost its connection; reconnecting");
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot listen for changes; retrying"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        })
    };
    let follower = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = state.jpki.follow_changes().await {
                    tracing::warn!(error = %e, "following status changes failed; will retry");
                }
            }
        })
    };
    tokio::spawn(async move {
        let _follower = AbortOnDrop(follower);
        let _listener = AbortOnDrop(listener);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        let mut schedule = scheduler::Schedule::new(full_crl_hours, state.clock.now());
        loop {
            tick.tick().await;
            scheduler::tick(&state, &mut schedule).await;
        }
    })
}

/// Waits for Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `openmyna serve`: open storage, seed the demo population into an empty database, serve
/// until Ctrl-C or SIGTERM, then drain and close.
pub async fn serve(config: Config) -> Result<(), AppError> {
    // The port first: a busy port is reported at once, before any seeding.
    let addr = config.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| AppError::io(format!("binding {addr}"), e))?;
    let store = open_store(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let entropy: Arc<dyn Entropy> = Arc::new(OsEntropy);
    demo::seed_if_empty(&config, &store, clock.as_ref()).await?;
    let server = start(&config, store.clone(), listener, clock, entropy).await?;
    tracing::info!(url = %server.url(), "openmyna is serving; Ctrl-C to stop");
    println!("openmyna listening on {}", server.url());
    shutdown_signal().await;
    tracing::info!("shutting down: draining requests");
    server.stop().await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
