//! Company settings of the caller's tenant.

use crate::app::App;
use crate::domain::company::{CompanyPatch, CompanySettings, SETTINGS_ID};
use crate::error::{ApiError, ApiResult};
use crate::http::{Call, Reply};
use crate::store::{Collection, Commit};
use serde_json::json;

pub async fn get(app: &App, call: &Call) -> ApiResult<Reply> {
    let scope = call.tenant_scope()?;
    let item = app.store.get(&scope.key(Collection::Company, SETTINGS_ID)).await?.ok_or(ApiError::NotFound)?;
    let settings: CompanySettings = item.decode()?;
    let mut body = serde_json::to_value(settings).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["tenant_id"] = json!(scope.tenant_id());
    body["version"] = json!(item.version);
    Reply::ok(body)
}

pub async fn update(app: &App, call: &Call) -> ApiResult<Reply> {
    let patch: CompanyPatch = call.json()?;
    let scope = call.tenant_scope()?;
    let item = app.store.get(&scope.key(Collection::Company, SETTINGS_ID)).await?.ok_or(ApiError::NotFound)?;
    if patch.version.is_some_and(|v| v != item.version) {
        return Err(ApiError::StaleVersion);
    }
    let mut settings: CompanySettings = item.decode()?;
    settings.apply(patch);
    settings.validate()?;
    let saved = call.audited(app, 200).update(settings.item(&scope, item.version)?).await?;
    let mut body = serde_json::to_value(settings).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["tenant_id"] = json!(scope.tenant_id());
    body["version"] = json!(saved.version);
    Reply::ok(body)
}
