//! The use cases of openmyna.
//!
//! Each feature's orchestration lives here, between the domain crates (rules, no I/O but
//! through their store traits) and the ways in: the HTTP handlers and pages
//! (`openmyna-http`), the command line and the background scheduler (`openmyna`). A use case
//! takes validated input, composes the registry, the CA, the card, the store and the rules, and
//! returns domain values or a [`ServiceError`]; it knows nothing of HTTP.
//!
//! | module | use cases |
//! |---|---|
//! | [`admin`] | organisations' codes checked against their role |
//! | [`applications`] | card applications: forms, applying, on-site intake, review, manufacture, handover at the window, receipt of a mailed card |
//! | [`campaigns`] | card-uptake campaigns: answers and their import, the dashboard, campaigns and measures, associations' member figures, the ministry report, on-site sessions |
//! | [`cards`] | a card issued, renewed, given a new signing certificate, its PIN reset (card present); card events (loss, found, return, abroad) and their effect on the certificates |
//! | [`console`] | the operator console: sessions from an operator token, the overview, certificate search |
//! | [`issuance`] | the phases of making a card: manufacture, activation, recording |
//! | [`registry_sync`] | registry changes → certificate revocations and void cards |
//! | [`employers`] | employers: who acts (administrator, HR, employee), profile, divisions, employees, member tokens, the My Number intake and its export, the retention sweep |
//! | [`portal`] | the citizen portal: card login and sessions, own data and insurance, consents, the signed access log, the public-money account, phones' certificates and the hotline, medical-expense notices |
//! | [`oidc`] | the OpenID Connect provider: clients, the authorisation request, the holder's consent, the token and userinfo endpoints, the rotating ID-token key |
//! | [`platform`] | the verification platform for relying parties: signed documents and signatures checked step by step, re-checks, the 確認記録 |
//! | [`jpki`] | the registry's basic four information as a certificate holder, card certificates for given keys, status changes, CRLs on demand, the roots and published CRL files |
//! | [`scheduler`] | the background work on the injected clock: subscriber catch-up, retention sweep, CRL publication |

pub mod admin;
pub mod applications;
pub mod campaigns;
pub mod cards;
pub mod certificates;
pub mod console;
pub mod counters;
pub mod eligibility;
pub mod employers;
pub mod error;
pub mod households;
pub mod issuance;
pub mod jpki;
pub mod oidc;
pub mod platform;
pub mod portal;
pub mod registry_sync;
pub mod scheduler;

use std::sync::Arc;

use openmyna_core::{Clock, Entropy};
use openmyna_eligibility::challenge::ChallengeBook;
use openmyna_jpki::Jpki;
use openmyna_store::Store;

pub use error::{Result, ServiceError};

/// What the use cases run on: storage, the CA, the injected clock and randomness, and the
/// few pieces of process state they share. One per process; cheap to share by reference.
pub struct Services {
    pub store: Store,
    pub jpki: Arc<Jpki<Store>>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    /// Serialises the registry-event subscriber ([`registry_sync`]).
    pub subscriber_lock: Arc<tokio::sync::Mutex<()>>,
    /// Where manufactured cards wait for handover or mail (`<data_dir>/cards`, mode 0700).
    pub card_dir: std::path::PathBuf,
    /// The reader's outstanding challenges (eligibility verification).
    pub challenges: Arc<ChallengeBook>,
    /// Outcomes counted for the metrics.
    pub counters: Arc<counters::Counters>,
    /// This process among the servers on one database (random, per start): the holder of
    /// the scheduler's lease.
    pub instance: String,
}

impl Services {
    /// The registry's use cases on this installation's store, clock and randomness.
    pub fn registry(&self) -> openmyna_registry::Registry<'_, Store> {
        openmyna_registry::Registry::new(&self.store, self.clock.as_ref(), self.entropy.as_ref())
    }

    /// A resident whose record is open (cards are made for them), or why not.
    pub async fn active_resident(&self, id: i64) -> Result<openmyna_registry::Resident> {
        issuance::active_resident(&self.store, self.clock.as_ref(), self.entropy.as_ref(), id).await
    }

    /// The eligibility use cases (the reader's challenges included).
    pub fn eligibility(&self) -> openmyna_eligibility::Eligibility<'_, Store, Store> {
        openmyna_eligibility::Eligibility::new(
            &self.store,
            &self.jpki,
            self.challenges.as_ref(),
            self.clock.as_ref(),
            self.entropy.as_ref(),
        )
    }

    /// The 4-information use cases.
    pub fn fourinfo(&self) -> openmyna_fourinfo::FourInfo<'_, Store, Store> {
        openmyna_fourinfo::FourInfo::new(
            &self.store,
            &self.jpki,
            self.clock.as_ref(),
            self.entropy.as_ref(),
        )
    }

    /// The verification platform's use cases.
    pub fn platform(&self) -> openmyna_platform::Platform<'_, Store, Store> {
        openmyna_platform::Platform::new(
            &self.store,
            &self.jpki,
            self.clock.as_ref(),
            self.entropy.as_ref(),
        )
    }

    pub fn new(
        store: Store,
        jpki: Arc<Jpki<Store>>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        card_dir: std::path::PathBuf,
    ) -> Self {
        let mut id = [0u8; 8];
        entropy.fill(&mut id);
        let instance = id.iter().map(|b| format!("{b:02x}")).collect();
        let challenges = Arc::new(ChallengeBook::new(&store.challenge_key()));
        Services {
            instance,
            challenges,
            store,
            jpki,
            clock,
            entropy,
            subscriber_lock: Arc::new(tokio::sync::Mutex::new(())),
            card_dir,
            counters: Arc::new(counters::Counters::default()),
        }
    }
}

#[cfg(test)]
mod tests;
