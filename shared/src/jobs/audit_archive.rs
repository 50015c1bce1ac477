//! Archives the audit trail to the object store: for every chain (each tenant's, and the
//! platform's), the events not archived yet, as JSON Lines objects partitioned by date under
//! the tenant's prefix (`tenants/<id>/audit/date=YYYY-MM-DD/<first seq>-<last seq>.jsonl`).
//! Resumable and idempotent: the archived sequence number is stored after each object, and an
//! object's name is its sequence range, so a re-run rewrites the same object.

use crate::app::App;
use crate::audit::chain::{chain_keys, seq_id, AuditEvent, Head};
use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use crate::objects::ObjectKey;
use crate::store::keys::platform;
use crate::store::{Collection, Condition, Item, Key, QuerySpec, SortRange, MAX_BATCH_GET};
use crate::tenancy::TenantScope;
use serde::{Deserialize, Serialize};

const STATE_ID: &str = "audit-archive";
const PAGE: u32 = 500;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ArchiveReport {
    /// Tenant id, or `platform`.
    pub chain: String,
    pub archived_through: u64,
    pub objects: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    archived_through: u64,
}

fn state_key(tenant: Option<&TenantId>) -> Key {
    match tenant {
        Some(t) => TenantScope::trusted(t.clone()).key(Collection::Job, STATE_ID),
        None => platform::job(STATE_ID),
    }
}

fn object_key(tenant: Option<&TenantId>, date: &str, first: u64, last: u64) -> ObjectKey {
    let path = format!("audit/date={date}/{}-{}.jsonl", seq_id(first), seq_id(last));
    match tenant {
        Some(t) => TenantScope::trusted(t.clone()).object_key(&path),
        None => ObjectKey::platform(&path),
    }
}

/// Archives every chain, at most `max_events` new events per chain in this run.
pub async fn run(app: &App, max_events: u64) -> ApiResult<Vec<ArchiveReport>> {
    let mut chains: Vec<Option<TenantId>> = vec![None];
    chains.extend(crate::domain::tenants::all_ids(&app.store).await?.into_iter().map(Some));
    let mut reports = Vec::new();
    // Every chain's archived position and head in one read per 50 chains: a chain with nothing
    // new costs no query.
    for batch in chains.chunks(MAX_BATCH_GET / 2) {
        let keys: Vec<Key> = batch.iter().flat_map(|t| [state_key(t.as_ref()), chain_keys(t.as_ref()).head()]).collect();
        let items = app.store.get_many(&keys).await?;
        for (tenant, pair) in batch.iter().zip(items.chunks(2)) {
            let (state, head) = positions(pair)?;
            reports.push(archive_from(app, tenant.as_ref(), state, head, max_events).await?);
        }
    }
    Ok(reports)
}

/// The archived position and the last sequence number of a chain, from its state and head items.
fn positions(pair: &[Option<Item>]) -> ApiResult<(State, u64)> {
    let state = match pair.first() {
        Some(Some(item)) => item.decode()?,
        _ => State::default(),
    };
    let head = match pair.get(1) {
        Some(Some(item)) => item.decode::<Head>()?.seq(),
        _ => 0,
    };
    Ok((state, head))
}

async fn archive_from(app: &App, tenant: Option<&TenantId>, mut state: State, head: u64, max_events: u64) -> ApiResult<ArchiveReport> {
    let mut report = ArchiveReport { chain: tenant.map(|t| t.to_string()).unwrap_or_else(|| "platform".into()), ..Default::default() };
    let keys = chain_keys(tenant);
    let mut done = 0u64;
    // Events appended after the head was read are archived if a page reaches them, or next run.
    while done < max_events && state.archived_through < head {
        let spec = QuerySpec {
            partition: keys.partition(),
            range: SortRange::Between(seq_id(state.archived_through + 1), seq_id(999_999_999_999)),
            limit: PAGE.min((max_events - done) as u32),
            forward: true,
            start_after: None,
        };
        let page = app.store.table().query(spec).await?;
        if page.items.is_empty() {
            break;
        }
        let events: Vec<AuditEvent> = page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?;
        let last_page = page.last.is_none();
        // One object per date within the page.
        let mut start = 0;
        while start < events.len() {
            let date = events[start].time.get(..10).unwrap_or("unknown").to_string();
            let end =
                events[start..].iter().position(|e| e.time.get(..10).unwrap_or("unknown") != date).map_or(events.len(), |p| start + p);
            let batch = &events[start..end];
            let mut body = Vec::new();
            for e in batch {
                body.extend(serde_json::to_vec(e).map_err(|e| ApiError::Internal(e.to_string()))?);
                body.push(b'\n');
            }
            let (first, last) = (batch[0].seq, batch[batch.len() - 1].seq);
            let key = object_key(tenant, &date, first, last);
            app.objects.put(&key, body, "application/x-ndjson").await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
            state.archived_through = last;
            let item = Item::new(state_key(tenant), serde_json::to_value(&state).map_err(|e| ApiError::Internal(e.to_string()))?);
            app.store.put(item, Condition::None).await?;
            report.objects.push(key.as_str().to_string());
            done += batch.len() as u64;
            start = end;
        }
        if last_page {
            break;
        }
    }
    report.archived_through = state.archived_through;
    Ok(report)
}

/// The whole `main` of the `audit-archive` function, run on a schedule.
pub fn serve(services: crate::lambda::Services) -> Result<(), lambda_runtime::Error> {
    crate::lambda::serve_events("audit-archive", services, |app, _event| {
        Box::pin(async move { Ok(serde_json::json!({"chains": run(app, 50_000).await.map_err(|e| e.to_string())?})) })
    })
}
