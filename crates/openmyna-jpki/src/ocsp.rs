//! OCSP (RFC 6960, RFC 5019 profile): parsing requests and signing responses with a root's
//! delegated responder.

use aws_lc_rs::digest;
use chrono::Duration;
use der::asn1::OctetString;
use der::{Decode, Encode};
use openmyna_core::Refusal;
use openmyna_core::Timestamp;
use std::ops::Range;
use x509_cert::ext::pkix::CrlReason;

use x509_ocsp::OcspRequest;

use crate::ca::RootCa;
use crate::crl::Reason;
use crate::key::to_der;
use crate::serial::Serial;
use crate::{JpkiError, oid};

/// Longest nonce accepted: RFC 9654 §2.1 (which obsoletes RFC 8954's 32) allows 1 to 128
/// octets and has a request with 0 or more than 128 refused as malformedRequest. Every nonce
/// from 1 to 128 octets is echoed.
pub const MAX_NONCE_LEN: usize = 128;
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
    pub fn matches(&self, id: &RequestedCert) -> bool {
        let (name, key) = match id.hash() {
            CertIdHash::Sha1 => (&self.sha1_name, &self.sha1_key),
            CertIdHash::Sha256 => (&self.sha256_name, &self.sha256_key),
            CertIdHash::Other => return false,
        };
        id.issuer_name_hash() == name.as_slice() && id.issuer_key_hash() == key.as_slice()
    }
}

/// Why a request cannot be answered with statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcspRefusal {
    #[error("malformed OCSP request: {0}")]
    Malformed(String),
}

/// The hash a CertID names its issuer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertIdHash {
    Sha1,
    Sha256,
    /// Any other algorithm: no root matches it.
    Other,
}

/// One certificate asked about: its CertID as sent (echoed in the response), and the parts
/// of it the responder reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedCert {
    der: Vec<u8>,
    hash: CertIdHash,
    name_hash: Range<usize>,
    key_hash: Range<usize>,
    serial: Range<usize>,
}

/// Reads a CertID (DER) `SEQUENCE { AlgorithmIdentifier, OCTET STRING, OCTET STRING,
/// INTEGER }`, whatever its hash algorithm and serial; `None` if it is not one. Also tells
/// whether the algorithm's parameters are absent or NULL.
fn read_cert_id(der: Vec<u8>) -> Option<(RequestedCert, bool)> {
    let mut outer = Reader::new(&der);
    let (0x30, body) = outer.next()? else {
        return None;
    };
    if !outer.at_end() {
        return None;
    }
    let mut r = Reader::over(&der, body);
    let (0x30, alg) = r.next()? else { return None };
    let mut a = Reader::over(&der, alg);
    let (0x06, oid_bytes) = a.next()? else {
        return None;
    };
    // The parameters: absent, or one element (NULL for the SHA family).
    let mut plain_params = true;
    if !a.at_end() {
        let (tag, params) = a.next()?;
        plain_params = tag == 0x05 && params.is_empty();
        if !a.at_end() {
            return None;
        }
    }
    let oid_bytes = der.get(oid_bytes)?;
    let hash = if oid_bytes == oid::SHA1.as_bytes() {
        CertIdHash::Sha1
    } else if oid_bytes == oid::SHA256.as_bytes() {
        CertIdHash::Sha256
    } else {
        CertIdHash::Other
    };
    let (0x04, name_hash) = r.next()? else {
        return None;
    };
    let (0x04, key_hash) = r.next()? else {
        return None;
    };
    let (0x02, serial) = r.next()? else {
        return None;
    };
    if !r.at_end() {
        return None;
    }
    Some((
        RequestedCert {
            der,
            hash,
            name_hash,
            key_hash,
            serial,
        },
        plain_params,
    ))
}

impl RequestedCert {
    /// The CertID as sent (DER).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn hash(&self) -> CertIdHash {
        self.hash
    }

    pub fn issuer_name_hash(&self) -> &[u8] {
        self.der.get(self.name_hash.clone()).unwrap_or_default()
    }

    pub fn issuer_key_hash(&self) -> &[u8] {
        self.der.get(self.key_hash.clone()).unwrap_or_default()
    }

    /// The serial number's INTEGER contents, as sent.
    pub fn serial_bytes(&self) -> &[u8] {
        self.der.get(self.serial.clone()).unwrap_or_default()
    }

    /// The serial, if it is a valid positive serial.
    pub fn serial(&self) -> Option<Serial> {
        Serial::from_der_bytes(self.serial_bytes()).ok()
    }
}

/// A request, reduced to what the responder needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRequest {
    /// The certificates asked about, in the order asked.
    pub certs: Vec<RequestedCert>,
    /// The nonce extension (DER of the Extension) as sent, echoed in the response.
    pub nonce: Option<Vec<u8>>,
}

/// A strict DER reader over part of a buffer: single-octet tags and definite, minimal lengths
/// (of at most two octets: no request comes near 64 KiB). Positions are in the whole buffer.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            end: buf.len(),
        }
    }

    /// A reader over the contents `within` of an element of `buf`.
    fn over(buf: &'a [u8], within: Range<usize>) -> Self {
        Reader {
            buf,
            pos: within.start,
            end: within.end,
        }
    }

    fn at_end(&self) -> bool {
        self.pos == self.end
    }

    /// The next element: its tag and where its contents are.
    fn next(&mut self) -> Option<(u8, Range<usize>)> {
        let rest = self.buf.get(self.pos..self.end)?;
        let (&tag, rest) = rest.split_first()?;
        if tag & 0x1f == 0x1f {
            // A tag number above 30: none of OCSP's.
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, header) = match first {
            0x00..=0x7f => (usize::from(first), 2),
            0x81 => match rest.first() {
                Some(&b) if b >= 0x80 => (usize::from(b), 3),
                _ => return None,
            },
            0x82 => match rest.get(..2) {
                Some(&[hi, lo]) if hi != 0 => (usize::from(hi) << 8 | usize::from(lo), 4),
                _ => return None,
            },
            _ => return None,
        };
        let start = self.pos + header;
        let end = start.checked_add(len)?;
        if end > self.end {
            return None;
        }
        self.pos = end;
        Some((tag, start..end))
    }
}

/// Parses a DER OCSPRequest. Signed requests are accepted and their signature ignored (the
/// responder answers anyone, as public OCSP does).
///
/// The usual request (unsigned, no requestor name, CertIDs with SHA-1 or SHA-256, at most a
/// nonce as extension) is read in place ([`parse_plain`]); anything else goes through the
/// general decoder ([`parse_request_decoded`]). Both give the same result for every request
/// the first reads (the unit tests and the `ocsp_request` fuzzer check this).
pub fn parse_request(der_bytes: &[u8]) -> Result<ParsedRequest, OcspRefusal> {
    match parse_plain(der_bytes) {
        Some((certs, nonce)) => finish(certs, nonce),
        None => parse_request_decoded(der_bytes),
    }
}

/// Reads the usual shape of request in place: `SEQUENCE { SEQUENCE { SEQUENCE OF SEQUENCE {
/// CertID }, [2] { SEQUENCE { nonce Extension } } OPTIONAL } }`, with SHA-1 or SHA-256 in the
/// CertIDs (parameters NULL or absent), serials as [`Serial::der_bytes_problem`] has them, and a
/// nonce whose value is one OCTET STRING. `None` for anything else, which
/// [`parse_request_decoded`] then decides. Returns the certificates and the nonce extension.
#[allow(clippy::type_complexity)]
pub fn parse_plain(der: &[u8]) -> Option<(Vec<RequestedCert>, Option<(Vec<u8>, usize)>)> {
    let mut outer = Reader::new(der);
    let (0x30, request) = outer.next()? else {
        return None;
    };
    if !outer.at_end() {
        return None;
    }
    let mut r = Reader::over(der, request);
    let (0x30, tbs) = r.next()? else { return None };
    if !r.at_end() {
        // optionalSignature
        return None;
    }
    let mut tbs = Reader::over(der, tbs);
    // version (DEFAULT v1) and requestorName are left to the general decoder.
    let (0x30, list) = tbs.next()? else {
        return None;
    };
    let nonce = if tbs.at_end() {
        None
    } else {
        let (0xa2, explicit) = tbs.next()? else {
            return None;
        };
        if !tbs.at_end() {
            return None;
        }
        Some(plain_nonce(der, explicit)?)
    };
    let mut list = Reader::over(der, list);
    let mut certs = Vec::with_capacity(1);
    while !list.at_end() {
        let (0x30, request) = list.next()? else {
            return None;
        };
        let mut request = Reader::over(der, request);
        let start = request.pos;
        let (0x30, _) = request.next()? else {
            return None;
        };
        if !request.at_end() {
            // singleRequestExtensions
            return None;
        }
        let (cert, plain_params) = read_cert_id(der.get(start..request.pos)?.to_vec())?;
        let plain_serial = Serial::der_bytes_problem(cert.serial_bytes()).is_none();
        if cert.hash == CertIdHash::Other || !plain_params || !plain_serial {
            return None;
        }
        certs.push(cert);
    }
    Some((certs, nonce))
}

/// The nonce in `[2] { SEQUENCE { Extension } }` when that is the one extension, marked
/// critical or not in DER's way: the Extension's DER and where its value starts in it.
fn plain_nonce(der: &[u8], explicit: Range<usize>) -> Option<(Vec<u8>, usize)> {
    let mut r = Reader::over(der, explicit);
    let (0x30, list) = r.next()? else { return None };
    if !r.at_end() {
        return None;
    }
    let mut list = Reader::over(der, list);
    let start = list.pos;
    let (0x30, ext) = list.next()? else {
        return None;
    };
    if !list.at_end() {
        return None;
    }
    let whole = start..list.pos;
    let mut e = Reader::over(der, ext);
    let (0x06, id) = e.next()? else { return None };
    if der.get(id)? != oid::OCSP_NONCE.as_bytes() {
        return None;
    }
    let (mut tag, mut value) = e.next()?;
    if tag == 0x01 {
        // critical: DER has TRUE as FF and leaves the DEFAULT FALSE out.
        if der.get(value)? != [0xff] {
            return None;
        }
        (tag, value) = e.next()?;
    }
    if tag != 0x04 || !e.at_end() {
        return None;
    }
    let mut inner = Reader::over(der, value.clone());
    let (0x04, nonce) = inner.next()? else {
        return None;
    };
    if !inner.at_end() {
        return None;
    }
    Some((der.get(whole)?.to_vec(), nonce.len()))
}

/// The checks every request passes, however it was read: `nonce` is the nonce Extension's
/// DER and the length of the nonce in it.
fn finish(
    certs: Vec<RequestedCert>,
    nonce: Option<(Vec<u8>, usize)>,
) -> Result<ParsedRequest, OcspRefusal> {
    if certs.is_empty() {
        return Err(OcspRefusal::Malformed(
            "the request lists no certificate".into(),
        ));
    }
    if certs.len() > MAX_CERTS_PER_REQUEST {
        return Err(OcspRefusal::Malformed(format!(
            "at most {MAX_CERTS_PER_REQUEST} certificates per request"
        )));
    }
    let nonce = match nonce {
        Some((_, len)) if len == 0 || len > MAX_NONCE_LEN => {
            return Err(OcspRefusal::Malformed(format!(
                "the nonce has {len} octets; RFC 9654 allows 1 to {MAX_NONCE_LEN}"
            )));
        }
        other => other.map(|(der, _)| der),
    };
    Ok(ParsedRequest { certs, nonce })
}

/// Parses a DER OCSPRequest with the general decoder (any valid request).
pub fn parse_request_decoded(der_bytes: &[u8]) -> Result<ParsedRequest, OcspRefusal> {
    let req = OcspRequest::from_der(der_bytes)
        .map_err(|e| OcspRefusal::Malformed(format!("not a DER OCSPRequest: {e}")))?;
    let list = req.tbs_request.request_list;
    // The number of certificates is checked with the rest in `finish`.
    // RFC 6960 §4.1.2: unrecognised extensions are ignored unless they are critical; a
    // critical one this responder does not understand makes the request one it cannot
    // answer as asked (malformedRequest).
    let extensions = req.tbs_request.request_extensions.unwrap_or_default();
    if let Some(e) = extensions
        .iter()
        .find(|e| e.critical && e.extn_id != oid::OCSP_NONCE)
    {
        return Err(OcspRefusal::Malformed(format!(
            "the request has a critical extension {} this responder does not understand",
            e.extn_id
        )));
    }
    for r in &list {
        if let Some(e) = r
            .single_request_extensions
            .iter()
            .flatten()
            .find(|e| e.critical)
        {
            return Err(OcspRefusal::Malformed(format!(
                "a certificate's request has a critical extension {} this responder does not \
                 understand",
                e.extn_id
            )));
        }
    }
    let nonce = match extensions
        .into_iter()
        .find(|e| e.extn_id == oid::OCSP_NONCE)
    {
        None => None,
        Some(n) => {
            let inner = OctetString::from_der(n.extn_value.as_bytes())
                .map_err(|_| OcspRefusal::Malformed("the nonce is not an OCTET STRING".into()))?;
            let der = n
                .to_der()
                .map_err(|e| OcspRefusal::Malformed(format!("the nonce cannot be encoded: {e}")))?;
            Some((der, inner.as_bytes().len()))
        }
    };
    let certs = list
        .into_iter()
        .map(|r| {
            r.req_cert
                .to_der()
                .ok()
                .and_then(read_cert_id)
                .map(|(cert, _)| cert)
                .ok_or_else(|| OcspRefusal::Malformed("a CertID cannot be encoded".into()))
        })
        .collect::<Result<Vec<_>, OcspRefusal>>()?;
    finish(certs, nonce)
}

/// The status to report for one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Good,
    Revoked { at: Timestamp, reason: Reason },
    Unknown,
}

/// A GeneralizedTime TLV (`YYYYMMDDHHMMSSZ`, whole seconds, as RFC 5280 requires).
fn gtime(t: &Timestamp) -> Result<[u8; 17], JpkiError> {
    use chrono::{Datelike, Timelike};
    let u = t.with_timezone(&chrono::Utc);
    let year = u.year();
    if !(1970..=9999).contains(&year) {
        return Err(JpkiError::Refusal(Refusal::invalid(
            "time.range",
            format!("year {year} cannot be encoded"),
        )));
    }
    let mut out = [0u8; 17];
    out[0] = 0x18;
    out[1] = 15;
    let digits = |out: &mut [u8], v: u32| {
        let mut v = v;
        for o in out.iter_mut().rev() {
            *o = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    digits(&mut out[2..6], year as u32);
    digits(&mut out[6..8], u.month());
    digits(&mut out[8..10], u.day());
    digits(&mut out[10..12], u.hour());
    digits(&mut out[12..14], u.minute());
    digits(&mut out[14..16], u.second());
    out[16] = b'Z';
    Ok(out)
}

/// Appends a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend(bytes.iter().skip(skip));
    }
}

/// The size of a TLV (one-octet tag) with `content` octets.
fn tlv_len(content: usize) -> usize {
    let len_of_len = if content < 0x80 {
        1
    } else {
        1 + (usize::BITS - content.leading_zeros()).div_ceil(8) as usize
    };
    1 + len_of_len + content
}

/// Appends a tag and the DER length of `len` octets of contents.
fn push_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    push_len(out, len);
}

/// Appends a TLV whose content is the concatenation of `parts`.
fn push_tlv(out: &mut Vec<u8>, tag: u8, parts: &[&[u8]]) {
    out.push(tag);
    push_len(out, parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.extend_from_slice(p);
    }
}

/// id-pkix-ocsp-basic (1.3.6.1.5.5.7.48.1.1) as a TLV.
const OID_OCSP_BASIC: [u8; 11] = [
    0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01,
];

/// The parts of every response of one responder, encoded once.
#[derive(Debug, Clone)]
pub struct ResponderTemplate {
    /// `responderID` byKey: `[2] EXPLICIT OCTET STRING`.
    responder_id: Vec<u8>,
    /// The signature's AlgorithmIdentifier.
    signature_algorithm: Vec<u8>,
    /// `certs [0] EXPLICIT SEQUENCE OF Certificate` with the responder's certificate.
    certs: Vec<u8>,
}

impl ResponderTemplate {
    pub fn new(ca: &RootCa) -> Result<Self, JpkiError> {
        let mut key_hash = Vec::with_capacity(22);
        push_tlv(&mut key_hash, 0x04, &[&ca.responder.key_id]);
        let mut responder_id = Vec::with_capacity(24);
        push_tlv(&mut responder_id, 0xa2, &[&key_hash]);
        let signature_algorithm = to_der(&ca.responder.key.kind().signature_algorithm())?;
        let mut seq = Vec::with_capacity(ca.responder.cert_der.len() + 4);
        push_tlv(&mut seq, 0x30, &[&ca.responder.cert_der]);
        let mut certs = Vec::with_capacity(seq.len() + 4);
        push_tlv(&mut certs, 0xa0, &[&seq]);
        Ok(ResponderTemplate {
            responder_id,
            signature_algorithm,
            certs,
        })
    }
}

/// The DER `ResponseData` (the signed part) for `answers`, each a CertID (DER, as sent) and
/// its status. `validity` sets nextUpdate after `now`; `nonce` is the request's nonce
/// extension (DER), echoed. Written in one pass: each length is known before its contents.
pub fn response_data(
    template: &ResponderTemplate,
    now: &Timestamp,
    validity: Duration,
    answers: &[(&[u8], Answer)],
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, JpkiError> {
    let this_update = gtime(now)?;
    let next_update = gtime(&(*now + validity))?;
    // nextUpdate is `[0] EXPLICIT GeneralizedTime`.
    let next_len = tlv_len(next_update.len());
    // Each answer's certStatus, and its SingleResponse's size.
    let mut statuses = Vec::with_capacity(answers.len());
    let mut responses_len = 0;
    for (id, a) in answers {
        let status = match a {
            // good [0] IMPLICIT NULL
            Answer::Good => Status::Fixed([0x80, 0x00]),
            // unknown [2] IMPLICIT NULL
            Answer::Unknown => Status::Fixed([0x82, 0x00]),
            // revoked [1] IMPLICIT RevokedInfo { revocationTime, [0] EXPLICIT CRLReason }
            Answer::Revoked { at, reason } => Status::Revoked(
                gtime(at)?,
                [0xa0, 0x03, 0x0a, 0x01, crl_reason(*reason) as u8],
            ),
        };
        // Unknown answers carry no nextUpdate: nothing is promised about them.
        let next = if *a == Answer::Unknown { 0 } else { next_len };
        responses_len += tlv_len(id.len() + status.len() + this_update.len() + next);
        statuses.push(status);
    }
    // responseExtensions is `[1] EXPLICIT SEQUENCE { Extension }`.
    let extensions_len = nonce.map_or(0, |n| tlv_len(tlv_len(n.len())));
    // version v1 is the DEFAULT, so DER leaves it out.
    let tbs_len =
        template.responder_id.len() + this_update.len() + tlv_len(responses_len) + extensions_len;
    let mut tbs = Vec::with_capacity(tlv_len(tbs_len));
    push_header(&mut tbs, 0x30, tbs_len);
    tbs.extend_from_slice(&template.responder_id);
    tbs.extend_from_slice(&this_update);
    push_header(&mut tbs, 0x30, responses_len);
    for ((id, a), status) in answers.iter().zip(&statuses) {
        let next = if *a == Answer::Unknown { 0 } else { next_len };
        push_header(
            &mut tbs,
            0x30,
            id.len() + status.len() + this_update.len() + next,
        );
        tbs.extend_from_slice(id);
        status.write(&mut tbs);
        tbs.extend_from_slice(&this_update);
        if next > 0 {
            push_header(&mut tbs, 0xa0, next_update.len());
            tbs.extend_from_slice(&next_update);
        }
    }
    if let Some(n) = nonce {
        push_header(&mut tbs, 0xa1, tlv_len(n.len()));
        push_header(&mut tbs, 0x30, n.len());
        tbs.extend_from_slice(n);
    }
    Ok(tbs)
}

/// A certStatus, encoded.
enum Status {
    Fixed([u8; 2]),
    /// revocationTime and the explicit reason, inside `[1]`.
    Revoked([u8; 17], [u8; 5]),
}

impl Status {
    fn len(&self) -> usize {
        match self {
            Status::Fixed(b) => b.len(),
            Status::Revoked(t, r) => tlv_len(t.len() + r.len()),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Status::Fixed(b) => out.extend_from_slice(b),
            Status::Revoked(t, r) => {
                push_header(out, 0xa1, t.len() + r.len());
                out.extend_from_slice(t);
                out.extend_from_slice(r);
            }
        }
    }
}

/// The whole `OCSPResponse` (successful, basic) around a signed `ResponseData`, written in one
/// pass into a buffer of its exact size (which then becomes the HTTP body as it is).
pub fn assemble_response(template: &ResponderTemplate, tbs: &[u8], signature: &[u8]) -> Vec<u8> {
    // signature BIT STRING: no unused bits, then the signature.
    let bit_string = 1 + signature.len();
    let basic =
        tbs.len() + template.signature_algorithm.len() + tlv_len(bit_string) + template.certs.len();
    let octets = tlv_len(basic);
    let bytes = OID_OCSP_BASIC.len() + tlv_len(octets);
    let response_bytes = tlv_len(bytes);
    // responseStatus successful (0), then responseBytes.
    let whole = 3 + tlv_len(response_bytes);
    let mut out = Vec::with_capacity(tlv_len(whole));
    push_header(&mut out, 0x30, whole);
    out.extend_from_slice(&[0x0a, 0x01, 0x00]);
    push_header(&mut out, 0xa0, response_bytes);
    push_header(&mut out, 0x30, bytes);
    out.extend_from_slice(&OID_OCSP_BASIC);
    push_header(&mut out, 0x04, octets);
    push_header(&mut out, 0x30, basic);
    out.extend_from_slice(tbs);
    out.extend_from_slice(&template.signature_algorithm);
    push_header(&mut out, 0x03, bit_string);
    out.push(0x00);
    out.extend_from_slice(signature);
    out.extend_from_slice(&template.certs);
    out
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
    template: &ResponderTemplate,
    now: &Timestamp,
    validity: Duration,
    answers: &[(&[u8], Answer)],
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, JpkiError> {
    let tbs = response_data(template, now, validity, answers, nonce)?;
    let signature = ca.responder.key.sign(&tbs)?;
    Ok(assemble_response(template, &tbs, &signature))
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
    use x509_ocsp::CertId;

    use super::*;

    /// A request for one certificate with the given request extensions and single-request
    /// extensions.
    fn request(
        extensions: Vec<x509_cert::ext::Extension>,
        single: Vec<x509_cert::ext::Extension>,
    ) -> Vec<u8> {
        use x509_ocsp::{Request, TbsRequest, Version};
        let cert_id = CertId {
            hash_algorithm: spki::AlgorithmIdentifierOwned {
                oid: oid::SHA1,
                parameters: Some(der::Any::from(der::asn1::Null)),
            },
            issuer_name_hash: OctetString::new([1u8; 20]).unwrap(),
            issuer_key_hash: OctetString::new([2u8; 20]).unwrap(),
            serial_number: x509_cert::serial_number::SerialNumber::new(&[0x40, 1]).unwrap(),
        };
        OcspRequest {
            tbs_request: TbsRequest {
                version: Version::V1,
                requestor_name: None,
                request_list: vec![Request {
                    req_cert: cert_id,
                    single_request_extensions: (!single.is_empty()).then_some(single),
                }],
                request_extensions: (!extensions.is_empty()).then_some(extensions),
            },
            optional_signature: None,
        }
        .to_der()
        .unwrap()
    }

    fn nonce_ext(len: usize, critical: bool) -> x509_cert::ext::Extension {
        x509_cert::ext::Extension {
            extn_id: oid::OCSP_NONCE,
            critical,
            extn_value: OctetString::new(
                OctetString::new(vec![9u8; len]).unwrap().to_der().unwrap(),
            )
            .unwrap(),
        }
    }

    /// RFC 9654 §2.1: nonces of 1 to 128 octets are answered (and echoed); 0 or more than
    /// 128 are malformedRequest. RFC 6960 §4.1.2: an unknown critical extension, in the
    /// request or for one certificate, is refused; an unknown non-critical one is ignored.
    #[test]
    fn nonce_lengths_and_critical_extensions() {
        for len in [1usize, 15, 16, 32, 33, 64, 128] {
            let parsed = parse_request(&request(vec![nonce_ext(len, false)], vec![])).unwrap();
            assert!(parsed.nonce.is_some(), "{len} octets");
        }
        for len in [0usize, 129, 300] {
            assert!(
                matches!(
                    parse_request(&request(vec![nonce_ext(len, false)], vec![])),
                    Err(OcspRefusal::Malformed(_))
                ),
                "{len} octets"
            );
        }
        // The nonce marked critical is still understood.
        assert!(parse_request(&request(vec![nonce_ext(32, true)], vec![])).is_ok());
        let unknown = |critical| x509_cert::ext::Extension {
            extn_id: der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1"),
            critical,
            extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
        };
        assert!(parse_request(&request(vec![unknown(false)], vec![])).is_ok());
        assert!(parse_request(&request(vec![], vec![unknown(false)])).is_ok());
        for (req, single) in [(vec![unknown(true)], vec![]), (vec![], vec![unknown(true)])] {
            match parse_request(&request(req, single)) {
                Err(OcspRefusal::Malformed(m)) => assert!(m.contains("critical"), "{m}"),
                other => panic!("{:?}", other.map(|_| ())),
            }
        }
    }

    #[test]
    fn fixed_responses_match_the_encoder() {
        use x509_ocsp::OcspResponse;
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

    /// The hand-written encoder against the `x509-ocsp` types: the response decodes, encodes
    /// back to the same bytes (so it is DER), carries every answer, the nonce and the
    /// responder's certificate, and its signature verifies.
    #[test]
    fn responses_are_der_and_verify() {
        use chrono::DateTime;
        use openmyna_core::SeededEntropy;
        use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, ResponderId};

        use crate::key::KeyKind;
        use crate::profile::RootKind;

        let e = SeededEntropy::new(9);
        let now = DateTime::parse_from_rfc3339("2026-04-01T10:00:00+09:00").unwrap();
        let ca = RootCa::create(RootKind::Auth, KeyKind::EcP256, &now, &e).unwrap();
        let template = ResponderTemplate::new(&ca).unwrap();
        let hashes = IssuerHashes::of(&ca).unwrap();
        let id = |serial: u8| CertId {
            hash_algorithm: spki::AlgorithmIdentifierOwned {
                oid: oid::SHA1,
                parameters: Some(der::Any::from(der::asn1::Null)),
            },
            issuer_name_hash: OctetString::new(hashes.sha1_name.clone()).unwrap(),
            issuer_key_hash: OctetString::new(hashes.sha1_key.clone()).unwrap(),
            serial_number: x509_cert::serial_number::SerialNumber::new(&[0x40, serial]).unwrap(),
        };
        let ids: Vec<Vec<u8>> = (1..=4).map(|i| id(i).to_der().unwrap()).collect();
        let revoked_at = DateTime::parse_from_rfc3339("2026-03-01T08:30:15+09:00").unwrap();
        let answers = [
            Answer::Good,
            Answer::Revoked {
                at: revoked_at,
                reason: Reason::KeyCompromise,
            },
            Answer::Revoked {
                at: revoked_at,
                reason: Reason::CertificateHold,
            },
            Answer::Unknown,
        ];
        let pairs: Vec<(&[u8], Answer)> = ids.iter().map(|d| d.as_slice()).zip(answers).collect();
        let nonce = x509_cert::ext::Extension {
            extn_id: oid::OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(OctetString::new([7u8; 16]).unwrap().to_der().unwrap())
                .unwrap(),
        };
        let nonce_der = nonce.to_der().unwrap();
        for with_nonce in [false, true] {
            let n = with_nonce.then_some(nonce_der.as_slice());
            let der = sign_response(&ca, &template, &now, Duration::hours(6), &pairs, n).unwrap();
            let decoded = OcspResponse::from_der(&der).unwrap();
            assert_eq!(decoded.to_der().unwrap(), der, "not canonical DER");
            let basic =
                BasicOcspResponse::from_der(decoded.response_bytes.unwrap().response.as_bytes())
                    .unwrap();
            let tbs = &basic.tbs_response_data;
            assert_eq!(
                tbs.responder_id,
                ResponderId::ByKey(OctetString::new(ca.responder.key_id.to_vec()).unwrap())
            );
            assert_eq!(tbs.responses.len(), 4);
            for (i, r) in tbs.responses.iter().enumerate() {
                assert_eq!(r.cert_id, id(i as u8 + 1));
                assert_eq!(r.next_update.is_none(), i == 3);
            }
            assert_eq!(tbs.responses[0].cert_status, CertStatus::good());
            assert_eq!(tbs.responses[3].cert_status, CertStatus::unknown());
            for (i, reason) in [
                (1, CrlReason::KeyCompromise),
                (2, CrlReason::CertificateHold),
            ] {
                match &tbs.responses[i].cert_status {
                    CertStatus::Revoked(info) => {
                        assert_eq!(info.revocation_reason, Some(reason));
                        assert_eq!(
                            info.revocation_time.0.to_unix_duration().as_secs(),
                            revoked_at.timestamp() as u64
                        );
                    }
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(
                tbs.produced_at.0.to_unix_duration().as_secs(),
                now.timestamp() as u64
            );
            assert_eq!(
                tbs.response_extensions.clone().map(|v| v.len()),
                with_nonce.then_some(1)
            );
            let certs = basic.certs.clone().unwrap();
            assert_eq!(certs[0].to_der().unwrap(), ca.responder.cert_der);
            crate::key::verify(
                &ca.responder.key.spki_der().unwrap(),
                &tbs.to_der().unwrap(),
                basic.signature.raw_bytes(),
            )
            .unwrap();
        }
    }

    /// A CertID with the given hash algorithm, parameters and serial (INTEGER contents).
    fn cert_id(alg: der::asn1::ObjectIdentifier, null: bool, serial: &[u8]) -> CertId {
        CertId {
            hash_algorithm: spki::AlgorithmIdentifierOwned {
                oid: alg,
                parameters: null.then(|| der::Any::from(der::asn1::Null)),
            },
            issuer_name_hash: OctetString::new([1u8; 20]).unwrap(),
            issuer_key_hash: OctetString::new([2u8; 32]).unwrap(),
            serial_number: x509_cert::serial_number::SerialNumber::new(serial).unwrap(),
        }
    }

    /// Requests of many shapes: those `parse_plain` reads and those it leaves to the decoder.
    fn shapes() -> Vec<(&'static str, Vec<u8>, bool)> {
        use x509_ocsp::{Request, TbsRequest, Version};
        let build = |ids: Vec<CertId>,
                     exts: Vec<x509_cert::ext::Extension>,
                     single: Vec<x509_cert::ext::Extension>,
                     requestor: bool| {
            OcspRequest {
                tbs_request: TbsRequest {
                    version: Version::V1,
                    requestor_name: requestor.then(|| {
                        x509_cert::ext::pkix::name::GeneralName::DnsName(
                            der::asn1::Ia5String::new("rp.example").unwrap(),
                        )
                    }),
                    request_list: ids
                        .into_iter()
                        .map(|req_cert| Request {
                            req_cert,
                            single_request_extensions: (!single.is_empty()).then(|| single.clone()),
                        })
                        .collect(),
                    request_extensions: (!exts.is_empty()).then_some(exts),
                },
                optional_signature: None,
            }
            .to_der()
            .unwrap()
        };
        let sha1 = |serial: &[u8]| cert_id(oid::SHA1, true, serial);
        let unknown = |critical| x509_cert::ext::Extension {
            extn_id: der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1"),
            critical,
            extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
        };
        let long = [0x7fu8; 20];
        let padded: Vec<u8> = std::iter::once(0).chain([0x80u8; 19]).collect();
        vec![
            (
                "plain",
                build(vec![sha1(&[0x40, 1])], vec![], vec![], false),
                true,
            ),
            (
                "nonce",
                build(vec![sha1(&[1])], vec![nonce_ext(32, false)], vec![], false),
                true,
            ),
            (
                "critical nonce",
                build(vec![sha1(&[1])], vec![nonce_ext(16, true)], vec![], false),
                true,
            ),
            (
                "1-octet nonce",
                build(vec![sha1(&[1])], vec![nonce_ext(1, false)], vec![], false),
                true,
            ),
            (
                "128-octet nonce",
                build(vec![sha1(&[1])], vec![nonce_ext(128, false)], vec![], false),
                true,
            ),
            (
                "empty nonce",
                build(vec![sha1(&[1])], vec![nonce_ext(0, false)], vec![], false),
                true,
            ),
            (
                "long nonce",
                build(vec![sha1(&[1])], vec![nonce_ext(129, false)], vec![], false),
                true,
            ),
            (
                "sha256",
                build(
                    vec![cert_id(oid::SHA256, true, &[5])],
                    vec![],
                    vec![],
                    false,
                ),
                true,
            ),
            (
                "no params",
                build(vec![cert_id(oid::SHA1, false, &[5])], vec![], vec![], false),
                true,
            ),
            (
                "20-octet serial",
                build(vec![sha1(&long)], vec![], vec![], false),
                true,
            ),
            (
                "padded serial",
                build(vec![sha1(&padded)], vec![], vec![], false),
                true,
            ),
            (
                "zero serial",
                build(vec![sha1(&[0])], vec![], vec![], false),
                true,
            ),
            (
                "two certs",
                build(vec![sha1(&[1]), sha1(&[2])], vec![], vec![], false),
                true,
            ),
            (
                "64 certs",
                build(
                    (1..=64).map(|i| sha1(&[i])).collect(),
                    vec![],
                    vec![],
                    false,
                ),
                true,
            ),
            (
                "65 certs",
                build(
                    (1..=65).map(|i| sha1(&[i])).collect(),
                    vec![],
                    vec![],
                    false,
                ),
                true,
            ),
            ("no cert", build(vec![], vec![], vec![], false), true),
            (
                "sha384",
                build(
                    vec![cert_id(
                        der::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2"),
                        true,
                        &[5],
                    )],
                    vec![],
                    vec![],
                    false,
                ),
                false,
            ),
            (
                // SerialNumber::new pads it with a zero octet: positive.
                "high-bit serial",
                build(vec![sha1(&[0x80])], vec![], vec![], false),
                true,
            ),
            (
                "requestor",
                build(vec![sha1(&[1])], vec![], vec![], true),
                false,
            ),
            (
                "single ext",
                build(vec![sha1(&[1])], vec![], vec![unknown(false)], false),
                false,
            ),
            (
                "critical single ext",
                build(vec![sha1(&[1])], vec![], vec![unknown(true)], false),
                false,
            ),
            (
                "unknown ext",
                build(vec![sha1(&[1])], vec![unknown(false)], vec![], false),
                false,
            ),
            (
                "critical ext",
                build(vec![sha1(&[1])], vec![unknown(true)], vec![], false),
                false,
            ),
            (
                "two exts",
                build(
                    vec![sha1(&[1])],
                    vec![nonce_ext(16, false), unknown(false)],
                    vec![],
                    false,
                ),
                false,
            ),
        ]
    }

    /// The in-place reader and the general decoder agree on every shape; the reader takes the
    /// usual ones.
    #[test]
    fn the_plain_reader_agrees_with_the_decoder() {
        for (name, der, plain) in shapes() {
            assert_eq!(parse_plain(&der).is_some(), plain, "{name}");
            assert_eq!(parse_request(&der), parse_request_decoded(&der), "{name}");
        }
        let (certs, nonce) = parse_plain(&shapes()[1].1).unwrap();
        assert_eq!(certs[0].serial_bytes(), [1]);
        assert_eq!(certs[0].issuer_name_hash(), [1u8; 20]);
        assert_eq!(certs[0].issuer_key_hash(), [2u8; 32]);
        assert_eq!(certs[0].hash(), CertIdHash::Sha1);
        assert_eq!(nonce.map(|(_, len)| len), Some(32));
    }

    /// Damaged requests (every octet changed, every length cut): whatever the in-place reader
    /// takes, the decoder reads the same way.
    #[test]
    fn the_plain_reader_takes_nothing_the_decoder_would_read_otherwise() {
        let mut taken = 0;
        for (name, der, _) in shapes().into_iter().filter(|(_, d, _)| d.len() < 400) {
            let mut variants: Vec<Vec<u8>> = (0..der.len()).map(|n| der[..n].to_vec()).collect();
            for i in 0..der.len() {
                for v in [
                    0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x30, 0x7f, 0x80, 0x81, 0x82, 0xa0, 0xa2,
                    0xff,
                ] {
                    let mut m = der.clone();
                    m[i] = v;
                    variants.push(m);
                }
                let mut m = der.clone();
                m[i] ^= 0x01;
                variants.push(m);
            }
            for m in variants {
                if let Some((certs, nonce)) = parse_plain(&m) {
                    taken += 1;
                    assert_eq!(
                        finish(certs, nonce),
                        parse_request_decoded(&m),
                        "{name}: {m:02x?}"
                    );
                }
            }
        }
        assert!(taken > 1000, "{taken}");
    }

    #[test]
    fn tlv_sizes() {
        for n in [0usize, 1, 127, 128, 255, 256, 1000, 65535, 65536, 1 << 20] {
            let mut out = Vec::new();
            push_tlv(&mut out, 0x30, &[&vec![0u8; n]]);
            assert_eq!(tlv_len(n), out.len(), "{n}");
        }
    }

    #[test]
    fn garbage_is_malformed() {
        for input in [&b""[..], b"\x30\x00", b"hello", &[0x30, 0x80, 0, 0]] {
            assert!(parse_request(input).is_err());
        }
    }
}
