//! Argon2id password hashing (OWASP parameters: 19 MiB, 2 passes, 1 lane).

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).expect("the system random generator is available");
    hasher().hash_password_with_salt(password.as_bytes(), &salt).expect("hashing a password with valid parameters").to_string()
}

pub fn verify(password: &str, stored: &str) -> bool {
    PasswordVerifier::<str>::verify_password(&hasher(), password.as_bytes(), stored).is_ok()
}

/// Spends the same work as a real verification, so an unknown email answers as slowly as a
/// wrong password (no user enumeration by timing).
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("dummy password for timing equalisation"));
    let _ = verify(password, dummy);
}

/// Minimum rules for a password set by a user or an admin.
pub fn check_strength(password: &str) -> Result<(), &'static str> {
    let len = password.chars().count();
    if len < 12 {
        return Err("must be at least 12 characters");
    }
    if len > 256 {
        return Err("must be at most 256 characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse battery");
        let b = hash("correct horse battery");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(a, b, "salted");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("wrong horse battery", &a));
        assert!(!verify("anything", "not a hash"));
        assert!(check_strength("short").is_err());
        assert!(check_strength("long enough password").is_ok());
    }
}
