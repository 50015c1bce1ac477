//! The request pipeline every function and the local server share: size and media-type
//! checks, token verification, the permission matrix, dispatch to the handler, and one
//! mapping of errors to problem+json, with CORS and one structured log line per request.

use crate::alerts::{RequestFacts, Rule, Signals};
use crate::app::App;
use crate::audit::request::{AuditedCommit, Trail};
use crate::auth::token::TokenError;
use crate::domain::tenants::TenantStatus;
use crate::error::{ApiError, ApiResult};
use crate::handlers::Answer;
use crate::ids::{TenantId, UserId};
use crate::rbac::{Grant, Permission};
use crate::routes::{Access, Resource, Route};
use crate::tenancy::{AuthContext, Principal, TenantScope};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A request in the shape both the Lambda adapter and the local server produce.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    /// The `{id}` path parameter, if the route has one.
    pub path_id: Option<String>,
    pub query: HashMap<String, String>,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Vec<u8>,
    pub request_id: String,
    pub source_ip: String,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a handler answers on success.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    /// Who the request turned out to be about, when no token said so (a successful sign-in).
    pub subject: Option<Caller>,
}

impl Reply {
    pub fn ok(body: Value) -> ApiResult<Reply> {
        Ok(Reply { status: 200, body: Some(body), subject: None })
    }
    pub fn created(body: Value) -> ApiResult<Reply> {
        Ok(Reply { status: 201, body: Some(body), subject: None })
    }
}

/// Who made a request, for the audit trail and the request log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub tenant: Option<TenantId>,
    pub roles: Vec<String>,
}

/// A finished HTTP answer.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A request that passed the pipeline's checks, as handlers see it.
pub struct Call {
    pub req: ApiRequest,
    auth: Option<AuthContext>,
    /// What the request did that detection rules fire on.
    pub signals: Arc<Signals>,
    trail: Option<Arc<Trail>>,
    caller: Option<Caller>,
}

impl Call {
    /// Where a handler commits its change: in one transaction with the request's audit event,
    /// recording the `status` it answers with on success.
    pub fn audited<'a>(&'a self, app: &'a App, status: u16) -> AuditedCommit<'a> {
        AuditedCommit { app, trail: self.trail.as_deref().map(|trail| (trail, self.caller.as_ref())), status }
    }

    pub fn ctx(&self) -> ApiResult<&AuthContext> {
        self.auth.as_ref().ok_or(ApiError::Unauthenticated)
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.req.query.get(name).map(String::as_str)
    }

    /// The tenant this request acts on: the caller's own, or for root_admin the one named
    /// with `?tenant_id=`.
    pub fn tenant_scope(&self) -> ApiResult<TenantScope> {
        self.ctx()?.tenant_scope(self.query("tenant_id"))
    }

    pub fn path_id(&self) -> ApiResult<&str> {
        self.req.path_id.as_deref().ok_or(ApiError::NotFound)
    }

    pub fn json<T: DeserializeOwned>(&self) -> ApiResult<T> {
        parse_json(&self.req.body)
    }

    /// `limit` (1..=100, default 50) and `cursor` of a list request.
    pub fn page_params(&self) -> ApiResult<(u32, Option<&str>)> {
        let limit = match self.query("limit") {
            None => 50,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=crate::store::MAX_PAGE_SIZE).contains(l))
                .ok_or_else(|| ApiError::validation("limit", "must be an integer from 1 to 100"))?,
        };
        Ok((limit, self.query("cursor")))
    }
}

/// Parses a JSON body: a syntax error is 400, a well-formed body of the wrong shape is 422
/// naming the field.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson("the body is empty".into()));
    }
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson(format!("line {} column {}", e.line(), e.column())),
            Category::Data => {
                let msg = e.to_string();
                let field = msg
                    .split('`')
                    .nth(1)
                    .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"))
                    .unwrap_or("body")
                    .to_string();
                let message = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                ApiError::validation(field, message)
            }
        }
    })
}

/// Runs one request through the pipeline, for any route.
pub async fn handle(app: &App, route: &Route, req: ApiRequest) -> ApiResponse {
    handle_with(app, route, &route.id, req).await
}

/// Runs one request through the pipeline; `answer` is the route's handler once admitted.
pub async fn handle_with(app: &App, route: &Route, answer: &dyn Answer, req: ApiRequest) -> ApiResponse {
    let started = std::time::Instant::now();
    let origin = req.header("origin").map(str::to_string);
    let request_id = req.request_id.clone();
    let method = req.method.clone();
    let trail = (route.access != Access::Public || route.id == crate::routes::RouteId::Login).then(|| Arc::new(Trail::of(route, &req)));
    let signals = Arc::new(Signals::default());
    let (result, caller) = run(app, route, answer, req, signals.clone(), trail.clone()).await;
    let caller = caller.or_else(|| result.as_ref().ok().and_then(|r| r.subject.clone()));
    let response = finish(app, result, &request_id, origin.as_deref());
    if let Some(trail) = trail {
        trail.record(app, caller.as_ref(), response.status).await;
        let tenant = trail.tenant(caller.as_ref());
        let facts = RequestFacts {
            actor: caller.as_ref().map(|c| c.user_id.as_str()).unwrap_or("anonymous"),
            tenant: tenant.as_ref(),
            request_id: &request_id,
            denied: matches!(response.status, 401 | 403),
            now: app.clock.now(),
            time: app.clock.now_rfc3339(),
        };
        if let Err(e) = app.detector.evaluate(&app.store, &facts, signals.take()).await {
            tracing::error!(event = "detection_failed", request_id = %request_id, error = %e, "detection rules could not run");
        }
    }
    let actor = caller.as_ref().map(|c| (c.user_id.clone(), c.tenant.as_ref().map(|t| t.to_string())));
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = route.path,
        function = route.function,
        status = response.status,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        actor = actor.as_ref().map(|a| a.0.as_str()),
        tenant = actor.as_ref().and_then(|a| a.1.as_deref()),
        "request"
    );
    response
}

/// Turns a handler's result into the HTTP answer: JSON or problem+json, with the request id,
/// security headers and CORS headers.
pub fn finish(app: &App, result: ApiResult<Reply>, request_id: &str, origin: Option<&str>) -> ApiResponse {
    let (status, body) = match result {
        Ok(reply) => (reply.status, reply.body.map(|b| serde_json::to_vec(&b).unwrap_or_default())),
        Err(err) => {
            if let ApiError::Internal(detail) | ApiError::Unavailable(detail) = &err {
                tracing::error!(request_id = %request_id, error = %detail, "request failed");
            }
            let problem = err.to_problem(Some(request_id.to_string()));
            (problem.status, Some(serde_json::to_vec(&problem).unwrap_or_default()))
        }
    };
    let mut headers = vec![("x-request-id".to_string(), request_id.to_string())];
    headers.extend(security_headers());
    if body.is_some() {
        let media = if status >= 400 { "application/problem+json" } else { "application/json" };
        headers.push(("content-type".into(), media.into()));
    }
    if status == 401 {
        headers.push(("www-authenticate".into(), "Bearer".into()));
    }
    headers.extend(crate::cors::response_headers(&app.config, origin));
    ApiResponse { status, headers, body: body.unwrap_or_default() }
}

pub fn security_headers() -> Vec<(String, String)> {
    vec![
        ("cache-control".into(), "no-store".into()),
        ("x-content-type-options".into(), "nosniff".into()),
        ("content-security-policy".into(), "default-src 'none'; frame-ancestors 'none'".into()),
    ]
}

async fn run(
    app: &App,
    route: &Route,
    answer: &dyn Answer,
    req: ApiRequest,
    signals: Arc<Signals>,
    trail: Option<Arc<Trail>>,
) -> (ApiResult<Reply>, Option<Caller>) {
    if req.body.len() > app.config.max_body_bytes {
        return (Err(ApiError::PayloadTooLarge { limit: app.config.max_body_bytes }), None);
    }
    if !req.body.is_empty() {
        let json = req.header("content-type").is_some_and(|c| {
            let media = c.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            media == "application/json" || media.ends_with("+json")
        });
        if !json {
            return (Err(ApiError::UnsupportedMediaType), None);
        }
    }
    let auth = match route.access {
        Access::Public => None,
        Access::SignedIn | Access::Requires(_) | Access::AnyOf(_) => match authenticate(app, &req).await {
            Ok(ctx) => Some(ctx),
            Err(e) => return (Err(e), None),
        },
    };
    let actor = auth.as_ref().map(|a| Caller {
        user_id: a.principal().user_id.to_string(),
        tenant: a.principal().tenant_id.clone(),
        roles: a.principal().roles.iter().map(|r| r.to_string()).collect(),
    });
    // A company user naming another tenant learns nothing about it, whatever the route.
    if let (Some(ctx), Some(named)) = (&auth, req.query.get("tenant_id")) {
        if let Err(e) = ctx.tenant_scope(Some(named)) {
            if !matches!(e, ApiError::Validation(_)) || !ctx.principal().is_root() {
                signals.raise(Rule::CrossTenantAttempt, format!("named another tenant on {}", route.function));
                return (Err(ApiError::NotFound), actor);
            }
        }
    }
    if let (permissions @ [_, ..], Some(ctx)) = (route.access.permissions(), &auth) {
        if let Err(e) = authorize(app, route, ctx, permissions, &req, &signals).await {
            return (Err(e), actor);
        }
    }
    let call = Call { req, auth, signals, trail, caller: actor };
    (answer.answer(app, &call).await, call.caller)
}

/// Verifies the bearer token and loads the caller's current record and tenant status.
pub async fn authenticate(app: &App, req: &ApiRequest) -> ApiResult<AuthContext> {
    let token = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthenticated)?;
    let claims = app.verifier().await?.verify(token, app.clock.now()).map_err(|e| {
        if e == TokenError::BadKeyMaterial {
            ApiError::Unavailable(e.to_string())
        } else {
            tracing::info!(request_id = %req.request_id, reason = %e, "token rejected");
            ApiError::Unauthenticated
        }
    })?;
    let user_id = UserId::parse(&claims.sub).map_err(|_| ApiError::Unauthenticated)?;
    let tenant_id = claims.tid.as_deref().map(TenantId::parse).transpose().map_err(|_| ApiError::Unauthenticated)?;
    let user = app.current_user(tenant_id.as_ref(), &user_id).await?.ok_or(ApiError::Unauthenticated)?;
    if !user.is_active() || user.tenant_id != tenant_id {
        return Err(ApiError::Unauthenticated);
    }
    if let Some(tenant) = &tenant_id {
        if app.tenant_status(tenant).await? != Some(TenantStatus::Active) {
            return Err(ApiError::Unauthenticated);
        }
    }
    let principal = Principal {
        user_id,
        tenant_id,
        email: user.email.clone(),
        name: user.name.clone(),
        roles: user.roles.clone(),
        arranger_scope: user.arranger_scope.clone(),
        amr: claims.amr,
    };
    Ok(AuthContext::new(principal, req.request_id.clone(), req.source_ip.clone()))
}

/// Function-level authorization from the matrix. A denied caller learns nothing about ids it
/// may not know: another tenant's resource answers 404, its own tenant's 403.
async fn authorize(
    app: &App,
    route: &Route,
    ctx: &AuthContext,
    permissions: &[Permission],
    req: &ApiRequest,
    signals: &Signals,
) -> ApiResult<()> {
    let granted: Vec<Permission> = permissions.iter().copied().filter(|p| ctx.grant(*p) != Grant::Denied).collect();
    if granted.is_empty() {
        if !resource_visible(app, route.resource, ctx, req).await? {
            if route.resource == Resource::Tenant {
                signals.raise(Rule::CrossTenantAttempt, format!("named another tenant's id on {}", route.function));
            }
            return Err(ApiError::NotFound);
        }
        tracing::warn!(request_id = %req.request_id, actor = %ctx.principal().user_id, route = route.path, "authorization denied");
        return Err(ApiError::Forbidden);
    }
    let admin_role = ctx.principal().roles.iter().any(|r| r.requires_second_factor());
    if granted.iter().all(|p| p.is_admin_action()) && admin_role && !ctx.principal().has_second_factor() {
        return Err(ApiError::SecondFactorMissing);
    }
    Ok(())
}

/// Whether the caller may know that the resource named in the path exists.
async fn resource_visible(app: &App, resource: Resource, ctx: &AuthContext, req: &ApiRequest) -> ApiResult<bool> {
    let Some(id) = req.path_id.as_deref() else {
        return Ok(true);
    };
    match resource {
        Resource::None => Ok(true),
        Resource::Tenant => Ok(ctx.principal().tenant_id.as_ref().is_some_and(|own| own.as_str() == id)),
        Resource::User => {
            let Ok(user_id) = UserId::parse(id) else {
                return Ok(false);
            };
            let Ok(scope) = ctx.tenant_scope(req.query.get("tenant_id").map(String::as_str)) else {
                return Ok(false);
            };
            let home = crate::domain::users::UserHome::Tenant(scope);
            Ok(crate::domain::users::load(&app.store, &home, &user_id).await?.is_some())
        }
        Resource::Booking => {
            let Ok(scope) = ctx.tenant_scope(req.query.get("tenant_id").map(String::as_str)) else {
                return Ok(false);
            };
            Ok(crate::domain::bookings::load(&app.store, &scope, id).await?.is_some())
        }
    }
}
