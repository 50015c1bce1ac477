//! The dependencies of a function, built once per container. Keys and secrets are fetched
//! lazily on first use and then kept: nothing slow happens on the init path.

use crate::alerts::{AlertSink, Detector};
use crate::auth::token::{TokenSigner, TokenVerifier};
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::{KeyService, Keyring};
use crate::domain::tenants::{self, TenantStatus};
use crate::domain::users::{self, UserHome, UserRecord};
use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use crate::objects::ObjectStore;
use crate::secrets::Secrets;
use crate::store::{CursorCodec, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub secrets: Arc<dyn Secrets>,
    pub clock: Arc<dyn Clock>,
    pub objects: Arc<dyn ObjectStore>,
    pub keyring: Keyring,
    pub detector: Detector,
    /// Audit chain heads this container wrote last (saves reading the head on each append).
    pub audit_heads: crate::audit::HeadCache,
    verifier: OnceCell<TokenVerifier>,
    signer: OnceCell<TokenSigner>,
    cursor: OnceCell<CursorCodec>,
    users: TtlCache<String, Option<UserRecord>>,
    tenants: TtlCache<TenantId, Option<TenantStatus>>,
}

/// The adapters an app runs on: AWS services in Lambda, embedded and local ones on a laptop.
pub struct Ports {
    pub store: Store,
    pub secrets: Arc<dyn Secrets>,
    pub keys: Arc<dyn KeyService>,
    pub alerts: Arc<dyn AlertSink>,
    pub objects: Arc<dyn ObjectStore>,
    pub clock: Arc<dyn Clock>,
}

impl App {
    pub fn new(config: Config, ports: Ports) -> Self {
        let ttl = config.auth_cache_seconds as i64;
        let Ports { store, secrets, keys, alerts, objects, clock } = ports;
        Self {
            config,
            store,
            secrets,
            objects,
            clock,
            keyring: Keyring::new(keys),
            detector: Detector::new(alerts),
            audit_heads: Default::default(),
            verifier: OnceCell::new(),
            signer: OnceCell::new(),
            cursor: OnceCell::new(),
            users: TtlCache::new(ttl),
            tenants: TtlCache::new(ttl),
        }
    }

    pub async fn verifier(&self) -> ApiResult<&TokenVerifier> {
        self.verifier
            .get_or_try_init(|| async {
                let jwks = self.secrets.get(&self.config.verification_keys_secret).await?;
                TokenVerifier::from_jwks(&jwks, &self.config.issuer, &self.config.audience)
                    .map_err(|e| ApiError::Unavailable(format!("verification keys: {e}")))
            })
            .await
    }

    pub async fn signer(&self) -> ApiResult<&TokenSigner> {
        self.signer
            .get_or_try_init(|| async {
                let id = self
                    .config
                    .signing_key_secret
                    .as_deref()
                    .ok_or_else(|| ApiError::Internal("this function may not sign tokens".into()))?;
                let secret = self.secrets.get(id).await?;
                TokenSigner::from_secret(&secret, &self.config.issuer, &self.config.audience)
                    .map_err(|e| ApiError::Unavailable(format!("signing key: {e}")))
            })
            .await
    }

    pub async fn cursor_codec(&self) -> ApiResult<&CursorCodec> {
        self.cursor
            .get_or_try_init(|| async {
                let id =
                    self.config.cursor_key_secret.as_deref().ok_or_else(|| ApiError::Internal("this function has no cursor key".into()))?;
                let secret = self.secrets.get(id).await?;
                if secret.len() < 32 {
                    return Err(ApiError::Unavailable("cursor key shorter than 32 bytes".into()));
                }
                Ok(CursorCodec::new(secret.as_bytes()))
            })
            .await
    }

    /// The user's current record, cached for the configured window so that role changes and
    /// deactivation take effect within it.
    pub async fn current_user(&self, tenant: Option<&TenantId>, user_id: &crate::ids::UserId) -> ApiResult<Option<UserRecord>> {
        let now = self.clock.now();
        let cache_key = format!("{}/{}", tenant.map(TenantId::as_str).unwrap_or("-"), user_id);
        if let Some(hit) = self.users.get(&cache_key, now) {
            return Ok(hit);
        }
        let record = users::load(&self.store, &UserHome::of(tenant), user_id).await?.map(|(u, _)| u);
        self.users.put(cache_key, record.clone(), now);
        Ok(record)
    }

    pub async fn tenant_status(&self, tenant: &TenantId) -> ApiResult<Option<TenantStatus>> {
        let now = self.clock.now();
        if let Some(hit) = self.tenants.get(tenant, now) {
            return Ok(hit);
        }
        let status = tenants::load(&self.store, tenant).await?.map(|(t, _)| t.status);
        self.tenants.put(tenant.clone(), status, now);
        Ok(status)
    }

    /// Drops cached state after this container changed it, so its own next call sees it.
    pub fn forget_user(&self, tenant: Option<&TenantId>, user_id: &crate::ids::UserId) {
        self.users.remove(&format!("{}/{}", tenant.map(TenantId::as_str).unwrap_or("-"), user_id));
    }

    pub fn forget_tenant(&self, tenant: &TenantId) {
        self.tenants.remove(tenant);
    }
}

/// A small time-bounded cache for one container.
pub struct TtlCache<K, V> {
    ttl: i64,
    entries: Mutex<HashMap<K, (i64, V)>>,
}

impl<K: std::hash::Hash + Eq, V: Clone> TtlCache<K, V> {
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl_seconds: i64) -> Self {
        Self { ttl: ttl_seconds, entries: Mutex::new(HashMap::new()) }
    }

    pub fn get(&self, key: &K, now: i64) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).filter(|(at, _)| now - at < self.ttl).map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: K, value: V, now: i64) {
        if self.ttl <= 0 {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::MAX_ENTRIES {
                let ttl = self.ttl;
                entries.retain(|_, (at, _)| now - *at < ttl);
                if entries.len() >= Self::MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(key, (now, value));
        }
    }

    pub fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TtlCache;

    #[test]
    fn entries_expire_after_the_window() {
        let c = TtlCache::new(30);
        c.put("a", 1, 100);
        assert_eq!(c.get(&"a", 129), Some(1));
        assert_eq!(c.get(&"a", 130), None);
        let off = TtlCache::new(0);
        off.put("a", 1, 100);
        assert_eq!(off.get(&"a", 100), None);
    }
}
