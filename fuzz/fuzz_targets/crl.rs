//! Fuzzes the streaming CRL reader of `openmyna rp sync` (a relying party's copy of the
//! revocation lists, fetched from a CRL distribution point): every entry, then the trailer
//! and the signature check.
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run crl
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = openmyna_jpki::crl_reader::CrlReader::open(data) else {
        return;
    };
    loop {
        match reader.next_entry() {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => return,
        }
    }
    // A P-256 key's SubjectPublicKeyInfo shape with a point that is not on the curve: the
    // check must refuse, never panic.
    let _ = reader.finish(data.get(..91).unwrap_or(data));
});
