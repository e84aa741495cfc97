//! CMS SignedData (RFC 5652) as the consent documents of the 4-information service use it:
//! the content encapsulated (id-data), one signer identified by issuer and serial number,
//! SHA-256, signed attributes contentType, messageDigest and signingTime, the signer's
//! certificate included. `openssl cms -verify` reads what [`build`] writes.

use aws_lc_rs::digest;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use openmyna_core::Refusal;
use openmyna_core::Timestamp;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, AttributeValue};

use crate::{JpkiError, key, oid, profile};

fn bad(what: &str) -> JpkiError {
    JpkiError::Refusal(Refusal::invalid(
        "document.signature",
        format!("signed document: {what}"),
    ))
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::SHA256,
        parameters: None,
    }
}

fn attribute(oid: der::asn1::ObjectIdentifier, value: Any) -> Result<Attribute, JpkiError> {
    let mut values = SetOfVec::new();
    values.insert(AttributeValue::from(value))?;
    Ok(Attribute { oid, values })
}

/// Builds a SignedData over `content` for the holder of `cert_der`. `sign` receives the
/// SHA-256 of the DER signed attributes and returns the signature (for a card: the card signs
/// the DigestInfo of that hash).
pub fn build<E>(
    content: &[u8],
    cert_der: &[u8],
    signing_time: &Timestamp,
    sign: impl FnOnce(&[u8; 32]) -> Result<Vec<u8>, E>,
) -> Result<Result<Vec<u8>, E>, JpkiError> {
    let cert = Certificate::from_der(cert_der)?;
    let content_digest = digest::digest(&digest::SHA256, content);
    let mut attrs = SetOfVec::new();
    attrs.insert(attribute(
        oid::ATTR_CONTENT_TYPE,
        Any::encode_from(&oid::CMS_DATA)?,
    )?)?;
    attrs.insert(attribute(
        oid::ATTR_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(content_digest.as_ref())?)?,
    )?)?;
    attrs.insert(attribute(
        oid::ATTR_SIGNING_TIME,
        Any::encode_from(&profile::x509_time(signing_time)?)?,
    )?)?;
    let mut to_sign = [0u8; 32];
    to_sign.copy_from_slice(digest::digest(&digest::SHA256, &attrs.to_der()?).as_ref());
    let signature = match sign(&to_sign) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let econtent = Any::encode_from(&OctetString::new(content)?)?;
    Ok(Ok(assemble(cert, attrs, signature, Some(econtent), &[])?))
}

/// A SignedData with one signer (issuer and serial of `cert`, SHA-256, `attrs` signed by
/// `signature`), `cert` and `chain` included, and `econtent` encapsulated (or detached).
fn assemble(
    cert: Certificate,
    attrs: SetOfVec<Attribute>,
    signature: Vec<u8>,
    econtent: Option<Any>,
    chain: &[&[u8]],
) -> Result<Vec<u8>, JpkiError> {
    let signature_algorithm =
        if cert.tbs_certificate.subject_public_key_info.algorithm.oid == oid::RSA_ENCRYPTION {
            AlgorithmIdentifierOwned {
                oid: oid::SHA256_WITH_RSA,
                parameters: Some(Any::from(der::asn1::Null)),
            }
        } else {
            AlgorithmIdentifierOwned {
                oid: oid::ECDSA_WITH_SHA256,
                parameters: None,
            }
        };
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(attrs),
        signature_algorithm,
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(sha256_alg())?;
    let mut certs = SetOfVec::new();
    certs.insert(CertificateChoices::Certificate(cert))?;
    for c in chain {
        certs.insert(CertificateChoices::Certificate(Certificate::from_der(c)?))?;
    }
    let mut signers = SetOfVec::new();
    signers.insert(signer)?;
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid::CMS_DATA,
            econtent,
        },
        certificates: Some(CertificateSet(certs)),
        crls: None,
        signer_infos: SignerInfos(signers),
    };
    let ci = ContentInfo {
        content_type: oid::CMS_SIGNED_DATA,
        content: Any::encode_from(&sd)?,
    };
    Ok(ci.to_der()?)
}

/// Builds a detached SignedData for a PAdES signature (ETSI EN 319 142-1, baseline B-B): the
/// content is not encapsulated (the PDF's byte ranges, whose SHA-256 is `content_digest`);
/// signed attributes content-type, message-digest and signing-certificate-v2 (the signer's
/// certificate hash, SHA-256), no signing-time (the time is the PDF signature dictionary's);
/// the signer's certificate and `chain` included. `sign` receives the DER signed attributes
/// (the message to sign with SHA-256) and returns the signature.
pub fn build_pades<E>(
    content_digest: &[u8; 32],
    cert_der: &[u8],
    chain: &[&[u8]],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Result<Vec<u8>, E>, JpkiError> {
    let cert = Certificate::from_der(cert_der)?;
    let mut attrs = SetOfVec::new();
    attrs.insert(attribute(
        oid::ATTR_CONTENT_TYPE,
        Any::encode_from(&oid::CMS_DATA)?,
    )?)?;
    attrs.insert(attribute(
        oid::ATTR_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(content_digest.as_slice())?)?,
    )?)?;
    // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }, ESSCertIDv2 ::=
    // SEQUENCE { certHash OCTET STRING } (hashAlgorithm SHA-256 by default, left out).
    let cert_hash = digest::digest(&digest::SHA256, cert_der);
    let mut ess = vec![0x30, 0x26, 0x30, 0x24, 0x30, 0x22, 0x04, 0x20];
    ess.extend_from_slice(cert_hash.as_ref());
    attrs.insert(attribute(
        oid::ATTR_SIGNING_CERTIFICATE_V2,
        Any::from_der(&ess)?,
    )?)?;
    let signature = match sign(&attrs.to_der()?) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(assemble(cert, attrs, signature, None, chain)?))
}

/// A verified signed document: the content, the signer's certificate, and the signing time
/// the signer claims.
#[derive(Debug, Clone)]
pub struct Verified {
    pub content: Vec<u8>,
    pub signer_der: Vec<u8>,
    pub signer: Certificate,
    /// The signing time the signer claims (required).
    pub signing_time: Timestamp,
}

/// Why a well-formed SignedData's signature does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFault {
    /// The messageDigest attribute does not match the content: altered after signing.
    ContentAltered,
    /// The signature algorithm named is not the one the signer's key makes with SHA-256.
    AlgorithmMismatch,
    /// The signature over the signed attributes does not verify with the signer's key.
    SignatureMismatch,
}

impl SignatureFault {
    pub fn message(self) -> &'static str {
        match self {
            SignatureFault::ContentAltered => {
                "the content does not match its digest (altered after signing)"
            }
            SignatureFault::AlgorithmMismatch => {
                "the signature algorithm does not match the signer's key and SHA-256"
            }
            SignatureFault::SignatureMismatch => {
                "the signature does not verify with the signer's certificate"
            }
        }
    }
}

/// A well-formed SignedData, opened: what [`verify`] returns, and whether its signature
/// holds ([`Opened::fault`]), for callers that report a bad signature as a finding rather
/// than refuse the input (the verification platform).
#[derive(Debug, Clone)]
pub struct Opened {
    pub document: Verified,
    /// `None` when the signature holds.
    pub fault: Option<SignatureFault>,
}

/// Parses a SignedData and checks its one signature: the messageDigest attribute against the
/// content and the signature over the signed attributes against the included signer
/// certificate's key. Chain and status are the caller's to check.
pub fn verify(der_bytes: &[u8]) -> Result<Verified, JpkiError> {
    let opened = open(der_bytes)?;
    match opened.fault {
        None => Ok(opened.document),
        Some(f) => Err(bad(f.message())),
    }
}

/// Parses a SignedData as [`verify`] does and checks its signature, but returns a bad
/// signature as [`Opened::fault`]; only a malformed structure is an error.
pub fn open(der_bytes: &[u8]) -> Result<Opened, JpkiError> {
    let ci = ContentInfo::from_der(der_bytes).map_err(|_| bad("not a CMS ContentInfo"))?;
    if ci.content_type != oid::CMS_SIGNED_DATA {
        return Err(bad("not SignedData"));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|_| bad("malformed SignedData"))?;
    if sd.encap_content_info.econtent_type != oid::CMS_DATA {
        return Err(bad("the content type must be id-data"));
    }
    let content = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| bad("the content is detached; it must be encapsulated"))?
        .decode_as::<OctetString>()
        .map_err(|_| bad("the content is not an OCTET STRING"))?
        .into_bytes();
    let signers = sd.signer_infos.0.as_slice();
    let [si] = signers else {
        return Err(bad("exactly one signer is expected"));
    };
    if si.digest_alg.oid != oid::SHA256 {
        return Err(bad("the digest algorithm must be SHA-256"));
    }
    let SignerIdentifier::IssuerAndSerialNumber(ias) = &si.sid else {
        return Err(bad(
            "the signer must be identified by issuer and serial number",
        ));
    };
    let signer = sd
        .certificates
        .as_ref()
        .and_then(|c| {
            c.0.iter().find_map(|cc| match cc {
                CertificateChoices::Certificate(c)
                    if c.tbs_certificate.issuer == ias.issuer
                        && c.tbs_certificate.serial_number == ias.serial_number =>
                {
                    Some(c.clone())
                }
                _ => None,
            })
        })
        .ok_or_else(|| bad("the signer's certificate is not included"))?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| bad("signed attributes are required"))?;
    // RFC 5652 §11: each of these attributes occurs once, with exactly one value.
    let find = |o: der::asn1::ObjectIdentifier, name: &str| -> Result<Any, JpkiError> {
        let mut found = attrs.iter().filter(|a| a.oid == o);
        match (found.next(), found.next()) {
            (Some(a), None) if a.values.len() == 1 => a
                .values
                .get(0)
                .cloned()
                .ok_or_else(|| bad(&format!("the {name} attribute has no value"))),
            (None, _) => Err(bad(&format!("no {name} attribute"))),
            _ => Err(bad(&format!(
                "the {name} attribute must occur once with one value"
            ))),
        }
    };
    let ct = find(oid::ATTR_CONTENT_TYPE, "contentType")?
        .decode_as::<der::asn1::ObjectIdentifier>()
        .map_err(|_| bad("the contentType attribute is not an OID"))?;
    if ct != oid::CMS_DATA {
        return Err(bad("the contentType attribute does not match"));
    }
    let md = find(oid::ATTR_MESSAGE_DIGEST, "messageDigest")?
        .decode_as::<OctetString>()
        .map_err(|_| bad("the messageDigest attribute is not an OCTET STRING"))?;
    let content_altered = md.as_bytes() != digest::digest(&digest::SHA256, &content).as_ref();
    let signing_time = find(oid::ATTR_SIGNING_TIME, "signingTime")?
        .to_der()
        .ok()
        .and_then(|d| x509_cert::time::Time::from_der(&d).ok())
        .and_then(|t| crate::time_to_timestamp(&t).ok())
        .ok_or_else(|| bad("the signingTime attribute is not a time"))?;
    // The signature algorithm must be the one the signer's key makes with SHA-256.
    let key_alg = signer.tbs_certificate.subject_public_key_info.algorithm.oid;
    let expected = if key_alg == oid::RSA_ENCRYPTION {
        oid::SHA256_WITH_RSA
    } else {
        oid::ECDSA_WITH_SHA256
    };
    let named = si.signature_algorithm.oid;
    let spki = signer.tbs_certificate.subject_public_key_info.to_der()?;
    let fault = if content_altered {
        Some(SignatureFault::ContentAltered)
    } else if named != expected && !(key_alg == oid::RSA_ENCRYPTION && named == oid::RSA_ENCRYPTION)
    {
        Some(SignatureFault::AlgorithmMismatch)
    } else if key::verify(&spki, &attrs.to_der()?, si.signature.as_bytes()).is_err() {
        Some(SignatureFault::SignatureMismatch)
    } else {
        None
    };
    Ok(Opened {
        document: Verified {
            content,
            signer_der: signer.to_der()?,
            signer,
            signing_time,
        },
        fault,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{KeyKind, SigningKey};

    fn self_signed(key: &SigningKey) -> Vec<u8> {
        let now = chrono::DateTime::parse_from_rfc3339("2026-04-01T09:00:00+09:00").unwrap();
        crate::profile::root_certificate(
            crate::RootKind::Sign,
            key,
            crate::Serial::generate(&openmyna_core::SeededEntropy::new(3)),
            &now,
        )
        .unwrap()
    }

    fn signed(key: &SigningKey, cert: &[u8], content: &[u8]) -> Vec<u8> {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00+09:00").unwrap();
        build(content, cert, &now, |h| {
            key.sign_digest(&digest::Digest::import_less_safe(h, &digest::SHA256).unwrap())
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn round_trip_and_tampering() {
        let key = SigningKey::generate(KeyKind::Rsa2048).unwrap();
        let cert = self_signed(&key);
        let doc = signed(&key, &cert, b"{\"consent\":true}");
        let v = verify(&doc).unwrap();
        assert_eq!(v.content, b"{\"consent\":true}");
        assert_eq!(v.signer_der, cert);
        assert_eq!(v.signing_time.to_rfc3339(), "2026-11-21T09:00:00+09:00");
        // Flip a byte of the content inside the structure.
        let at = doc.windows(7).position(|w| w == b"consent").unwrap();
        let mut t = doc.clone();
        t[at] ^= 1;
        let e = verify(&t).unwrap_err().to_string();
        assert!(e.contains("altered"), "{e}");
        // Flip a byte of the signature (the last bytes of the structure).
        let mut t = doc.clone();
        let n = t.len();
        t[n - 5] ^= 1;
        assert!(verify(&t).is_err());
        assert!(verify(b"garbage").is_err());
    }

    /// `open` reports a bad signature as a finding; only a malformed structure is an error.
    #[test]
    fn open_names_the_fault() {
        let key = SigningKey::generate(KeyKind::EcP256).unwrap();
        let cert = self_signed(&key);
        let doc = signed(&key, &cert, b"{\"consent\":true}");
        assert_eq!(open(&doc).unwrap().fault, None);
        let at = doc.windows(7).position(|w| w == b"consent").unwrap();
        let mut t = doc.clone();
        t[at] ^= 1;
        assert_eq!(
            open(&t).unwrap().fault,
            Some(SignatureFault::ContentAltered)
        );
        let other = SigningKey::generate(KeyKind::EcP256).unwrap();
        let forged = build(
            b"{\"consent\":true}",
            &cert,
            &chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00+09:00").unwrap(),
            |h| other.sign_digest(&digest::Digest::import_less_safe(h, &digest::SHA256).unwrap()),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            open(&forged).unwrap().fault,
            Some(SignatureFault::SignatureMismatch)
        );
        assert!(open(b"garbage").is_err());
    }

    #[test]
    fn ecdsa_signers_too() {
        let key = SigningKey::generate(KeyKind::EcP256).unwrap();
        let cert = self_signed(&key);
        let v = verify(&signed(&key, &cert, b"x")).unwrap();
        assert_eq!(v.content, b"x");
    }
}
