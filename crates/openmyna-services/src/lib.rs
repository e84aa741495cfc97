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
//! | [`cards`] | a card issued, renewed, given a new signing certificate, its PIN reset (card present); card events (loss, found, return, abroad) and their effect on the certificates |
//! | [`issuance`] | the phases of making a card: manufacture, activation, recording |
//! | [`registry_sync`] | registry changes → certificate revocations and void cards |
//! | [`employers`] | the retention sweep of employees' My Numbers |
//! | [`jpki`] | the registry's basic four information as a certificate holder |
//! | [`scheduler`] | the background work on the injected clock: subscriber catch-up, retention sweep, CRL publication |

pub mod admin;
pub mod cards;
pub mod employers;
pub mod error;
pub mod issuance;
pub mod jpki;
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
}

impl Services {
    pub fn new(
        store: Store,
        jpki: Arc<Jpki<Store>>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        card_dir: std::path::PathBuf,
    ) -> Self {
        Services {
            store,
            jpki,
            clock,
            entropy,
            subscriber_lock: Arc::new(tokio::sync::Mutex::new(())),
            card_dir,
            challenges: Arc::new(ChallengeBook::new()),
        }
    }
}
