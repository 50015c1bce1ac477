//! The sealed-field format: `v1.<key version>.<base64url(nonce | ciphertext | tag)>`, AES-256-GCM
//! with associated data binding the tenant, the item, the field and the key version, so a
//! ciphertext copied to another field, item or tenant fails to open.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, NONCE_LEN};
use data_encoding::BASE64URL_NOPAD;

pub const FORMAT: &str = "v1";

/// Where a sealed value belongs; all of it is authenticated.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub tenant: &'a str,
    pub item: &'a str,
    pub field: &'a str,
}

impl Binding<'_> {
    fn aad(&self, key_version: u32) -> String {
        format!("travel-envelope|{FORMAT}|tenant={}|item={}|field={}|key={key_version}", self.tenant, self.item, self.field)
    }
}

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub key_version: u32,
    sealed: Vec<u8>,
}

impl Envelope {
    pub fn parse(text: &str) -> Option<Envelope> {
        let mut parts = text.splitn(3, '.');
        if parts.next()? != FORMAT {
            return None;
        }
        let key_version = parts.next()?.parse().ok()?;
        let sealed = BASE64URL_NOPAD.decode(parts.next()?.as_bytes()).ok()?;
        (sealed.len() > NONCE_LEN).then_some(Envelope { key_version, sealed })
    }

    pub fn seal(key: &LessSafeKey, key_version: u32, binding: Binding<'_>, plaintext: &[u8]) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).ok()?;
        let mut buf = plaintext.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(binding.aad(key_version).as_bytes()), &mut buf).ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Some(format!("{FORMAT}.{key_version}.{}", BASE64URL_NOPAD.encode(&out)))
    }

    /// Opens with the key of this envelope's version; None if anything does not match.
    pub fn open(&self, key: &LessSafeKey, binding: Binding<'_>) -> Option<Vec<u8>> {
        let (nonce, sealed) = self.sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = sealed.to_vec();
        let plain = key.open_in_place(nonce, Aad::from(binding.aad(self.key_version).as_bytes()), &mut buf).ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::aead::{UnboundKey, AES_256_GCM};

    fn key(byte: u8) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[byte; 32]).unwrap())
    }

    #[test]
    fn opens_only_where_it_was_sealed() {
        let k = key(1);
        let here = Binding { tenant: "t_a", item: "PROFILE/u_1", field: "passport" };
        let text = Envelope::seal(&k, 3, here, b"P1234567").unwrap();
        assert!(text.starts_with("v1.3."));
        assert!(!text.contains("P1234567"));
        let env = Envelope::parse(&text).unwrap();
        assert_eq!(env.open(&k, here).unwrap(), b"P1234567");
        for elsewhere in [Binding { tenant: "t_b", ..here }, Binding { item: "PROFILE/u_2", ..here }, Binding { field: "phone", ..here }] {
            assert!(env.open(&k, elsewhere).is_none(), "{elsewhere:?}");
        }
        assert!(env.open(&key(2), here).is_none(), "another key");
        // Relabelling the key version breaks the binding too.
        let relabelled = Envelope::parse(&text.replacen("v1.3.", "v1.4.", 1)).unwrap();
        assert!(relabelled.open(&k, here).is_none());
        assert!(Envelope::parse("P1234567").is_none());
        assert!(Envelope::parse("v2.1.AAAA").is_none());
    }
}
