//! Every sample API Gateway event under events/ goes through its function's handler, the way
//! Lambda delivers it, and gets the expected answer.

use integration_tests::{another_container, repo_root, TestApi};
use shared::crypto::keyservice::UnavailableKeyService;
use shared::http::handle;
use shared::lambda::from_lambda;
use shared::lambda::Services;
use shared::routes::{Route, ROUTES};
use std::sync::Arc;

/// Bookings the booking events act on: one confirmed (read, then cancelled), two waiting for
/// approval (one approved, one rejected), and an in-policy offer to book.
struct BookingFixtures {
    offer: String,
    confirmed: String,
    to_approve: String,
    to_reject: String,
}

impl BookingFixtures {
    fn booking_for(&self, function: &str) -> &str {
        match function {
            "bookings-approve" => &self.to_approve,
            "bookings-reject" => &self.to_reject,
            _ => &self.confirmed,
        }
    }
}

async fn booking_fixtures(api: &TestApi, admin: &str) -> BookingFixtures {
    let (status, _, _) = api
        .call(
            "PUT",
            "/v1/policy",
            Some(admin),
            Some(serde_json::json!({"rules": {"cabin_by_distance": [{"max_cabin": "economy"}]}, "version": 0})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, _, search) = api
        .call(
            "POST",
            "/v1/search/flights",
            Some(admin),
            Some(serde_json::json!({"origin": "LHR", "destination": "JFK", "depart_on": days_ahead(30)})),
        )
        .await;
    let offers = search["offers"].as_array().unwrap();
    let pick = |cabin: &str| offers.iter().find(|o| o["cabin"] == cabin).unwrap()["id"].as_str().unwrap().to_string();
    let book = |offer: String, key: &'static str| async move {
        let r = api
            .client
            .post(api.url("/v1/bookings"))
            .bearer_auth(admin)
            .header("idempotency-key", key)
            .json(&serde_json::json!({"offer_id": offer}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    };
    BookingFixtures {
        offer: pick("economy"),
        confirmed: book(pick("economy"), "fixture-1").await,
        to_approve: book(pick("business"), "fixture-2").await,
        to_reject: book(pick("business"), "fixture-3").await,
    }
}

fn days_ahead(days: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(days)).to_string()
}

fn expected_status(function: &str) -> u16 {
    match function {
        "tenants-create" | "users-create" | "auth-totp-enroll" | "tenant-keys-rotate" | "bookings-create" => 201,
        // The sample offboards an active tenant, which must be suspended first.
        "tenants-offboard" => 409,
        // The sample code is a fixed string, not the current code of the pending enrolment.
        "auth-totp-verify" => 422,
        _ => 200,
    }
}

#[tokio::test]
async fn every_event_runs_through_its_handler() {
    let api = TestApi::start().await;
    let root = api.token("root@platform.demo").await;
    let admin = api.token("admin@alpine.demo").await;
    let traveler = api.user("traveler@alpine.demo").clone();
    let traveler_token = api.token(&traveler.email).await;
    // The arranger acts on the executive, who is in its scope.
    let arranger = api.token("arranger@alpine.demo").await;
    let executive = api.user("executive@alpine.demo").user_id.clone();
    let fixtures = booking_fixtures(&api, &admin).await;
    let tenant = traveler.tenant_id.clone().unwrap();
    // Functions built without a KMS client get a key port that fails closed, as in Lambda: a
    // sample that needed KMS there would fail here.
    let keyless = another_container(&api.app, Arc::new(UnavailableKeyService));
    for route in ROUTES {
        let path = repo_root().join(format!("events/{}.json", route.function));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        // Root acts on tenants, the company admin on users and settings.
        // and the traveler (who has no second factor yet) enrols one.
        let token = if route.function.starts_with("tenant") {
            &root
        } else if route.function.starts_with("auth-totp") {
            &traveler_token
        } else if route.function.starts_with("profile-user") {
            &arranger
        } else {
            &admin
        };
        let text = text
            .replace("{{token}}", token)
            .replace("{{email}}", &traveler.email)
            .replace("{{password}}", &traveler.password)
            .replace("{{totp}}", "123456")
            .replace("{{offer_id}}", &fixtures.offer)
            .replace("{{policy_version}}", "1")
            .replace("{{booking_id}}", fixtures.booking_for(route.function))
            .replace("{{month}}", &days_ahead(30)[..7])
            .replace("{{date+30}}", &days_ahead(30))
            .replace("{{date+32}}", &days_ahead(32))
            .replace("{{date+37}}", &days_ahead(37))
            .replace("u_demo0000000001", if route.function.starts_with("profile-user") { &executive } else { &traveler.user_id })
            .replace("t_demo0000000001", &tenant);
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["httpMethod"], route.method, "{}", route.function);
        assert_eq!(event["resource"], route.path, "{}", route.function);
        let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", route.function));
        let resolved = Route::by_function(route.function).unwrap();
        let app = if Services::required_by(route.function).0 { &*api.app } else { &keyless };
        let resp = handle(app, resolved, from_lambda(req)).await;
        let body = String::from_utf8_lossy(&resp.body).to_string();
        assert_eq!(resp.status, expected_status(route.function), "{}: {body}", route.function);
    }
    let authorizer = std::fs::read_to_string(repo_root().join("events/authorizer.json")).unwrap().replace("{{token}}", &admin);
    let event: serde_json::Value = serde_json::from_str(&authorizer).unwrap();
    let policy = shared::authorizer::decide(&api.app, &event).await.unwrap();
    assert_eq!(policy["policyDocument"]["Statement"][0]["Effect"], "Allow");
    let mut bad = event.clone();
    bad["headers"]["Authorization"] = serde_json::json!("Bearer forged");
    assert_eq!(shared::authorizer::decide(&api.app, &bad).await, Err("Unauthorized"));
}
