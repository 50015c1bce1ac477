//! Security services, measured: key-service calls for 10,000 profile writes and 10,000 reads of
//! one tenant in one process, the latency of sealing and opening one profile, and of appending
//! one audit event. Prints figures; asserts nothing about time.
//!
//! cargo bench -p integration-tests --bench security

use integration_tests::{call, embedded_app, sign_in};
use serde_json::json;
use shared::alerts::LocalAlertSink;
use shared::app::{App, Ports};
use shared::crypto::keyservice::{CountingKeyService, LocalKeyRing};
use shared::crypto::KeyService;
use shared::routes::RouteId;
use std::sync::Arc;
use std::time::Instant;

const N: usize = 10_000;

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[(v.len() * 99) / 100])
}

fn profile(i: usize) -> serde_json::Value {
    json!({
        "given_names": format!("Tess {i}"),
        "passport": {"number": "X98765432", "expiry": "2031-05-31", "issuing_country": "DE"},
        "national_id": "L01X00T47",
        "date_of_birth": "1986-02-17",
        "phone": "+4930555123456",
        "home_address": {"line1": "Sonnenstrasse 12", "city": "Munich", "postal_code": "80331", "country": "DE"},
        "loyalty_numbers": [{"program": "Demo Miles", "number": "DM77441122"}],
        "known_traveler_number": "KTN556677",
        "emergency_contact": {"name": "Sam Traveler", "phone": "+4989555000111"}
    })
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ring: Arc<dyn KeyService> = Arc::new(LocalKeyRing::open_or_create(&dir.path().join("master.key")).unwrap());
    let writer_keys = Arc::new(CountingKeyService::new(ring.clone()));
    let (app, creds) = embedded_app(dir.path(), writer_keys.clone(), Arc::new(LocalAlertSink::log_only())).await;
    let traveler = creds.users.iter().find(|u| u.email == "traveler@alpine.demo").unwrap();
    let token = sign_in(&app, traveler).await;
    let before = writer_keys.calls();

    let started = Instant::now();
    for i in 0..N {
        let (status, _) = call(&app, RouteId::ProfileMePut, None, Some(&token), Some(profile(i))).await;
        assert_eq!(status, 200);
    }
    let writes = started.elapsed();
    let after = writer_keys.calls();
    println!(
        "profile writes: {N} in {:.1} s through the pipeline (embedded store, audit on); key-service calls: {} GenerateDataKey, {} Decrypt",
        writes.as_secs_f64(),
        after.0 - before.0,
        after.1 - before.1
    );

    // A second container (cold key cache) reading the same tenant.
    let reader_keys = Arc::new(CountingKeyService::new(ring));
    let reader = App::new(
        shared::config::Config::local(vec![]),
        Ports {
            store: app.store.clone(),
            secrets: app.secrets.clone(),
            keys: reader_keys.clone(),
            alerts: Arc::new(LocalAlertSink::log_only()),
            objects: Arc::new(shared::objects::NoObjectStore),
            clock: Arc::new(shared::clock::SystemClock),
        },
    );
    let started = Instant::now();
    for _ in 0..N {
        let (status, _) = call(&reader, RouteId::ProfileMeGet, None, Some(&token), None).await;
        assert_eq!(status, 200);
    }
    let reads = started.elapsed();
    let r = reader_keys.calls();
    println!("profile reads: {N} in {:.1} s; key-service calls: {} GenerateDataKey, {} Decrypt", reads.as_secs_f64(), r.0, r.1);

    // Sealing and opening one profile's eight restricted fields, key cached.
    let req = shared::http::ApiRequest {
        headers: [(lambda_http::http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap())].into_iter().collect(),
        request_id: "bench".into(),
        ..Default::default()
    };
    let ctx = shared::http::authenticate(&app, &req).await.unwrap();
    let scope = ctx.tenant_scope(None).unwrap();
    let input: shared::domain::profile::ProfileInput = serde_json::from_value(profile(0)).unwrap();
    let fields = input.restricted_values().unwrap();
    let now = app.clock.now();
    let (mut seal, mut open) = (Vec::new(), Vec::new());
    for _ in 0..N {
        let t = Instant::now();
        let mut sealed = Vec::new();
        for (field, bytes) in &fields {
            sealed.push((*field, app.keyring.seal(&app.store, &scope, "PROFILE/bench", field, bytes, now).await.unwrap()));
        }
        seal.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        for (field, text) in &sealed {
            app.keyring.open(&app.store, &scope, "PROFILE/bench", field, text, now).await.unwrap();
        }
        open.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (s50, s99) = percentiles(seal);
    let (o50, o99) = percentiles(open);
    println!("seal one profile ({} fields): p50 {s50:.1} µs, p99 {s99:.1} µs; open: p50 {o50:.1} µs, p99 {o99:.1} µs", fields.len());

    // Appending one audit event (one read of the head, one two-item transaction, fsync).
    let mut append = Vec::new();
    for i in 0..1000 {
        let input = shared::audit::AuditInput {
            tenant: Some(scope.tenant_id().clone()),
            actor: "u_bench".into(),
            roles: vec!["traveler".into()],
            action: "bench".into(),
            resource: "/bench".into(),
            outcome: "success".into(),
            status: 200,
            request_id: format!("r{i}"),
            source_ip: "127.0.0.1".into(),
            user_agent: "bench".into(),
            time: shared::clock::rfc3339_millis(app.clock.now_millis()),
        };
        let t = Instant::now();
        shared::audit::append(&app.store, input).await.unwrap();
        append.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (a50, a99) = percentiles(append);
    println!("append one audit event (embedded store, durable commit): p50 {a50:.2} ms, p99 {a99:.2} ms");
}
