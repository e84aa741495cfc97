//! What the chip remembers: the files, the keys and the PIN counters. It serialises to the
//! card file; the engine changes it only through PIN operations, and says when it did so that
//! the holder writes it before answering.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CardError;
use crate::layout::{AppletId, KeyId};
use crate::pin::{PinId, PinState};

/// The card file's format version. Version 1 files (before 照合番号B took the era birth
/// date) are upgraded when read; see [`CardState::upgrade`].
pub const FORMAT: u32 = 2;

/// Bytes that serialise as base64.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        B64.decode(s.as_bytes())
            .map(Bytes)
            .map_err(serde::de::Error::custom)
    }
}

pub(crate) mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&hex)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        if s.len() != 64 || !s.is_ascii() {
            return Err(serde::de::Error::custom("expected 64 hex digits"));
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(serde::de::Error::custom)?;
        }
        Ok(out)
    }
}

/// A private key on the card. `Debug` shows nothing of it, and nothing outside the engine
/// reads it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateKey {
    pub(crate) pkcs8: Bytes,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(RSA-2048, not exportable)")
    }
}

/// The persistent state of one card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardState {
    pub format: u32,
    /// 製造番号: the card's manufacturing number (15 characters).
    pub serial: String,
    /// The resident the card was issued to (for audit records; the card itself never
    /// answers with it).
    pub resident_id: Option<i64>,
    /// Last day the card is valid (YYYY-MM-DD).
    pub expiry: String,
    /// Incremented by every change, so that a holder can tell a stale copy.
    pub generation: u64,
    pub salt: Bytes,
    pub pins: BTreeMap<PinId, PinState>,
    pub keys: BTreeMap<KeyId, PrivateKey>,
    /// Transparent EFs, keyed `"<applet>/<FID hex>"`.
    pub files: BTreeMap<String, Bytes>,
    /// Records of the manufacturing-number application (READ RECORD, SFI 1).
    pub records: Vec<Bytes>,
    /// 照合番号B as printed on the card's front (the birth date in the era, the expiry year,
    /// the security code), which a face-recognition reader's camera reads to open the 券面AP.
    /// Part of the plastic, not of the chip: no command answers with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed_collation_b: Option<String>,
}

pub fn file_key(applet: AppletId, fid: u16) -> String {
    format!("{}/{fid:04X}", applet.as_str())
}

impl CardState {
    pub fn file(&self, applet: AppletId, fid: u16) -> Option<&[u8]> {
        self.files
            .get(&file_key(applet, fid))
            .map(|b| b.0.as_slice())
    }

    pub fn set_file(&mut self, applet: AppletId, fid: u16, data: Vec<u8>) {
        self.files.insert(file_key(applet, fid), Bytes(data));
    }

    pub fn pin(&self, id: PinId) -> Option<&PinState> {
        self.pins.get(&id)
    }

    /// Serialises the card for its file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CardError> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }

    /// Reads a card file, checking its format. A file of an earlier format is upgraded in
    /// memory; the holder writes it back with the first change of state, as any card file.
    pub fn from_bytes(b: &[u8]) -> Result<CardState, CardError> {
        let mut s: CardState = serde_json::from_slice(b)?;
        if s.salt.0.len() < 16 {
            return Err(CardError::Format("card salt is too short".into()));
        }
        match s.format {
            FORMAT => {}
            1 => s.upgrade_from_1()?,
            n => {
                return Err(CardError::Format(format!(
                    "card file format {n} is not supported (expected {FORMAT} or earlier)"
                )));
            }
        }
        Ok(s)
    }

    /// Format 1 → 2. Nothing is lost: the keys, the certificates, the PINs chosen by the
    /// holder and every try counter stay as they are.
    /// - 照合番号B took the birth date with a Gregorian year; it now takes the year of the
    ///   era, as on real cards. The value is formed again from the card's own data (the
    ///   birth date of the 入力補助AP, the expiry, the security code of the 券面AP); the
    ///   counter is kept.
    /// - The 券面AP gets its birth-date key (EF 0011).
    /// - The 券面AP's EF 0001 held the My Number in format 1; in format 2 it is the birth-date
    ///   record, opened by the birth-date key, so the old content is removed (the My Number
    ///   stays in the 入力補助AP).
    ///
    /// The data signed at issuance is not re-signed (the card-data key is not on the card):
    /// such a card keeps its format-1 data layout until it is re-issued.
    fn upgrade_from_1(&mut self) -> Result<(), CardError> {
        use crate::layout::fid;
        let item = |applet: AppletId, file: u16, tag: u32| -> Option<String> {
            let data = self.file(applet, file)?;
            let (outer, _) = crate::ber::parse(data)?;
            let kid = crate::ber::children(outer.value)?
                .into_iter()
                .find(|t| t.tag == tag)?;
            String::from_utf8(kid.value.to_vec()).ok()
        };
        let birth = item(AppletId::Assist, fid::ASSIST_BASIC4, 0xDF24);
        let code = item(AppletId::Face, fid::FACE_ENTRIES, 0xDF2A);
        let expiry = self.expiry.replace('-', "");
        if let (Some(birth), Some(code)) = (birth, code) {
            let b = crate::personalize::collation_number_b(&birth, &expiry, &code);
            let key = crate::personalize::era_birth_yymmdd(&birth);
            let salt = self.salt.0.clone();
            if let (Some(b), Some(key)) = (b, key) {
                for id in [PinId::AssistB, PinId::FaceB] {
                    if let Some(p) = self.pins.get_mut(&id) {
                        let tries_left = p.tries_left;
                        *p = PinState::new(id, &salt, b.as_bytes());
                        p.tries_left = tries_left;
                    }
                }
                self.pins.insert(
                    PinId::FaceBirth,
                    PinState::new(PinId::FaceBirth, &salt, key.as_bytes()),
                );
            }
        }
        self.files
            .remove(&file_key(AppletId::Face, fid::FACE_BIRTH));
        self.format = FORMAT;
        Ok(())
    }

    /// The municipality's reset of a locked (or forgotten) PIN: the counter back to its
    /// maximum and, if given, a new value that obeys the PIN's rules.
    pub fn reset_pin(&mut self, id: PinId, new_value: Option<&[u8]>) -> Result<(), CardError> {
        let salt = self.salt.0.clone();
        let state = self
            .pins
            .get_mut(&id)
            .ok_or_else(|| CardError::Missing(format!("the card has no {}", id.label())))?;
        if let Some(v) = new_value {
            id.check(v)?;
            *state = PinState::new(id, &salt, v);
        } else {
            state.tries_left = id.max_tries();
        }
        self.generation += 1;
        Ok(())
    }
}
