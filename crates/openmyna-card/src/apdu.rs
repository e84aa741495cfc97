//! ISO/IEC 7816-4 command APDUs: the four cases in short and extended form, and responses.

use crate::sw::Sw;

/// A parsed command APDU. `le` is the number of bytes the terminal accepts (`Some(256)` for a
/// short `00`, `Some(65536)` for an extended `0000`); `None` when the command has no Le field.
/// `Debug` leaves out the data (a VERIFY carries a PIN).
#[derive(Clone, PartialEq, Eq)]
pub struct Command<'a> {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: &'a [u8],
    pub le: Option<usize>,
    pub extended: bool,
}

impl std::fmt::Debug for Command<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, {} data bytes, le {:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

/// Why bytes are not a command APDU; each maps to the status word a card answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    #[error("an APDU has at least 4 header bytes")]
    TooShort,
    #[error("Lc does not match the number of data bytes")]
    WrongLength,
    #[error("extended Lc of zero")]
    ZeroLc,
}

impl ApduError {
    pub fn sw(self) -> Sw {
        Sw::WRONG_LENGTH
    }
}

impl<'a> Command<'a> {
    /// Parses the four cases of ISO 7816-3 §12.1.3, short and extended.
    pub fn parse(b: &'a [u8]) -> Result<Command<'a>, ApduError> {
        let Some((&[cla, ins, p1, p2], body)) = b.split_first_chunk::<4>() else {
            return Err(ApduError::TooShort);
        };
        let mut cmd = Command {
            cla,
            ins,
            p1,
            p2,
            data: &[],
            le: None,
            extended: false,
        };
        match body {
            // Case 1.
            [] => Ok(cmd),
            // Case 2S.
            [le] => {
                cmd.le = Some(short_le(*le));
                Ok(cmd)
            }
            [lc, rest @ ..] if *lc != 0 => {
                // Case 3S or 4S.
                let (data, le) = rest
                    .split_at_checked(usize::from(*lc))
                    .ok_or(ApduError::WrongLength)?;
                cmd.data = data;
                match le {
                    [] => {}
                    [le] => cmd.le = Some(short_le(*le)),
                    _ => return Err(ApduError::WrongLength),
                }
                Ok(cmd)
            }
            [_, rest @ ..] => {
                // body[0] == 0 and more than one byte: extended.
                cmd.extended = true;
                match rest {
                    [] | [_] => Err(ApduError::WrongLength),
                    // Case 2E.
                    [hi, lo] => {
                        cmd.le = Some(extended_le(*hi, *lo));
                        Ok(cmd)
                    }
                    [hi, lo, rest @ ..] => {
                        let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
                        if lc == 0 {
                            return Err(ApduError::ZeroLc);
                        }
                        let (data, le) = rest.split_at_checked(lc).ok_or(ApduError::WrongLength)?;
                        cmd.data = data;
                        match le {
                            [] => {}
                            [hi, lo] => cmd.le = Some(extended_le(*hi, *lo)),
                            _ => return Err(ApduError::WrongLength),
                        }
                        Ok(cmd)
                    }
                }
            }
        }
    }

    /// Encodes a command (the client side): short form when it fits, extended otherwise.
    pub fn encode(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Vec<u8> {
        let mut out = vec![cla, ins, p1, p2];
        let extended = data.len() > 255 || le.is_some_and(|l| l > 256);
        if extended {
            out.push(0);
            if !data.is_empty() {
                out.extend_from_slice(&(data.len() as u16).to_be_bytes());
                out.extend_from_slice(data);
            }
            if let Some(le) = le {
                let v = if le >= 65536 { 0 } else { le as u16 };
                out.extend_from_slice(&v.to_be_bytes());
            }
        } else {
            if !data.is_empty() {
                out.push(data.len() as u8);
                out.extend_from_slice(data);
            }
            if let Some(le) = le {
                out.push(if le >= 256 { 0 } else { le as u8 });
            }
        }
        out
    }
}

fn short_le(b: u8) -> usize {
    if b == 0 { 256 } else { usize::from(b) }
}

fn extended_le(hi: u8, lo: u8) -> usize {
    match u16::from_be_bytes([hi, lo]) {
        0 => 65536,
        n => usize::from(n),
    }
}

/// A response APDU: data followed by SW1 SW2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: Sw,
}

impl Response {
    pub fn ok(data: Vec<u8>) -> Self {
        Response { data, sw: Sw::OK }
    }

    pub fn status(sw: Sw) -> Self {
        Response {
            data: Vec::new(),
            sw,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.0.to_be_bytes());
        out
    }

    /// Splits bytes received from a card (the client side).
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let (data, &sw) = b.split_last_chunk::<2>()?;
        Some(Response {
            data: data.to_vec(),
            sw: Sw(u16::from_be_bytes(sw)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_cases_short() {
        let c = Command::parse(&[0, 0x20, 0, 0x80]).unwrap();
        assert_eq!((c.data, c.le), (&[][..], None));
        let c = Command::parse(&[0, 0xB0, 0, 0, 0]).unwrap();
        assert_eq!(c.le, Some(256));
        let c = Command::parse(&[0, 0xA4, 2, 0x0C, 2, 0, 0x0A]).unwrap();
        assert_eq!((c.data, c.le), (&[0, 0x0A][..], None));
        let c = Command::parse(&[0x80, 0x2A, 0, 0x80, 2, 1, 2, 0]).unwrap();
        assert_eq!((c.data, c.le), (&[1, 2][..], Some(256)));
    }

    #[test]
    fn the_extended_forms() {
        let c = Command::parse(&[0, 0xB0, 0x8A, 0, 0, 0x04, 0x00]).unwrap();
        assert_eq!((c.p1, c.le, c.extended), (0x8A, Some(1024), true));
        let c = Command::parse(&[0, 0xB0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(c.le, Some(65536));
        let c = Command::parse(&[0, 0x2A, 0, 0x80, 0, 0, 2, 9, 9, 0, 0]).unwrap();
        assert_eq!((c.data, c.le), (&[9, 9][..], Some(65536)));
        let c = Command::parse(&[0, 0x2A, 0, 0x80, 0, 0, 2, 9, 9]).unwrap();
        assert_eq!((c.data, c.le), (&[9, 9][..], None));
    }

    #[test]
    fn inconsistent_lengths_are_refused() {
        assert_eq!(Command::parse(&[0, 0xA4]), Err(ApduError::TooShort));
        assert_eq!(
            Command::parse(&[0, 0xA4, 2, 0x0C, 3, 0, 0x0A]),
            Err(ApduError::WrongLength)
        );
        assert_eq!(
            Command::parse(&[0, 0xA4, 2, 0x0C, 0, 0, 0, 1]),
            Err(ApduError::ZeroLc)
        );
        assert_eq!(
            Command::parse(&[0, 0xA4, 2, 0x0C, 0, 0, 2, 1]),
            Err(ApduError::WrongLength)
        );
        assert_eq!(
            Command::parse(&[0, 0xA4, 2, 0x0C, 0, 7]),
            Err(ApduError::WrongLength)
        );
    }

    #[test]
    fn encode_round_trips() {
        for (data, le) in [
            (vec![], None),
            (vec![], Some(4)),
            (vec![], Some(256)),
            (vec![], Some(1000)),
            (vec![1, 2, 3], None),
            (vec![1; 51], Some(256)),
            (vec![7; 300], Some(65536)),
        ] {
            let b = Command::encode(0x80, 0x2A, 0, 0x80, &data, le);
            let c = Command::parse(&b).unwrap();
            assert_eq!((c.data, c.le), (&data[..], le), "{b:02X?}");
        }
    }
}
