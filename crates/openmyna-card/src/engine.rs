//! ISO/IEC 7816-4 command processing: one APDU in, one response out. Pure: the caller owns
//! the persistent [`CardState`] and a per-connection [`Session`], and writes the state before
//! sending the response whenever [`Outcome::state_changed`] says so.

use std::collections::{BTreeMap, BTreeSet};

use crate::apdu::{Command, Response};
use crate::keys::{self, SignMode, SignRefusal};
use crate::layout::{self, Access, AppletId, Ef, KeyId};
use crate::pin::{PinId, Verified};
use crate::state::CardState;
use crate::sw::Sw;

/// What the card remembers between commands while powered: the selected application and EF
/// and the security status. A reset (or power-off) clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    pub applet: Option<AppletId>,
    pub ef: Option<u16>,
    pub verified: BTreeSet<PinId>,
    /// The stored PIN hash each verification was made against: when another holder of the
    /// card changes, resets or locks the PIN, the verification lapses.
    verified_against: BTreeMap<PinId, [u8; 32]>,
}

impl Session {
    pub fn reset(&mut self) {
        *self = Session::default();
    }

    fn grant(&mut self, pin: PinId, hash: [u8; 32]) {
        self.verified.insert(pin);
        self.verified_against.insert(pin, hash);
    }

    fn revoke(&mut self, pin: PinId) {
        self.verified.remove(&pin);
        self.verified_against.remove(&pin);
    }

    /// Drops verifications that no longer hold for `state`.
    fn refresh(&mut self, state: &CardState) {
        let against = &self.verified_against;
        self.verified.retain(|p| {
            state
                .pin(*p)
                .is_some_and(|s| !s.blocked() && against.get(p) == Some(&s.hash))
        });
        let verified = &self.verified;
        self.verified_against.retain(|p, _| verified.contains(p));
    }
}

/// A processed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub response: Response,
    /// The persistent state changed: it must be written before the response is sent.
    pub state_changed: bool,
}

const INS_SELECT: u8 = 0xA4;
const INS_READ_BINARY: u8 = 0xB0;
const INS_READ_RECORD: u8 = 0xB2;
const INS_VERIFY: u8 = 0x20;
const INS_CHANGE: u8 = 0x24;
const INS_SIGN: u8 = 0x2A;
const INS_GET_DATA: u8 = 0xCA;
const INS_GET_CHALLENGE: u8 = 0x84;

/// The GlobalPlatform issuer security domain: selecting it returns the card to its power-on
/// state (no application, no security status), as real cards do.
const ISD_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00];

/// Processes one command APDU.
pub fn process(state: &mut CardState, session: &mut Session, apdu: &[u8]) -> Outcome {
    let before = state.generation;
    session.refresh(state);
    let response = match Command::parse(apdu) {
        Ok(cmd) => dispatch(state, session, &cmd),
        Err(e) => Response::status(e.sw()),
    };
    Outcome {
        state_changed: state.generation != before,
        response,
    }
}

fn dispatch(state: &mut CardState, s: &mut Session, c: &Command<'_>) -> Response {
    // Interindustry class without secure messaging or chaining, or the proprietary class 80
    // that the real card uses for its signature command.
    if c.cla != 0x00 && c.cla != 0x80 {
        return Response::status(Sw::CLA_NOT_SUPPORTED);
    }
    let r = match c.ins {
        INS_SELECT => select(state, s, c),
        INS_READ_BINARY => read_binary(state, s, c),
        INS_READ_RECORD => read_record(state, s, c),
        INS_VERIFY => verify(state, s, c),
        INS_CHANGE => change(state, s, c),
        INS_SIGN => sign(state, s, c),
        INS_GET_DATA => get_data(state, s, c),
        INS_GET_CHALLENGE => get_challenge(c),
        _ => Err(Sw::INS_NOT_SUPPORTED),
    };
    r.unwrap_or_else(Response::status)
}

type Answer = Result<Response, Sw>;

/// The most data one response carries, so that data + SW fits a 16-bit frame (vpcd).
pub const MAX_RESPONSE_DATA: usize = 65_533;

/// Whether this card has the EF: a card issued without a signing key (a holder under 15) has
/// no signing certificate or key. PIN EFs always exist (an absent PIN answers as locked).
fn present_on(state: &CardState, applet: AppletId, fid: u16) -> bool {
    match layout::ef(applet, fid) {
        Some(Ef::Binary(_)) => state.file(applet, fid).is_some(),
        Some(Ef::Key(k)) => state.keys.contains_key(&k),
        Some(Ef::Pin(_)) => true,
        None => false,
    }
}

fn select(state: &CardState, s: &mut Session, c: &Command<'_>) -> Answer {
    // P2: 0C (no response data) as the real card is used; 00 is accepted and also answered
    // without FCI.
    if c.p2 != 0x0C && c.p2 != 0x00 {
        return Err(Sw::WRONG_P1P2);
    }
    match c.p1 {
        0x04 => {
            if c.data == ISD_AID {
                s.reset();
                return Ok(Response::ok(Vec::new()));
            }
            let applet = AppletId::by_aid(c.data).ok_or(Sw::FILE_NOT_FOUND)?;
            // Selecting another application ends the security status of the one before;
            // selecting the current one again keeps it (readers that re-select before each
            // operation rely on that).
            if s.applet != Some(applet) {
                s.reset();
                s.applet = Some(applet);
            }
            s.ef = None;
            Ok(Response::ok(Vec::new()))
        }
        0x00 | 0x02 => {
            let fid = match c.data {
                [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                // `00 A4 00 00`: refused at the card's top level; inside an application it
                // changes nothing.
                [] if c.p1 == 0x00 => {
                    return match s.applet {
                        Some(_) => Ok(Response::ok(Vec::new())),
                        None => Err(Sw::WRONG_P1P2),
                    };
                }
                _ => return Err(Sw::WRONG_LENGTH),
            };
            // The card has no addressable MF: 3F00 is not found, as on real cards.
            let applet = s.applet.ok_or(Sw::FILE_NOT_FOUND)?;
            if !present_on(state, applet, fid) {
                return Err(Sw::FILE_NOT_FOUND);
            }
            s.ef = Some(fid);
            Ok(Response::ok(Vec::new()))
        }
        _ => Err(Sw::WRONG_P1P2),
    }
}

/// The EF a command with a short-EF-identifier parameter designates, or the current EF.
fn target(s: &Session, sfi: Option<u8>) -> Result<(AppletId, u16, Ef), Sw> {
    let applet = s.applet.ok_or(Sw::NO_CURRENT_EF)?;
    let fid = match sfi {
        Some(sfi) => u16::from(sfi),
        None => s.ef.ok_or(Sw::NO_CURRENT_EF)?,
    };
    let ef = layout::ef(applet, fid).ok_or(Sw::FILE_NOT_FOUND)?;
    Ok((applet, fid, ef))
}

fn readable(s: &Session, access: Access) -> bool {
    match access {
        Access::Free => true,
        Access::After(pins) => pins.iter().any(|p| s.verified.contains(p)),
    }
}

fn read_binary(state: &CardState, s: &mut Session, c: &Command<'_>) -> Answer {
    let (sfi, offset) = if c.p1 & 0x80 != 0 {
        if c.p1 & 0x60 != 0 || c.p1 & 0x1F == 0 {
            return Err(Sw::WRONG_P1P2);
        }
        (Some(c.p1 & 0x1F), usize::from(c.p2))
    } else {
        (None, usize::from(u16::from_be_bytes([c.p1, c.p2])))
    };
    if !c.data.is_empty() {
        return Err(Sw::WRONG_LENGTH);
    }
    let le = c.le.ok_or(Sw::WRONG_LENGTH)?;
    let (applet, fid, ef) = target(s, sfi)?;
    let Ef::Binary(access) = ef else {
        return Err(Sw::INCOMPATIBLE_FILE);
    };
    // A READ BINARY with a short EF identifier makes that EF the current one.
    s.ef = Some(fid);
    if !readable(s, access) {
        return Err(Sw::SECURITY_NOT_SATISFIED);
    }
    let data = state.file(applet, fid).ok_or(Sw::FILE_NOT_FOUND)?;
    let rest = data.get(offset..).ok_or(Sw::WRONG_OFFSET)?;
    // An Le beyond the end of the EF gets what there is, with 9000: a short answer tells
    // the reader it reached the end (as OpenSC and the JPKI readers expect).
    let n = le.min(rest.len()).min(MAX_RESPONSE_DATA);
    Ok(Response::ok(rest.iter().take(n).copied().collect()))
}

fn read_record(state: &CardState, s: &mut Session, c: &Command<'_>) -> Answer {
    if s.applet != Some(AppletId::Juki) {
        return Err(Sw::INS_NOT_SUPPORTED);
    }
    // P2: SFI in bits 8-4, 100 = "record number in P1".
    if c.p2 & 0x07 != 0x04 || (c.p2 >> 3) > 1 {
        return Err(Sw::WRONG_P1P2);
    }
    let rec = usize::from(c.p1);
    let le = c.le.ok_or(Sw::WRONG_LENGTH)?;
    let data = rec
        .checked_sub(1)
        .and_then(|i| state.records.get(i))
        .ok_or(Sw::RECORD_NOT_FOUND)?;
    Ok(Response::ok(data.0.iter().take(le).copied().collect()))
}

/// The PIN a VERIFY / CHANGE REFERENCE DATA designates: P2 80 = the current EF,
/// 80|SFI = that EF.
fn pin_target(s: &Session, p2: u8) -> Result<PinId, Sw> {
    let sfi = match p2 {
        0x80 => None,
        p if p & 0xE0 == 0x80 => Some(p & 0x1F),
        _ => return Err(Sw::WRONG_P1P2),
    };
    match target(s, sfi) {
        Ok((_, _, Ef::Pin(p))) => Ok(p),
        Ok(_) => Err(Sw::INCOMPATIBLE_FILE),
        Err(Sw::FILE_NOT_FOUND) => Err(Sw::REF_DATA_NOT_FOUND),
        Err(e) => Err(e),
    }
}

fn present(state: &mut CardState, s: &mut Session, pin: PinId, value: &[u8]) -> Result<(), Sw> {
    let salt = state.salt.0.clone();
    let Some(p) = state.pins.get_mut(&pin) else {
        // A PIN this card does not have (no signing password under 15, the 入力補助AP's EF
        // 0012) is as good as locked.
        return Err(Sw::REF_DATA_NOT_USABLE);
    };
    let v = p.present(pin, &salt, value);
    let hash = p.hash;
    // Every presented value is written before it is answered, right or wrong: were only
    // failures written, a failing write would tell a right value from a wrong one without
    // costing a try. (A locked PIN answers the same whatever the value.)
    if v != Verified::Blocked {
        state.generation += 1;
    }
    match v {
        Verified::Ok => {
            s.grant(pin, hash);
            Ok(())
        }
        Verified::Wrong { tries_left } => {
            s.revoke(pin);
            Err(Sw::tries_left(tries_left))
        }
        // The attempt that used up the counter answered `63 C0`; every one after it `69 84`.
        Verified::Blocked => {
            s.revoke(pin);
            Err(Sw::REF_DATA_NOT_USABLE)
        }
    }
}

fn verify(state: &mut CardState, s: &mut Session, c: &Command<'_>) -> Answer {
    if c.p1 != 0x00 {
        return Err(Sw::WRONG_P1P2);
    }
    let pin = pin_target(s, c.p2)?;
    if c.data.is_empty() {
        // The retry query: always 63 Cx, even right after a correct value (63 C0 for a PIN
        // this card does not have).
        return Err(Sw::tries_left(state.pin(pin).map_or(0, |p| p.tries_left)));
    }
    present(state, s, pin, c.data)?;
    Ok(Response::ok(Vec::new()))
}

fn change(state: &mut CardState, s: &mut Session, c: &Command<'_>) -> Answer {
    let pin = pin_target(s, c.p2)?;
    if !pin.chosen() {
        return Err(Sw::CONDITIONS_NOT_SATISFIED);
    }
    let new = match c.p1 {
        // New value only, after VERIFY of the current one.
        0x01 => {
            if state.pin(pin).is_none_or(|p| p.blocked()) {
                return Err(Sw::REF_DATA_NOT_USABLE);
            }
            if !s.verified.contains(&pin) {
                return Err(Sw::SECURITY_NOT_SATISFIED);
            }
            c.data
        }
        // Old value followed by the new one: only where the length is fixed.
        0x00 if pin != PinId::Sign => {
            if c.data.len() != 8 {
                return Err(Sw::WRONG_LENGTH);
            }
            let (old, new) = c.data.split_at(4);
            present(state, s, pin, old)?;
            new
        }
        _ => return Err(Sw::WRONG_P1P2),
    };
    if pin.check(new).is_err() {
        return Err(Sw::WRONG_DATA);
    }
    state.reset_pin(pin, Some(new)).map_err(|_| Sw::UNKNOWN)?;
    if let Some(p) = state.pin(pin) {
        s.grant(pin, p.hash);
    }
    Ok(Response::ok(Vec::new()))
}

fn sign(state: &CardState, s: &mut Session, c: &Command<'_>) -> Answer {
    let mode = match c.p1 {
        0x00 => SignMode::DigestInfo,
        0x02 => SignMode::Hash,
        0x03 => SignMode::CardSha256,
        0x04 => SignMode::PssHash,
        0x05 => SignMode::PssCardSha256,
        // 01 (bare SHA-256 without DigestInfo) needs a raw RSA operation we do not offer.
        0x01 => return Err(Sw::FUNCTION_NOT_SUPPORTED),
        _ => return Err(Sw::WRONG_P1P2),
    };
    let key_id = match c.p2 {
        // P2 00: the application's own key, which signs for anyone (the 入力補助AP and the
        // 券面AP prove the card's presence this way).
        0x00 => s.applet.and_then(KeyId::default_of).ok_or(Sw::WRONG_P1P2)?,
        0x80 => key_of(target(s, None)?)?,
        p if p & 0xE0 == 0x80 => key_of(target(s, Some(p & 0x1F))?)?,
        _ => return Err(Sw::WRONG_P1P2),
    };
    if c.data.is_empty() {
        return Err(Sw::WRONG_LENGTH);
    }
    if let Some(pin) = key_id.pin()
        && !s.verified.contains(&pin)
    {
        return Err(Sw::SECURITY_NOT_SATISFIED);
    }
    let key = state.keys.get(&key_id).ok_or(Sw::FILE_NOT_FOUND)?;
    match keys::sign(key, mode, c.data) {
        Ok(sig) => Ok(Response::ok(sig)),
        Err(SignRefusal::BadData) => Err(Sw::WRONG_DATA),
        Err(SignRefusal::Crypto) => Err(Sw::UNKNOWN),
    }
}

fn key_of((_, _, ef): (AppletId, u16, Ef)) -> Result<KeyId, Sw> {
    match ef {
        Ef::Key(k) => Ok(k),
        _ => Err(Sw::INCOMPATIBLE_FILE),
    }
}

/// GET DATA `00 CA P1P2 Le`: the card's data objects, answered at the top level only (after
/// power-on or a selection of the issuer security domain), as real cards do. The value is
/// returned without its tag; `7F21` (the card-data key's CV certificate) whole.
fn get_data(state: &CardState, s: &Session, c: &Command<'_>) -> Answer {
    if !c.data.is_empty() {
        return Err(Sw::WRONG_LENGTH);
    }
    let le = c.le.ok_or(Sw::WRONG_LENGTH)?;
    if s.applet.is_some() {
        return Err(Sw::REF_DATA_NOT_FOUND);
    }
    let tag = u16::from_be_bytes([c.p1, c.p2]);
    let value: Vec<u8> = match tag {
        // Card identifier: the manufacturing number.
        0x0045 => state.serial.as_bytes().to_vec(),
        // The card's last valid day, YYYYMMDD.
        0x00F2 => state.expiry.replace('-', "").into_bytes(),
        // The contact ATR without TS.
        0x5F51 => layout::ATR.get(1..).unwrap_or_default().to_vec(),
        // The key identifier and CV certificate of the key that signed the card's data.
        0x00F7 | 0x7F21 => {
            let cert = state
                .file(AppletId::Assist, layout::fid::ASSIST_CERT)
                .ok_or(Sw::REF_DATA_NOT_FOUND)?;
            if tag == 0x7F21 {
                cert.to_vec()
            } else {
                crate::personalize::cv_subject_key_id(cert).ok_or(Sw::REF_DATA_NOT_FOUND)?
            }
        }
        _ => return Err(Sw::REF_DATA_NOT_FOUND),
    };
    if value.is_empty() {
        return Err(Sw::REF_DATA_NOT_FOUND);
    }
    // A short Le that cannot hold the object: wrong length, as the card answers.
    if le < value.len() {
        return Err(Sw::WRONG_LENGTH);
    }
    Ok(Response::ok(value))
}

/// GET CHALLENGE `00 84 00 00 Le`: Le (1 to 256) random bytes from the chip's generator.
fn get_challenge(c: &Command<'_>) -> Answer {
    if c.p1 != 0 || c.p2 != 0 {
        return Err(Sw::WRONG_P1P2);
    }
    if !c.data.is_empty() {
        return Err(Sw::WRONG_LENGTH);
    }
    let le = c.le.ok_or(Sw::WRONG_LENGTH)?;
    if c.extended {
        return Err(Sw::CONDITIONS_NOT_SATISFIED);
    }
    let mut out = vec![0u8; le];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| Sw::UNKNOWN)?;
    Ok(Response::ok(out))
}
