//! The body of the fuzz target (`fuzz/fuzz_targets/apdu.rs`), kept here so that the normal test
//! suite compiles and exercises it too.

use std::sync::OnceLock;

use crate::engine::{Session, process};
use crate::personalize::{
    Certificates, ChosenPins, DataSigner, Holder, blank_card, install_certificates, install_holder,
    set_pins,
};
use crate::state::CardState;

fn fake_cert(n: usize) -> Vec<u8> {
    let mut v = vec![0x30, 0x82, (n >> 8) as u8, n as u8];
    v.resize(n + 4, 0xA5);
    v
}

/// A personalised card (built once: key generation is slow).
pub fn card() -> Option<CardState> {
    static CARD: OnceLock<Option<CardState>> = OnceLock::new();
    CARD.get_or_init(|| {
        let mut b = blank_card("FZ00000000001", vec![0; 16], true).ok()?;
        let c = fake_cert(1200);
        install_certificates(
            &mut b.state,
            &Certificates {
                auth: &c,
                auth_ca: &c,
                sign: Some(&c),
                sign_ca: &c,
            },
        )
        .ok()?;
        let (signer, _) = DataSigner::generate().ok()?;
        let pictures = crate::personalize::PictureSet::blank();
        install_holder(
            &mut b.state,
            &Holder {
                my_number: "123456789018",
                name: "試験 太郎",
                address: "東京都千代田区",
                birth: "19900101",
                sex: '1',
                expiry: "20350101",
                security_code: "0000",
                municipality_code: "13101",
                pictures: pictures.borrow(),
            },
            &signer,
        )
        .ok()?;
        set_pins(
            &mut b.state,
            &ChosenPins {
                auth: "1234",
                sign: Some("ABC123"),
                assist: "1234",
                juki: "1234",
            },
        )
        .ok()?;
        Some(b.state)
    })
    .clone()
}

/// Feeds `data` as length-prefixed APDUs (1-byte length) to a fresh copy of the card.
pub fn run(data: &[u8]) {
    let Some(mut state) = card() else { return };
    let mut session = Session::default();
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (apdu, next) = tail.split_at(n);
        let o = process(&mut state, &mut session, apdu);
        assert!(o.response.sw.0 >= 0x6100, "status word {:?}", o.response.sw);
        rest = next;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fuzz_body_runs() {
        super::run(&[
            15, 0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00,
            0x01, 7, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A, 5, 0x00, 0xB0, 0x00, 0x00, 0x04, 3,
            0xFF,
        ]);
    }
}
