pub mod admin;
pub mod applications;
pub mod cards;
pub mod eligibility;
pub mod fourinfo;
pub mod jpki;
pub mod registry;
pub mod system;
