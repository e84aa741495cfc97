//! The virtual My Number Card.
//!
//! - [`engine::process`]: ISO/IEC 7816-4 command processing for the JPKI AP (公的個人認証AP),
//!   the 券面事項入力補助AP, the 券面AP and the manufacturing-number application.
//! - [`pin`]: the PIN rules and try counters; [`layout`]: the applications and EFs;
//!   [`state::CardState`]: what the chip remembers (serialised as the card file).
//! - [`personalize`]: builds the files of a card being issued, in the encodings of the real
//!   card.
//!
//! Nothing here does I/O: the holder of a card (see `openmyna-cardio`) loads the state, feeds
//! APDUs, and writes the state back before answering whenever it changed.

pub mod apdu;
pub mod ber;
pub mod engine;
pub mod fuzzing;
pub mod image;
pub mod keys;
pub mod layout;
pub mod personalize;
pub mod pin;
pub mod state;
pub mod sw;

pub use apdu::{Command, Response};
pub use engine::{Outcome, Session, process};
pub use layout::{ATR, AppletId, KeyId};
pub use pin::{PinId, PinRuleError};
pub use state::CardState;
pub use sw::Sw;

/// Errors of card personalisation and of the card file.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error(transparent)]
    PinRule(#[from] PinRuleError),
    #[error("invalid card data: {0}")]
    Invalid(String),
    #[error("{0}")]
    Missing(String),
    #[error("card file: {0}")]
    Format(String),
    #[error("card file is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cryptographic failure: {0}")]
    Crypto(String),
}

#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod tests;
