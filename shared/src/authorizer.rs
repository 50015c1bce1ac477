//! The API Gateway Lambda authorizer (REQUEST type): the first token check, at the gateway.
//! Handlers check the token again, with the user's current status and roles.

use crate::app::App;
use serde_json::{json, Value};

/// Allows the caller on this API stage, or refuses with "Unauthorized" (API Gateway's 401).
pub async fn decide(app: &App, event: &Value) -> Result<Value, &'static str> {
    let headers = event.get("headers").and_then(Value::as_object);
    let token = headers
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")))
        .and_then(|(_, v)| v.as_str())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("Unauthorized")?;
    let method_arn = event.get("methodArn").and_then(Value::as_str).ok_or("Unauthorized")?;
    let verifier = app.verifier().await.map_err(|_| "Unauthorized")?;
    let claims = verifier.verify(token, app.clock.now()).map_err(|_| "Unauthorized")?;
    // arn:aws:execute-api:region:account:api-id/stage/METHOD/path -> allow the whole stage,
    // because the per-route permission is decided in the function.
    let mut parts = method_arn.splitn(3, '/');
    let (api, stage) = (parts.next().ok_or("Unauthorized")?, parts.next().ok_or("Unauthorized")?);
    let roles: Vec<&str> = claims.roles.iter().map(|r| r.as_str()).collect();
    Ok(json!({
        "principalId": claims.sub,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": format!("{api}/{stage}/*")}]
        },
        "context": {"user_id": claims.sub, "tenant_id": claims.tid.unwrap_or_default(), "roles": roles.join(",")}
    }))
}

/// The whole `main` of the authorizer function.
pub fn serve(services: crate::lambda::Services) -> Result<(), lambda_runtime::Error> {
    crate::lambda::serve_events("authorizer", services, |app, event| {
        Box::pin(async move { decide(app, &event).await.map_err(lambda_runtime::Error::from) })
    })
}
