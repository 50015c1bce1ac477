//! The local API: every route of the route table on 127.0.0.1, through the same pipeline and
//! handlers as the Lambda functions, on the embedded store, local secrets and a local signing
//! key, seeded with synthetic demo data on first start.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::Router;
use shared::alerts::LocalAlertSink;
use shared::app::{App, Ports};
use shared::clock::SystemClock;
use shared::config::{Config, DEFAULT_ORIGIN};
use shared::crypto::keyservice::LocalKeyRing;
use shared::error::ApiError;
use shared::http::{finish, handle, ApiRequest, ApiResponse};
use shared::objects::FolderObjectStore;
use shared::routes::Route;
use shared::secrets::LocalSecrets;
use shared::seed::{self, DemoCredentials};
use shared::store::{embedded::EmbeddedTable, Store};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const CREDENTIALS_FILE: &str = "demo-credentials.json";

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot use the data folder {0}: {1}")]
    DataDir(PathBuf, String),
    #[error("seeding demo data failed: {0}")]
    Seed(String),
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub data_dir: PathBuf,
    pub allowed_origins: Vec<String>,
    /// Also seed demo travel (policies and bookings in every state); tests that count
    /// bookings turn it off.
    pub seed_travel: bool,
}

impl Options {
    pub fn new(data_dir: PathBuf) -> Self {
        Self { data_dir, allowed_origins: vec![DEFAULT_ORIGIN.to_string()], seed_travel: true }
    }
}

/// Opens (and on first start creates and seeds) the data folder. Returns the app and, when it
/// seeded, the demo credentials it wrote.
pub async fn prepare(opts: &Options) -> Result<(Arc<App>, Option<DemoCredentials>), LocalError> {
    let dir = &opts.data_dir;
    let io = |e: std::io::Error| LocalError::DataDir(dir.clone(), e.to_string());
    std::fs::create_dir_all(dir).map_err(io)?;
    let secrets = LocalSecrets::new(dir.join("secrets"));
    let creds_path = dir.join(CREDENTIALS_FILE);
    let fresh = !creds_path.exists();
    if fresh {
        // A half-seeded folder from an interrupted first start is discarded, not patched.
        let _ = std::fs::remove_file(dir.join("store.redb"));
        seed::write_local_keys(&secrets).map_err(io)?;
    }
    let table = EmbeddedTable::open(&dir.join("store.redb")).map_err(|e| LocalError::DataDir(dir.clone(), e.to_string()))?;
    let store = Store::new(Arc::new(table));
    let keys = LocalKeyRing::open_or_create(&dir.join("keys/master.key")).map_err(io)?;
    let app = Arc::new(App::new(
        Config::local(opts.allowed_origins.clone()),
        Ports {
            store,
            secrets: Arc::new(secrets),
            keys: Arc::new(keys),
            alerts: Arc::new(LocalAlertSink::new(dir.join("alerts.jsonl"))),
            objects: Arc::new(FolderObjectStore::new(dir.join("objects"))),
            clock: Arc::new(SystemClock),
        },
    ));
    let mut seeded = None;
    if fresh {
        let creds = seed::seed_demo(&app).await.map_err(|e| LocalError::Seed(e.to_string()))?;
        if opts.seed_travel {
            seed::seed_travel(&app, &creds).await.map_err(|e| LocalError::Seed(e.to_string()))?;
        }
        write_private(&creds_path, &serde_json::to_string_pretty(&creds).unwrap_or_default()).map_err(io)?;
        seeded = Some(creds);
    } else {
        // A data folder from before the approval queue: queue its waiting bookings (idempotent).
        shared::domain::bookings::queue_waiting_everywhere(&app.store).await.map_err(|e| LocalError::Seed(e.to_string()))?;
    }
    Ok((app, seeded))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

pub fn router(app: Arc<App>) -> Router {
    Router::new().fallback(serve_request).with_state(app)
}

/// Serves on an already bound listener until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, app: Arc<App>) -> std::io::Result<()> {
    axum::serve(listener, router(app).into_make_service_with_connect_info::<SocketAddr>()).await
}

/// Starts the server on 127.0.0.1:`port` (0 for any) in the background; returns its address.
pub async fn start(app: Arc<App>, port: u16) -> Result<SocketAddr, LocalError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.map_err(LocalError::Listen)?;
    let addr = listener.local_addr().map_err(LocalError::Listen)?;
    tokio::spawn(async move {
        if let Err(e) = serve(listener, app).await {
            tracing::error!(error = %e, "local server stopped");
        }
    });
    Ok(addr)
}

/// Runs pending background jobs (re-encryption after a key rotation) every second, as the
/// scheduled function does in the cloud.
pub fn start_jobs(app: Arc<App>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = shared::jobs::reencrypt::run_pending(&app, 1_000).await {
                tracing::error!(error = %e, "re-encryption job failed");
            }
            if let Err(e) = shared::jobs::audit_archive::run(&app, 10_000).await {
                tracing::error!(error = %e, "audit archive job failed");
            }
        }
    });
}

async fn serve_request(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let request_id = shared::ids::random_token(10).to_ascii_lowercase();
    let path = parts.uri.path().to_string();
    let origin = parts.headers.get("origin").and_then(|v| v.to_str().ok()).map(str::to_string);
    if parts.method == axum::http::Method::OPTIONS {
        let (status, headers) = shared::cors::preflight(&app.config, origin.as_deref(), &path);
        return into_axum(ApiResponse { status, headers, body: Vec::new() });
    }
    let Some((route, path_id)) = Route::resolve(parts.method.as_str(), &path) else {
        let err = if Route::methods_for(&path).is_empty() { ApiError::NoRoute } else { ApiError::MethodNotAllowed };
        return into_axum(finish(&app, Err(err), &request_id, origin.as_deref()));
    };
    let limit = app.config.max_body_bytes;
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b.to_vec(),
        Err(_) => return into_axum(finish(&app, Err(ApiError::PayloadTooLarge { limit }), &request_id, origin.as_deref())),
    };
    let query = match axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(&parts.uri) {
        Ok(q) => q.0,
        Err(_) => {
            return into_axum(finish(
                &app,
                Err(ApiError::BadRequest("the query string is malformed".into())),
                &request_id,
                origin.as_deref(),
            ))
        }
    };
    let api_req = ApiRequest {
        method: parts.method.as_str().to_string(),
        path: path.clone(),
        path_id: path_id.map(str::to_string),
        query,
        headers: parts.headers,
        body,
        request_id,
        source_ip: peer.ip().to_string(),
    };
    into_axum(handle(&app, route, api_req).await)
}

fn into_axum(resp: ApiResponse) -> Response {
    let mut builder = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(k, v);
    }
    builder.body(Body::from(resp.body)).unwrap_or_else(|_| Response::new(Body::empty()))
}
