//! Re-encryption after a key rotation: moves every sealed field of a tenant to the current key
//! version. Resumable (its cursor and counts are stored with every page) and idempotent (a
//! field already on the current version is left alone; a profile changed meanwhile is read and
//! re-sealed again, since its writer may have sealed it under a version it had cached).

use crate::app::App;
use crate::crypto::Keyring;
use crate::domain::profile::StoredProfile;
use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use crate::store::keys::platform;
use crate::store::{Collection, Condition, Item, LastKey, QuerySpec, SortRange, StoreError, Write};
use crate::tenancy::TenantScope;
use serde::{Deserialize, Serialize};

const PAGE: u32 = 25;
const STATE_ID: &str = "reencrypt";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub tenant_id: String,
    pub target_version: u32,
    pub scanned: u64,
    pub reencrypted_fields: u64,
    pub skipped_changed: u64,
    pub failed_fields: u64,
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<LastKey>,
}

/// A tenant's entry in the list of pending re-encryptions.
#[derive(Debug, Deserialize)]
struct Pending {
    /// The version the rotation made; entries scheduled before it was recorded have none.
    #[serde(default)]
    target_version: Option<u32>,
}

/// The writes that schedule the tenant's re-encryption to `target_version`, for the rotation's
/// own transaction: a rotation never lands without the job that moves the data to its key.
pub fn schedule_writes(scope: &TenantScope, target_version: u32) -> ApiResult<Vec<Write>> {
    let pointer = Item::new(
        platform::reencrypt_pending(scope.tenant_id()),
        serde_json::json!({"tenant_id": scope.tenant_id(), "target_version": target_version}),
    );
    Ok(vec![
        Write::Put { item: progress_item(scope, &scheduled(scope, target_version))?, condition: Condition::None },
        Write::Put { item: pointer, condition: Condition::None },
    ])
}

/// The progress of a re-encryption just scheduled.
pub fn scheduled(scope: &TenantScope, target_version: u32) -> Progress {
    Progress { tenant_id: scope.tenant_id().to_string(), target_version, ..Default::default() }
}

pub async fn progress(app: &App, scope: &TenantScope) -> ApiResult<Option<Progress>> {
    Ok(match app.store.get(&scope.key(Collection::Job, STATE_ID)).await? {
        Some(item) => Some(item.decode()?),
        None => None,
    })
}

fn progress_item(scope: &TenantScope, progress: &Progress) -> ApiResult<Item> {
    Ok(Item::new(scope.key(Collection::Job, STATE_ID), serde_json::to_value(progress).map_err(|e| ApiError::Internal(e.to_string()))?))
}

/// Runs every pending re-encryption for at most `budget` profiles in all; returns progress.
pub async fn run_pending(app: &App, budget: u64) -> ApiResult<Vec<Progress>> {
    let page = app
        .store
        .table()
        .query(QuerySpec {
            partition: platform::reencrypt_partition(),
            range: SortRange::All,
            limit: 100,
            forward: true,
            start_after: None,
        })
        .await?;
    let mut out = Vec::new();
    let mut left = budget;
    for item in page.items {
        let Ok(tenant) = TenantId::parse(item.key.sk()) else {
            continue;
        };
        let scheduled = item.decode::<Pending>().ok().and_then(|p| p.target_version);
        let (p, scanned) = run_tenant(app, &TenantScope::trusted(tenant), scheduled, left).await?;
        left = left.saturating_sub(scanned);
        out.push(p);
        if left == 0 {
            break;
        }
    }
    Ok(out)
}

/// Moves up to `budget` more profiles of one tenant to its current key version; returns the
/// progress and how many profiles this call scanned. Each page's re-sealed profiles, the
/// progress and, on the last page, the end of the pending entry are one transaction, on
/// condition that the key version is still the one the job moves to: progress never runs ahead
/// of the data or behind it, and a rotation meanwhile is not marked done for the old version.
///
/// The keys the pages need are read with the pointer and unwrapped while the first page is read:
/// the wrapped keys of the version the rotation made (`scheduled`) and of the one before it,
/// unless this container holds them.
async fn run_tenant(app: &App, scope: &TenantScope, scheduled: Option<u32>, budget: u64) -> ApiResult<(Progress, u64)> {
    let now = app.clock.now();
    let versions: Vec<u32> = scheduled
        .map(|v| [v, v.saturating_sub(1)])
        .into_iter()
        .flatten()
        .filter(|&v| v > 0 && !app.keyring.holds(scope.tenant_id(), v, now))
        .collect();
    let progress_key = scope.key(Collection::Job, STATE_ID);
    let mut keys = vec![Keyring::current_key(scope), progress_key];
    keys.extend(versions.iter().map(|&v| Keyring::version_key(scope, v)));
    let mut items = app.store.get_many(&keys).await?.into_iter();
    let (pointer, stored) = (items.next().flatten(), items.next().flatten());
    let mut wrapped = versions.into_iter().zip(items).filter_map(|(v, item)| Some((v, item?)));
    let mut unwrap_first = [wrapped.next(), wrapped.next()];
    let Some(pointer) = pointer else {
        // No key (an offboarded tenant): nothing is left to move.
        let p = Progress { tenant_id: scope.tenant_id().to_string(), done: true, ..Default::default() };
        app.store.table().delete(&platform::reencrypt_pending(scope.tenant_id()), Condition::None).await?;
        return Ok((p, 0));
    };
    let current = Keyring::current_of(&pointer)?;
    let target = Target { scope, version: current, pointer };
    let mut p: Progress = stored.map(|item| item.decode()).transpose()?.unwrap_or_default();
    if p.target_version != current {
        p = Progress { tenant_id: scope.tenant_id().to_string(), target_version: current, ..Default::default() };
    }
    if p.done {
        // Done before, but the pending entry is still there (an earlier version of this job
        // ended it in a second write): end it now, unless a rotation scheduled new work.
        match app.store.transact(target.progress_writes(&p)?).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut scanned_now = 0;
    while !p.done && scanned_now < budget {
        let limit = (budget - scanned_now).min(u64::from(PAGE)) as u32;
        let spec = QuerySpec {
            partition: scope.partition(Collection::Profile),
            range: SortRange::All,
            limit,
            forward: true,
            start_after: p.cursor.clone(),
        };
        let page = match std::mem::take(&mut unwrap_first) {
            [None, None] => app.store.table().query(spec).await?,
            [a, b] => tokio::join!(app.store.table().query(spec), load_key(app, scope, a, now), load_key(app, scope, b, now)).0?,
        };
        // The page's counts go into `next`, which becomes the progress only once saved.
        let mut next = p.clone();
        let mut resealed = Vec::new();
        for item in &page.items {
            next.scanned += 1;
            scanned_now += 1;
            if let Some(update) = reseal(app, scope, item, current, &mut next).await? {
                resealed.push(update);
            }
        }
        next.cursor = page.last;
        next.done = next.cursor.is_none();
        if !target.save_page(app, resealed, &mut next).await? {
            tracing::warn!(event = "reencrypt_rotated_meanwhile", tenant = %scope.tenant_id(), target = current, "the key rotated during re-encryption; the next run moves to the new version");
            break;
        }
        p = next;
    }
    tracing::info!(event = "reencrypt_progress", tenant = %scope.tenant_id(), target = p.target_version, scanned = p.scanned, reencrypted = p.reencrypted_fields, done = p.done, "re-encryption progress");
    Ok((p, scanned_now))
}

/// Unwraps and caches a key read ahead. A failure is only logged: re-sealing reads the key again
/// and counts a field it cannot open.
async fn load_key(app: &App, scope: &TenantScope, wrapped: Option<(u32, Item)>, now: i64) {
    if let Some((version, item)) = wrapped {
        if let Err(e) = app.keyring.load(scope, version, &item, now).await {
            tracing::warn!(event = "reencrypt_key_read_ahead_failed", tenant = %scope.tenant_id(), version, error = ?e, "a key read ahead could not be unwrapped");
        }
    }
}

/// A profile re-sealed under the current version, and how many of its fields moved.
struct Resealed {
    item: Item,
    fields: u64,
}

/// The key version a tenant's re-encryption moves to, and the pointer item that named it.
struct Target<'a> {
    scope: &'a TenantScope,
    version: u32,
    pointer: Item,
}

impl Target<'_> {
    /// Commits a page: its re-sealed profiles with the progress in one transaction. When that
    /// fails on a profile changed meanwhile (or on contention with its writer), each profile is
    /// written alone, re-read and re-sealed once if it changed, and the progress after them.
    /// `false` when the key rotated meanwhile: nothing of the progress is saved then.
    async fn save_page(&self, app: &App, resealed: Vec<Resealed>, p: &mut Progress) -> ApiResult<bool> {
        let moved: u64 = resealed.iter().map(|r| r.fields).sum();
        let mut writes: Vec<Write> = resealed.iter().map(|r| Write::update(r.item.clone())).collect();
        let mut all = p.clone();
        all.reencrypted_fields += moved;
        writes.extend(self.progress_writes(&all)?);
        match app.store.transact(writes).await {
            Ok(()) => {
                *p = all;
                return Ok(true);
            }
            Err(StoreError::ConditionFailed | StoreError::Contended(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if self.rotated(app).await? {
            return Ok(false); // re-sealing under the old version would only cost writes
        }
        for r in resealed {
            self.save_profile(app, r, p).await?;
        }
        match app.store.transact(self.progress_writes(p)?).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes one re-sealed profile; if its owner changed it meanwhile, re-reads and re-seals
    /// it once (the owner's container may have sealed it under a cached older version), and
    /// counts it skipped if it changed again.
    async fn save_profile(&self, app: &App, r: Resealed, p: &mut Progress) -> ApiResult<()> {
        let key = r.item.key.clone();
        match app.store.update(r.item).await {
            Ok(_) => {
                p.reencrypted_fields += r.fields;
                return Ok(());
            }
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(fresh) = app.store.get(&key).await? else {
            return Ok(()); // deleted meanwhile
        };
        // Fields that fail to open were counted on the first reading already.
        let Some(again) = reseal(app, self.scope, &fresh, self.version, &mut Progress::default()).await? else {
            return Ok(()); // its writer sealed it under the current version
        };
        match app.store.update(again.item).await {
            Ok(_) => p.reencrypted_fields += again.fields,
            Err(StoreError::ConditionFailed) => p.skipped_changed += 1,
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Whether the key pointer changed since the job read it (a rotation).
    async fn rotated(&self, app: &App) -> ApiResult<bool> {
        Ok(app.store.get(&self.pointer.key).await?.is_none_or(|now| now.version != self.pointer.version))
    }

    /// The progress, on condition that the key version is unchanged, and once done the end of
    /// the tenant's pending entry.
    fn progress_writes(&self, p: &Progress) -> ApiResult<Vec<Write>> {
        let unchanged = Write::Check { key: self.pointer.key.clone(), condition: Condition::Version(self.pointer.version) };
        let mut writes = vec![unchanged, Write::Put { item: progress_item(self.scope, p)?, condition: Condition::None }];
        if p.done {
            writes.push(Write::Delete { key: platform::reencrypt_pending(self.scope.tenant_id()), condition: Condition::None });
        }
        Ok(writes)
    }
}

/// Opens the profile's fields sealed under older versions and seals them under `current`;
/// `None` when none was older (or none could be opened: those are counted as failed).
async fn reseal(app: &App, scope: &TenantScope, item: &Item, current: u32, p: &mut Progress) -> ApiResult<Option<Resealed>> {
    let mut profile: StoredProfile = item.decode()?;
    let item_ref = format!("PROFILE/{}", profile.user_id);
    let now = app.clock.now();
    let mut fields = 0;
    for (field, sealed) in profile.sealed.iter_mut() {
        if Keyring::version_of(sealed).is_some_and(|v| v >= current) {
            continue;
        }
        match app.keyring.open(&app.store, scope, &item_ref, field, sealed, now).await {
            Ok(plain) => {
                *sealed = app.keyring.seal_with(&app.store, scope, current, &item_ref, field, &plain, now).await?;
                fields += 1;
            }
            Err(e) => {
                tracing::error!(event = "reencrypt_field_failed", tenant = %scope.tenant_id(), field = %field, error = ?e, "a sealed field could not be re-encrypted");
                p.failed_fields += 1;
            }
        }
    }
    if fields == 0 {
        return Ok(None);
    }
    let mut item = item.clone();
    item.body = serde_json::to_value(&profile).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some(Resealed { item, fields }))
}

/// The whole `main` of the `keys-reencrypt` function, run on a schedule: works through the
/// pending re-encryptions within one invocation's budget and returns the progress.
pub fn serve(services: crate::lambda::Services) -> Result<(), lambda_runtime::Error> {
    crate::lambda::serve_events("keys-reencrypt", services, |app, _event| {
        Box::pin(async move { Ok(serde_json::json!({"tenants": run_pending(app, 5_000).await.map_err(|e| e.to_string())?})) })
    })
}
