//! The object-store port: S3 in the cloud, a folder on a laptop. Keys of tenant objects are
//! built from a tenant scope and always start with `tenants/<tenant id>/`.

use crate::tenancy::TenantScope;
use async_trait::async_trait;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ObjectError {
    #[error("object store unavailable: {0}")]
    Unavailable(String),
    #[error("object key is not allowed")]
    BadKey,
}

/// A key inside the bucket; tenant keys only come from a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Objects that belong to no tenant (the platform's own audit chain).
    pub(crate) fn platform(path: &str) -> Self {
        Self(format!("platform/{path}"))
    }
}

impl TenantScope {
    pub fn object_key(&self, path: &str) -> ObjectKey {
        ObjectKey(format!("tenants/{}/{path}", self.tenant_id()))
    }
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn put(&self, key: &ObjectKey, body: Vec<u8>, content_type: &str) -> Result<(), ObjectError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ObjectError>;
    /// Keys under a prefix, in order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError>;
}

pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ObjectStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }
}

fn s3_error<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(e: aws_sdk_s3::error::SdkError<E, R>) -> ObjectError {
    ObjectError::Unavailable(aws_sdk_s3::error::DisplayErrorContext(&e).to_string())
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &ObjectKey, body: Vec<u8>, content_type: &str) -> Result<(), ObjectError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ObjectError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.body.collect().await.map_err(|e| ObjectError::Unavailable(e.to_string()))?.into_bytes().to_vec())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(s3_error(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(s3_error)?;
            keys.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_string)));
            token = out.next_continuation_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(keys)
    }
}

/// A folder standing in for a bucket.
pub struct FolderObjectStore {
    root: PathBuf,
}

impl FolderObjectStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path(&self, key: &str) -> Result<PathBuf, ObjectError> {
        if key.split('/').any(|p| p.is_empty() || p == "." || p == "..") {
            return Err(ObjectError::BadKey);
        }
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl ObjectStore for FolderObjectStore {
    async fn put(&self, key: &ObjectKey, body: Vec<u8>, _content_type: &str) -> Result<(), ObjectError> {
        let path = self.path(key.as_str())?;
        tokio::task::spawn_blocking(move || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("partial");
            std::fs::write(&tmp, body)?;
            std::fs::rename(tmp, path)
        })
        .await
        .map_err(|e| ObjectError::Unavailable(e.to_string()))?
        .map_err(|e| ObjectError::Unavailable(e.to_string()))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ObjectError> {
        match std::fs::read(self.path(key)?) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ObjectError::Unavailable(e.to_string())),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) -> std::io::Result<()> {
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    walk(&path, root, out)?;
                } else if let Ok(rel) = path.strip_prefix(root) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        if self.root.exists() {
            walk(&self.root, &self.root, &mut out).map_err(|e| ObjectError::Unavailable(e.to_string()))?;
        }
        out.retain(|k| k.starts_with(prefix));
        out.sort();
        Ok(out)
    }
}

/// For functions that have no bucket: any use fails closed.
pub struct NoObjectStore;

#[async_trait]
impl ObjectStore for NoObjectStore {
    async fn put(&self, _: &ObjectKey, _: Vec<u8>, _: &str) -> Result<(), ObjectError> {
        Err(ObjectError::Unavailable("this function has no object store".into()))
    }
    async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, ObjectError> {
        Err(ObjectError::Unavailable("this function has no object store".into()))
    }
    async fn list(&self, _: &str) -> Result<Vec<String>, ObjectError> {
        Err(ObjectError::Unavailable("this function has no object store".into()))
    }
}
