//! The table port: DynamoDB's single-table model (partition key, sort key, one secondary index,
//! conditional writes, key-prefix and range queries, transactions), with an embedded adapter
//! that persists on disk and a DynamoDB adapter. Domain code is written once on [`Store`].

pub mod contract;
pub mod counting;
pub mod cursor;
pub mod dynamo;
pub mod embedded;
pub mod keys;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use thiserror::Error;

pub use cursor::CursorCodec;
pub use keys::{Collection, IndexCollection, IndexKey, Key, Partition};

/// The largest page a caller may ask for (API4: bounded resource consumption).
pub const MAX_PAGE_SIZE: u32 = 100;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A write's condition did not hold (item exists, or its version moved on).
    #[error("the write's condition did not hold")]
    ConditionFailed,
    #[error("the pagination cursor is not valid for this query")]
    BadCursor,
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// Another transaction was changing one of the items at the same moment; a retry may pass.
    #[error("a concurrent transaction got in the way: {0}")]
    Contended(String),
    #[error("a stored item is corrupt: {0}")]
    Corrupt(String),
    #[error("store error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One stored item. `version` drives optimistic concurrency; `body` holds the domain record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub key: Key,
    pub index: Option<IndexKey>,
    pub version: u64,
    /// Unix seconds after which the item may be removed (DynamoDB TTL).
    pub expires_at: Option<i64>,
    pub body: Value,
}

impl Item {
    pub fn new(key: Key, body: Value) -> Self {
        Self { key, index: None, version: 1, expires_at: None, body }
    }

    pub fn with_index(mut self, index: IndexKey) -> Self {
        self.index = Some(index);
        self
    }

    /// Whether the item has not expired by `now` (epoch seconds); items without expiry always are.
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|t| t >= now)
    }

    /// The item as its replacement: the next version, on condition that the stored one is still
    /// the version this was read at.
    pub fn next_version(mut self) -> (Item, Condition) {
        let expected = self.version;
        self.version += 1;
        (self, Condition::Version(expected))
    }

    pub fn decode<T: for<'de> Deserialize<'de>>(&self) -> StoreResult<T> {
        // From a reference: no copy of the body first.
        T::deserialize(&self.body).map_err(|e| StoreError::Corrupt(format!("{}: {e}", self.key)))
    }

    /// The item with only `parts` of its body; key, index, version and expiry stay whole.
    pub fn project(self, parts: &[BodyPart<'_>]) -> Item {
        let mut body = serde_json::Map::new();
        for part in parts {
            match *part {
                BodyPart::Field(name) => {
                    if let Some(v) = self.body.get(name) {
                        body.insert(name.to_string(), v.clone());
                    }
                }
                BodyPart::Entry(name, key) => {
                    if let Some(v) = self.body.get(name).and_then(|map| map.get(key)) {
                        body.insert(name.to_string(), serde_json::json!({ key: v }));
                    }
                }
            }
        }
        Item { body: Value::Object(body), ..self }
    }
}

/// A part of an item's body to read alone, as a DynamoDB projection does: a top-level field, or
/// one entry of a top-level map, which comes back as a map of that one entry. A part the body
/// does not have is left out. One part per field: DynamoDB refuses overlapping paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyPart<'a> {
    Field(&'a str),
    Entry(&'a str, &'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    None,
    /// No item with this key exists.
    NotExists,
    /// The item exists, whatever its version.
    Exists,
    /// The item exists and carries exactly this version.
    Version(u64),
    /// No live item: none exists, or the one there expired before this time (epoch seconds).
    /// DynamoDB's TTL sweep removes expired items only eventually, often days later.
    AbsentOrExpired(i64),
}

impl Condition {
    /// Whether the condition holds on `current`, the item now stored under its key.
    pub fn holds(self, current: Option<&Item>) -> bool {
        match self {
            Condition::None => true,
            Condition::NotExists => current.is_none(),
            Condition::Exists => current.is_some(),
            Condition::Version(v) => current.is_some_and(|i| i.version == v),
            Condition::AbsentOrExpired(now) => current.is_none_or(|i| !i.is_live(now)),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Write {
    Put { item: Item, condition: Condition },
    Delete { key: Key, condition: Condition },
    Check { key: Key, condition: Condition },
}

impl Write {
    /// Replaces an item if nobody changed it since `item.version` was read, bumping the version.
    pub fn update(item: Item) -> Write {
        let (item, condition) = item.next_version();
        Write::Put { item, condition }
    }

    /// The item the write touches and the condition it puts on it.
    pub fn key_and_condition(&self) -> (&Key, Condition) {
        match self {
            Write::Put { item, condition } => (&item.key, *condition),
            Write::Delete { key, condition } | Write::Check { key, condition } => (key, *condition),
        }
    }
}

/// The most writes DynamoDB takes in one transaction.
pub const MAX_TRANSACTION_WRITES: usize = 100;
/// Most keys one [`Table::get_many`] reads (DynamoDB's BatchGetItem takes 100).
pub const MAX_BATCH_GET: usize = 100;

/// Which sort keys of a partition a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortRange {
    All,
    Prefix(String),
    /// Inclusive on both ends, as DynamoDB's BETWEEN.
    Between(String, String),
}

/// Where a query stopped: the full key of the last item returned, as DynamoDB's
/// LastEvaluatedKey (the index key too when the query ran on the index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastKey {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isk: Option<String>,
}

#[derive(Debug, Clone)]
pub struct QuerySpec {
    pub partition: Partition,
    pub range: SortRange,
    pub limit: u32,
    pub forward: bool,
    pub start_after: Option<LastKey>,
}

#[derive(Debug, Clone)]
pub struct RawPage {
    pub items: Vec<Item>,
    pub last: Option<LastKey>,
}

/// The port every table adapter implements.
#[async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>>;
    /// The item with only `parts` of its body (see [`Item::project`]): one entry of a large
    /// item without reading, sending and parsing the rest. Adapters that hold the whole item
    /// anyway may project after reading it.
    async fn get_parts(&self, key: &Key, parts: &[BodyPart<'_>]) -> StoreResult<Option<Item>> {
        Ok(self.get(key).await?.map(|item| item.project(parts)))
    }
    /// The items of `keys` in their order, `None` where absent, read in one request where the
    /// adapter can (DynamoDB's BatchGetItem, strongly consistent): a job that needs a few items
    /// of several partitions pays one round trip, not one each. At most [`MAX_BATCH_GET`] keys;
    /// a key given twice is answered twice.
    async fn get_many(&self, keys: &[Key]) -> StoreResult<Vec<Option<Item>>> {
        let mut items = Vec::with_capacity(keys.len());
        for key in keys {
            items.push(self.get(key).await?);
        }
        Ok(items)
    }
    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()>;
    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()>;
    async fn query(&self, spec: QuerySpec) -> StoreResult<RawPage>;
    /// All writes happen or none does; any failed condition fails the whole transaction.
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()>;
}

/// Where domain code commits a change: straight to the table ([`Store`]), or together with the
/// request's audit event in the same transaction (`Call::audited`), so that the change and its
/// record land together or not at all.
#[async_trait]
pub trait Commit: Send + Sync {
    /// All writes happen or none does; `ConditionFailed` means one of `writes`' own conditions.
    async fn commit(&self, writes: Vec<Write>) -> StoreResult<()>;

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        self.commit(vec![Write::Put { item, condition }]).await
    }

    /// Replaces an item if nobody changed it since `item.version` was read, bumping the version.
    async fn update(&self, item: Item) -> StoreResult<Item> {
        let (item, condition) = item.next_version();
        self.put(item.clone(), condition).await?;
        Ok(item)
    }
}

#[async_trait]
impl Commit for Store {
    async fn commit(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.table.transact(writes).await
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        self.table.put(item, condition).await
    }
}

/// A page of results with an opaque, tamper-proof cursor.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Item>,
    pub next_cursor: Option<String>,
}

/// The table plus the cursor codec: what domain code uses.
#[derive(Clone)]
pub struct Store {
    table: Arc<dyn Table>,
}

impl Store {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    pub fn table(&self) -> &dyn Table {
        self.table.as_ref()
    }

    /// The adapter itself, to wrap in another (a counting or interfering table in tests).
    pub fn adapter(&self) -> Arc<dyn Table> {
        self.table.clone()
    }

    pub async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.table.get(key).await
    }

    /// The items of `keys`, in their order (see [`Table::get_many`]).
    pub async fn get_many(&self, keys: &[Key]) -> StoreResult<Vec<Option<Item>>> {
        if keys.len() > MAX_BATCH_GET {
            return Err(StoreError::Other(format!("{} keys in one batch read; at most {MAX_BATCH_GET}", keys.len())));
        }
        let items = self.table.get_many(keys).await?;
        // Callers pair answers with keys by position: an adapter that answered otherwise is a bug.
        if items.len() != keys.len() {
            return Err(StoreError::Other(format!("a batch read of {} keys answered {}", keys.len(), items.len())));
        }
        Ok(items)
    }

    /// The item unless it has expired by `now` (epoch seconds): an expired item that the TTL
    /// sweep has not removed yet reads as absent.
    pub async fn get_live(&self, key: &Key, now: i64) -> StoreResult<Option<Item>> {
        Ok(self.table.get(key).await?.filter(|item| item.is_live(now)))
    }

    /// The item with only `parts` of its body (see [`Item::project`]).
    pub async fn get_parts(&self, key: &Key, parts: &[BodyPart<'_>]) -> StoreResult<Option<Item>> {
        self.table.get_parts(key, parts).await
    }

    pub async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        self.table.put(item, condition).await
    }

    pub async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.table.transact(writes).await
    }

    /// Replaces an item if nobody changed it since `item.version` was read, bumping the version.
    pub async fn update(&self, item: Item) -> StoreResult<Item> {
        Commit::update(self, item).await
    }

    /// One page of a partition, resuming from a cursor this codec issued for the same partition.
    pub async fn page(
        &self,
        codec: &CursorCodec,
        partition: Partition,
        range: SortRange,
        limit: u32,
        cursor: Option<&str>,
    ) -> StoreResult<Page> {
        let start_after = cursor.map(|c| codec.open(c, &partition)).transpose()?;
        let spec = QuerySpec { partition: partition.clone(), range, limit: limit.clamp(1, MAX_PAGE_SIZE), forward: true, start_after };
        let raw = self.table.query(spec).await?;
        let next_cursor = raw.last.as_ref().map(|last| codec.seal(&partition, last));
        Ok(Page { items: raw.items, next_cursor })
    }
}
