//! Opaque, tamper-proof pagination cursors: the last key of a page, bound to the partition it
//! was read from and signed with HMAC-SHA256. An edited cursor, or one replayed against another
//! partition (another tenant's, say), is refused.

use super::{LastKey, Partition, StoreError, StoreResult};
use aws_lc_rs::{constant_time, hmac};
use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};

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

impl CursorCodec {
    /// `secret` must be at least 32 bytes of key material.
    pub fn new(secret: &[u8]) -> Self {
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    pub fn seal(&self, partition: &Partition, last: &LastKey) -> String {
        let payload = Payload { p: partition.pk().to_string(), i: partition.on_index(), k: last.clone() };
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let tag = hmac::sign(&self.key, &body);
        format!("{}.{}", BASE64URL_NOPAD.encode(&body), BASE64URL_NOPAD.encode(tag.as_ref()))
    }

    pub fn open(&self, cursor: &str, partition: &Partition) -> StoreResult<LastKey> {
        if cursor.len() > 2048 {
            return Err(StoreError::BadCursor);
        }
        let (body, tag) = cursor.split_once('.').ok_or(StoreError::BadCursor)?;
        let body = BASE64URL_NOPAD.decode(body.as_bytes()).map_err(|_| StoreError::BadCursor)?;
        let tag = BASE64URL_NOPAD.decode(tag.as_bytes()).map_err(|_| StoreError::BadCursor)?;
        let expected = hmac::sign(&self.key, &body);
        constant_time::verify_slices_are_equal(expected.as_ref(), &tag).map_err(|_| StoreError::BadCursor)?;
        let payload: Payload = serde_json::from_slice(&body).map_err(|_| StoreError::BadCursor)?;
        let key_in_partition =
            if partition.on_index() { payload.k.ipk.as_deref() == Some(partition.pk()) } else { payload.k.pk == partition.pk() };
        if payload.p != partition.pk() || payload.i != partition.on_index() || !key_in_partition {
            return Err(StoreError::BadCursor);
        }
        Ok(payload.k)
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
}
