//! The `openmyna` program as a library: configuration, the composition root and the demo
//! installation. `main.rs` is the command line on top; integration tests start the same server.

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
