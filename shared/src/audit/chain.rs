//! Hash-chained, append-only audit events. Each tenant's chain lives in `<tenant>#AUDIT`
//! (sort key: zero-padded sequence number) with a head item holding the last sequence number
//! and hash; an index by time (`<tenant>#AUDIT_TIME`) serves time-range queries. Appending is a
//! transaction: the event only if its sequence number is new, the head only if unchanged.

use crate::error::ApiResult;
use crate::ids::TenantId;
use crate::store::keys::{platform, IndexCollection};
use crate::store::{Collection, Condition, IndexKey, Item, Key, Partition, Store, StoreError, StoreResult, Write};
use crate::tenancy::TenantScope;
use aws_lc_rs::digest::{digest, SHA256};
use data_encoding::HEXLOWER;
use serde::{Deserialize, Serialize};

const HEAD: &str = "HEAD";
const CHECKPOINT: &str = "CHECKPOINT";
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

impl Head {
    /// The head of a chain not begun.
    pub(crate) fn genesis() -> Self {
        Head { seq: 0, hash: GENESIS.into() }
    }

    /// The sequence number of the chain's last event.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// The hash of the chain's last event.
    pub(crate) fn hash(&self) -> &str {
        &self.hash
    }
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

    pub(crate) fn head(&self) -> Key {
        self.event_id(HEAD)
    }

    /// Where the chain's verification checkpoint is kept (see `audit::verify`).
    pub(crate) fn checkpoint(&self) -> Key {
        self.event_id(CHECKPOINT)
    }

    pub(crate) fn event(&self, seq: u64) -> Key {
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

/// A chain's name in its events: the tenant id, or `platform`.
pub(crate) fn chain_name(tenant: Option<&TenantId>) -> String {
    tenant.map(|t| t.to_string()).unwrap_or_else(|| "platform".into())
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
    Ok(commit(store, cache, input, Vec::new()).await?)
}

/// Commits `change` and one audit event in a single transaction: the change happens with its
/// record or not at all. A head that moved on meanwhile is read again and the transaction
/// retried; `ConditionFailed` is left for the caller only when a condition of `change` failed.
pub async fn commit(store: &Store, cache: &HeadCache, input: AuditInput, change: Vec<Write>) -> StoreResult<AuditEvent> {
    let keys = chain_keys(input.tenant.as_ref());
    let chain = chain_name(input.tenant.as_ref());
    let slot = cache.slot(&chain);
    let mut cached = slot.lock().await;
    let mut from_cache = cached.is_some();
    let mut known = cached.take().map(|(head, version)| (head, Some(version)));
    for attempt in 0..MAX_ATTEMPTS {
        let (head, head_version) = match known.take() {
            Some(known) => known,
            None => read_head(store, &keys).await?,
        };
        let event = next_event(&input, &chain, &head);
        let new_version = head_version.map_or(1, |v| v + 1);
        let mut writes = change.clone();
        writes.extend(event_writes(&keys, &event, head_version)?);
        match store.transact(writes).await {
            Ok(()) => {
                *cached = Some((Head { seq: event.seq, hash: event.hash.clone() }, new_version));
                return Ok(event);
            }
            Err(StoreError::ConditionFailed) => match why_refused(store, &keys, &change, head_version, event.seq, attempt > 0).await? {
                Refusal::Change => {
                    if let Some(version) = head_version {
                        *cached = Some((head, version));
                    }
                    return Err(StoreError::ConditionFailed);
                }
                Refusal::BrokenChain => {
                    return Err(StoreError::Corrupt(format!("audit event {} of chain {chain} exists beyond its head", event.seq)));
                }
                Refusal::HeadMoved(now) => {
                    // A head from this container's cache was merely stale: retry at once; one
                    // read just now lost a race: back off a little, with jitter.
                    if !from_cache {
                        back_off(attempt).await;
                    }
                    from_cache = false;
                    known = Some(now);
                }
            },
            // DynamoDB refused the transaction while another was writing the head.
            Err(StoreError::Contended(_)) => {
                back_off(attempt).await;
                from_cache = false;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable("the audit trail is too busy to append".into()))
}

enum Refusal {
    /// A condition of the change itself failed.
    Change,
    /// Someone appended first; this is the head now.
    HeadMoved((Head, Option<u64>)),
    /// The next event's slot is taken while the head has not moved.
    BrokenChain,
}

/// Why a transaction of `change` with an event at `seq` on the head at `head_version` was
/// refused. Once a retry on a fresh head was refused too (`recheck_change`), the change's own
/// conditions are checked against the stored items, so a change that cannot pass is not retried
/// for as long as other requests keep appending.
async fn why_refused(
    store: &Store,
    keys: &ChainKeys,
    change: &[Write],
    head_version: Option<u64>,
    seq: u64,
    recheck_change: bool,
) -> StoreResult<Refusal> {
    let now = read_head(store, keys).await?;
    if now.1 != head_version {
        if recheck_change && !holds_now(store, change).await? {
            return Ok(Refusal::Change);
        }
        return Ok(Refusal::HeadMoved(now));
    }
    if store.get(&keys.event(seq)).await?.is_none() {
        return Ok(Refusal::Change);
    }
    // An append elsewhere takes the slot and moves the head together; it may have landed
    // between the two reads.
    let again = read_head(store, keys).await?;
    Ok(if again.1 == head_version { Refusal::BrokenChain } else { Refusal::HeadMoved(again) })
}

/// Whether every condition of `change` holds on the items stored now.
async fn holds_now(store: &Store, change: &[Write]) -> StoreResult<bool> {
    for write in change {
        let (key, condition) = write.key_and_condition();
        if condition != Condition::None && !condition.holds(store.get(key).await?.as_ref()) {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn back_off(attempt: usize) {
    let mut jitter = [0u8; 1];
    let _ = aws_lc_rs::rand::fill(&mut jitter);
    tokio::time::sleep(std::time::Duration::from_millis(1 + (attempt as u64) * 2 + u64::from(jitter[0] % 5))).await;
}

/// The chain's head and its version; the genesis head, unversioned, for a chain not begun.
async fn read_head(store: &Store, keys: &ChainKeys) -> StoreResult<(Head, Option<u64>)> {
    Ok(match store.get(&keys.head()).await? {
        Some(item) => (item.decode::<Head>().map_err(|e| StoreError::Corrupt(e.to_string()))?, Some(item.version)),
        None => (Head::genesis(), None),
    })
}

/// The event that follows `head` on `chain`, hashed onto it.
fn next_event(input: &AuditInput, chain: &str, head: &Head) -> AuditEvent {
    let mut event = AuditEvent {
        seq: head.seq + 1,
        tenant: chain.to_string(),
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
    event
}

/// How many writes an audit event adds to the transaction of the change it records.
pub const EVENT_WRITES: usize = 2;

/// The event's put, only if its sequence number is new, and the head's, only if unchanged.
fn event_writes(keys: &ChainKeys, event: &AuditEvent, head_version: Option<u64>) -> StoreResult<[Write; EVENT_WRITES]> {
    let json = |value: serde_json::Result<serde_json::Value>| value.map_err(|e| StoreError::Other(e.to_string()));
    let mut item = Item::new(keys.event(event.seq), json(serde_json::to_value(event))?);
    if let Some(index) = keys.index(&event.time, event.seq) {
        item = item.with_index(index);
    }
    let mut head = Item::new(keys.head(), json(serde_json::to_value(Head { seq: event.seq, hash: event.hash.clone() }))?);
    head.version = head_version.map_or(1, |v| v + 1);
    Ok([
        Write::Put { item, condition: Condition::NotExists },
        Write::Put { item: head, condition: head_version.map_or(Condition::NotExists, Condition::Version) },
    ])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audit::verify::{verify as verify_from, Start, Verification};
    use crate::store::QuerySpec;

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

    pub(crate) fn store() -> (tempfile::TempDir, Store) {
        let (dir, table) = table();
        (dir, Store::new(table))
    }

    /// Appends events numbered `range` to the tenant's chain, one after another.
    pub(crate) async fn append_events(store: &Store, tenant: &TenantId, range: std::ops::Range<u32>) {
        for n in range {
            append(store, input(tenant, n)).await.unwrap();
        }
    }

    /// The chain walked from its first event.
    async fn verify(store: &Store, tenant: Option<&TenantId>) -> ApiResult<Verification> {
        verify_from(store, &crate::store::CursorCodec::new(&[9u8; 32]), tenant, Start::Genesis).await
    }

    fn table() -> (tempfile::TempDir, std::sync::Arc<dyn crate::store::Table>) {
        let dir = tempfile::tempdir().unwrap();
        let table = crate::store::embedded::EmbeddedTable::open(&dir.path().join("s.redb")).unwrap();
        (dir, std::sync::Arc::new(table))
    }

    #[tokio::test]
    async fn appends_chain_and_verify_and_concurrent_appends_all_land() {
        let (_dir, store) = store();
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
        // Another tenant's chain is separate.
        let other = TenantId::generate();
        append(&store, input(&other, 1)).await.unwrap();
        assert_eq!(verify(&store, Some(&other)).await.unwrap().events, 1);
    }

    #[tokio::test]
    async fn containers_with_cached_heads_interleave_without_breaking_the_chain() {
        let (_dir, store) = store();
        let t = TenantId::generate();
        let (a, b) = (HeadCache::default(), HeadCache::default());
        for n in 0..10 {
            let cache = if n % 3 == 0 { &b } else { &a };
            append_cached(&store, cache, input(&t, n)).await.unwrap();
        }
        let v = verify(&store, Some(&t)).await.unwrap();
        assert!(v.valid && v.events == 10, "{v:?}");
    }

    fn a_write(t: &TenantId, condition: Condition) -> (Key, Vec<Write>) {
        let key = TenantScope::trusted(t.clone()).key(Collection::Booking, "b_1");
        (key.clone(), vec![Write::Put { item: Item::new(key, serde_json::json!({"status": "confirmed"})), condition }])
    }

    #[tokio::test]
    async fn a_change_lands_with_its_event_after_another_container_moved_the_head() {
        let (_dir, store) = store();
        let t = TenantId::generate();
        let (a, b) = (HeadCache::default(), HeadCache::default());
        append_cached(&store, &a, input(&t, 1)).await.unwrap();
        append_cached(&store, &b, input(&t, 2)).await.unwrap();
        let (key, change) = a_write(&t, Condition::NotExists);
        let event = commit(&store, &a, input(&t, 3), change).await.unwrap();
        assert_eq!((event.seq, event.request_id.as_str()), (3, "r3"));
        assert!(store.get(&key).await.unwrap().is_some());
        let v = verify(&store, Some(&t)).await.unwrap();
        assert!(v.valid && v.events == 3, "{v:?}");
    }

    #[tokio::test]
    async fn a_refused_change_leaves_no_event_and_an_unwritable_event_leaves_no_change() {
        let (_dir, store) = store();
        let t = TenantId::generate();
        let cache = HeadCache::default();
        append_cached(&store, &cache, input(&t, 1)).await.unwrap();
        let (key, stale) = a_write(&t, Condition::Version(7));
        assert!(matches!(commit(&store, &cache, input(&t, 2), stale).await, Err(StoreError::ConditionFailed)));
        assert_eq!(verify(&store, Some(&t)).await.unwrap().events, 1, "no event for a change that did not happen");

        // The next event's slot is taken (a broken chain): the change does not happen unrecorded.
        let squatter = Item::new(chain_keys(Some(&t)).event(2), serde_json::json!({"squatter": true}));
        store.put(squatter, Condition::NotExists).await.unwrap();
        let (_, change) = a_write(&t, Condition::NotExists);
        let refused = commit(&store, &cache, input(&t, 3), change).await;
        assert!(matches!(refused, Err(StoreError::Corrupt(_))), "{refused:?}");
        assert!(store.get(&key).await.unwrap().is_none());
    }

    /// The table as another container sees it at the worst moments: before each transaction
    /// it appends an event of its own (`race`), or refuses the first one as contended.
    struct Interfering {
        inner: std::sync::Arc<dyn crate::store::Table>,
        race: Option<(TenantId, HeadCache)>,
        contend_first: std::sync::atomic::AtomicBool,
        transactions: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl crate::store::Table for Interfering {
        async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
            self.inner.get(key).await
        }
        async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
            self.inner.put(item, condition).await
        }
        async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
            self.inner.delete(key, condition).await
        }
        async fn query(&self, spec: QuerySpec) -> StoreResult<crate::store::RawPage> {
            self.inner.query(spec).await
        }
        async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
            self.transactions.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.contend_first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                return Err(StoreError::Contended("TransactionConflict".into()));
            }
            if let Some((tenant, other)) = &self.race {
                append_cached(&Store::new(self.inner.clone()), other, input(tenant, 99)).await.unwrap();
            }
            self.inner.transact(writes).await
        }
    }

    fn interfering(
        inner: &std::sync::Arc<dyn crate::store::Table>,
        race: Option<&TenantId>,
        contend_first: bool,
    ) -> (Store, std::sync::Arc<Interfering>) {
        let table = std::sync::Arc::new(Interfering {
            inner: inner.clone(),
            race: race.map(|t| (t.clone(), HeadCache::default())),
            contend_first: contend_first.into(),
            transactions: 0.into(),
        });
        (Store::new(table.clone()), table)
    }

    #[tokio::test]
    async fn a_change_that_cannot_pass_is_refused_soon_while_others_keep_appending() {
        let (_dir, inner) = table();
        let store = Store::new(inner.clone());
        let t = TenantId::generate();
        let (busy, table) = interfering(&inner, Some(&t), false);
        let (key, stale) = a_write(&t, Condition::Version(7));
        let refused = commit(&busy, &HeadCache::default(), input(&t, 1), stale).await;
        assert!(matches!(refused, Err(StoreError::ConditionFailed)), "{refused:?}");
        let tries = table.transactions.load(std::sync::atomic::Ordering::SeqCst);
        assert!(tries <= 2, "{tries} transactions for a change that cannot pass");
        assert!(store.get(&key).await.unwrap().is_none());
        let v = verify(&store, Some(&t)).await.unwrap();
        assert!(v.valid && v.events as usize == tries, "only the other container's events: {v:?}");
    }

    #[tokio::test]
    async fn a_contended_transaction_is_retried_and_lands_once() {
        let (_dir, inner) = table();
        let store = Store::new(inner.clone());
        let t = TenantId::generate();
        let (contended, table) = interfering(&inner, None, true);
        let (key, change) = a_write(&t, Condition::NotExists);
        let event = commit(&contended, &HeadCache::default(), input(&t, 1), change).await.unwrap();
        assert_eq!((event.seq, table.transactions.load(std::sync::atomic::Ordering::SeqCst)), (1, 2));
        assert!(store.get(&key).await.unwrap().is_some());
        assert_eq!(verify(&store, Some(&t)).await.unwrap().events, 1);
    }
}
