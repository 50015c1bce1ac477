//! A request's audit event. A handler that changes data commits the event in the same
//! transaction as the change ([`AuditedCommit`]), so no change lands unrecorded and no success is
//! recorded for a change that did not land; for every other request (reads, denials, failures)
//! the pipeline appends the event after the answer.

use super::chain::{self, AuditInput};
use crate::app::App;
use crate::http::{ApiRequest, Caller};
use crate::ids::TenantId;
use crate::routes::{Resource, Route};
use crate::store::{Commit, StoreResult, Write};
use async_trait::async_trait;
use std::sync::OnceLock;

/// What the pipeline knows about a request for its audit event, taken before the request is
/// consumed, and whether a change already carried the event.
pub struct Trail {
    action: &'static str,
    resource: String,
    named_tenant: Option<TenantId>,
    source_ip: String,
    user_agent: String,
    request_id: String,
    /// The status a committed change recorded.
    committed: OnceLock<u16>,
}

impl Trail {
    pub fn of(route: &Route, req: &ApiRequest) -> Self {
        let named = req.query.get("tenant_id").map(String::as_str).or(if route.resource == Resource::Tenant {
            req.path_id.as_deref()
        } else {
            None
        });
        Self {
            action: route.function,
            resource: req.path.clone(),
            named_tenant: named.and_then(|t| TenantId::parse(t).ok()),
            source_ip: req.source_ip.clone(),
            user_agent: req.header("user-agent").unwrap_or_default().chars().take(256).collect(),
            request_id: req.request_id.clone(),
            committed: OnceLock::new(),
        }
    }

    /// The chain the event goes to: the caller's tenant, for root_admin the tenant it named,
    /// otherwise (None) the platform's.
    pub fn tenant(&self, caller: Option<&Caller>) -> Option<TenantId> {
        match caller {
            Some(c) if c.tenant.is_some() => c.tenant.clone(),
            Some(_) => self.named_tenant.clone(),
            None => None,
        }
    }

    fn input(&self, app: &App, caller: Option<&Caller>, status: u16) -> AuditInput {
        AuditInput {
            tenant: self.tenant(caller),
            actor: caller.map(|c| c.user_id.clone()).unwrap_or_else(|| "anonymous".into()),
            roles: caller.map(|c| c.roles.clone()).unwrap_or_default(),
            action: self.action.to_string(),
            resource: self.resource.clone(),
            outcome: outcome(status).to_string(),
            status,
            request_id: self.request_id.clone(),
            source_ip: self.source_ip.clone(),
            user_agent: self.user_agent.clone(),
            time: crate::clock::rfc3339_millis(app.clock.now_millis()),
        }
    }

    /// Appends the request's event, unless its change already committed one with this status
    /// (a request answered otherwise after its change landed gets a second event).
    pub async fn record(&self, app: &App, caller: Option<&Caller>, status: u16) {
        if self.committed.get() == Some(&status) {
            return;
        }
        if let Err(e) = chain::append_cached(&app.store, &app.audit_heads, self.input(app, caller, status)).await {
            tracing::error!(event = "audit_write_failed", request_id = %self.request_id, error = %e, "an audit event could not be written");
        }
    }
}

fn outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "success",
        401 | 403 | 429 => "denied",
        404 => "not_found",
        400..=499 => "rejected",
        _ => "error",
    }
}

/// Commits a handler's change together with the request's audit event, recording `status`;
/// after the first commit, and for requests the trail does not record, it commits plainly.
pub struct AuditedCommit<'a> {
    pub(crate) app: &'a App,
    pub(crate) trail: Option<(&'a Trail, Option<&'a Caller>)>,
    pub(crate) status: u16,
}

#[async_trait]
impl Commit for AuditedCommit<'_> {
    async fn commit(&self, writes: Vec<Write>) -> StoreResult<()> {
        let Some((trail, caller)) = self.trail.filter(|(trail, _)| trail.committed.get().is_none()) else {
            return self.app.store.transact(writes).await;
        };
        let input = trail.input(self.app, caller, self.status);
        chain::commit(&self.app.store, &self.app.audit_heads, input, writes).await?;
        let _ = trail.committed.set(self.status);
        Ok(())
    }
}
