//! Synthetic pictures for the card: a generated face (no real person) and small PNG encoding
//! without a compression library (stored deflate blocks; the images are 4-bit palette, so
//! they stay a few kilobytes).

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
        let mut raw = Vec::with_capacity((row + 1) * self.height);
        for y in 0..self.height {
            raw.push(0); // filter: none
            // The pixels hold exactly `height` rows of `width`.
            let line = self
                .pixels
                .get(y * self.width..(y + 1) * self.width)
                .unwrap_or_default();
            for pair in line.chunks(2) {
                let a = pair.first().copied().unwrap_or(0);
                let b = pair.get(1).copied().unwrap_or(0);
                raw.push((a << 4) | b);
            }
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&(self.width as u32).to_be_bytes());
        ihdr.extend_from_slice(&(self.height as u32).to_be_bytes());
        ihdr.extend_from_slice(&[4, 3, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        let plte: Vec<u8> = self.palette.iter().flatten().copied().collect();
        chunk(&mut png, b"PLTE", &plte);
        chunk(&mut png, b"IDAT", &zlib_stored(&raw));
        chunk(&mut png, b"IEND", &[]);
        png
    }
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

/// A deterministic synthetic face portrait (96×128) from `seed`: background, hair, skin tone,
/// eyes, brows, nose and mouth vary. It depicts no one.
pub fn synthetic_face(seed: u64) -> Vec<u8> {
    let mut r = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = |n: u64| {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        (r % n.max(1)) as i64
    };
    let skins = [
        [241, 204, 177],
        [224, 180, 150],
        [198, 150, 118],
        [232, 196, 160],
    ];
    let hairs = [[20, 18, 18], [58, 40, 30], [90, 70, 55], [140, 140, 140]];
    let backs = [[214, 226, 240], [230, 230, 230], [200, 215, 225]];
    // `next(n)` is below `n`, so the fallbacks are never used.
    let palette = vec![
        backs.get(next(3) as usize).copied().unwrap_or(backs[0]),
        skins.get(next(4) as usize).copied().unwrap_or(skins[0]),
        hairs.get(next(4) as usize).copied().unwrap_or(hairs[0]),
        [250, 250, 250],
        [30, 30, 40],
        [190, 110, 110],
        [60, 70, 110],
    ];
    let (w, h) = (96i64, 128i64);
    let mut c = Canvas::new(w as usize, h as usize, palette);
    // Shoulders in a jacket.
    c.ellipse(w / 2, h + 10, 46, 36, 6);
    // Neck.
    c.rect(w / 2 - 9, 80, w / 2 + 9, 100, 1);
    let (fw, fh) = (26 + next(6), 34 + next(6));
    let cy = 58;
    // Hair behind the head, face, then the fringe.
    c.ellipse(w / 2, cy - 6, fw + 4, fh + 2 - next(4), 2);
    c.ellipse(w / 2, cy, fw, fh, 1);
    let fringe = 6 + next(10);
    c.ellipse(w / 2, cy - fh + fringe / 2, fw, fringe + 8, 2);
    // Ears.
    c.ellipse(w / 2 - fw, cy + 2, 4, 7, 1);
    c.ellipse(w / 2 + fw, cy + 2, 4, 7, 1);
    // Eyes and brows.
    let ex = 10 + next(4);
    let ey = cy + next(4) - 2;
    for side in [-1, 1] {
        c.ellipse(w / 2 + side * ex, ey, 5, 3, 3);
        c.ellipse(w / 2 + side * ex, ey, 2, 2, 4);
        c.rect(
            w / 2 + side * ex - 5,
            ey - 8,
            w / 2 + side * ex + 5,
            ey - 6,
            2,
        );
    }
    // Nose and mouth.
    c.rect(w / 2 - 1, ey + 5, w / 2 + 1, ey + 14, 5);
    let mw = 6 + next(5);
    c.ellipse(w / 2, cy + 22, mw, 2, 5);
    c.to_png()
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
        let png = synthetic_face(1);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.len() < 8000, "{}", png.len());
        assert_eq!(png, synthetic_face(1));
        assert_ne!(png, synthetic_face(2));
    }
}
