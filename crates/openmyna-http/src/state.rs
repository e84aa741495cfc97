use std::sync::Arc;

use openmyna_core::{Clock, Entropy, Timestamp};
use openmyna_jpki::Jpki;
use openmyna_store::Store;

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

/// The parts of [`AppState`].
pub struct AppStateInner {
    pub store: Store,
    pub jpki: Arc<Jpki<Store>>,
    /// Serialises the registry-event subscriber (see `subscribers`).
    pub subscriber_lock: Arc<tokio::sync::Mutex<()>>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub metrics: Arc<Metrics>,
    pub info: Arc<ServerInfo>,
    /// Where manufactured cards wait for handover or mail (`<data_dir>/cards`, mode 0700).
    pub card_dir: std::path::PathBuf,
    /// The reader's outstanding challenges (eligibility verification).
    pub challenges: Arc<openmyna_eligibility::challenge::ChallengeBook>,
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
