//! BER-TLV as the card's data files use it. The real card's encodings are valid BER but not
//! DER: two-byte tags for tag numbers below 31 (`DF 21` rather than `81`... in the private
//! class) and non-minimal lengths (`82 00 9F`). We write exactly those forms so that readers
//! written against real cards parse our files, and we read any BER.

/// A tag as its encoded bytes (one or two bytes here).
pub type Tag = u16;

/// Appends a tag: one byte when `tag <= 0xFF`, else two.
fn put_tag(out: &mut Vec<u8>, tag: Tag) {
    if tag > 0xFF {
        out.push((tag >> 8) as u8);
    }
    out.push(tag as u8);
}

/// How lengths are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    /// DER: the shortest form.
    Minimal,
    /// One byte below 128, otherwise always the three-byte form `82 HH LL` (as the card's
    /// 入力補助AP and 券面AP files do, e.g. `82 00 9F`).
    Card,
}

fn put_len(out: &mut Vec<u8>, n: usize, form: Len) {
    match (n, form) {
        (0..=127, _) => out.push(n as u8),
        (128..=255, Len::Minimal) => out.extend_from_slice(&[0x81, n as u8]),
        (256..=0xFFFF, _) | (128..=255, Len::Card) => {
            out.push(0x82);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(0x83);
            out.extend_from_slice(&(n as u32).to_be_bytes()[1..]);
        }
    }
}

/// One TLV.
pub fn tlv(tag: Tag, value: &[u8], form: Len) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    put_tag(&mut out, tag);
    put_len(&mut out, value.len(), form);
    out.extend_from_slice(value);
    out
}

/// A parsed TLV borrowing its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag bytes, big-endian, up to three bytes.
    pub tag: u32,
    pub value: &'a [u8],
    /// The whole encoding (tag, length and value).
    pub raw: &'a [u8],
}

/// Reads a TLV header: (tag, offset of the value, length of the value).
fn header(b: &[u8]) -> Option<(u32, usize, usize)> {
    let first = *b.first()?;
    let mut i = 1;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        loop {
            let t = *b.get(i)?;
            i += 1;
            tag = (tag << 8) | u32::from(t);
            if t & 0x80 == 0 {
                break;
            }
            if i > 3 {
                return None;
            }
        }
    }
    let l0 = *b.get(i)?;
    i += 1;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7F);
        if n == 0 || n > 3 {
            return None;
        }
        let mut len = 0usize;
        for _ in 0..n {
            len = (len << 8) | usize::from(*b.get(i)?);
            i += 1;
        }
        len
    };
    Some((tag, i, len))
}

/// Parses one BER TLV from the front of `b`; returns it and the rest. Definite lengths only.
pub fn parse(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (tag, i, len) = header(b)?;
    let end = i.checked_add(len)?;
    let (raw, rest) = b.split_at_checked(end)?;
    let value = raw.get(i..)?;
    Some((Tlv { tag, value, raw }, rest))
}

/// The total length of the TLV starting at `b`, from its header alone (what a reader computes
/// after reading the first bytes of an EF), or `None` if the header is incomplete or invalid.
pub fn encoded_len(b: &[u8]) -> Option<usize> {
    let (_, i, len) = header(b)?;
    i.checked_add(len)
}

/// The children of a constructed value.
pub fn children(mut b: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (t, rest) = parse(b)?;
        out.push(t);
        b = rest;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_lengths_are_not_minimal() {
        assert_eq!(tlv(0xDF22, &[0; 3], Len::Card)[..3], [0xDF, 0x22, 3]);
        assert_eq!(
            tlv(0xDF23, &[0; 0x9F], Len::Card)[..5],
            [0xDF, 0x23, 0x82, 0, 0x9F]
        );
        assert_eq!(tlv(0x30, &[0; 0x9F], Len::Minimal)[..3], [0x30, 0x81, 0x9F]);
    }

    #[test]
    fn parses_what_it_writes() {
        let inner = [
            tlv(0xDF31, &[1; 32], Len::Card),
            tlv(0xDF33, &[2; 256], Len::Card),
        ]
        .concat();
        let outer = tlv(0xFF30, &inner, Len::Card);
        assert_eq!(encoded_len(&outer[..7]), Some(outer.len()));
        let (t, rest) = parse(&outer).unwrap();
        assert!(rest.is_empty());
        assert_eq!(t.tag, 0xFF30);
        let kids = children(t.value).unwrap();
        assert_eq!(kids[0].tag, 0xDF31);
        assert_eq!(kids[1].value, &[2; 256]);
    }

    #[test]
    fn truncated_input_is_none() {
        let outer = tlv(0xFF30, &[0; 300], Len::Card);
        for n in 0..outer.len() {
            assert!(parse(&outer[..n]).is_none());
        }
    }
}
