use std::sync::Arc;

use openmyna_core::Timestamp;
use openmyna_services::Services;

use crate::metrics::Metrics;

/// Everything a handler may use: one pointer, so that handing it to each request (axum
/// clones the state per request) costs one reference count.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl AppState {
    pub fn new(inner: AppStateInner) -> Self {
        AppState(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// The parts of [`AppState`]: the use cases' [`Services`] (storage, the CA, clock,
/// randomness; reached through `Deref`, so `s.store` is `s.services.store`), and what only the
/// HTTP layer has.
pub struct AppStateInner {
    pub services: Arc<Services>,
    pub metrics: Arc<Metrics>,
    pub info: Arc<ServerInfo>,
    /// The per-client limit of the public endpoints that create state without a login.
    pub public_rate: Arc<crate::rate::RateLimiter>,
}

impl std::ops::Deref for AppStateInner {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

/// Facts about this installation shown on the landing page and in metrics.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub version: &'static str,
    pub started_at: Timestamp,
    /// Where relying parties reach this server (used in certificate URLs later on).
    pub public_url: String,
    pub backend: &'static str,
}
