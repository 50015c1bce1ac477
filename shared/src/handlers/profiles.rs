//! Traveler profiles: one's own, and another traveler's as the matrix allows (an arranger in
//! scope in clear, a company admin masked, root_admin in clear with every read alerted).

use crate::alerts::Rule;
use crate::app::App;
use crate::crypto::keyring::OpenError;
use crate::crypto::luhn::card_number_fields;
use crate::domain::profile::{mask, ProfileInput, StoredProfile, RESTRICTED};
use crate::domain::users::{self, UserHome};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::{Call, Reply};
use crate::ids::UserId;
use crate::rbac::{Grant, Permission};
use crate::store::{Collection, Commit, Condition, Item};
use crate::tenancy::TenantScope;
use serde_json::{json, Map, Value};

/// How restricted fields are shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reveal {
    Clear,
    Masked,
}

fn item_ref(user: &str) -> String {
    format!("PROFILE/{user}")
}

async fn load(app: &App, scope: &TenantScope, user: &str) -> ApiResult<Option<(StoredProfile, u64)>> {
    Ok(match app.store.get(&scope.key(Collection::Profile, user)).await? {
        Some(item) => Some((item.decode()?, item.version)),
        None => None,
    })
}

/// The profile as the caller may see it. A sealed field that fails to open is an integrity
/// failure: reported, alerted, and the request fails rather than showing anything.
async fn view(app: &App, call: &Call, scope: &TenantScope, user: &str, reveal: Reveal) -> ApiResult<Value> {
    let now = app.clock.now();
    let (stored, version) =
        load(app, scope, user).await?.unwrap_or_else(|| (StoredProfile { user_id: user.to_string(), ..Default::default() }, 0));
    let mut out = Map::new();
    out.insert("user_id".into(), json!(user));
    out.insert("given_names".into(), json!(stored.given_names));
    out.insert("family_name".into(), json!(stored.family_name));
    out.insert("seat_preference".into(), json!(stored.seat_preference));
    out.insert("meal_preference".into(), json!(stored.meal_preference));
    for field in RESTRICTED {
        let value = match stored.sealed.get(field) {
            None => Value::Null,
            Some(sealed) => match app.keyring.open(&app.store, scope, &item_ref(user), field, sealed, now).await {
                Ok(bytes) => serde_json::from_slice(&bytes).map_err(|_| ApiError::IntegrityFailure)?,
                Err(OpenError::Integrity) => {
                    call.signals.raise(Rule::DecryptionIntegrityFailure, format!("the sealed field {field} of a profile failed to open"));
                    tracing::error!(
                        event = "decryption_integrity_failure",
                        tenant = %scope.tenant_id(),
                        field,
                        request_id = %call.req.request_id,
                        "a sealed field failed to open"
                    );
                    return Err(ApiError::IntegrityFailure);
                }
                Err(other) => return Err(other.into()),
            },
        };
        out.insert(field.to_string(), if reveal == Reveal::Masked { mask(&value) } else { value });
    }
    out.insert("updated_at".into(), json!(stored.updated_at));
    out.insert("version".into(), json!(version));
    Ok(Value::Object(out))
}

/// Replaces a profile: card numbers refused, fields validated, restricted ones sealed before
/// anything is written.
async fn replace(app: &App, call: &Call, scope: &TenantScope, user: &str) -> ApiResult<Value> {
    let raw: Value = call.json()?;
    let cards = card_number_fields(&raw);
    if !cards.is_empty() {
        return Err(ApiError::Validation(cards.into_iter().map(|f| FieldError::new(f, "must not hold a payment card number")).collect()));
    }
    let input: ProfileInput = crate::http::parse_json(&call.req.body)?;
    input.validate(time::OffsetDateTime::from_unix_timestamp(app.clock.now()).map(|t| t.date()).unwrap_or(time::Date::MIN))?;
    let existing = load(app, scope, user).await?;
    let current_version = existing.as_ref().map(|(_, v)| *v).unwrap_or(0);
    if input.version.is_some_and(|v| v != current_version) {
        return Err(ApiError::StaleVersion);
    }
    let now = app.clock.now();
    let mut sealed = std::collections::BTreeMap::new();
    for (field, bytes) in input.restricted_values()? {
        sealed.insert(field.to_string(), app.keyring.seal(&app.store, scope, &item_ref(user), field, &bytes, now).await?);
    }
    let stored = StoredProfile {
        user_id: user.to_string(),
        given_names: input.given_names.map(|s| s.trim().to_string()),
        family_name: input.family_name.map(|s| s.trim().to_string()),
        seat_preference: input.seat_preference,
        meal_preference: input.meal_preference,
        sealed,
        updated_at: Some(app.clock.now_rfc3339()),
    };
    let mut item =
        Item::new(scope.key(Collection::Profile, user), serde_json::to_value(&stored).map_err(|e| ApiError::Internal(e.to_string()))?);
    let condition = match existing {
        Some((_, v)) => {
            item.version = v + 1;
            Condition::Version(v)
        }
        None => Condition::NotExists,
    };
    call.audited(app, 200).put(item, condition).await?;
    view(app, call, scope, user, Reveal::Clear).await
}

pub async fn me_get(app: &App, call: &Call) -> ApiResult<Reply> {
    let ctx = call.ctx()?;
    let scope = ctx.tenant_scope(None)?;
    Reply::ok(view(app, call, &scope, ctx.principal().user_id.as_str(), Reveal::Clear).await?)
}

pub async fn me_put(app: &App, call: &Call) -> ApiResult<Reply> {
    let ctx = call.ctx()?;
    let scope = ctx.tenant_scope(None)?;
    Reply::ok(replace(app, call, &scope, ctx.principal().user_id.as_str()).await?)
}

/// The traveler named in the path, and how the caller may see it: 404 outside the tenant,
/// 403 out of an arranger's scope.
async fn other(app: &App, call: &Call) -> ApiResult<(TenantScope, String, Grant)> {
    let ctx = call.ctx()?;
    let scope = call.tenant_scope()?;
    let id = UserId::parse(call.path_id()?).map_err(|_| ApiError::NotFound)?;
    users::load(&app.store, &UserHome::Tenant(scope.clone()), &id).await?.ok_or(ApiError::NotFound)?;
    let grant = ctx.grant(Permission::ManageOtherProfiles);
    if grant == Grant::InScope && !ctx.principal().arranger_scope.as_ref().is_some_and(|s| s.covers(id.as_str())) {
        return Err(ApiError::Forbidden);
    }
    if grant == Grant::AuditedAlert {
        call.signals.raise(Rule::RootRestrictedAccess, format!("root_admin accessed the profile of {id}"));
        tracing::warn!(
            event = "root_restricted_access",
            actor = %ctx.principal().user_id,
            tenant = %scope.tenant_id(),
            user = %id,
            request_id = %call.req.request_id,
            "root_admin accessed a traveler's restricted data"
        );
    }
    Ok((scope, id.to_string(), grant))
}

pub async fn user_get(app: &App, call: &Call) -> ApiResult<Reply> {
    let (scope, user, grant) = other(app, call).await?;
    let reveal = if grant == Grant::Masked { Reveal::Masked } else { Reveal::Clear };
    Reply::ok(view(app, call, &scope, &user, reveal).await?)
}

pub async fn user_put(app: &App, call: &Call) -> ApiResult<Reply> {
    let (scope, user, grant) = other(app, call).await?;
    if grant == Grant::Masked {
        return Err(ApiError::Forbidden);
    }
    Reply::ok(replace(app, call, &scope, &user).await?)
}
