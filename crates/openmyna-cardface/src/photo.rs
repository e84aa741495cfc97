//! The application photo made into the card's portrait: decoded (JPEG or PNG), converted to
//! grey (ITU-R BT.601 luma), cropped to 3:4 around the centre and scaled down by area
//! averaging.

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use crate::{CardFaceError, Result};

/// An 8-bit grey image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grey {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// Decodes a JPEG or PNG to grey.
pub fn decode(bytes: &[u8]) -> Result<Grey> {
    let bad = |e: String| CardFaceError::Photo(e);
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::Luma);
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
        let pixels = d.decode().map_err(|e| bad(format!("JPEG: {e:?}")))?;
        let info = d
            .info()
            .ok_or_else(|| bad("JPEG without a header".into()))?;
        let (w, h) = (u32::from(info.width), u32::from(info.height));
        let channels = pixels.len() / (w as usize * h as usize).max(1);
        return Ok(to_grey(w, h, channels, &pixels));
    }
    if bytes.starts_with(b"\x89PNG") {
        let mut d = zune_png::PngDecoder::new_with_options(ZCursor::new(bytes), options);
        let pixels = d.decode_raw().map_err(|e| bad(format!("PNG: {e:?}")))?;
        let (w, h) = d
            .dimensions()
            .ok_or_else(|| bad("PNG without a header".into()))?;
        let (w, h) = (w as u32, h as u32);
        let depth16 = d.depth().is_some_and(|b| b.size_of() == 2);
        let samples = if depth16 {
            // 16-bit samples: keep the high byte.
            pixels.iter().step_by(2).copied().collect()
        } else {
            pixels
        };
        let channels = samples.len() / (w as usize * h as usize).max(1);
        return Ok(to_grey(w, h, channels, &samples));
    }
    Err(bad("not a JPEG or PNG file".into()))
}

fn to_grey(w: u32, h: u32, channels: usize, px: &[u8]) -> Grey {
    let n = w as usize * h as usize;
    let pixels = match channels {
        0 | 1 => px.iter().copied().take(n).collect(),
        2 => px
            .chunks(2)
            .map(|p| p.first().copied().unwrap_or(0))
            .collect(),
        _ => px
            .chunks(channels)
            .map(|p| {
                let c = |i: usize| u32::from(p.get(i).copied().unwrap_or(0));
                ((299 * c(0) + 587 * c(1) + 114 * c(2)) / 1000) as u8
            })
            .collect(),
    };
    Grey {
        width: w,
        height: h,
        pixels,
    }
}

/// The photo as the card's portrait: `width`×`height` grey, the largest centred crop of that
/// aspect, scaled by area averaging.
pub fn portrait(bytes: &[u8], width: u32, height: u32) -> Result<Grey> {
    let g = decode(bytes)?;
    if g.width == 0 || g.height == 0 || g.pixels.len() < g.width as usize * g.height as usize {
        return Err(CardFaceError::Photo("the image is empty".into()));
    }
    // Crop to width:height.
    let (cw, ch) =
        if u64::from(g.width) * u64::from(height) > u64::from(g.height) * u64::from(width) {
            (
                (u64::from(g.height) * u64::from(width) / u64::from(height)) as u32,
                g.height,
            )
        } else {
            (
                g.width,
                (u64::from(g.width) * u64::from(height) / u64::from(width)) as u32,
            )
        };
    let (x0, y0) = ((g.width - cw) / 2, (g.height - ch) / 2);
    let mut out = Vec::with_capacity(width as usize * height as usize);
    for y in 0..height {
        let sy0 = y0 + y * ch / height;
        let sy1 = (y0 + (y + 1) * ch / height).max(sy0 + 1);
        for x in 0..width {
            let sx0 = x0 + x * cw / width;
            let sx1 = (x0 + (x + 1) * cw / width).max(sx0 + 1);
            let (mut sum, mut n) = (0u64, 0u64);
            for sy in sy0..sy1.min(g.height) {
                let row = sy as usize * g.width as usize;
                for sx in sx0..sx1.min(g.width) {
                    sum += u64::from(g.pixels.get(row + sx as usize).copied().unwrap_or(0));
                    n += 1;
                }
            }
            out.push((sum / n.max(1)) as u8);
        }
    }
    Ok(Grey {
        width,
        height,
        pixels: out,
    })
}
