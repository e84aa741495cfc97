//! Fuzzes the OCSP request parser with what a relying party sends: the DER body of a POST,
//! and the base64 of a GET (decoded as the server decodes it, then parsed). Whatever request
//! the in-place reader takes must read the same through the general decoder.
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run ocsp_request
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;

fn check(der: &[u8]) {
    use openmyna_jpki::ocsp::{parse_plain, parse_request, parse_request_decoded};
    let parsed = parse_request(der);
    if parse_plain(der).is_some() {
        assert_eq!(parsed, parse_request_decoded(der));
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(der) = base64::engine::general_purpose::STANDARD.decode(text.trim())
    {
        check(&der);
    }
});
