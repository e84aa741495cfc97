//! Certificate profiles: the JPKI roots, their delegated OCSP responders, and the two card
//! certificates (署名用電子証明書 and 利用者証明用電子証明書).

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use der::asn1::{BitString, Ia5String, OctetString, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::{Any, Decode, Encode};
use openmyna_core::Refusal;
use openmyna_core::Timestamp;
use serde::{Deserialize, Serialize};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::{PolicyInformation, PolicyQualifierInfo};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::key::{SigningKey, key_id_sha1, to_der};
use crate::serial::Serial;
use crate::{JpkiError, oid};

/// The two certification authorities of JPKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RootKind {
    /// 署名用認証局: issues signing certificates (carry the basic four information).
    Sign,
    /// 利用者証明用認証局: issues user-authentication certificates (no personal information).
    Auth,
}

impl RootKind {
    pub const ALL: [RootKind; 2] = [RootKind::Sign, RootKind::Auth];

    pub fn as_str(self) -> &'static str {
        match self {
            RootKind::Sign => "sign",
            RootKind::Auth => "auth",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sign" => Some(RootKind::Sign),
            "auth" => Some(RootKind::Auth),
            _ => None,
        }
    }

    fn unit(self) -> &'static str {
        match self {
            RootKind::Sign => "JPKI for digital signature",
            RootKind::Auth => "JPKI for user authentication",
        }
    }
}

/// Where relying parties fetch CRLs and ask OCSP: URLs on this server.
#[derive(Debug, Clone)]
pub struct Endpoints {
    base: String,
}

impl Endpoints {
    pub fn new(base_url: &str) -> Self {
        Endpoints {
            base: base_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn ocsp(&self, root: RootKind) -> String {
        format!("{}/ocsp/{}", self.base, root.as_str())
    }

    pub fn full_crl(&self, root: RootKind) -> String {
        format!("{}/crl/{}/full.crl", self.base, root.as_str())
    }

    pub fn delta_crl(&self, root: RootKind) -> String {
        format!("{}/crl/{}/delta.crl", self.base, root.as_str())
    }

    pub fn partition_crl(&self, root: RootKind, partition: i64) -> String {
        format!("{}/crl/{}/p{}.crl", self.base, root.as_str(), partition)
    }

    /// The delta CRL of one partition (named by the partition CRL's Freshest CRL).
    pub fn partition_delta_crl(&self, root: RootKind, partition: i64) -> String {
        format!(
            "{}/crl/{}/p{}-delta.crl",
            self.base,
            root.as_str(),
            partition
        )
    }

    /// The base URL every other URL starts with.
    pub fn base(&self) -> &str {
        &self.base
    }
}

fn attr(oid: der::asn1::ObjectIdentifier, value: &str) -> Result<AttributeTypeAndValue, JpkiError> {
    let printable = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c));
    let value = if printable {
        Any::encode_from(&PrintableStringRef::new(value)?)?
    } else {
        Any::encode_from(&Utf8StringRef::new(value)?)?
    };
    Ok(AttributeTypeAndValue { oid, value })
}

/// A distinguished name from (type, value) pairs, one attribute per RDN, in order.
pub fn name(parts: &[(der::asn1::ObjectIdentifier, &str)]) -> Result<Name, JpkiError> {
    let mut rdns = Vec::with_capacity(parts.len());
    for (oid, value) in parts {
        let set = SetOfVec::try_from(vec![attr(*oid, value)?])?;
        rdns.push(RelativeDistinguishedName::from(set));
    }
    Ok(RdnSequence(rdns))
}

/// The DN of a JPKI root, as on the real roots:
/// `C=JP, O=JPKI, OU=JPKI for …, OU=Japan Agency for Local Authority Information Systems`.
pub fn root_name(kind: RootKind) -> Result<Name, JpkiError> {
    name(&[
        (oid::AT_COUNTRY, "JP"),
        (oid::AT_ORGANIZATION, "JPKI"),
        (oid::AT_ORG_UNIT, kind.unit()),
        (
            oid::AT_ORG_UNIT,
            "Japan Agency for Local Authority Information Systems",
        ),
    ])
}

/// An X.509 time: UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
pub fn x509_time(t: &Timestamp) -> Result<Time, JpkiError> {
    let secs = u64::try_from(t.timestamp()).map_err(|_| {
        JpkiError::Refusal(Refusal::invalid(
            "time.range",
            "times before 1970 cannot be encoded",
        ))
    })?;
    let d = std::time::Duration::from_secs(secs);
    if t.with_timezone(&Utc).year() < 2050 {
        Ok(Time::UtcTime(der::asn1::UtcTime::from_unix_duration(d)?))
    } else {
        Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_unix_duration(d)?,
        ))
    }
}

pub(crate) fn ext<T: Encode>(
    id: der::asn1::ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, JpkiError> {
    Ok(Extension {
        extn_id: id,
        critical,
        extn_value: OctetString::new(to_der(value)?)?,
    })
}

fn uri(s: &str) -> Result<GeneralName, JpkiError> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(s)?))
}

/// CRL distribution point extension naming one URL.
pub(crate) fn crl_dp(url: &str) -> Result<Vec<DistributionPoint>, JpkiError> {
    Ok(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
        reasons: None,
        crl_issuer: None,
    }])
}

/// What goes into a certificate, before signing.
pub struct CertSpec {
    pub serial: Serial,
    pub subject: Name,
    pub spki: SubjectPublicKeyInfoOwned,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub extensions: Vec<Extension>,
}

/// Encodes and signs a certificate; returns its DER.
pub fn sign_certificate(
    spec: CertSpec,
    issuer: &Name,
    issuer_key: &SigningKey,
) -> Result<Vec<u8>, JpkiError> {
    let algorithm = issuer_key.kind().signature_algorithm();
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(spec.serial.as_bytes())?,
        signature: algorithm.clone(),
        issuer: issuer.clone(),
        validity: Validity {
            not_before: x509_time(&spec.not_before)?,
            not_after: x509_time(&spec.not_after)?,
        },
        subject: spec.subject,
        subject_public_key_info: spec.spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(spec.extensions),
    };
    let tbs_der = to_der(&tbs)?;
    let signature = issuer_key.sign(&tbs_der)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature)?,
    };
    to_der(&cert)
}

/// A self-signed root with the real JPKI roots' profile: basic constraints CA:TRUE and key
/// usage keyCertSign+cRLSign (both critical), subject key identifier, SAN DirName
/// `C=JP, O=公的個人認証サービス`, no AKI, ten years.
pub fn root_certificate(
    kind: RootKind,
    key: &SigningKey,
    serial: Serial,
    not_before: &Timestamp,
) -> Result<Vec<u8>, JpkiError> {
    let subject = root_name(kind)?;
    let spki = key.spki()?;
    let ski = key_id_sha1(&spki);
    let san_dir = name(&[
        (oid::AT_COUNTRY, "JP"),
        (oid::AT_ORGANIZATION, "公的個人認証サービス"),
    ])?;
    let not_after = add_years(not_before, 10);
    let extensions = vec![
        ski_ext(&ski)?,
        ext(
            oid::EXT_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        ext(
            oid::EXT_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
        )?,
        ext(
            oid::EXT_SUBJECT_ALT_NAME,
            false,
            &SubjectAltName(vec![GeneralName::DirectoryName(san_dir)]),
        )?,
    ];
    sign_certificate(
        CertSpec {
            serial,
            subject: subject.clone(),
            spki,
            not_before: *not_before,
            not_after,
            extensions,
        },
        &subject,
        key,
    )
}

fn ski_ext(ski: &[u8; 20]) -> Result<Extension, JpkiError> {
    ext(
        oid::EXT_SUBJECT_KEY_ID,
        false,
        &SubjectKeyIdentifier(OctetString::new(ski.to_vec())?),
    )
}

fn aki(issuer_ski: &[u8; 20]) -> Result<Extension, JpkiError> {
    ext(
        oid::EXT_AUTHORITY_KEY_ID,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(issuer_ski.to_vec())?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

/// A municipality's document-signing certificate (the certificates it issues, such as
/// 住民票の写し, are PDF documents it signs): issued by the signing root, subject `C=JP,
/// L=<municipality>, O=<municipality>, CN=<the office that signs>`, key usage
/// digitalSignature and nonRepudiation, extended key usage documentSigning (RFC 9336) and
/// emailProtection (which PDF validators built on NSS ask of a document signer).
pub fn document_signer_certificate(
    root_key: &SigningKey,
    signer_spki_der: &[u8],
    municipality: &str,
    office: &str,
    serial: Serial,
    not_before: &Timestamp,
    not_after: &Timestamp,
) -> Result<Vec<u8>, JpkiError> {
    let issuer = root_name(RootKind::Sign)?;
    let root_ski = key_id_sha1(&root_key.spki()?);
    let spki = SubjectPublicKeyInfoOwned::from_der(signer_spki_der)?;
    let ski = key_id_sha1(&spki);
    let subject = name(&[
        (oid::AT_COUNTRY, "JP"),
        (oid::AT_LOCALITY, municipality),
        (oid::AT_ORGANIZATION, municipality),
        (oid::AT_COMMON_NAME, office),
    ])?;
    let extensions = vec![
        aki(&root_ski)?,
        ski_ext(&ski)?,
        ext(
            oid::EXT_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
        )?,
        ext(
            oid::EXT_EXTENDED_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![oid::KP_DOCUMENT_SIGNING, oid::KP_EMAIL_PROTECTION]),
        )?,
    ];
    sign_certificate(
        CertSpec {
            serial,
            subject,
            spki,
            not_before: *not_before,
            not_after: *not_after,
            extensions,
        },
        &issuer,
        root_key,
    )
}

/// The delegated OCSP responder of a root: ECDSA key, id-kp-OCSPSigning, id-pkix-ocsp-nocheck.
pub fn responder_certificate(
    kind: RootKind,
    root_key: &SigningKey,
    responder_key: &SigningKey,
    serial: Serial,
    not_before: &Timestamp,
    not_after: &Timestamp,
) -> Result<Vec<u8>, JpkiError> {
    let issuer = root_name(kind)?;
    let root_ski = key_id_sha1(&root_key.spki()?);
    let spki = responder_key.spki()?;
    let ski = key_id_sha1(&spki);
    let subject = name(&[
        (oid::AT_COUNTRY, "JP"),
        (oid::AT_ORGANIZATION, "JPKI"),
        (oid::AT_ORG_UNIT, kind.unit()),
        (oid::AT_COMMON_NAME, "openmyna OCSP responder"),
    ])?;
    let extensions = vec![
        aki(&root_ski)?,
        ski_ext(&ski)?,
        ext(
            oid::EXT_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        ext(
            oid::EXT_EXTENDED_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![oid::KP_OCSP_SIGNING]),
        )?,
        ext(oid::EXT_OCSP_NOCHECK, false, &der::asn1::Null)?,
    ];
    sign_certificate(
        CertSpec {
            serial,
            subject,
            spki,
            not_before: *not_before,
            not_after: *not_after,
            extensions,
        },
        &issuer,
        root_key,
    )
}

/// The extensions every card certificate carries: AKI, key usage, policies, CRL
/// distribution point (the partition fixed at issuance), AIA OCSP and, last as on a real
/// 利用者証明用 certificate, the subject key identifier (SHA-1 of the public key, RFC 5280
/// §4.2.1.2 method 1).
pub(crate) fn card_extensions(
    kind: RootKind,
    root_ski: &[u8; 20],
    subject_ski: &[u8; 20],
    endpoints: &Endpoints,
    partition: i64,
    subject_alt_name: Option<SubjectAltName>,
) -> Result<Vec<Extension>, JpkiError> {
    let (usage, policy) = match kind {
        RootKind::Sign => (
            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
            oid::POLICY_SIGN,
        ),
        RootKind::Auth => (KeyUsages::DigitalSignature.into(), oid::POLICY_AUTH),
    };
    let policies = CertificatePolicies(vec![PolicyInformation {
        policy_identifier: policy,
        policy_qualifiers: Some(vec![PolicyQualifierInfo {
            policy_qualifier_id: oid::QT_CPS,
            qualifier: Some(Any::encode_from(&Ia5String::new(
                "http://www.jpki.go.jp/cps.html",
            )?)?),
        }]),
    }]);
    let mut exts = vec![
        aki(root_ski)?,
        ext(oid::EXT_KEY_USAGE, true, &KeyUsage(usage))?,
        ext(oid::EXT_CERTIFICATE_POLICIES, true, &policies)?,
    ];
    if let Some(san) = subject_alt_name {
        exts.push(ext(oid::EXT_SUBJECT_ALT_NAME, false, &san)?);
    }
    exts.push(ext(
        oid::EXT_CRL_DISTRIBUTION_POINTS,
        false,
        &CrlDistributionPoints(crl_dp(&endpoints.partition_crl(kind, partition))?),
    )?);
    exts.push(ext(
        oid::EXT_AUTHORITY_INFO_ACCESS,
        false,
        &AuthorityInfoAccessSyntax(vec![AccessDescription {
            access_method: oid::AD_OCSP,
            access_location: uri(&endpoints.ocsp(kind))?,
        }]),
    )?);
    exts.push(ski_ext(subject_ski)?);
    Ok(exts)
}

/// A JPKI otherName: `[0] EXPLICIT UTF8String`.
pub(crate) fn other_name(
    type_id: der::asn1::ObjectIdentifier,
    value: &str,
) -> Result<GeneralName, JpkiError> {
    Ok(GeneralName::OtherName(OtherName {
        type_id,
        value: Any::encode_from(&Utf8StringRef::new(value)?)?,
    }))
}

/// `t` plus `years` calendar years (29 February becomes 28 February).
pub fn add_years(t: &Timestamp, years: i32) -> Timestamp {
    let d = t.date_naive();
    let target = NaiveDate::from_ymd_opt(d.year() + years, d.month(), d.day())
        .or_else(|| NaiveDate::from_ymd_opt(d.year() + years, d.month(), 28))
        .unwrap_or(d);
    t.offset()
        .from_local_datetime(&target.and_time(t.time()))
        .single()
        .unwrap_or(*t)
}

/// Parses a certificate, for reading back what was issued.
pub fn parse_certificate(der_bytes: &[u8]) -> Result<Certificate, JpkiError> {
    Ok(Certificate::from_der(der_bytes)?)
}

/// The end of the given day in Japan time (23:59:59 +09:00).
pub fn end_of_day(d: NaiveDate) -> Timestamp {
    let t = d.and_hms_opt(23, 59, 59).unwrap_or_default();
    openmyna_core::jst()
        .from_local_datetime(&t)
        .single()
        .unwrap_or_else(|| DateTime::<Utc>::MIN_UTC.with_timezone(&openmyna_core::jst()))
}
