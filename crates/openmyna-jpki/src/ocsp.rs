//! OCSP (RFC 6960, RFC 5019 profile): parsing requests and signing responses with a root's
//! delegated responder.

use aws_lc_rs::digest;
use chrono::Duration;
use der::asn1::{BitString, GeneralizedTime, OctetString};
use der::{Decode, Encode};
use openmyna_core::Timestamp;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    ResponderId, ResponseData, RevokedInfo, SingleResponse, Version,
};

use crate::ca::RootCa;
use crate::crl::Reason;
use crate::key::to_der;
use crate::serial::Serial;
use crate::{JpkiError, oid};

/// Longest nonce accepted (RFC 8954 §2.1).
pub const MAX_NONCE_LEN: usize = 32;
/// Most certificates asked about in one request.
pub const MAX_CERTS_PER_REQUEST: usize = 64;

/// The hashes an OCSP CertID may use to name a root.
#[derive(Debug, Clone)]
pub struct IssuerHashes {
    pub sha1_name: Vec<u8>,
    pub sha1_key: Vec<u8>,
    pub sha256_name: Vec<u8>,
    pub sha256_key: Vec<u8>,
}

impl IssuerHashes {
    pub fn of(ca: &RootCa) -> Result<Self, JpkiError> {
        let name = ca.name_der()?;
        let spki = ca.spki()?;
        let key = spki.subject_public_key.raw_bytes();
        let h = |alg, data: &[u8]| digest::digest(alg, data).as_ref().to_vec();
        Ok(IssuerHashes {
            sha1_name: h(&digest::SHA1_FOR_LEGACY_USE_ONLY, &name),
            sha1_key: h(&digest::SHA1_FOR_LEGACY_USE_ONLY, key),
            sha256_name: h(&digest::SHA256, &name),
            sha256_key: h(&digest::SHA256, key),
        })
    }

    /// Whether the CertID names this root.
    pub fn matches(&self, id: &CertId) -> bool {
        let (name, key) = if id.hash_algorithm.oid == oid::SHA1 {
            (&self.sha1_name, &self.sha1_key)
        } else if id.hash_algorithm.oid == oid::SHA256 {
            (&self.sha256_name, &self.sha256_key)
        } else {
            return false;
        };
        id.issuer_name_hash.as_bytes() == name.as_slice()
            && id.issuer_key_hash.as_bytes() == key.as_slice()
    }
}

/// Why a request cannot be answered with statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcspRefusal {
    #[error("malformed OCSP request: {0}")]
    Malformed(String),
}

/// A request, reduced to what the responder needs.
#[derive(Debug, Clone)]
pub struct ParsedRequest {
    pub cert_ids: Vec<CertId>,
    /// The nonce extension as sent, echoed in the response.
    pub nonce: Option<Extension>,
}

impl ParsedRequest {
    /// The serial of a CertID, if it is a valid positive serial.
    pub fn serial(id: &CertId) -> Option<Serial> {
        Serial::from_der_bytes(id.serial_number.as_bytes()).ok()
    }
}

/// Parses a DER OCSPRequest. Signed requests are accepted and their signature ignored (the
/// responder answers anyone, as public OCSP does).
pub fn parse_request(der_bytes: &[u8]) -> Result<ParsedRequest, OcspRefusal> {
    let req = OcspRequest::from_der(der_bytes)
        .map_err(|e| OcspRefusal::Malformed(format!("not a DER OCSPRequest: {e}")))?;
    let list = req.tbs_request.request_list;
    if list.is_empty() {
        return Err(OcspRefusal::Malformed(
            "the request lists no certificate".into(),
        ));
    }
    if list.len() > MAX_CERTS_PER_REQUEST {
        return Err(OcspRefusal::Malformed(format!(
            "at most {MAX_CERTS_PER_REQUEST} certificates per request"
        )));
    }
    let nonce = req
        .tbs_request
        .request_extensions
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.extn_id == oid::OCSP_NONCE);
    if let Some(n) = &nonce {
        let inner = OctetString::from_der(n.extn_value.as_bytes())
            .map_err(|_| OcspRefusal::Malformed("the nonce is not an OCTET STRING".into()))?;
        let len = inner.as_bytes().len();
        if len == 0 || len > MAX_NONCE_LEN {
            return Err(OcspRefusal::Malformed(format!(
                "the nonce has {len} octets; RFC 8954 allows 1 to {MAX_NONCE_LEN}"
            )));
        }
    }
    Ok(ParsedRequest {
        cert_ids: list.into_iter().map(|r| r.req_cert).collect(),
        nonce,
    })
}

/// The status to report for one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Good,
    Revoked { at: Timestamp, reason: Reason },
    Unknown,
}

fn gtime(t: &Timestamp) -> Result<OcspGeneralizedTime, JpkiError> {
    let secs = u64::try_from(t.timestamp()).map_err(|_| JpkiError::Invalid {
        code: "time.range",
        message: "time before 1970".into(),
    })?;
    Ok(OcspGeneralizedTime(GeneralizedTime::from_unix_duration(
        std::time::Duration::from_secs(secs),
    )?))
}

fn crl_reason(r: Reason) -> CrlReason {
    match r {
        Reason::Unspecified => CrlReason::Unspecified,
        Reason::KeyCompromise => CrlReason::KeyCompromise,
        Reason::CaCompromise => CrlReason::CaCompromise,
        Reason::AffiliationChanged => CrlReason::AffiliationChanged,
        Reason::Superseded => CrlReason::Superseded,
        Reason::CessationOfOperation => CrlReason::CessationOfOperation,
        Reason::CertificateHold => CrlReason::CertificateHold,
        Reason::RemoveFromCrl => CrlReason::RemoveFromCRL,
        Reason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        Reason::AaCompromise => CrlReason::AaCompromise,
    }
}

/// Signs a successful response for `answers` with the root's responder. `validity` sets
/// nextUpdate after `now`.
pub fn sign_response(
    ca: &RootCa,
    now: &Timestamp,
    validity: Duration,
    answers: &[(CertId, Answer)],
    nonce: Option<&Extension>,
) -> Result<Vec<u8>, JpkiError> {
    let this_update = gtime(now)?;
    let next_update = gtime(&(*now + validity))?;
    let responses = answers
        .iter()
        .map(|(id, a)| {
            let cert_status = match a {
                Answer::Good => CertStatus::good(),
                Answer::Unknown => CertStatus::unknown(),
                Answer::Revoked { at, reason } => CertStatus::revoked(RevokedInfo {
                    revocation_time: gtime(at)?,
                    revocation_reason: Some(crl_reason(*reason)),
                }),
            };
            Ok(SingleResponse {
                cert_id: id.clone(),
                cert_status,
                this_update,
                // Unknown answers carry no nextUpdate: nothing is promised about them.
                next_update: (*a != Answer::Unknown).then_some(next_update),
                single_extensions: None,
            })
        })
        .collect::<Result<Vec<_>, JpkiError>>()?;
    let tbs = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(OctetString::new(ca.responder.key_id.to_vec())?),
        produced_at: this_update,
        responses,
        response_extensions: nonce.map(|n| vec![n.clone()]),
    };
    let tbs_der = to_der(&tbs)?;
    let signature = ca.responder.key.sign(&tbs_der)?;
    let basic = BasicOcspResponse {
        tbs_response_data: tbs,
        signature_algorithm: ca.responder.key.kind().signature_algorithm(),
        signature: BitString::from_bytes(&signature)?,
        certs: Some(vec![ca.responder.cert.clone()]),
    };
    Ok(OcspResponse::successful(basic)?.to_der()?)
}

/// The `malformedRequest` response.
pub fn malformed_request() -> Vec<u8> {
    // A fixed SEQUENCE { ENUMERATED 1 }.
    vec![0x30, 0x03, 0x0a, 0x01, 0x01]
}

/// The `internalError` response.
pub fn internal_error() -> Vec<u8> {
    vec![0x30, 0x03, 0x0a, 0x01, 0x02]
}

/// The `unauthorized` response (for requests to a root this server does not run).
pub fn unauthorized() -> Vec<u8> {
    vec![0x30, 0x03, 0x0a, 0x01, 0x06]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_responses_match_the_encoder() {
        assert_eq!(
            malformed_request(),
            OcspResponse::malformed_request().to_der().unwrap()
        );
        assert_eq!(
            internal_error(),
            OcspResponse::internal_error().to_der().unwrap()
        );
        assert_eq!(
            unauthorized(),
            OcspResponse::unauthorized().to_der().unwrap()
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for input in [&b""[..], b"\x30\x00", b"hello", &[0x30, 0x80, 0, 0]] {
            assert!(parse_request(input).is_err());
        }
    }
}
