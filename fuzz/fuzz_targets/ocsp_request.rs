//! Fuzzes the OCSP request parser with what a relying party sends: the DER body of a POST,
//! and the base64 of a GET (decoded as the server decodes it, then parsed).
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run ocsp_request
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = openmyna_jpki::ocsp::parse_request(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(der) = base64::engine::general_purpose::STANDARD.decode(text.trim())
    {
        let _ = openmyna_jpki::ocsp::parse_request(&der);
    }
});
