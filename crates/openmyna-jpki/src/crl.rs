//! Revocation reasons, the revocation state machine, and a streaming CRL encoder.
//!
//! The encoder writes an X.509 v2 CRL (RFC 5280 §5) entry by entry: the caller gives the
//! number and total length of the entries up front (an aggregate over the revocation table),
//! then feeds each entry's DER; the TBS is hashed as it is written and signed at the end. The
//! only memory used is the writer's buffer, whatever the number of entries.

use openmyna_core::Refusal;
use std::io::{Read, Seek, SeekFrom, Write};

use aws_lc_rs::digest;
use der::asn1::{BitString, OctetString};
use der::{Enumerated, Tag};
use openmyna_core::Timestamp;
use serde::{Deserialize, Serialize};
use x509_cert::crl::RevokedCert;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::DistributionPointName;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber, FreshestCrl};
use x509_cert::serial_number::SerialNumber;

use crate::ca::RootCa;
use crate::key::to_der;
use crate::profile::{crl_dp, ext, x509_time};
use crate::serial::Serial;
use crate::{JpkiError, oid};

/// RFC 5280 CRLReason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Enumerated)]
#[serde(rename_all = "camelCase")]
#[repr(u32)]
pub enum Reason {
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    RemoveFromCrl = 8,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

impl Reason {
    pub const ALL: [Reason; 10] = [
        Reason::Unspecified,
        Reason::KeyCompromise,
        Reason::CaCompromise,
        Reason::AffiliationChanged,
        Reason::Superseded,
        Reason::CessationOfOperation,
        Reason::CertificateHold,
        Reason::RemoveFromCrl,
        Reason::PrivilegeWithdrawn,
        Reason::AaCompromise,
    ];

    pub fn code(self) -> i64 {
        self as u32 as i64
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The RFC 5280 name, as OpenSSL prints it in camelCase form.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::CertificateHold => "certificateHold",
            Reason::RemoveFromCrl => "removeFromCRL",
            Reason::PrivilegeWithdrawn => "privilegeWithdrawn",
            Reason::AaCompromise => "aACompromise",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s) || r.code().to_string() == s)
    }

    /// Reasons a revocation (not a hold) may give.
    pub fn is_revocation_reason(self) -> bool {
        !matches!(self, Reason::CertificateHold | Reason::RemoveFromCrl)
    }
}

/// A certificate's revocation status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Good,
    /// Temporarily suspended (一時利用停止): certificateHold since `since`.
    Held {
        since: Timestamp,
    },
    Revoked {
        at: Timestamp,
        reason: Reason,
    },
}

/// What an operator or an event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Revoke(Reason),
    Hold,
    Release,
}

/// The revocation state machine: good → held ↔ good; good or held → revoked (final). A held
/// certificate that is revoked keeps its hold time as revocation time.
pub fn transition(current: Status, action: Action, now: Timestamp) -> Result<Status, JpkiError> {
    let refused = |code: &'static str, message: &str| {
        JpkiError::Refusal(Refusal::refused(code, message.to_owned()))
    };
    match (current, action) {
        (Status::Revoked { .. }, _) => Err(refused(
            "certificate.revoked",
            "the certificate is already revoked; revocation is final",
        )),
        (_, Action::Revoke(r)) if !r.is_revocation_reason() => {
            Err(JpkiError::Refusal(Refusal::invalid(
                "reason.invalid",
                format!(
                    "{} is not a revocation reason; use hold or release",
                    r.name()
                ),
            )))
        }
        (Status::Good, Action::Revoke(reason)) => Ok(Status::Revoked { at: now, reason }),
        (Status::Held { since }, Action::Revoke(reason)) => {
            Ok(Status::Revoked { at: since, reason })
        }
        (Status::Good, Action::Hold) => Ok(Status::Held { since: now }),
        (Status::Held { .. }, Action::Hold) => Err(refused(
            "certificate.held",
            "the certificate is already suspended",
        )),
        (Status::Held { .. }, Action::Release) => Ok(Status::Good),
        (Status::Good, Action::Release) => Err(refused(
            "certificate.not_held",
            "the certificate is not suspended",
        )),
    }
}

/// The DER of one revokedCertificates entry, with its reasonCode extension (omitted for
/// `unspecified`, as RFC 5280 §5.3.1 recommends).
pub fn entry_der(serial: &Serial, at: &Timestamp, reason: Reason) -> Result<Vec<u8>, JpkiError> {
    let extensions = if reason == Reason::Unspecified {
        None
    } else {
        Some(vec![Extension {
            extn_id: oid::EXT_CRL_REASON,
            critical: false,
            extn_value: OctetString::new(to_der(&reason)?)?,
        }])
    };
    to_der(&RevokedCert {
        serial_number: SerialNumber::new(serial.as_bytes())?,
        revocation_date: x509_time(at)?,
        crl_entry_extensions: extensions,
    })
}

/// Which CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlScope {
    /// Every revoked and held certificate of the root; points at its delta CRL.
    Full { delta_url: String },
    /// Changes since the complete CRL numbered `base` (Delta CRL Indicator). A partition's
    /// delta carries the partition's Issuing Distribution Point (`partition_url`): a delta
    /// has the scope of its complete CRL (RFC 5280 §5.2.4).
    Delta {
        base: u64,
        partition_url: Option<String>,
    },
    /// One partition: the certificates whose CRL distribution point is `url`, named in a
    /// critical Issuing Distribution Point; its Freshest CRL extension points at the
    /// partition's delta CRL (`delta_url`), so that a validator that follows the CRL
    /// distribution point finds the delta too (RFC 5280 §5.2.6).
    Partition { url: String, delta_url: String },
}

/// The critical Issuing Distribution Point of a partition's CRLs (complete and delta).
fn partition_idp(url: &str) -> Result<Extension, JpkiError> {
    let dp = crl_dp(url)?;
    let name = dp.into_iter().next().and_then(|d| d.distribution_point);
    ext(
        oid::EXT_ISSUING_DISTRIBUTION_POINT,
        true,
        &IssuingDistributionPoint {
            distribution_point: name.map(|n| match n {
                DistributionPointName::FullName(f) => DistributionPointName::FullName(f),
                other => other,
            }),
            only_contains_user_certs: true,
            only_contains_ca_certs: false,
            only_some_reasons: None,
            indirect_crl: false,
            only_contains_attribute_certs: false,
        },
    )
}

/// A CRL's header fields.
#[derive(Debug, Clone)]
pub struct CrlSpec {
    pub scope: CrlScope,
    pub number: u64,
    pub this_update: Timestamp,
    pub next_update: Timestamp,
}

fn uint(n: u64) -> Result<der::asn1::Uint, JpkiError> {
    Ok(der::asn1::Uint::new(&n.to_be_bytes())?)
}

fn crl_extensions(ca: &RootCa, spec: &CrlSpec) -> Result<Vec<Extension>, JpkiError> {
    let mut exts = vec![
        ext(
            oid::EXT_AUTHORITY_KEY_ID,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(ca.ski.to_vec())?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
        ext(oid::EXT_CRL_NUMBER, false, &CrlNumber(uint(spec.number)?))?,
    ];
    match &spec.scope {
        CrlScope::Full { delta_url } => {
            exts.push(ext(
                oid::EXT_FRESHEST_CRL,
                false,
                &FreshestCrl(crl_dp(delta_url)?),
            )?);
        }
        CrlScope::Delta {
            base,
            partition_url,
        } => {
            exts.push(ext(oid::EXT_DELTA_CRL_INDICATOR, true, &uint(*base)?)?);
            if let Some(url) = partition_url {
                exts.push(partition_idp(url)?);
            }
        }
        CrlScope::Partition { url, delta_url } => {
            exts.push(partition_idp(url)?);
            exts.push(ext(
                oid::EXT_FRESHEST_CRL,
                false,
                &FreshestCrl(crl_dp(delta_url)?),
            )?);
        }
    }
    Ok(exts)
}

/// A DER tag-and-length header. Written by hand because `der`'s `Length` stops at 256 MiB
/// and a CRL of ten million entries is larger.
fn header(tag: Tag, len: u64) -> Result<Vec<u8>, JpkiError> {
    let mut out = vec![tag.octet()];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend(bytes.iter().skip(skip));
    }
    Ok(out)
}

/// What a finished CRL came to.
#[derive(Debug, Clone, Copy)]
pub struct CrlStats {
    pub entries: u64,
    pub bytes: u64,
}

/// Writes one CRL to `out`, streaming its entries.
pub struct CrlWriter<'a, W: Read + Write + Seek> {
    out: W,
    ca: &'a RootCa,
    hasher: digest::Context,
    expected_entries: u64,
    expected_len: u64,
    written_entries: u64,
    written_len: u64,
    tbs_tail: Vec<u8>,
    tbs_len: u64,
    outer_header_len: usize,
}

impl<'a, W: Read + Write + Seek> CrlWriter<'a, W> {
    /// Starts a CRL whose entries will number `entries` and total `entries_len` bytes.
    pub fn begin(
        mut out: W,
        ca: &'a RootCa,
        spec: &CrlSpec,
        entries: u64,
        entries_len: u64,
    ) -> Result<Self, JpkiError> {
        let alg = to_der(&ca.key.kind().signature_algorithm())?;
        let mut head = Vec::new();
        head.extend(to_der(&1u8)?); // version v2
        head.extend(&alg);
        head.extend(to_der(&ca.name)?);
        head.extend(to_der(&x509_time(&spec.this_update)?)?);
        head.extend(to_der(&x509_time(&spec.next_update)?)?);
        let revoked_header = if entries > 0 {
            header(Tag::Sequence, entries_len)?
        } else {
            Vec::new()
        };
        let exts = to_der(&crl_extensions(ca, spec)?)?;
        let mut tail = header(
            Tag::ContextSpecific {
                constructed: true,
                number: der::TagNumber::N0,
            },
            exts.len() as u64,
        )?;
        tail.extend(exts);
        let tbs_content = head.len() as u64
            + revoked_header.len() as u64
            + if entries > 0 { entries_len } else { 0 }
            + tail.len() as u64;
        let tbs_header = header(Tag::Sequence, tbs_content)?;
        let tbs_len = tbs_header.len() as u64 + tbs_content;
        // The signature's length is known only at the end (ECDSA's varies by a byte or two);
        // reserve the outer header for the largest it can be and rewrite it then.
        let max_sig = to_der(&BitString::from_bytes(&vec![0xffu8; 16 + 512])?)?.len() as u64;
        let outer = header(Tag::Sequence, tbs_len + alg.len() as u64 + max_sig)?;
        out.write_all(&outer)?;
        let mut hasher = digest::Context::new(ca.key.kind().digest_algorithm());
        for part in [&tbs_header, &head, &revoked_header] {
            hasher.update(part);
            out.write_all(part)?;
        }
        Ok(CrlWriter {
            out,
            ca,
            hasher,
            expected_entries: entries,
            expected_len: if entries > 0 { entries_len } else { 0 },
            written_entries: 0,
            written_len: 0,
            tbs_tail: tail,
            tbs_len,
            outer_header_len: outer.len(),
        })
    }

    /// Appends one entry (from [`entry_der`]).
    pub fn entry(&mut self, der: &[u8]) -> Result<(), JpkiError> {
        self.entries(der, 1)
    }

    /// Appends `count` entries given as one concatenation of their DER.
    pub fn entries(&mut self, der: &[u8], count: u64) -> Result<(), JpkiError> {
        self.written_entries += count;
        self.written_len += der.len() as u64;
        if self.written_entries > self.expected_entries || self.written_len > self.expected_len {
            return Err(JpkiError::Inconsistent(
                "more CRL entries than announced".into(),
            ));
        }
        self.hasher.update(der);
        self.out.write_all(der)?;
        Ok(())
    }

    /// Signs, completes the file, and returns the writer and the totals.
    pub fn finish(mut self) -> Result<(W, CrlStats), JpkiError> {
        if self.written_entries != self.expected_entries || self.written_len != self.expected_len {
            return Err(JpkiError::Inconsistent(format!(
                "CRL announced {} entries ({} bytes) but received {} ({} bytes)",
                self.expected_entries, self.expected_len, self.written_entries, self.written_len
            )));
        }
        self.hasher.update(&self.tbs_tail);
        self.out.write_all(&self.tbs_tail)?;
        let signature = self.ca.key.sign_digest(&self.hasher.finish())?;
        let alg = to_der(&self.ca.key.kind().signature_algorithm())?;
        let sig = to_der(&BitString::from_bytes(&signature)?)?;
        self.out.write_all(&alg)?;
        self.out.write_all(&sig)?;
        let content = self.tbs_len + alg.len() as u64 + sig.len() as u64;
        let outer = header(Tag::Sequence, content)?;
        if outer.len() != self.outer_header_len {
            // The reserved header was longer (the length crossed an octet boundary); shift the
            // body down by the difference. Only possible for CRLs within a few bytes of 256,
            // 65536 or 16 MiB, so the copy is small or rare.
            let shift = self.outer_header_len - outer.len();
            let total = self.outer_header_len as u64 + content;
            let mut buf = vec![0u8; 64 * 1024];
            let mut pos = self.outer_header_len as u64;
            while pos < total {
                let n = ((total - pos) as usize).min(buf.len());
                // Only the last chunk is shorter than the buffer.
                buf.truncate(n);
                self.out.seek(SeekFrom::Start(pos))?;
                self.out.read_exact(&mut buf)?;
                self.out.seek(SeekFrom::Start(pos - shift as u64))?;
                self.out.write_all(&buf)?;
                pos += n as u64;
            }
        }
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&outer)?;
        self.out.flush()?;
        Ok((
            self.out,
            CrlStats {
                entries: self.written_entries,
                bytes: outer.len() as u64 + content,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn t(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn state_machine() {
        let now = t("2026-04-01T10:00:00+09:00");
        let later = t("2026-04-02T10:00:00+09:00");
        let held = transition(Status::Good, Action::Hold, now).unwrap();
        assert_eq!(held, Status::Held { since: now });
        assert_eq!(
            transition(held, Action::Release, later).unwrap(),
            Status::Good
        );
        assert_eq!(
            transition(held, Action::Revoke(Reason::KeyCompromise), later).unwrap(),
            Status::Revoked {
                at: now,
                reason: Reason::KeyCompromise
            }
        );
        let revoked = transition(Status::Good, Action::Revoke(Reason::Superseded), now).unwrap();
        assert!(transition(revoked, Action::Release, later).is_err());
        assert!(transition(revoked, Action::Hold, later).is_err());
        assert!(transition(Status::Good, Action::Release, later).is_err());
        assert!(transition(Status::Good, Action::Revoke(Reason::CertificateHold), now).is_err());
    }

    #[test]
    fn headers_match_der_and_go_beyond_its_limit() {
        use der::{Encode, Header, Length};
        for len in [
            0u64,
            1,
            127,
            128,
            255,
            256,
            65535,
            65536,
            16_777_216,
            200_000_000,
        ] {
            let ours = header(Tag::Sequence, len).unwrap();
            let theirs = Header::new(Tag::Sequence, Length::try_from(len as usize).unwrap())
                .unwrap()
                .to_der()
                .unwrap();
            assert_eq!(ours, theirs, "{len}");
        }
        assert_eq!(
            header(Tag::Sequence, 480_000_000).unwrap(),
            vec![0x30, 0x84, 0x1c, 0x9c, 0x38, 0x00]
        );
    }

    #[test]
    fn reasons_parse() {
        assert_eq!(Reason::parse("keyCompromise"), Some(Reason::KeyCompromise));
        assert_eq!(Reason::parse("4"), Some(Reason::Superseded));
        assert_eq!(Reason::from_code(8), Some(Reason::RemoveFromCrl));
        assert_eq!(Reason::parse("bogus"), None);
    }
}
