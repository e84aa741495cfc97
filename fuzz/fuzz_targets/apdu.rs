//! Fuzzes the APDU parser and the command dispatcher of the virtual card: the input is a
//! sequence of length-prefixed APDUs sent to one personalised card in one session.
//!
//!     cargo fuzz run apdu            (nightly, or RUSTC_BOOTSTRAP=1 on stable)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    openmyna_card::fuzzing::run(data);
});
