//! Identifiers: random, URL-safe, prefixed by kind so a tenant id is never mistaken for a user id.

use crate::error::{ApiError, ApiResult};
use data_encoding::BASE32_NOPAD;
use serde::{Deserialize, Serialize};
use std::fmt;

const ID_CHARS: usize = 16;

/// 80 random bits as 16 lowercase base32 characters, with a kind prefix.
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_token(10).to_ascii_lowercase())
}

/// Random bytes from the system generator as unpadded base32.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("the system random generator is available");
    BASE32_NOPAD.encode(&buf)
}

fn well_formed(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|r| r.len() == ID_CHARS && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

macro_rules! id_type {
    ($name:ident, $prefix:literal, $field:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn generate() -> Self {
                Self(random_id($prefix))
            }
            /// Parses an id from untrusted input; a malformed id is a validation error.
            pub fn parse(s: &str) -> ApiResult<Self> {
                Self::try_from(s.to_string()).map_err(|_| ApiError::validation($field, "is not a well-formed id"))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                if well_formed($prefix, &s) {
                    Ok(Self(s))
                } else {
                    Err(format!("malformed {} id", $prefix))
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(TenantId, "t", "tenant_id");

impl TenantId {
    /// The platform's own key space (root admins' sealed TOTP secrets). Generated ids are
    /// base32 (a-z, 2-7), so this id, with its zeros, can never be a tenant's.
    pub fn platform() -> Self {
        Self("t_platform00000000".into())
    }
}
id_type!(UserId, "u", "id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_foreign_shapes_do_not() {
        let t = TenantId::generate();
        assert_eq!(TenantId::parse(t.as_str()).unwrap(), t);
        assert!(UserId::parse(t.as_str()).is_err(), "a tenant id is not a user id");
        assert!(TenantId::parse(TenantId::platform().as_str()).is_ok());
        assert!((0..1000).all(|_| TenantId::generate() != TenantId::platform()));
        for bad in ["", "t_", "t_ABCDEFGHIJKLMNOP", "t_abc", "t_aaaaaaaaaaaaaaaa#USER", "x_aaaaaaaaaaaaaaaa"] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
    }
}
