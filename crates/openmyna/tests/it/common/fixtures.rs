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
