//! Operator tooling behind `platform-admin`: the first root admin of a new environment,
//! signing-key rotation without downtime, and seeding refused in production.

use integration_tests::{call, current_totp, embedded_app};
use serde_json::json;
use shared::alerts::LocalAlertSink;
use shared::crypto::keyservice::LocalKeyRing;
use shared::routes::RouteId;
use std::sync::Arc;

#[tokio::test]
async fn a_new_root_admin_signs_in_with_its_one_time_password_and_totp() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(LocalKeyRing::open_or_create(&dir.path().join("master.key")).unwrap());
    let (app, _) = embedded_app(dir.path(), keys, Arc::new(LocalAlertSink::log_only())).await;
    let (user, password, secret) = shared::domain::users::create_root_admin(&app, "Ops@Platform.demo", "Ops").await.unwrap();
    assert_eq!(user.email, "ops@platform.demo");
    let (status, body) = call(&app, RouteId::Login, None, None, Some(json!({"email": "ops@platform.demo", "password": password}))).await;
    assert_eq!(status, 401, "the second factor is mandatory: {body}");
    let (status, body) = call(
        &app,
        RouteId::Login,
        None,
        None,
        Some(json!({"email": "ops@platform.demo", "password": password, "totp": current_totp(&secret)})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let (status, tenants) = call(&app, RouteId::TenantsList, None, Some(token), None).await;
    assert_eq!((status, tenants["items"].as_array().unwrap().len()), (200, 2));
    let dup = shared::domain::users::create_root_admin(&app, "ops@platform.demo", "Ops").await;
    assert!(dup.is_err(), "one account per email");
}

#[test]
fn seeding_is_refused_in_production_only() {
    assert!(shared::seed::ensure_seeding_allowed("prod").is_err());
    assert!(shared::seed::ensure_seeding_allowed("PROD").is_err());
    for env in ["dev", "test", "qa", "staging", "isolated", "local"] {
        assert!(shared::seed::ensure_seeding_allowed(env).is_ok(), "{env}");
    }
}

#[tokio::test]
async fn rotating_the_signing_key_on_secrets_manager_keeps_earlier_tokens_valid() {
    let (app, _) = crate::aws_adapters::aws_app().await;
    let creds = shared::seed::seed_demo(&app).await.unwrap();
    let traveler = creds.users.iter().find(|u| u.email == "traveler@alpine.demo").unwrap();
    let before = integration_tests::sign_in(&app, traveler).await;

    let jwks_id = app.config.verification_keys_secret.clone();
    let current = app.secrets.get(&jwks_id).await.unwrap();
    let (signing, jwks) = shared::auth::token::rotate(Some(&current)).unwrap();
    app.secrets.put(&jwks_id, &serde_json::to_string(&jwks).unwrap()).await.unwrap();
    app.secrets.put(app.config.signing_key_secret.as_deref().unwrap(), &serde_json::to_string(&signing).unwrap()).await.unwrap();

    // A new container picks up both keys: the old token still verifies, new ones use the new kid.
    let fresh = crate::aws_adapters::app_on(&app).await;
    assert_eq!(call(&fresh, RouteId::Me, None, Some(&before), None).await.0, 200);
    let after = integration_tests::sign_in(&fresh, traveler).await;
    let header: serde_json::Value =
        serde_json::from_slice(&data_encoding::BASE64URL_NOPAD.decode(after.split('.').next().unwrap().as_bytes()).unwrap()).unwrap();
    assert_eq!(header["kid"], json!(signing.kid));
    assert_eq!(call(&fresh, RouteId::Me, None, Some(&after), None).await.0, 200);
}
