//! The card's applications and their elementary files: which FIDs exist, what each holds and
//! who may read it. The layout follows the real card (see docs/card.md and the sources in
//! shared/domain/jpki.md §1).

use crate::pin::PinId;
use serde::{Deserialize, Serialize};

/// The applications (DFs) on the card, selected by AID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppletId {
    /// 公的個人認証AP.
    Jpki,
    /// 券面事項入力補助AP.
    Assist,
    /// 券面事項確認AP (券面AP).
    Face,
    /// The application holding the card's manufacturing number (READ RECORD).
    Juki,
    /// 住基AP: the 住民基本台帳用 PIN (EF 001C).
    JukiPin,
}

impl AppletId {
    pub const ALL: [AppletId; 5] = [
        AppletId::Jpki,
        AppletId::Assist,
        AppletId::Face,
        AppletId::Juki,
        AppletId::JukiPin,
    ];

    pub fn aid(self) -> &'static [u8] {
        match self {
            AppletId::Jpki => &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
            AppletId::Assist => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08],
            AppletId::Face => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02],
            AppletId::Juki => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00],
            AppletId::JukiPin => &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01],
        }
    }

    pub fn by_aid(aid: &[u8]) -> Option<AppletId> {
        AppletId::ALL.into_iter().find(|a| a.aid() == aid)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AppletId::Jpki => "jpki",
            AppletId::Assist => "assist",
            AppletId::Face => "face",
            AppletId::Juki => "juki",
            AppletId::JukiPin => "juki_pin",
        }
    }
}

/// The card's private keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyId {
    /// JPKI AP EF 0017, opened by the authentication PIN.
    Auth,
    /// JPKI AP EF 001A, opened by the signing password.
    Sign,
    /// 入力補助AP EF 0013: the card's own key, which signs a reader's challenge without any
    /// PIN (the reader's proof that the card is present); its public half is in EF 0007,
    /// certified by the card-data key of EF 0004.
    Assist,
    /// 券面AP EF 001A: the same for the 券面AP; its public half is DF24 of EF 0002 (and in
    /// EF 0001 and EF 0005), each signed by the card-data key.
    Face,
    /// 入力補助AP: the key whose public half EF 0006 publishes for secure messaging (SET
    /// SESSION KEY). Not addressable by the signature command.
    AssistSession,
}

impl KeyId {
    /// The PIN that must be verified before the key signs; `None`: the key signs for anyone
    /// (the APs' card keys).
    pub fn pin(self) -> Option<PinId> {
        match self {
            KeyId::Auth => Some(PinId::Auth),
            KeyId::Sign => Some(PinId::Sign),
            KeyId::Assist | KeyId::Face | KeyId::AssistSession => None,
        }
    }

    /// The key the signature command uses with P2 `00` in `applet` (the AP's default key).
    pub fn default_of(applet: AppletId) -> Option<KeyId> {
        match applet {
            AppletId::Assist => Some(KeyId::Assist),
            AppletId::Face => Some(KeyId::Face),
            _ => None,
        }
    }
}

/// Who may read a transparent EF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Free,
    /// After a successful VERIFY of any of these PINs in the current selection of the DF.
    After(&'static [PinId]),
}

/// What an EF is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ef {
    /// A transparent file read with READ BINARY.
    Binary(Access),
    /// A PIN: the target of VERIFY and CHANGE REFERENCE DATA, never readable.
    Pin(PinId),
    /// A private key: the target of the signature command, never readable.
    Key(KeyId),
}

pub mod fid {
    //! The FIDs with names.
    pub const JPKI_SIGN_CERT: u16 = 0x0001;
    pub const JPKI_SIGN_CA_CERT: u16 = 0x0002;
    pub const JPKI_TOKEN_INFO: u16 = 0x0006;
    pub const JPKI_CERT_FLAGS: u16 = 0x0008;
    pub const JPKI_AUTH_CERT: u16 = 0x000A;
    pub const JPKI_AUTH_CA_CERT: u16 = 0x000B;
    pub const JPKI_AUTH_KEY: u16 = 0x0017;
    pub const JPKI_AUTH_PIN: u16 = 0x0018;
    pub const JPKI_SIGN_KEY: u16 = 0x001A;
    pub const JPKI_SIGN_PIN: u16 = 0x001B;
    pub const ASSIST_MY_NUMBER: u16 = 0x0001;
    pub const ASSIST_BASIC4: u16 = 0x0002;
    pub const ASSIST_SIGNATURE: u16 = 0x0003;
    pub const ASSIST_CERT: u16 = 0x0004;
    pub const ASSIST_INFO: u16 = 0x0005;
    pub const ASSIST_SESSION_KEY: u16 = 0x0006;
    pub const ASSIST_CARD_KEY_CERT: u16 = 0x0007;
    pub const ASSIST_PIN: u16 = 0x0011;
    pub const ASSIST_SPARE: u16 = 0x0012;
    pub const ASSIST_CARD_KEY: u16 = 0x0013;
    pub const ASSIST_PIN_A: u16 = 0x0014;
    pub const ASSIST_PIN_B: u16 = 0x0015;
    pub const FACE_BIRTH: u16 = 0x0001;
    pub const FACE_ENTRIES: u16 = 0x0002;
    pub const FACE_INFO: u16 = 0x0003;
    pub const FACE_CERT: u16 = 0x0004;
    pub const FACE_MY_NUMBER: u16 = 0x0005;
    pub const FACE_PIN_BIRTH: u16 = 0x0011;
    pub const FACE_PIN_B: u16 = 0x0012;
    pub const FACE_PIN_A: u16 = 0x0013;
    pub const FACE_CARD_KEY: u16 = 0x001A;
    pub const JUKI_PIN: u16 = 0x001C;
}

/// Who reads what in the 入力補助AP: 照合番号A opens the My Number, 照合番号B the basic
/// four information, the PIN both (as on real cards).
const ASSIST_MY_NUMBER_READERS: &[PinId] = &[PinId::Assist, PinId::AssistA];
const ASSIST_BASIC4_READERS: &[PinId] = &[PinId::Assist, PinId::AssistB];
const ASSIST_READERS: &[PinId] = &[PinId::Assist, PinId::AssistA, PinId::AssistB];
/// In the 券面AP: either 照合番号 opens the face; only A the picture of the My Number.
const FACE_READERS: &[PinId] = &[PinId::FaceA, PinId::FaceB];

/// The EF `fid` of `applet`, if the card has it.
pub fn ef(applet: AppletId, fid: u16) -> Option<Ef> {
    use fid::*;
    Some(match (applet, fid) {
        (AppletId::Jpki, JPKI_SIGN_CERT) => Ef::Binary(Access::After(&[PinId::Sign])),
        (
            AppletId::Jpki,
            JPKI_SIGN_CA_CERT | JPKI_TOKEN_INFO | JPKI_CERT_FLAGS | JPKI_AUTH_CERT
            | JPKI_AUTH_CA_CERT,
        ) => Ef::Binary(Access::Free),
        (AppletId::Jpki, JPKI_AUTH_KEY) => Ef::Key(KeyId::Auth),
        (AppletId::Jpki, JPKI_AUTH_PIN) => Ef::Pin(PinId::Auth),
        (AppletId::Jpki, JPKI_SIGN_KEY) => Ef::Key(KeyId::Sign),
        (AppletId::Jpki, JPKI_SIGN_PIN) => Ef::Pin(PinId::Sign),
        (AppletId::Assist, ASSIST_MY_NUMBER) => Ef::Binary(Access::After(ASSIST_MY_NUMBER_READERS)),
        (AppletId::Assist, ASSIST_BASIC4) => Ef::Binary(Access::After(ASSIST_BASIC4_READERS)),
        (AppletId::Assist, ASSIST_SIGNATURE | ASSIST_SESSION_KEY | ASSIST_CARD_KEY_CERT) => {
            Ef::Binary(Access::After(ASSIST_READERS))
        }
        (AppletId::Assist, ASSIST_CERT | ASSIST_INFO) => Ef::Binary(Access::Free),
        (AppletId::Assist, ASSIST_PIN) => Ef::Pin(PinId::Assist),
        (AppletId::Assist, ASSIST_SPARE) => Ef::Pin(PinId::AssistSpare),
        (AppletId::Assist, ASSIST_CARD_KEY) => Ef::Key(KeyId::Assist),
        (AppletId::Assist, ASSIST_PIN_A) => Ef::Pin(PinId::AssistA),
        (AppletId::Assist, ASSIST_PIN_B) => Ef::Pin(PinId::AssistB),
        (AppletId::Face, FACE_BIRTH) => Ef::Binary(Access::After(&[PinId::FaceBirth])),
        (AppletId::Face, FACE_ENTRIES) => Ef::Binary(Access::After(FACE_READERS)),
        (AppletId::Face, FACE_MY_NUMBER) => Ef::Binary(Access::After(&[PinId::FaceA])),
        (AppletId::Face, FACE_INFO | FACE_CERT) => Ef::Binary(Access::Free),
        (AppletId::Face, FACE_PIN_BIRTH) => Ef::Pin(PinId::FaceBirth),
        (AppletId::Face, FACE_PIN_A) => Ef::Pin(PinId::FaceA),
        (AppletId::Face, FACE_PIN_B) => Ef::Pin(PinId::FaceB),
        (AppletId::Face, FACE_CARD_KEY) => Ef::Key(KeyId::Face),
        (AppletId::JukiPin, JUKI_PIN) => Ef::Pin(PinId::Juki),
        _ => return None,
    })
}

/// Where a PIN lives.
pub fn pin_location(pin: PinId) -> (AppletId, u16) {
    use fid::*;
    match pin {
        PinId::Auth => (AppletId::Jpki, JPKI_AUTH_PIN),
        PinId::Sign => (AppletId::Jpki, JPKI_SIGN_PIN),
        PinId::Assist => (AppletId::Assist, ASSIST_PIN),
        PinId::AssistA => (AppletId::Assist, ASSIST_PIN_A),
        PinId::AssistB => (AppletId::Assist, ASSIST_PIN_B),
        PinId::FaceA => (AppletId::Face, FACE_PIN_A),
        PinId::FaceB => (AppletId::Face, FACE_PIN_B),
        PinId::FaceBirth => (AppletId::Face, FACE_PIN_BIRTH),
        PinId::AssistSpare => (AppletId::Assist, ASSIST_SPARE),
        PinId::Juki => (AppletId::JukiPin, JUKI_PIN),
    }
}

/// The Answer To Reset of the card: T=1, IFSC 254, no historical bytes.
pub const ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

/// The label in the first 32 bytes of the JPKI token-info EF of a My Number Card.
pub const TOKEN_LABEL: &str = "JPKIAPICCTOKEN2";
