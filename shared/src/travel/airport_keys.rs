//! How the compiled airport tables are keyed; shared/build.rs builds them with these same
//! functions, so a lookup hashes and compares as the build did. The sandbox supplier draws its
//! deterministic numbers from the same hash.

/// The key airports are found by city with: lower case, character by character.
pub fn city_key(city: &str) -> String {
    city.chars().flat_map(char::to_lowercase).collect()
}

/// FNV-1a's starting value.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, continued from `hash` over `bytes`: a stable hash, the same on every machine and
/// toolchain.
pub fn fnv1a(hash: u64, bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(hash, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Where a key's search starts in a table of slots.
pub fn key_hash(key: &[u8]) -> u64 {
    fnv1a(FNV_OFFSET, key.iter().copied())
}
