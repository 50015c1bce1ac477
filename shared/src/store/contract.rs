//! The storage contract: one suite of behaviours every [`Table`] adapter must show. The tests
//! run it against the embedded store and against DynamoDB (moto on loopback).

use super::keys::IndexCollection;
use super::{BodyPart, Collection, Condition, CursorCodec, Item, SortRange, Store, StoreError, Table, Write};
use crate::ids::TenantId;
use crate::tenancy::TenantScope;
use serde_json::json;
use std::sync::Arc;

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

fn fresh_scope() -> TenantScope {
    TenantScope::trusted(TenantId::generate())
}

fn err(e: StoreError) -> String {
    e.to_string()
}

/// Runs every case, returning the name and outcome of each.
pub async fn run_all(table: Arc<dyn Table>) -> Vec<(&'static str, Check)> {
    let store = Store::new(table);
    vec![
        ("put_then_get_round_trips", put_then_get_round_trips(&store).await),
        ("parts_of_a_body_read_alone", parts_of_a_body_read_alone(&store).await),
        ("a_batch_read_answers_in_key_order", a_batch_read_answers_in_key_order(&store).await),
        ("not_exists_condition_refuses_overwrite", not_exists_condition_refuses_overwrite(&store).await),
        ("stale_version_changes_nothing", stale_version_changes_nothing(&store).await),
        ("conditional_delete", conditional_delete(&store).await),
        ("an_expired_item_reads_and_writes_as_absent", an_expired_item_reads_and_writes_as_absent(&store).await),
        ("queries_by_prefix_and_range_in_order", queries_by_prefix_and_range_in_order(&store).await),
        ("pagination_is_complete_and_cursors_are_bound", pagination_is_complete_and_cursors_are_bound(&store).await),
        ("a_page_cut_short_by_size_still_leads_on", a_page_cut_short_by_size_still_leads_on(&store).await),
        ("index_follows_item_changes", index_follows_item_changes(&store).await),
        ("transactions_are_all_or_nothing", transactions_are_all_or_nothing(&store).await),
        ("tenants_never_see_each_other", tenants_never_see_each_other(&store).await),
    ]
}

async fn put_then_get_round_trips(store: &Store) -> Check {
    let scope = fresh_scope();
    let key = scope.key(Collection::Contract, "a");
    let mut item = Item::new(key.clone(), json!({"name": "Ada", "n": 3, "nested": {"list": [1, "two", null], "flag": true}, "empty": ""}))
        .with_index(scope.index_key(IndexCollection::Contract, "ada"));
    item.expires_at = Some(4_102_444_800);
    store.put(item.clone(), Condition::NotExists).await.map_err(err)?;
    let got = store.get(&key).await.map_err(err)?;
    ensure!(got.as_ref() == Some(&item), "read back {got:?}, wrote {item:?}");
    ensure!(store.get(&scope.key(Collection::Contract, "missing")).await.map_err(err)?.is_none(), "missing item found");
    Ok(())
}

async fn parts_of_a_body_read_alone(store: &Store) -> Check {
    let scope = fresh_scope();
    let key = scope.key(Collection::Contract, "parts");
    let offers: serde_json::Map<_, _> =
        (0..5).map(|n| (format!("s_1-{n}"), json!({"n": n, "text": "x".repeat(200), "list": [n, "two"]}))).collect();
    let mut item = Item::new(key.clone(), json!({"traveler_id": "u1", "offers": offers, "notes": "not asked for"}))
        .with_index(scope.index_key(IndexCollection::Contract, "parts"));
    item.expires_at = Some(4_102_444_800);
    store.put(item.clone(), Condition::NotExists).await.map_err(err)?;

    let got = store.get_parts(&key, &[BodyPart::Field("traveler_id"), BodyPart::Entry("offers", "s_1-3")]).await.map_err(err)?;
    let expected = Item { body: json!({"traveler_id": "u1", "offers": {"s_1-3": offers["s_1-3"]}}), ..item.clone() };
    ensure!(got.as_ref() == Some(&expected), "read {got:?}, expected {expected:?}");

    let none = store.get_parts(&key, &[BodyPart::Field("absent"), BodyPart::Entry("offers", "s_1-9")]).await.map_err(err)?;
    ensure!(none.as_ref().map(|i| &i.body) == Some(&json!({})), "parts the body lacks were not left out: {none:?}");
    ensure!(none.map(|i| i.version) == Some(item.version), "the item's version must come with any part");
    let missing = store.get_parts(&scope.key(Collection::Contract, "missing"), &[BodyPart::Field("traveler_id")]).await.map_err(err)?;
    ensure!(missing.is_none(), "missing item found: {missing:?}");
    Ok(())
}

async fn a_batch_read_answers_in_key_order(store: &Store) -> Check {
    let (scope, other) = (fresh_scope(), fresh_scope());
    let a = Item::new(scope.key(Collection::Contract, "a"), json!({"n": 1}));
    let b = Item::new(other.key(Collection::Contract, "b"), json!({"n": 2, "nested": {"x": [true]}}));
    store.put(a.clone(), Condition::NotExists).await.map_err(err)?;
    store.put(b.clone(), Condition::NotExists).await.map_err(err)?;
    let missing = scope.key(Collection::Contract, "missing");
    // Two partitions, a key twice, an absent key: answered in the order asked.
    let keys = [b.key.clone(), missing.clone(), a.key.clone(), b.key.clone()];
    let got = store.get_many(&keys).await.map_err(err)?;
    let want = vec![Some(b.clone()), None, Some(a.clone()), Some(b.clone())];
    ensure!(got == want, "batch read {got:?}, wanted {want:?}");
    ensure!(store.get_many(&[]).await.map_err(err)?.is_empty(), "an empty batch read found something");
    let too_many: Vec<_> = (0..=super::MAX_BATCH_GET).map(|i| scope.key(Collection::Contract, &format!("k{i}"))).collect();
    ensure!(store.get_many(&too_many).await.is_err(), "a batch over {} keys was read", super::MAX_BATCH_GET);
    Ok(())
}

async fn not_exists_condition_refuses_overwrite(store: &Store) -> Check {
    let scope = fresh_scope();
    let key = scope.key(Collection::Contract, "a");
    store.put(Item::new(key.clone(), json!({"v": "first"})), Condition::NotExists).await.map_err(err)?;
    let second = store.put(Item::new(key.clone(), json!({"v": "second"})), Condition::NotExists).await;
    ensure!(matches!(second, Err(StoreError::ConditionFailed)), "second create gave {second:?}");
    let got = store.get(&key).await.map_err(err)?.ok_or("item vanished")?;
    ensure!(got.body == json!({"v": "first"}), "overwritten: {:?}", got.body);
    Ok(())
}

async fn stale_version_changes_nothing(store: &Store) -> Check {
    let scope = fresh_scope();
    let key = scope.key(Collection::Contract, "a");
    store.put(Item::new(key.clone(), json!({"v": 1})), Condition::NotExists).await.map_err(err)?;
    let read = store.get(&key).await.map_err(err)?.ok_or("missing")?;
    let mut first = read.clone();
    first.body = json!({"v": 2});
    let updated = store.update(first).await.map_err(err)?;
    ensure!(updated.version == 2, "version after update: {}", updated.version);
    let mut stale = read;
    stale.body = json!({"v": 3});
    let result = store.update(stale).await;
    ensure!(matches!(result, Err(StoreError::ConditionFailed)), "stale update gave {result:?}");
    let now = store.get(&key).await.map_err(err)?.ok_or("missing")?;
    ensure!(now.body == json!({"v": 2}) && now.version == 2, "state after stale update: {now:?}");
    let on_missing = store.put(Item::new(scope.key(Collection::Contract, "nope"), json!({})), Condition::Version(1)).await;
    ensure!(matches!(on_missing, Err(StoreError::ConditionFailed)), "version condition on a missing item gave {on_missing:?}");
    Ok(())
}

async fn conditional_delete(store: &Store) -> Check {
    let scope = fresh_scope();
    let key = scope.key(Collection::Contract, "a");
    store.put(Item::new(key.clone(), json!({})), Condition::NotExists).await.map_err(err)?;
    let stale = store.table().delete(&key, Condition::Version(9)).await;
    ensure!(matches!(stale, Err(StoreError::ConditionFailed)), "stale delete gave {stale:?}");
    ensure!(store.get(&key).await.map_err(err)?.is_some(), "stale delete removed the item");
    store.table().delete(&key, Condition::Version(1)).await.map_err(err)?;
    ensure!(store.get(&key).await.map_err(err)?.is_none(), "delete left the item");
    Ok(())
}

/// An item past its `expires_at` that the TTL sweep has not removed yet: `get` still returns
/// it, `get_live` does not, and `AbsentOrExpired` lets a write replace it but not a live one.
async fn an_expired_item_reads_and_writes_as_absent(store: &Store) -> Check {
    let scope = fresh_scope();
    let now = 1_900_000_000;
    let (old, live) = (scope.key(Collection::Contract, "old"), scope.key(Collection::Contract, "live"));
    for (key, expires_at) in [(&old, now - 1), (&live, now)] {
        let mut item = Item::new(key.clone(), json!({"n": 1}));
        item.expires_at = Some(expires_at);
        store.put(item, Condition::NotExists).await.map_err(err)?;
    }
    ensure!(store.get(&old).await.map_err(err)?.is_some(), "get hid an item the sweep has not removed");
    ensure!(store.get_live(&old, now).await.map_err(err)?.is_none(), "get_live returned an expired item");
    ensure!(store.get_live(&live, now).await.map_err(err)?.is_some(), "get_live hid an item expiring this second");

    let replacement = |key: &super::Key| Item::new(key.clone(), json!({"n": 2}));
    let refused = store.put(replacement(&live), Condition::AbsentOrExpired(now)).await;
    ensure!(matches!(refused, Err(StoreError::ConditionFailed)), "a live item was replaced: {refused:?}");
    store.put(replacement(&old), Condition::AbsentOrExpired(now)).await.map_err(err)?;
    let got = store.get(&old).await.map_err(err)?.ok_or("the replacement is missing")?;
    ensure!(got.body == json!({"n": 2}) && got.expires_at.is_none(), "replaced with {got:?}");
    store.put(replacement(&scope.key(Collection::Contract, "new")), Condition::AbsentOrExpired(now)).await.map_err(err)?;
    let in_txn = store.transact(vec![Write::Put { item: replacement(&live), condition: Condition::AbsentOrExpired(now) }]).await;
    ensure!(matches!(in_txn, Err(StoreError::ConditionFailed)), "a transaction replaced a live item: {in_txn:?}");
    Ok(())
}

async fn seed(store: &Store, scope: &TenantScope, ids: &[&str]) -> Check {
    for id in ids {
        let item = Item::new(scope.key(Collection::Contract, id), json!({"id": id}))
            .with_index(scope.index_key(IndexCollection::Contract, &format!("by#{id}")));
        store.put(item, Condition::NotExists).await.map_err(err)?;
    }
    Ok(())
}

fn ids(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.key.sk().to_string()).collect()
}

async fn queries_by_prefix_and_range_in_order(store: &Store) -> Check {
    let scope = fresh_scope();
    seed(store, &scope, &["2026-03#c", "2026-01#a", "2026-02#b", "2027-01#d", "x"]).await?;
    let codec = CursorCodec::new(&[1u8; 32]);
    let all = store.page(&codec, scope.partition(Collection::Contract), SortRange::All, 100, None).await.map_err(err)?;
    ensure!(ids(&all.items) == ["2026-01#a", "2026-02#b", "2026-03#c", "2027-01#d", "x"], "order: {:?}", ids(&all.items));
    ensure!(all.next_cursor.is_none(), "cursor after the last page");
    let prefix =
        store.page(&codec, scope.partition(Collection::Contract), SortRange::Prefix("2026-".into()), 100, None).await.map_err(err)?;
    ensure!(ids(&prefix.items) == ["2026-01#a", "2026-02#b", "2026-03#c"], "prefix: {:?}", ids(&prefix.items));
    let between = SortRange::Between("2026-02".into(), "2027-01#d".into());
    let range = store.page(&codec, scope.partition(Collection::Contract), between, 100, None).await.map_err(err)?;
    ensure!(ids(&range.items) == ["2026-02#b", "2026-03#c", "2027-01#d"], "between: {:?}", ids(&range.items));
    let reverse = store
        .table()
        .query(super::QuerySpec {
            partition: scope.partition(Collection::Contract),
            range: SortRange::All,
            limit: 2,
            forward: false,
            start_after: None,
        })
        .await
        .map_err(err)?;
    ensure!(ids(&reverse.items) == ["x", "2027-01#d"], "reverse: {:?}", ids(&reverse.items));
    Ok(())
}

async fn pagination_is_complete_and_cursors_are_bound(store: &Store) -> Check {
    let scope = fresh_scope();
    let names: Vec<String> = (0..7).map(|i| format!("item-{i:02}")).collect();
    seed(store, &scope, &names.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    let codec = CursorCodec::new(&[2u8; 32]);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let page = store.page(&codec, scope.partition(Collection::Contract), SortRange::All, 3, cursor.as_deref()).await.map_err(err)?;
        ensure!(page.items.len() <= 3, "page of {}", page.items.len());
        seen.extend(ids(&page.items));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    ensure!(seen == names, "paged through {seen:?}");

    // Index pagination, and a table cursor is refused on the index and on another tenant.
    let first = store
        .page(&codec, scope.index_partition(IndexCollection::Contract), SortRange::Prefix("by#".into()), 4, None)
        .await
        .map_err(err)?;
    let cursor = first.next_cursor.ok_or("no cursor on the index")?;
    let rest = store
        .page(&codec, scope.index_partition(IndexCollection::Contract), SortRange::Prefix("by#".into()), 4, Some(&cursor))
        .await
        .map_err(err)?;
    let mut all = ids(&first.items);
    all.extend(ids(&rest.items));
    ensure!(all == names, "index paged through {all:?}");
    let other = fresh_scope();
    let wrong = store.page(&codec, other.index_partition(IndexCollection::Contract), SortRange::All, 4, Some(&cursor)).await;
    ensure!(matches!(wrong, Err(StoreError::BadCursor)), "foreign cursor gave {wrong:?}");
    let wrong = store.page(&codec, scope.partition(Collection::Contract), SortRange::All, 4, Some(&cursor)).await;
    ensure!(matches!(wrong, Err(StoreError::BadCursor)), "index cursor on the table gave {wrong:?}");
    Ok(())
}

/// DynamoDB ends a page at 1 MB whatever the limit: 15 items of 90 kB do not fit one page, and
/// the reader must still be told where to go on.
async fn a_page_cut_short_by_size_still_leads_on(store: &Store) -> Check {
    let scope = fresh_scope();
    let filler = "x".repeat(90_000);
    let names: Vec<String> = (0..15).map(|i| format!("big-{i:02}")).collect();
    for name in &names {
        store.put(Item::new(scope.key(Collection::Contract, name), json!({"filler": filler})), Condition::NotExists).await.map_err(err)?;
    }
    let (mut seen, mut start_after, mut pages) = (Vec::new(), None, 0);
    loop {
        let spec = super::QuerySpec {
            partition: scope.partition(Collection::Contract),
            range: SortRange::All,
            limit: 100,
            forward: true,
            start_after: start_after.take(),
        };
        let page = store.table().query(spec).await.map_err(err)?;
        seen.extend(ids(&page.items));
        pages += 1;
        match page.last {
            Some(last) if pages < 10 => start_after = Some(last),
            _ => break,
        }
    }
    ensure!(seen == names, "read {} of 15 items in {pages} pages: {seen:?}", seen.len());
    Ok(())
}

async fn index_follows_item_changes(store: &Store) -> Check {
    let scope = fresh_scope();
    let key = scope.key(Collection::Contract, "a");
    let item = Item::new(key.clone(), json!({})).with_index(scope.index_key(IndexCollection::Contract, "old"));
    store.put(item.clone(), Condition::NotExists).await.map_err(err)?;
    let mut moved = item.clone();
    moved.index = Some(scope.index_key(IndexCollection::Contract, "new"));
    store.update(moved).await.map_err(err)?;
    let codec = CursorCodec::new(&[3u8; 32]);
    let part = || scope.index_partition(IndexCollection::Contract);
    let old = store.page(&codec, part(), SortRange::Prefix("old".into()), 10, None).await.map_err(err)?;
    ensure!(old.items.is_empty(), "stale index entry remains");
    let new = store.page(&codec, part(), SortRange::Prefix("new".into()), 10, None).await.map_err(err)?;
    ensure!(ids(&new.items) == ["a"], "new index entry: {:?}", ids(&new.items));
    store.table().delete(&key, Condition::Exists).await.map_err(err)?;
    let gone = store.page(&codec, part(), SortRange::All, 10, None).await.map_err(err)?;
    ensure!(gone.items.is_empty(), "index entry survives delete");
    Ok(())
}

async fn transactions_are_all_or_nothing(store: &Store) -> Check {
    let scope = fresh_scope();
    let existing = scope.key(Collection::Contract, "existing");
    store.put(Item::new(existing.clone(), json!({"v": 1})), Condition::NotExists).await.map_err(err)?;
    let new_key = scope.key(Collection::Contract, "new");
    let failing = vec![
        Write::Put { item: Item::new(new_key.clone(), json!({})), condition: Condition::NotExists },
        Write::Check { key: existing.clone(), condition: Condition::Version(7) },
    ];
    let result = store.transact(failing).await;
    ensure!(matches!(result, Err(StoreError::ConditionFailed)), "failing transaction gave {result:?}");
    ensure!(store.get(&new_key).await.map_err(err)?.is_none(), "a failed transaction wrote an item");
    let mut bumped = Item::new(existing.clone(), json!({"v": 2}));
    bumped.version = 2;
    let passing = vec![
        Write::Put { item: Item::new(new_key.clone(), json!({})), condition: Condition::NotExists },
        Write::Put { item: bumped, condition: Condition::Version(1) },
    ];
    store.transact(passing).await.map_err(err)?;
    ensure!(store.get(&new_key).await.map_err(err)?.is_some(), "transaction lost a put");
    let now = store.get(&existing).await.map_err(err)?.ok_or("missing")?;
    ensure!(now.version == 2 && now.body == json!({"v": 2}), "transaction update: {now:?}");
    // An unconditional delete of an item that is not there passes (the approval queue removes
    // entries that older bookings never had) and still deletes what is there.
    let never_written = scope.key(Collection::Contract, "never-written");
    let deletes = vec![
        Write::Delete { key: never_written.clone(), condition: Condition::None },
        Write::Delete { key: new_key.clone(), condition: Condition::None },
    ];
    store.transact(deletes).await.map_err(err)?;
    ensure!(store.get(&new_key).await.map_err(err)?.is_none(), "an unconditional delete in a transaction kept the item");
    ensure!(store.get(&never_written).await.map_err(err)?.is_none(), "a delete wrote an item");
    Ok(())
}

async fn tenants_never_see_each_other(store: &Store) -> Check {
    let a = fresh_scope();
    let b = fresh_scope();
    seed(store, &a, &["one", "two"]).await?;
    seed(store, &b, &["three"]).await?;
    let codec = CursorCodec::new(&[4u8; 32]);
    let seen = store.page(&codec, b.partition(Collection::Contract), SortRange::All, 10, None).await.map_err(err)?;
    ensure!(ids(&seen.items) == ["three"], "tenant b sees {:?}", ids(&seen.items));
    let by_index = store.page(&codec, b.index_partition(IndexCollection::Contract), SortRange::All, 10, None).await.map_err(err)?;
    ensure!(ids(&by_index.items) == ["three"], "tenant b's index sees {:?}", ids(&by_index.items));
    ensure!(store.get(&b.key(Collection::Contract, "one")).await.map_err(err)?.is_none(), "tenant b reads tenant a's id");
    Ok(())
}

/// Writes through one handle, then reads through a second one opened afterwards: for adapters
/// that persist (the embedded file, DynamoDB), the data must still be there.
pub async fn persists_across_reopen(first: Arc<dyn Table>, reopen: impl FnOnce(Arc<dyn Table>) -> Arc<dyn Table>) -> Check {
    let scope = fresh_scope();
    let key = scope.key(Collection::Contract, "durable");
    let item = Item::new(key.clone(), json!({"kept": true})).with_index(scope.index_key(IndexCollection::Contract, "durable"));
    Store::new(first.clone()).put(item.clone(), Condition::NotExists).await.map_err(err)?;
    let second = Store::new(reopen(first));
    let got = second.get(&key).await.map_err(err)?;
    ensure!(got.as_ref() == Some(&item), "after reopen: {got:?}");
    Ok(())
}
