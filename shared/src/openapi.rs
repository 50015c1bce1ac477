//! The OpenAPI document, generated from the route table so it cannot drift from it.
//! `docs/openapi.json` is this output; a test keeps the committed file equal to it.

use crate::routes::{Access, ROUTES};
use serde_json::{json, Map, Value};

pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let mut op = json!({
            "operationId": r.function,
            "summary": r.summary,
            "responses": {
                "default": {"description": "Error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            },
            "x-lambda-function": r.function,
        });
        let ok = if r.method == "POST"
            && !matches!(r.function, "auth-login" | "auth-totp-verify" | "bookings-cancel" | "bookings-approve" | "bookings-reject")
            && !r.function.starts_with("search-")
        {
            "201"
        } else {
            "200"
        };
        op["responses"][ok] = json!({"description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}});
        match r.access {
            Access::Public => op["security"] = json!([]),
            Access::SignedIn => op["x-permission"] = json!("signed_in"),
            Access::Requires(p) => op["x-permission"] = serde_json::to_value(p).unwrap_or_default(),
            Access::AnyOf(ps) => op["x-permission"] = serde_json::to_value(ps).unwrap_or_default(),
        }
        if r.path.contains("{id}") {
            op["parameters"] = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
        }
        if matches!(r.method, "POST" | "PATCH" | "PUT")
            && !matches!(r.function, "auth-totp-enroll" | "bookings-cancel" | "bookings-approve" | "bookings-reject" | "tenant-keys-rotate")
        {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Corporate travel platform API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": "http://127.0.0.1:3000", "description": "local-api"}],
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Problem": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "errors": {"type": "array", "items": {"type": "object"}}, "request_id": {"type": "string"}
            }}}
        }
    })
}
