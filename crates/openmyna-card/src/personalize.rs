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
    // The 入力補助AP's and the 券面AP's own keys (PIN-less signatures) and the 入力補助AP's
    // secure-messaging key.
    for id in [KeyId::Assist, KeyId::Face, KeyId::AssistSession] {
        let (k, _) = keys::generate()?;
        keys_map.insert(id, k);
    }
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
            printed_collation_b: None,
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
        keys::card_encoding(&self.modulus, &self.exponent)
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

/// The subject key identifier of a CV certificate (EF 0004): the second 16 bytes of 5F4E.
pub fn cv_subject_key_id(cert: &[u8]) -> Option<Vec<u8>> {
    let (outer, _) = ber::parse(cert)?;
    let body = ber::children(outer.value)?
        .into_iter()
        .find(|t| t.tag == 0x5F4E)?;
    body.value.get(16..32).map(<[u8]>::to_vec)
}

/// (modulus without leading zero, exponent) of a PKCS#1 RSAPublicKey.
pub(crate) fn rsa_public_parts(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
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

/// The pictures printed on the card, as the 券面AP stores them.
pub struct FacePictures<'a> {
    /// The holder's face: a greyscale JPEG 2000 image (DF27).
    pub face_jp2: &'a [u8],
    /// The printed name, address and security code, and the My Number as printed on the
    /// back: 1-bit PNG images of the text.
    pub name_png: &'a [u8],
    pub address_png: &'a [u8],
    pub security_code_png: &'a [u8],
    pub my_number_png: &'a [u8],
}

/// The pictures of the 券面AP, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureSet {
    pub face_jp2: Vec<u8>,
    pub name_png: Vec<u8>,
    pub address_png: Vec<u8>,
    pub security_code_png: Vec<u8>,
    pub my_number_png: Vec<u8>,
}

impl PictureSet {
    pub fn borrow(&self) -> FacePictures<'_> {
        FacePictures {
            face_jp2: &self.face_jp2,
            name_png: &self.name_png,
            address_png: &self.address_png,
            security_code_png: &self.security_code_png,
            my_number_png: &self.my_number_png,
        }
    }

    /// Pictures for the replay tests: a real JPEG 2000 face (NASA's public-domain astronaut
    /// portrait, one of the demo faces) and blank pictures of text.
    #[cfg(test)]
    pub fn fixture() -> PictureSet {
        PictureSet {
            face_jp2: include_bytes!("../../openmyna-cardface/faces/face-14.jp2").to_vec(),
            ..PictureSet::blank()
        }
    }

    /// Blank pictures of the right kinds' sizes, for tests and fuzzing of the card engine,
    /// which never looks inside them.
    pub fn blank() -> PictureSet {
        use crate::image::blank;
        PictureSet {
            face_jp2: blank(48, 64),
            name_png: blank(256, 24),
            address_png: blank(512, 48),
            security_code_png: blank(24, 12),
            my_number_png: blank(72, 12),
        }
    }
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
    /// The issuing municipality's code (the first five digits of the 地方公共団体コード).
    pub municipality_code: &'a str,
    pub pictures: FacePictures<'a>,
}

/// The birth date's part of 照合番号B and the 券面AP's birth-date key: YYMMDD with the year
/// of the Japanese era (1980-02-17 → `550217`), from `YYYYMMDD`.
pub fn era_birth_yymmdd(birth: &str) -> Option<String> {
    let y = birth.get(0..4)?.parse().ok()?;
    let m = birth.get(4..6)?.parse().ok()?;
    let d = birth.get(6..8)?.parse().ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(y, m, d)?;
    Some(openmyna_core::era::EraDate::of(date)?.yymmdd())
}

/// 照合番号B: the birth date in the era (YYMMDD), the card's expiry year (YYYY), the security
/// code: 14 digits, as the public readers build it from what is printed on the card.
pub fn collation_number_b(birth: &str, expiry: &str, security_code: &str) -> Option<String> {
    Some(format!(
        "{}{}{security_code}",
        era_birth_yymmdd(birth)?,
        expiry.get(0..4)?
    ))
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
        if era_birth_yymmdd(self.birth).is_none() {
            return Err(CardError::Invalid(
                "the birth date is not a date of the Japanese eras (from 1868-01-25)".into(),
            ));
        }
        if !digits(self.security_code, 4) {
            return Err(CardError::Invalid("the security code has 4 digits".into()));
        }
        if !digits(self.municipality_code, 5) {
            return Err(CardError::Invalid(
                "the municipality code has 5 digits".into(),
            ));
        }
        if !matches!(self.sex, '1' | '2' | '9') {
            return Err(CardError::Invalid("sex is 1, 2 or 9".into()));
        }
        Ok(())
    }
}

/// `FF20 { DF21 offsets, items… }`: the 2-byte offsets say where each item's TLV starts,
/// counted from the first byte of the file (as on real cards).
fn with_offsets(outer: u16, items: &[Vec<u8>]) -> Vec<u8> {
    let offsets_tlv = 3 + 2 * items.len();
    let value_len = offsets_tlv + items.iter().map(Vec::len).sum::<usize>();
    let outer_header = 2 + if value_len < 128 { 1 } else { 3 };
    let mut offsets = Vec::new();
    let mut at = outer_header + offsets_tlv;
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

/// A public key of the card and the card-data key's signature over it, as the APs publish
/// them: `outer { key_tag key, sig_tag signature }`.
fn certified_key(
    signer: &DataSigner,
    outer: u16,
    key_tag: u16,
    key: &[u8],
    sig_tag: u16,
) -> Result<Vec<u8>, CardError> {
    let key_tlv = tlv(key_tag, key, Len::Card);
    let sig = signer.sign(&key_tlv)?;
    Ok(tlv(
        outer,
        &[key_tlv, tlv(sig_tag, &sig, Len::Card)].concat(),
        Len::Card,
    ))
}

/// The public half of one of the card's keys in the card's encoding.
fn card_key(state: &CardState, id: KeyId) -> Result<Vec<u8>, CardError> {
    let key = state
        .keys
        .get(&id)
        .ok_or_else(|| CardError::Missing(format!("the card has no {id:?} key")))?;
    keys::card_public_key(key)
}

/// Writes the 入力補助AP and 券面AP files and the 照合番号 PINs.
pub fn install_holder(
    state: &mut CardState,
    h: &Holder<'_>,
    signer: &DataSigner,
) -> Result<(), CardError> {
    h.check()?;
    let salt = state.salt.0.clone();
    let key_id = signer.key_id();
    // 入力補助AP EF 0001: `FF10 0C <12 digits>` and two filler bytes (17 bytes).
    let mut my_number = tlv(0xFF10, h.my_number.as_bytes(), Len::Card);
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
    // EF 0005: AP information (version, extended length, vendor, option), the signer's key id
    // and a 128-byte area (32 bytes used), in a 256-byte EF: `FF 40 82 00 9F …`.
    let mut area = digest::digest(&digest::SHA256, &key_id).as_ref().to_vec();
    area.resize(128, 0xFF);
    let mut info = tlv(
        0xFF40,
        &[
            tlv(0xDF41, &[0x01, 0x03, 0x0E, 0x01], Len::Card),
            tlv(0xDF42, &key_id, Len::Card),
            tlv(0xDF43, &area, Len::Card),
        ]
        .concat(),
        Len::Card,
    );
    info.resize(256, 0xFF);
    let cv_certificate = signer.cv_certificate()?;
    state.set_file(AppletId::Assist, fid::ASSIST_MY_NUMBER, my_number);
    state.set_file(AppletId::Assist, fid::ASSIST_BASIC4, basic4);
    state.set_file(AppletId::Assist, fid::ASSIST_SIGNATURE, signature);
    state.set_file(AppletId::Assist, fid::ASSIST_CERT, cv_certificate.clone());
    state.set_file(AppletId::Assist, fid::ASSIST_INFO, info);
    // EF 0006: the secure-messaging key's public half; EF 0007: the AP's own key, certified.
    let session = tlv(0xA1, &card_key(state, KeyId::AssistSession)?, Len::Card);
    state.set_file(AppletId::Assist, fid::ASSIST_SESSION_KEY, session);
    let assist_key = card_key(state, KeyId::Assist)?;
    state.set_file(
        AppletId::Assist,
        fid::ASSIST_CARD_KEY_CERT,
        certified_key(signer, 0xFF50, 0xDF51, &assist_key, 0xDF52)?,
    );

    // 券面AP EF 0002: birth, sex, the card's public key, the printed name and address, the
    // face, the signature, then the expiry and the security code (not signed).
    let face_key = card_key(state, KeyId::Face)?;
    let p = &h.pictures;
    let signed_groups = [
        [
            tlv(0xDF22, h.birth.as_bytes(), Len::Card),
            tlv(0xDF23, &[h.sex as u8], Len::Card),
            tlv(0xDF24, &face_key, Len::Card),
        ]
        .concat(),
        [
            tlv(0xDF25, p.name_png, Len::Card),
            tlv(0xDF26, p.address_png, Len::Card),
        ]
        .concat(),
        tlv(0xDF27, p.face_jp2, Len::Card),
    ];
    // The signature covers the three groups' SHA-256 hashes (96 bytes).
    let hashes: Vec<u8> = signed_groups
        .iter()
        .flat_map(|g| digest::digest(&digest::SHA256, g).as_ref().to_vec())
        .collect();
    let face_sig = signer.sign(&hashes)?;
    let all: Vec<Vec<u8>> = vec![
        tlv(0xDF22, h.birth.as_bytes(), Len::Card),
        tlv(0xDF23, &[h.sex as u8], Len::Card),
        tlv(0xDF24, &face_key, Len::Card),
        tlv(0xDF25, p.name_png, Len::Card),
        tlv(0xDF26, p.address_png, Len::Card),
        tlv(0xDF27, p.face_jp2, Len::Card),
        tlv(0xDF28, &face_sig, Len::Card),
        tlv(0xDF29, h.expiry.as_bytes(), Len::Card),
        tlv(0xDF2A, p.security_code_png, Len::Card),
    ];
    state.set_file(
        AppletId::Face,
        fid::FACE_ENTRIES,
        with_offsets(0xFF20, &all),
    );
    // EF 0001 (opened by the birth-date key): the birth date and the card's key, signed.
    let birth_items = [
        tlv(0xDF11, h.birth.as_bytes(), Len::Card),
        tlv(0xDF12, &face_key, Len::Card),
    ]
    .concat();
    let birth_sig = signer.sign(&birth_items)?;
    state.set_file(
        AppletId::Face,
        fid::FACE_BIRTH,
        tlv(
            0xFF10,
            &[birth_items, tlv(0xDF13, &birth_sig, Len::Card)].concat(),
            Len::Card,
        ),
    );
    // EF 0003: AP information, the signer's key id, version, municipality, and the signer's
    // key id with its signature over the items before.
    let info_items = [
        tlv(0xDF31, &[0x06, 0x03, 0x0E, 0x01], Len::Card),
        tlv(0xDF32, &key_id, Len::Card),
        tlv(0xDF33, &[0x01], Len::Card),
        tlv(0xDF34, h.municipality_code.as_bytes(), Len::Card),
    ]
    .concat();
    let info_sig = signer.sign(&info_items)?;
    state.set_file(
        AppletId::Face,
        fid::FACE_INFO,
        tlv(
            0xFF30,
            &[
                info_items,
                tlv(0xDF35, &[&key_id[..], &info_sig].concat(), Len::Card),
            ]
            .concat(),
            Len::Card,
        ),
    );
    state.set_file(AppletId::Face, fid::FACE_CERT, cv_certificate);
    // EF 0005 (照合番号A only): the My Number as printed, with the card's key, signed.
    let number_items = [
        tlv(0xDF41, p.my_number_png, Len::Card),
        tlv(0xDF42, &face_key, Len::Card),
    ]
    .concat();
    let number_sig = signer.sign(&number_items)?;
    state.set_file(
        AppletId::Face,
        fid::FACE_MY_NUMBER,
        tlv(
            0xFF40,
            &[number_items, tlv(0xDF43, &number_sig, Len::Card)].concat(),
            Len::Card,
        ),
    );

    let pin_b = collation_number_b(h.birth, h.expiry, h.security_code)
        .ok_or_else(|| CardError::Invalid("照合番号B cannot be formed".into()))?;
    let birth_key = era_birth_yymmdd(h.birth)
        .ok_or_else(|| CardError::Invalid("the birth date has no era".into()))?;
    state.printed_collation_b = Some(pin_b.clone());
    for (id, v) in [
        (PinId::AssistA, h.my_number),
        (PinId::FaceA, h.my_number),
        (PinId::AssistB, pin_b.as_str()),
        (PinId::FaceB, pin_b.as_str()),
        (PinId::FaceBirth, birth_key.as_str()),
    ] {
        id.check(v.as_bytes())?;
        state
            .pins
            .insert(id, PinState::new(id, &salt, v.as_bytes()));
    }
    state.expiry = format!(
        "{}-{}-{}",
        h.expiry.get(0..4).unwrap_or_default(),
        h.expiry.get(4..6).unwrap_or_default(),
        h.expiry.get(6..8).unwrap_or_default()
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
