//! The audit trail: one event for every request that reads or changes tenant data and every
//! denied attempt: in the transaction of the change it records, or by the pipeline after the
//! answer (a request answered with an error after its change landed gets a second event).
//! Events are chained by hash per tenant (and one chain for the platform), so an altered,
//! removed or reordered event is detected.

pub mod chain;
pub mod request;
pub mod verify;

pub use chain::{append, append_cached, AuditEvent, AuditInput, HeadCache};
pub use verify::{verify, Start, Verification};
