//! Integration and end-to-end tests, in one test binary so the SDK is linked once.

mod alerts;
mod audit;
mod aws_adapters;
mod bookings;
mod contract;
mod e2e;
mod events;
mod matrix;
mod openapi;
mod operator;
mod security;
mod template;
mod travel;
