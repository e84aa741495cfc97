//! The integration tests: one binary (one link, one process), one module per part.
//!
//! Each test starts the real server on port 0 with a fresh database (`common::spawn_app`)
//! and drives it with a real client; `on_both_backends!` runs a scenario on SQLite and on
//! PostgreSQL (reported as ignored when no PostgreSQL is configured at build time).
//!
//! The kit (`common`): `spawn_app` and `TestApp`; `app.as_role(Role::…)`, `app.as_token(…)`
//! and `app.anonymous()` give a client acting as one caller (`common::client`); photos, cards
//! and encodings come from `common::fixtures`, never from a copy in a module.
//!
//! Add a module here for a new part; do not add files beside `tests/it/` — every file there
//! would be another binary to link.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

#[macro_use]
mod common;

mod applications;
mod browser;
mod campaigns;
mod card;
mod card_life;
mod card_pcsc;
mod console;
mod crash;
mod eligibility;
mod fourinfo;
mod households;
mod http_examples;
mod jpki_interop;
mod konbini;
mod migrations;
mod ocsp_http;
mod oidc;
mod platform;
mod population;
mod portal;
mod registry_api;
mod several_servers;
mod slow_clients;
