//! The JPKI client library: what card software does with a My Number Card, written once
//! against [`Transport`] so that the same code drives the in-process virtual card, a card
//! behind vpcd, or a real card in a real reader.

use aws_lc_rs::digest;
use openmyna_card::layout::fid;
use openmyna_card::{AppletId, Command, KeyId, PinId, Response, Sw, ber, keys, layout};

use crate::{CardIoError, Transport};

/// The certificates on the JPKI AP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certificate {
    Auth,
    AuthCa,
    /// Readable only after the signing password.
    Sign,
    SignCa,
}

impl Certificate {
    pub fn fid(self) -> u16 {
        match self {
            Certificate::Auth => fid::JPKI_AUTH_CERT,
            Certificate::AuthCa => fid::JPKI_AUTH_CA_CERT,
            Certificate::Sign => fid::JPKI_SIGN_CERT,
            Certificate::SignCa => fid::JPKI_SIGN_CA_CERT,
        }
    }
}

/// The basic four information as the 入力補助AP holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basic4 {
    pub name: String,
    pub address: String,
    /// YYYYMMDD.
    pub birth: String,
    /// 1, 2 or 9.
    pub sex: String,
}

pub struct JpkiClient<T: Transport> {
    t: T,
    /// The application this client last selected.
    selected: Option<AppletId>,
}

impl<T: Transport> JpkiClient<T> {
    pub fn new(t: T) -> Self {
        JpkiClient { t, selected: None }
    }

    pub fn transport(&mut self) -> &mut T {
        &mut self.t
    }

    /// Sends a command and returns the response (any status).
    pub fn send(
        &mut self,
        cla: u8,
        ins: u8,
        p1: u8,
        p2: u8,
        data: &[u8],
        le: Option<usize>,
    ) -> Result<Response, CardIoError> {
        let apdu = Command::encode(cla, ins, p1, p2, data, le);
        let raw = self.t.transmit(&apdu)?;
        Response::from_bytes(&raw).ok_or_else(|| {
            CardIoError::Protocol(format!("{} bytes is not a response APDU", raw.len()))
        })
    }

    fn ok(
        &mut self,
        command: &'static str,
        apdu: (u8, u8, u8, u8, &[u8], Option<usize>),
    ) -> Result<Vec<u8>, CardIoError> {
        let (cla, ins, p1, p2, data, le) = apdu;
        let r = self.send(cla, ins, p1, p2, data, le)?;
        if r.sw != Sw::OK {
            return Err(CardIoError::Status { command, sw: r.sw });
        }
        Ok(r.data)
    }

    pub fn select_applet(&mut self, applet: AppletId) -> Result<(), CardIoError> {
        self.selected = None;
        self.ok(
            "SELECT (application)",
            (0, 0xA4, 0x04, 0x0C, applet.aid(), None),
        )?;
        self.selected = Some(applet);
        Ok(())
    }

    pub fn select_ef(&mut self, fid: u16) -> Result<(), CardIoError> {
        self.ok(
            "SELECT (EF)",
            (0, 0xA4, 0x02, 0x0C, &fid.to_be_bytes(), None),
        )?;
        Ok(())
    }

    /// Reads the current EF whole: a header read sizes it from its BER length, then chunks of
    /// at most 256 bytes (short APDUs, which every reader supports).
    pub fn read_current_ef(&mut self) -> Result<Vec<u8>, CardIoError> {
        let head = self.ok("READ BINARY", (0, 0xB0, 0, 0, &[], Some(7)))?;
        let total = ber::encoded_len(&head).unwrap_or(head.len());
        let mut out = head;
        out.truncate(total);
        while out.len() < total {
            let off = out.len();
            if off > 0x7FFF {
                return Err(CardIoError::Protocol("EF larger than 32 KiB".into()));
            }
            let le = (total - off).min(256);
            let chunk = self.ok(
                "READ BINARY",
                (0, 0xB0, (off >> 8) as u8, off as u8, &[], Some(le)),
            )?;
            if chunk.is_empty() {
                return Err(CardIoError::Protocol("EF ended before its length".into()));
            }
            out.extend(chunk);
        }
        Ok(out)
    }

    /// A certificate from the JPKI AP, as DER. The signing certificate needs the signing
    /// password first ([`Self::verify`]).
    pub fn read_certificate(&mut self, cert: Certificate) -> Result<Vec<u8>, CardIoError> {
        // Selecting the application again would drop the signing password's verification;
        // the signing certificate is read in the JPKI AP as it is.
        if cert != Certificate::Sign || self.selected != Some(AppletId::Jpki) {
            self.select_applet(AppletId::Jpki)?;
        }
        self.select_ef(cert.fid())?;
        self.read_current_ef()
    }

    /// The label of the token-info EF (`JPKIAPICCTOKEN2` on a My Number Card).
    pub fn token_label(&mut self) -> Result<String, CardIoError> {
        self.select_applet(AppletId::Jpki)?;
        self.select_ef(fid::JPKI_TOKEN_INFO)?;
        let d = self.ok("READ BINARY", (0, 0xB0, 0, 0, &[], Some(32)))?;
        Ok(String::from_utf8_lossy(&d).trim_end().to_owned())
    }

    /// The card's manufacturing number (製造番号).
    pub fn manufacturing_number(&mut self) -> Result<String, CardIoError> {
        self.select_applet(AppletId::Juki)?;
        let d = self.ok("READ RECORD", (0, 0xB2, 1, 0x0C, &[], Some(256)))?;
        let (t, _) = ber::parse(&d).ok_or_else(|| CardIoError::Protocol("record".into()))?;
        t.value
            .get(2..15)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .ok_or_else(|| CardIoError::Protocol("manufacturing number too short".into()))
    }

    fn select_pin(&mut self, pin: PinId) -> Result<(), CardIoError> {
        let (applet, fid) = layout::pin_location(pin);
        self.select_applet(applet)?;
        self.select_ef(fid)
    }

    /// Tries left (the empty-VERIFY query; 0 = locked).
    pub fn pin_tries(&mut self, pin: PinId) -> Result<u8, CardIoError> {
        self.select_pin(pin)?;
        let r = self.send(0, 0x20, 0, 0x80, &[], None)?;
        r.sw.counter().ok_or(CardIoError::Status {
            command: "VERIFY (retry query)",
            sw: r.sw,
        })
    }

    /// Presents a PIN (the signing password upper-cased, as card software does). Leaves the
    /// PIN's application selected with the PIN verified.
    pub fn verify(&mut self, pin: PinId, value: &str) -> Result<(), CardIoError> {
        if value.is_empty() {
            return Err(CardIoError::Invalid(format!("no {} given", pin.label())));
        }
        let v = normalise(pin, value);
        self.select_pin(pin)?;
        let r = self.send(0, 0x20, 0, 0x80, v.as_bytes(), None)?;
        pin_result(pin, r.sw, "VERIFY")
    }

    /// Changes a chosen PIN: VERIFY of the current value, then CHANGE REFERENCE DATA.
    pub fn change_pin(&mut self, pin: PinId, old: &str, new: &str) -> Result<(), CardIoError> {
        let new = normalise(pin, new);
        pin.check(new.as_bytes())
            .map_err(openmyna_card::CardError::from)?;
        self.verify(pin, old)?;
        let r = self.send(0, 0x24, 0x01, 0x80, new.as_bytes(), None)?;
        pin_result(pin, r.sw, "CHANGE REFERENCE DATA")
    }

    /// Signs `message` with one of the card's keys: SHA-256 here, the DigestInfo to the card,
    /// which adds PKCS#1 v1.5 padding (sha256WithRSAEncryption).
    pub fn sign(
        &mut self,
        key: KeyId,
        pin_value: &str,
        message: &[u8],
    ) -> Result<Vec<u8>, CardIoError> {
        let mut hash = [0u8; 32];
        hash.copy_from_slice(digest::digest(&digest::SHA256, message).as_ref());
        self.sign_hash(key, pin_value, &hash)
    }

    pub fn sign_hash(
        &mut self,
        key: KeyId,
        pin_value: &str,
        hash: &[u8; 32],
    ) -> Result<Vec<u8>, CardIoError> {
        let (pin, key_fid) = match key {
            KeyId::Auth => (PinId::Auth, fid::JPKI_AUTH_KEY),
            KeyId::Sign => (PinId::Sign, fid::JPKI_SIGN_KEY),
            KeyId::Assist | KeyId::Face | KeyId::AssistSession => {
                return Err(CardIoError::Invalid(
                    "only the JPKI keys sign with a PIN; the APs' own keys answer a challenge"
                        .into(),
                ));
            }
        };
        self.verify(pin, pin_value)?;
        self.select_ef(key_fid)?;
        let di = keys::sha256_digest_info(hash);
        self.ok(
            "COMPUTE SIGNATURE",
            (0x80, 0x2A, 0x00, 0x80, &di, Some(256)),
        )
    }

    /// The My Number from the 入力補助AP (after its PIN).
    pub fn my_number(&mut self, assist_pin: &str) -> Result<String, CardIoError> {
        self.verify(PinId::Assist, assist_pin)?;
        self.select_ef(fid::ASSIST_MY_NUMBER)?;
        let d = self.ok("READ BINARY", (0, 0xB0, 0, 0, &[], Some(17)))?;
        let (t, _) = ber::parse(&d).ok_or_else(|| CardIoError::Protocol("EF 0001".into()))?;
        Ok(String::from_utf8_lossy(t.value).into_owned())
    }

    /// The basic four information from the 入力補助AP (after its PIN), with the check a
    /// reader makes: the hashes in EF 0003 match the data read.
    pub fn basic4(&mut self, assist_pin: &str) -> Result<Basic4, CardIoError> {
        self.verify(PinId::Assist, assist_pin)?;
        self.select_ef(fid::ASSIST_MY_NUMBER)?;
        let my_number_ef = self.ok("READ BINARY", (0, 0xB0, 0, 0, &[], Some(17)))?;
        self.select_ef(fid::ASSIST_BASIC4)?;
        let raw = self.read_current_ef()?;
        self.select_ef(fid::ASSIST_SIGNATURE)?;
        let sig = self.read_current_ef()?;
        let bad = |what: &str| CardIoError::Protocol(format!("入力補助AP {what}"));
        let (outer, _) = ber::parse(&raw).ok_or_else(|| bad("EF 0002"))?;
        let kids = ber::children(outer.value).ok_or_else(|| bad("EF 0002"))?;
        let text = |tag: u32| -> Result<String, CardIoError> {
            let t = kids
                .iter()
                .find(|k| k.tag == tag)
                .ok_or_else(|| bad("item"))?;
            String::from_utf8(t.value.to_vec()).map_err(|_| bad("UTF-8"))
        };
        let (s, _) = ber::parse(&sig).ok_or_else(|| bad("EF 0003"))?;
        let sk = ber::children(s.value).ok_or_else(|| bad("EF 0003"))?;
        let items: Vec<u8> = kids
            .iter()
            .filter(|k| k.tag != 0xDF21)
            .flat_map(|k| k.raw.to_vec())
            .collect();
        let h = |b: &[u8]| digest::digest(&digest::SHA256, b).as_ref().to_vec();
        if sk.first().map(|t| t.value) != Some(h(&my_number_ef).as_slice())
            || sk.get(1).map(|t| t.value) != Some(h(&items).as_slice())
        {
            return Err(bad("data does not match its hashes"));
        }
        Ok(Basic4 {
            name: text(0xDF22)?,
            address: text(0xDF23)?,
            birth: text(0xDF24)?,
            sex: text(0xDF25)?,
        })
    }
}

/// What a face-recognition reader reads from the 券面AP after 照合番号B.
#[derive(Clone, PartialEq, Eq)]
pub struct FaceEntries {
    /// The face photo, JPEG 2000 (DF27).
    pub photo_jp2: Vec<u8>,
    /// The 券面AP key's public half in the card's encoding (DF24).
    pub card_key: Vec<u8>,
    /// The birth date, YYYYMMDD (DF22).
    pub birth: String,
}

impl std::fmt::Debug for FaceEntries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The photo is personal data: its size only.
        write!(f, "FaceEntries(photo {} bytes)", self.photo_jp2.len())
    }
}

impl<T: Transport> JpkiClient<T> {
    /// The 券面AP's entries after 照合番号B (the 14 digits printed on the card's front: the
    /// birth date in the era, the expiry year, the security code): the face photo a
    /// face-recognition reader compares with the person in front of it.
    pub fn face_entries(&mut self, collation_b: &str) -> Result<FaceEntries, CardIoError> {
        self.verify(PinId::FaceB, collation_b)?;
        self.select_ef(fid::FACE_ENTRIES)?;
        let raw = self.read_current_ef()?;
        let bad = |what: &str| CardIoError::Protocol(format!("券面AP {what}"));
        let (outer, _) = ber::parse(&raw).ok_or_else(|| bad("EF 0002"))?;
        let kids = ber::children(outer.value).ok_or_else(|| bad("EF 0002"))?;
        let item = |tag: u32| {
            kids.iter()
                .find(|k| k.tag == tag)
                .map(|k| k.value.to_vec())
                .ok_or_else(|| bad(&format!("EF 0002 has no {tag:04X}")))
        };
        Ok(FaceEntries {
            photo_jp2: item(0xDF27)?,
            card_key: item(0xDF24)?,
            birth: String::from_utf8(item(0xDF22)?).map_err(|_| bad("birth date"))?,
        })
    }

    /// The 券面AP's own key signs `message` (SHA-256, PKCS#1 v1.5) without any PIN: the
    /// reader's proof that the card is on it, when the holder was confirmed by face or by
    /// sight.
    pub fn presence_signature(&mut self, message: &[u8]) -> Result<Vec<u8>, CardIoError> {
        let mut hash = [0u8; 32];
        hash.copy_from_slice(digest::digest(&digest::SHA256, message).as_ref());
        self.select_applet(AppletId::Face)?;
        let di = keys::sha256_digest_info(&hash);
        self.ok(
            "COMPUTE SIGNATURE (card key)",
            (0x80, 0x2A, 0x00, 0x00, &di, Some(256)),
        )
    }
}

fn normalise(pin: PinId, value: &str) -> String {
    if pin == PinId::Sign {
        value.to_ascii_uppercase()
    } else {
        value.to_owned()
    }
}

fn pin_result(pin: PinId, sw: Sw, command: &'static str) -> Result<(), CardIoError> {
    match sw {
        Sw::OK => Ok(()),
        Sw::AUTH_BLOCKED | Sw::REF_DATA_NOT_USABLE => Err(CardIoError::PinBlocked { pin }),
        sw => match sw.counter() {
            Some(0) => Err(CardIoError::PinBlocked { pin }),
            Some(n) => Err(CardIoError::WrongPin { pin, tries_left: n }),
            None => Err(CardIoError::Status { command, sw }),
        },
    }
}
