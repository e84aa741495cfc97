//! Fuzzes the CMS SignedData verifier that takes the 4-information service's consents and the
//! portal's smartphone certification requests (both signed with a card's key).
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run cms
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = openmyna_jpki::cms::verify(data);
});
