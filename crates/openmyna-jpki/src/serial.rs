//! Certificate serial numbers: positive, 120 random bits (RFC 5280 allows up to 20 octets;
//! CA/B practice asks for at least 64 bits of randomness).

use openmyna_core::Refusal;
use std::fmt;

use openmyna_core::Entropy;

use crate::JpkiError;

/// The serial's content octets (big-endian, positive, minimal).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// 15 random octets with the top octet in 0x01..=0x7f: positive, minimal, 113–120 bits.
    pub fn generate(entropy: &dyn Entropy) -> Self {
        let mut b = [0u8; 15];
        entropy.fill(&mut b);
        b[0] = (b[0] & 0x7f).max(1);
        Serial(b.to_vec())
    }

    /// From DER INTEGER content octets, as found in a certificate or OCSP request.
    pub fn from_der_bytes(bytes: &[u8]) -> Result<Self, JpkiError> {
        match Self::der_bytes_problem(bytes) {
            Some(m) => Err(JpkiError::Refusal(Refusal::invalid(
                "serial.format",
                m.to_owned(),
            ))),
            None => Ok(Serial(bytes.to_vec())),
        }
    }

    /// What keeps DER INTEGER content octets from being a serial, if anything: it must be
    /// positive, minimally encoded and of at most 20 octets.
    pub fn der_bytes_problem(bytes: &[u8]) -> Option<&'static str> {
        match bytes {
            [] => Some("serial is empty"),
            [b, ..] if b & 0x80 != 0 => Some("serial is negative"),
            [0, next, ..] if next & 0x80 == 0 => Some("serial is not minimally encoded"),
            _ if bytes.len() > 20 => Some("serial has more than 20 octets"),
            _ => None,
        }
    }

    /// From hexadecimal (upper or lower case, optional `:` separators as OpenSSL prints them).
    pub fn parse_hex(s: &str) -> Result<Self, JpkiError> {
        let clean: String = s.trim().chars().filter(|c| *c != ':').collect();
        let invalid = || {
            JpkiError::Refusal(Refusal::invalid(
                "serial.format",
                format!("{s:?} is not a hexadecimal certificate serial"),
            ))
        };
        if clean.is_empty() || clean.len() > 40 || !clean.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let padded = if clean.len() % 2 == 1 {
            format!("0{clean}")
        } else {
            clean
        };
        let mut bytes: Vec<u8> = (0..padded.len() / 2)
            .map(|i| u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).map_err(|_| invalid()))
            .collect::<Result<_, _>>()?;
        while let [0, next, ..] = bytes.as_slice()
            && next & 0x80 == 0
        {
            bytes.remove(0);
        }
        if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            bytes.insert(0, 0);
        }
        Ok(Serial(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Upper-case hex of the content octets, as `openssl x509 -serial` prints it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02X}")).collect()
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openmyna_core::SeededEntropy;

    #[test]
    fn generated_serials_are_positive_minimal_and_distinct() {
        let e = SeededEntropy::new(1);
        let a = Serial::generate(&e);
        let b = Serial::generate(&e);
        assert_ne!(a, b);
        assert_eq!(a.as_bytes().len(), 15);
        assert!(a.as_bytes()[0] >= 1 && a.as_bytes()[0] <= 0x7f);
        assert_eq!(Serial::parse_hex(&a.to_hex()).unwrap(), a);
        assert_eq!(Serial::from_der_bytes(a.as_bytes()).unwrap(), a);
    }

    #[test]
    fn hex_forms() {
        assert!(
            Serial::parse_hex("0x")
                .unwrap_err()
                .to_string()
                .contains("hexadecimal")
        );
        assert_eq!(
            Serial::parse_hex("67:C6:A2:1").unwrap().to_hex(),
            "067C6A21"
        );
        assert_eq!(Serial::parse_hex("80").unwrap().as_bytes(), &[0, 0x80]);
        assert!(Serial::from_der_bytes(&[0x80]).is_err());
        assert!(Serial::from_der_bytes(&[0, 1]).is_err());
    }
}
