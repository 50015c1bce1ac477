//! Tenants (companies): the platform registry, onboarding with a first company admin.

use super::company::CompanySettings;
use super::users::{self, UserHome, UserRecord, UserStatus};
use super::validate::{check_email, check_text, into_result, normalise_email};
use crate::auth::password;
use crate::error::{ApiError, ApiResult};
use crate::ids::{random_token, TenantId, UserId};
use crate::rbac::Role;
use crate::store::keys::platform;
use crate::store::{Commit, Condition, CursorCodec, Item, QuerySpec, SortRange, Store, StoreError, Write};
use crate::tenancy::TenantScope;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
    Offboarded,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantRecord {
    pub id: TenantId,
    pub name: String,
    pub status: TenantStatus,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub name: String,
    pub admin_email: String,
    pub admin_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub status: Option<TenantStatus>,
    pub version: Option<u64>,
}

pub struct Onboarded {
    pub tenant: TenantRecord,
    pub admin: UserRecord,
    /// Shown once to the operator; only its hash is stored.
    pub initial_password: String,
}

pub fn tenant_item(t: &TenantRecord, version: u64) -> ApiResult<Item> {
    let mut item = Item::new(platform::tenant(&t.id), serde_json::to_value(t).map_err(|e| ApiError::Internal(e.to_string()))?);
    item.version = version;
    Ok(item)
}

/// A random password of 20 base32 characters (100 bits).
pub fn initial_password() -> String {
    random_token(13)[..20].to_string()
}

/// Creates the tenant, its company settings and its first company admin in one transaction.
pub async fn onboard(
    writer: &dyn Commit,
    now: &str,
    new: NewTenant,
    id: Option<TenantId>,
    password: Option<String>,
) -> ApiResult<Onboarded> {
    let mut e = Vec::new();
    check_text("name", &new.name, 200, &mut e);
    check_email("admin_email", &normalise_email(&new.admin_email), &mut e);
    check_text("admin_name", &new.admin_name, 200, &mut e);
    into_result(e)?;
    let tenant = TenantRecord {
        id: id.unwrap_or_else(TenantId::generate),
        name: new.name.trim().to_string(),
        status: TenantStatus::Active,
        created_at: now.into(),
        updated_at: now.into(),
    };
    let initial_password = password.unwrap_or_else(initial_password);
    let admin = UserRecord {
        id: UserId::generate(),
        tenant_id: Some(tenant.id.clone()),
        email: normalise_email(&new.admin_email),
        name: new.admin_name.trim().to_string(),
        roles: vec![Role::CompanyAdmin],
        arranger_scope: None,
        department: None,
        cost_center: None,
        status: UserStatus::Active,
        password_hash: password::hash(&initial_password),
        totp: None,
        created_at: now.into(),
        updated_at: now.into(),
    };
    let scope = TenantScope::trusted(tenant.id.clone());
    let settings = CompanySettings { name: tenant.name.clone(), ..Default::default() };
    let mut writes = vec![
        Write::Put { item: tenant_item(&tenant, 1)?, condition: Condition::NotExists },
        Write::Put { item: settings.item(&scope, 1)?, condition: Condition::NotExists },
    ];
    writes.extend(users::create_writes(&UserHome::Tenant(scope), &admin)?);
    match writer.commit(writes).await {
        Err(StoreError::ConditionFailed) => return Err(ApiError::Conflict("the admin email is already registered".into())),
        other => other.map_err(ApiError::from)?,
    }
    Ok(Onboarded { tenant, admin, initial_password })
}

pub async fn load(store: &Store, id: &TenantId) -> ApiResult<Option<(TenantRecord, u64)>> {
    match store.get(&platform::tenant(id)).await? {
        Some(item) => Ok(Some((item.decode()?, item.version))),
        None => Ok(None),
    }
}

/// Every tenant's id, for jobs that visit each tenant (internal: no cursor to hand out).
pub async fn all_ids(store: &Store) -> ApiResult<Vec<TenantId>> {
    let mut ids = Vec::new();
    let mut start_after = None;
    loop {
        let spec = QuerySpec { partition: platform::tenants(), range: SortRange::All, limit: 100, forward: true, start_after };
        let page = store.table().query(spec).await?;
        ids.extend(page.items.iter().filter_map(|i| TenantId::parse(i.key.sk()).ok()));
        start_after = page.last;
        if start_after.is_none() {
            return Ok(ids);
        }
    }
}

pub async fn list(store: &Store, codec: &CursorCodec, limit: u32, cursor: Option<&str>) -> ApiResult<(Vec<TenantRecord>, Option<String>)> {
    let page = store.page(codec, platform::tenants(), SortRange::All, limit, cursor).await?;
    let tenants = page.items.iter().map(|i| i.decode()).collect::<Result<Vec<TenantRecord>, _>>()?;
    Ok((tenants, page.next_cursor))
}

pub async fn update(store: &Store, writer: &dyn Commit, now: &str, id: &TenantId, patch: TenantPatch) -> ApiResult<(TenantRecord, u64)> {
    let (mut tenant, version) = load(store, id).await?.ok_or(ApiError::NotFound)?;
    if patch.version.is_some_and(|v| v != version) {
        return Err(ApiError::StaleVersion);
    }
    let mut e = Vec::new();
    if let Some(name) = &patch.name {
        check_text("name", name, 200, &mut e);
    }
    if let Some(status) = patch.status {
        if status == TenantStatus::Offboarded {
            e.push(crate::error::FieldError::new("status", "offboarding is done with DELETE /v1/tenants/{id}"));
        }
        if tenant.status == TenantStatus::Offboarded {
            e.push(crate::error::FieldError::new("status", "an offboarded tenant cannot change status"));
        }
    }
    into_result(e)?;
    if let Some(name) = patch.name {
        tenant.name = name.trim().to_string();
    }
    if let Some(status) = patch.status {
        tenant.status = status;
    }
    tenant.updated_at = now.into();
    let saved = writer.update(tenant_item(&tenant, version)?).await?;
    Ok((tenant, saved.version))
}

/// The write that sets a tenant's status if nobody changed the tenant since `version` was
/// read, and the tenant and version it leaves.
pub fn status_change(now: &str, mut tenant: TenantRecord, version: u64, status: TenantStatus) -> ApiResult<(TenantRecord, u64, Write)> {
    tenant.status = status;
    tenant.updated_at = now.into();
    let item = tenant_item(&tenant, version + 1)?;
    Ok((tenant, version + 1, Write::Put { item, condition: Condition::Version(version) }))
}
