//! The card's RSA-2048 keys: generated on the card, used only by the signature command.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384,
    RSA_PSS_SHA512, RsaEncoding,
};

use crate::CardError;
use crate::state::{Bytes, PrivateKey};

/// DigestInfo prefixes (RFC 8017 §9.2 note 1) of the hashes the card signs.
const DIGEST_INFOS: [(&[u8], &digest::Algorithm); 3] = [
    (
        &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        &digest::SHA256,
    ),
    (
        &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        &digest::SHA384,
    ),
    (
        &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        &digest::SHA512,
    ),
];

/// The SHA-256 DigestInfo prefix: a 51-byte DigestInfo is this followed by the hash.
pub const SHA256_DIGEST_INFO_PREFIX: &[u8] = DIGEST_INFOS[0].0;

/// Wraps a SHA-256 hash in its DigestInfo (what a client sends to the card).
pub fn sha256_digest_info(hash: &[u8; 32]) -> Vec<u8> {
    [SHA256_DIGEST_INFO_PREFIX, hash].concat()
}

/// Generates a key pair on the card. Returns the key and its public key as SPKI DER.
pub fn generate() -> Result<(PrivateKey, Vec<u8>), CardError> {
    let kp = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| CardError::Crypto("RSA key generation failed".into()))?;
    let pkcs8: Pkcs8V1Der<'static> = kp
        .as_der()
        .map_err(|_| CardError::Crypto("RSA key encoding failed".into()))?;
    let spki = public_der(&kp)?;
    Ok((
        PrivateKey {
            pkcs8: Bytes(pkcs8.as_ref().to_vec()),
        },
        spki,
    ))
}

fn public_der(kp: &KeyPair) -> Result<Vec<u8>, CardError> {
    use aws_lc_rs::signature::KeyPair as _;
    let der: PublicKeyX509Der<'static> = kp
        .public_key()
        .as_der()
        .map_err(|_| CardError::Crypto("RSA public key encoding failed".into()))?;
    Ok(der.as_ref().to_vec())
}

fn load(key: &PrivateKey) -> Result<KeyPair, CardError> {
    KeyPair::from_pkcs8(&key.pkcs8.0).map_err(|_| CardError::Crypto("card key is damaged".into()))
}

/// The card's encoding of an RSA public key: `90 exponent`, `91 82 01 00 modulus`.
pub fn card_encoding(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    use crate::ber::{Len, tlv};
    [
        tlv(0x90, exponent, Len::Card),
        tlv(0x91, modulus, Len::Card),
    ]
    .concat()
}

/// A card key's public half in the card's encoding.
pub fn card_public_key(key: &PrivateKey) -> Result<Vec<u8>, CardError> {
    use aws_lc_rs::signature::KeyPair as _;
    let kp = load(key)?;
    let (modulus, exponent) = crate::personalize::rsa_public_parts(kp.public_key().as_ref())
        .ok_or_else(|| CardError::Crypto("unexpected RSA public key encoding".into()))?;
    Ok(card_encoding(&modulus, &exponent))
}

impl PrivateKey {
    /// The public half, as SPKI DER.
    pub fn public_spki(&self) -> Result<Vec<u8>, CardError> {
        public_der(&load(self)?)
    }
}

/// How the signature command treats its data (P1 of `80 2A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMode {
    /// P1 00: the data is a DigestInfo; the card adds PKCS#1 v1.5 type-1 padding.
    DigestInfo,
    /// P1 02: the data is a hash; the card wraps it in its DigestInfo.
    Hash,
    /// P1 03: the card hashes the data with SHA-256 and signs its DigestInfo.
    CardSha256,
    /// P1 04: RSASSA-PSS over a hash given.
    PssHash,
    /// P1 05: RSASSA-PSS, the card hashes with SHA-256.
    PssCardSha256,
}

/// Why the card would not sign the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignRefusal {
    /// Not a DigestInfo or hash the card knows.
    BadData,
    Crypto,
}

fn by_hash_len(n: usize) -> Option<usize> {
    match n {
        32 => Some(0),
        48 => Some(1),
        64 => Some(2),
        _ => None,
    }
}

/// Signs `data` per `mode` with `key`.
pub fn sign(key: &PrivateKey, mode: SignMode, data: &[u8]) -> Result<Vec<u8>, SignRefusal> {
    let (idx, hash, pss) = match mode {
        SignMode::DigestInfo => {
            let (idx, hash) = DIGEST_INFOS
                .iter()
                .enumerate()
                .find_map(|(i, (p, alg))| {
                    data.strip_prefix(*p)
                        .filter(|hash| hash.len() == alg.output_len())
                        .map(|hash| (i, hash))
                })
                .ok_or(SignRefusal::BadData)?;
            (idx, hash.to_vec(), false)
        }
        SignMode::Hash | SignMode::PssHash => (
            by_hash_len(data.len()).ok_or(SignRefusal::BadData)?,
            data.to_vec(),
            mode == SignMode::PssHash,
        ),
        SignMode::CardSha256 | SignMode::PssCardSha256 => (
            0,
            digest::digest(&digest::SHA256, data).as_ref().to_vec(),
            mode == SignMode::PssCardSha256,
        ),
    };
    // `idx` is a position in DIGEST_INFOS (0 to 2).
    let &(_, alg) = DIGEST_INFOS.get(idx).ok_or(SignRefusal::BadData)?;
    let encoding: &'static dyn RsaEncoding = match (pss, idx) {
        (false, 0) => &RSA_PKCS1_SHA256,
        (false, 1) => &RSA_PKCS1_SHA384,
        (false, _) => &RSA_PKCS1_SHA512,
        (true, 0) => &RSA_PSS_SHA256,
        (true, 1) => &RSA_PSS_SHA384,
        (true, _) => &RSA_PSS_SHA512,
    };
    let d = Digest::import_less_safe(&hash, alg).map_err(|_| SignRefusal::BadData)?;
    let kp = load(key).map_err(|_| SignRefusal::Crypto)?;
    let mut sig = vec![0u8; kp.public_modulus_len()];
    kp.sign_digest(encoding, &d, &mut sig)
        .map_err(|_| SignRefusal::Crypto)?;
    Ok(sig)
}

/// A card key parsed once, for callers that sign many times with it (load generators acting
/// for many cards); the card itself parses its key per command.
pub struct LoadedKey(KeyPair);

impl LoadedKey {
    pub fn load(key: &PrivateKey) -> Result<Self, CardError> {
        load(key).map(LoadedKey)
    }

    /// What the card answers to `80 2A` over DigestInfo(SHA-256(`data`)).
    pub fn sign_sha256(&self, data: &[u8]) -> Result<Vec<u8>, SignRefusal> {
        let d = digest::digest(&digest::SHA256, data);
        let mut sig = vec![0u8; self.0.public_modulus_len()];
        self.0
            .sign_digest(&RSA_PKCS1_SHA256, &d, &mut sig)
            .map_err(|_| SignRefusal::Crypto)?;
        Ok(sig)
    }
}
