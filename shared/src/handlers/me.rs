use crate::app::App;
use crate::error::ApiResult;
use crate::http::{Call, Reply};
use serde_json::json;

pub async fn me(_app: &App, call: &Call) -> ApiResult<Reply> {
    let p = call.ctx()?.principal();
    Reply::ok(json!({
        "id": p.user_id,
        "tenant_id": p.tenant_id,
        "email": p.email,
        "name": p.name,
        "roles": p.roles,
        "arranger_scope": p.arranger_scope,
        "second_factor": p.has_second_factor(),
    }))
}
