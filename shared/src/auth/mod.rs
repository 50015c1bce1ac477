//! Identity: password hashing, TOTP second factor, access tokens, sign-in throttling.

pub mod password;
pub mod throttle;
pub mod token;
pub mod totp;
