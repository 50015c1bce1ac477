//! The Lambda side: one `main` helper for every route function, and the conversion between
//! API Gateway (REST) requests and the shared pipeline.

use crate::alerts::{AlertSink, LocalAlertSink, SlackWebhookSink};
use crate::app::{App, Ports};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::crypto::keyservice::{KmsKeyService, UnavailableKeyService};
use crate::crypto::KeyService;
use crate::http::{handle, ApiRequest, ApiResponse};
use crate::objects::{NoObjectStore, ObjectStore, S3ObjectStore};
use crate::routes::Route;
use crate::secrets::AwsSecrets;
use crate::store::{dynamo::DynamoTable, Store};
use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use std::sync::Arc;

pub type Error = lambda_http::Error;

/// Builds the AWS-backed dependencies. Clients are constructed without calling anything;
/// secrets and keys are fetched on first use.
pub async fn aws_app() -> Result<App, Error> {
    let (config, table) = Config::from_env()?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let store = Store::new(Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), table)));
    let secrets: Arc<dyn crate::secrets::Secrets> = Arc::new(AwsSecrets::new(aws_sdk_secretsmanager::Client::new(&sdk)));
    // A function without a data key id cannot seal or open anything: it fails closed.
    let keys: Arc<dyn KeyService> = match &config.data_key_id {
        Some(id) => Arc::new(KmsKeyService::new(aws_sdk_kms::Client::new(&sdk), id.clone())),
        None => Arc::new(UnavailableKeyService),
    };
    // Alerts go to Slack when the webhook secret is configured, else to the function's log.
    let alerts: Arc<dyn AlertSink> = match &config.slack_webhook_secret {
        Some(id) => Arc::new(SlackWebhookSink::new(secrets.clone(), id.clone())),
        None => Arc::new(LocalAlertSink::log_only()),
    };
    // Only the archive and export functions have a bucket, and only they build an S3 client.
    let objects: Arc<dyn ObjectStore> = match &config.bucket {
        Some(bucket) => Arc::new(S3ObjectStore::new(aws_sdk_s3::Client::new(&sdk), bucket.clone())),
        None => Arc::new(NoObjectStore),
    };
    Ok(App::new(config, Ports { store, secrets, keys, alerts, objects, clock: Arc::new(SystemClock) }))
}

/// Tells the Lambda service that initialisation failed (`/runtime/init/error`), so the failure
/// shows as an init error with its reason rather than a bare process exit; then returns it.
pub async fn init_failed(error: Error) -> Error {
    tracing::error!(error = %error, "initialisation failed");
    if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") {
        let body = serde_json::json!({"errorMessage": error.to_string(), "errorType": "Runtime.InitError"});
        let _ = reqwest::Client::new()
            .post(format!("http://{api}/2018-06-01/runtime/init/error"))
            .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
            .json(&body)
            .send()
            .await;
    }
    error
}

/// The whole `main` of a route function.
pub async fn run_route(function: &str) -> Result<(), Error> {
    crate::logging::init();
    let route = Route::by_function(function).ok_or_else(|| format!("no route for function {function}"))?;
    let app = match aws_app().await {
        Ok(app) => app,
        Err(e) => return Err(init_failed(e).await),
    };
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(to_lambda(handle(app, route, from_lambda(req)).await))
    }))
    .await
}

/// An API Gateway request in the pipeline's shape.
pub fn from_lambda(req: Request) -> ApiRequest {
    let (request_id, source_ip) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => (c.request_id.clone(), c.identity.source_ip.clone()),
        Some(RequestContext::ApiGatewayV2(c)) => (c.request_id.clone(), Some(c.http.source_ip.clone().unwrap_or_default())),
        _ => (None, None),
    };
    let request_id =
        request_id.or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone())).unwrap_or_else(|| crate::ids::random_token(10));
    let path_id = req.path_parameters_ref().and_then(|p| p.first("id")).map(str::to_string);
    let query =
        req.query_string_parameters_ref().map(|q| q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap_or_default();
    ApiRequest {
        method: req.method().as_str().to_string(),
        path: req.uri().path().to_string(),
        path_id,
        query,
        headers: req.headers().clone(),
        body: req.body().as_ref().to_vec(),
        request_id,
        source_ip: source_ip.unwrap_or_default(),
    }
}

pub fn to_lambda(resp: ApiResponse) -> Response<Body> {
    let mut builder = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(k, v);
    }
    let body = if resp.body.is_empty() { Body::Empty } else { Body::Text(String::from_utf8_lossy(&resp.body).into_owned()) };
    builder.body(body).unwrap_or_else(|_| Response::new(Body::Empty))
}

/// What a scheduled job does with the app, as a boxed future (so `run_job` takes a plain fn).
pub type JobFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = crate::error::ApiResult<serde_json::Value>> + Send + 'a>>;

/// The whole `main` of a scheduled job function: built once, then each invocation runs the job
/// and returns its report.
pub async fn run_job(job: for<'a> fn(&'a App) -> JobFuture<'a>) -> Result<(), Error> {
    crate::logging::init();
    let app = match aws_app().await {
        Ok(app) => app,
        Err(e) => return Err(init_failed(e).await),
    };
    let app = &app;
    lambda_runtime::run(lambda_runtime::service_fn(move |_event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
        job(app).await.map_err(|e| Error::from(e.to_string()))
    }))
    .await
}
