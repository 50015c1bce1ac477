//! Detection rules and alerting. The pipeline and handlers raise [`Signal`]s while serving a
//! request; after it, [`Detector`] turns them (and repeated denials) into alerts, de-duplicated
//! across containers so one burst sends one alert, and hands them to an [`AlertSink`]: a Slack
//! incoming webhook whose URL is a secret, or a local log-and-file sink.

pub mod sink;

use crate::error::ApiResult;
use crate::ids::TenantId;
use crate::store::keys::platform;
use crate::store::{Condition, Item, Store, StoreError};
use serde::Serialize;
use std::sync::{Arc, Mutex};

pub use sink::{AlertSink, LocalAlertSink, SlackWebhookSink};

/// Denials by one actor within [`FAILURE_WINDOW_SECONDS`] that raise an alert.
pub const FAILURE_THRESHOLD: u64 = 5;
pub const FAILURE_WINDOW_SECONDS: i64 = 300;
/// One alert per rule, actor and tenant per window.
pub const DEDUP_WINDOW_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    RepeatedAuthorizationFailures,
    CrossTenantAttempt,
    RootRestrictedAccess,
    DecryptionIntegrityFailure,
    SignInLockout,
    AuditChainBroken,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::RepeatedAuthorizationFailures => "repeated_authorization_failures",
            Rule::CrossTenantAttempt => "cross_tenant_attempt",
            Rule::RootRestrictedAccess => "root_restricted_access",
            Rule::DecryptionIntegrityFailure => "decryption_integrity_failure",
            Rule::SignInLockout => "sign_in_lockout",
            Rule::AuditChainBroken => "audit_chain_broken",
        }
    }
}

/// Something a request did that a rule fires on. Never carries restricted data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub rule: Rule,
    pub detail: String,
}

/// Signals raised while serving one request.
#[derive(Debug, Default)]
pub struct Signals(Mutex<Vec<Signal>>);

impl Signals {
    pub fn raise(&self, rule: Rule, detail: impl Into<String>) {
        if let Ok(mut s) = self.0.lock() {
            s.push(Signal { rule, detail: detail.into() });
        }
    }

    pub fn take(&self) -> Vec<Signal> {
        self.0.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default()
    }
}

/// What an alert says: rule, actor, tenant, time, request id and a short detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub rule: Rule,
    pub actor: String,
    pub tenant: Option<String>,
    pub time: String,
    pub request_id: String,
    pub detail: String,
}

/// Who and where, for the alerts of one request.
pub struct RequestFacts<'a> {
    pub actor: &'a str,
    pub tenant: Option<&'a TenantId>,
    pub request_id: &'a str,
    pub denied: bool,
    pub now: i64,
    pub time: String,
}

pub struct Detector {
    sink: Arc<dyn AlertSink>,
}

impl Detector {
    pub fn new(sink: Arc<dyn AlertSink>) -> Self {
        Self { sink }
    }

    /// Evaluates the rules for one finished request and sends what fires.
    pub async fn evaluate(&self, store: &Store, facts: &RequestFacts<'_>, signals: Vec<Signal>) -> ApiResult<Vec<Alert>> {
        let mut fired: Vec<Signal> = signals;
        if facts.denied && facts.actor != "anonymous" && self.count_failure(store, facts).await? == FAILURE_THRESHOLD {
            fired.push(Signal {
                rule: Rule::RepeatedAuthorizationFailures,
                detail: format!("{FAILURE_THRESHOLD} denied requests within {FAILURE_WINDOW_SECONDS} s"),
            });
        }
        let mut sent = Vec::new();
        for signal in fired {
            let alert = Alert {
                rule: signal.rule,
                actor: facts.actor.to_string(),
                tenant: facts.tenant.map(|t| t.to_string()),
                time: facts.time.clone(),
                request_id: facts.request_id.to_string(),
                detail: signal.detail,
            };
            if self.first_in_window(store, &alert, facts.now).await? {
                if let Err(e) = self.sink.send(&alert).await {
                    tracing::error!(event = "alert_not_delivered", rule = alert.rule.as_str(), error = %e, "an alert could not be delivered");
                }
                sent.push(alert);
            }
        }
        Ok(sent)
    }

    /// Counts a denial of this actor in the current window; returns the count so far.
    async fn count_failure(&self, store: &Store, facts: &RequestFacts<'_>) -> ApiResult<u64> {
        let window = facts.now.div_euclid(FAILURE_WINDOW_SECONDS);
        let key = platform::alert_counter(facts.actor, window);
        for _ in 0..10 {
            let current = store.get(&key).await?;
            let (count, condition, version) = match &current {
                Some(item) => (item.body["count"].as_u64().unwrap_or(0), Condition::Version(item.version), item.version + 1),
                None => (0, Condition::NotExists, 1),
            };
            let mut item = Item::new(key.clone(), serde_json::json!({"count": count + 1}));
            item.version = version;
            item.expires_at = Some(facts.now + FAILURE_WINDOW_SECONDS * 2);
            match store.put(item, condition).await {
                Ok(()) => return Ok(count + 1),
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(0)
    }

    /// Whether this is the first alert of its rule, actor and tenant in the window (shared by
    /// every container through a conditional write).
    async fn first_in_window(&self, store: &Store, alert: &Alert, now: i64) -> ApiResult<bool> {
        let window = now.div_euclid(DEDUP_WINDOW_SECONDS);
        let key = platform::alert_dedup(alert.rule.as_str(), &alert.actor, alert.tenant.as_deref().unwrap_or("-"), window);
        let mut item = Item::new(key, serde_json::json!({"request_id": alert.request_id}));
        item.expires_at = Some(now + DEDUP_WINDOW_SECONDS * 2);
        match store.put(item, Condition::NotExists).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
