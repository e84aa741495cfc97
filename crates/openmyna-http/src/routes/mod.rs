pub mod admin;
pub mod registry;
pub mod system;
