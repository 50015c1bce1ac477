//! Sign-in and TOTP enrolment.

use crate::alerts::Rule;
use crate::app::App;
use crate::auth::throttle::ThrottleState;
use crate::auth::{password, token::ACCESS_TOKEN_SECONDS, totp};
use crate::domain::tenants::TenantStatus;
use crate::domain::users::{self, TotpEnrolment, UserHome};
use crate::domain::validate::normalise_email;
use crate::error::{ApiError, ApiResult};
use crate::http::{Call, Reply};
use crate::store::keys::platform;
use crate::store::{Condition, Item};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

/// Throttle state is kept under the email's sign-in partition whether or not a user exists.
fn throttle_key(email: &str) -> crate::store::Key {
    platform::login_throttle(email)
}

async fn load_throttle(app: &App, email: &str) -> ApiResult<(ThrottleState, Option<u64>)> {
    Ok(match app.store.get(&throttle_key(email)).await? {
        Some(item) => (item.decode()?, Some(item.version)),
        None => (ThrottleState::default(), None),
    })
}

async fn save_throttle(app: &App, email: &str, state: &ThrottleState, version: Option<u64>) -> ApiResult<()> {
    let mut item = Item::new(throttle_key(email), serde_json::to_value(state).map_err(|e| ApiError::Internal(e.to_string()))?);
    item.expires_at = Some(app.clock.now() + crate::auth::throttle::WINDOW_SECONDS * 2);
    let result = match version {
        Some(v) => {
            item.version = v + 1;
            app.store.put(item, Condition::Version(v)).await
        }
        None => app.store.put(item, Condition::NotExists).await,
    };
    // A concurrent failure recorded first is as good as ours: both count against the email.
    match result {
        Ok(()) | Err(crate::store::StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn record_failure(app: &App, email: &str, mut state: ThrottleState, version: Option<u64>, call: &Call) -> ApiResult<()> {
    if state.record_failure(app.clock.now()) {
        call.signals.raise(Rule::SignInLockout, "an email was locked after repeated failed sign-ins");
        tracing::warn!(event = "sign_in_lockout", request_id = %call.req.request_id, source_ip = %call.req.source_ip, "sign-in locked after repeated failures");
    }
    save_throttle(app, email, &state, version).await
}

pub async fn login(app: &App, call: &Call) -> ApiResult<Reply> {
    let body: LoginRequest = call.json()?;
    if body.email.len() > 254 || body.password.len() > 256 || body.totp.as_ref().is_some_and(|t| t.len() > 16) {
        return Err(ApiError::InvalidCredentials);
    }
    let email = normalise_email(&body.email);
    let now = app.clock.now();
    let (throttle, throttle_version) = load_throttle(app, &email).await?;
    if let Some(retry_after_secs) = throttle.locked_for(now) {
        return Err(ApiError::LockedOut { retry_after_secs });
    }
    let Some((mut user, version)) = users::find_by_email(&app.store, &email).await? else {
        password::verify_against_dummy(&body.password);
        record_failure(app, &email, throttle, throttle_version, call).await?;
        return Err(ApiError::InvalidCredentials);
    };
    if !password::verify(&body.password, &user.password_hash) {
        record_failure(app, &email, throttle, throttle_version, call).await?;
        return Err(ApiError::InvalidCredentials);
    }
    let tenant_active = match &user.tenant_id {
        Some(t) => crate::domain::tenants::load(&app.store, t).await?.is_some_and(|(t, _)| t.status == TenantStatus::Active),
        None => true,
    };
    if !user.is_active() || !tenant_active {
        return Err(ApiError::InvalidCredentials);
    }
    let mut amr = vec!["pwd"];
    if let Some(enrolment) = user.totp.as_ref().filter(|t| t.confirmed) {
        let code = body.totp.as_deref().ok_or(ApiError::SecondFactorRequired)?;
        let home = UserHome::of(user.tenant_id.as_ref());
        let secret = users::open_totp_secret(app, &home, &user.id, &enrolment.secret).await?;
        let Some(step) = totp::verify(&secret, code, now, enrolment.last_step) else {
            record_failure(app, &email, throttle, throttle_version, call).await?;
            return Err(ApiError::InvalidCredentials);
        };
        if let Some(t) = user.totp.as_mut() {
            t.last_step = Some(step);
        }
        // The conditional write makes a code usable once even under concurrent sign-ins.
        users::save(&app.store, &UserHome::of(user.tenant_id.as_ref()), &user, version).await.map_err(|e| match e {
            ApiError::StaleVersion => ApiError::InvalidCredentials,
            other => other,
        })?;
        amr.push("otp");
    }
    if throttle.failures > 0 {
        save_throttle(app, &email, &ThrottleState::default(), throttle_version).await?;
    }
    let needs_enrolment = user.roles.iter().any(|r| r.requires_second_factor()) && !user.totp_enabled();
    let token = app.signer().await?.issue(user.id.as_str(), user.tenant_id.as_ref().map(|t| t.as_str()), &user.roles, &amr, now);
    let mut answer = json!({"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS});
    if needs_enrolment {
        answer["second_factor"] = json!("enrollment_required");
    }
    let mut reply = Reply::ok(answer)?;
    reply.subject = Some(crate::http::Caller {
        user_id: user.id.to_string(),
        tenant: user.tenant_id.clone(),
        roles: user.roles.iter().map(|r| r.to_string()).collect(),
    });
    Ok(reply)
}

pub async fn totp_enroll(app: &App, call: &Call) -> ApiResult<Reply> {
    let p = call.ctx()?.principal();
    let home = UserHome::of(p.tenant_id.as_ref());
    let (mut user, version) = users::load(&app.store, &home, &p.user_id).await?.ok_or(ApiError::Unauthenticated)?;
    if user.totp_enabled() {
        return Err(ApiError::Conflict("a second factor is already enrolled".into()));
    }
    let secret = totp::generate_secret();
    let sealed = users::seal_totp_secret(app, &home, &user.id, &secret).await?;
    user.totp = Some(TotpEnrolment { secret: sealed, confirmed: false, last_step: None });
    user.updated_at = app.clock.now_rfc3339();
    users::save(&call.audited(app, 201), &home, &user, version).await?;
    let uri = totp::otpauth_uri("Travel Platform", &user.email, &secret);
    Reply::created(json!({"secret": secret, "otpauth_uri": uri, "digits": 6, "period": totp::STEP_SECONDS}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    code: String,
}

pub async fn totp_verify(app: &App, call: &Call) -> ApiResult<Reply> {
    let body: VerifyRequest = call.json()?;
    let p = call.ctx()?.principal();
    let home = UserHome::of(p.tenant_id.as_ref());
    let (mut user, version) = users::load(&app.store, &home, &p.user_id).await?.ok_or(ApiError::Unauthenticated)?;
    let enrolment = user
        .totp
        .as_mut()
        .filter(|t| !t.confirmed)
        .ok_or_else(|| ApiError::Conflict("no enrolment is pending; call /v1/auth/totp/enroll first".into()))?;
    let secret = users::open_totp_secret(app, &home, &p.user_id, &enrolment.secret).await?;
    let step = totp::verify(&secret, body.code.trim(), app.clock.now(), None)
        .ok_or_else(|| ApiError::validation("code", "is not the current code of the enrolled secret"))?;
    enrolment.confirmed = true;
    enrolment.last_step = Some(step);
    user.updated_at = app.clock.now_rfc3339();
    users::save(&call.audited(app, 200), &home, &user, version).await?;
    app.forget_user(p.tenant_id.as_ref(), &p.user_id);
    Reply::ok(json!({"second_factor": "enabled", "next": "sign in again with your TOTP code to get a token that carries it"}))
}
