//! Bookings: made from a stored offer (price, carbon and verdict come from it, never from the
//! client), exactly once per Idempotency-Key, changed only by conditional writes on a version,
//! and counted into per-tenant monthly aggregates in the same transaction, which also keeps the
//! tenant's approval queue in step.

use crate::domain::reports::{Aggregates, Delta};
use crate::error::{ApiError, ApiResult};
use crate::handlers::travel::StoredOffer;
use crate::ids::TenantId;
use crate::store::keys::IndexCollection;
use crate::store::{Collection, Commit, Condition, Item, QuerySpec, SortRange, Store, StoreError, Write};
use crate::tenancy::TenantScope;
use serde::{Deserialize, Serialize};

/// How long an Idempotency-Key is remembered.
pub const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;
const MAX_ATTEMPTS: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    PendingApproval,
    Confirmed,
    Cancelled,
    Rejected,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: String,
    pub by: String,
    pub action: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Booking {
    pub id: String,
    pub traveler_id: String,
    pub booked_by: String,
    pub status: BookingStatus,
    pub offer: StoredOffer,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub cost_center: Option<String>,
    /// A third-party payment token reference; never a card number.
    #[serde(default)]
    pub payment_reference: Option<String>,
    #[serde(default)]
    pub confirmation: Option<String>,
    /// The month the trip counts in, `YYYY-MM` (its first travel day).
    pub travel_month: String,
    pub travel_date: String,
    pub created_at: String,
    pub updated_at: String,
    pub history: Vec<HistoryEntry>,
}

impl Booking {
    /// What this booking adds to its month's aggregates in its current status.
    pub fn delta(&self) -> Delta {
        Delta::of(self)
    }

    pub fn item(&self, scope: &TenantScope, version: u64) -> ApiResult<Item> {
        let mut item =
            Item::new(scope.key(Collection::Booking, &self.id), serde_json::to_value(self).map_err(|e| ApiError::Internal(e.to_string()))?)
                .with_index(
                    scope.index_key(IndexCollection::BookingByTraveler, &format!("{}#{}#{}", self.traveler_id, self.created_at, self.id)),
                );
        item.version = version;
        Ok(item)
    }
}

/// The remembered outcome of an Idempotency-Key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub body_hash: String,
    pub booking_id: String,
    pub status: u16,
    pub response: serde_json::Value,
}

pub fn idempotency_key(scope: &TenantScope, caller: &str, key: &str) -> crate::store::Key {
    scope.key(Collection::Idempotency, &format!("{caller}:{key}"))
}

pub async fn load(store: &Store, scope: &TenantScope, id: &str) -> ApiResult<Option<(Booking, u64)>> {
    Ok(match store.get(&scope.key(Collection::Booking, id)).await? {
        Some(item) => Some((item.decode()?, item.version)),
        None => None,
    })
}

async fn aggregates(store: &Store, scope: &TenantScope, month: &str) -> ApiResult<(Aggregates, Option<u64>)> {
    Ok(match store.get(&scope.key(Collection::Aggregate, month)).await? {
        Some(item) => (item.decode()?, Some(item.version)),
        None => (Aggregates { month: month.to_string(), ..Default::default() }, None),
    })
}

fn aggregate_write(scope: &TenantScope, agg: &Aggregates, version: Option<u64>) -> ApiResult<Write> {
    let mut item =
        Item::new(scope.key(Collection::Aggregate, &agg.month), serde_json::to_value(agg).map_err(|e| ApiError::Internal(e.to_string()))?);
    let condition = match version {
        Some(v) => {
            item.version = v + 1;
            Condition::Version(v)
        }
        None => Condition::NotExists,
    };
    Ok(Write::Put { item, condition })
}

/// A booking's place in its tenant's approval queue: oldest first.
fn queue_key(scope: &TenantScope, booking: &Booking) -> crate::store::Key {
    scope.key(Collection::Approval, &format!("{}#{}", booking.created_at, booking.id))
}

fn is_waiting(booking: &Booking) -> bool {
    booking.status == BookingStatus::PendingApproval
}

/// A waiting booking's queue entry: a copy of it, at its version.
fn queue_entry(scope: &TenantScope, booking: &Booking, version: u64) -> ApiResult<Item> {
    let mut item = Item::new(queue_key(scope, booking), serde_json::to_value(booking).map_err(|e| ApiError::Internal(e.to_string()))?);
    item.version = version;
    Ok(item)
}

/// What the approval queue needs when a booking goes from `before` to `after`: its entry while
/// it waits for approval, none once it does not.
fn queue_write(scope: &TenantScope, before: Option<&Booking>, after: &Booking, version: u64) -> ApiResult<Option<Write>> {
    Ok(if is_waiting(after) {
        Some(Write::Put { item: queue_entry(scope, after, version)?, condition: Condition::None })
    } else if before.is_some_and(is_waiting) {
        Some(Write::Delete { key: queue_key(scope, after), condition: Condition::None })
    } else {
        None
    })
}

/// Puts a tenant's waiting bookings in its approval queue, for bookings made before the queue
/// existed; idempotent. Each entry goes in with a check that its booking is still at the version
/// read, so one approved or cancelled meanwhile is left to its own transaction. Returns how
/// many entries were written.
pub async fn queue_waiting(store: &Store, scope: &TenantScope) -> ApiResult<usize> {
    let mut queued = 0;
    let mut start_after = None;
    loop {
        let spec =
            QuerySpec { partition: scope.partition(Collection::Booking), range: SortRange::All, limit: 100, forward: true, start_after };
        let page = store.table().query(spec).await?;
        for item in &page.items {
            let booking: Booking = item.decode()?;
            if !is_waiting(&booking) {
                continue;
            }
            let unchanged = Write::Check { key: item.key.clone(), condition: Condition::Version(item.version) };
            let entry = Write::Put { item: queue_entry(scope, &booking, item.version)?, condition: Condition::NotExists };
            // Already queued, or changed since read: either way nothing to do here.
            match store.transact(vec![unchanged, entry]).await {
                Ok(()) => queued += 1,
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        start_after = page.last;
        if start_after.is_none() {
            return Ok(queued);
        }
    }
}

/// `queue_waiting` for every tenant: what an environment runs once after upgrading to the queue.
pub async fn queue_waiting_everywhere(store: &Store) -> ApiResult<Vec<(TenantId, usize)>> {
    let mut done = Vec::new();
    for tenant in super::tenants::all_ids(store).await? {
        let queued = queue_waiting(store, &TenantScope::trusted(tenant.clone())).await?;
        done.push((tenant, queued));
    }
    Ok(done)
}

/// Why a transaction did not go through.
pub enum CreateOutcome {
    Created,
    /// Another request with the same key got there first; its record is returned.
    Replay(IdempotencyRecord),
}

/// Writes a new booking, its idempotency record and its aggregate change in one transaction.
pub async fn create(
    store: &Store,
    writer: &dyn Commit,
    scope: &TenantScope,
    booking: &Booking,
    idem_key: &crate::store::Key,
    record: &IdempotencyRecord,
    now: i64,
) -> ApiResult<CreateOutcome> {
    for _ in 0..MAX_ATTEMPTS {
        let mut idem = Item::new(idem_key.clone(), serde_json::to_value(record).map_err(|e| ApiError::Internal(e.to_string()))?);
        idem.expires_at = Some(now + IDEMPOTENCY_TTL_SECONDS);
        let mut writes = vec![
            // A record past its 24 hours no longer answers for the key, even before DynamoDB's
            // TTL sweep removes it.
            Write::Put { item: idem, condition: Condition::AbsentOrExpired(now) },
            Write::Put { item: booking.item(scope, 1)?, condition: Condition::NotExists },
        ];
        writes.extend(queue_write(scope, None, booking, 1)?);
        let delta = booking.delta();
        if !delta.is_zero() {
            let (mut agg, version) = aggregates(store, scope, &booking.travel_month).await?;
            agg.apply(&delta);
            writes.push(aggregate_write(scope, &agg, version)?);
        }
        match writer.commit(writes).await {
            Ok(()) => return Ok(CreateOutcome::Created),
            Err(StoreError::ConditionFailed) => {
                if let Some(item) = store.get_live(idem_key, now).await? {
                    return Ok(CreateOutcome::Replay(item.decode()?));
                }
                // The month's aggregates moved on: read them again and retry.
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable("too many concurrent bookings; retry".into()))
}

/// Replaces a booking if it is still at `version`, moving the aggregates by the difference
/// between its old and new status, all in one transaction. A stale version gets 409.
pub async fn transition(
    store: &Store,
    writer: &dyn Commit,
    scope: &TenantScope,
    before: &Booking,
    after: &Booking,
    version: u64,
) -> ApiResult<u64> {
    for _ in 0..MAX_ATTEMPTS {
        let mut writes = vec![Write::Put { item: after.item(scope, version + 1)?, condition: Condition::Version(version) }];
        writes.extend(queue_write(scope, Some(before), after, version + 1)?);
        let delta = after.delta().minus(&before.delta());
        if !delta.is_zero() {
            let (mut agg, agg_version) = aggregates(store, scope, &after.travel_month).await?;
            agg.apply(&delta);
            writes.push(aggregate_write(scope, &agg, agg_version)?);
        }
        match writer.commit(writes).await {
            Ok(()) => return Ok(version + 1),
            Err(StoreError::ConditionFailed) => {
                let current = load(store, scope, &after.id).await?;
                if current.is_none_or(|(_, v)| v != version) {
                    return Err(ApiError::StaleVersion);
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable("too many concurrent changes; retry".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    async fn demo_app(dir: &std::path::Path) -> crate::app::App {
        let secrets = crate::secrets::LocalSecrets::new(dir.join("secrets"));
        crate::seed::write_local_keys(&secrets).unwrap();
        let ports = crate::app::Ports {
            store: Store::new(Arc::new(crate::store::embedded::EmbeddedTable::open(&dir.join("store.redb")).unwrap())),
            secrets: Arc::new(secrets),
            keys: Arc::new(crate::crypto::keyservice::LocalKeyRing::open_or_create(&dir.join("master.key")).unwrap()),
            alerts: Arc::new(crate::alerts::LocalAlertSink::log_only()),
            objects: Arc::new(crate::objects::FolderObjectStore::new(dir.join("objects"))),
            clock: Arc::new(crate::clock::SystemClock),
        };
        let app = crate::app::App::new(crate::config::Config::local(vec![]), ports);
        let creds = crate::seed::seed_demo(&app).await.unwrap();
        crate::seed::seed_travel(&app, &creds).await.unwrap();
        app
    }

    async fn queue(store: &Store, scope: &TenantScope) -> Vec<Item> {
        let spec = QuerySpec {
            partition: scope.partition(Collection::Approval),
            range: SortRange::All,
            limit: 1000,
            forward: true,
            start_after: None,
        };
        store.table().query(spec).await.unwrap().items
    }

    #[tokio::test]
    async fn bookings_waiting_from_before_the_queue_are_queued_once_and_only_they() {
        let dir = tempfile::tempdir().unwrap();
        let app = demo_app(dir.path()).await;
        let mut before = std::collections::BTreeMap::new();
        for tenant in crate::domain::tenants::all_ids(&app.store).await.unwrap() {
            let scope = TenantScope::trusted(tenant.clone());
            let entries = queue(&app.store, &scope).await;
            // As a table from before the queue: no entries.
            for entry in &entries {
                app.store.table().delete(&entry.key, Condition::None).await.unwrap();
            }
            before.insert(tenant, entries);
        }
        assert!(before.values().map(Vec::len).sum::<usize>() > 0, "the demo has bookings waiting for approval");

        let queued: std::collections::BTreeMap<_, _> = queue_waiting_everywhere(&app.store).await.unwrap().into_iter().collect();
        for (tenant, entries) in &before {
            assert_eq!(queued[tenant], entries.len(), "{tenant}");
            let now = queue(&app.store, &TenantScope::trusted(tenant.clone())).await;
            let same = |items: &[Item]| items.iter().map(|i| (i.key.sk().to_string(), i.version, i.body.clone())).collect::<Vec<_>>();
            assert_eq!(same(&now), same(entries), "{tenant}: the entries the bookings' own transactions wrote");
        }
        let again = queue_waiting_everywhere(&app.store).await.unwrap();
        assert!(again.iter().all(|(_, n)| *n == 0), "a second run queues nothing: {again:?}");
    }
}
