//! Argon2id password hashing (OWASP parameters: 19 MiB, 2 passes, 1 lane).

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Mutex, OnceLock};

fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("static Argon2 parameters are valid")
}

/// One 19 MiB working area per process, reused by every hash. Allocating and freeing it per
/// hash makes glibc raise its mmap threshold and then keep the freed areas in the heap: a
/// container grew by hundreds of MB over a few hundred sign-ins. Concurrent hashes (the local
/// server) that find it busy use a temporary area.
static MEMORY: Mutex<Vec<Block>> = Mutex::new(Vec::new());

fn compute(argon: &Argon2, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), argon2::Error> {
    let blocks = argon.params().block_count();
    let mut temporary = Vec::new();
    // Only our own parameters use (and size) the shared area; anything else gets its own.
    let mut shared = if blocks == params().block_count() { MEMORY.try_lock().ok() } else { None };
    let memory: &mut Vec<Block> = match shared.as_deref_mut() {
        Some(memory) => memory,
        None => {
            temporary.try_reserve_exact(blocks).map_err(|_| argon2::Error::OutOfMemory)?;
            &mut temporary
        }
    };
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    // Argon2 writes every block before it reads it, so a reused area needs no clearing.
    argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
}

/// The most a stored hash may ask for: a tampered or imported row must not make a sign-in
/// allocate gigabytes or spin for minutes.
fn acceptable(algorithm: Algorithm, version: Version, params: &Params) -> bool {
    algorithm == Algorithm::Argon2id
        && version == Version::V0x13
        && params.m_cost() <= 64 * 1024
        && params.t_cost() <= 10
        && params.p_cost() <= 4
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) for a new password.
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).expect("the system random generator is available");
    let params = params();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, password.as_bytes(), &salt, &mut out).expect("hashing a password with valid parameters");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("static parameters format"),
        salt: Some(Salt::new(&salt).expect("16 bytes is a valid salt")),
        hash: Some(Output::new(&out).expect("32 bytes is a valid output")),
    }
    .to_string()
}

/// Checks a password against a stored PHC string, with the parameters the string names.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(parsed.algorithm.as_str()), Params::try_from(&parsed)) else { return false };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    if !acceptable(algorithm, version, &params) {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    if compute(&Argon2::new(algorithm, version, params), password.as_bytes(), salt, &mut out).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|computed| &computed == expected)
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
        // Hashes made by the argon2 crate itself (other parameters too) still verify.
        use argon2::password_hash::PasswordHasher;
        let light = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap());
        let theirs = light.hash_password_with_salt(b"correct horse battery", b"0123456789abcdef").unwrap().to_string();
        assert!(verify("correct horse battery", &theirs));
        assert!(!verify("correct horse batterz", &theirs));
        // A stored hash asking for 4 GiB or another algorithm is refused without running it.
        let greedy = theirs.replace("m=1024", "m=4194304");
        assert!(!verify("correct horse battery", &greedy));
        assert!(!verify("correct horse battery", &theirs.replace("argon2id", "argon2i")));
        assert!(check_strength("short").is_err());
        assert!(check_strength("long enough password").is_ok());
    }
}
