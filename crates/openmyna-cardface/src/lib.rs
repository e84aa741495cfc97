//! What is printed on a My Number Card, in the form its 券面AP (card-face application) stores
//! it, as real cards do:
//!
//! - the holder's face: a greyscale JPEG 2000 image ([`jp2`]) made from the application photo
//!   ([`photo`]: JPEG or PNG, cropped to the card's 3:4 portrait), or for residents without an
//!   application photo one of the [`demo`] faces;
//! - the name, the address, the security code and the My Number: 1-bit PNG pictures of the
//!   printed text ([`text`]), rendered with a Japanese font read from the system (IPA Gothic
//!   from Debian's `fonts-ipafont-gothic` by default; `OPENMYNA_CARD_FONT` names another).

pub mod demo;
pub mod jp2;
pub mod photo;
pub mod text;

use openmyna_card::personalize::PictureSet;

/// The errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum CardFaceError {
    #[error("the photo cannot be read: {0}")]
    Photo(String),
    #[error(
        "no Japanese font for the card's printed text: {0} (install Debian's fonts-ipafont-gothic, or set OPENMYNA_CARD_FONT to a TrueType/OpenType font with Japanese glyphs)"
    )]
    Font(String),
    #[error("JPEG 2000 encoding failed: {0}")]
    Jpeg2000(&'static str),
}

pub type Result<T, E = CardFaceError> = std::result::Result<T, E>;

/// Where the holder's face comes from.
pub enum Face<'a> {
    /// The application photo (JPEG or PNG).
    Photo(&'a [u8]),
    /// An already encoded card face (JPEG 2000), such as a [`demo`] face.
    Jp2(&'a [u8]),
}

/// What the card prints.
pub struct Printed<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub security_code: &'a str,
    pub my_number: &'a str,
}

/// The face photo's size on the card (3:4 portrait) and its encoded size target. Real cards
/// hold a small greyscale picture; a few kilobytes keep the 券面AP's EF within one extended
/// READ BINARY.
pub const FACE_WIDTH: u32 = 300;
pub const FACE_HEIGHT: u32 = 400;
pub const FACE_BYTES: usize = 4000;

/// The pictures of a card: the face encoded as JPEG 2000 and the printed text rendered.
pub fn pictures(face: Face<'_>, printed: &Printed<'_>) -> Result<PictureSet> {
    let printer = text::Printer::shared()?;
    let face_jp2 = match face {
        Face::Photo(bytes) => {
            let grey = photo::portrait(bytes, FACE_WIDTH, FACE_HEIGHT)?;
            jp2::encode_grey(&grey.pixels, grey.width, grey.height, FACE_BYTES)?
        }
        Face::Jp2(bytes) => bytes.to_vec(),
    };
    Ok(PictureSet {
        face_jp2,
        name_png: printer.line(printed.name, 24.0, 560)?,
        address_png: printer.line(printed.address, 20.0, 720)?,
        security_code_png: printer.line(printed.security_code, 12.0, 64)?,
        my_number_png: printer.line(printed.my_number, 12.0, 160)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openmyna_card::image::{PngKind, png};

    /// Faces a detector finds in a grey image (SeetaFace's frontal model, via rustface).
    fn faces_in(g: &photo::Grey) -> usize {
        let model = rustface::read_model(std::io::Cursor::new(include_bytes!(
            "../testdata/seeta_fd_frontal_v1.0.bin"
        )))
        .unwrap();
        let mut detector = rustface::create_detector_with_model(model);
        detector.set_min_face_size(40);
        detector.set_score_thresh(2.0);
        detector.set_pyramid_scale_factor(0.8);
        detector.set_slide_window_step(4, 4);
        detector
            .detect(&rustface::ImageData::new(&g.pixels, g.width, g.height))
            .len()
    }

    #[test]
    fn every_demo_face_is_a_jpeg_2000_face_a_detector_finds() {
        assert!(FACES_MIN <= demo::FACES.len());
        for (i, face) in demo::FACES.iter().enumerate() {
            assert!(
                face.starts_with(&[0, 0, 0, 0x0C, b'j', b'P', b' ', b' ']),
                "face {i}"
            );
            let g = jp2::decode_grey(face).unwrap();
            assert_eq!((g.width, g.height), (FACE_WIDTH, FACE_HEIGHT), "face {i}");
            assert!(faces_in(&g) >= 1, "no face found in demo face {i}");
        }
        // And nothing in a flat grey picture.
        let flat = photo::Grey {
            width: FACE_WIDTH,
            height: FACE_HEIGHT,
            pixels: vec![128; (FACE_WIDTH * FACE_HEIGHT) as usize],
        };
        assert_eq!(faces_in(&flat), 0);
    }

    const FACES_MIN: usize = 8;

    #[test]
    fn an_application_photo_becomes_the_cards_face() {
        // An application photo: a demo face at 600×900 (taller than 3:4, so it is cropped),
        // as an 8-bit grey PNG.
        let g = jp2::decode_grey(demo::face_for(0)).unwrap();
        let (w, h) = (600u32, 900u32);
        let mut px = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            for x in 0..w {
                let sy = (y.saturating_sub(50)) * g.height / 800;
                let sx = x * g.width / w;
                let v = g
                    .pixels
                    .get((sy.min(g.height - 1) * g.width + sx) as usize)
                    .copied()
                    .unwrap_or(255);
                px.push(if (50..850).contains(&y) { v } else { 255 });
            }
        }
        let photo = png(w as usize, h as usize, PngKind::Grey8, &px);
        let set = pictures(
            Face::Photo(&photo),
            &Printed {
                name: "山田 太郎",
                address: "東京都千代田区霞が関二丁目1番2号",
                security_code: "4321",
                my_number: "1234 5678 9018",
            },
        )
        .unwrap();
        assert!(
            set.face_jp2.len() <= FACE_BYTES + 600,
            "{}",
            set.face_jp2.len()
        );
        let face = jp2::decode_grey(&set.face_jp2).unwrap();
        assert_eq!((face.width, face.height), (FACE_WIDTH, FACE_HEIGHT));
        assert!(faces_in(&face) >= 1, "no face on the card");
        for text in [
            &set.name_png,
            &set.address_png,
            &set.security_code_png,
            &set.my_number_png,
        ] {
            assert!(text.starts_with(b"\x89PNG"));
        }
        assert!(photo::portrait(b"GIF89a", 30, 40).is_err());
    }
}
