//! Access tokens: EdDSA (Ed25519) JWTs with a `kid`, issued by the sign-in function from a
//! private key held in Secrets Manager, verified everywhere else against a JWKS of public keys
//! (current and previous, so keys rotate without downtime).
//!
//! Verification pins the algorithm to EdDSA (no `none`, no HMAC with a public key), requires
//! `exp`, `nbf`, `iss`, `aud` and `sub`, checks `exp` and `nbf` against the time the caller
//! gives (the app's clock, which also stamps tokens when they are issued), and never follows
//! `jku`, `x5u` or `jwk` headers: keys come only from the configured JWKS.

use crate::ids::random_token;
use crate::rbac::Role;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;

/// Access tokens live 15 minutes.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// User id.
    pub sub: String,
    /// Tenant id; absent for root_admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    pub roles: Vec<Role>,
    /// Authentication methods: `pwd`, and `otp` after a second factor.
    pub amr: Vec<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token algorithm is not allowed")]
    AlgorithmNotAllowed,
    #[error("token key id is unknown")]
    UnknownKey,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer is wrong")]
    WrongIssuer,
    #[error("token audience is wrong")]
    WrongAudience,
    #[error("signing key material is invalid")]
    BadKeyMaterial,
}

/// The private signing key as stored in the signing-key secret.
#[derive(Serialize, Deserialize)]
pub struct SigningKeySecret {
    pub kid: String,
    /// PKCS#8 DER of the Ed25519 key, standard base64.
    pub private_key_pkcs8: String,
}

/// One public key of the JWKS (RFC 8037 OKP).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub kid: String,
    pub x: String,
    #[serde(rename = "use", default)]
    pub use_: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// A freshly generated key pair: the signing secret and its public JWK.
pub fn generate_key_pair() -> (SigningKeySecret, Jwk) {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 key generation");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a freshly generated key parses");
    let kid = format!("k{}", random_token(10).to_ascii_lowercase());
    let secret = SigningKeySecret { kid: kid.clone(), private_key_pkcs8: BASE64.encode(pkcs8.as_ref()) };
    let jwk = Jwk {
        kty: "OKP".into(),
        crv: "Ed25519".into(),
        kid,
        x: BASE64URL_NOPAD.encode(pair.public_key().as_ref()),
        use_: Some("sig".into()),
        alg: Some("EdDSA".into()),
    };
    (secret, jwk)
}

/// Rotates the signing key: a new key pair becomes current, and the verification set keeps
/// the new key and the one it replaces (tokens signed before keep verifying until they expire).
/// With no current key (a new environment) it simply makes the first one.
pub fn rotate(current_jwks: Option<&str>) -> Result<(SigningKeySecret, Jwks), TokenError> {
    let (secret, jwk) = generate_key_pair();
    let mut keys = vec![jwk];
    if let Some(text) = current_jwks.filter(|t| !t.trim().is_empty()) {
        let old: Jwks = serde_json::from_str(text).map_err(|_| TokenError::BadKeyMaterial)?;
        keys.extend(old.keys.into_iter().take(1));
    }
    Ok((secret, Jwks { keys }))
}

pub struct TokenSigner {
    kid: String,
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl TokenSigner {
    pub fn from_secret(secret_json: &str, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let secret: SigningKeySecret = serde_json::from_str(secret_json).map_err(|_| TokenError::BadKeyMaterial)?;
        let der = BASE64.decode(secret.private_key_pkcs8.as_bytes()).map_err(|_| TokenError::BadKeyMaterial)?;
        Ed25519KeyPair::from_pkcs8(&der).map_err(|_| TokenError::BadKeyMaterial)?;
        Ok(Self { kid: secret.kid, key: EncodingKey::from_ed_der(&der), issuer: issuer.into(), audience: audience.into() })
    }

    /// Issues an access token valid from `now` for [`ACCESS_TOKEN_SECONDS`].
    pub fn issue(&self, user_id: &str, tenant_id: Option<&str>, roles: &[Role], amr: &[&str], now: i64) -> String {
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.into(),
            tid: tenant_id.map(str::to_string),
            roles: roles.to_vec(),
            amr: amr.iter().map(|s| s.to_string()).collect(),
            iat: now,
            nbf: now,
            exp: now + ACCESS_TOKEN_SECONDS,
            jti: random_token(10),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims (tests build expired and future tokens with it).
    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("signing with a validated Ed25519 key")
    }
}

pub struct TokenVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl TokenVerifier {
    pub fn from_jwks(jwks_json: &str, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let jwks: Jwks = serde_json::from_str(jwks_json).map_err(|_| TokenError::BadKeyMaterial)?;
        let mut keys = HashMap::new();
        for k in jwks.keys {
            if k.kty != "OKP" || k.crv != "Ed25519" {
                continue;
            }
            keys.insert(k.kid.clone(), DecodingKey::from_ed_components(&k.x).map_err(|_| TokenError::BadKeyMaterial)?);
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        // The library would read the system clock; `verify` checks both against the app's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        Ok(Self { keys, validation })
    }

    /// The token's claims if it is ours and valid at `now` (unix seconds, the app's clock).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        if token.len() > 8192 {
            return Err(TokenError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self.keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map(|d| d.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidIssuer => TokenError::WrongIssuer,
                K::InvalidAudience => TokenError::WrongAudience,
                K::InvalidSignature => TokenError::BadSignature,
                K::InvalidAlgorithm => TokenError::AlgorithmNotAllowed,
                _ => TokenError::Malformed,
            }
        })?;
        if claims.exp < now - LEEWAY_SECONDS {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now + LEEWAY_SECONDS {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://auth.test";
    const AUD: &str = "travel-api";

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn setup() -> (TokenSigner, TokenVerifier, Jwk) {
        let (secret, jwk) = generate_key_pair();
        let signer = TokenSigner::from_secret(&serde_json::to_string(&secret).unwrap(), ISS, AUD).unwrap();
        let jwks = serde_json::to_string(&Jwks { keys: vec![jwk.clone()] }).unwrap();
        (signer, TokenVerifier::from_jwks(&jwks, ISS, AUD).unwrap(), jwk)
    }

    fn claims(now: i64) -> Claims {
        Claims {
            iss: ISS.into(),
            aud: AUD.into(),
            sub: "u_aaaaaaaaaaaaaaaa".into(),
            tid: Some("t_aaaaaaaaaaaaaaaa".into()),
            roles: vec![Role::Traveler],
            amr: vec!["pwd".into()],
            iat: now,
            nbf: now,
            exp: now + 900,
            jti: "j".into(),
        }
    }

    fn b64(v: &serde_json::Value) -> String {
        BASE64URL_NOPAD.encode(v.to_string().as_bytes())
    }

    #[test]
    fn a_fresh_token_verifies() {
        let (signer, verifier, _) = setup();
        let t = signer.issue("u_aaaaaaaaaaaaaaaa", Some("t_aaaaaaaaaaaaaaaa"), &[Role::Traveler], &["pwd"], now());
        let c = verifier.verify(&t, now()).unwrap();
        assert_eq!(c.roles, vec![Role::Traveler]);
        assert_eq!(c.exp - c.iat, ACCESS_TOKEN_SECONDS);
    }

    #[test]
    fn times_are_checked_against_the_clock_given_not_the_systems() {
        let (signer, verifier, _) = setup();
        let then = 1_000_000_000; // 2001: long expired by the system clock
        let token = signer.issue("u_aaaaaaaaaaaaaaaa", Some("t_aaaaaaaaaaaaaaaa"), &[Role::Traveler], &["pwd"], then);
        assert!(verifier.verify(&token, then).is_ok());
        let last_good = then + ACCESS_TOKEN_SECONDS + LEEWAY_SECONDS;
        assert!(verifier.verify(&token, last_good).is_ok(), "expiry tolerates the leeway");
        assert_eq!(verifier.verify(&token, last_good + 1), Err(TokenError::Expired));
        assert!(verifier.verify(&token, then - LEEWAY_SECONDS).is_ok(), "so does not-before");
        assert_eq!(verifier.verify(&token, then - LEEWAY_SECONDS - 1), Err(TokenError::NotYetValid));
        assert_eq!(verifier.verify(&token, now()), Err(TokenError::Expired));
    }

    #[test]
    fn rejects_every_forgery_of_the_asvs_list() {
        let (signer, verifier, jwk) = setup();
        let n = now();
        let mut expired = claims(n - 3600);
        expired.exp = n - 120;
        assert_eq!(verifier.verify(&signer.sign(&expired), n), Err(TokenError::Expired));
        let mut future = claims(n);
        future.nbf = n + 600;
        assert_eq!(verifier.verify(&signer.sign(&future), n), Err(TokenError::NotYetValid));
        let mut aud = claims(n);
        aud.aud = "other-api".into();
        assert_eq!(verifier.verify(&signer.sign(&aud), n), Err(TokenError::WrongAudience));
        let mut iss = claims(n);
        iss.iss = "https://evil.test".into();
        assert_eq!(verifier.verify(&signer.sign(&iss), n), Err(TokenError::WrongIssuer));

        // Another key with an unknown kid.
        let (other_secret, _) = generate_key_pair();
        let other = TokenSigner::from_secret(&serde_json::to_string(&other_secret).unwrap(), ISS, AUD).unwrap();
        assert_eq!(verifier.verify(&other.sign(&claims(n)), n), Err(TokenError::UnknownKey));

        // alg: none, with and without a signature.
        let payload = b64(&serde_json::to_value(claims(n)).unwrap());
        let none = format!("{}.{payload}.", b64(&serde_json::json!({"alg": "none", "kid": jwk.kid})));
        assert!(verifier.verify(&none, n).is_err());

        // HS256 keyed with the public key (key confusion).
        let hs_header = jsonwebtoken::Header { alg: Algorithm::HS256, kid: Some(jwk.kid.clone()), ..Default::default() };
        let public = BASE64URL_NOPAD.decode(jwk.x.as_bytes()).unwrap();
        let hs = jsonwebtoken::encode(&hs_header, &claims(n), &EncodingKey::from_secret(&public)).unwrap();
        assert_eq!(verifier.verify(&hs, n), Err(TokenError::AlgorithmNotAllowed));
        let hs_x = jsonwebtoken::encode(&hs_header, &claims(n), &EncodingKey::from_secret(jwk.x.as_bytes())).unwrap();
        assert_eq!(verifier.verify(&hs_x, n), Err(TokenError::AlgorithmNotAllowed));

        // Tampered payload: roles raised after signing.
        let good = signer.sign(&claims(n));
        let parts: Vec<&str> = good.split('.').collect();
        let mut raised = claims(n);
        raised.roles = vec![Role::RootAdmin];
        let tampered = format!("{}.{}.{}", parts[0], b64(&serde_json::to_value(raised).unwrap()), parts[2]);
        assert_eq!(verifier.verify(&tampered, n), Err(TokenError::BadSignature));

        // A jku header pointing elsewhere is ignored: the kid still must be ours.
        let jku = format!(
            "{}.{}.{}",
            b64(&serde_json::json!({"alg": "EdDSA", "kid": "attacker", "jku": "https://evil.test/jwks"})),
            parts[1],
            parts[2]
        );
        assert_eq!(verifier.verify(&jku, n), Err(TokenError::UnknownKey));

        assert_eq!(verifier.verify("not.a.token", n), Err(TokenError::Malformed));
        assert_eq!(verifier.verify("", n), Err(TokenError::Malformed));
    }

    #[test]
    fn rotation_keeps_exactly_the_current_and_previous_keys() {
        let (_, first) = rotate(None).unwrap();
        assert_eq!(first.keys.len(), 1);
        let (_, second) = rotate(Some(&serde_json::to_string(&first).unwrap())).unwrap();
        assert_eq!(second.keys.len(), 2);
        assert_eq!(second.keys[1].kid, first.keys[0].kid);
        let (_, third) = rotate(Some(&serde_json::to_string(&second).unwrap())).unwrap();
        assert_eq!(third.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>()[1], second.keys[0].kid);
        assert_eq!(third.keys.len(), 2, "the oldest key is dropped");
    }

    #[test]
    fn previous_and_current_keys_both_verify_during_rotation() {
        let (old_secret, old_jwk) = generate_key_pair();
        let (new_secret, new_jwk) = generate_key_pair();
        let jwks = serde_json::to_string(&Jwks { keys: vec![new_jwk, old_jwk] }).unwrap();
        let verifier = TokenVerifier::from_jwks(&jwks, ISS, AUD).unwrap();
        for s in [old_secret, new_secret] {
            let signer = TokenSigner::from_secret(&serde_json::to_string(&s).unwrap(), ISS, AUD).unwrap();
            assert!(verifier.verify(&signer.sign(&claims(now())), now()).is_ok());
        }
    }
}
