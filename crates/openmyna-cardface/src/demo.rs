//! Faces for the demo population: real photographs cropped like an ID photo, 300×400 grey,
//! already encoded as the card stores them (JPEG 2000, about 4 KB each). Their sources and
//! licences are in `faces/SOURCES.md` (portraits from the sample images of the npm package
//! `@vladmandic/face-api` 1.7.15, MIT; and NASA's public-domain astronaut portrait shipped in
//! scikit-image). Nothing is downloaded at run time: the files are part of the binary.

/// The demo faces, JP2 files.
pub const FACES: &[&[u8]] = &[
    include_bytes!("../faces/face-01.jp2"),
    include_bytes!("../faces/face-02.jp2"),
    include_bytes!("../faces/face-03.jp2"),
    include_bytes!("../faces/face-04.jp2"),
    include_bytes!("../faces/face-05.jp2"),
    include_bytes!("../faces/face-06.jp2"),
    include_bytes!("../faces/face-07.jp2"),
    include_bytes!("../faces/face-08.jp2"),
    include_bytes!("../faces/face-09.jp2"),
    include_bytes!("../faces/face-10.jp2"),
    include_bytes!("../faces/face-11.jp2"),
    include_bytes!("../faces/face-12.jp2"),
    include_bytes!("../faces/face-13.jp2"),
    include_bytes!("../faces/face-14.jp2"),
];

/// The demo face of a resident: the same resident always gets the same face.
pub fn face_for(resident_id: u64) -> &'static [u8] {
    let n = FACES.len().max(1) as u64;
    FACES
        .get(usize::try_from(resident_id % n).unwrap_or(0))
        .copied()
        .unwrap_or_default()
}
