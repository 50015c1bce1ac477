//! Tenant onboarding and lifecycle (root_admin).

use crate::app::App;
use crate::domain::tenants::{self, NewTenant, TenantPatch, TenantRecord, TenantStatus};
use crate::error::{ApiError, ApiResult};
use crate::http::{Call, Reply};
use crate::ids::TenantId;
use crate::jobs::reencrypt;
use serde_json::{json, Value};

fn view(t: &TenantRecord, version: u64) -> Value {
    json!({"id": t.id, "name": t.name, "status": t.status, "created_at": t.created_at, "updated_at": t.updated_at, "version": version})
}

pub async fn create(app: &App, call: &Call) -> ApiResult<Reply> {
    let new: NewTenant = call.json()?;
    let done = tenants::onboard(&call.audited(app, 201), &app.clock.now_rfc3339(), new, None, None).await?;
    tracing::info!(event = "tenant_onboarded", tenant = %done.tenant.id, actor = %call.ctx()?.principal().user_id, "tenant onboarded");
    Reply::created(json!({
        "tenant": view(&done.tenant, 1),
        "admin": {"id": done.admin.id, "email": done.admin.email, "name": done.admin.name, "roles": done.admin.roles},
        "initial_password": done.initial_password,
        "note": "the initial password is shown once; the admin must enrol a TOTP second factor at first sign-in",
    }))
}

pub async fn list(app: &App, call: &Call) -> ApiResult<Reply> {
    let (limit, cursor) = call.page_params()?;
    let (items, next) = tenants::list(&app.store, app.cursor_codec().await?, limit, cursor).await?;
    Reply::ok(
        json!({"items": items.iter().map(|t| view(t, 0)).map(|mut v| { v.as_object_mut().map(|o| o.remove("version")); v }).collect::<Vec<_>>(), "next_cursor": next}),
    )
}

fn tenant_id(call: &Call) -> ApiResult<TenantId> {
    TenantId::parse(call.path_id()?).map_err(|_| ApiError::NotFound)
}

pub async fn get(app: &App, call: &Call) -> ApiResult<Reply> {
    let (t, version) = tenants::load(&app.store, &tenant_id(call)?).await?.ok_or(ApiError::NotFound)?;
    Reply::ok(view(&t, version))
}

pub async fn update(app: &App, call: &Call) -> ApiResult<Reply> {
    let patch: TenantPatch = call.json()?;
    let id = tenant_id(call)?;
    let (t, version) = tenants::update(&app.store, &call.audited(app, 200), &app.clock.now_rfc3339(), &id, patch).await?;
    app.forget_tenant(&id);
    tracing::info!(event = "tenant_updated", tenant = %id, status = ?t.status, "tenant updated");
    Reply::ok(view(&t, version))
}

/// Rotates the tenant's data key and schedules the re-encryption of its data.
pub async fn rotate_keys(app: &App, call: &Call) -> ApiResult<Reply> {
    let id = tenant_id(call)?;
    let (tenant, _) = tenants::load(&app.store, &id).await?.ok_or(ApiError::NotFound)?;
    if tenant.status == TenantStatus::Offboarded {
        return Err(ApiError::Conflict("an offboarded tenant has no keys".into()));
    }
    let scope = call.ctx()?.tenant_scope(Some(id.as_str()))?;
    let schedule = |version| reencrypt::schedule_writes(&scope, version);
    let version = app.keyring.rotate(&app.store, &call.audited(app, 201), &scope, app.clock.now(), schedule).await?;
    let progress = reencrypt::scheduled(&scope, version);
    tracing::info!(event = "tenant_key_rotated", tenant = %id, version, "tenant data key rotated");
    Reply::created(json!({"tenant_id": id, "current_version": version, "reencryption": progress}))
}

/// The tenant's current key version and re-encryption progress.
pub async fn keys(app: &App, call: &Call) -> ApiResult<Reply> {
    let id = tenant_id(call)?;
    tenants::load(&app.store, &id).await?.ok_or(ApiError::NotFound)?;
    let scope = call.ctx()?.tenant_scope(Some(id.as_str()))?;
    let current = app.keyring.current(&app.store, &scope).await?;
    let progress = reencrypt::progress(app, &scope).await?;
    Reply::ok(json!({"tenant_id": id, "current_version": current, "reencryption": progress}))
}

/// Offboards a suspended tenant: destroys its data keys (crypto-shredding: what is left of its
/// restricted data can never be decrypted again) and marks it offboarded.
pub async fn offboard(app: &App, call: &Call) -> ApiResult<Reply> {
    let id = tenant_id(call)?;
    let (tenant, version) = tenants::load(&app.store, &id).await?.ok_or(ApiError::NotFound)?;
    match tenant.status {
        TenantStatus::Active => return Err(ApiError::Conflict("suspend the tenant before offboarding it".into())),
        TenantStatus::Offboarded => return Err(ApiError::Conflict("the tenant is already offboarded".into())),
        TenantStatus::Suspended => {}
    }
    let scope = call.ctx()?.tenant_scope(Some(id.as_str()))?;
    let (t, version, offboarded) = tenants::status_change(&app.clock.now_rfc3339(), tenant, version, TenantStatus::Offboarded)?;
    let destroyed = app.keyring.destroy(&app.store, &call.audited(app, 200), &scope, vec![offboarded]).await?;
    app.forget_tenant(&id);
    tracing::warn!(event = "tenant_offboarded", tenant = %id, destroyed_key_versions = destroyed, "tenant offboarded and its keys destroyed");
    let mut body = view(&t, version);
    body["destroyed_key_versions"] = json!(destroyed);
    Reply::ok(body)
}
