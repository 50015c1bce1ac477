//! Alert sinks: a Slack incoming webhook (URL from the secrets port, retries with backoff) and
//! a local sink that logs and appends JSON lines to a file.

use super::Alert;
use crate::secrets::Secrets;
use async_trait::async_trait;
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::OnceCell;

/// How long one attempt may take, connection and TLS set-up included.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Error)]
pub enum SinkError {
    #[error("the webhook URL is not available: {0}")]
    NoWebhook(String),
    #[error("the webhook did not accept the alert after {attempts} attempts: {last}")]
    Rejected { attempts: u32, last: String },
    #[error("cannot write the alert file: {0}")]
    File(String),
}

#[async_trait]
pub trait AlertSink: Send + Sync {
    async fn send(&self, alert: &Alert) -> Result<(), SinkError>;
}

/// The Slack message: a readable line and the fields as a block. No restricted data ever
/// reaches an alert; the detail is written by the rules.
pub fn slack_message(alert: &Alert) -> serde_json::Value {
    let text = format!(
        ":rotating_light: {} by {} in {} at {} (request {})",
        alert.rule.as_str(),
        alert.actor,
        alert.tenant.as_deref().unwrap_or("the platform"),
        alert.time,
        alert.request_id
    );
    serde_json::json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": format!("*Rule*\n{}", alert.rule.as_str())},
                {"type": "mrkdwn", "text": format!("*Actor*\n{}", alert.actor)},
                {"type": "mrkdwn", "text": format!("*Tenant*\n{}", alert.tenant.as_deref().unwrap_or("-"))},
                {"type": "mrkdwn", "text": format!("*Request*\n{}", alert.request_id)},
                {"type": "mrkdwn", "text": format!("*Detail*\n{}", alert.detail)}
            ]}
        ]
    })
}

pub struct SlackWebhookSink {
    secrets: Arc<dyn Secrets>,
    secret_id: String,
    url: OnceCell<String>,
    /// Built on the first alert: its TLS set-up reads the system trust store, which has no
    /// place on a function's init path.
    http: std::sync::OnceLock<Connector>,
    attempts: u32,
    backoff: Duration,
}

impl SlackWebhookSink {
    pub fn new(secrets: Arc<dyn Secrets>, secret_id: impl Into<String>) -> Self {
        Self {
            secrets,
            secret_id: secret_id.into(),
            url: OnceCell::new(),
            http: std::sync::OnceLock::new(),
            attempts: 4,
            backoff: Duration::from_millis(200),
        }
    }

    /// Retry schedule (tests shorten it).
    pub fn with_backoff(mut self, attempts: u32, first: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = first;
        self
    }

    async fn url(&self) -> Result<&str, SinkError> {
        self.url
            .get_or_try_init(|| async {
                let raw = self.secrets.get(&self.secret_id).await.map_err(|e| SinkError::NoWebhook(e.to_string()))?;
                // The secret is the URL itself or {"url": "..."}.
                let url = serde_json::from_str::<serde_json::Value>(&raw)
                    .ok()
                    .and_then(|v| v["url"].as_str().map(str::to_string))
                    .unwrap_or_else(|| raw.trim().to_string());
                if url.starts_with("https://") || url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost") {
                    Ok(url)
                } else {
                    Err(SinkError::NoWebhook("the webhook URL must be https".into()))
                }
            })
            .await
            .map(String::as_str)
    }
}

#[async_trait]
impl AlertSink for SlackWebhookSink {
    async fn send(&self, alert: &Alert) -> Result<(), SinkError> {
        let url = self.url().await?;
        let body = slack_message(alert).to_string();
        let http = self.http.get_or_init(crate::aws_sdk::outbound_connector);
        let mut wait = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            match post_json(http, url, &body).await {
                Ok(status) if (200..300).contains(&status) => return Ok(()),
                // A client error other than rate limiting will not get better by retrying.
                Ok(status) if (400..500).contains(&status) && status != 429 => {
                    return Err(SinkError::Rejected { attempts: attempt, last: format!("HTTP {status}") });
                }
                Ok(status) => last = format!("HTTP {status}"),
                Err(e) => last = e,
            }
            if attempt < self.attempts {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        Err(SinkError::Rejected { attempts: self.attempts, last })
    }
}

/// Posts a JSON body and answers the status (the body of the answer is not read).
async fn post_json(http: &Connector, url: &str, body: &str) -> Result<u16, String> {
    let mut request = HttpRequest::new(SdkBody::from(body));
    request.set_method("POST").map_err(|e| e.to_string())?;
    request.set_uri(url).map_err(|e| e.to_string())?;
    request.headers_mut().insert("content-type", "application/json");
    match tokio::time::timeout(WEBHOOK_TIMEOUT, http.call(request)).await {
        Ok(Ok(response)) => Ok(response.status().as_u16()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", WEBHOOK_TIMEOUT.as_secs())),
    }
}

/// Logs every alert and appends it as a JSON line to a file (the local API's
/// `.local-data/alerts.jsonl`).
pub struct LocalAlertSink {
    file: Option<PathBuf>,
}

impl LocalAlertSink {
    pub fn new(file: PathBuf) -> Self {
        Self { file: Some(file) }
    }

    /// Logs alerts only (a function with no webhook configured).
    pub fn log_only() -> Self {
        Self { file: None }
    }
}

#[async_trait]
impl AlertSink for LocalAlertSink {
    async fn send(&self, alert: &Alert) -> Result<(), SinkError> {
        tracing::warn!(event = "alert", rule = alert.rule.as_str(), actor = %alert.actor, tenant = ?alert.tenant, request_id = %alert.request_id, detail = %alert.detail, "alert raised");
        let Some(file) = self.file.clone() else {
            return Ok(());
        };
        let line = serde_json::to_string(alert).map_err(|e| SinkError::File(e.to_string()))? + "\n";
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(file)?;
            f.write_all(line.as_bytes())
        })
        .await
        .map_err(|e| SinkError::File(e.to_string()))?
        .map_err(|e| SinkError::File(e.to_string()))
    }
}
