//! Per-tenant, versioned data keys. The wrapped key of each version lives in the table under
//! the tenant (`<tenant>#KEY`), with a pointer to the current version. Plaintext keys are cached
//! per container for at most [`MAX_KEY_AGE_SECONDS`] and [`MAX_KEY_USES`] uses, so one tenant's
//! steady traffic costs one key-service call per container and key version.

use super::envelope::{Binding, Envelope};
use super::keyservice::{KeyError, KeyService};
use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use crate::store::{Collection, Commit, Condition, Item, Key, QuerySpec, SortRange, Store, StoreError, Write, MAX_TRANSACTION_WRITES};
use crate::tenancy::TenantScope;
use aws_lc_rs::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use data_encoding::BASE64;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const MAX_KEY_AGE_SECONDS: i64 = 300;
/// Far below the 2^32 random-nonce limit of AES-GCM under one key.
pub const MAX_KEY_USES: u64 = 1_000_000;
/// Plaintext versions of one tenant a container keeps: the current one and the few before it
/// that re-encryption and not-yet-moved data still open. Older ones are loaded again on use.
pub const MAX_CACHED_VERSIONS_PER_TENANT: usize = 4;
/// Plaintext keys a container keeps over all tenants (about 1 KB each, key schedule included).
pub const MAX_CACHED_KEYS: usize = 256;
/// How long a container trusts its view of the current version after a rotation elsewhere.
const CURRENT_TTL_SECONDS: i64 = 60;
const CURRENT: &str = "CURRENT";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WrappedKey {
    version: u32,
    wrapped: String,
    created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CurrentPointer {
    version: u32,
}

struct CachedKey {
    key: Arc<LessSafeKey>,
    loaded_at: i64,
    uses: u64,
}

impl CachedKey {
    fn usable(&self, now: i64) -> bool {
        now - self.loaded_at < MAX_KEY_AGE_SECONDS && self.uses < MAX_KEY_USES
    }
}

/// Why a sealed value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The ciphertext does not belong here (moved, or tampered): an integrity failure.
    Integrity,
    /// The tenant's keys were destroyed (offboarded): the data is unreadable by design.
    KeyDestroyed,
    Unavailable(String),
}

impl From<OpenError> for ApiError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Integrity => ApiError::IntegrityFailure,
            OpenError::KeyDestroyed => ApiError::NotFound,
            OpenError::Unavailable(m) => ApiError::Unavailable(m),
        }
    }
}

pub struct Keyring {
    service: Arc<dyn KeyService>,
    keys: Mutex<HashMap<(TenantId, u32), CachedKey>>,
    current: Mutex<HashMap<TenantId, (u32, i64)>>,
}

fn unavailable(e: KeyError) -> ApiError {
    match e {
        KeyError::Unavailable(m) => ApiError::Unavailable(m),
        KeyError::Refused => ApiError::IntegrityFailure,
    }
}

fn aes_key(bytes: &[u8]) -> ApiResult<Arc<LessSafeKey>> {
    let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| ApiError::Internal("data key is not 32 bytes".into()))?;
    Ok(Arc::new(LessSafeKey::new(key)))
}

fn version_id(v: u32) -> String {
    format!("v{v:06}")
}

impl Keyring {
    pub fn new(service: Arc<dyn KeyService>) -> Self {
        Self { service, keys: Mutex::new(HashMap::new()), current: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, tenant: &TenantId, version: u32, now: i64) -> Option<Arc<LessSafeKey>> {
        let mut keys = self.keys.lock().ok()?;
        let entry = keys.get_mut(&(tenant.clone(), version))?;
        if !entry.usable(now) {
            keys.remove(&(tenant.clone(), version));
            return None;
        }
        entry.uses += 1;
        Some(entry.key.clone())
    }

    /// Whether this container holds a usable plaintext key of the version (without using it).
    pub fn holds(&self, tenant: &TenantId, version: u32, now: i64) -> bool {
        self.keys.lock().ok().and_then(|keys| keys.get(&(tenant.clone(), version)).map(|entry| entry.usable(now))).unwrap_or(false)
    }

    /// Caches a plaintext key and drops the ones a container no longer should hold: expired
    /// or used up (a key is not kept in memory past its age for want of a lookup), a tenant's
    /// oldest versions beyond [`MAX_CACHED_VERSIONS_PER_TENANT`], and the least recently loaded
    /// beyond [`MAX_CACHED_KEYS`]. Without the bounds, every rotation in a warm container would
    /// add a key that stays until the container ends.
    fn remember(&self, tenant: &TenantId, version: u32, key: Arc<LessSafeKey>, now: i64) {
        let Ok(mut keys) = self.keys.lock() else { return };
        keys.retain(|_, cached| cached.usable(now));
        keys.insert((tenant.clone(), version), CachedKey { key, loaded_at: now, uses: 1 });
        let mut versions: Vec<u32> = keys.keys().filter(|(t, _)| t == tenant).map(|&(_, v)| v).collect();
        if versions.len() > MAX_CACHED_VERSIONS_PER_TENANT {
            versions.sort_unstable_by(|a, b| b.cmp(a));
            for old in &versions[MAX_CACHED_VERSIONS_PER_TENANT..] {
                keys.remove(&(tenant.clone(), *old));
            }
        }
        while keys.len() > MAX_CACHED_KEYS {
            let Some(oldest) = keys.iter().min_by_key(|(_, cached)| cached.loaded_at).map(|(k, _)| k.clone()) else { break };
            keys.remove(&oldest);
        }
    }

    /// How many plaintext keys this container holds.
    #[cfg(test)]
    fn cached_keys(&self) -> usize {
        self.keys.lock().map(|keys| keys.len()).unwrap_or(0)
    }

    /// The current key version, creating version 1 on a tenant's first sealed write.
    async fn current_version(&self, store: &Store, scope: &TenantScope, now: i64) -> ApiResult<u32> {
        let tenant = scope.tenant_id();
        if let Some((v, at)) = self.current.lock().ok().and_then(|c| c.get(tenant).copied()) {
            if now - at < CURRENT_TTL_SECONDS {
                return Ok(v);
            }
        }
        let version = match store.get(&scope.key(Collection::Key, CURRENT)).await? {
            Some(item) => item.decode::<CurrentPointer>()?.version,
            None => self.create_version(store, store, scope, (1, None), now, Vec::new()).await?,
        };
        if let Ok(mut c) = self.current.lock() {
            c.insert(tenant.clone(), (version, now));
        }
        Ok(version)
    }

    /// Makes `version` (wrapping a new data key) and points CURRENT at it, with `also`, all or
    /// nothing. Returns the version in force afterwards (another container may have won the race).
    async fn create_version(
        &self,
        store: &Store,
        writer: &dyn Commit,
        scope: &TenantScope,
        (version, pointer_version): (u32, Option<u64>),
        now: i64,
        also: Vec<Write>,
    ) -> ApiResult<u32> {
        let tenant = scope.tenant_id();
        let dk = self.service.generate_data_key(tenant).await.map_err(unavailable)?;
        let wrapped = WrappedKey { version, wrapped: BASE64.encode(&dk.wrapped), created_at: now };
        let key_item = Item::new(
            scope.key(Collection::Key, &version_id(version)),
            serde_json::to_value(&wrapped).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        let mut pointer = Item::new(
            scope.key(Collection::Key, CURRENT),
            serde_json::to_value(CurrentPointer { version }).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        let pointer_condition = match pointer_version {
            Some(v) => {
                pointer.version = v + 1;
                Condition::Version(v)
            }
            None => Condition::NotExists,
        };
        let mut writes = vec![
            Write::Put { item: key_item, condition: Condition::NotExists },
            Write::Put { item: pointer, condition: pointer_condition },
        ];
        writes.extend(also);
        match writer.commit(writes).await {
            Ok(()) => {
                self.remember(tenant, version, aes_key(&dk.plaintext)?, now);
                Ok(version)
            }
            Err(StoreError::ConditionFailed) => {
                let item = store.get(&scope.key(Collection::Key, CURRENT)).await?.ok_or(ApiError::StaleVersion)?;
                Ok(item.decode::<CurrentPointer>()?.version)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn key_for(&self, store: &Store, scope: &TenantScope, version: u32, now: i64) -> Result<Arc<LessSafeKey>, OpenError> {
        let tenant = scope.tenant_id();
        if let Some(k) = self.cached(tenant, version, now) {
            return Ok(k);
        }
        let item = store
            .get(&Self::version_key(scope, version))
            .await
            .map_err(|e| OpenError::Unavailable(e.to_string()))?
            .ok_or(OpenError::KeyDestroyed)?;
        self.unwrap_and_remember(scope, version, &item, now).await
    }

    /// Unwraps a version's key from its item (read at [`Keyring::version_key`]) and caches it:
    /// for a caller that read the wrapped key together with other items.
    pub async fn load(&self, scope: &TenantScope, version: u32, item: &Item, now: i64) -> Result<(), OpenError> {
        self.unwrap_and_remember(scope, version, item, now).await.map(|_| ())
    }

    async fn unwrap_and_remember(&self, scope: &TenantScope, version: u32, item: &Item, now: i64) -> Result<Arc<LessSafeKey>, OpenError> {
        let tenant = scope.tenant_id();
        let wrapped: WrappedKey = item.decode().map_err(|_| OpenError::Integrity)?;
        // A version's item holding another version's key has been moved: never use it as this one.
        if wrapped.version != version || item.key != Self::version_key(scope, version) {
            return Err(OpenError::Integrity);
        }
        let wrapped = BASE64.decode(wrapped.wrapped.as_bytes()).map_err(|_| OpenError::Integrity)?;
        let plaintext = self.service.decrypt_data_key(tenant, &wrapped).await.map_err(|e| match e {
            KeyError::Refused => OpenError::Integrity,
            KeyError::Unavailable(m) => OpenError::Unavailable(m),
        })?;
        let key = aes_key(&plaintext).map_err(|_| OpenError::Integrity)?;
        self.remember(tenant, version, key.clone(), now);
        Ok(key)
    }

    /// Seals a value under the tenant's current key. Fails closed (503) if the key service
    /// is down: nothing is ever written in clear.
    pub async fn seal(&self, store: &Store, scope: &TenantScope, item: &str, field: &str, plaintext: &[u8], now: i64) -> ApiResult<String> {
        let version = self.current_version(store, scope, now).await?;
        self.seal_with(store, scope, version, item, field, plaintext, now).await
    }

    /// Seals under a given key version: the re-encryption job uses the version it read from
    /// the table, not this container's cached idea of the current one (which may predate a
    /// rotation made elsewhere by up to a minute).
    #[allow(clippy::too_many_arguments)]
    pub async fn seal_with(
        &self,
        store: &Store,
        scope: &TenantScope,
        version: u32,
        item: &str,
        field: &str,
        plaintext: &[u8],
        now: i64,
    ) -> ApiResult<String> {
        let key = self.key_for(store, scope, version, now).await.map_err(ApiError::from)?;
        let binding = Binding { tenant: scope.tenant_id().as_str(), item, field };
        Envelope::seal(&key, version, binding, plaintext).ok_or_else(|| ApiError::Internal("sealing failed".into()))
    }

    pub async fn open(
        &self,
        store: &Store,
        scope: &TenantScope,
        item: &str,
        field: &str,
        sealed: &str,
        now: i64,
    ) -> Result<Vec<u8>, OpenError> {
        let envelope = Envelope::parse(sealed).ok_or(OpenError::Integrity)?;
        let key = self.key_for(store, scope, envelope.key_version, now).await?;
        let binding = Binding { tenant: scope.tenant_id().as_str(), item, field };
        envelope.open(&key, binding).ok_or(OpenError::Integrity)
    }

    /// The version a sealed value was made with, if it is one.
    pub fn version_of(sealed: &str) -> Option<u32> {
        Envelope::parse(sealed).map(|e| e.key_version)
    }

    /// The tenant's current key version, if it has any keys.
    pub async fn current(&self, store: &Store, scope: &TenantScope) -> ApiResult<Option<u32>> {
        store.get(&Self::current_key(scope)).await?.map(|item| Self::current_of(&item)).transpose()
    }

    /// Where a tenant's current key version is recorded, for a caller that reads it with others.
    pub fn current_key(scope: &TenantScope) -> Key {
        scope.key(Collection::Key, CURRENT)
    }

    /// Where a version's wrapped key is kept, for a caller that reads it with others.
    pub fn version_key(scope: &TenantScope, version: u32) -> Key {
        scope.key(Collection::Key, &version_id(version))
    }

    /// The current version that item (read at [`Keyring::current_key`]) records.
    pub fn current_of(item: &Item) -> ApiResult<u32> {
        Ok(item.decode::<CurrentPointer>()?.version)
    }

    /// Makes a new key version current, committing `also(version)`'s writes with it; old
    /// versions keep decrypting.
    pub async fn rotate(
        &self,
        store: &Store,
        writer: &dyn Commit,
        scope: &TenantScope,
        now: i64,
        also: impl FnOnce(u32) -> ApiResult<Vec<Write>> + Send,
    ) -> ApiResult<u32> {
        let pointer = store.get(&scope.key(Collection::Key, CURRENT)).await?;
        let (next, pointer_version) = match &pointer {
            Some(item) => (item.decode::<CurrentPointer>()?.version + 1, Some(item.version)),
            None => (1, None),
        };
        let version = self.create_version(store, writer, scope, (next, pointer_version), now, also(next)?).await?;
        if version != next {
            return Err(ApiError::Conflict("another rotation ran at the same time".into()));
        }
        if let Ok(mut c) = self.current.lock() {
            c.insert(scope.tenant_id().clone(), (version, now));
        }
        Ok(version)
    }

    /// Crypto-shredding: deletes every wrapped key of the tenant and forgets cached ones, so its
    /// remaining ciphertext can never be opened again. The last keys go in one transaction with
    /// `also` (the tenant's new status); a tenant with more keys than a transaction holds loses
    /// the others first, so a failure part-way leaves work that a second call finishes. Returns
    /// how many key versions went.
    pub async fn destroy(&self, store: &Store, writer: &dyn Commit, scope: &TenantScope, also: Vec<Write>) -> ApiResult<usize> {
        let mut removed = 0;
        loop {
            let page = store
                .table()
                .query(QuerySpec {
                    partition: scope.partition(Collection::Key),
                    range: SortRange::All,
                    // Room for `also` and the request's audit event in the last transaction.
                    limit: (MAX_TRANSACTION_WRITES - also.len() - crate::audit::chain::EVENT_WRITES) as u32,
                    forward: true,
                    start_after: None,
                })
                .await?;
            removed += page.items.iter().filter(|item| item.key.sk() != CURRENT).count();
            let deletes: Vec<Write> =
                page.items.into_iter().map(|item| Write::Delete { key: item.key, condition: Condition::None }).collect();
            if page.last.is_none() {
                writer.commit(deletes.into_iter().chain(also).collect()).await?;
                break;
            }
            store.transact(deletes).await?;
        }
        let tenant = scope.tenant_id();
        if let Ok(mut keys) = self.keys.lock() {
            keys.retain(|(t, _), _| t != tenant);
        }
        if let Ok(mut c) = self.current.lock() {
            c.remove(tenant);
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keyservice::UnavailableKeyService;

    fn keyring() -> Keyring {
        Keyring::new(Arc::new(UnavailableKeyService))
    }

    fn key(byte: u8) -> Arc<LessSafeKey> {
        aes_key(&[byte; 32]).expect("a 32-byte key")
    }

    fn tenant(n: usize) -> TenantId {
        TenantId::parse(&format!("t_{n:016}")).expect("a tenant id")
    }

    #[test]
    fn rotations_in_one_container_keep_only_the_newest_versions() {
        let ring = keyring();
        let t = tenant(1);
        for version in 1..=1000 {
            ring.remember(&t, version, key(version as u8), 100);
        }
        assert_eq!(ring.cached_keys(), MAX_CACHED_VERSIONS_PER_TENANT);
        for version in 997..=1000 {
            assert!(ring.holds(&t, version, 100), "version {version}");
        }
        assert!(!ring.holds(&t, 996, 100));
    }

    #[test]
    fn an_expired_key_leaves_memory_when_another_is_cached() {
        let ring = keyring();
        ring.remember(&tenant(1), 1, key(1), 0);
        ring.remember(&tenant(2), 1, key(2), MAX_KEY_AGE_SECONDS);
        assert_eq!(ring.cached_keys(), 1);
        assert!(ring.holds(&tenant(2), 1, MAX_KEY_AGE_SECONDS));
    }

    #[test]
    fn many_tenants_are_bounded_by_the_least_recently_loaded() {
        let ring = keyring();
        for n in 0..MAX_CACHED_KEYS + 10 {
            ring.remember(&tenant(n), 1, key(n as u8), n as i64 / 10);
        }
        assert_eq!(ring.cached_keys(), MAX_CACHED_KEYS);
        let newest = MAX_CACHED_KEYS + 9;
        assert!(ring.holds(&tenant(newest), 1, newest as i64 / 10));
    }
}
