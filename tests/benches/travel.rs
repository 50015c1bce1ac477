//! Travel core, measured in process on the embedded store: search and booking latency (p50,
//! p99), and the table requests one search, one booking and one approval make (there is no
//! Scan in the table port at all). Prints figures; asserts nothing about time.
//!
//! cargo bench -p integration-tests --bench travel

use integration_tests::{call, sign_in};
use serde_json::json;
use shared::alerts::LocalAlertSink;
use shared::app::{App, Ports};
use shared::crypto::keyservice::LocalKeyRing;
use shared::routes::RouteId;
use shared::store::counting::{delta, CountingTable};
use shared::store::{embedded::EmbeddedTable, Store};
use std::sync::Arc;
use std::time::Instant;

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[(v.len() * 99) / 100])
}

async fn book(app: &App, token: &str, offer: &str, key: &str) -> (u16, serde_json::Value) {
    let route = shared::routes::Route::by_id(RouteId::BookingsCreate);
    let mut req = shared::http::ApiRequest { method: "POST".into(), path: route.path.into(), request_id: key.into(), ..Default::default() };
    req.headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    req.headers.insert("idempotency-key", key.parse().unwrap());
    req.headers.insert("content-type", "application/json".parse().unwrap());
    req.body = serde_json::to_vec(&json!({"offer_id": offer})).unwrap();
    let resp = shared::http::handle(app, route, req).await;
    (resp.status, serde_json::from_slice(&resp.body).unwrap())
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = shared::secrets::LocalSecrets::new(dir.path().join("secrets"));
    shared::seed::write_local_keys(&secrets).unwrap();
    let counting = Arc::new(CountingTable::new(Arc::new(EmbeddedTable::open(&dir.path().join("store.redb")).unwrap())));
    let ports = Ports {
        store: Store::new(counting.clone()),
        secrets: Arc::new(secrets),
        keys: Arc::new(LocalKeyRing::open_or_create(&dir.path().join("master.key")).unwrap()),
        alerts: Arc::new(LocalAlertSink::log_only()),
        objects: Arc::new(shared::objects::NoObjectStore),
        clock: Arc::new(shared::clock::SystemClock),
    };
    let app = App::new(shared::config::Config::local(vec![]), ports);
    let creds = shared::seed::seed_demo(&app).await.unwrap();
    let user = |email: &str| creds.users.iter().find(|u| u.email == email).unwrap();
    let token = sign_in(&app, user("traveler@alpine.demo")).await;
    let admin = sign_in(&app, user("admin@alpine.demo")).await;
    call(
        &app,
        RouteId::PolicyPut,
        None,
        Some(&admin),
        Some(json!({"rules": {"cabin_by_distance": [{"max_cabin": "economy"}]}, "version": 0})),
    )
    .await;
    let depart = (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();
    let query = json!({"origin": "LHR", "destination": "JFK", "depart_on": depart});

    // Warm the caches (keys, user, tenant) as a warm container would have them.
    let (_, warm) = call(&app, RouteId::SearchFlights, None, Some(&token), Some(query.clone())).await;
    let offers = warm["offers"].as_array().unwrap().clone();
    let eco = offers.iter().find(|o| o["policy"]["in_policy"] == true).unwrap()["id"].as_str().unwrap().to_string();
    let biz = offers.iter().find(|o| o["policy"]["in_policy"] == false).unwrap()["id"].as_str().unwrap().to_string();

    let before = counting.snapshot();
    call(&app, RouteId::SearchFlights, None, Some(&token), Some(query.clone())).await;
    println!("table requests per flight search: {:?} (the audit event is the TransactWriteItems)", delta(&before, &counting.snapshot()));
    let before = counting.snapshot();
    let (status, _) = book(&app, &token, &eco, "count-1").await;
    assert_eq!(status, 201);
    println!(
        "table requests per in-policy booking (booking, idempotency record and aggregates in one transaction): {:?}",
        delta(&before, &counting.snapshot())
    );
    let (_, pending) = book(&app, &token, &biz, "count-2").await;
    let id = pending["id"].as_str().unwrap().to_string();
    let before = counting.snapshot();
    let (status, _) = call(&app, RouteId::BookingsApprove, Some(&id), Some(&admin), None).await;
    assert_eq!(status, 200);
    println!("table requests per approval: {:?}", delta(&before, &counting.snapshot()));
    assert!(!counting.snapshot().contains_key("Scan"));

    let mut searches = Vec::new();
    for _ in 0..1000 {
        let t = Instant::now();
        let (status, _) = call(&app, RouteId::SearchFlights, None, Some(&token), Some(query.clone())).await;
        assert_eq!(status, 200);
        searches.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (s50, s99) = percentiles(searches);
    println!("flight search LHR-JFK ({} offers), in process: p50 {s50:.2} ms, p99 {s99:.2} ms over 1000", offers.len());
    let mut bookings = Vec::new();
    for i in 0..500 {
        let t = Instant::now();
        let (status, _) = book(&app, &token, &eco, &format!("bench-{i}")).await;
        assert_eq!(status, 201);
        bookings.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (b50, b99) = percentiles(bookings);
    println!("booking (confirmed, aggregates updated), in process: p50 {b50:.2} ms, p99 {b99:.2} ms over 500");
}
