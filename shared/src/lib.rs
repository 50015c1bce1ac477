//! The crate every function uses: tenancy and RBAC, identity, storage, secrets, errors, the
//! request pipeline and the endpoint handlers. Function binaries are one line over [`lambda`].

pub mod alerts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod authorizer;
pub mod aws_sdk;
pub mod clock;
pub mod config;
pub mod cors;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod lambda;
pub mod logging;
pub mod objects;
pub mod openapi;
pub mod rbac;
pub mod routes;
pub mod secrets;
pub mod seed;
pub mod store;
pub mod tenancy;
pub mod travel;
