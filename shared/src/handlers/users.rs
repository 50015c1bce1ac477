//! Users of a company: created, listed, changed and deactivated by its admins.

use crate::app::App;
use crate::auth::password;
use crate::domain::tenants::initial_password;
use crate::domain::users::{self, UserHome, UserRecord, UserStatus};
use crate::domain::validate::{check_email, check_text, into_result, normalise_email};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::{Call, Reply};
use crate::ids::UserId;
use crate::rbac::{ArrangerScope, Grant, Permission, Role};
use crate::tenancy::AuthContext;
use serde::Deserialize;
use serde_json::{json, Value};

/// What a grant lets the caller see of a user.
fn view(user: &UserRecord, version: u64, grant: Grant) -> Value {
    match grant {
        Grant::NamesOnly => json!({"id": user.id, "name": user.name}),
        Grant::InScope => {
            json!({"id": user.id, "name": user.name, "email": user.email, "status": user.status})
        }
        _ => json!({
            "id": user.id,
            "tenant_id": user.tenant_id,
            "email": user.email,
            "name": user.name,
            "roles": user.roles,
            "arranger_scope": user.arranger_scope,
            "department": user.department,
            "cost_center": user.cost_center,
            "status": user.status,
            "second_factor": user.totp_enabled(),
            "created_at": user.created_at,
            "updated_at": user.updated_at,
            "version": version,
        }),
    }
}

/// An arranger sees only the travelers in its scope.
fn visible(ctx: &AuthContext, grant: Grant, user: &UserRecord) -> bool {
    match grant {
        Grant::InScope => ctx.principal().arranger_scope.as_ref().is_some_and(|s| s.covers(user.id.as_str())),
        Grant::Denied => false,
        _ => true,
    }
}

fn check_roles(roles: &[Role], scope: &Option<ArrangerScope>, errors: &mut Vec<FieldError>) {
    if roles.is_empty() {
        errors.push(FieldError::new("roles", "must name at least one role"));
    }
    if roles.contains(&Role::RootAdmin) {
        errors.push(FieldError::new("roles", "root_admin is not a company role"));
    }
    if scope.is_some() && !roles.contains(&Role::TravelArranger) {
        errors.push(FieldError::new("arranger_scope", "applies only to a travel_arranger"));
    }
    if let Some(ArrangerScope::Assigned { user_ids }) = scope {
        if user_ids.len() > 500 {
            errors.push(FieldError::new("arranger_scope.user_ids", "must have at most 500 entries"));
        }
        if user_ids.iter().any(|u| UserId::parse(u).is_err()) {
            errors.push(FieldError::new("arranger_scope.user_ids", "must be user ids"));
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    name: String,
    roles: Vec<Role>,
    #[serde(default)]
    arranger_scope: Option<ArrangerScope>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    cost_center: Option<String>,
}

pub async fn create(app: &App, call: &Call) -> ApiResult<Reply> {
    let new: NewUser = call.json()?;
    let scope = call.tenant_scope()?;
    let email = normalise_email(&new.email);
    let mut e = Vec::new();
    check_email("email", &email, &mut e);
    check_text("name", &new.name, 200, &mut e);
    for (field, value) in [("department", &new.department), ("cost_center", &new.cost_center)] {
        if let Some(v) = value {
            check_text(field, v, 100, &mut e);
        }
    }
    check_roles(&new.roles, &new.arranger_scope, &mut e);
    if let Some(p) = &new.password {
        if let Err(m) = password::check_strength(p) {
            e.push(FieldError::new("password", m));
        }
    }
    into_result(e)?;
    let generated = new.password.is_none();
    let secret = new.password.unwrap_or_else(initial_password);
    let now = app.clock.now_rfc3339();
    let arranger_scope = match (&new.arranger_scope, new.roles.contains(&Role::TravelArranger)) {
        (None, true) => Some(ArrangerScope::Assigned { user_ids: Vec::new() }),
        (scope, _) => scope.clone(),
    };
    let user = UserRecord {
        id: UserId::generate(),
        tenant_id: Some(scope.tenant_id().clone()),
        email,
        name: new.name.trim().to_string(),
        roles: new.roles,
        arranger_scope,
        department: new.department.map(|d| d.trim().to_string()),
        cost_center: new.cost_center.map(|c| c.trim().to_string()),
        status: UserStatus::Active,
        password_hash: password::hash(&secret),
        totp: None,
        created_at: now.clone(),
        updated_at: now,
    };
    users::create(&call.audited(app, 201), &UserHome::Tenant(scope), &user).await?;
    let mut body = view(&user, 1, Grant::Tenant);
    if generated {
        body["initial_password"] = json!(secret);
    }
    Reply::created(body)
}

pub async fn list(app: &App, call: &Call) -> ApiResult<Reply> {
    let ctx = call.ctx()?;
    let grant = ctx.grant(Permission::ListUsers);
    let scope = call.tenant_scope()?;
    let (limit, cursor) = call.page_params()?;
    let (found, next) = users::list(&app.store, app.cursor_codec().await?, &scope, limit, cursor).await?;
    let items: Vec<Value> = found.iter().filter(|u| visible(ctx, grant, u)).map(|u| view(u, 0, grant)).map(strip_version).collect();
    Reply::ok(json!({"items": items, "next_cursor": next}))
}

fn strip_version(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("version");
    }
    v
}

/// Loads the user named in the path within the caller's tenant: 404 if it is not there,
/// 403 if the caller's grant does not reach it.
async fn target(app: &App, call: &Call, permission: Permission) -> ApiResult<(UserHome, UserRecord, u64, Grant)> {
    let ctx = call.ctx()?;
    let scope = call.tenant_scope()?;
    let id = UserId::parse(call.path_id()?).map_err(|_| ApiError::NotFound)?;
    let home = UserHome::Tenant(scope);
    let (user, version) = users::load(&app.store, &home, &id).await?.ok_or(ApiError::NotFound)?;
    let grant = ctx.grant(permission);
    if !visible(ctx, grant, &user) {
        return Err(ApiError::Forbidden);
    }
    Ok((home, user, version, grant))
}

pub async fn get(app: &App, call: &Call) -> ApiResult<Reply> {
    let (_, user, version, grant) = target(app, call, Permission::ListUsers).await?;
    Reply::ok(view(&user, version, grant))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    name: Option<String>,
    roles: Option<Vec<Role>>,
    arranger_scope: Option<ArrangerScope>,
    status: Option<UserStatus>,
    department: Option<String>,
    cost_center: Option<String>,
    version: Option<u64>,
}

pub async fn update(app: &App, call: &Call) -> ApiResult<Reply> {
    let patch: UserPatch = call.json()?;
    let (home, mut user, version, grant) = target(app, call, Permission::ManageUsers).await?;
    if patch.version.is_some_and(|v| v != version) {
        return Err(ApiError::StaleVersion);
    }
    let roles = patch.roles.clone().unwrap_or_else(|| user.roles.clone());
    let arranger_scope = match (&patch.arranger_scope, roles.contains(&Role::TravelArranger)) {
        (Some(s), _) => Some(s.clone()),
        (None, true) => user.arranger_scope.clone().or(Some(ArrangerScope::Assigned { user_ids: Vec::new() })),
        (None, false) => None,
    };
    let mut e = Vec::new();
    if let Some(name) = &patch.name {
        check_text("name", name, 200, &mut e);
    }
    check_roles(&roles, &arranger_scope, &mut e);
    into_result(e)?;
    if let Some(name) = patch.name {
        user.name = name.trim().to_string();
    }
    user.roles = roles;
    user.arranger_scope = arranger_scope;
    if let Some(status) = patch.status {
        user.status = status;
    }
    if let Some(d) = patch.department {
        user.department = Some(d.trim().to_string()).filter(|d| !d.is_empty());
    }
    if let Some(c) = patch.cost_center {
        user.cost_center = Some(c.trim().to_string()).filter(|c| !c.is_empty());
    }
    user.updated_at = app.clock.now_rfc3339();
    let version = users::save(&call.audited(app, 200), &home, &user, version).await?;
    app.forget_user(user.tenant_id.as_ref(), &user.id);
    Reply::ok(view(&user, version, grant))
}

pub async fn deactivate(app: &App, call: &Call) -> ApiResult<Reply> {
    let (home, mut user, version, grant) = target(app, call, Permission::ManageUsers).await?;
    if call.ctx()?.principal().user_id == user.id {
        return Err(ApiError::Conflict("you cannot deactivate yourself".into()));
    }
    user.status = UserStatus::Deactivated;
    user.updated_at = app.clock.now_rfc3339();
    let version = users::save(&call.audited(app, 200), &home, &user, version).await?;
    app.forget_user(user.tenant_id.as_ref(), &user.id);
    Reply::ok(view(&user, version, grant))
}
