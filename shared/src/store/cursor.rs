//! Opaque, tamper-proof tokens signed with HMAC-SHA256 under the deployment's cursor key.
//! Pagination cursors carry the last key of a page, bound to the partition it was read from: an
//! edited cursor, or one replayed against another partition (another tenant's, say), is
//! refused. Other tokens (audit verification checkpoints) are sealed for a purpose of their
//! own, so a token of one kind never opens as another.

use super::{LastKey, Partition, StoreError, StoreResult};
use aws_lc_rs::{constant_time, hmac};
use data_encoding::BASE64URL_NOPAD;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

#[derive(Clone)]
pub struct CursorCodec {
    key: hmac::Key,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Partition key the cursor belongs to.
    p: String,
    /// Whether it was a query on the index.
    i: bool,
    k: LastKey,
}

/// The purpose pagination cursors are sealed for.
const PAGE: &str = "page";
/// Longer tokens are refused before any decoding.
const MAX_TOKEN: usize = 2048;

impl CursorCodec {
    /// `secret` must be at least 32 bytes of key material.
    pub fn new(secret: &[u8]) -> Self {
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    pub fn seal(&self, partition: &Partition, last: &LastKey) -> String {
        self.seal_value(PAGE, &Payload { p: partition.pk().to_string(), i: partition.on_index(), k: last.clone() })
    }

    pub fn open(&self, cursor: &str, partition: &Partition) -> StoreResult<LastKey> {
        let payload: Payload = self.open_value(PAGE, cursor)?;
        let key_in_partition =
            if partition.on_index() { payload.k.ipk.as_deref() == Some(partition.pk()) } else { payload.k.pk == partition.pk() };
        if payload.p != partition.pk() || payload.i != partition.on_index() || !key_in_partition {
            return Err(StoreError::BadCursor);
        }
        Ok(payload.k)
    }

    /// `value` as JSON with its tag for `purpose`: `<body>.<tag>`, both base64url.
    pub fn seal_value<T: Serialize>(&self, purpose: &str, value: &T) -> String {
        let body = serde_json::to_vec(value).unwrap_or_default();
        let tag = self.tag(purpose, &body);
        format!("{}.{}", BASE64URL_NOPAD.encode(&body), BASE64URL_NOPAD.encode(tag.as_ref()))
    }

    /// The value of a token sealed by this key for `purpose`; `BadCursor` for anything else.
    pub fn open_value<T: DeserializeOwned>(&self, purpose: &str, token: &str) -> StoreResult<T> {
        if token.len() > MAX_TOKEN {
            return Err(StoreError::BadCursor);
        }
        let (body, tag) = token.split_once('.').ok_or(StoreError::BadCursor)?;
        let body = BASE64URL_NOPAD.decode(body.as_bytes()).map_err(|_| StoreError::BadCursor)?;
        let tag = BASE64URL_NOPAD.decode(tag.as_bytes()).map_err(|_| StoreError::BadCursor)?;
        let expected = self.tag(purpose, &body);
        constant_time::verify_slices_are_equal(expected.as_ref(), &tag).map_err(|_| StoreError::BadCursor)?;
        serde_json::from_slice(&body).map_err(|_| StoreError::BadCursor)
    }

    /// HMAC over the purpose, a zero byte and the body: the purpose is part of what is signed.
    fn tag(&self, purpose: &str, body: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(purpose.as_bytes());
        context.update(&[0]);
        context.update(body);
        context.sign()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TenantId;
    use crate::store::Collection;
    use crate::tenancy::TenantScope;

    #[test]
    fn cursors_round_trip_and_refuse_edits_and_other_partitions() {
        let codec = CursorCodec::new(&[7u8; 32]);
        let a = TenantScope::trusted(TenantId::generate());
        let b = TenantScope::trusted(TenantId::generate());
        let part = a.partition(Collection::User);
        let last = LastKey { pk: part.pk().into(), sk: "u_1".into(), ipk: None, isk: None };
        let c = codec.seal(&part, &last);
        assert_eq!(codec.open(&c, &part).unwrap(), last);
        assert!(matches!(codec.open(&c, &b.partition(Collection::User)), Err(StoreError::BadCursor)));

        // Re-point the payload at tenant b and keep the old tag: the HMAC refuses it.
        let (body, tag) = c.split_once('.').unwrap();
        let text = String::from_utf8(BASE64URL_NOPAD.decode(body.as_bytes()).unwrap()).unwrap();
        let forged = text.replace(a.tenant_id().as_str(), b.tenant_id().as_str());
        let forged = format!("{}.{tag}", BASE64URL_NOPAD.encode(forged.as_bytes()));
        assert!(matches!(codec.open(&forged, &b.partition(Collection::User)), Err(StoreError::BadCursor)));
        // Another deployment's key does not open it either.
        assert!(CursorCodec::new(&[8u8; 32]).open(&c, &part).is_err());
        assert!(codec.open("garbage", &part).is_err());
    }

    #[test]
    fn a_token_opens_only_for_the_purpose_it_was_sealed_for() {
        let codec = CursorCodec::new(&[7u8; 32]);
        let token = codec.seal_value("audit-checkpoint", &(5u64, "ab"));
        assert_eq!(codec.open_value::<(u64, String)>("audit-checkpoint", &token).unwrap(), (5, "ab".to_string()));
        assert!(codec.open_value::<(u64, String)>("page", &token).is_err());
        // A pagination cursor is not a checkpoint either, even where the shapes would agree.
        let part = TenantScope::trusted(TenantId::generate()).partition(Collection::User);
        let cursor = codec.seal(&part, &LastKey { pk: part.pk().into(), sk: "u_1".into(), ipk: None, isk: None });
        assert!(codec.open_value::<serde_json::Value>("audit-checkpoint", &cursor).is_err());
        assert!(codec.open_value::<serde_json::Value>("page", &cursor).is_ok());
    }
}
