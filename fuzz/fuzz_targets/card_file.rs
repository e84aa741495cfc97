//! Fuzzes the reading of a card file (the virtual card's state on disk, which a user may hand
//! to `openmyna terminal`, `kiosk` or `portal`), then a session with the card it yields: the
//! JPKI AP selected, its certificate read, a PIN tried.
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run card_file
#![no_main]

use libfuzzer_sys::fuzz_target;
use openmyna_card::engine::{Session, process};
use openmyna_card::state::CardState;

/// SELECT the JPKI AP, SELECT EF 000A (the authentication certificate), READ BINARY, SELECT
/// EF 0018 (its PIN), VERIFY "1234".
const SESSION: &[&[u8]] = &[
    &[0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
    &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A],
    &[0x00, 0xB0, 0x00, 0x00, 0x00],
    &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18],
    &[0x00, 0x20, 0x00, 0x80, 0x04, b'1', b'2', b'3', b'4'],
];

fuzz_target!(|data: &[u8]| {
    let Ok(mut state) = CardState::from_bytes(data) else {
        return;
    };
    let mut session = Session::default();
    for apdu in SESSION {
        let _ = process(&mut state, &mut session, apdu);
    }
});
