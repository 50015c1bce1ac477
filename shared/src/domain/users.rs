//! Users: tenant users live in their tenant's partition (with an email index there), root
//! admins in the platform partition; a sign-in lookup maps an email to its user.

use super::validate::normalise_email;
use crate::error::{ApiError, ApiResult};
use crate::ids::{TenantId, UserId};
use crate::rbac::{ArrangerScope, Role};
use crate::store::keys::{platform, IndexCollection};
use crate::store::{Collection, Commit, Condition, CursorCodec, Item, Key, SortRange, Store, StoreError, Write};
use crate::tenancy::TenantScope;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Deactivated,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct TotpEnrolment {
    /// The base32 secret, sealed (restricted data): see [`seal_totp_secret`].
    pub secret: String,
    pub confirmed: bool,
    #[serde(default)]
    pub last_step: Option<i64>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    #[serde(default)]
    pub tenant_id: Option<TenantId>,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arranger_scope: Option<ArrangerScope>,
    /// For department policy overrides and reporting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    pub status: UserStatus,
    pub password_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpEnrolment>,
    pub created_at: String,
    pub updated_at: String,
}

/// Credentials never reach logs, even through `{:?}`.
impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("roles", &self.roles)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl UserRecord {
    pub fn totp_enabled(&self) -> bool {
        self.totp.as_ref().is_some_and(|t| t.confirmed)
    }

    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }
}

/// Where a user's record lives.
#[derive(Debug, Clone)]
pub enum UserHome {
    Tenant(TenantScope),
    Platform,
}

impl UserHome {
    pub fn key(&self, id: &UserId) -> Key {
        match self {
            UserHome::Tenant(scope) => scope.key(Collection::User, id.as_str()),
            UserHome::Platform => platform::root_user(id.as_str()),
        }
    }

    /// The key space that seals this user's restricted fields (the platform's for root admins).
    pub(crate) fn sealing_scope(&self) -> TenantScope {
        match self {
            UserHome::Tenant(scope) => scope.clone(),
            UserHome::Platform => TenantScope::trusted(TenantId::platform()),
        }
    }

    pub(crate) fn of(tenant: Option<&TenantId>) -> Self {
        match tenant {
            Some(t) => UserHome::Tenant(TenantScope::trusted(t.clone())),
            None => UserHome::Platform,
        }
    }
}

/// The sign-in lookup: which user an email belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginEntry {
    #[serde(default)]
    pub tenant_id: Option<TenantId>,
    pub user_id: UserId,
}

pub fn user_item(home: &UserHome, user: &UserRecord, version: u64) -> ApiResult<Item> {
    let body = serde_json::to_value(user).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut item = Item::new(home.key(&user.id), body);
    item.version = version;
    if let UserHome::Tenant(scope) = home {
        item = item.with_index(scope.index_key(IndexCollection::UserByEmail, &user.email));
    }
    Ok(item)
}

fn login_item(user: &UserRecord) -> ApiResult<Item> {
    let entry = LoginEntry { tenant_id: user.tenant_id.clone(), user_id: user.id.clone() };
    Ok(Item::new(platform::login(&user.email), serde_json::to_value(entry).map_err(|e| ApiError::Internal(e.to_string()))?))
}

/// The writes that create a user: its record and its sign-in lookup, both only if new.
pub fn create_writes(home: &UserHome, user: &UserRecord) -> ApiResult<Vec<Write>> {
    Ok(vec![
        Write::Put { item: user_item(home, user, 1)?, condition: Condition::NotExists },
        Write::Put { item: login_item(user)?, condition: Condition::NotExists },
    ])
}

pub async fn create(writer: &dyn Commit, home: &UserHome, user: &UserRecord) -> ApiResult<()> {
    match writer.commit(create_writes(home, user)?).await {
        Err(StoreError::ConditionFailed) => Err(ApiError::Conflict("a user with this email already exists".into())),
        other => other.map_err(ApiError::from),
    }
}

pub async fn load(store: &Store, home: &UserHome, id: &UserId) -> ApiResult<Option<(UserRecord, u64)>> {
    match store.get(&home.key(id)).await? {
        Some(item) => Ok(Some((item.decode()?, item.version))),
        None => Ok(None),
    }
}

/// Saves a changed user if its version is still `version`; a stale write gets 409.
pub async fn save(writer: &dyn Commit, home: &UserHome, user: &UserRecord, version: u64) -> ApiResult<u64> {
    let item = user_item(home, user, version)?;
    Ok(writer.update(item).await?.version)
}

pub async fn find_by_email(store: &Store, email: &str) -> ApiResult<Option<(UserRecord, u64)>> {
    let email = normalise_email(email);
    let Some(entry) = store.get(&platform::login(&email)).await? else {
        return Ok(None);
    };
    let entry: LoginEntry = entry.decode()?;
    let home = UserHome::of(entry.tenant_id.as_ref());
    load(store, &home, &entry.user_id).await
}

pub async fn list(
    store: &Store,
    codec: &CursorCodec,
    scope: &TenantScope,
    limit: u32,
    cursor: Option<&str>,
) -> ApiResult<(Vec<UserRecord>, Option<String>)> {
    let page = store.page(codec, scope.partition(Collection::User), SortRange::All, limit, cursor).await?;
    let users = page.items.iter().map(|i| i.decode()).collect::<Result<Vec<UserRecord>, _>>()?;
    Ok((users, page.next_cursor))
}

/// A new root admin for a new environment: a one-time password and a confirmed TOTP secret,
/// both returned once to the operator.
pub async fn create_root_admin(app: &crate::app::App, email: &str, name: &str) -> ApiResult<(UserRecord, String, String)> {
    let now = app.clock.now_rfc3339();
    let mut e = Vec::new();
    let email = normalise_email(email);
    super::validate::check_email("email", &email, &mut e);
    super::validate::check_text("name", name, 200, &mut e);
    super::validate::into_result(e)?;
    let password = super::tenants::initial_password();
    let secret = crate::auth::totp::generate_secret();
    let id = UserId::generate();
    let sealed = seal_totp_secret(app, &UserHome::Platform, &id, &secret).await?;
    let user = UserRecord {
        id,
        tenant_id: None,
        email,
        name: name.trim().to_string(),
        roles: vec![Role::RootAdmin],
        arranger_scope: None,
        department: None,
        cost_center: None,
        status: UserStatus::Active,
        password_hash: crate::auth::password::hash(&password),
        totp: Some(TotpEnrolment { secret: sealed, confirmed: true, last_step: None }),
        created_at: now.clone(),
        updated_at: now,
    };
    create(&app.store, &UserHome::Platform, &user).await?;
    Ok((user, password, secret))
}

fn totp_item_ref(user: &UserId) -> String {
    format!("USER/{user}")
}

/// Seals a TOTP secret under the user's tenant key (the platform's for root admins).
pub async fn seal_totp_secret(app: &crate::app::App, home: &UserHome, user: &UserId, secret: &str) -> ApiResult<String> {
    app.keyring.seal(&app.store, &home.sealing_scope(), &totp_item_ref(user), "totp_secret", secret.as_bytes(), app.clock.now()).await
}

/// Opens a sealed TOTP secret; anything that does not open is an integrity failure.
pub async fn open_totp_secret(app: &crate::app::App, home: &UserHome, user: &UserId, sealed: &str) -> ApiResult<String> {
    let plain = app.keyring.open(&app.store, &home.sealing_scope(), &totp_item_ref(user), "totp_secret", sealed, app.clock.now()).await?;
    String::from_utf8(plain).map_err(|_| ApiError::IntegrityFailure)
}
