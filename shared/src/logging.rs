//! Structured JSON logs. Handlers log ids, never passwords, tokens, TOTP secrets or
//! restricted fields; records that hold credentials redact them in `Debug`.

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the JSON subscriber once; later calls are no-ops (tests call it freely).
pub fn init() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .with_current_span(false)
        .flatten_event(true)
        .finish()
        .with(filter_from_env())
        .try_init();
}

/// `RUST_LOG` as `target=level` directives with a default level (`info,shared=debug`), else
/// Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`. A plain target filter, not `EnvFilter`: its
/// span and field matching would link a regex engine into every function for nothing.
///
/// Release builds have no debug or trace events to enable: the workspace's `tracing` feature
/// `release_max_level_info` compiles them out of every crate, the SDK's thousands included,
/// which takes a quarter of the relocations the loader applies at each cold start (README,
/// "Memory"). Debug builds (the local API, the tests) keep them.
fn filter_from_env() -> Targets {
    let directives = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    filter_from(directives.as_deref(), std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref())
}

fn filter_from(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
    if let Some(parsed) = rust_log.and_then(|d| d.parse::<Targets>().ok()) {
        return parsed;
    }
    let level = match lambda_level.map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE") => Level::TRACE,
        Some("DEBUG") => Level::DEBUG,
        Some("WARN") => Level::WARN,
        Some("ERROR" | "FATAL") => Level::ERROR,
        _ => Level::INFO,
    };
    Targets::new().with_default(level)
}

#[cfg(test)]
mod tests {
    use super::filter_from;
    use tracing::Level;

    #[test]
    fn rust_log_directives_win_then_the_lambda_level_then_info() {
        let f = filter_from(Some("warn,shared=debug"), Some("ERROR"));
        assert!(f.would_enable("shared::audit", &Level::DEBUG));
        assert!(!f.would_enable("hyper", &Level::INFO));
        assert!(f.would_enable("hyper", &Level::WARN));

        let f = filter_from(None, Some("error"));
        assert!(!f.would_enable("shared", &Level::WARN));
        assert!(f.would_enable("shared", &Level::ERROR));

        let f = filter_from(Some("=not a directive="), None);
        assert!(f.would_enable("shared", &Level::INFO));
        assert!(!f.would_enable("shared", &Level::DEBUG));
    }
}
