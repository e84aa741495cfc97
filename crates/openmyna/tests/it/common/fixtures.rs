//! Fixtures shared by the scenarios: photos, cards, encodings. One place each, so that a
//! change of what a valid photo or a card file is touches one function.

use std::path::Path;

use base64::Engine;
use openmyna_cardio::{CardFile, JpkiClient, VirtualTransport};

/// Base64 (standard), as the APIs take binary values.
pub fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A synthetic portrait photo of `w`×`h` pixels (PNG, base64): a face-coloured ellipse on a
/// light background above dark shoulders, which the application photo rules accept at 600×800.
pub fn photo(w: usize, h: usize) -> String {
    let mut c = openmyna_card::image::Canvas::new(
        w,
        h,
        vec![[230, 235, 240], [60, 60, 70], [240, 200, 170]],
    );
    c.ellipse(
        (w / 2) as i64,
        (h / 2) as i64,
        (w / 4) as i64,
        (h / 4) as i64,
        2,
    );
    c.rect(0, (h * 3 / 4) as i64, w as i64, h as i64, 1);
    b64(&c.to_png())
}

/// A reader on the card file at `path` (the virtual card, as the terminal sees it).
pub fn card(path: &Path) -> JpkiClient<VirtualTransport> {
    JpkiClient::new(VirtualTransport::new(CardFile::open(path).unwrap()))
}

/// A portal login challenge from the server at `base`: its id and its bytes.
pub async fn portal_challenge(
    client: &reqwest::Client,
    base: &str,
) -> (serde_json::Value, Vec<u8>) {
    let r: serde_json::Value = client
        .post(format!("{base}/api/v1/portal/challenge"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(r["challenge"].as_str().unwrap())
        .unwrap();
    (r["challenge_id"].clone(), bytes)
}

/// A tiny valid PNG (grey, 16×16, a dark ring on white): the seal's impression.
pub fn seal_png() -> Vec<u8> {
    fn crc(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc(&body).to_be_bytes());
    }
    let (w, h) = (16u32, 16u32);
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            let (dx, dy) = (x as i32 - 8, y as i32 - 8);
            let r2 = dx * dx + dy * dy;
            raw.push(if (25..=49).contains(&r2) { 0x20 } else { 0xFF });
        }
    }
    // zlib: a stored block.
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    z.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    z.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}
