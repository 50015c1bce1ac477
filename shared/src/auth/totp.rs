//! TOTP second factor (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits), with one step of clock skew
//! allowed either way and replay of an already used step refused.

use aws_lc_rs::hmac;
use data_encoding::BASE32_NOPAD;

pub const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;

/// A new random secret (160 bits), base32 as authenticator apps expect.
pub fn generate_secret() -> String {
    crate::ids::random_token(20)
}

pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code for a step, or None if the secret is not valid base32.
pub fn code_for_step(secret_b32: &str, step: i64) -> Option<String> {
    let secret = BASE32_NOPAD.decode(secret_b32.trim_end_matches('=').as_bytes()).ok()?;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &secret);
    let tag = hmac::sign(&key, &(step as u64).to_be_bytes());
    let mac = tag.as_ref();
    let offset = (mac[mac.len() - 1] & 0x0f) as usize;
    let bin = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    Some(format!("{:0width$}", bin % 10u32.pow(DIGITS), width = DIGITS as usize))
}

pub fn code_at(secret_b32: &str, unix_seconds: i64) -> Option<String> {
    code_for_step(secret_b32, step_at(unix_seconds))
}

/// Checks a code and returns the step it matched, refusing steps at or before `last_used`.
pub fn verify(secret_b32: &str, code: &str, unix_seconds: i64, last_used: Option<i64>) -> Option<i64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_seconds);
    (now - 1..=now + 1).filter(|step| last_used.is_none_or(|used| *step > used)).find(|step| {
        code_for_step(secret_b32, *step)
            .is_some_and(|expected| aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), code.as_bytes()).is_ok())
    })
}

pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| s.replace('%', "%25").replace(' ', "%20").replace(':', "%3A").replace('@', "%40").replace('&', "%26");
    format!("otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits=6&period=30", enc(issuer), enc(account), enc(issuer))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA1 rows (8-digit codes there; the last 6 digits are ours).
    #[test]
    fn matches_rfc6238_test_vectors() {
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        for (t, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(code_at(&secret, t).unwrap(), &eight[2..], "t={t}");
        }
    }

    #[test]
    fn accepts_one_step_of_skew_and_refuses_replay() {
        let secret = generate_secret();
        let now = 1_700_000_000;
        let code = code_at(&secret, now - 30).unwrap();
        let step = verify(&secret, &code, now, None).expect("previous step accepted");
        assert_eq!(verify(&secret, &code, now, Some(step)), None, "replay refused");
        let old = code_at(&secret, now - 90).unwrap();
        assert_eq!(verify(&secret, &old, now, None), None, "too old");
        assert_eq!(verify(&secret, "12345", now, None), None);
        assert_eq!(verify(&secret, "abcdef", now, None), None);
    }
}
