//! Detection rules: each fires once on its scenario and not on normal traffic; alerts reach a
//! Slack-compatible webhook (a real HTTP receiver on loopback) with retries, de-duplicated, and
//! carry no restricted data.

use async_trait::async_trait;
use integration_tests::{call, call_with_query, embedded_app, sign_in};
use serde_json::{json, Value};
use shared::alerts::SlackWebhookSink;
use shared::crypto::keyservice::{DataKey, LocalKeyRing};
use shared::crypto::{KeyError, KeyService};
use shared::ids::TenantId;
use shared::routes::RouteId;
use shared::secrets::LocalSecrets;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A webhook receiver on loopback that fails the first `fail_first` posts with 503.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Value>>>,
    posts: Arc<AtomicUsize>,
}

async fn receiver(fail_first: usize) -> Receiver {
    let received = Arc::new(Mutex::new(Vec::new()));
    let posts = Arc::new(AtomicUsize::new(0));
    let (r, p) = (received.clone(), posts.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (r, p) = (r.clone(), p.clone());
            async move {
                let n = p.fetch_add(1, Ordering::SeqCst);
                if n < fail_first {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                r.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, received, posts }
}

/// A key service whose unwrapping can be made to refuse, as KMS does for a moved key.
struct Refusing {
    inner: LocalKeyRing,
    refuse: AtomicBool,
}

#[async_trait]
impl KeyService for Refusing {
    async fn generate_data_key(&self, t: &TenantId) -> Result<DataKey, KeyError> {
        self.inner.generate_data_key(t).await
    }
    async fn decrypt_data_key(&self, t: &TenantId, w: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(KeyError::Refused);
        }
        self.inner.decrypt_data_key(t, w).await
    }
}

struct Setup {
    app: shared::app::App,
    creds: shared::seed::DemoCredentials,
    hook: Receiver,
    keys: Arc<Refusing>,
    _dir: tempfile::TempDir,
}

async fn setup(fail_first: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let hook = receiver(fail_first).await;
    let secrets = Arc::new(LocalSecrets::new(dir.path().join("secrets")));
    secrets.write("slack-webhook", &json!({"url": hook.url}).to_string()).unwrap();
    let sink = Arc::new(SlackWebhookSink::new(secrets, "slack-webhook").with_backoff(4, Duration::from_millis(20)));
    let keys =
        Arc::new(Refusing { inner: LocalKeyRing::open_or_create(&dir.path().join("master.key")).unwrap(), refuse: AtomicBool::new(false) });
    let (app, creds) = embedded_app(dir.path(), keys.clone(), sink).await;
    Setup { app, creds, hook, keys, _dir: dir }
}

impl Setup {
    fn user(&self, email: &str) -> shared::seed::DemoUser {
        self.creds.users.iter().find(|u| u.email == email).unwrap().clone()
    }

    fn rules(&self) -> Vec<String> {
        self.hook
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|m| m["blocks"][1]["fields"][0]["text"].as_str().unwrap().trim_start_matches("*Rule*\n").to_string())
            .collect()
    }
}

#[tokio::test]
async fn normal_traffic_raises_nothing() {
    let s = setup(0).await;
    let traveler = sign_in(&s.app, &s.user("traveler@alpine.demo")).await;
    let admin = sign_in(&s.app, &s.user("admin@alpine.demo")).await;
    for _ in 0..3 {
        assert_eq!(call(&s.app, RouteId::Me, None, Some(&traveler), None).await.0, 200);
        assert_eq!(call(&s.app, RouteId::UsersList, None, Some(&admin), None).await.0, 200);
    }
    let profile = json!({"given_names": "Tess", "passport": {"number": "X98765432", "expiry": "2031-05-31", "issuing_country": "DE"}});
    assert_eq!(call(&s.app, RouteId::ProfileMePut, None, Some(&traveler), Some(profile)).await.0, 200);
    assert_eq!(call(&s.app, RouteId::ProfileMeGet, None, Some(&traveler), None).await.0, 200);
    // One denial is not a pattern.
    assert_eq!(call(&s.app, RouteId::UsersList, None, Some(&traveler), None).await.0, 403);
    assert!(s.rules().is_empty(), "{:?}", s.rules());
}

#[tokio::test]
async fn repeated_denials_by_one_actor_alert_once() {
    let s = setup(0).await;
    let traveler = sign_in(&s.app, &s.user("traveler@alpine.demo")).await;
    for _ in 0..8 {
        assert_eq!(call(&s.app, RouteId::UsersList, None, Some(&traveler), None).await.0, 403);
    }
    assert_eq!(s.rules(), ["repeated_authorization_failures"]);
    let msg = s.hook.received.lock().unwrap()[0].clone();
    let text = msg["text"].as_str().unwrap();
    assert!(text.contains(&s.user("traveler@alpine.demo").user_id), "{text}");
    assert!(text.contains(s.user("traveler@alpine.demo").tenant_id.as_deref().unwrap()));
}

#[tokio::test]
async fn a_cross_tenant_attempt_alerts_once_per_burst() {
    let s = setup(0).await;
    let admin = sign_in(&s.app, &s.user("admin@alpine.demo")).await;
    let harbor = s.user("admin@harbor.demo").tenant_id.unwrap();
    for _ in 0..3 {
        let (status, _) = call_with_query(&s.app, RouteId::UsersList, None, &[("tenant_id", &harbor)], Some(&admin), None).await;
        assert_eq!(status, 404);
    }
    assert_eq!(s.rules(), ["cross_tenant_attempt"]);
}

#[tokio::test]
async fn root_reading_restricted_data_alerts() {
    let s = setup(0).await;
    let traveler = s.user("traveler@alpine.demo");
    let token = sign_in(&s.app, &traveler).await;
    let profile = json!({"passport": {"number": "X98765432", "expiry": "2031-05-31", "issuing_country": "DE"}});
    call(&s.app, RouteId::ProfileMePut, None, Some(&token), Some(profile)).await;
    let root = sign_in(&s.app, &s.user("root@platform.demo")).await;
    let tenant = traveler.tenant_id.clone().unwrap();
    let (status, body) =
        call_with_query(&s.app, RouteId::ProfileUserGet, Some(&traveler.user_id), &[("tenant_id", &tenant)], Some(&root), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.rules(), ["root_restricted_access"]);
    let all = serde_json::to_string(&*s.hook.received.lock().unwrap()).unwrap();
    assert!(!all.contains("X98765432"), "no restricted data in alerts");
}

#[tokio::test]
async fn an_integrity_failure_alerts() {
    let s = setup(0).await;
    let traveler = s.user("traveler@alpine.demo");
    let token = sign_in(&s.app, &traveler).await;
    let profile = json!({"phone": "+4930555123456"});
    call(&s.app, RouteId::ProfileMePut, None, Some(&token), Some(profile)).await;
    // A new container whose key service refuses the wrapped key (as KMS does for a moved one).
    let ports = shared::app::Ports {
        store: s.app.store.clone(),
        secrets: s.app.secrets.clone(),
        keys: s.keys.clone(),
        alerts: Arc::new(SlackWebhookSink::new(Arc::new(LocalSecrets::new(s._dir.path().join("secrets"))), "slack-webhook")),
        objects: Arc::new(shared::objects::NoObjectStore),
        clock: Arc::new(shared::clock::SystemClock),
    };
    let fresh = shared::app::App::new(shared::config::Config::local(vec![]), ports);
    s.keys.refuse.store(true, Ordering::SeqCst);
    let (status, body) = call(&fresh, RouteId::ProfileMeGet, None, Some(&token), None).await;
    assert_eq!(status, 500, "{body}");
    assert!(body["type"].as_str().unwrap().ends_with("integrity-failure"));
    assert_eq!(s.rules(), ["decryption_integrity_failure"]);
}

#[tokio::test]
async fn a_sign_in_lockout_alerts() {
    let s = setup(0).await;
    for _ in 0..5 {
        let (status, _) =
            call(&s.app, RouteId::Login, None, None, Some(json!({"email": "traveler@alpine.demo", "password": "not the password"}))).await;
        assert_eq!(status, 401);
    }
    assert_eq!(s.rules(), ["sign_in_lockout"]);
    let (status, _) =
        call(&s.app, RouteId::Login, None, None, Some(json!({"email": "traveler@alpine.demo", "password": "not the password"}))).await;
    assert_eq!(status, 429);
    assert_eq!(s.rules().len(), 1);
}

#[tokio::test]
async fn the_webhook_is_retried_with_backoff_until_it_accepts() {
    let s = setup(2).await;
    let admin = sign_in(&s.app, &s.user("admin@alpine.demo")).await;
    let harbor = s.user("admin@harbor.demo").tenant_id.unwrap();
    call_with_query(&s.app, RouteId::CompanyGet, None, &[("tenant_id", &harbor)], Some(&admin), None).await;
    assert_eq!(s.hook.posts.load(Ordering::SeqCst), 3, "two 503s, then accepted");
    assert_eq!(s.rules(), ["cross_tenant_attempt"]);
}
