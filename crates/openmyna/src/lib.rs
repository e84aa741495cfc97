//! The `openmyna` program as a library: configuration, the composition root and the demo
//! installation. `main.rs` is the command line on top; integration tests start the same server.

pub mod app;
pub mod bank;
pub mod card_cli;
pub mod cli;
pub mod config;
pub mod demo;
pub mod kiosk;
pub mod konbini;
pub mod phone;
pub mod portal_cli;
pub mod rp;
pub mod terminal;

/// PEM armour (shared by the benchmarks).
pub fn bench_pem(label: &str, der: &[u8]) -> String {
    openmyna_jpki::pem(label, der)
}
