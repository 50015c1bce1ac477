//! Background jobs: run by their own Lambda function on a schedule, and by the local API in a
//! background task.

pub mod audit_archive;
pub mod reencrypt;
