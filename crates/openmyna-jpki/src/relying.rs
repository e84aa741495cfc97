//! What a relying party (署名検証者) does with a certificate a holder presents: ask the OCSP
//! responder about it and check the answer's signature, look it up in a CRL and its delta
//! (signatures checked), and read the basic four information from a signing certificate's
//! subjectAltName. Pure functions over DER; the verification platform composes them.

use std::io::Read;

use chrono::NaiveDate;
use der::asn1::OctetString;
use der::{Decode, Encode};
use openmyna_core::{Refusal, Timestamp};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    TbsRequest, Version,
};

use crate::crl::Reason;
use crate::crl_reader::CrlReader;
use crate::{JpkiError, key, oid};

fn bad(what: impl Into<String>) -> JpkiError {
    JpkiError::Refusal(Refusal::invalid("ocsp.response", what.into()))
}

fn der_of<T: Encode>(v: &T) -> Result<Vec<u8>, JpkiError> {
    Ok(v.to_der()?)
}

/// The CertID (SHA-1, as RFC 5019 clients send it) of `cert` issued by `issuer`.
pub fn cert_id(cert: &Certificate, issuer: &Certificate) -> Result<CertId, JpkiError> {
    use aws_lc_rs::digest;
    let name = der_of(&issuer.tbs_certificate.subject)?;
    let key = issuer
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let h = |data: &[u8]| digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    Ok(CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: oid::SHA1,
            parameters: Some(der::Any::from(der::asn1::Null)),
        },
        issuer_name_hash: OctetString::new(h(&name).as_ref())?,
        issuer_key_hash: OctetString::new(h(key).as_ref())?,
        serial_number: cert.tbs_certificate.serial_number.clone(),
    })
}

/// An OCSP request (DER) about `cert`, with a nonce when given (RFC 9654: 1 to 128 octets).
pub fn ocsp_request(
    cert: &Certificate,
    issuer: &Certificate,
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, JpkiError> {
    let extensions = match nonce {
        Some(n) => Some(vec![x509_cert::ext::Extension {
            extn_id: oid::OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(OctetString::new(n)?.to_der()?)?,
        }]),
        None => None,
    };
    der_of(&OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id(cert, issuer)?,
                single_request_extensions: None,
            }],
            request_extensions: extensions,
        },
        optional_signature: None,
    })
}

/// A certificate's status as a CRL or an OCSP answer gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Good,
    /// Suspended (certificateHold) since.
    Held {
        since: Timestamp,
    },
    Revoked {
        at: Timestamp,
        reason: Reason,
    },
    /// The responder does not know it (OCSP `unknown`).
    Unknown,
}

/// A verified OCSP answer about one certificate.
#[derive(Debug, Clone)]
pub struct OcspReading {
    pub status: Revocation,
    pub produced_at: Timestamp,
    pub this_update: Timestamp,
    pub next_update: Option<Timestamp>,
    /// Whether the answer echoed the nonce sent (a freshly signed answer).
    pub nonce_echoed: bool,
}

fn gtime(t: &x509_ocsp::OcspGeneralizedTime) -> Result<Timestamp, JpkiError> {
    crate::time_to_timestamp(&x509_cert::time::Time::GeneralTime(t.0))
}

/// Reads an OCSP response about `cert` from `issuer`'s responder: successful, basic, signed by
/// a responder certificate that `issuer` issued for OCSP signing (or by `issuer` itself),
/// answering for this very certificate, and echoing `nonce` when one was sent.
pub fn read_ocsp_response(
    der_bytes: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    nonce: Option<&[u8]>,
) -> Result<OcspReading, JpkiError> {
    let resp = OcspResponse::from_der(der_bytes).map_err(|_| bad("not an OCSPResponse"))?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(bad(format!(
            "the responder answered {:?}",
            resp.response_status
        )));
    }
    let bytes = resp
        .response_bytes
        .ok_or_else(|| bad("a successful answer without a response"))?;
    if bytes.response_type != oid::OCSP_BASIC {
        return Err(bad("not a basic OCSP response"));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|_| bad("malformed BasicOCSPResponse"))?;
    let issuer_spki = der_of(&issuer.tbs_certificate.subject_public_key_info)?;
    let tbs = der_of(&basic.tbs_response_data)?;
    let signature = basic.signature.raw_bytes();
    // Signed by the issuer itself, or by a delegated responder it certified (RFC 6960 §4.2.2.2).
    let signed_by_issuer = key::verify(&issuer_spki, &tbs, signature).is_ok();
    if !signed_by_issuer {
        let delegated = basic
            .certs
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|c| {
                der_of(&c.tbs_certificate.subject_public_key_info)
                    .is_ok_and(|spki| key::verify(&spki, &tbs, signature).is_ok())
            })
            .ok_or_else(|| bad("the answer's signature does not verify"))?;
        if delegated.tbs_certificate.issuer != issuer.tbs_certificate.subject
            || key::verify(
                &issuer_spki,
                &der_of(&delegated.tbs_certificate)?,
                delegated.signature.raw_bytes(),
            )
            .is_err()
        {
            return Err(bad("the responder certificate was not issued by the root"));
        }
        let for_ocsp = delegated
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|e| e.extn_id == oid::EXT_EXTENDED_KEY_USAGE)
            .and_then(|e| ExtendedKeyUsage::from_der(e.extn_value.as_bytes()).ok())
            .is_some_and(|eku| eku.0.contains(&oid::KP_OCSP_SIGNING));
        if !for_ocsp {
            return Err(bad(
                "the responder certificate is not certified for OCSP signing",
            ));
        }
    }
    let data = &basic.tbs_response_data;
    let wanted = cert_id(cert, issuer)?;
    let single = data
        .responses
        .iter()
        .find(|r| {
            r.cert_id.serial_number == wanted.serial_number
                && (r.cert_id.hash_algorithm.oid != oid::SHA1
                    || r.cert_id.issuer_key_hash == wanted.issuer_key_hash)
        })
        .ok_or_else(|| bad("the answer is not about this certificate"))?;
    let echoed = data
        .response_extensions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|e| e.extn_id == oid::OCSP_NONCE)
        .and_then(|e| OctetString::from_der(e.extn_value.as_bytes()).ok());
    let nonce_echoed = match (nonce, &echoed) {
        (Some(n), Some(e)) if e.as_bytes() == n => true,
        (Some(_), Some(_)) => return Err(bad("the answer echoes another nonce")),
        _ => false,
    };
    let status = match &single.cert_status {
        CertStatus::Good(_) => Revocation::Good,
        CertStatus::Unknown(_) => Revocation::Unknown,
        CertStatus::Revoked(info) => {
            let at = gtime(&info.revocation_time)?;
            let reason = info
                .revocation_reason
                .and_then(|r| Reason::from_code(r as i64))
                .unwrap_or(Reason::Unspecified);
            if reason == Reason::CertificateHold {
                Revocation::Held { since: at }
            } else {
                Revocation::Revoked { at, reason }
            }
        }
    };
    Ok(OcspReading {
        status,
        produced_at: gtime(&data.produced_at)?,
        this_update: gtime(&single.this_update)?,
        next_update: single.next_update.as_ref().map(gtime).transpose()?,
        nonce_echoed,
    })
}

/// What one CRL says of one certificate.
#[derive(Debug, Clone)]
pub struct CrlReading {
    pub number: Option<u64>,
    pub delta_base: Option<u64>,
    pub this_update: Timestamp,
    pub next_update: Option<Timestamp>,
    /// The certificate's entry, if listed: when and why.
    pub entry: Option<(Timestamp, Reason)>,
    pub entries: u64,
}

/// Reads a CRL (streamed), finds `serial` (the INTEGER's content octets) in it and checks the
/// CRL's signature with the issuer's key. A CRL with an unknown critical extension is refused
/// (RFC 5280 §5).
pub fn read_crl(r: impl Read, issuer_spki: &[u8], serial: &[u8]) -> Result<CrlReading, JpkiError> {
    let mut reader = CrlReader::open(r)?;
    let header = reader.header.clone();
    let mut entry = None;
    while let Some(e) = reader.next_entry()? {
        if e.serial == serial {
            entry = Some((e.revoked_at, e.reason));
        }
    }
    let trailer = reader.finish(issuer_spki)?;
    if trailer.unknown_critical {
        return Err(JpkiError::Refusal(Refusal::invalid(
            "crl.critical_extension",
            "the CRL has a critical extension this reader does not know",
        )));
    }
    Ok(CrlReading {
        number: trailer.number,
        delta_base: trailer.delta_base,
        this_update: header.this_update,
        next_update: header.next_update,
        entry,
        entries: trailer.entries,
    })
}

/// A base CRL and (if any) its delta, combined into the certificate's status (RFC 5280
/// §5.2.4: the delta's entries replace the base's; removeFromCRL releases a hold).
pub fn combine(base: &CrlReading, delta: Option<&CrlReading>) -> Revocation {
    let entry = match delta.and_then(|d| d.entry) {
        Some((_, Reason::RemoveFromCrl)) => None,
        Some(e) => Some(e),
        None => base.entry,
    };
    match entry {
        None => Revocation::Good,
        Some((since, Reason::CertificateHold)) => Revocation::Held { since },
        Some((at, reason)) => Revocation::Revoked { at, reason },
    }
}

/// The basic four information a signing certificate carries (subjectAltName otherNames
/// 1.2.392.200149.8.5.5.1/.3/.4/.5).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertifiedBasic4 {
    pub name: String,
    pub birth_date: NaiveDate,
    /// JIS X 0303: 1 男, 2 女, 9 適用不能.
    pub sex_code: u8,
    pub address: String,
}

/// Reads the basic four information from a signing certificate; `None` if it carries none (an
/// authentication certificate) or they are malformed.
pub fn certified_basic4(cert: &Certificate) -> Option<CertifiedBasic4> {
    let san = cert
        .tbs_certificate
        .extensions
        .as_deref()?
        .iter()
        .find(|e| e.extn_id == oid::EXT_SUBJECT_ALT_NAME)?;
    let san = SubjectAltName::from_der(san.extn_value.as_bytes()).ok()?;
    let get = |o: der::asn1::ObjectIdentifier| {
        san.0.iter().find_map(|g| match g {
            GeneralName::OtherName(on) if on.type_id == o => on
                .value
                .decode_as::<der::asn1::Utf8StringRef<'_>>()
                .ok()
                .map(|s| s.as_str().to_owned()),
            _ => None,
        })
    };
    let birth = get(oid::SAN_BIRTH_DATE)?;
    // EYYYYMMDD: the era digit, then the Gregorian date.
    let birth_date = NaiveDate::parse_from_str(birth.get(1..)?, "%Y%m%d").ok()?;
    Some(CertifiedBasic4 {
        name: get(oid::SAN_NAME)?,
        birth_date,
        sex_code: get(oid::SAN_SEX)?.parse().ok()?,
        address: get(oid::SAN_ADDRESS)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_entries_replace_the_base() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00+09:00").unwrap();
        let reading = |entry| CrlReading {
            number: Some(1),
            delta_base: None,
            this_update: t,
            next_update: None,
            entry,
            entries: 0,
        };
        let held = reading(Some((t, Reason::CertificateHold)));
        let clean = reading(None);
        assert_eq!(combine(&clean, None), Revocation::Good);
        assert_eq!(combine(&held, None), Revocation::Held { since: t });
        let released = reading(Some((t, Reason::RemoveFromCrl)));
        assert_eq!(combine(&held, Some(&released)), Revocation::Good);
        let revoked = reading(Some((t, Reason::KeyCompromise)));
        assert_eq!(
            combine(&clean, Some(&revoked)),
            Revocation::Revoked {
                at: t,
                reason: Reason::KeyCompromise
            }
        );
        assert_eq!(combine(&held, Some(&clean)), Revocation::Held { since: t });
    }
}
