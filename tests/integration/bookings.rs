//! Bookings end to end: exactly once per Idempotency-Key (also under 50 concurrent requests),
//! price and carbon from the stored offer, approvals, racing approve and cancel, and report
//! aggregates that equal a recount of the bookings.

use integration_tests::TestApi;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(days)).to_string()
}

async fn search(api: &TestApi, token: &str, from: &str, to: &str) -> Vec<Value> {
    let (status, _, body) = api
        .call("POST", "/v1/search/flights", Some(token), Some(json!({"origin": from, "destination": to, "depart_on": in_days(25)})))
        .await;
    assert_eq!(status, 200, "{body}");
    body["offers"].as_array().unwrap().clone()
}

async fn book(api: &TestApi, token: &str, key: &str, body: &Value) -> (u16, Value) {
    let r = api.client.post(api.url("/v1/bookings")).bearer_auth(token).header("idempotency-key", key).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_key_books_once_and_answers_the_same() {
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    let offers = search(&api, &token, "LHR", "JFK").await;
    let offer = &offers[0];
    let body = json!({"offer_id": offer["id"], "purpose": "Client workshop", "payment_reference": "tok_demo_7781"});
    let (status, first) = book(&api, &token, "trip-1", &body).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["offer"]["price"], offer["price"], "the price is the stored offer's");
    assert_eq!(first["offer"]["co2e_kg"], offer["co2e_kg"]);
    assert_eq!(first["status"], "confirmed");
    assert!(first["confirmation"].as_str().unwrap().starts_with("SBX-"));
    let (status, again) = book(&api, &token, "trip-1", &body).await;
    assert_eq!((status, &again), (201, &first), "the same key and body give back the same booking and answer");
    let (status, problem) = book(&api, &token, "trip-1", &json!({"offer_id": offers[1]["id"]})).await;
    assert_eq!((status, problem["errors"][0]["field"].clone()), (422, json!("Idempotency-Key")));
    let r = api.client.post(api.url("/v1/bookings")).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400, "a missing key");
    let (status, problem) =
        book(&api, &token, "trip-2", &json!({"offer_id": offer["id"], "price": {"amount": "1.00", "currency": "EUR"}})).await;
    assert_eq!((status, problem["errors"][0]["field"].clone()), (422, json!("price")), "the client cannot set the price");
    let (status, problem) =
        book(&api, &token, "trip-3", &json!({"offer_id": offer["id"], "payment_reference": "4111 1111 1111 1111"})).await;
    assert_eq!((status, problem["errors"][0]["field"].clone()), (422, json!("payment_reference")));
    assert!(!problem.to_string().contains("4111"));
    let (status, _) = book(&api, &token, "trip-4", &json!({"offer_id": "s_aaaaaaaaaaaaaaaa-0"})).await;
    assert_eq!(status, 422, "an unknown offer");
    let exec = api.token("executive@alpine.demo").await;
    let (status, problem) = book(&api, &exec, "trip-5", &json!({"offer_id": offer["id"]})).await;
    assert_eq!((status, problem["errors"][0]["field"].clone()), (422, json!("offer_id")), "another traveler's offer");
    let (_, _, list) = api.call("GET", "/v1/bookings", Some(&token), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing else was written: {list}");
}

#[tokio::test]
async fn fifty_concurrent_requests_with_one_key_make_one_booking() {
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    let offers = search(&api, &token, "FRA", "CDG").await;
    let body = json!({"offer_id": offers[0]["id"]});
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (client, url, token, body) = (api.client.clone(), api.url("/v1/bookings"), token.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = client.post(url).bearer_auth(token).header("idempotency-key", "burst").json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (status, b) = t.await.unwrap();
        assert_eq!(status, 201, "{b}");
        ids.insert(b["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "every answer names the same booking");
    let (_, _, list) = api.call("GET", "/v1/bookings", Some(&token), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "bookings created: 1");
}

async fn with_policy(api: &TestApi) -> String {
    let admin = api.token("admin@alpine.demo").await;
    let (status, _, _) = api
        .call("PUT", "/v1/policy", Some(&admin), Some(json!({"rules": {"cabin_by_distance": [{"max_cabin": "economy"}]}, "version": 0})))
        .await;
    assert_eq!(status, 200);
    admin
}

/// An economy-only policy, the traveler's token and a LHR-JFK search (business is out of policy).
async fn economy_policy_and_a_transatlantic_search(api: &TestApi) -> (String, String, Vec<Value>) {
    let admin = with_policy(api).await;
    let token = api.token("traveler@alpine.demo").await;
    let offers = search(api, &token, "LHR", "JFK").await;
    (admin, token, offers)
}

/// The approval queue lists exactly the bookings waiting for approval, in full pages however
/// many confirmed bookings the company has, each as GET /v1/bookings/{id} shows it; approving,
/// rejecting or cancelling takes a booking off it.
#[tokio::test]
async fn the_approval_queue_holds_exactly_the_waiting_bookings_in_full_pages() {
    let api = TestApi::start().await;
    let (admin, token, offers) = economy_policy_and_a_transatlantic_search(&api).await;
    let business = offers.iter().find(|o| o["cabin"] == "business").unwrap();
    let economy = offers.iter().find(|o| o["cabin"] == "economy").unwrap();
    let mut waiting = std::collections::BTreeSet::new();
    for i in 0..12 {
        // Three waiting among twelve: a page of the bookings filtered afterwards would be short.
        let offer = if i % 4 == 1 { business } else { economy };
        let (status, b) = book(&api, &token, &format!("queue-{i}"), &json!({"offer_id": offer["id"]})).await;
        assert_eq!(status, 201, "{b}");
        if b["status"] == "pending_approval" {
            waiting.insert(b["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(waiting.len(), 3);

    let queue = |cursor: Option<String>| {
        let api = &api;
        let admin = admin.clone();
        async move {
            let path = match cursor {
                Some(c) => format!("/v1/approvals?limit=2&cursor={c}"),
                None => "/v1/approvals?limit=2".to_string(),
            };
            let (status, _, page) = api.call("GET", &path, Some(&admin), None).await;
            assert_eq!(status, 200, "{page}");
            page
        }
    };
    let first = queue(None).await;
    let second = queue(Some(first["next_cursor"].as_str().expect("a second page").to_string())).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2, "a full first page: {first}");
    let listed: Vec<Value> = first["items"].as_array().unwrap().iter().chain(second["items"].as_array().unwrap()).cloned().collect();
    let ids: std::collections::BTreeSet<String> = listed.iter().map(|b| b["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, waiting);
    for entry in &listed {
        let (_, _, booking) = api.call("GET", &format!("/v1/bookings/{}", entry["id"].as_str().unwrap()), Some(&admin), None).await;
        assert_eq!(entry, &booking, "the queue shows the booking as it is");
    }

    let mut ids = waiting.iter();
    let (approved, rejected, cancelled) = (ids.next().unwrap(), ids.next().unwrap(), ids.next().unwrap());
    assert_eq!(api.call("POST", &format!("/v1/bookings/{approved}/approve"), Some(&admin), None).await.0, 200);
    let after_one = queue(None).await;
    assert_eq!(after_one["items"].as_array().unwrap().len(), 2);
    assert!(after_one["items"].as_array().unwrap().iter().all(|b| b["id"] != json!(approved)));
    assert_eq!(api.call("POST", &format!("/v1/bookings/{rejected}/reject"), Some(&admin), None).await.0, 200);
    assert_eq!(api.call("POST", &format!("/v1/bookings/{cancelled}/cancel"), Some(&token), None).await.0, 200);
    let empty = queue(None).await;
    assert_eq!((empty["items"].clone(), empty["next_cursor"].clone()), (json!([]), Value::Null), "{empty}");
}

#[tokio::test]
async fn out_of_policy_waits_for_a_company_admin_and_approve_races_cancel() {
    let api = TestApi::start().await;
    let (admin, token, offers) = economy_policy_and_a_transatlantic_search(&api).await;
    let business = offers.iter().find(|o| o["cabin"] == "business").unwrap();
    assert_eq!(business["policy"]["in_policy"], false);
    let (_, pending) = book(&api, &token, "b1", &json!({"offer_id": business["id"]})).await;
    assert_eq!(pending["status"], "pending_approval");
    assert!(pending["confirmation"].is_null());
    let (_, _, approvals) = api.call("GET", "/v1/approvals", Some(&admin), None).await;
    assert_eq!(approvals["items"][0]["id"], pending["id"]);
    let id = pending["id"].as_str().unwrap();
    let (status, _, _) = api.call("POST", &format!("/v1/bookings/{id}/approve"), Some(&token), None).await;
    assert_eq!(status, 403, "travelers do not approve");

    // Approve and cancel at once, many times: exactly one wins each race, the loser gets 409,
    // and the final state is what the winner implies.
    for round in 0..10 {
        let (_, b) = book(&api, &token, &format!("race-{round}"), &json!({"offer_id": business["id"]})).await;
        let id = b["id"].as_str().unwrap().to_string();
        let approve = api.client.post(api.url(&format!("/v1/bookings/{id}/approve"))).bearer_auth(&admin).send();
        let cancel = api.client.post(api.url(&format!("/v1/bookings/{id}/cancel"))).bearer_auth(&token).send();
        let (a, c) = tokio::join!(approve, cancel);
        let (a, c) = (a.unwrap().status().as_u16(), c.unwrap().status().as_u16());
        let (_, _, now) = api.call("GET", &format!("/v1/bookings/{id}"), Some(&token), None).await;
        match (a, c) {
            (200, 409) => assert_eq!(now["status"], "confirmed"),
            (409, 200) => assert_eq!(now["status"], "cancelled"),
            // Approve first, then cancel of the confirmed booking: both legitimate in sequence.
            (200, 200) => assert_eq!(now["status"], "cancelled"),
            other => panic!("round {round}: {other:?}, final {now}"),
        }
        assert_eq!(now["version"].as_u64().unwrap(), 1 + u64::from(a == 200) + u64::from(c == 200), "{now}");
    }
}

#[tokio::test]
async fn report_aggregates_equal_a_recount_after_a_mixed_run() {
    let api = TestApi::start().await;
    let admin = with_policy(&api).await;
    let travelers = ["traveler@alpine.demo", "executive@alpine.demo", "reporting@alpine.demo"];
    let mut n = 0;
    for (i, who) in travelers.iter().enumerate() {
        let token = api.token(who).await;
        for (from, to) in [("LHR", "JFK"), ("MUC", "BER"), ("CDG", "FRA")] {
            let offers = search(&api, &token, from, to).await;
            for offer in offers.iter().take(3) {
                n += 1;
                let (status, b) = book(
                    &api,
                    &token,
                    &format!("mix-{n}"),
                    &json!({"offer_id": offer["id"], "cost_center": if i == 0 { "CC-200" } else { "CC-100" }}),
                )
                .await;
                assert_eq!(status, 201, "{b}");
                let id = b["id"].as_str().unwrap();
                match (n % 4, b["status"].as_str().unwrap()) {
                    (0, _) => assert_eq!(api.call("POST", &format!("/v1/bookings/{id}/cancel"), Some(&token), None).await.0, 200),
                    (1, "pending_approval") => {
                        assert_eq!(api.call("POST", &format!("/v1/bookings/{id}/reject"), Some(&admin), None).await.0, 200)
                    }
                    (2, "pending_approval") => {
                        assert_eq!(api.call("POST", &format!("/v1/bookings/{id}/approve"), Some(&admin), None).await.0, 200)
                    }
                    _ => {}
                }
            }
        }
    }
    // Recount from the bookings themselves.
    let (_, _, all) = api.call("GET", "/v1/bookings?limit=100", Some(&admin), None).await;
    let bookings = all["items"].as_array().unwrap();
    assert_eq!(bookings.len(), n);
    let mut trips = 0;
    let mut spend = 0i64;
    let mut co2e_g = 0i64;
    let (mut cancelled, mut rejected) = (0, 0);
    let mut by_cc: BTreeMap<String, i64> = BTreeMap::new();
    for b in bookings {
        match b["status"].as_str().unwrap() {
            "confirmed" => {
                trips += 1;
                let amount: f64 = b["offer"]["price"]["amount"].as_str().unwrap().parse().unwrap();
                spend += (amount * 100.0).round() as i64;
                co2e_g += (b["offer"]["co2e_kg"].as_f64().unwrap() * 1000.0).round() as i64;
                *by_cc.entry(b["cost_center"].as_str().unwrap().to_string()).or_default() += 1;
            }
            "cancelled" => cancelled += 1,
            "rejected" => rejected += 1,
            _ => {}
        }
    }
    let month = &in_days(25)[..7];
    let (status, _, report) = api.call("GET", &format!("/v1/reports/summary?from={month}&to={month}"), Some(&admin), None).await;
    assert_eq!(status, 200, "{report}");
    let p = &report["period"];
    assert_eq!(p["total"]["trips"], trips);
    let reported: f64 = p["total"]["spend"]["amount"].as_str().unwrap().parse().unwrap();
    assert_eq!((reported * 100.0).round() as i64, spend);
    assert!((p["total"]["co2e_kg"].as_f64().unwrap() - co2e_g as f64 / 1000.0).abs() < 1e-6);
    assert_eq!((p["cancelled"].clone(), p["rejected"].clone()), (json!(cancelled), json!(rejected)));
    for (cc, count) in by_cc {
        assert_eq!(p["by_cost_center"][&cc]["trips"], count, "{cc}");
    }
    let by_mode: i64 = p["by_mode"].as_object().unwrap().values().map(|v| v["trips"].as_i64().unwrap()).sum();
    assert_eq!(by_mode, trips);
    let reporting = api.token("reporting@alpine.demo").await;
    assert_eq!(api.call("GET", &format!("/v1/reports/summary?from={month}&to={month}"), Some(&reporting), None).await.0, 200);
    let (status, _, body) = api.call("GET", "/v1/reports/summary?from=2026-13&to=2026-01", Some(&admin), None).await;
    assert_eq!((status, body["errors"][0]["field"].clone()), (422, json!("from")));
}

#[tokio::test]
async fn the_local_demo_has_a_policy_and_bookings_in_every_state() {
    let api = TestApi::start_with(true).await;
    let admin = api.token("admin@alpine.demo").await;
    let (_, _, policy) = api.call("GET", "/v1/policy", Some(&admin), None).await;
    assert_eq!(policy["version"], 1);
    assert!(policy["department_overrides"]["Executive"].is_object());
    let (_, _, all) = api.call("GET", "/v1/bookings?limit=100", Some(&admin), None).await;
    let states: std::collections::BTreeSet<&str> = all["items"].as_array().unwrap().iter().map(|b| b["status"].as_str().unwrap()).collect();
    assert_eq!(states, ["cancelled", "confirmed", "pending_approval", "rejected"].into_iter().collect(), "{all}");
    let (_, _, approvals) = api.call("GET", "/v1/approvals", Some(&admin), None).await;
    assert!(!approvals["items"].as_array().unwrap().is_empty());
    let month = &in_days(21)[..7];
    let (_, _, report) = api.call("GET", &format!("/v1/reports/summary?from={month}&to={month}"), Some(&admin), None).await;
    assert!(report["period"]["total"]["trips"].as_i64().unwrap() >= 2, "{report}");
}

#[tokio::test]
async fn every_offer_of_a_search_is_bookable_by_its_id_rail_alternatives_too() {
    // A booking reads only the element its offer number names (Store::get_parts).
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    let (status, _, found) = api
        .call("POST", "/v1/search/flights", Some(&token), Some(json!({"origin": "LHR", "destination": "CDG", "depart_on": in_days(25)})))
        .await;
    assert_eq!(status, 200, "{found}");
    let alternatives = found["alternatives"].as_array().unwrap();
    assert!(!alternatives.is_empty(), "{found}");
    let offers = found["offers"].as_array().unwrap();
    for (i, offer) in [&offers[0], offers.last().unwrap(), &alternatives[0], alternatives.last().unwrap()].into_iter().enumerate() {
        let (status, booking) = book(&api, &token, &format!("every-{i}"), &json!({"offer_id": offer["id"]})).await;
        assert_eq!(status, 201, "{offer}: {booking}");
        assert_eq!((&booking["offer"]["id"], &booking["offer"]["price"]), (&offer["id"], &offer["price"]), "{booking}");
    }
}

#[tokio::test]
async fn bad_booking_requests_get_problems_and_write_nothing() {
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    let offers = search(&api, &token, "LHR", "CDG").await;
    let search_id = offers[0]["id"].as_str().unwrap().rsplit_once('-').unwrap().0.to_string();
    for (body, status, field) in [
        (json!({}), 422, "offer_id"),
        (json!({"offer_id": format!("{search_id}-99")}), 422, "offer_id"),
        (json!({"offer_id": format!("{search_id}-x")}), 422, "offer_id"),
        (json!({"offer_id": format!("{search_id}-{}", u64::MAX)}), 422, "offer_id"),
        (json!({"offer_id": format!("{}-1", "s".repeat(2000))}), 422, "offer_id"),
        (json!({"offer_id": format!("{search_id}-1\n")}), 422, "offer_id"),
        (json!({"offer_id": 42}), 422, "body"),
        (json!({"offer_id": offers[0]["id"], "cost_center": "CC-999"}), 422, "cost_center"),
        (json!({"offer_id": offers[0]["id"], "traveler_id": "not-an-id"}), 422, "traveler_id"),
        (json!({"offer_id": offers[0]["id"], "purpose": "x".repeat(600)}), 422, "purpose"),
    ] {
        let (s, problem) = book(&api, &token, &integration_tests::unique("bad"), &body).await;
        assert_eq!((s, problem["errors"][0]["field"].as_str()), (status, Some(field)), "{body}: {problem}");
    }
    let huge = json!({"offer_id": offers[0]["id"], "purpose": "x".repeat(70 * 1024)});
    let (s, _) = book(&api, &token, "huge", &huge).await;
    assert_eq!(s, 413);
    let (status, _, _) = api.call("GET", "/v1/bookings/b_aaaaaaaaaaaaaaaa", Some(&token), None).await;
    assert_eq!(status, 404);
    let (_, _, list) = api.call("GET", "/v1/bookings", Some(&token), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "nothing was written");
    let (status, _, problem) = api.call("GET", "/v1/bookings?status=lost", Some(&token), None).await;
    assert_eq!((status, problem["errors"][0]["field"].clone()), (422, json!("status")));
}

/// An idempotency record answers for its key for 24 hours. After that the key books anew, even
/// while the expired record is still in the table (DynamoDB's TTL sweep can take days).
#[tokio::test]
async fn an_idempotency_key_answers_for_a_day_and_then_books_anew() {
    use integration_tests::{another_container, call, call_with_headers, embedded_app, sign_in};
    use shared::clock::{Clock, ManualClock};
    use shared::routes::RouteId;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(shared::crypto::keyservice::LocalKeyRing::open_or_create(&dir.path().join("master.key")).unwrap());
    let (seeded, creds) = embedded_app(dir.path(), keys.clone(), Arc::new(shared::alerts::LocalAlertSink::log_only())).await;
    let clock = Arc::new(ManualClock::new(shared::clock::SystemClock.now()));
    let mut app = another_container(&seeded, keys);
    app.clock = clock.clone();
    let traveler = creds.users.iter().find(|u| u.email == "traveler@alpine.demo").unwrap();

    let book_with = |token: String, offer: Value| {
        let app = &app;
        async move {
            let body = json!({"offer_id": offer});
            call_with_headers(app, RouteId::BookingsCreate, None, &[], &[("idempotency-key", "trip-1")], Some(&token), Some(body)).await
        }
    };
    let search = |token: String| {
        let app = &app;
        async move {
            let body = json!({"origin": "LHR", "destination": "JFK", "depart_on": in_days(25)});
            let (status, found) = call(app, RouteId::SearchFlights, None, Some(&token), Some(body)).await;
            assert_eq!(status, 200, "{found}");
            found["offers"][0]["id"].clone()
        }
    };

    let token = sign_in(&app, traveler).await;
    let offer = search(token.clone()).await;
    let (status, first) = book_with(token.clone(), offer.clone()).await;
    assert_eq!(status, 201, "{first}");
    clock.advance(shared::domain::bookings::IDEMPOTENCY_TTL_SECONDS - 60);
    // A day on, the first token has expired by the app's clock: sign in again.
    let token = sign_in(&app, traveler).await;
    let (status, again) = book_with(token.clone(), offer.clone()).await;
    assert_eq!((status, &again["id"]), (201, &first["id"]), "within the day the key answers with its booking");

    clock.advance(120);
    // The offers of the first search have expired too: search again.
    let fresh_offer = search(token.clone()).await;
    let (status, second) = book_with(token.clone(), fresh_offer.clone()).await;
    assert_eq!(status, 201, "an expired record must not answer for the key: {second}");
    assert_ne!(second["id"], first["id"]);
    let (status, replay) = book_with(token.clone(), fresh_offer).await;
    assert_eq!((status, &replay["id"]), (201, &second["id"]), "the new record answers from now on");
}
