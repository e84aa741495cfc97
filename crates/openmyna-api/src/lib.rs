//! The wire types of openmyna's JSON APIs, declared once: the server deserialises the requests
//! and serialises the responses with them (and documents them, feature `openapi`), and the
//! first-party clients — the reception terminal, the clinic kiosk, `openmyna portal login` —
//! and the tests use the same types, so that a change of the wire shows as a compile error,
//! not as a field silently read as empty.
//!
//! - [`error`]: the one error body of every API.
//! - [`fourinfo`]: the relying parties' consents.
//! - [`oqs`]: online eligibility verification at the reader (challenge, card proof,
//!   verification, 利用登録, consent, consented data).
//! - [`portal`]: the portal's card login and the browser handoff.
//!
//! Responses computed by a domain crate are that crate's types, re-exported here (for example
//! [`oqs::EligibilityResult`]).

pub mod error;
pub mod fourinfo;
pub mod oqs;
pub mod portal;
