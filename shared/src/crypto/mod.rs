//! Envelope encryption of restricted data: a key-service port (KMS, or a local key ring) wraps
//! per-tenant, versioned AES-256 data keys; fields are sealed with AES-256-GCM under them.

pub mod envelope;
pub mod keyring;
pub mod keyservice;
pub mod luhn;

pub use envelope::Envelope;
pub use keyring::Keyring;
pub use keyservice::{KeyError, KeyService};
