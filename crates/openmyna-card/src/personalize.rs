//! Personalisation: building a card at issuance. Keys are generated on the card
//! ([`blank_card`]); the CA certifies their public halves; then the certificates, the
//! 入力補助AP data (My Number, basic 4 information, and the hash/signature structure that
//! lets a reader check them), the 券面AP data (with a face picture) and the PINs are written.
//!
//! Encodings follow the real card: see `docs/card.md` for each EF.

use std::collections::BTreeMap;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::RSA_PKCS1_SHA256;

use crate::ber::{self, Len, tlv};
use crate::layout::{AppletId, KeyId, TOKEN_LABEL, fid};
use crate::pin::{PinId, PinState};
use crate::state::{Bytes, CardState, FORMAT};
use crate::{CardError, keys};

/// A card fresh from manufacture: keys generated on it, no certificates, no data.
pub struct BlankCard {
    pub state: CardState,
    pub auth_spki: Vec<u8>,
    /// `None` when no signing key is generated (holders under 15).
    pub sign_spki: Option<Vec<u8>>,
}

/// Makes a card with its manufacturing number and its keys. `salt` (≥ 16 random bytes) keys
/// the PIN hashes.
pub fn blank_card(
    serial: &str,
    salt: Vec<u8>,
    with_signing_key: bool,
) -> Result<BlankCard, CardError> {
    if serial.len() != 13 || !serial.is_ascii() {
        return Err(CardError::Invalid(
            "a manufacturing number has 13 ASCII characters".into(),
        ));
    }
    if salt.len() < 16 {
        return Err(CardError::Invalid("the PIN salt needs 16 bytes".into()));
    }
    let mut keys_map = BTreeMap::new();
    let (auth, auth_spki) = keys::generate()?;
    keys_map.insert(KeyId::Auth, auth);
    let sign_spki = if with_signing_key {
        let (sign, spki) = keys::generate()?;
        keys_map.insert(KeyId::Sign, sign);
        Some(spki)
    } else {
        None
    };
    let record = tlv(0x30, format!("JP{serial}").as_bytes(), Len::Minimal);
    Ok(BlankCard {
        state: CardState {
            format: FORMAT,
            serial: serial.to_owned(),
            resident_id: None,
            expiry: String::new(),
            generation: 0,
            salt: Bytes(salt),
            pins: BTreeMap::new(),
            keys: keys_map,
            files: BTreeMap::new(),
            records: vec![Bytes(record)],
        },
        auth_spki,
        sign_spki,
    })
}

/// Certificate renewal (更新) at the window: new key pairs are generated on the card in place
/// of the old ones (the signing key only if the card has one); the PINs stay. Returns the new
/// public keys (authentication, signing). The new certificates follow with
/// [`install_certificates`].
pub fn regenerate_keys(state: &mut CardState) -> Result<(Vec<u8>, Option<Vec<u8>>), CardError> {
    let (auth, auth_spki) = keys::generate()?;
    let sign = if state.keys.contains_key(&KeyId::Sign) {
        Some(keys::generate()?)
    } else {
        None
    };
    state.keys.insert(KeyId::Auth, auth);
    let sign_spki = sign.map(|(k, spki)| {
        state.keys.insert(KeyId::Sign, k);
        spki
    });
    state.generation += 1;
    Ok((auth_spki, sign_spki))
}

/// A new signing key on the card (re-issue of the signing certificate alone). Returns its
/// public key; the new certificate follows with [`install_signing_certificate`].
pub fn regenerate_signing_key(state: &mut CardState) -> Result<Vec<u8>, CardError> {
    if !state.keys.contains_key(&KeyId::Sign) {
        return Err(CardError::Invalid("the card has no signing key".into()));
    }
    let (k, spki) = keys::generate()?;
    state.keys.insert(KeyId::Sign, k);
    state.generation += 1;
    Ok(spki)
}

/// Writes a new signing certificate (EF 0001), keeping the other certificates.
pub fn install_signing_certificate(state: &mut CardState, der: &[u8]) -> Result<(), CardError> {
    if !matches!(der, [0x30, 0x82, _, _, ..]) {
        return Err(CardError::Invalid(
            "a certificate must be DER starting 30 82".into(),
        ));
    }
    state.set_file(AppletId::Jpki, fid::JPKI_SIGN_CERT, der.to_vec());
    state.generation += 1;
    Ok(())
}

/// The certificates the CA issued for the card's keys, with the roots above them.
pub struct Certificates<'a> {
    pub auth: &'a [u8],
    pub auth_ca: &'a [u8],
    pub sign: Option<&'a [u8]>,
    pub sign_ca: &'a [u8],
}

/// Writes the JPKI AP's files: the four certificates, the token information and the
/// certificate-presence flags.
pub fn install_certificates(state: &mut CardState, c: &Certificates<'_>) -> Result<(), CardError> {
    for der in [Some(c.auth), Some(c.auth_ca), c.sign, Some(c.sign_ca)]
        .into_iter()
        .flatten()
    {
        // Card software sizes certificate EFs from a `30 82 HH LL` header.
        if !matches!(der, [0x30, 0x82, _, _, ..]) {
            return Err(CardError::Invalid(
                "a certificate must be DER starting 30 82".into(),
            ));
        }
    }
    if c.sign.is_some() != state.keys.contains_key(&KeyId::Sign) {
        return Err(CardError::Invalid(
            "a signing certificate needs the card's signing key and vice versa".into(),
        ));
    }
    state.set_file(AppletId::Jpki, fid::JPKI_AUTH_CERT, c.auth.to_vec());
    state.set_file(AppletId::Jpki, fid::JPKI_AUTH_CA_CERT, c.auth_ca.to_vec());
    state.set_file(AppletId::Jpki, fid::JPKI_SIGN_CA_CERT, c.sign_ca.to_vec());
    if let Some(sign) = c.sign {
        state.set_file(AppletId::Jpki, fid::JPKI_SIGN_CERT, sign.to_vec());
    }
    let flags = vec![if c.sign.is_some() { 0x8F } else { 0x00 }, 0x8F, 0x00];
    state.set_file(AppletId::Jpki, fid::JPKI_CERT_FLAGS, flags);
    let token = token_info(&state.serial);
    state.set_file(AppletId::Jpki, fid::JPKI_TOKEN_INFO, token);
    state.generation += 1;
    Ok(())
}

fn padded(s: &str, n: usize) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.resize(n, b' ');
    v
}

/// EF 0006: a PKCS#11 CK_TOKEN_INFO with big-endian 32-bit integers (160 bytes).
fn token_info(serial: &str) -> Vec<u8> {
    let mut v = padded(TOKEN_LABEL, 32);
    v.extend(padded("J-LIS", 32));
    v.extend(padded("JPKIAP", 16));
    v.extend(padded(serial, 16));
    // CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED
    v.extend(0x0000_040Du32.to_be_bytes());
    let unavailable = u32::MAX;
    for n in [
        0,
        unavailable,
        0,
        unavailable,
        16,
        4,
        unavailable,
        unavailable,
        unavailable,
        unavailable,
    ] {
        v.extend(n.to_be_bytes());
    }
    v.extend([1, 0, 1, 0]);
    v.extend(padded("", 16));
    v
}

/// The key that signs the 入力補助AP and 券面AP data at issuance (J-LIS's role), with its
/// card-verifiable certificate.
pub struct DataSigner {
    key: KeyPair,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    key_id: [u8; 16],
}

impl DataSigner {
    pub fn generate() -> Result<(DataSigner, Vec<u8>), CardError> {
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| CardError::Crypto("RSA key generation failed".into()))?;
        let pkcs8 = key
            .as_der()
            .map_err(|_| CardError::Crypto("RSA key encoding failed".into()))?
            .as_ref()
            .to_vec();
        Ok((Self::from_key(key)?, pkcs8))
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<DataSigner, CardError> {
        let key = KeyPair::from_pkcs8(pkcs8)
            .map_err(|_| CardError::Crypto("the card-data signing key is damaged".into()))?;
        Self::from_key(key)
    }

    fn from_key(key: KeyPair) -> Result<DataSigner, CardError> {
        use aws_lc_rs::signature::KeyPair as _;
        let (modulus, exponent) = rsa_public_parts(key.public_key().as_ref())
            .ok_or_else(|| CardError::Crypto("unexpected RSA public key encoding".into()))?;
        let d = digest::digest(&digest::SHA256, &modulus);
        let (&key_id, _) = d
            .as_ref()
            .split_first_chunk::<16>()
            .ok_or_else(|| CardError::Crypto("SHA-256 is shorter than 16 bytes".into()))?;
        Ok(DataSigner {
            key,
            modulus,
            exponent,
            key_id,
        })
    }

    /// The 16-byte key identifier (the first half of SHA-256 of the modulus).
    pub fn key_id(&self) -> [u8; 16] {
        self.key_id
    }

    /// The public key as an RSAPublicKey DER (what a verifier loads).
    pub fn public_key_der(&self) -> Vec<u8> {
        use aws_lc_rs::signature::KeyPair as _;
        self.key.public_key().as_ref().to_vec()
    }

    /// SHA256withRSA (PKCS#1 v1.5) over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                msg,
                &mut sig,
            )
            .map_err(|_| CardError::Crypto("signing card data failed".into()))?;
        Ok(sig)
    }

    /// The public key in the card's encoding: `90 exponent`, `91 82 01 00 modulus`.
    fn card_public_key(&self) -> Vec<u8> {
        [
            tlv(0x90, &self.exponent, Len::Card),
            tlv(0x91, &self.modulus, Len::Card),
        ]
        .concat()
    }

    /// EF 0004 of the 入力補助AP: `7F21 { 5F4E AKI‖SKI‖public key, 5F37 signature }`,
    /// self-certified (AKI = SKI).
    pub fn cv_certificate(&self) -> Result<Vec<u8>, CardError> {
        let body = [&self.key_id[..], &self.key_id[..], &self.card_public_key()].concat();
        let sig = self.sign(&body)?;
        let inner = [tlv(0x5F4E, &body, Len::Card), tlv(0x5F37, &sig, Len::Card)].concat();
        Ok(tlv(0x7F21, &inner, Len::Card))
    }
}

/// (modulus without leading zero, exponent) of a PKCS#1 RSAPublicKey.
fn rsa_public_parts(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (seq, _) = ber::parse(der)?;
    let kids = ber::children(seq.value)?;
    // Leading zeros dropped, but not the last byte.
    let strip = |mut v: &[u8]| {
        while let [0, rest @ ..] = v
            && !rest.is_empty()
        {
            v = rest;
        }
        v.to_vec()
    };
    Some((strip(kids.first()?.value), strip(kids.get(1)?.value)))
}

/// The person's data written to the card.
pub struct Holder<'a> {
    pub my_number: &'a str,
    /// Name as on the residence record (kanji), UTF-8.
    pub name: &'a str,
    pub address: &'a str,
    /// YYYYMMDD.
    pub birth: &'a str,
    /// '1' male, '2' female, '9' not applicable (JIS X 0303).
    pub sex: char,
    /// YYYYMMDD, the card's last valid day.
    pub expiry: &'a str,
    /// The 4-digit security code printed on the card.
    pub security_code: &'a str,
    pub municipality: &'a str,
    pub face_png: &'a [u8],
}

impl Holder<'_> {
    fn check(&self) -> Result<(), CardError> {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(self.my_number, 12) {
            return Err(CardError::Invalid("the My Number has 12 digits".into()));
        }
        if !digits(self.birth, 8) || !digits(self.expiry, 8) {
            return Err(CardError::Invalid("dates are YYYYMMDD".into()));
        }
        if !digits(self.security_code, 4) {
            return Err(CardError::Invalid("the security code has 4 digits".into()));
        }
        if !matches!(self.sex, '1' | '2' | '9') {
            return Err(CardError::Invalid("sex is 1, 2 or 9".into()));
        }
        Ok(())
    }

    /// 照合番号B: birth YYMMDD, expiry year YYYY, security code (after `check`).
    fn pin_b(&self) -> String {
        format!(
            "{}{}{}",
            &self.birth[2..8],
            &self.expiry[0..4],
            self.security_code
        )
    }
}

/// `FF20 { DF21 offsets, items… }`: the four 2-byte offsets give where each item's TLV starts
/// within the value of FF20.
fn with_offsets(outer: u16, items: &[Vec<u8>]) -> Vec<u8> {
    let header_len = 3 + 2 * items.len();
    let mut offsets = Vec::new();
    let mut at = header_len;
    for it in items {
        offsets.extend_from_slice(&(at as u16).to_be_bytes());
        at += it.len();
    }
    let mut value = tlv(0xDF21, &offsets, Len::Card);
    for it in items {
        value.extend_from_slice(it);
    }
    tlv(outer, &value, Len::Card)
}

/// Writes the 入力補助AP and 券面AP files and the 照合番号 PINs.
pub fn install_holder(
    state: &mut CardState,
    h: &Holder<'_>,
    signer: &DataSigner,
) -> Result<(), CardError> {
    h.check()?;
    let salt = state.salt.0.clone();
    // 入力補助AP EF 0001: `DF10 0C <12 digits>` in a 17-byte EF.
    let mut my_number = tlv(0xDF10, h.my_number.as_bytes(), Len::Card);
    my_number.resize(17, 0xFF);
    // EF 0002: basic four information.
    let items = [
        tlv(0xDF22, h.name.as_bytes(), Len::Card),
        tlv(0xDF23, h.address.as_bytes(), Len::Card),
        tlv(0xDF24, h.birth.as_bytes(), Len::Card),
        tlv(0xDF25, &[h.sex as u8], Len::Card),
    ];
    let basic4 = with_offsets(0xFF20, &items);
    // EF 0003: hashes of both and J-LIS's signature over the two hash TLVs.
    let h1 = tlv(
        0xDF31,
        digest::digest(&digest::SHA256, &my_number).as_ref(),
        Len::Card,
    );
    let h2 = tlv(
        0xDF32,
        digest::digest(&digest::SHA256, &items.concat()).as_ref(),
        Len::Card,
    );
    let signed = [h1.clone(), h2.clone()].concat();
    let sig = signer.sign(&signed)?;
    let signature = tlv(
        0xFF30,
        &[h1, h2, tlv(0xDF33, &sig, Len::Card)].concat(),
        Len::Card,
    );
    // EF 0005: AP information and the signer's key id, in a 256-byte EF.
    let mut info = tlv(
        0xFF40,
        &[
            tlv(0xDF41, &[0x01, 0x00, 0x00, 0x01], Len::Card),
            tlv(0xDF42, &signer.key_id(), Len::Card),
        ]
        .concat(),
        Len::Card,
    );
    info.resize(256, 0xFF);
    state.set_file(AppletId::Assist, fid::ASSIST_MY_NUMBER, my_number);
    state.set_file(AppletId::Assist, fid::ASSIST_BASIC4, basic4);
    state.set_file(AppletId::Assist, fid::ASSIST_SIGNATURE, signature);
    state.set_file(AppletId::Assist, fid::ASSIST_CERT, signer.cv_certificate()?);
    state.set_file(AppletId::Assist, fid::ASSIST_INFO, info);

    // 券面AP EF 0002: birth, sex, the signer's key id, name and address (UTF-8: we render no
    // glyphs), face picture, signature over the items, expiry, security code.
    let face_items = [
        tlv(0xDF22, h.birth.as_bytes(), Len::Card),
        tlv(0xDF23, &[h.sex as u8], Len::Card),
        tlv(0xDF24, &signer.key_id(), Len::Card),
        tlv(0xDF25, h.name.as_bytes(), Len::Card),
        tlv(0xDF26, h.address.as_bytes(), Len::Card),
        tlv(0xDF27, h.face_png, Len::Card),
    ];
    let tail = [
        tlv(0xDF29, h.expiry.as_bytes(), Len::Card),
        tlv(0xDF2A, h.security_code.as_bytes(), Len::Card),
    ];
    let face_sig = signer.sign(&[face_items.concat(), tail.concat()].concat())?;
    let mut all: Vec<Vec<u8>> = face_items.to_vec();
    all.push(tlv(0xDF28, &face_sig, Len::Card));
    all.extend(tail);
    state.set_file(
        AppletId::Face,
        fid::FACE_ENTRIES,
        with_offsets(0xFF20, &all),
    );
    let face_info = tlv(
        0xFF40,
        &[
            tlv(0xDF41, &[0x01, 0x00, 0x00, 0x02], Len::Card),
            tlv(0xDF42, &signer.key_id(), Len::Card),
            tlv(0xDF43, &[0x01], Len::Card),
            tlv(0xDF44, h.municipality.as_bytes(), Len::Card),
        ]
        .concat(),
        Len::Card,
    );
    state.set_file(AppletId::Face, fid::FACE_INFO, face_info);
    state.set_file(
        AppletId::Face,
        fid::FACE_MY_NUMBER,
        tlv(0xDF10, h.my_number.as_bytes(), Len::Card),
    );

    let pin_b = h.pin_b();
    for (id, v) in [
        (PinId::AssistA, h.my_number),
        (PinId::FaceA, h.my_number),
        (PinId::AssistB, pin_b.as_str()),
        (PinId::FaceB, pin_b.as_str()),
    ] {
        id.check(v.as_bytes())?;
        state
            .pins
            .insert(id, PinState::new(id, &salt, v.as_bytes()));
    }
    state.expiry = format!(
        "{}-{}-{}",
        &h.expiry[0..4],
        &h.expiry[4..6],
        &h.expiry[6..8]
    );
    state.generation += 1;
    Ok(())
}

/// The four PINs the resident chooses at issuance.
pub struct ChosenPins<'a> {
    pub auth: &'a str,
    /// Upper-cased before storing, as card software sends it.
    pub sign: Option<&'a str>,
    pub assist: &'a str,
    pub juki: &'a str,
}

/// Checks and sets the chosen PINs. Nothing is set unless all are acceptable.
pub fn set_pins(state: &mut CardState, pins: &ChosenPins<'_>) -> Result<(), CardError> {
    let sign_upper = pins.sign.map(str::to_ascii_uppercase);
    let mut chosen = vec![
        (PinId::Auth, pins.auth.as_bytes()),
        (PinId::Assist, pins.assist.as_bytes()),
        (PinId::Juki, pins.juki.as_bytes()),
    ];
    match (&sign_upper, state.keys.contains_key(&KeyId::Sign)) {
        (Some(s), true) => chosen.push((PinId::Sign, s.as_bytes())),
        (None, false) => {}
        (None, true) => {
            return Err(CardError::Invalid(
                "the card has a signing key: a signing password is required".into(),
            ));
        }
        (Some(_), false) => {
            return Err(CardError::Invalid(
                "the card has no signing key (holder under 15): no signing password".into(),
            ));
        }
    }
    for (id, v) in &chosen {
        id.check(v)?;
    }
    let salt = state.salt.0.clone();
    for (id, v) in chosen {
        state.pins.insert(id, PinState::new(id, &salt, v));
    }
    state.generation += 1;
    Ok(())
}
