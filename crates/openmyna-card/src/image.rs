//! Small PNG encoding without a compression library (stored deflate blocks; the card's
//! pictures of text are 1-bit, so they stay a few kilobytes), and plain images for tests.

/// A palette image, 4 bits per pixel.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub palette: Vec<[u8; 3]>,
    pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, palette: Vec<[u8; 3]>) -> Self {
        Canvas {
            width,
            height,
            palette,
            pixels: vec![0; width * height],
        }
    }

    pub fn set(&mut self, x: i64, y: i64, c: u8) {
        if x >= 0
            && y >= 0
            && (x as usize) < self.width
            && (y as usize) < self.height
            && let Some(p) = self.pixels.get_mut(y as usize * self.width + x as usize)
        {
            *p = c & 0x0F;
        }
    }

    /// Fills the ellipse centred at (cx, cy) with radii (rx, ry).
    pub fn ellipse(&mut self, cx: i64, cy: i64, rx: i64, ry: i64, c: u8) {
        let (rx, ry) = (rx.max(1), ry.max(1));
        for y in cy - ry..=cy + ry {
            for x in cx - rx..=cx + rx {
                let (dx, dy) = (x - cx, y - cy);
                if dx * dx * ry * ry + dy * dy * rx * rx <= rx * rx * ry * ry {
                    self.set(x, y, c);
                }
            }
        }
    }

    pub fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: u8) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.set(x, y, c);
            }
        }
    }

    /// Encodes as PNG (colour type 3, bit depth 4).
    pub fn to_png(&self) -> Vec<u8> {
        let row = self.width.div_ceil(2);
        let mut rows = Vec::with_capacity(row * self.height);
        for y in 0..self.height {
            // The pixels hold exactly `height` rows of `width`.
            let line = self
                .pixels
                .get(y * self.width..(y + 1) * self.width)
                .unwrap_or_default();
            for pair in line.chunks(2) {
                let a = pair.first().copied().unwrap_or(0);
                let b = pair.get(1).copied().unwrap_or(0);
                rows.push((a << 4) | b);
            }
        }
        let plte: Vec<u8> = self.palette.iter().flatten().copied().collect();
        png(self.width, self.height, PngKind::Palette4(&plte), &rows)
    }
}

/// The pixel formats [`png`] writes.
pub enum PngKind<'a> {
    /// Colour type 3, 4 bits per pixel, with this palette (RGB triples).
    Palette4(&'a [u8]),
    /// Colour type 0, 1 bit per pixel (0 black, 1 white).
    Grey1,
    /// Colour type 0, 8 bits per pixel.
    Grey8,
}

/// A PNG of `width`×`height` from packed rows (each row whole bytes, without the filter
/// byte), compressed with stored deflate blocks.
pub fn png(width: usize, height: usize, kind: PngKind<'_>, rows: &[u8]) -> Vec<u8> {
    let (depth, colour, row_len) = match kind {
        PngKind::Palette4(_) => (4, 3, width.div_ceil(2)),
        PngKind::Grey1 => (1, 0, width.div_ceil(8)),
        PngKind::Grey8 => (8, 0, width),
    };
    let mut raw = Vec::with_capacity((row_len + 1) * height);
    for y in 0..height {
        raw.push(0); // filter: none
        let line = rows.get(y * row_len..(y + 1) * row_len).unwrap_or_default();
        raw.extend_from_slice(line);
        raw.resize(raw.len() + row_len - line.len(), 0xFF);
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    if let PngKind::Palette4(plte) = kind {
        chunk(&mut out, b"PLTE", plte);
    }
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(kind.iter().chain(data));
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32<'a>(data: impl IntoIterator<Item = &'a u8>) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65535).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let n = block.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// A plain image of `width`×`height` (the background for pictures of text).
pub fn blank(width: usize, height: usize) -> Vec<u8> {
    Canvas::new(width, height, vec![[255, 255, 255]]).to_png()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_png_signature() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        let png = blank(96, 128);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let grey = super::png(9, 2, PngKind::Grey1, &[0x00, 0x80, 0xFF, 0xFF]);
        assert!(grey.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&grey[16..26], &[0, 0, 0, 9, 0, 0, 0, 2, 1, 0]);
    }
}
