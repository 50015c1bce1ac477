//! How the compiled airport tables are keyed; shared/build.rs builds them with these same
//! functions, so a lookup hashes and compares as the build did.

/// The key airports are found by city with: lower case, character by character.
pub fn city_key(city: &str) -> String {
    city.chars().flat_map(char::to_lowercase).collect()
}

/// FNV-1a of a key: where its search starts in a table of slots (the same on every machine).
pub fn key_hash(key: &[u8]) -> u64 {
    key.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
