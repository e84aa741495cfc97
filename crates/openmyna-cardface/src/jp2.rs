//! JPEG 2000 encoding of a greyscale image as a JP2 file (the box format, `00 00 00 0C 6A 50
//! 20 20 …`), lossy (9/7 wavelet), one quality layer at a target size, five resolutions.
//!
//! The encoder is `openjp2`, a pure-Rust port of OpenJPEG that keeps OpenJPEG's C-style API
//! (raw pointers and callbacks). This module is the project's only `unsafe` code; every block
//! says what it relies on, and the API used is the one OpenJPEG documents for in-memory
//! streams.

use std::ffi::c_void;

use openjp2::image::opj_image_cmptparm_t;
use openjp2::openjpeg::{
    OPJ_CLRSPC_GRAY, OPJ_CODEC_JP2, opj_cparameters_t, opj_create_compress, opj_destroy_codec,
    opj_encode, opj_end_compress, opj_image_create, opj_image_destroy, opj_image_t,
    opj_set_default_encoder_parameters, opj_setup_encoder, opj_start_compress, opj_stream_create,
    opj_stream_destroy, opj_stream_set_seek_function, opj_stream_set_skip_function,
    opj_stream_set_user_data, opj_stream_set_write_function,
};

use crate::{CardFaceError, Result};

/// The in-memory output stream the callbacks write to.
struct Sink {
    buf: Vec<u8>,
    pos: usize,
}

/// OpenJPEG's write callback.
///
/// SAFETY (for the caller, OpenJPEG): `data` points at `n` readable bytes and `user` is the
/// `Sink` registered with the stream, alive for the stream's life.
unsafe extern "C" fn write(data: *mut c_void, n: usize, user: *mut c_void) -> usize {
    if data.is_null() || user.is_null() {
        return usize::MAX;
    }
    // SAFETY: see above; no other reference to the sink exists while OpenJPEG runs.
    let sink = unsafe { &mut *user.cast::<Sink>() };
    // SAFETY: `data` is valid for `n` bytes (OpenJPEG's contract).
    let src = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), n) };
    let end = sink.pos + n;
    if sink.buf.len() < end {
        sink.buf.resize(end, 0);
    }
    if let Some(dst) = sink.buf.get_mut(sink.pos..end) {
        dst.copy_from_slice(src);
    }
    sink.pos = end;
    n
}

/// OpenJPEG's skip callback (forward only when writing).
unsafe extern "C" fn skip(n: i64, user: *mut c_void) -> i64 {
    if user.is_null() {
        return -1;
    }
    // SAFETY: `user` is the registered sink (see `write`).
    let sink = unsafe { &mut *user.cast::<Sink>() };
    let Some(to) = i64::try_from(sink.pos).ok().and_then(|p| p.checked_add(n)) else {
        return -1;
    };
    sink.pos = usize::try_from(to.max(0)).unwrap_or(0);
    n
}

/// OpenJPEG's seek callback.
unsafe extern "C" fn seek(to: i64, user: *mut c_void) -> i32 {
    if user.is_null() {
        return 0;
    }
    // SAFETY: `user` is the registered sink (see `write`).
    let sink = unsafe { &mut *user.cast::<Sink>() };
    match usize::try_from(to) {
        Ok(p) => {
            sink.pos = p;
            1
        }
        Err(_) => 0,
    }
}

/// Encodes `pixels` (8-bit grey, `width`×`height`, row by row) as a JP2 file of about
/// `target` bytes.
pub fn encode_grey(pixels: &[u8], width: u32, height: u32, target: usize) -> Result<Vec<u8>> {
    let n = width as usize * height as usize;
    if width == 0 || height == 0 || pixels.len() != n || target == 0 {
        return Err(CardFaceError::Jpeg2000(
            "the image or the target size is empty",
        ));
    }
    let mut component = opj_image_cmptparm_t {
        dx: 1,
        dy: 1,
        w: width,
        h: height,
        prec: 8,
        sgnd: 0,
        ..Default::default()
    };
    // The image is destroyed below on every path.
    let image: *mut opj_image_t = opj_image_create(1, &mut component, OPJ_CLRSPC_GRAY);
    if image.is_null() {
        return Err(CardFaceError::Jpeg2000("cannot allocate the image"));
    }
    // SAFETY: `image` is a valid image with one component of `n` samples.
    let result = unsafe { encode_image(image, pixels, width, height, target) };
    opj_image_destroy(image);
    result
}

/// SAFETY: `image` must be a live image made by `opj_image_create` with one component of
/// `width`×`height` samples.
unsafe fn encode_image(
    image: *mut opj_image_t,
    pixels: &[u8],
    width: u32,
    height: u32,
    target: usize,
) -> Result<Vec<u8>> {
    // SAFETY: the caller's contract: `image` is valid, `comps` points at one component whose
    // `data` holds width×height samples.
    unsafe {
        (*image).x1 = width;
        (*image).y1 = height;
        let comp = &mut *(*image).comps;
        if comp.data.is_null() {
            return Err(CardFaceError::Jpeg2000("the image has no sample buffer"));
        }
        let data = std::slice::from_raw_parts_mut(comp.data, pixels.len());
        for (d, s) in data.iter_mut().zip(pixels) {
            *d = i32::from(*s);
        }
    }
    let mut p = opj_cparameters_t::default();
    // SAFETY: `p` is a plain parameter struct.
    unsafe { opj_set_default_encoder_parameters(&mut p) };
    p.tcp_numlayers = 1;
    // The compression ratio that gives about `target` bytes.
    p.tcp_rates[0] = pixels.len() as f32 / target as f32;
    p.cp_disto_alloc = 1;
    p.irreversible = 1;
    p.numresolution = 5;
    // SAFETY: creating a codec has no precondition.
    let codec = unsafe { opj_create_compress(OPJ_CODEC_JP2) };
    if codec.is_null() {
        return Err(CardFaceError::Jpeg2000("cannot create the encoder"));
    }
    let sink = Box::into_raw(Box::new(Sink {
        buf: Vec::with_capacity(target + 512),
        pos: 0,
    }));
    // SAFETY: `codec`, `p` and `image` are valid; the stream gets the sink as user data,
    // which outlives it (freed below, after the stream is destroyed).
    let ok = unsafe {
        let mut ok = opj_setup_encoder(codec, &mut p, image) != 0;
        let stream = opj_stream_create(1 << 16, 0);
        if stream.is_null() {
            ok = false;
        } else {
            opj_stream_set_write_function(stream, Some(write));
            opj_stream_set_skip_function(stream, Some(skip));
            opj_stream_set_seek_function(stream, Some(seek));
            opj_stream_set_user_data(stream, sink.cast::<c_void>(), None);
            ok = ok
                && opj_start_compress(codec, image, stream) != 0
                && opj_encode(codec, stream) != 0
                && opj_end_compress(codec, stream) != 0;
            opj_stream_destroy(stream);
        }
        opj_destroy_codec(codec);
        ok
    };
    // SAFETY: `sink` came from `Box::into_raw` above and nothing uses it any more.
    let sink = unsafe { Box::from_raw(sink) };
    if !ok {
        return Err(CardFaceError::Jpeg2000("the encoder failed"));
    }
    Ok(sink.buf)
}

/// Decodes a JPEG 2000 image (JP2 or codestream) to 8-bit grey with `hayro-jpeg2000` (a
/// pure-Rust decoder independent of the encoder): how a reader shows the card's face.
pub fn decode_grey(bytes: &[u8]) -> Result<crate::photo::Grey> {
    let img = hayro_jpeg2000::Image::new(bytes, &hayro_jpeg2000::DecodeSettings::default())
        .map_err(|_| CardFaceError::Photo("not a JPEG 2000 image".into()))?;
    let (width, height) = (img.width(), img.height());
    let mut ctx = hayro_jpeg2000::DecoderContext::default();
    let decoded = img
        .decode(&mut ctx)
        .map_err(|_| CardFaceError::Photo("the JPEG 2000 image does not decode".into()))?;
    let data = decoded.data_u8();
    let n = width as usize * height as usize;
    let channels = data.len() / n.max(1);
    let pixels = if channels <= 1 {
        data.to_vec()
    } else {
        data.chunks(channels)
            .map(|p| p.first().copied().unwrap_or(0))
            .collect()
    };
    Ok(crate::photo::Grey {
        width,
        height,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(jp2: &[u8]) -> (u32, u32, Vec<u8>) {
        let g = decode_grey(jp2).expect("decodes");
        (g.width, g.height, g.pixels)
    }

    #[test]
    fn a_gradient_round_trips_at_the_target_size() {
        let (w, h) = (120u32, 160u32);
        let px: Vec<u8> = (0..w * h).map(|i| ((i % w) * 2 + (i / w)) as u8).collect();
        let jp2 = encode_grey(&px, w, h, 2000).unwrap();
        assert!(jp2.starts_with(&[0, 0, 0, 0x0C, b'j', b'P', b' ', b' ']));
        assert!(jp2.len() <= 2200, "{} bytes", jp2.len());
        let (dw, dh, back) = decode(&jp2);
        assert_eq!((dw, dh), (w, h));
        let worst = px
            .iter()
            .zip(&back)
            .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
            .max()
            .unwrap();
        assert!(worst < 24, "largest error {worst}");
    }

    #[test]
    fn empty_input_is_refused() {
        assert!(encode_grey(&[], 0, 0, 100).is_err());
        assert!(encode_grey(&[1, 2, 3], 2, 2, 100).is_err());
    }
}
