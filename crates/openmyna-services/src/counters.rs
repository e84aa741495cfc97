//! Counts of domain outcomes since the process started, for `/metrics`: eligibility checks by
//! kind (card, key query) and outcome (the validity, or the refusal's code); verification-platform
//! checks by outcome.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The outcome counters of one process.
#[derive(Debug, Default)]
pub struct Counters {
    eligibility: Mutex<BTreeMap<(&'static str, String), u64>>,
    platform: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    /// Counts an eligibility check: `kind` is `card` or `query`; `outcome` the validity's
    /// name, the refusal's code, or `error` for a failure of ours.
    pub fn eligibility(&self, kind: &'static str, outcome: &str) {
        let mut m = self.eligibility.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((kind, outcome.to_owned())).or_default() += 1;
    }

    /// ((kind, outcome), count), sorted.
    pub fn eligibility_snapshot(&self) -> Vec<((&'static str, String), u64)> {
        self.eligibility
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Counts a verification-platform check by outcome (`verified`, or the first failed
    /// step's code).
    pub fn platform_check(&self, outcome: &str) {
        let mut m = self.platform.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(outcome.to_owned()).or_default() += 1;
    }

    /// (outcome, count), sorted.
    pub fn platform_snapshot(&self) -> Vec<(String, u64)> {
        self.platform
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}
