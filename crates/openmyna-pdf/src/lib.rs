//! PDF documents as a municipality issues certificates: A4 pages of Japanese text, lines and
//! JPEG images, and a PAdES signature (PDF 2.0 / ISO 32000-2 §12.8 with the
//! `ETSI.CAdES.detached` sub-filter of ETSI EN 319 142-1).
//!
//! Text is set in `HeiseiKakuGo-W5`, one of the standard Japanese fonts (Adobe-Japan1 CIDs,
//! the predefined `UniJIS-UCS2-H` CMap: UCS-2 codes; Latin set half width), which PDF readers
//! provide without embedding — the document stays a few kilobytes. Characters outside the
//! Basic Multilingual Plane are set as 〓 (the geta mark, as registries print characters they
//! cannot show).
//!
//! Signing: [`Document::sign`] lays the document out with a signature dictionary whose
//! `/Contents` is a zero-filled placeholder, fixes `/ByteRange` around it, hands the SHA-256
//! of the covered bytes to the caller, and writes the CMS SignedData the caller returns
//! (detached; for PAdES-B-B with the signed attributes content-type, message-digest and
//! signing-certificate-v2, and no signing-time: the time is the dictionary's `/M`).

use std::fmt::Write as _;

use aws_lc_rs::digest;

/// Points per millimetre.
pub const MM: f32 = 72.0 / 25.4;
/// A4 in points.
pub const A4: (f32, f32) = (595.28, 841.89);
/// Room for the CMS signature: bytes (the placeholder holds twice as many hex digits).
const SIGNATURE_ROOM: usize = 12 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the image is not a baseline JPEG: {0}")]
    Image(String),
    #[error("the signature ({0} bytes) does not fit its room ({SIGNATURE_ROOM} bytes)")]
    SignatureTooLarge(usize),
    #[error("the document could not be laid out: {0}")]
    Layout(String),
}

/// An image placed on a page: a JPEG passed through (`DCTDecode`), or 8-bit grey pixels.
#[derive(Debug, Clone)]
struct Image {
    data: Vec<u8>,
    width: u32,
    height: u32,
    grey: bool,
    jpeg: bool,
}

/// One page's drawing operators and the images it uses.
#[derive(Debug, Clone, Default)]
pub struct Page {
    ops: String,
    images: Vec<Image>,
}

/// Text in the font's encoding: UCS-2 big-endian as a hex string.
fn ucs2_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 4 + 2);
    out.push('<');
    for c in s.chars() {
        let u = u32::from(c);
        let u = if u > 0xFFFF || c.is_control() {
            0x3013
        } else {
            u
        };
        let _ = write!(out, "{u:04X}");
    }
    out.push('>');
    out
}

/// The width of `s` in points at `size`: half width for ASCII (the HW CMap), full width for
/// the rest.
pub fn text_width(s: &str, size: f32) -> f32 {
    s.chars()
        .map(|c| if c.is_ascii() { 0.5 } else { 1.0 })
        .sum::<f32>()
        * size
}

/// The SOF0/SOF2 frame of a JPEG: width, height, components.
fn jpeg_size(j: &[u8]) -> Result<(u16, u16, u8), PdfError> {
    let bad = |m: &str| PdfError::Image(m.to_owned());
    if !j.starts_with(&[0xFF, 0xD8]) {
        return Err(bad("no SOI marker"));
    }
    let mut i = 2usize;
    while i + 4 <= j.len() {
        if j.get(i) != Some(&0xFF) {
            return Err(bad("marker expected"));
        }
        let marker = *j.get(i + 1).ok_or_else(|| bad("truncated"))?;
        let len = usize::from(u16::from_be_bytes([
            *j.get(i + 2).ok_or_else(|| bad("truncated"))?,
            *j.get(i + 3).ok_or_else(|| bad("truncated"))?,
        ]));
        if (0xC0..=0xC2).contains(&marker) {
            return match j.get(i + 4..i + 10) {
                Some(&[_, h1, h2, w1, w2, n]) => Ok((
                    u16::from_be_bytes([w1, w2]),
                    u16::from_be_bytes([h1, h2]),
                    n,
                )),
                _ => Err(bad("truncated frame")),
            };
        }
        i += 2 + len;
    }
    Err(bad("no frame header"))
}

impl Page {
    pub fn new() -> Page {
        Page::default()
    }

    /// Text with its baseline starting at (`x`, `y`) (points from the bottom left).
    pub fn text(&mut self, x: f32, y: f32, size: f32, s: &str) {
        let _ = writeln!(
            self.ops,
            "BT /F1 {size:.2} Tf {x:.2} {y:.2} Td {} Tj ET",
            ucs2_hex(s)
        );
    }

    /// Text ending at `right`.
    pub fn text_right(&mut self, right: f32, y: f32, size: f32, s: &str) {
        self.text(right - text_width(s, size), y, size, s);
    }

    /// Text centred on `centre`.
    pub fn text_centred(&mut self, centre: f32, y: f32, size: f32, s: &str) {
        self.text(centre - text_width(s, size) / 2.0, y, size, s);
    }

    /// A straight line.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        let _ = writeln!(
            self.ops,
            "{width:.2} w {x1:.2} {y1:.2} m {x2:.2} {y2:.2} l S"
        );
    }

    /// A rectangle's outline.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) {
        let _ = writeln!(self.ops, "{width:.2} w {x:.2} {y:.2} {w:.2} {h:.2} re S");
    }

    /// A rectangle filled with a grey level (0 black … 1 white), for backgrounds.
    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, grey: f32) {
        let _ = writeln!(self.ops, "q {grey:.3} g {x:.2} {y:.2} {w:.2} {h:.2} re f Q");
    }

    /// A JPEG image in the box (`x`, `y`, `w`, `h`).
    pub fn jpeg(&mut self, jpeg: &[u8], x: f32, y: f32, w: f32, h: f32) -> Result<(), PdfError> {
        let (width, height, components) = jpeg_size(jpeg)?;
        if !matches!(components, 1 | 3) {
            return Err(PdfError::Image(format!(
                "{components} colour components (grey or RGB only)"
            )));
        }
        let n = self.images.len();
        self.images.push(Image {
            data: jpeg.to_vec(),
            width: u32::from(width),
            height: u32::from(height),
            grey: components == 1,
            jpeg: true,
        });
        let _ = writeln!(self.ops, "q {w:.2} 0 0 {h:.2} {x:.2} {y:.2} cm /Im{n} Do Q");
        Ok(())
    }

    /// An 8-bit grey image (`pixels` row by row, `width` × `height`) in the box (`x`, `y`,
    /// `w`, `h`).
    pub fn grey_image(
        &mut self,
        width: u32,
        height: u32,
        pixels: &[u8],
        (x, y, w, h): (f32, f32, f32, f32),
    ) -> Result<(), PdfError> {
        if u64::from(width) * u64::from(height) != pixels.len() as u64 || pixels.is_empty() {
            return Err(PdfError::Image(format!(
                "{} pixels for a {width}×{height} image",
                pixels.len()
            )));
        }
        let n = self.images.len();
        self.images.push(Image {
            data: pixels.to_vec(),
            width,
            height,
            grey: true,
            jpeg: false,
        });
        let _ = writeln!(self.ops, "q {w:.2} 0 0 {h:.2} {x:.2} {y:.2} cm /Im{n} Do Q");
        Ok(())
    }
}

/// The signature dictionary's visible facts.
#[derive(Debug, Clone)]
pub struct SignatureInfo {
    /// The signer as shown (`/Name`).
    pub name: String,
    /// Why (`/Reason`).
    pub reason: String,
    /// Where (`/Location`).
    pub location: String,
    /// The signing time, `D:YYYYMMDDHHmmSS+09'00'` (`/M`).
    pub time: String,
}

/// A document: its pages and its metadata.
#[derive(Debug, Clone)]
pub struct Document {
    pub title: String,
    pub author: String,
    pages: Vec<Page>,
}

/// PDF literal string of any text: UTF-16BE with BOM, hex.
fn text_string(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for u in s.encode_utf16() {
        let _ = write!(out, "{u:04X}");
    }
    out.push('>');
    out
}

struct Writer {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl Writer {
    fn object(&mut self, n: usize, body: &[u8]) {
        if self.offsets.len() <= n {
            self.offsets.resize(n + 1, 0);
        }
        if let Some(o) = self.offsets.get_mut(n) {
            *o = self.out.len();
        }
        self.out
            .extend_from_slice(format!("{n} 0 obj\n").as_bytes());
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(b"\nendobj\n");
    }

    fn stream(&mut self, n: usize, dict: &str, data: &[u8]) {
        let mut body = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.object(n, &body);
    }
}

const PLACEHOLDER_RANGE: &str = "/ByteRange [0 0000000000 0000000000 0000000000]";

impl Document {
    pub fn new(title: &str, author: &str) -> Document {
        Document {
            title: title.to_owned(),
            author: author.to_owned(),
            pages: Vec::new(),
        }
    }

    pub fn push(&mut self, page: Page) {
        self.pages.push(page);
    }

    /// The document unsigned.
    pub fn finish(&self) -> Vec<u8> {
        self.write(None).0
    }

    /// The document signed: `sign` gets the SHA-256 of the bytes the signature covers and
    /// returns the CMS SignedData (DER) to embed.
    pub fn sign<E: From<PdfError>>(
        &self,
        info: &SignatureInfo,
        sign: impl FnOnce(&[u8; 32]) -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, E> {
        let (mut pdf, contents_at) = self.write(Some(info));
        let Some((lt, gt)) = contents_at else {
            return Err(PdfError::Layout("no signature placeholder".into()).into());
        };
        // The ByteRange: everything but the <…> of /Contents.
        let len = pdf.len();
        let range = format!(
            "/ByteRange [0 {:010} {:010} {:010}]",
            lt,
            gt + 1,
            len - (gt + 1)
        );
        let at = find(&pdf, PLACEHOLDER_RANGE.as_bytes())
            .ok_or_else(|| PdfError::Layout("no ByteRange placeholder".into()))?;
        pdf.get_mut(at..at + range.len())
            .ok_or_else(|| PdfError::Layout("ByteRange".into()))?
            .copy_from_slice(range.as_bytes());
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(pdf.get(..lt).unwrap_or_default());
        ctx.update(pdf.get(gt + 1..).unwrap_or_default());
        let mut hash = [0u8; 32];
        hash.copy_from_slice(ctx.finish().as_ref());
        let cms = sign(&hash)?;
        if cms.len() > SIGNATURE_ROOM {
            return Err(PdfError::SignatureTooLarge(cms.len()).into());
        }
        let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
        pdf.get_mut(lt + 1..lt + 1 + hex.len())
            .ok_or_else(|| PdfError::Layout("Contents".into()))?
            .copy_from_slice(hex.as_bytes());
        Ok(pdf)
    }

    /// Lays the document out; with a signature, also returns the offsets of the `<` and `>`
    /// around the placeholder.
    fn write(&self, sig: Option<&SignatureInfo>) -> (Vec<u8>, Option<(usize, usize)>) {
        let mut w = Writer {
            out: b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(),
            offsets: vec![0],
        };
        // 1 catalog, 2 pages, 3 font, 4 descendant, 5 descriptor, 6 info, 7 signature,
        // 8 signature field; then per page: page, contents, images.
        let first_page = 9;
        let mut page_ids = Vec::new();
        let mut next = first_page;
        for p in &self.pages {
            page_ids.push(next);
            next += 2 + p.images.len();
        }
        let acroform = if sig.is_some() {
            " /AcroForm << /Fields [8 0 R] /SigFlags 3 >>"
        } else {
            ""
        };
        w.object(
            1,
            format!("<< /Type /Catalog /Pages 2 0 R{acroform} >>").as_bytes(),
        );
        let kids: Vec<String> = page_ids.iter().map(|n| format!("{n} 0 R")).collect();
        w.object(
            2,
            format!(
                "<< /Type /Pages /Kids [{}] /Count {} >>",
                kids.join(" "),
                kids.len()
            )
            .as_bytes(),
        );
        w.object(
            3,
            b"<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiKakuGo-W5 /Encoding /UniJIS-UCS2-H /DescendantFonts [4 0 R] >>",
        );
        w.object(
            4,
            b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HeiseiKakuGo-W5 /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 2 >> /FontDescriptor 5 0 R /DW 1000 /W [1 95 500 231 632 500] >>",
        );
        w.object(
            5,
            b"<< /Type /FontDescriptor /FontName /HeiseiKakuGo-W5 /Flags 4 /FontBBox [-92 -250 1010 922] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 737 /StemV 114 >>",
        );
        w.object(
            6,
            format!(
                "<< /Title {} /Author {} /Producer (openmyna) >>",
                text_string(&self.title),
                text_string(&self.author)
            )
            .as_bytes(),
        );
        let mut contents_at = None;
        if let Some(info) = sig {
            let mut body = format!(
                "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached {PLACEHOLDER_RANGE} /Name {} /Reason {} /Location {} /M ({}) /Contents ",
                text_string(&info.name),
                text_string(&info.reason),
                text_string(&info.location),
                info.time,
            )
            .into_bytes();
            let lt_in_body = body.len();
            body.push(b'<');
            body.extend(std::iter::repeat_n(b'0', SIGNATURE_ROOM * 2));
            body.push(b'>');
            body.extend_from_slice(b" >>");
            let header = format!("{} 0 obj\n", 7).len();
            let start = w.out.len() + header;
            contents_at = Some((
                start + lt_in_body,
                start + lt_in_body + 1 + SIGNATURE_ROOM * 2,
            ));
            w.object(7, &body);
            let first = page_ids.first().copied().unwrap_or(first_page);
            w.object(
                8,
                format!(
                    "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V 7 0 R /Rect [0 0 0 0] /F 132 /P {first} 0 R >>"
                )
                .as_bytes(),
            );
        }
        let (pw, ph) = A4;
        for (p, &id) in self.pages.iter().zip(&page_ids) {
            let xobjects: Vec<String> = (0..p.images.len())
                .map(|i| format!("/Im{i} {} 0 R", id + 2 + i))
                .collect();
            let annots = if sig.is_some() && Some(&id) == page_ids.first() {
                " /Annots [8 0 R]"
            } else {
                ""
            };
            w.object(
                id,
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.2} {ph:.2}] /Resources << /Font << /F1 3 0 R >> /XObject << {} >> >> /Contents {} 0 R{annots} >>",
                    xobjects.join(" "),
                    id + 1
                )
                .as_bytes(),
            );
            w.stream(id + 1, "", p.ops.as_bytes());
            for (i, img) in p.images.iter().enumerate() {
                w.stream(
                    id + 2 + i,
                    &format!(
                        "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /{} /BitsPerComponent 8{}",
                        img.width,
                        img.height,
                        if img.grey { "DeviceGray" } else { "DeviceRGB" },
                        if img.jpeg { " /Filter /DCTDecode" } else { "" }
                    ),
                    &img.data,
                );
            }
        }
        let xref = w.out.len();
        let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", w.offsets.len());
        for o in w.offsets.iter().skip(1) {
            if *o == 0 {
                // A number not used (no signature objects): free.
                let _ = writeln!(tail, "0000000000 65535 f ");
            } else {
                let _ = writeln!(tail, "{o:010} 00000 n ");
            }
        }
        let _ = write!(
            tail,
            "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            w.offsets.len()
        );
        w.out.extend_from_slice(tail.as_bytes());
        (w.out, contents_at)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The byte ranges a signature covers, read back from a signed document (for checks).
pub fn byte_range(pdf: &[u8]) -> Option<[usize; 4]> {
    let at = find(pdf, b"/ByteRange [")? + b"/ByteRange [".len();
    let end = at + pdf.get(at..)?.iter().position(|&b| b == b']')?;
    let text = std::str::from_utf8(pdf.get(at..end)?).ok()?;
    let v: Vec<usize> = text
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    Some([*v.first()?, *v.get(1)?, *v.get(2)?, *v.get(3)?])
}

/// The CMS signature embedded in a signed document (for checks).
pub fn signature_contents(pdf: &[u8]) -> Option<Vec<u8>> {
    let [_, a, b, _] = byte_range(pdf)?;
    let hex = pdf.get(a.checked_add(1)?..b.checked_sub(1)?)?;
    let bytes: Vec<u8> = hex
        .chunks(2)
        .map_while(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
        })
        .collect();
    // Trailing zero padding after the DER.
    let len = der_len(&bytes)?;
    bytes.get(..len).map(<[u8]>::to_vec)
}

/// The length of a DER SEQUENCE with its header.
fn der_len(b: &[u8]) -> Option<usize> {
    let l = *b.get(1)?;
    if l < 0x80 {
        return Some(2 + usize::from(l));
    }
    let n = usize::from(l & 0x7F);
    if n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*b.get(2 + i)?);
    }
    len.checked_add(2 + n)
}

/// The SHA-256 of the covered bytes of a signed document (for checks).
pub fn covered_digest(pdf: &[u8]) -> Option<[u8; 32]> {
    let [a, b, c, d] = byte_range(pdf)?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(pdf.get(a..a.checked_add(b)?)?);
    ctx.update(pdf.get(c..c.checked_add(d)?)?);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_ucs2_with_geta_for_what_it_cannot_set() {
        assert_eq!(ucs2_hex("山A"), "<5C710041>");
        assert_eq!(ucs2_hex("𠮷"), "<3013>");
        assert_eq!(text_width("住民票 A1", 10.0), 30.0 + 15.0);
    }

    #[test]
    fn an_unsigned_document_has_a_consistent_cross_reference() {
        let mut d = Document::new("住民票の写し", "千代田区");
        let mut p = Page::new();
        p.text(50.0, 800.0, 12.0, "住民票の写し");
        p.line(50.0, 790.0, 545.0, 790.0, 1.0);
        d.push(p);
        let pdf = d.finish();
        assert!(pdf.starts_with(b"%PDF-1.7"));
        let at = find(&pdf, b"startxref\n").unwrap();
        let tail = std::str::from_utf8(&pdf[at..]).unwrap();
        let startxref: usize = tail.lines().nth(1).unwrap().parse().unwrap();
        let xref = std::str::from_utf8(&pdf[startxref..]).unwrap();
        assert!(xref.starts_with("xref"));
        // Every object in use points at "n 0 obj"; the numbers not used are free.
        for (n, line) in xref
            .lines()
            .skip(3)
            .take_while(|l| l.len() >= 18)
            .enumerate()
        {
            let off: usize = line[..10].parse().unwrap();
            if line.ends_with("f ") {
                continue;
            }
            assert!(
                pdf[off..].starts_with(format!("{} 0 obj", n + 1).as_bytes()),
                "object {}",
                n + 1
            );
        }
    }

    #[test]
    fn the_signature_covers_all_but_its_own_contents() {
        let mut d = Document::new("t", "a");
        d.push(Page::new());
        let info = SignatureInfo {
            name: "千代田区長".into(),
            reason: "住民票の写し".into(),
            location: "千代田区".into(),
            time: "D:20261204090000+09'00'".into(),
        };
        let mut seen = [0u8; 32];
        let pdf = d
            .sign(&info, |h| -> Result<Vec<u8>, PdfError> {
                seen = *h;
                // A DER SEQUENCE standing in for the CMS.
                Ok(vec![0x30, 0x03, 0x02, 0x01, 0x05])
            })
            .unwrap();
        let [a, b, c, d2] = byte_range(&pdf).unwrap();
        assert_eq!(a, 0);
        assert_eq!(c + d2, pdf.len());
        assert_eq!(pdf[b], b'<');
        assert_eq!(pdf[c - 1], b'>');
        assert_eq!(covered_digest(&pdf).unwrap(), seen);
        assert_eq!(
            signature_contents(&pdf).unwrap(),
            [0x30, 0x03, 0x02, 0x01, 0x05]
        );
    }

    #[test]
    fn hostile_byte_ranges_are_refused_not_panicked_on() {
        for pdf in [
            &b"/ByteRange [0 0 0 0]"[..],
            b"/ByteRange [0 18446744073709551615 5 18446744073709551615]",
            b"/ByteRange [1 2 3]",
            b"/ByteRange [0 1 4 0]<3088FFFFFFFFFFFFFFFF>",
        ] {
            assert!(signature_contents(pdf).is_none());
            // Whatever the ranges, no panic.
            let _ = covered_digest(pdf);
        }
        // Ranges past the end (or overflowing) give no digest.
        assert!(
            covered_digest(b"/ByteRange [0 18446744073709551615 5 18446744073709551615]").is_none()
        );
        assert!(covered_digest(b"/ByteRange [0 5 9 99]").is_none());
    }

    #[test]
    fn jpeg_frames_are_read() {
        // SOI, APP0 (len 4), SOF0 (8 bit, 2×3, 1 component).
        let j = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00,
            0x03, 0x00, 0x02, 0x01,
        ];
        assert_eq!(jpeg_size(&j).unwrap(), (2, 3, 1));
        assert!(jpeg_size(b"GIF").is_err());
    }
}
