//! JPKI (公的個人認証サービス): the certification authority of the My Number Card.
//!
//! Two roots — 署名用 (signing) and 利用者証明用 (user authentication) — each with a delegated
//! OCSP responder, issue per card a signing certificate (carrying the basic four information
//! in subjectAltName otherNames) and an authentication certificate (carrying none). This crate
//! holds the profiles, the validity and revocation rules, the streaming CRL encoder and the
//! OCSP encoder/decoder. It does no I/O beyond writing a CRL to the writer it is given; keys
//! and state are stored by `openmyna-store`, and time and randomness are injected.
//!
//! Every structure is standard DER built with RustCrypto's `der`/`x509-cert`/`x509-ocsp` and
//! signed with aws-lc-rs.

pub mod ca;
pub mod cms;
pub mod crl;
pub mod crl_reader;
pub mod key;
pub mod ocsp;
pub mod oid;
pub mod profile;
pub mod serial;
pub mod service;
pub mod validity;

pub use ca::{Holder, Issued, RootCa};
pub use crl::{Action, CrlScope, CrlSpec, CrlWriter, Reason, Status};
pub use key::{KeyKind, SigningKey};
pub use profile::{Endpoints, RootKind};
pub use serial::Serial;
pub use service::{CertRecord, CertState, CrlMeta, Jpki, JpkiConfig, JpkiStore};

use openmyna_core::Timestamp;

/// Everything that can go wrong in the CA.
#[derive(Debug, thiserror::Error)]
pub enum JpkiError {
    /// Input broke a rule (`code` names it).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// A valid request the rules refuse (`code` names the rule).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("storage failed: {0}")]
    Storage(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
    #[error("ASN.1 encoding: {0}")]
    Der(#[from] der::Error),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    #[error("the structure is too large to encode")]
    TooLarge,
    #[error("internal inconsistency: {0}")]
    Inconsistent(String),
}

/// An X.509 time as a timestamp in Japan time.
pub fn time_to_timestamp(t: &x509_cert::time::Time) -> Result<Timestamp, JpkiError> {
    let d = t.to_unix_duration();
    let secs = i64::try_from(d.as_secs()).map_err(|_| JpkiError::TooLarge)?;
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.with_timezone(&openmyna_core::jst()))
        .ok_or(JpkiError::TooLarge)
}
