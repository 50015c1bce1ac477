//! Test support: moto endpoint and SDK configuration, and a local API started in-process on a
//! free loopback port with freshly seeded demo data.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// moto's server, started by scripts/test.sh. Without it the AWS tests fail rather than skip.
pub fn moto_endpoint() -> String {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!("MOTO_ENDPOINT is not set: run the AWS adapter tests through scripts/test.sh, which starts moto"),
    }
}

pub async fn moto_sdk() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-central-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", shared::ids::random_token(5).to_ascii_lowercase())
}

/// One demo user as written to demo-credentials.json.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub tenant_id: Option<String>,
    pub role: String,
    pub user_id: String,
    pub email: String,
    pub password: String,
    pub totp_secret: Option<String>,
}

/// A running local API with its demo data.
pub struct TestApi {
    pub base: String,
    pub client: reqwest::Client,
    pub app: Arc<shared::app::App>,
    pub users: Vec<DemoUser>,
    pub data_dir: tempfile::TempDir,
    tokens: Mutex<HashMap<String, String>>,
}

impl TestApi {
    pub async fn start() -> TestApi {
        Self::start_with(false).await
    }

    /// With `seed_travel`, the demo policies and bookings the local API seeds are there too.
    pub async fn start_with(seed_travel: bool) -> TestApi {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut opts = local_api::Options::new(data_dir.path().join("data"));
        opts.seed_travel = seed_travel;
        let (app, _) = local_api::prepare(&opts).await.expect("prepare local api");
        let addr = local_api::start(app.clone(), 0).await.expect("start local api");
        let creds: Value =
            serde_json::from_str(&std::fs::read_to_string(opts.data_dir.join(local_api::CREDENTIALS_FILE)).expect("credentials file"))
                .expect("credentials json");
        let users = creds["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| DemoUser {
                tenant_id: u["tenant_id"].as_str().map(str::to_string),
                role: u["role"].as_str().unwrap_or_default().to_string(),
                user_id: u["user_id"].as_str().unwrap_or_default().to_string(),
                email: u["email"].as_str().unwrap_or_default().to_string(),
                password: u["password"].as_str().unwrap_or_default().to_string(),
                totp_secret: u["totp_secret"].as_str().map(str::to_string),
            })
            .collect();
        TestApi { base: format!("http://{addr}"), client: reqwest::Client::new(), app, users, data_dir, tokens: Mutex::new(HashMap::new()) }
    }

    pub fn user(&self, email: &str) -> &DemoUser {
        self.users.iter().find(|u| u.email == email).unwrap_or_else(|| panic!("no demo user {email}"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs in (with the current TOTP code where the user has one), once per user per test API:
    /// TOTP codes are single-use, so a second sign-in in the same 30 s step would be refused.
    pub async fn token(&self, email: &str) -> String {
        if let Some(t) = self.tokens.lock().unwrap().get(email) {
            return t.clone();
        }
        let u = self.user(email).clone();
        let mut body = serde_json::json!({"email": u.email, "password": u.password});
        if let Some(secret) = &u.totp_secret {
            body["totp"] = Value::String(current_totp(secret));
        }
        let resp = self.client.post(self.url("/v1/auth/login")).json(&body).send().await.expect("login request");
        let status = resp.status().as_u16();
        let json: Value = resp.json().await.expect("login json");
        assert_eq!(status, 200, "login of {email}: {json}");
        let token = json["access_token"].as_str().expect("access_token").to_string();
        self.tokens.lock().unwrap().insert(email.to_string(), token.clone());
        token
    }

    /// Sends a request and returns status, headers and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method.clone(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if method == reqwest::Method::POST {
            // Bookings require one; every other route ignores it.
            req = req.header("idempotency-key", unique("idem"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, headers, json)
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

pub fn current_totp(secret: &str) -> String {
    shared::auth::totp::code_at(secret, now()).expect("valid secret")
}

/// Path of the repository root (tests read template.yaml, events/ and docs/).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

/// Calls a route through the shared pipeline in-process, as a Lambda invocation would.
pub async fn call(
    app: &shared::app::App,
    id: shared::routes::RouteId,
    path_id: Option<&str>,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    call_with_query(app, id, path_id, &[], token, body).await
}

pub async fn call_with_query(
    app: &shared::app::App,
    id: shared::routes::RouteId,
    path_id: Option<&str>,
    query: &[(&str, &str)],
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    call_with_headers(app, id, path_id, query, &[], token, body).await
}

/// As [`call_with_query`], with extra request headers (an `Idempotency-Key`, say).
pub async fn call_with_headers(
    app: &shared::app::App,
    id: shared::routes::RouteId,
    path_id: Option<&str>,
    query: &[(&str, &str)],
    headers: &[(&'static str, &str)],
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let route = shared::routes::Route::by_id(id);
    let mut req = shared::http::ApiRequest {
        method: route.method.into(),
        path: route.path.replace("{id}", path_id.unwrap_or_default()),
        path_id: path_id.map(str::to_string),
        query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        request_id: unique("req"),
        source_ip: "127.0.0.1".into(),
        ..Default::default()
    };
    if let Some(t) = token {
        req.headers.insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    for (name, value) in headers {
        req.headers.insert(*name, value.parse().unwrap());
    }
    if let Some(b) = body {
        req.headers.insert("content-type", "application/json".parse().unwrap());
        req.body = serde_json::to_vec(&b).unwrap();
    }
    let resp = shared::http::handle(app, route, req).await;
    (resp.status, serde_json::from_slice(&resp.body).unwrap_or(Value::Null))
}

/// Signs a demo user in through the pipeline (TOTP code included where it has one, for the
/// app's clock, which may be a test's).
pub async fn sign_in(app: &shared::app::App, user: &shared::seed::DemoUser) -> String {
    let mut body = serde_json::json!({"email": user.email, "password": user.password});
    if let Some(secret) = &user.totp_secret {
        body["totp"] = Value::String(shared::auth::totp::code_at(secret, app.clock.now()).expect("valid secret"));
    }
    let (status, answer) = call(app, shared::routes::RouteId::Login, None, None, Some(body)).await;
    assert_eq!(status, 200, "sign-in of {}: {answer}", user.email);
    answer["access_token"].as_str().unwrap().to_string()
}

/// An app on a fresh embedded store in `dir`, seeded with the demo data, on the given key
/// service and alert sink.
pub async fn embedded_app(
    dir: &std::path::Path,
    keys: Arc<dyn shared::crypto::KeyService>,
    alerts: Arc<dyn shared::alerts::AlertSink>,
) -> (shared::app::App, shared::seed::DemoCredentials) {
    let secrets = shared::secrets::LocalSecrets::new(dir.join("secrets"));
    shared::seed::write_local_keys(&secrets).unwrap();
    let store = shared::store::Store::new(Arc::new(shared::store::embedded::EmbeddedTable::open(&dir.join("store.redb")).unwrap()));
    let objects = Arc::new(shared::objects::FolderObjectStore::new(dir.join("objects")));
    let ports =
        shared::app::Ports { store, secrets: Arc::new(secrets), keys, alerts, objects, clock: Arc::new(shared::clock::SystemClock) };
    let app = shared::app::App::new(shared::config::Config::local(vec![]), ports);
    let creds = shared::seed::seed_demo(&app).await.unwrap();
    (app, creds)
}

/// Another container of the same deployment: the same table, secrets, objects and clock, its
/// own caches, and the key service given (a fresh one, or one that fails closed).
pub fn another_container(app: &shared::app::App, keys: Arc<dyn shared::crypto::KeyService>) -> shared::app::App {
    container_on(app, keys, app.store.adapter())
}

/// Another container (see [`another_container`]) reaching the table through `table`: one that
/// wraps the app's to count its requests, or to interfere as a concurrent writer would.
pub fn container_on(
    app: &shared::app::App,
    keys: Arc<dyn shared::crypto::KeyService>,
    table: Arc<dyn shared::store::Table>,
) -> shared::app::App {
    let ports = shared::app::Ports {
        store: shared::store::Store::new(table),
        secrets: app.secrets.clone(),
        keys,
        alerts: Arc::new(shared::alerts::LocalAlertSink::log_only()),
        objects: app.objects.clone(),
        clock: app.clock.clone(),
    };
    shared::app::App::new(app.config.clone(), ports)
}
