//! Configuration, read once per cold start. `from_env` names every missing variable at once.

use thiserror::Error;

#[derive(Debug, Error)]
#[error("missing or invalid configuration: {0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone)]
pub struct Config {
    /// dev, test, qa, staging, prod, isolated, or local.
    pub environment: String,
    pub issuer: String,
    pub audience: String,
    /// Front-end origins allowed by CORS.
    pub allowed_origins: Vec<String>,
    pub verification_keys_secret: String,
    /// Only the sign-in function has it.
    pub signing_key_secret: Option<String>,
    /// Only list functions have it.
    pub cursor_key_secret: Option<String>,
    /// The bucket of the functions that write objects (audit archive, exports).
    pub bucket: Option<String>,
    /// The Slack incoming-webhook URL's secret (functions that raise alerts).
    pub slack_webhook_secret: Option<String>,
    /// The KMS key that wraps tenant data keys (only functions that seal or open data have it).
    pub data_key_id: Option<String>,
    /// How long a user's roles and status are cached in a container (at most 60 s).
    pub auth_cache_seconds: u64,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
}

pub const DEFAULT_ORIGIN: &str = "http://localhost:5173";
pub const LOCAL_SIGNING_KEY: &str = "signing-key";
pub const LOCAL_VERIFICATION_KEYS: &str = "verification-keys";
pub const LOCAL_CURSOR_KEY: &str = "cursor-key";

impl Config {
    /// Local defaults: the same checks as in the cloud, with local secret names.
    pub fn local(allowed_origins: Vec<String>) -> Self {
        Self {
            environment: "local".into(),
            issuer: "http://127.0.0.1/local-issuer".into(),
            audience: "travel-api".into(),
            allowed_origins,
            verification_keys_secret: LOCAL_VERIFICATION_KEYS.into(),
            signing_key_secret: Some(LOCAL_SIGNING_KEY.into()),
            cursor_key_secret: Some(LOCAL_CURSOR_KEY.into()),
            data_key_id: None,
            slack_webhook_secret: None,
            bucket: None,
            auth_cache_seconds: 30,
            max_body_bytes: 64 * 1024,
        }
    }

    /// Reads the Lambda environment. Returns the table name alongside.
    pub fn from_env() -> Result<(Self, String), ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<(Self, String), ConfigError> {
        let mut missing = Vec::new();
        let mut required = |name: &str| {
            get(name).filter(|v| !v.is_empty()).unwrap_or_else(|| {
                missing.push(name.to_string());
                String::new()
            })
        };
        let environment = required("APP_ENV");
        let table = required("TABLE_NAME");
        let issuer = required("TOKEN_ISSUER");
        let audience = required("TOKEN_AUDIENCE");
        let verification_keys_secret = required("VERIFICATION_KEYS_SECRET_ID");
        if !missing.is_empty() {
            return Err(ConfigError(format!("set {}", missing.join(", "))));
        }
        let auth_cache_seconds = match get("AUTH_CACHE_SECONDS") {
            None => 30,
            Some(v) => v.parse::<u64>().ok().filter(|s| *s <= 60).ok_or_else(|| ConfigError("AUTH_CACHE_SECONDS must be 0..=60".into()))?,
        };
        let allowed_origins = get("ALLOWED_ORIGINS")
            .unwrap_or_else(|| DEFAULT_ORIGIN.into())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        Ok((
            Self {
                environment,
                issuer,
                audience,
                allowed_origins,
                verification_keys_secret,
                signing_key_secret: get("SIGNING_KEY_SECRET_ID").filter(|v| !v.is_empty()),
                cursor_key_secret: get("CURSOR_KEY_SECRET_ID").filter(|v| !v.is_empty()),
                data_key_id: get("DATA_KEY_ID").filter(|v| !v.is_empty()),
                slack_webhook_secret: get("SLACK_WEBHOOK_SECRET_ID").filter(|v| !v.is_empty()),
                bucket: get("BUCKET_NAME").filter(|v| !v.is_empty()),
                auth_cache_seconds,
                max_body_bytes: 64 * 1024,
            },
            table,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_missing_variable() {
        let err = Config::from_lookup(|_| None).unwrap_err().to_string();
        for v in ["APP_ENV", "TABLE_NAME", "TOKEN_ISSUER", "TOKEN_AUDIENCE", "VERIFICATION_KEYS_SECRET_ID"] {
            assert!(err.contains(v), "{err}");
        }
    }

    #[test]
    fn refuses_a_cache_window_over_a_minute() {
        let env = |k: &str| match k {
            "AUTH_CACHE_SECONDS" => Some("120".to_string()),
            _ => Some("x".to_string()),
        };
        assert!(Config::from_lookup(env).is_err());
    }
}
