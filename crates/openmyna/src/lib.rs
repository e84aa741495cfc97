//! The `openmyna` program as a library: configuration, the composition root and the demo
//! installation. `main.rs` is the command line on top; integration tests start the same server.

// The command-line clients (terminal, kiosk, portal login, rp) still read the server's answers
// as `serde_json::Value` by index (which yields `Null`, never panics, on a missing key); they
// move to shared wire types next, and this allow goes with them.
#![allow(clippy::indexing_slicing)]

pub mod app;
pub mod card_cli;
pub mod cli;
pub mod config;
pub mod demo;
pub mod kiosk;
pub mod phone;
pub mod portal_cli;
pub mod rp;
pub mod terminal;

/// PEM armour (shared by the benchmarks).
pub fn bench_pem(label: &str, der: &[u8]) -> String {
    openmyna_jpki::pem(label, der)
}
