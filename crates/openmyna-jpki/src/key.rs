//! Keys held by the CA (root and OCSP responder keys) and the signature algorithms they use.
//! All private-key operations go through aws-lc-rs.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_SHA256,
};
use der::asn1::Null;
use der::{Any, Decode, Encode};
use serde::{Deserialize, Serialize};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::JpkiError;
use crate::oid;

/// The kinds of key the CA uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// RSA-2048 with sha256WithRSAEncryption: today's card and root profile.
    Rsa2048,
    /// ECDSA P-256 with SHA-256: the OCSP responders.
    EcP256,
    /// ECDSA P-384 with SHA-384: the next-generation (次期カード) profile.
    EcP384,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Rsa2048 => "rsa2048",
            KeyKind::EcP256 => "ec_p256",
            KeyKind::EcP384 => "ec_p384",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rsa2048" => Some(KeyKind::Rsa2048),
            "ec_p256" => Some(KeyKind::EcP256),
            "ec_p384" => Some(KeyKind::EcP384),
            _ => None,
        }
    }

    /// The signature algorithm this kind of key signs with.
    pub fn signature_algorithm(self) -> AlgorithmIdentifierOwned {
        match self {
            KeyKind::Rsa2048 => AlgorithmIdentifierOwned {
                oid: oid::SHA256_WITH_RSA,
                // PKCS#1 algorithms carry an explicit NULL parameter.
                parameters: Some(Any::from(Null)),
            },
            KeyKind::EcP256 => AlgorithmIdentifierOwned {
                oid: oid::ECDSA_WITH_SHA256,
                parameters: None,
            },
            KeyKind::EcP384 => AlgorithmIdentifierOwned {
                oid: oid::ECDSA_WITH_SHA384,
                parameters: None,
            },
        }
    }

    /// The digest the signature algorithm uses.
    pub fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            KeyKind::Rsa2048 | KeyKind::EcP256 => &digest::SHA256,
            KeyKind::EcP384 => &digest::SHA384,
        }
    }
}

enum Inner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A private key with its kind. `Debug` never shows key material.
pub struct SigningKey {
    kind: KeyKind,
    inner: Inner,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.kind.as_str())
    }
}

fn crypto(what: &str) -> JpkiError {
    JpkiError::Crypto(what.to_owned())
}

impl SigningKey {
    pub fn generate(kind: KeyKind) -> Result<Self, JpkiError> {
        let inner = match kind {
            KeyKind::Rsa2048 => Inner::Rsa(
                RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| crypto("RSA key generation"))?,
            ),
            KeyKind::EcP256 => Inner::Ec(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
                    .map_err(|_| crypto("P-256 key generation"))?,
            ),
            KeyKind::EcP384 => Inner::Ec(
                EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING)
                    .map_err(|_| crypto("P-384 key generation"))?,
            ),
        };
        Ok(SigningKey { kind, inner })
    }

    /// Loads a key from its PKCS#8 v1 encoding.
    pub fn from_pkcs8(kind: KeyKind, der: &[u8]) -> Result<Self, JpkiError> {
        let inner = match kind {
            KeyKind::Rsa2048 => Inner::Rsa(
                RsaKeyPair::from_pkcs8(der).map_err(|_| crypto("RSA PKCS#8 key rejected"))?,
            ),
            KeyKind::EcP256 => Inner::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
                    .map_err(|_| crypto("P-256 PKCS#8 key rejected"))?,
            ),
            KeyKind::EcP384 => Inner::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, der)
                    .map_err(|_| crypto("P-384 PKCS#8 key rejected"))?,
            ),
        };
        Ok(SigningKey { kind, inner })
    }

    /// The PKCS#8 v1 encoding, for sealed storage only.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, JpkiError> {
        match &self.inner {
            Inner::Rsa(k) => {
                let d: Pkcs8V1Der = k.as_der().map_err(|_| crypto("RSA PKCS#8 export"))?;
                Ok(d.as_ref().to_vec())
            }
            Inner::Ec(k) => Ok(k
                .to_pkcs8v1()
                .map_err(|_| crypto("EC PKCS#8 export"))?
                .as_ref()
                .to_vec()),
        }
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The SubjectPublicKeyInfo, DER.
    pub fn spki_der(&self) -> Result<Vec<u8>, JpkiError> {
        match &self.inner {
            Inner::Rsa(k) => Ok(k
                .public_key()
                .as_der()
                .map_err(|_| crypto("RSA public key"))?
                .as_ref()
                .to_vec()),
            Inner::Ec(k) => Ok(k
                .public_key()
                .as_der()
                .map_err(|_| crypto("EC public key"))?
                .as_ref()
                .to_vec()),
        }
    }

    pub fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, JpkiError> {
        Ok(SubjectPublicKeyInfoOwned::from_der(&self.spki_der()?)?)
    }

    /// Signs `message` with this key's signature algorithm.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JpkiError> {
        match &self.inner {
            Inner::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
                    .map_err(|_| crypto("RSA signing"))?;
                Ok(sig)
            }
            // The digest first, then the signature of it: the same signature as `sign` of
            // the message, without a digest context set up and torn down in aws-lc per call
            // (OCSP signs one small response per request with a nonce).
            Inner::Ec(k) => {
                let alg = match self.kind {
                    KeyKind::EcP384 => &digest::SHA384,
                    KeyKind::EcP256 | KeyKind::Rsa2048 => &digest::SHA256,
                };
                Ok(k.sign_digest(&digest::digest(alg, message))
                    .map_err(|_| crypto("ECDSA signing"))?
                    .as_ref()
                    .to_vec())
            }
        }
    }

    /// Signs a digest computed incrementally (for streamed CRLs).
    pub fn sign_digest(&self, digest: &Digest) -> Result<Vec<u8>, JpkiError> {
        match &self.inner {
            Inner::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign_digest(&RSA_PKCS1_SHA256, digest, &mut sig)
                    .map_err(|_| crypto("RSA digest signing"))?;
                Ok(sig)
            }
            Inner::Ec(k) => Ok(k
                .sign_digest(digest)
                .map_err(|_| crypto("ECDSA digest signing"))?
                .as_ref()
                .to_vec()),
        }
    }
}

/// The SHA-1 of the subjectPublicKey BIT STRING contents: the key identifier of RFC 5280
/// §4.2.1.2 method (1), and the OCSP responder's `byKey` id.
pub fn key_id_sha1(spki: &SubjectPublicKeyInfoOwned) -> [u8; 20] {
    let d = digest::digest(
        &digest::SHA1_FOR_LEGACY_USE_ONLY,
        spki.subject_public_key.raw_bytes(),
    );
    let mut out = [0u8; 20];
    out.copy_from_slice(d.as_ref());
    out
}

/// The verification algorithm a SPKI implies (RSA PKCS#1 v1.5 SHA-256, ECDSA P-256/SHA-256 or
/// P-384/SHA-384) and its key bytes.
fn verifier(
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<&'static dyn aws_lc_rs::signature::VerificationAlgorithm, JpkiError> {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, RSA_PKCS1_2048_8192_SHA256,
    };
    if spki.algorithm.oid == oid::RSA_ENCRYPTION {
        return Ok(&RSA_PKCS1_2048_8192_SHA256);
    }
    if spki.algorithm.oid == oid::EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
        return match curve {
            Some(c) if c == oid::SECP256R1 => Ok(&ECDSA_P256_SHA256_ASN1),
            Some(c) if c == oid::SECP384R1 => Ok(&ECDSA_P384_SHA384_ASN1),
            _ => Err(JpkiError::Unsupported("elliptic curve".into())),
        };
    }
    Err(JpkiError::Unsupported(format!(
        "public key algorithm {}",
        spki.algorithm.oid
    )))
}

/// Verifies `signature` over `message` with a public key given as SPKI DER, for the algorithm
/// the SPKI implies (RSA PKCS#1 v1.5 SHA-256, ECDSA P-256/SHA-256 or P-384/SHA-384).
pub fn verify(spki_der: &[u8], message: &[u8], signature: &[u8]) -> Result<(), JpkiError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)?;
    aws_lc_rs::signature::UnparsedPublicKey::new(
        verifier(&spki)?,
        spki.subject_public_key.raw_bytes(),
    )
    .verify(message, signature)
    .map_err(|_| JpkiError::BadSignature)
}

/// Verifies `signature` over a message of which only the `digest` is at hand (a streamed CRL).
pub fn verify_digest(spki_der: &[u8], digest: &Digest, signature: &[u8]) -> Result<(), JpkiError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)?;
    aws_lc_rs::signature::UnparsedPublicKey::new(
        verifier(&spki)?,
        spki.subject_public_key.raw_bytes(),
    )
    .verify_digest(digest, signature)
    .map_err(|_| JpkiError::BadSignature)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Encodes a value to DER.
pub(crate) fn to_der<T: Encode>(v: &T) -> Result<Vec<u8>, JpkiError> {
    Ok(v.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_signs_verifies_and_round_trips() {
        for kind in [KeyKind::Rsa2048, KeyKind::EcP256, KeyKind::EcP384] {
            let k = SigningKey::generate(kind).unwrap();
            let sig = k.sign(b"tbs").unwrap();
            verify(&k.spki_der().unwrap(), b"tbs", &sig).unwrap();
            assert!(verify(&k.spki_der().unwrap(), b"other", &sig).is_err());
            let k2 = SigningKey::from_pkcs8(kind, &k.to_pkcs8().unwrap()).unwrap();
            assert_eq!(k.spki_der().unwrap(), k2.spki_der().unwrap());
            let d = digest::digest(kind.digest_algorithm(), b"streamed");
            let sig = k.sign_digest(&d).unwrap();
            verify(&k.spki_der().unwrap(), b"streamed", &sig).unwrap();
            assert_eq!(format!("{k:?}"), format!("SigningKey({})", kind.as_str()));
        }
    }
}
