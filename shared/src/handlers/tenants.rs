//! Tenant onboarding and lifecycle (root_admin).

use crate::app::App;
use crate::domain::tenants::{self, NewTenant, TenantPatch, TenantRecord};
use crate::error::{ApiError, ApiResult};
use crate::http::{Call, Reply};
use crate::ids::TenantId;
use serde_json::{json, Value};

fn view(t: &TenantRecord, version: u64) -> Value {
    json!({"id": t.id, "name": t.name, "status": t.status, "created_at": t.created_at, "updated_at": t.updated_at, "version": version})
}

pub async fn create(app: &App, call: &Call) -> ApiResult<Reply> {
    let new: NewTenant = call.json()?;
    let done = tenants::onboard(&app.store, &app.clock.now_rfc3339(), new, None, None).await?;
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
    let (t, version) = tenants::load(&app.store, &tenant_id(call)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Reply::ok(view(&t, version))
}

pub async fn update(app: &App, call: &Call) -> ApiResult<Reply> {
    let patch: TenantPatch = call.json()?;
    let id = tenant_id(call)?;
    let (t, version) = tenants::update(&app.store, &app.clock.now_rfc3339(), &id, patch).await?;
    app.forget_tenant(&id);
    tracing::info!(event = "tenant_updated", tenant = %id, status = ?t.status, "tenant updated");
    Reply::ok(view(&t, version))
}
