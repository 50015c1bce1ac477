//! The AWS adapters through the real SDK against moto: Secrets Manager, and the whole
//! pipeline (seed, sign-in, authorised reads, isolation) on DynamoDB.

use integration_tests::{call, current_totp, moto_sdk, unique};
use serde_json::json;
use shared::alerts::LocalAlertSink;
use shared::app::{App, Ports};
use shared::auth::token;
use shared::clock::SystemClock;
use shared::config::Config;
use shared::crypto::keyservice::KmsKeyService;
use shared::routes::RouteId;
use shared::secrets::{AwsSecrets, Secrets, SecretsError};
use shared::store::counting::CountingTable;
use shared::store::dynamo::{create_table, DynamoTable};
use shared::store::Store;
use std::sync::Arc;

#[tokio::test]
async fn secrets_manager_adapter_reads_secrets_and_reports_missing_ones() {
    let sdk = moto_sdk().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = unique("secret");
    client.create_secret().name(&name).secret_string("{\"k\":\"v\"}").send().await.unwrap();
    let secrets = AwsSecrets::new(client);
    assert_eq!(secrets.get(&name).await.unwrap(), "{\"k\":\"v\"}");
    assert!(matches!(secrets.get(&unique("absent")).await, Err(SecretsError::NotFound(_))));
}

/// An app on moto: its own DynamoDB table (whose name is returned too), secrets and KMS key.
pub(crate) async fn aws_app() -> (App, String) {
    let (app, table, _) = counted_aws_app().await;
    (app, table)
}

/// As [`aws_app`], with a count of the table requests the app makes.
pub(crate) async fn counted_aws_app() -> (App, String, Arc<CountingTable>) {
    let sdk = moto_sdk().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique("travel");
    create_table(&ddb, &table).await.unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let (signing, jwk) = token::generate_key_pair();
    let ids = [unique("signing"), unique("jwks"), unique("cursor")];
    sm.create_secret().name(&ids[0]).secret_string(serde_json::to_string(&signing).unwrap()).send().await.unwrap();
    sm.create_secret().name(&ids[1]).secret_string(serde_json::to_string(&token::Jwks { keys: vec![jwk] }).unwrap()).send().await.unwrap();
    sm.create_secret().name(&ids[2]).secret_string(shared::ids::random_token(32)).send().await.unwrap();
    let env = |k: &str| -> Option<String> {
        Some(match k {
            "APP_ENV" => "test".into(),
            "TABLE_NAME" => table.clone(),
            "TOKEN_ISSUER" => "https://auth.test".into(),
            "TOKEN_AUDIENCE" => "travel-api".into(),
            "VERIFICATION_KEYS_SECRET_ID" => ids[1].clone(),
            "SIGNING_KEY_SECRET_ID" => ids[0].clone(),
            "CURSOR_KEY_SECRET_ID" => ids[2].clone(),
            _ => return None,
        })
    };
    let (config, table_name) = Config::from_lookup(env).unwrap();
    let table = table_name.clone();
    let requests = Arc::new(CountingTable::new(Arc::new(DynamoTable::new(ddb, table))));
    let store = Store::new(requests.clone());
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let keys = Arc::new(KmsKeyService::new(kms, key));
    let ports = Ports {
        store,
        secrets: Arc::new(AwsSecrets::new(sm)),
        keys,
        alerts: Arc::new(LocalAlertSink::log_only()),
        objects: Arc::new(shared::objects::NoObjectStore),
        clock: Arc::new(SystemClock),
    };
    (App::new(config, ports), table_name, requests)
}

#[tokio::test]
async fn the_pipeline_runs_on_dynamodb_and_secrets_manager() {
    let (app, _) = aws_app().await;
    let creds = shared::seed::seed_demo(&app).await.unwrap();
    let find = |email: &str| creds.users.iter().find(|u| u.email == email).unwrap().clone();

    let traveler = find("traveler@alpine.demo");
    let (status, body) =
        call(&app, RouteId::Login, None, None, Some(json!({"email": traveler.email, "password": traveler.password}))).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    let (status, me) = call(&app, RouteId::Me, None, Some(&token), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["tenant_id"], json!(traveler.tenant_id));

    let wrong = call(&app, RouteId::Login, None, None, Some(json!({"email": traveler.email, "password": "wrong password!!"}))).await;
    let unknown =
        call(&app, RouteId::Login, None, None, Some(json!({"email": "nobody@alpine.demo", "password": "wrong password!!"}))).await;
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong.1["type"], unknown.1["type"]);
    assert_eq!(wrong.1["detail"], unknown.1["detail"]);

    let admin = find("admin@alpine.demo");
    let (status, body) = call(
        &app,
        RouteId::Login,
        None,
        None,
        Some(json!({"email": admin.email, "password": admin.password, "totp": current_totp(admin.totp_secret.as_deref().unwrap())})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let admin_token = body["access_token"].as_str().unwrap().to_string();

    // Paginate users on DynamoDB with the signed cursor.
    let (status, page) = call(&app, RouteId::UsersList, None, Some(&admin_token), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 5);

    // Another company's user is 404 on DynamoDB too.
    let other = find("traveler@harbor.demo");
    let (status, _) = call(&app, RouteId::UsersGet, Some(&other.user_id), Some(&admin_token), None).await;
    assert_eq!(status, 404);

    // A stale version gets 409 and changes nothing.
    let (status, company) = call(&app, RouteId::CompanyGet, None, Some(&admin_token), None).await;
    assert_eq!(status, 200);
    let version = company["version"].as_u64().unwrap();
    let (status, _) =
        call(&app, RouteId::CompanyUpdate, None, Some(&admin_token), Some(json!({"departments": ["A"], "version": version}))).await;
    assert_eq!(status, 200);
    let (status, _) =
        call(&app, RouteId::CompanyUpdate, None, Some(&admin_token), Some(json!({"departments": ["B"], "version": version}))).await;
    assert_eq!(status, 409);
    let (_, now) = call(&app, RouteId::CompanyGet, None, Some(&admin_token), None).await;
    assert_eq!(now["departments"], json!(["A"]));
}

/// A second container on the same moto resources as `app`: fresh caches, same table, secrets
/// and key.
pub(crate) async fn app_on(app: &App) -> App {
    let sdk = moto_sdk().await;
    let ports = Ports {
        store: app.store.clone(),
        secrets: Arc::new(AwsSecrets::new(aws_sdk_secretsmanager::Client::new(&sdk))),
        keys: Arc::new(shared::crypto::keyservice::UnavailableKeyService),
        alerts: Arc::new(LocalAlertSink::log_only()),
        objects: Arc::new(shared::objects::NoObjectStore),
        clock: Arc::new(SystemClock),
    };
    App::new(app.config.clone(), ports)
}

/// The same app with an object store (the archive and export functions have one).
pub(crate) fn with_objects(app: App, objects: Arc<dyn shared::objects::ObjectStore>) -> App {
    let ports = Ports {
        store: app.store.clone(),
        secrets: app.secrets.clone(),
        keys: Arc::new(shared::crypto::keyservice::UnavailableKeyService),
        alerts: Arc::new(LocalAlertSink::log_only()),
        objects,
        clock: Arc::new(SystemClock),
    };
    App::new(app.config.clone(), ports)
}
