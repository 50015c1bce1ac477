//! The embedded table: a redb database file on disk, with the same semantics as the DynamoDB
//! adapter (conditions, index, ordered queries, all-or-nothing transactions).

use super::{Condition, Item, Key, LastKey, QuerySpec, RawPage, SortRange, StoreError, StoreResult, Table, Write};
use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

/// Items by `pk \0 sk`, stored as JSON.
const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");
/// Index entries by `ipk \0 isk \0 pk \0 sk`, pointing at the item.
const INDEX: TableDefinition<&str, &str> = TableDefinition::new("gsi1");

const SEP: char = '\0';
/// Greater than any character a key contains, to close a prefix range.
const HIGH: char = char::MAX;

pub struct EmbeddedTable {
    db: Arc<Database>,
}

fn storage<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn item_key(pk: &str, sk: &str) -> String {
    format!("{pk}{SEP}{sk}")
}

fn index_entry(item: &Item) -> Option<String> {
    item.index.as_ref().map(|i| format!("{}{SEP}{}{SEP}{}{SEP}{}", i.pk(), i.sk(), item.key.pk(), item.key.sk()))
}

impl EmbeddedTable {
    /// Opens (or creates) the database file.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(storage)?;
        }
        let db = Database::create(path).map_err(storage)?;
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(ITEMS).map_err(storage)?;
        txn.open_table(INDEX).map_err(storage)?;
        txn.commit().map_err(storage)?;
        Ok(Self { db: Arc::new(db) })
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&Database) -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db)).await.map_err(storage)?
    }
}

fn read_item(table: &impl ReadableTable<&'static str, &'static [u8]>, key: &Key) -> StoreResult<Option<Item>> {
    match table.get(item_key(key.pk(), key.sk()).as_str()).map_err(storage)? {
        Some(v) => serde_json::from_slice(v.value()).map(Some).map_err(|e| StoreError::Corrupt(e.to_string())),
        None => Ok(None),
    }
}

fn apply(txn: &redb::WriteTransaction, writes: &[Write]) -> StoreResult<()> {
    let mut items = txn.open_table(ITEMS).map_err(storage)?;
    let mut index = txn.open_table(INDEX).map_err(storage)?;
    // Check every condition before the first change, as a DynamoDB transaction does.
    for w in writes {
        let (key, condition) = w.key_and_condition();
        if !condition.holds(read_item(&items, key)?.as_ref()) {
            return Err(StoreError::ConditionFailed);
        }
    }
    for w in writes {
        match w {
            Write::Put { item, .. } => {
                if let Some(old) = read_item(&items, &item.key)? {
                    if let Some(entry) = index_entry(&old) {
                        index.remove(entry.as_str()).map_err(storage)?;
                    }
                }
                let bytes = serde_json::to_vec(item).map_err(|e| StoreError::Other(e.to_string()))?;
                items.insert(item_key(item.key.pk(), item.key.sk()).as_str(), bytes.as_slice()).map_err(storage)?;
                if let Some(entry) = index_entry(item) {
                    index.insert(entry.as_str(), item_key(item.key.pk(), item.key.sk()).as_str()).map_err(storage)?;
                }
            }
            Write::Delete { key, .. } => {
                if let Some(old) = read_item(&items, key)? {
                    if let Some(entry) = index_entry(&old) {
                        index.remove(entry.as_str()).map_err(storage)?;
                    }
                    items.remove(item_key(key.pk(), key.sk()).as_str()).map_err(storage)?;
                }
            }
            Write::Check { .. } => {}
        }
    }
    Ok(())
}

/// Bounds of the composite keys that a partition and sort range cover.
fn bounds(pk: &str, range: &SortRange) -> (Bound<String>, Bound<String>) {
    match range {
        SortRange::All => (Bound::Included(format!("{pk}{SEP}")), Bound::Included(format!("{pk}{SEP}{HIGH}"))),
        SortRange::Prefix(p) => (Bound::Included(format!("{pk}{SEP}{p}")), Bound::Included(format!("{pk}{SEP}{p}{HIGH}"))),
        SortRange::Between(a, b) => (Bound::Included(format!("{pk}{SEP}{a}")), Bound::Included(format!("{pk}{SEP}{b}"))),
    }
}

fn write_txn(db: &Database, writes: Vec<Write>) -> StoreResult<()> {
    let txn = db.begin_write().map_err(storage)?;
    match apply(&txn, &writes) {
        Ok(()) => txn.commit().map_err(storage),
        Err(e) => {
            txn.abort().map_err(storage)?;
            Err(e)
        }
    }
}

#[async_trait]
impl Table for EmbeddedTable {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let key = key.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(storage)?;
            let items = txn.open_table(ITEMS).map_err(storage)?;
            read_item(&items, &key)
        })
        .await
    }

    async fn get_many(&self, keys: &[Key]) -> StoreResult<Vec<Option<Item>>> {
        let keys = keys.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(storage)?;
            let items = txn.open_table(ITEMS).map_err(storage)?;
            keys.iter().map(|key| read_item(&items, key)).collect()
        })
        .await
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        self.blocking(move |db| write_txn(db, vec![Write::Put { item, condition }])).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        let key = key.clone();
        self.blocking(move |db| write_txn(db, vec![Write::Delete { key, condition }])).await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.blocking(move |db| write_txn(db, writes)).await
    }

    async fn query(&self, spec: QuerySpec) -> StoreResult<RawPage> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(storage)?;
            let items = txn.open_table(ITEMS).map_err(storage)?;
            let (mut lower, mut upper) = bounds(spec.partition.pk(), &spec.range);
            if let Some(last) = &spec.start_after {
                let resume = if spec.partition.on_index() {
                    format!(
                        "{}{SEP}{}{SEP}{}{SEP}{}",
                        last.ipk.as_deref().unwrap_or_default(),
                        last.isk.as_deref().unwrap_or_default(),
                        last.pk,
                        last.sk
                    )
                } else {
                    item_key(&last.pk, &last.sk)
                };
                if spec.forward {
                    lower = Bound::Excluded(resume);
                } else {
                    upper = Bound::Excluded(resume);
                }
            }
            let range = (lower.as_ref().map(String::as_str), upper.as_ref().map(String::as_str));
            let limit = spec.limit as usize;
            let mut out = Vec::new();
            let mut more = false;
            if spec.partition.on_index() {
                let index = txn.open_table(INDEX).map_err(storage)?;
                let iter = index.range::<&str>(range).map_err(storage)?;
                let iter: Box<dyn Iterator<Item = _>> = if spec.forward { Box::new(iter) } else { Box::new(iter.rev()) };
                for entry in iter {
                    let (_, target) = entry.map_err(storage)?;
                    if out.len() == limit {
                        more = true;
                        break;
                    }
                    let stored =
                        items.get(target.value()).map_err(storage)?.ok_or_else(|| StoreError::Corrupt("dangling index entry".into()))?;
                    out.push(serde_json::from_slice::<Item>(stored.value()).map_err(|e| StoreError::Corrupt(e.to_string()))?);
                }
            } else {
                let iter = items.range::<&str>(range).map_err(storage)?;
                let iter: Box<dyn Iterator<Item = _>> = if spec.forward { Box::new(iter) } else { Box::new(iter.rev()) };
                for entry in iter {
                    let (_, value) = entry.map_err(storage)?;
                    if out.len() == limit {
                        more = true;
                        break;
                    }
                    out.push(serde_json::from_slice::<Item>(value.value()).map_err(|e| StoreError::Corrupt(e.to_string()))?);
                }
            }
            let last = if more { out.last().map(last_key) } else { None };
            Ok(RawPage { items: out, last })
        })
        .await
    }
}

pub(crate) fn last_key(item: &Item) -> LastKey {
    LastKey {
        pk: item.key.pk().to_string(),
        sk: item.key.sk().to_string(),
        ipk: item.index.as_ref().map(|i| i.pk().to_string()),
        isk: item.index.as_ref().map(|i| i.sk().to_string()),
    }
}
