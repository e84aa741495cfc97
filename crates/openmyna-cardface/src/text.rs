//! Pictures of printed text: one line of Japanese text rendered with a TrueType/OpenType font
//! (ab_glyph), black on white, thresholded to 1 bit and written as PNG, as the 券面AP keeps
//! the name, the address, the security code and the My Number.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use openmyna_card::image::{PngKind, png};

use crate::{CardFaceError, Result};

/// Fonts tried in order when `OPENMYNA_CARD_FONT` is not set (Debian's packages).
pub const DEFAULT_FONTS: &[&str] = &[
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
];

/// A loaded font.
pub struct Printer {
    font: FontVec,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Printer")
    }
}

impl Printer {
    /// Loads the font at `path`.
    pub fn load(path: &Path) -> Result<Printer> {
        let bytes = std::fs::read(path)
            .map_err(|e| CardFaceError::Font(format!("{}: {e}", path.display())))?;
        let font = FontVec::try_from_vec(bytes)
            .map_err(|_| CardFaceError::Font(format!("{} is not a font", path.display())))?;
        if font.glyph_id('漢').0 == 0 {
            return Err(CardFaceError::Font(format!(
                "{} has no Japanese glyphs",
                path.display()
            )));
        }
        Ok(Printer { font })
    }

    /// The font named by `OPENMYNA_CARD_FONT`, or the first of [`DEFAULT_FONTS`] present.
    pub fn from_environment() -> Result<Printer> {
        let path = match std::env::var_os("OPENMYNA_CARD_FONT") {
            Some(p) => PathBuf::from(p),
            None => DEFAULT_FONTS
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
                .ok_or_else(|| {
                    CardFaceError::Font(format!("none of {} exists", DEFAULT_FONTS.join(", ")))
                })?,
        };
        Printer::load(&path)
    }

    /// The process's printer, loaded once.
    pub fn shared() -> Result<&'static Printer> {
        static SHARED: OnceLock<std::result::Result<Printer, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Printer::from_environment().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| CardFaceError::Font(e.clone()))
    }

    /// One line of text at `px` pixels, at most `max_width` pixels wide (a longer line is
    /// set smaller to fit, as a printed field is), as a 1-bit PNG.
    pub fn line(&self, text: &str, px: f32, max_width: u32) -> Result<Vec<u8>> {
        let (w, h, coverage) = self.render(text, px, max_width);
        let stride = w.div_ceil(8);
        let mut rows = vec![0u8; stride * h];
        for y in 0..h {
            for x in 0..w {
                let ink = coverage.get(y * w + x).copied().unwrap_or(0) >= 128;
                if !ink && let Some(b) = rows.get_mut(y * stride + x / 8) {
                    *b |= 0x80 >> (x % 8);
                }
            }
            for x in w..stride * 8 {
                if let Some(b) = rows.get_mut(y * stride + x / 8) {
                    *b |= 0x80 >> (x % 8);
                }
            }
        }
        Ok(png(w, h, PngKind::Grey1, &rows))
    }

    /// Renders a line: (width, height, coverage 0–255 per pixel).
    fn render(&self, text: &str, px: f32, max_width: u32) -> (usize, usize, Vec<u8>) {
        let pad = 2.0;
        let natural = self.advance(text, px);
        let limit = max_width as f32 - 2.0 * pad - 1.0;
        let px = if natural > limit && natural > 0.0 {
            (px * limit / natural).max(6.0)
        } else {
            px
        };
        let scale = PxScale::from(px);
        let sf = self.font.as_scaled(scale);
        let (ascent, descent) = (sf.ascent(), sf.descent());
        let mut x = pad;
        let mut glyphs = Vec::new();
        let mut prev = None;
        for ch in text.chars() {
            let id = sf.glyph_id(ch);
            if let Some(p) = prev {
                x += sf.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(scale, point(x, pad + ascent)));
            x += sf.h_advance(id);
            prev = Some(id);
        }
        let w = ((x + pad).ceil() as usize).max(1);
        let h = ((ascent - descent + 2.0 * pad).ceil() as usize).max(1);
        let mut coverage = vec![0u8; w * h];
        for g in glyphs {
            if let Some(outline) = self.font.outline_glyph(g) {
                let b = outline.px_bounds();
                outline.draw(|gx, gy, c| {
                    let px = b.min.x as i64 + i64::from(gx);
                    let py = b.min.y as i64 + i64::from(gy);
                    if px >= 0
                        && py >= 0
                        && let Some(p) = coverage.get_mut(py as usize * w + px as usize)
                        && (px as usize) < w
                    {
                        *p = (*p).max((c * 255.0) as u8);
                    }
                });
            }
        }
        (w, h, coverage)
    }

    fn advance(&self, text: &str, px: f32) -> f32 {
        let sf = self.font.as_scaled(PxScale::from(px));
        text.chars().map(|c| sf.h_advance(sf.glyph_id(c))).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_renders_as_a_one_bit_png_with_ink() {
        let Ok(p) = Printer::from_environment() else {
            panic!("install fonts-ipafont-gothic (or set OPENMYNA_CARD_FONT) to run this test");
        };
        let png = p.line("山田 太郎", 24.0, 560).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        // IHDR: bit depth 1, colour type 0.
        assert_eq!(&png[24..26], &[1, 0]);
        let (w, h, cov) = p.render("山田 太郎", 24.0, 560);
        assert!(w > 80 && w < 200 && h > 20 && h < 40, "{w}x{h}");
        let ink = cov.iter().filter(|c| **c >= 128).count();
        assert!(ink > 100, "{ink} inked pixels");
        // A long address is set smaller to fit its field.
        let (w, _, _) = p.render(&"東京都千代田区霞が関二丁目1番2号".repeat(3), 20.0, 720);
        assert!(w <= 720, "{w}");
    }
}
