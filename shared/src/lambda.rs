//! The Lambda side: one `main` helper for every route function, and the conversion between
//! API Gateway (REST) requests and the shared pipeline.

use crate::alerts::{AlertSink, LocalAlertSink, SlackWebhookSink};
use crate::app::{App, Ports};
use crate::clock::SystemClock;
use crate::config::{Config, ConfigError};
use crate::crypto::keyservice::{KmsKeyService, UnavailableKeyService};
use crate::crypto::KeyService;
use crate::handlers::RouteHandler;
use crate::http::{handle_with, ApiRequest, ApiResponse};
use crate::objects::{NoObjectStore, ObjectStore, S3ObjectStore};
use crate::routes::Route;
use crate::secrets::AwsSecrets;
use crate::store::{dynamo::DynamoTable, Store};
use aws_config::SdkConfig;
use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use std::sync::Arc;

pub type Error = lambda_http::Error;

/// The AWS services a function's binary links beyond DynamoDB and Secrets Manager, which every
/// function uses. Each binary names its own in `main`, and only the constructors it names are
/// referenced from it, so the linker leaves the other SDK clients out of the binary.
#[derive(Clone, Copy)]
pub struct Services {
    key_service: Option<Connect<dyn KeyService>>,
    object_store: Option<Connect<dyn ObjectStore>>,
}

/// Builds an adapter on the function's SDK configuration, given its key id or bucket.
type Connect<Port> = fn(&SdkConfig, String) -> Arc<Port>;

impl Services {
    /// DynamoDB and Secrets Manager only.
    pub const BASE: Services = Services { key_service: None, object_store: None };
    /// Everything: the operator tool.
    pub const ALL: Services = Services::BASE.kms().s3();

    /// KMS, to wrap and unwrap tenant data keys.
    pub const fn kms(self) -> Self {
        Services { key_service: Some(kms_key_service), ..self }
    }

    /// S3, to write objects (audit archive, exports).
    pub const fn s3(self) -> Self {
        Services { object_store: Some(s3_object_store), ..self }
    }

    /// The ones a function must be built with, from the table in [`crate::routes`].
    pub fn required_by(function: &str) -> (bool, bool) {
        (crate::routes::KMS_FUNCTIONS.contains(&function), crate::routes::S3_FUNCTIONS.contains(&function))
    }

    fn check(&self, function: &str) -> Result<(), ConfigError> {
        let built = (self.key_service.is_some(), self.object_store.is_some());
        if built == Self::required_by(function) {
            Ok(())
        } else {
            Err(ConfigError(format!(
                "{function} is built with (KMS, S3) = {built:?}, the route table says {:?}",
                Self::required_by(function)
            )))
        }
    }
}

fn kms_key_service(sdk: &SdkConfig, key_id: String) -> Arc<dyn KeyService> {
    Arc::new(KmsKeyService::new(aws_sdk_kms::Client::new(sdk), key_id))
}

fn s3_object_store(sdk: &SdkConfig, bucket: String) -> Arc<dyn ObjectStore> {
    Arc::new(S3ObjectStore::new(aws_sdk_s3::Client::new(sdk), bucket))
}

/// Builds the AWS-backed dependencies on `sdk` (see [`crate::aws_sdk`]). Clients are
/// constructed without calling anything; secrets and keys are fetched on first use.
pub fn aws_app(services: Services, sdk: &SdkConfig) -> Result<App, Error> {
    let (config, table) = Config::from_env()?;
    let store = Store::new(Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(sdk), table)));
    let secrets: Arc<dyn crate::secrets::Secrets> = Arc::new(AwsSecrets::new(aws_sdk_secretsmanager::Client::new(sdk)));
    // Without KMS or a data key id a function cannot seal or open anything: it fails closed.
    let keys: Arc<dyn KeyService> = match (services.key_service, &config.data_key_id) {
        (Some(kms), Some(id)) => kms(sdk, id.clone()),
        _ => Arc::new(UnavailableKeyService),
    };
    // Alerts go to Slack when the webhook secret is configured, else to the function's log.
    let alerts: Arc<dyn AlertSink> = match &config.slack_webhook_secret {
        Some(id) => Arc::new(SlackWebhookSink::new(secrets.clone(), id.clone())),
        None => Arc::new(LocalAlertSink::log_only()),
    };
    let objects: Arc<dyn ObjectStore> = match (services.object_store, &config.bucket) {
        (Some(s3), Some(bucket)) => s3(sdk, bucket.clone()),
        (None, Some(_)) => return Err(ConfigError("BUCKET_NAME is set but this function is built without S3".into()).into()),
        (_, None) => Arc::new(NoObjectStore),
    };
    Ok(App::new(config, Ports { store, secrets, keys, alerts, objects, clock: Arc::new(SystemClock) }))
}

/// One thread: a Lambda container serves one invocation at a time, so a scheduler with worker
/// threads costs start-up time and memory for nothing.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Logging, the runtime and the app of a function: what every `main` does before serving.
fn start(function: &str, services: Services) -> Result<(tokio::runtime::Runtime, Result<App, Error>), Error> {
    crate::logging::init();
    let runtime = runtime()?;
    // Nothing here awaits: the clients are built without calling anything.
    let app = services.check(function).map_err(Error::from).and_then(|()| {
        let _guard = runtime.enter();
        aws_app(services, &crate::aws_sdk::lambda_config()?)
    });
    let app = match app {
        Ok(app) => Ok(app),
        Err(e) => Err(runtime.block_on(init_failed(e))),
    };
    Ok((runtime, app))
}

/// Tells the Lambda service that initialisation failed (`/runtime/init/error`), so the failure
/// shows as an init error with its reason rather than a bare process exit; then returns it.
pub async fn init_failed(error: Error) -> Error {
    tracing::error!(error = %error, "initialisation failed");
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        let body = serde_json::json!({"errorMessage": error.to_string(), "errorType": "Runtime.InitError"});
        // The runtime's own client (it reads AWS_LAMBDA_RUNTIME_API): no second HTTP stack.
        let request = lambda_http::http::Request::post("/2018-06-01/runtime/init/error")
            .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
            .header("content-type", "application/json")
            .body(lambda_runtime_api_client::body::Body::from(body.to_string()));
        if let Ok(request) = request {
            let _ = lambda_runtime_api_client::PooledClient::builder().build().call(request).await;
        }
    }
    error
}

/// The whole `main` of a route function: `serve_route::<route::Me>(Services::BASE)`. The route
/// is a type, so the binary links its own handler and no other route's.
pub fn serve_route<H: RouteHandler>(services: Services) -> Result<(), Error> {
    let route = Route::by_id(H::ROUTE);
    let (runtime, app) = start(route.function, services)?;
    let app = &app?;
    let handler = &H::default();
    runtime.block_on(lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(to_lambda(handle_with(app, route, handler, from_lambda(req)).await))
    })))
}

/// The whole `main` of a function that takes a plain JSON event (the authorizer, the jobs).
pub fn serve_events<F>(function: &str, services: Services, answer: F) -> Result<(), Error>
where
    F: for<'a> Fn(&'a App, serde_json::Value) -> JobFuture<'a>,
{
    let (runtime, app) = start(function, services)?;
    let app = &app?;
    let answer = &answer;
    runtime.block_on(lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move { answer(app, event.payload).await },
    )))
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
    // Moved, not copied: answers are JSON, so the lossy path is only for a body that is not UTF-8.
    let body = match String::from_utf8(resp.body) {
        Ok(text) if text.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(e) => Body::Text(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    };
    builder.body(body).unwrap_or_else(|_| Response::new(Body::Empty))
}

/// What a function does with an event, as a boxed future (so the answer is a plain closure).
pub type JobFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<serde_json::Value, Error>> + Send + 'a>>;
