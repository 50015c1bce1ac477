//! The key-service port: makes and unwraps per-tenant data keys. The tenant id travels as the
//! encryption context, so a key wrapped for one tenant does not unwrap for another.

use crate::ids::TenantId;
use async_trait::async_trait;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use thiserror::Error;
use zeroize::Zeroizing;

pub const DATA_KEY_LEN: usize = 32;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The service could not be reached or failed: the request must fail closed.
    #[error("key service unavailable: {0}")]
    Unavailable(String),
    /// The wrapped key does not unwrap under this tenant's context (moved, or tampered).
    #[error("the data key does not unwrap for this tenant")]
    Refused,
}

pub struct DataKey {
    pub plaintext: Zeroizing<Vec<u8>>,
    pub wrapped: Vec<u8>,
}

#[async_trait]
pub trait KeyService: Send + Sync {
    async fn generate_data_key(&self, tenant: &TenantId) -> Result<DataKey, KeyError>;
    async fn decrypt_data_key(&self, tenant: &TenantId, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError>;
}

pub const CONTEXT_KEY: &str = "tenant";

/// AWS KMS: GenerateDataKey and Decrypt with the encryption context {"tenant": id}.
pub struct KmsKeyService {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsKeyService {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self { client, key_id: key_id.into() }
    }
}

fn kms_error<E, R>(e: aws_sdk_kms::error::SdkError<E, R>) -> KeyError
where
    E: std::error::Error + aws_sdk_kms::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = e.as_service_error().and_then(|s| s.code()).unwrap_or_default().to_string();
    match code.as_str() {
        "InvalidCiphertextException" | "IncorrectKeyException" | "AccessDeniedException" => KeyError::Refused,
        _ => KeyError::Unavailable(aws_sdk_kms::error::DisplayErrorContext(&e).to_string()),
    }
}

#[async_trait]
impl KeyService for KmsKeyService {
    async fn generate_data_key(&self, tenant: &TenantId) -> Result<DataKey, KeyError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, tenant.as_str())
            .send()
            .await
            .map_err(kms_error)?;
        let plaintext = out.plaintext.ok_or_else(|| KeyError::Unavailable("no plaintext key".into()))?.into_inner();
        let wrapped = out.ciphertext_blob.ok_or_else(|| KeyError::Unavailable("no wrapped key".into()))?.into_inner();
        Ok(DataKey { plaintext: Zeroizing::new(plaintext), wrapped })
    }

    async fn decrypt_data_key(&self, tenant: &TenantId, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(wrapped.to_vec()))
            .encryption_context(CONTEXT_KEY, tenant.as_str())
            .send()
            .await
            .map_err(kms_error)?;
        let plaintext = out.plaintext.ok_or_else(|| KeyError::Unavailable("no plaintext key".into()))?.into_inner();
        Ok(Zeroizing::new(plaintext))
    }
}

/// A local key ring: a master key in a file of mode 0600 wraps data keys with AES-256-GCM,
/// the tenant id as associated data (the same semantics as KMS's encryption context).
pub struct LocalKeyRing {
    master: LessSafeKey,
}

const WRAP_AAD_PREFIX: &str = "local-keyring-v1|tenant=";

impl LocalKeyRing {
    /// Opens the master key file, creating it (mode 0600) with a random key if absent.
    pub fn open_or_create(path: &Path) -> std::io::Result<Self> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let bytes = match std::fs::read(path) {
            Ok(b) => Zeroizing::new(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut key = Zeroizing::new(vec![0u8; DATA_KEY_LEN]);
                aws_lc_rs::rand::fill(&mut key).map_err(|_| std::io::Error::other("random generator failed"))?;
                let mut f = std::fs::OpenOptions::new().create_new(true).write(true).mode(0o600).open(path)?;
                f.write_all(&key)?;
                f.sync_all()?;
                key
            }
            Err(e) => return Err(e),
        };
        Self::from_bytes(&bytes).map_err(std::io::Error::other)
    }

    pub fn from_bytes(master: &[u8]) -> Result<Self, String> {
        let key = UnboundKey::new(&AES_256_GCM, master).map_err(|_| "the master key must be 32 bytes".to_string())?;
        Ok(Self { master: LessSafeKey::new(key) })
    }

    fn aad(tenant: &TenantId) -> String {
        format!("{WRAP_AAD_PREFIX}{tenant}")
    }
}

#[async_trait]
impl KeyService for LocalKeyRing {
    async fn generate_data_key(&self, tenant: &TenantId) -> Result<DataKey, KeyError> {
        let mut plaintext = Zeroizing::new(vec![0u8; DATA_KEY_LEN]);
        aws_lc_rs::rand::fill(&mut plaintext).map_err(|_| KeyError::Unavailable("random generator failed".into()))?;
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| KeyError::Unavailable("random generator failed".into()))?;
        let mut sealed = plaintext.to_vec();
        self.master
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(Self::aad(tenant).as_bytes()), &mut sealed)
            .map_err(|_| KeyError::Unavailable("wrapping failed".into()))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        Ok(DataKey { plaintext, wrapped })
    }

    async fn decrypt_data_key(&self, tenant: &TenantId, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if wrapped.len() < NONCE_LEN + DATA_KEY_LEN {
            return Err(KeyError::Refused);
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Refused)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plain = self.master.open_in_place(nonce, Aad::from(Self::aad(tenant).as_bytes()), &mut buf).map_err(|_| KeyError::Refused)?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

/// Counts calls to the wrapped key service (measurements and tests).
pub struct CountingKeyService {
    inner: Arc<dyn KeyService>,
    pub generated: AtomicU64,
    pub decrypted: AtomicU64,
}

impl CountingKeyService {
    pub fn new(inner: Arc<dyn KeyService>) -> Self {
        Self { inner, generated: AtomicU64::new(0), decrypted: AtomicU64::new(0) }
    }

    pub fn calls(&self) -> (u64, u64) {
        (self.generated.load(Ordering::SeqCst), self.decrypted.load(Ordering::SeqCst))
    }
}

#[async_trait]
impl KeyService for CountingKeyService {
    async fn generate_data_key(&self, tenant: &TenantId) -> Result<DataKey, KeyError> {
        self.generated.fetch_add(1, Ordering::SeqCst);
        self.inner.generate_data_key(tenant).await
    }

    async fn decrypt_data_key(&self, tenant: &TenantId, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.decrypted.fetch_add(1, Ordering::SeqCst);
        self.inner.decrypt_data_key(tenant, wrapped).await
    }
}

/// A key service that always fails, to prove requests fail closed.
pub struct UnavailableKeyService;

#[async_trait]
impl KeyService for UnavailableKeyService {
    async fn generate_data_key(&self, _: &TenantId) -> Result<DataKey, KeyError> {
        Err(KeyError::Unavailable("key service down".into()))
    }
    async fn decrypt_data_key(&self, _: &TenantId, _: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        Err(KeyError::Unavailable("key service down".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_ring_unwraps_only_for_the_same_tenant_and_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/master.key");
        let ring = LocalKeyRing::open_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let a = TenantId::generate();
        let b = TenantId::generate();
        let dk = ring.generate_data_key(&a).await.unwrap();
        assert_eq!(dk.plaintext.len(), DATA_KEY_LEN);
        assert_eq!(*ring.decrypt_data_key(&a, &dk.wrapped).await.unwrap(), *dk.plaintext);
        assert_eq!(ring.decrypt_data_key(&b, &dk.wrapped).await.unwrap_err(), KeyError::Refused);
        // Reopening the same file unwraps what the first instance wrapped.
        let again = LocalKeyRing::open_or_create(&path).unwrap();
        assert_eq!(*again.decrypt_data_key(&a, &dk.wrapped).await.unwrap(), *dk.plaintext);
        let mut tampered = dk.wrapped.clone();
        tampered[20] ^= 1;
        assert_eq!(ring.decrypt_data_key(&a, &tampered).await.unwrap_err(), KeyError::Refused);
    }
}
