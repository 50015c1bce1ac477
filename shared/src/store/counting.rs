//! A table that counts the requests it passes on, by DynamoDB operation name: how the
//! benchmarks show how many table requests a search, a booking or an approval costs.

use super::{BodyPart, Condition, Item, Key, QuerySpec, RawPage, StoreResult, Table, Write};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub struct CountingTable {
    inner: Arc<dyn Table>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl CountingTable {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self { inner, counts: Mutex::new(BTreeMap::new()) }
    }

    fn count(&self, op: &'static str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(op).or_default() += 1;
        }
    }

    /// Requests so far, by operation.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Table for CountingTable {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.count("GetItem");
        self.inner.get(key).await
    }
    async fn get_parts(&self, key: &Key, parts: &[BodyPart<'_>]) -> StoreResult<Option<Item>> {
        self.count("GetItem");
        self.inner.get_parts(key, parts).await
    }
    async fn get_many(&self, keys: &[Key]) -> StoreResult<Vec<Option<Item>>> {
        self.count("BatchGetItem");
        self.inner.get_many(keys).await
    }
    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        self.count("PutItem");
        self.inner.put(item, condition).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        self.count("DeleteItem");
        self.inner.delete(key, condition).await
    }
    async fn query(&self, spec: QuerySpec) -> StoreResult<RawPage> {
        self.count("Query");
        self.inner.query(spec).await
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.count("TransactWriteItems");
        self.inner.transact(writes).await
    }
}

/// The difference between two snapshots.
pub fn delta(before: &BTreeMap<&'static str, u64>, after: &BTreeMap<&'static str, u64>) -> BTreeMap<&'static str, u64> {
    after.iter().map(|(k, v)| (*k, v - before.get(k).copied().unwrap_or(0))).filter(|(_, v)| *v > 0).collect()
}
