//! The registry as the CA sees it.

use openmyna_jpki::Holder;
use openmyna_registry::BasicFour;

/// The certificate holder for a resident's basic four information (the signing certificate's
/// subject alternative name carries it; the authentication certificate carries none).
pub fn holder_of(b: &BasicFour) -> Holder {
    Holder {
        name: b.name.name.clone(),
        birth_date: b.birth_date,
        sex_code: b.sex.code(),
        address: b.address.text.clone(),
        municipality_code: b.address.municipality_code.as_str().to_owned(),
    }
}
