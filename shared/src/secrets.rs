//! The secrets port: AWS Secrets Manager in the cloud, files with mode 0600 locally.

use async_trait::async_trait;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SecretsError {
    #[error("secret {0} not found")]
    NotFound(String),
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Secrets: Send + Sync {
    async fn get(&self, id: &str) -> Result<String, SecretsError>;
    /// Stores a new value (operator tooling: key bootstrap and rotation).
    async fn put(&self, id: &str, value: &str) -> Result<(), SecretsError>;
}

/// Secrets Manager, read with GetSecretValue.
pub struct AwsSecrets {
    client: aws_sdk_secretsmanager::Client,
}

impl AwsSecrets {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Secrets for AwsSecrets {
    async fn get(&self, id: &str) -> Result<String, SecretsError> {
        let out = self.client.get_secret_value().secret_id(id).send().await.map_err(|e| {
            let not_found = e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception());
            if not_found {
                SecretsError::NotFound(id.to_string())
            } else {
                SecretsError::Unavailable(aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string())
            }
        })?;
        out.secret_string.ok_or_else(|| SecretsError::NotFound(id.to_string()))
    }

    async fn put(&self, id: &str, value: &str) -> Result<(), SecretsError> {
        self.client
            .put_secret_value()
            .secret_id(id)
            .secret_string(value)
            .send()
            .await
            .map_err(|e| SecretsError::Unavailable(aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }
}

/// A folder of secret files, one per id, readable only by the owner.
pub struct LocalSecrets {
    dir: PathBuf,
}

impl LocalSecrets {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, id: &str) -> Result<PathBuf, SecretsError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(SecretsError::NotFound(id.to_string()));
        }
        Ok(self.dir.join(format!("{id}.json")))
    }

    /// Writes a secret atomically with mode 0600.
    pub fn write(&self, id: &str, value: &str) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.path(id).map_err(std::io::Error::other)?;
        std::fs::create_dir_all(&self.dir)?;
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(&tmp)?;
        f.write_all(value.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(tmp, path)
    }
}

#[async_trait]
impl Secrets for LocalSecrets {
    async fn get(&self, id: &str) -> Result<String, SecretsError> {
        let path = self.path(id)?;
        match tokio_read(path).await {
            Ok(s) => Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SecretsError::NotFound(id.to_string())),
            Err(e) => Err(SecretsError::Unavailable(e.to_string())),
        }
    }

    async fn put(&self, id: &str, value: &str) -> Result<(), SecretsError> {
        self.write(id, value).map_err(|e| SecretsError::Unavailable(e.to_string()))
    }
}

async fn tokio_read(path: PathBuf) -> std::io::Result<String> {
    tokio::task::spawn_blocking(move || std::fs::read_to_string(path)).await.map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn local_secrets_are_owner_only_and_refuse_path_tricks() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalSecrets::new(dir.path().join("secrets"));
        s.write("signing-key", "{\"k\":1}").unwrap();
        assert_eq!(s.get("signing-key").await.unwrap(), "{\"k\":1}");
        let mode = std::fs::metadata(dir.path().join("secrets/signing-key.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(s.get("../etc/passwd").await, Err(SecretsError::NotFound(_))));
        assert!(matches!(s.get("absent").await, Err(SecretsError::NotFound(_))));
    }
}
