use crate::app::App;
use crate::error::ApiResult;
use crate::http::{Call, Reply};
use serde_json::json;

pub async fn health(app: &App, _call: &Call) -> ApiResult<Reply> {
    Reply::ok(json!({"status": "ok", "environment": app.config.environment, "version": env!("CARGO_PKG_VERSION")}))
}
