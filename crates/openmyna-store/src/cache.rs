//! In-process caches of rows that are read on every request and (almost) never change:
//! authenticated tokens, organisations, reader terminals, 利用登録. Each entry is either
//! immutable once written (organisations, terminals, registrations) or short-lived and
//! dropped on revocation in this process (tokens).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// A token revoked by another process (the command line) stops working within this time; a
/// token revoked through this server's API stops at once.
pub const TOKEN_TTL: Duration = Duration::from_secs(5);

/// Entries per map before it is emptied (a bound on memory, not an eviction policy): small
/// rows (tokens, organisations, terminals, registrations — a national installation has about
/// 350,000 terminals) and per-patient rows (records, consents; about 1–2 KB each).
const MAX_SMALL: usize = 1_000_000;
const MAX_PATIENT: usize = 200_000;

pub(crate) struct Map<K, V> {
    inner: RwLock<HashMap<K, V>>,
    max: usize,
}

impl<K: Eq + Hash, V: Clone> Default for Map<K, V> {
    fn default() -> Self {
        Map {
            inner: RwLock::new(HashMap::new()),
            max: MAX_SMALL,
        }
    }
}

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    pub(crate) fn patient() -> Self {
        Map {
            inner: RwLock::new(HashMap::new()),
            max: MAX_PATIENT,
        }
    }

    pub(crate) fn get(&self, k: &K) -> Option<V> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(k)
            .cloned()
    }

    pub(crate) fn put(&self, k: K, v: V) {
        let mut m = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if m.len() >= self.max {
            m.clear();
        }
        m.insert(k, v);
    }

    /// Puts `v` unless `epoch` has moved since the caller read it (checked under the write
    /// lock, which every invalidation takes after moving the epoch).
    pub(crate) fn put_if(
        &self,
        epoch_now: &std::sync::atomic::AtomicU64,
        read_at: u64,
        k: K,
        v: V,
    ) {
        let mut m = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if epoch_now.load(std::sync::atomic::Ordering::SeqCst) != read_at {
            return;
        }
        if m.len() >= self.max {
            m.clear();
        }
        m.insert(k, v);
    }

    pub(crate) fn remove(&self, k: &K) {
        self.inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(k);
    }

    pub(crate) fn clear(&self) {
        self.inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    pub(crate) fn retain(&self, f: impl FnMut(&K, &mut V) -> bool) {
        self.inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(f);
    }
}

/// (category, given at µs, expires at µs) of one facility's consents for one person.
pub(crate) type ConsentRows = std::sync::Arc<Vec<(String, i64, i64)>>;

pub(crate) struct Caches {
    /// Bumped by every invalidation of `records` or `consents`: a value read from the
    /// database before a change is not put in the cache after it.
    pub(crate) epoch: std::sync::atomic::AtomicU64,
    /// sha256(token) → (actor, expires_at µs, cached at).
    pub(crate) tokens: Map<String, (openmyna_core::Actor, Option<i64>, Instant)>,
    pub(crate) organisations: Map<i64, crate::auth::Organisation>,
    pub(crate) terminals: Map<i64, openmyna_eligibility::Terminal>,
    pub(crate) registrations: Map<i64, openmyna_eligibility::Registration>,
    /// Secrets sealed in `meta` (signing keys), by meta key: they never change once made.
    pub(crate) secrets: Map<String, Vec<u8>>,
    /// A resident's enrollment records.
    pub(crate) records: Map<i64, std::sync::Arc<Vec<openmyna_eligibility::StoredRecord>>>,
    /// (facility, resident) → consents not yet expired when read: (category, given, expires).
    pub(crate) consents: Map<(i64, i64), ConsentRows>,
    /// The verification writer (see `group_commit`), started on first use.
    pub(crate) verification_queue: std::sync::OnceLock<crate::group_commit::Queue>,
}

impl Caches {
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn bump(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            epoch: Default::default(),
            tokens: Map::default(),
            organisations: Map::default(),
            terminals: Map::default(),
            registrations: Map::default(),
            secrets: Map::default(),
            records: Map::patient(),
            consents: Map::patient(),
            verification_queue: Default::default(),
        }
    }
}
