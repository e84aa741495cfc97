//! Holding and talking to a My Number Card.
//!
//! - [`file::CardFile`]: the card file (the chip's memory) with atomic, durable writes and a
//!   lock so that several processes can hold the same card.
//! - [`Transport`]: one APDU in, one response out; [`VirtualTransport`] runs the engine on a
//!   card file in-process, [`pcsc::PcscTransport`] (feature `pcsc`) talks to any PC/SC reader.
//! - [`client::JpkiClient`]: the JPKI client library, written once against [`Transport`].
//! - [`vpcd`]: attaches a card file to pcscd's virtual reader (vsmartcard-vpcd).

pub mod client;
pub mod file;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod vpcd;

use openmyna_card::{CardError, PinId, Session, Sw};

pub use client::JpkiClient;
pub use file::CardFile;

/// Errors of card I/O and of the client library.
#[derive(Debug, thiserror::Error)]
pub enum CardIoError {
    #[error("card file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Card(#[from] CardError),
    #[error("{command} failed: the card answered {sw}")]
    Status { command: &'static str, sw: Sw },
    #[error("wrong {}: {tries_left} tries left", pin.label())]
    WrongPin { pin: PinId, tries_left: u8 },
    #[error("the {} is locked; the municipality must reset it (openmyna card unlock)", pin.label())]
    PinBlocked { pin: PinId },
    #[error("{0}")]
    Invalid(String),
    #[error("reader: {0}")]
    Reader(String),
    #[error("the card's answer is malformed: {0}")]
    Protocol(String),
}

/// Sends command APDUs to a card and returns its response APDUs (data ‖ SW1 SW2).
pub trait Transport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardIoError>;
    /// What the transport is connected to, for messages.
    fn describe(&self) -> String;
}

/// The virtual card in-process: each APDU is processed under the card file's lock on the
/// latest state, and a changed state is on disk before the response is returned.
pub struct VirtualTransport {
    file: CardFile,
    session: Session,
}

impl VirtualTransport {
    pub fn new(file: CardFile) -> Self {
        VirtualTransport {
            file,
            session: Session::default(),
        }
    }

    /// A reset: the selection and security status are lost.
    pub fn reset(&mut self) {
        self.session.reset();
    }

    pub fn file(&self) -> &CardFile {
        &self.file
    }
}

impl Transport for VirtualTransport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        let session = &mut self.session;
        let outcome = self
            .file
            .transaction(|state| openmyna_card::process(state, session, apdu))?;
        Ok(outcome.response.to_bytes())
    }

    fn describe(&self) -> String {
        format!("virtual card {}", self.file.path().display())
    }
}

impl Transport for Box<dyn Transport> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        (**self).transmit(apdu)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}
