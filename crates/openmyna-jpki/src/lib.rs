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
#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod ocsp;
pub mod oid;
pub mod profile;
pub mod relying;
pub mod serial;
pub mod service;
#[cfg(test)]
mod service_tests;
pub mod validity;

pub use ca::{Holder, Issued, RootCa};

/// PEM armour of DER (RFC 7468: base64 in lines of 64 characters).
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
pub use crl::{Action, CrlScope, CrlSpec, CrlWriter, Reason, Status};
pub use key::{KeyKind, SigningKey};
pub use profile::{Endpoints, RootKind};
pub use serial::Serial;
pub use service::{
    CertRecord, CertState, CrlMeta, Jpki, JpkiConfig, JpkiStore, Lookup, NotCurrent, RevokedPage,
    RevokedTotals,
};

use openmyna_core::{IntoRefusal, Refusal, Timestamp};

/// Everything that can go wrong in the CA.
#[derive(Debug, thiserror::Error)]
pub enum JpkiError {
    /// The input breaks a rule, or the rules refuse it, or it names nothing we have.
    #[error(transparent)]
    Refusal(#[from] Refusal),
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

impl IntoRefusal for JpkiError {
    fn into_refusal(self) -> Result<Refusal, Self> {
        match self {
            JpkiError::Refusal(r) => Ok(r),
            JpkiError::Unsupported(m) => {
                Ok(Refusal::invalid("unsupported", format!("unsupported: {m}")))
            }
            JpkiError::BadSignature => Ok(Refusal::invalid(
                "signature.invalid",
                "the signature does not verify",
            )),
            other => Err(other),
        }
    }
}

/// An X.509 time as a timestamp in Japan time.
pub fn time_to_timestamp(t: &x509_cert::time::Time) -> Result<Timestamp, JpkiError> {
    let d = t.to_unix_duration();
    let secs = i64::try_from(d.as_secs()).map_err(|_| JpkiError::TooLarge)?;
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.with_timezone(&openmyna_core::jst()))
        .ok_or(JpkiError::TooLarge)
}
