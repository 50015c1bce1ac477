//! Structured JSON logs. Handlers log ids, never passwords, tokens, TOTP secrets or
//! restricted fields; records that hold credentials redact them in `Debug`.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once; later calls are no-ops (tests call it freely).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ =
        tracing_subscriber::fmt().json().with_env_filter(filter).with_target(false).with_current_span(false).flatten_event(true).try_init();
}
