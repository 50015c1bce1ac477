//! Domain records and their storage, written once on the table port.

pub mod bookings;
pub mod company;
pub mod policy;
pub mod profile;
pub mod reports;
pub mod tenants;
pub mod users;
pub mod validate;
