//! Status words (ISO/IEC 7816-4 §5.6) that the card answers with.

use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sw(pub u16);

impl Sw {
    pub const OK: Sw = Sw(0x9000);
    pub const WRONG_LENGTH: Sw = Sw(0x6700);
    pub const INCOMPATIBLE_FILE: Sw = Sw(0x6981);
    pub const SECURITY_NOT_SATISFIED: Sw = Sw(0x6982);
    pub const AUTH_BLOCKED: Sw = Sw(0x6983);
    /// What the card answers to VERIFY (and CHANGE REFERENCE DATA) on a locked PIN, after
    /// the attempt that used up the counter answered `63 C0`.
    pub const REF_DATA_NOT_USABLE: Sw = Sw(0x6984);
    pub const CONDITIONS_NOT_SATISFIED: Sw = Sw(0x6985);
    pub const NO_CURRENT_EF: Sw = Sw(0x6986);
    pub const WRONG_DATA: Sw = Sw(0x6A80);
    pub const FUNCTION_NOT_SUPPORTED: Sw = Sw(0x6A81);
    pub const FILE_NOT_FOUND: Sw = Sw(0x6A82);
    pub const RECORD_NOT_FOUND: Sw = Sw(0x6A83);
    pub const WRONG_P1P2: Sw = Sw(0x6A86);
    pub const REF_DATA_NOT_FOUND: Sw = Sw(0x6A88);
    pub const WRONG_OFFSET: Sw = Sw(0x6B00);
    pub const INS_NOT_SUPPORTED: Sw = Sw(0x6D00);
    pub const CLA_NOT_SUPPORTED: Sw = Sw(0x6E00);
    pub const UNKNOWN: Sw = Sw(0x6F00);

    /// `63 Cx`: verification failed or queried, `x` tries left.
    pub fn tries_left(n: u8) -> Sw {
        Sw(0x63C0 | u16::from(n.min(15)))
    }

    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    pub fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// The tries left in a `63 Cx` answer.
    pub fn counter(self) -> Option<u8> {
        (self.0 & 0xFFF0 == 0x63C0).then_some((self.0 & 0x0F) as u8)
    }

    pub fn meaning(self) -> &'static str {
        match self.0 {
            0x9000 => "success",
            0x6282 => "end of file reached before Le bytes",
            0x6700 => "wrong length",
            0x6981 => "command incompatible with file structure",
            0x6982 => "security status not satisfied",
            0x6983 => "authentication method blocked",
            0x6984 => "reference data not usable (PIN locked)",
            0x6985 => "conditions of use not satisfied",
            0x6986 => "command not allowed (no current EF)",
            0x6A80 => "incorrect data",
            0x6A81 => "function not supported",
            0x6A82 => "file or application not found",
            0x6A83 => "record not found",
            0x6A86 => "incorrect P1-P2",
            0x6A88 => "referenced data not found",
            0x6B00 => "wrong parameters (offset outside the EF)",
            0x6D00 => "instruction not supported",
            0x6E00 => "class not supported",
            x if x & 0xFFF0 == 0x63C0 => "verification failed or tries queried",
            _ => "error",
        }
    }
}

impl fmt::Debug for Sw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl fmt::Display for Sw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02X} {:02X} ({})",
            self.sw1(),
            self.sw2(),
            self.meaning()
        )
    }
}
