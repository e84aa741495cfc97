//! Reading a CRL as a stream: a relying party checks a CRL of tens of millions of entries
//! (hundreds of megabytes) against its customers without holding it in memory. The
//! signature is checked over the streamed `tbsCertList` at the end.

use openmyna_core::Refusal;
use std::io::Read;

use aws_lc_rs::digest;
use der::Decode;
use der::asn1::ObjectIdentifier;
use openmyna_core::Timestamp;
use x509_cert::ext::Extension;
use x509_cert::time::Time;

use crate::{JpkiError, Reason, key, oid};

fn bad(m: &str) -> JpkiError {
    JpkiError::Refusal(Refusal::invalid("crl.format", format!("CRL: {m}")))
}

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    /// The serial's INTEGER content octets.
    pub serial: Vec<u8>,
    pub revoked_at: Timestamp,
    pub reason: Reason,
}

/// The header fields read before the entries.
#[derive(Debug, Clone)]
pub struct CrlHeader {
    pub issuer_der: Vec<u8>,
    pub this_update: Timestamp,
    pub next_update: Option<Timestamp>,
}

/// The extensions and the signature, read after the entries.
#[derive(Debug, Clone, Default)]
pub struct CrlTrailer {
    pub number: Option<u64>,
    /// The base CRL number of a delta CRL.
    pub delta_base: Option<u64>,
    /// A partitioned CRL (Issuing Distribution Point present).
    pub partitioned: bool,
    /// A critical CRL extension this reader does not know (RFC 5280 §5: such a CRL must
    /// not be used).
    pub unknown_critical: bool,
    pub entries: u64,
    pub bytes: u64,
}

pub struct CrlReader<R: Read> {
    r: R,
    hash: digest::Context,
    /// Bytes of tbsCertList still to read.
    tbs_left: usize,
    /// Bytes of revokedCertificates still to read.
    entries_left: usize,
    entries: u64,
    bytes: u64,
    sig_alg: ObjectIdentifier,
    /// A CRL-extensions element read while looking for the entries.
    pending_extensions: Option<Vec<u8>>,
    pub header: CrlHeader,
}

/// The largest single element read into memory (an entry, the issuer, the extensions).
const MAX_ELEMENT: usize = 1 << 20;

fn read_exact<R: Read>(r: &mut R, n: usize) -> Result<Vec<u8>, JpkiError> {
    if n > MAX_ELEMENT {
        return Err(bad("an element is larger than 1 MiB"));
    }
    let mut v = vec![0u8; n];
    r.read_exact(&mut v)
        .map_err(|e| bad(&format!("truncated ({e})")))?;
    Ok(v)
}

/// Reads a DER header (single-byte tags): (tag, value length, the header bytes).
fn header<R: Read>(r: &mut R) -> Result<(u8, usize, Vec<u8>), JpkiError> {
    let mut h = read_exact(r, 2)?;
    let &[tag, l0] = h.as_slice() else {
        return Err(bad("truncated"));
    };
    if tag & 0x1F == 0x1F {
        return Err(bad("unexpected multi-byte tag"));
    }
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7F);
        if n == 0 || n > 4 {
            return Err(bad("unsupported length"));
        }
        let more = read_exact(r, n)?;
        h.extend_from_slice(&more);
        more.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b))
    };
    Ok((tag, len, h))
}

fn time(tag: u8, value: &[u8]) -> Result<Timestamp, JpkiError> {
    let t = Time::from_der(&tlv(tag, value)).map_err(|_| bad("bad time"))?;
    crate::time_to_timestamp(&t)
}

fn digest_for(sig_alg: &ObjectIdentifier) -> Result<&'static digest::Algorithm, JpkiError> {
    if *sig_alg == oid::SHA256_WITH_RSA || *sig_alg == oid::ECDSA_WITH_SHA256 {
        Ok(&digest::SHA256)
    } else if *sig_alg == oid::ECDSA_WITH_SHA384 {
        Ok(&digest::SHA384)
    } else {
        Err(JpkiError::Unsupported(format!(
            "CRL signature algorithm {sig_alg}"
        )))
    }
}

fn uint(v: &[u8]) -> Option<u64> {
    if v.len() > 8 || v.is_empty() {
        return None;
    }
    Some(v.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
}

impl<R: Read> CrlReader<R> {
    /// Reads up to the first entry.
    pub fn open(mut r: R) -> Result<Self, JpkiError> {
        let (tag, _, _) = header(&mut r)?;
        if tag != 0x30 {
            return Err(bad("not a SEQUENCE"));
        }
        let (tag, tbs_len, tbs_head) = header(&mut r)?;
        if tag != 0x30 {
            return Err(bad("no tbsCertList"));
        }
        // Read the small fields first (into `seen`) to learn the signature algorithm, then
        // hash what was seen and continue hashing as the entries stream.
        let mut seen = tbs_head;
        let mut left = tbs_len;
        let take =
            |r: &mut R, seen: &mut Vec<u8>, left: &mut usize| -> Result<(u8, Vec<u8>), JpkiError> {
                let (tag, len, h) = header(r)?;
                let v = read_exact(r, len)?;
                let used = h.len() + len;
                *left = left
                    .checked_sub(used)
                    .ok_or_else(|| bad("element overruns tbsCertList"))?;
                seen.extend_from_slice(&h);
                seen.extend_from_slice(&v);
                Ok((tag, v))
            };
        let (mut tag, mut v) = take(&mut r, &mut seen, &mut left)?;
        if tag == 0x02 {
            (tag, v) = take(&mut r, &mut seen, &mut left)?;
        }
        if tag != 0x30 {
            return Err(bad("no signature algorithm"));
        }
        let alg = spki::AlgorithmIdentifierOwned::from_der(&tlv(0x30, &v))
            .map_err(|_| bad("bad signature algorithm"))?;
        let (tag, issuer) = take(&mut r, &mut seen, &mut left)?;
        if tag != 0x30 {
            return Err(bad("no issuer"));
        }
        let issuer_der = tlv(0x30, &issuer);
        let (tag, tu) = take(&mut r, &mut seen, &mut left)?;
        let this_update = time(tag, &tu)?;
        let mut next_update = None;
        let mut entries_left = 0;
        let mut pending_extensions = None;
        if left > 0 {
            let (tag, len, h) = header(&mut r)?;
            match tag {
                0x17 | 0x18 => {
                    let v = read_exact(&mut r, len)?;
                    left = left
                        .checked_sub(h.len() + len)
                        .ok_or_else(|| bad("overrun"))?;
                    seen.extend_from_slice(&h);
                    seen.extend_from_slice(&v);
                    next_update = Some(time(tag, &v)?);
                    if left > 0 {
                        let (tag, len, h) = header(&mut r)?;
                        left = left.checked_sub(h.len()).ok_or_else(|| bad("overrun"))?;
                        seen.extend_from_slice(&h);
                        match tag {
                            0x30 => entries_left = len,
                            0xA0 => {
                                let v = read_exact(&mut r, len)?;
                                left = left.checked_sub(len).ok_or_else(|| bad("overrun"))?;
                                seen.extend_from_slice(&v);
                                pending_extensions = Some(v);
                            }
                            _ => return Err(bad("unexpected element")),
                        }
                    }
                }
                0x30 => {
                    left = left.checked_sub(h.len()).ok_or_else(|| bad("overrun"))?;
                    seen.extend_from_slice(&h);
                    entries_left = len;
                }
                0xA0 => {
                    let v = read_exact(&mut r, len)?;
                    left = left
                        .checked_sub(h.len() + len)
                        .ok_or_else(|| bad("overrun"))?;
                    seen.extend_from_slice(&h);
                    seen.extend_from_slice(&v);
                    pending_extensions = Some(v);
                }
                _ => return Err(bad("unexpected element")),
            }
        }
        let mut hash = digest::Context::new(digest_for(&alg.oid)?);
        hash.update(&seen);
        if entries_left > left {
            return Err(bad("revokedCertificates overruns tbsCertList"));
        }
        Ok(CrlReader {
            r,
            hash,
            tbs_left: left,
            entries_left,
            entries: 0,
            bytes: 0,
            sig_alg: alg.oid,
            pending_extensions,
            header: CrlHeader {
                issuer_der,
                this_update,
                next_update,
            },
        })
    }

    /// The next revoked certificate, or `None` after the last.
    pub fn next_entry(&mut self) -> Result<Option<CrlEntry>, JpkiError> {
        if self.entries_left == 0 {
            return Ok(None);
        }
        let (tag, len, h) = header(&mut self.r)?;
        if tag != 0x30 {
            return Err(bad("an entry is not a SEQUENCE"));
        }
        let used = h.len() + len;
        if used > self.entries_left {
            return Err(bad("entry overruns the list"));
        }
        let v = read_exact(&mut self.r, len)?;
        self.entries_left = self
            .entries_left
            .checked_sub(used)
            .ok_or_else(|| bad("entry overruns the list"))?;
        self.tbs_left -= used;
        self.hash.update(&h);
        self.hash.update(&v);
        self.entries += 1;
        self.bytes += used as u64;
        // serial INTEGER, revocationDate Time, extensions?
        let mut rest = v.as_slice();
        let (t, serial, after) = small_tlv(rest).ok_or_else(|| bad("entry serial"))?;
        if t != 0x02 {
            return Err(bad("entry serial is not an INTEGER"));
        }
        rest = after;
        let (t, tv, after) = small_tlv(rest).ok_or_else(|| bad("entry date"))?;
        let revoked_at = time(t, tv)?;
        rest = after;
        let mut reason = Reason::Unspecified;
        if !rest.is_empty() {
            let exts: Vec<Extension> =
                Vec::<Extension>::from_der(rest).map_err(|_| bad("entry extensions"))?;
            for e in exts {
                if e.extn_id == oid::EXT_CRL_REASON {
                    let code = e.extn_value.as_bytes().last().copied().unwrap_or(0);
                    reason = Reason::from_code(i64::from(code)).unwrap_or(Reason::Unspecified);
                }
            }
        }
        Ok(Some(CrlEntry {
            serial: serial.to_vec(),
            revoked_at,
            reason,
        }))
    }

    /// Reads the rest (skipping entries not yet read), checks the signature with the issuer's
    /// public key (SPKI DER) and returns the CRL number and delta base.
    pub fn finish(mut self, issuer_spki: &[u8]) -> Result<CrlTrailer, JpkiError> {
        while self.next_entry()?.is_some() {}
        let mut ext_value = self.pending_extensions.take();
        if self.tbs_left > 0 {
            let (tag, len, h) = header(&mut self.r)?;
            let v = read_exact(&mut self.r, len)?;
            self.tbs_left = self
                .tbs_left
                .checked_sub(h.len() + len)
                .ok_or_else(|| bad("extensions overrun tbsCertList"))?;
            self.hash.update(&h);
            self.hash.update(&v);
            if tag == 0xA0 {
                ext_value = Some(v);
            }
        }
        if self.tbs_left != 0 {
            return Err(bad("unexpected data in tbsCertList"));
        }
        let digest = self.hash.finish();
        let (tag, len, _) = header(&mut self.r)?;
        let alg =
            spki::AlgorithmIdentifierOwned::from_der(&tlv(0x30, &read_exact(&mut self.r, len)?))
                .map_err(|_| bad("bad outer signature algorithm"))?;
        if tag != 0x30 || alg.oid != self.sig_alg {
            return Err(bad(
                "the outer signature algorithm differs from the inner one",
            ));
        }
        let (tag, len, _) = header(&mut self.r)?;
        let sig = read_exact(&mut self.r, len)?;
        let bits = match sig.split_first() {
            Some((0, bits)) if tag == 0x03 => bits,
            _ => return Err(bad("no signature (a BIT STRING without unused bits)")),
        };
        key::verify_digest(issuer_spki, &digest, bits)
            .map_err(|_| bad("the signature does not verify with the issuer's key"))?;
        let mut trailer = CrlTrailer {
            entries: self.entries,
            bytes: self.bytes,
            ..Default::default()
        };
        if let Some(v) = ext_value {
            let exts = Vec::<Extension>::from_der(&v).map_err(|_| bad("CRL extensions"))?;
            for e in exts {
                let n = der::asn1::Uint::from_der(e.extn_value.as_bytes())
                    .ok()
                    .and_then(|u| uint(u.as_bytes()));
                if e.extn_id == oid::EXT_CRL_NUMBER {
                    trailer.number = n;
                } else if e.extn_id == oid::EXT_DELTA_CRL_INDICATOR {
                    trailer.delta_base = n;
                } else if e.extn_id == oid::EXT_ISSUING_DISTRIBUTION_POINT {
                    trailer.partitioned = true;
                } else if e.critical
                    && e.extn_id != oid::EXT_AUTHORITY_KEY_ID
                    && e.extn_id != oid::EXT_FRESHEST_CRL
                {
                    trailer.unknown_critical = true;
                }
            }
        }
        Ok(trailer)
    }
}

/// One TLV with a short or long length from a slice: (tag, value, rest).
fn small_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let l0 = *b.get(1)?;
    let (len, start) = if l0 < 0x80 {
        (usize::from(l0), 2)
    } else {
        let n = usize::from(l0 & 0x7F);
        if n == 0 || n > 3 {
            return None;
        }
        let len = b
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |a, x| (a << 8) | usize::from(*x));
        (len, 2 + n)
    };
    let end = start.checked_add(len)?;
    Some((tag, b.get(start..end)?, b.get(end..)?))
}

/// A DER TLV from a tag and value.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let b = (n as u64).to_be_bytes();
        let skip = b.iter().take_while(|x| **x == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend(b.iter().skip(skip));
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::crl::{CrlScope, CrlSpec, CrlWriter, entry_der};
    use crate::{KeyKind, RootCa, RootKind, Serial};
    use openmyna_core::SeededEntropy;

    fn crl(kind: KeyKind, n: u64, scope: CrlScope) -> (RootCa, Vec<u8>, Vec<Serial>) {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00+09:00").unwrap();
        let ent = SeededEntropy::new(5);
        let ca = RootCa::create(RootKind::Sign, kind, &now, &ent).unwrap();
        let serials: Vec<Serial> = (0..n).map(|_| Serial::generate(&ent)).collect();
        let entries: Vec<Vec<u8>> = serials
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let r = if i % 3 == 0 {
                    Reason::CertificateHold
                } else {
                    Reason::AffiliationChanged
                };
                entry_der(s, &now, r).unwrap()
            })
            .collect();
        let len: u64 = entries.iter().map(|e| e.len() as u64).sum();
        let spec = CrlSpec {
            scope,
            number: 42,
            this_update: now,
            next_update: now + chrono::Duration::days(1),
        };
        let mut w = CrlWriter::begin(Cursor::new(Vec::new()), &ca, &spec, n, len).unwrap();
        for e in &entries {
            w.entry(e).unwrap();
        }
        let (out, _) = w.finish().unwrap();
        (ca, out.into_inner(), serials)
    }

    #[test]
    fn streams_entries_and_checks_the_signature() {
        for kind in [KeyKind::Rsa2048, KeyKind::EcP384] {
            let (ca, der, serials) = crl(
                kind,
                1000,
                CrlScope::Full {
                    delta_url: "http://x/delta.crl".into(),
                },
            );
            let mut r = CrlReader::open(der.as_slice()).unwrap();
            let mut got = Vec::new();
            while let Some(e) = r.next_entry().unwrap() {
                got.push(e);
            }
            assert_eq!(got.len(), 1000);
            assert_eq!(got[0].serial, serials[0].as_bytes());
            assert_eq!(got[0].reason, Reason::CertificateHold);
            assert_eq!(got[1].reason, Reason::AffiliationChanged);
            let t = r.finish(&ca.key.spki_der().unwrap()).unwrap();
            assert_eq!((t.number, t.delta_base, t.entries), (Some(42), None, 1000));
            // A changed byte anywhere in an entry breaks the signature.
            let mut bad = der.clone();
            let at = bad.len() / 2;
            bad[at] ^= 0x01;
            let r = CrlReader::open(bad.as_slice());
            if let Ok(r) = r {
                assert!(r.finish(&ca.key.spki_der().unwrap()).is_err());
            }
        }
    }

    #[test]
    fn deltas_and_empty_crls() {
        let (ca, der, _) = crl(
            KeyKind::Rsa2048,
            0,
            CrlScope::Delta {
                base: 41,
                partition_url: None,
            },
        );
        let mut r = CrlReader::open(der.as_slice()).unwrap();
        assert!(r.next_entry().unwrap().is_none());
        let t = r.finish(&ca.key.spki_der().unwrap()).unwrap();
        assert_eq!((t.number, t.delta_base), (Some(42), Some(41)));
        assert!(!t.partitioned && !t.unknown_critical);
        assert!(CrlReader::open(&der[..10]).is_err());
        let (ca, der, _) = crl(
            KeyKind::Rsa2048,
            3,
            CrlScope::Partition {
                url: "http://x/p0.crl".into(),
                delta_url: "http://x/p0-delta.crl".into(),
            },
        );
        let mut r = CrlReader::open(der.as_slice()).unwrap();
        while r.next_entry().unwrap().is_some() {}
        let t = r.finish(&ca.key.spki_der().unwrap()).unwrap();
        assert!(t.partitioned, "the critical IDP is known and reported");
        assert!(!t.unknown_critical);
        assert!(CrlReader::open(&b"\x30\x03\x02\x01\x01"[..]).is_err());
    }
}
