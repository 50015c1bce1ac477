//! CORS for the configured front-end origins only.

use crate::config::Config;
use crate::routes::Route;

pub const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Idempotency-Key";

fn allowed<'a>(config: &Config, origin: Option<&'a str>) -> Option<&'a str> {
    origin.filter(|o| config.allowed_origins.iter().any(|a| a == o))
}

/// Headers for an actual (non-preflight) response.
pub fn response_headers(config: &Config, origin: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![("vary".to_string(), "Origin".to_string())];
    if let Some(o) = allowed(config, origin) {
        h.push(("access-control-allow-origin".into(), o.into()));
        h.push(("access-control-expose-headers".into(), "X-Request-Id".into()));
    }
    h
}

/// The answer to an `OPTIONS` preflight: 204 with the path's methods for an allowed origin,
/// 403 without any CORS header otherwise.
pub fn preflight(config: &Config, origin: Option<&str>, path: &str) -> (u16, Vec<(String, String)>) {
    let methods = Route::methods_for(path);
    let mut h = vec![("vary".to_string(), "Origin".to_string())];
    match allowed(config, origin) {
        Some(o) if !methods.is_empty() => {
            h.push(("access-control-allow-origin".into(), o.into()));
            h.push(("access-control-allow-methods".into(), methods.join(", ")));
            h.push(("access-control-allow-headers".into(), ALLOWED_HEADERS.into()));
            h.push(("access-control-max-age".into(), "600".into()));
            (204, h)
        }
        _ if methods.is_empty() => (404, h),
        _ => (403, h),
    }
}
