pub mod admin;
pub mod jpki;
pub mod registry;
pub mod system;
