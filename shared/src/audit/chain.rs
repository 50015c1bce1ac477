//! Hash-chained, append-only audit events. Each tenant's chain lives in `<tenant>#AUDIT`
//! (sort key: zero-padded sequence number) with a head item holding the last sequence number
//! and hash; an index by time (`<tenant>#AUDIT_TIME`) serves time-range queries. Appending is a
//! transaction: the event only if its sequence number is new, the head only if unchanged.

use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use crate::store::keys::{platform, IndexCollection};
use crate::store::{Collection, Condition, IndexKey, Item, Key, LastKey, Partition, QuerySpec, SortRange, Store, StoreError, Write};
use crate::tenancy::TenantScope;
use aws_lc_rs::digest::{digest, SHA256};
use data_encoding::HEXLOWER;
use serde::{Deserialize, Serialize};

const HEAD: &str = "HEAD";
/// The chain starts from this hash.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const MAX_ATTEMPTS: usize = 20;

/// What the pipeline knows about a request when it records it.
#[derive(Debug, Clone)]
pub struct AuditInput {
    pub tenant: Option<TenantId>,
    pub actor: String,
    pub roles: Vec<String>,
    pub action: String,
    pub resource: String,
    pub outcome: String,
    pub status: u16,
    pub request_id: String,
    pub source_ip: String,
    pub user_agent: String,
    pub time: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: u64,
    /// Tenant id, or `platform` for the platform chain.
    pub tenant: String,
    pub time: String,
    pub actor: String,
    pub roles: Vec<String>,
    pub action: String,
    pub resource: String,
    pub outcome: String,
    pub status: u16,
    pub request_id: String,
    pub source_ip: String,
    pub user_agent: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Head {
    seq: u64,
    hash: String,
}

/// Where a chain lives: a tenant's partition, or the platform's.
pub(crate) enum ChainKeys {
    Tenant(TenantScope),
    Platform,
}

impl ChainKeys {
    pub(crate) fn partition(&self) -> Partition {
        match self {
            ChainKeys::Tenant(scope) => scope.partition(Collection::Audit),
            ChainKeys::Platform => platform::audit_partition(),
        }
    }

    fn head(&self) -> Key {
        self.event_id(HEAD)
    }

    fn event(&self, seq: u64) -> Key {
        self.event_id(&seq_id(seq))
    }

    fn event_id(&self, id: &str) -> Key {
        match self {
            ChainKeys::Tenant(scope) => scope.key(Collection::Audit, id),
            ChainKeys::Platform => platform::audit(id),
        }
    }

    /// Tenant chains are also indexed by time, for time-range queries.
    fn index(&self, time: &str, seq: u64) -> Option<IndexKey> {
        match self {
            ChainKeys::Tenant(scope) => Some(scope.index_key(IndexCollection::AuditByTime, &format!("{time}#{}", seq_id(seq)))),
            ChainKeys::Platform => None,
        }
    }
}

pub(crate) fn chain_keys(tenant: Option<&TenantId>) -> ChainKeys {
    match tenant {
        Some(t) => ChainKeys::Tenant(TenantScope::trusted(t.clone())),
        None => ChainKeys::Platform,
    }
}

pub(crate) fn seq_id(seq: u64) -> String {
    format!("{seq:012}")
}

/// The hash of an event: SHA-256 over the previous hash and the event's canonical JSON
/// (every field but `hash`, in declaration order).
pub fn hash_of(event: &AuditEvent) -> String {
    let mut unhashed = event.clone();
    unhashed.hash = String::new();
    let body = serde_json::to_string(&unhashed).unwrap_or_default();
    HEXLOWER.encode(digest(&SHA256, format!("{}|{body}", event.prev_hash).as_bytes()).as_ref())
}

/// Appends one event to its chain, retrying when another writer appended first.
pub async fn append(store: &Store, input: AuditInput) -> ApiResult<AuditEvent> {
    append_cached(store, &HeadCache::default(), input).await
}

/// The heads this container last wrote, by chain, each behind an async lock: appends from one
/// process to one chain take turns instead of racing (and retrying) on the head, and a warm
/// container appending to a chain nobody else wrote since skips reading the head. The
/// transaction's condition on the head's version still decides across processes; a stale
/// cached head only costs a retry.
#[derive(Debug, Default)]
pub struct HeadCache(std::sync::Mutex<std::collections::HashMap<String, ChainSlot>>);

type ChainSlot = std::sync::Arc<tokio::sync::Mutex<Option<(Head, u64)>>>;

impl HeadCache {
    fn slot(&self, chain: &str) -> ChainSlot {
        let mut slots = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() > 10_000 {
            // Keep the chains someone is appending to right now.
            slots.retain(|_, slot| std::sync::Arc::strong_count(slot) > 1);
        }
        slots.entry(chain.to_string()).or_default().clone()
    }
}

/// Appends one event, starting from the cached head when there is one.
pub async fn append_cached(store: &Store, cache: &HeadCache, input: AuditInput) -> ApiResult<AuditEvent> {
    let keys = chain_keys(input.tenant.as_ref());
    let chain = input.tenant.as_ref().map(|t| t.to_string()).unwrap_or_else(|| "platform".into());
    let slot = cache.slot(&chain);
    let mut cached = slot.lock().await;
    for attempt in 0..MAX_ATTEMPTS {
        let from_cache = cached.is_some();
        let (head, head_version) = match cached.take() {
            Some((head, version)) => (head, Some(version)),
            None => match store.get(&keys.head()).await? {
                Some(item) => (item.decode::<Head>()?, Some(item.version)),
                None => (Head { seq: 0, hash: GENESIS.into() }, None),
            },
        };
        let mut event = AuditEvent {
            seq: head.seq + 1,
            tenant: input.tenant.as_ref().map(|t| t.to_string()).unwrap_or_else(|| "platform".into()),
            time: input.time.clone(),
            actor: input.actor.clone(),
            roles: input.roles.clone(),
            action: input.action.clone(),
            resource: input.resource.clone(),
            outcome: input.outcome.clone(),
            status: input.status,
            request_id: input.request_id.clone(),
            source_ip: input.source_ip.clone(),
            user_agent: input.user_agent.clone(),
            prev_hash: head.hash.clone(),
            hash: String::new(),
        };
        event.hash = hash_of(&event);
        let mut item = Item::new(keys.event(event.seq), serde_json::to_value(&event).map_err(|e| ApiError::Internal(e.to_string()))?);
        if let Some(index) = keys.index(&event.time, event.seq) {
            item = item.with_index(index);
        }
        let mut new_head = Item::new(
            keys.head(),
            serde_json::to_value(Head { seq: event.seq, hash: event.hash.clone() }).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        let head_condition = match head_version {
            Some(v) => {
                new_head.version = v + 1;
                Condition::Version(v)
            }
            None => Condition::NotExists,
        };
        let new_version = new_head.version;
        let writes = vec![Write::Put { item, condition: Condition::NotExists }, Write::Put { item: new_head, condition: head_condition }];
        match store.transact(writes).await {
            Ok(()) => {
                *cached = Some((Head { seq: event.seq, hash: event.hash.clone() }, new_version));
                return Ok(event);
            }
            // Another container appended since this one cached the head: read it and retry at
            // once, there is nobody to wait for.
            Err(StoreError::ConditionFailed) if from_cache => {}
            Err(StoreError::ConditionFailed) => {
                // Someone appended first: back off a little, with jitter, and try on the new head.
                let mut jitter = [0u8; 1];
                let _ = aws_lc_rs::rand::fill(&mut jitter);
                tokio::time::sleep(std::time::Duration::from_millis(1 + (attempt as u64) * 2 + u64::from(jitter[0] % 5))).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable("the audit trail is too busy to append".into()))
}

/// The result of walking a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub valid: bool,
    pub events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_invalid_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Events read per request when verifying a whole chain: 2.5 times fewer round trips than a
/// list page, while a decoded page stays near 1 MB of heap (1,000 took 5 MB).
const VERIFY_PAGE: u32 = 250;

/// Walks a chain from the first event: sequence numbers contiguous from 1, each event's hash
/// recomputed and linked to its predecessor, and the last one equal to the head.
pub async fn verify(store: &Store, tenant: Option<&TenantId>) -> ApiResult<Verification> {
    verify_in_pages(store, tenant, VERIFY_PAGE).await
}

async fn verify_in_pages(store: &Store, tenant: Option<&TenantId>, page_size: u32) -> ApiResult<Verification> {
    let keys = chain_keys(tenant);
    let fail = |events, seq, reason: &str| {
        Ok(Verification { valid: false, events, first_invalid_seq: Some(seq), reason: Some(reason.to_string()) })
    };
    let mut expected_seq = 1u64;
    let mut prev = GENESIS.to_string();
    let mut cursor: Option<LastKey> = None;
    loop {
        let spec = QuerySpec {
            partition: keys.partition(),
            range: SortRange::Between(seq_id(0), seq_id(999_999_999_999)),
            limit: page_size,
            forward: true,
            start_after: cursor.clone(),
        };
        let page = store.table().query(spec).await?;
        for item in &page.items {
            let event: AuditEvent = match item.decode() {
                Ok(e) => e,
                Err(_) => return fail(expected_seq - 1, expected_seq, "an event is not readable"),
            };
            if item.key.sk() != seq_id(event.seq) {
                return fail(expected_seq - 1, expected_seq, "an event was moved to another position");
            }
            if event.seq != expected_seq {
                return fail(expected_seq - 1, expected_seq, "an event is missing or out of order");
            }
            if event.prev_hash != prev {
                return fail(expected_seq - 1, event.seq, "an event does not link to its predecessor");
            }
            if hash_of(&event) != event.hash {
                return fail(expected_seq - 1, event.seq, "an event was altered");
            }
            prev = event.hash;
            expected_seq += 1;
        }
        cursor = page.last;
        if cursor.is_none() {
            break;
        }
    }
    let count = expected_seq - 1;
    let head = match store.get(&keys.head()).await? {
        Some(item) => item.decode::<Head>()?,
        None => Head { seq: 0, hash: GENESIS.into() },
    };
    if head.seq != count || head.hash != prev {
        return fail(count, count + 1, "the newest events were removed");
    }
    Ok(Verification { valid: true, events: count, first_invalid_seq: None, reason: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(tenant: &TenantId, n: u32) -> AuditInput {
        AuditInput {
            tenant: Some(tenant.clone()),
            actor: format!("u_{n}"),
            roles: vec!["traveler".into()],
            action: "me".into(),
            resource: "/v1/me".into(),
            outcome: "success".into(),
            status: 200,
            request_id: format!("r{n}"),
            source_ip: "127.0.0.1".into(),
            user_agent: "test".into(),
            time: format!("2026-11-24T10:00:{n:02}Z"),
        }
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let table = crate::store::embedded::EmbeddedTable::open(&dir.path().join("s.redb")).unwrap();
        (dir, Store::new(std::sync::Arc::new(table)))
    }

    #[tokio::test]
    async fn appends_chain_and_verify_and_concurrent_appends_all_land() {
        let (_dir, store) = store().await;
        let t = TenantId::generate();
        let mut tasks = Vec::new();
        for n in 0..20 {
            let store = store.clone();
            let input = input(&t, n);
            tasks.push(tokio::spawn(async move { append(&store, input).await.unwrap().seq }));
        }
        let mut seqs = Vec::new();
        for task in tasks {
            seqs.push(task.await.unwrap());
        }
        seqs.sort();
        assert_eq!(seqs, (1..=20).collect::<Vec<u64>>());
        let v = verify(&store, Some(&t)).await.unwrap();
        assert!(v.valid && v.events == 20, "{v:?}");
        // Across pages, ending on a page boundary and not.
        for page in [3, 4, 20] {
            let v = verify_in_pages(&store, Some(&t), page).await.unwrap();
            assert!(v.valid && v.events == 20, "page {page}: {v:?}");
        }
        // Another tenant's chain is separate.
        let other = TenantId::generate();
        append(&store, input(&other, 1)).await.unwrap();
        assert_eq!(verify(&store, Some(&other)).await.unwrap().events, 1);
    }

    #[tokio::test]
    async fn containers_with_cached_heads_interleave_without_breaking_the_chain() {
        let (_dir, store) = store().await;
        let t = TenantId::generate();
        let (a, b) = (HeadCache::default(), HeadCache::default());
        for n in 0..10 {
            let cache = if n % 3 == 0 { &b } else { &a };
            append_cached(&store, cache, input(&t, n)).await.unwrap();
        }
        let v = verify(&store, Some(&t)).await.unwrap();
        assert!(v.valid && v.events == 10, "{v:?}");
    }

    async fn tampered(edit: impl FnOnce(&Store, &ChainKeys, Vec<Item>) -> Vec<Write>) -> Verification {
        let (_dir, store) = store().await;
        let t = TenantId::generate();
        for n in 0..5 {
            append(&store, input(&t, n)).await.unwrap();
        }
        let keys = chain_keys(Some(&t));
        let spec = QuerySpec {
            partition: keys.partition(),
            range: SortRange::Between(seq_id(0), seq_id(999)),
            limit: 100,
            forward: true,
            start_after: None,
        };
        let items = store.table().query(spec).await.unwrap().items;
        let writes = edit(&store, &keys, items);
        store.transact(writes).await.unwrap();
        verify(&store, Some(&t)).await.unwrap()
    }

    #[tokio::test]
    async fn detects_altered_removed_and_reordered_events() {
        let altered = tampered(|_, _, items| {
            let mut item = items[2].clone();
            item.body["outcome"] = serde_json::json!("success-but-edited");
            vec![Write::Put { item, condition: Condition::None }]
        })
        .await;
        assert_eq!((altered.valid, altered.first_invalid_seq), (false, Some(3)), "{altered:?}");

        let removed = tampered(|_, _, items| vec![Write::Delete { key: items[1].key.clone(), condition: Condition::None }]).await;
        assert_eq!((removed.valid, removed.first_invalid_seq), (false, Some(2)), "{removed:?}");

        let swapped = tampered(|_, keys, items| {
            let (a, b) = (items[1].clone(), items[3].clone());
            let mut a2 = Item::new(keys.event(4), a.body.clone());
            a2.version = 2;
            let mut b2 = Item::new(keys.event(2), b.body.clone());
            b2.version = 2;
            vec![Write::Put { item: a2, condition: Condition::None }, Write::Put { item: b2, condition: Condition::None }]
        })
        .await;
        assert_eq!((swapped.valid, swapped.first_invalid_seq), (false, Some(2)), "{swapped:?}");

        let truncated = tampered(|_, _, items| vec![Write::Delete { key: items[4].key.clone(), condition: Condition::None }]).await;
        assert!(!truncated.valid, "{truncated:?}");
        assert_eq!(truncated.reason.as_deref(), Some("the newest events were removed"));
    }
}
