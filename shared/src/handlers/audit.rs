//! Reading and verifying the audit trail: a company admin its own tenant's, root_admin any
//! tenant's (naming it) or the platform's own chain.

use crate::app::App;
use crate::audit::{self, chain::AuditEvent, Start};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::{Call, Reply};
use crate::ids::TenantId;
use crate::store::keys::{platform, IndexCollection};
use crate::store::SortRange;
use serde_json::json;

/// The chain the request reads: the caller's tenant, or for root the named one (or the
/// platform chain when none is named).
fn chain_tenant(call: &Call) -> ApiResult<Option<TenantId>> {
    let ctx = call.ctx()?;
    if ctx.principal().is_root() && call.query("tenant_id").is_none() {
        return Ok(None);
    }
    Ok(Some(call.tenant_scope()?.tenant_id().clone()))
}

fn time_param(call: &Call, name: &str) -> ApiResult<Option<String>> {
    match call.query(name) {
        None => Ok(None),
        Some(v) => time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
            .map(|_| Some(v.to_string()))
            .map_err(|_| ApiError::Validation(vec![FieldError::new(name, "must be an RFC 3339 time such as 2026-11-24T10:00:00Z")])),
    }
}

pub async fn list(app: &App, call: &Call) -> ApiResult<Reply> {
    let tenant = chain_tenant(call)?;
    let (from, to) = (time_param(call, "from")?, time_param(call, "to")?);
    let (limit, cursor) = call.page_params()?;
    let codec = app.cursor_codec().await?;
    let (partition, range) = match &tenant {
        Some(t) => {
            let scope = call.ctx()?.tenant_scope(Some(t.as_str()))?;
            let low = from.unwrap_or_else(|| "0000".into());
            // Times sort as text; "~" is above every character of "<time>#<seq>".
            let high = to.map(|t| format!("{t}~")).unwrap_or_else(|| "9999~".into());
            (scope.index_partition(IndexCollection::AuditByTime), SortRange::Between(low, high))
        }
        None => (platform::audit_partition(), SortRange::Between("000000000000".into(), "999999999999".into())),
    };
    let page = app.store.page(codec, partition, range, limit, cursor).await?;
    let matches = |e: &AuditEvent| {
        call.query("actor").is_none_or(|a| a == e.actor)
            && call.query("action").is_none_or(|a| a == e.action)
            && call.query("outcome").is_none_or(|o| o == e.outcome)
    };
    let events: Vec<AuditEvent> = page.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?;
    let items: Vec<&AuditEvent> = events.iter().filter(|e| matches(e)).collect();
    Reply::ok(json!({"items": items, "next_cursor": page.next_cursor}))
}

/// Verifies the chain from its checkpoint, or with `full=true` from its first event; a walk
/// that stops short of the head goes on with `cursor`.
pub async fn verify(app: &App, call: &Call) -> ApiResult<Reply> {
    let tenant = chain_tenant(call)?;
    let start = match (call.query("cursor"), call.query("full")) {
        (Some(cursor), _) => Start::Cursor(cursor),
        (None, None | Some("false")) => Start::Checkpoint,
        (None, Some("true")) => Start::Genesis,
        (None, Some(_)) => return Err(ApiError::validation("full", "must be true or false")),
    };
    let codec = app.cursor_codec().await?;
    let result = audit::verify(&app.store, codec, tenant.as_ref(), start).await?;
    if !result.valid {
        call.signals.raise(
            crate::alerts::Rule::AuditChainBroken,
            format!("the audit chain failed verification at event {:?}: {:?}", result.first_invalid_seq, result.reason),
        );
        tracing::error!(event = "audit_chain_broken", tenant = ?tenant, first_invalid_seq = ?result.first_invalid_seq, reason = ?result.reason, "the audit trail failed verification");
    }
    Reply::ok(json!({"tenant_id": tenant, "verification": result}))
}
