//! Search end to end: offers with price, CO2e under the company's methodology and a policy
//! verdict; rail alternatives; searching for others within an arranger's scope; policy writes;
//! bad input.

use integration_tests::TestApi;
use serde_json::{json, Value};

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(days)).to_string()
}

fn offers(body: &Value) -> &Vec<Value> {
    body["offers"].as_array().unwrap()
}

fn direct(body: &Value, cabin: &str) -> Value {
    offers(body).iter().find(|o| o["stops"] == 0 && o["cabin"] == cabin).cloned().unwrap_or_else(|| panic!("no direct {cabin} in {body}"))
}

#[tokio::test]
async fn flight_offers_carry_price_carbon_and_verdict_and_are_deterministic() {
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    let q = json!({"origin": "LHR", "destination": "JFK", "depart_on": in_days(40)});
    let (status, _, a) = api.call("POST", "/v1/search/flights", Some(&token), Some(q.clone())).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["methodology"], "desnz-2025");
    for o in offers(&a) {
        assert!(o["id"].as_str().unwrap().starts_with(a["search_id"].as_str().unwrap()));
        assert_eq!(o["mode"], "flight");
        assert!(o["price"]["amount"].as_str().unwrap().contains('.'), "{o}");
        assert_eq!(o["price"]["currency"], "EUR");
        assert!(o["distance_km"].as_f64().unwrap() > 5000.0);
        assert!(o["co2e_kg"].as_f64().unwrap() > 0.0);
        assert_eq!(o["co2e"]["methodology"], "desnz-2025");
        assert!(o["co2e"]["factors"][0]["id"].as_str().unwrap().starts_with("desnz-2025/air/"));
        assert_eq!(o["policy"]["in_policy"], true, "no policy yet: {o}");
    }
    // The hand-worked figure for LHR-JFK, economy, DESNZ 2025 with RF (shared/data/carbon/README.md).
    let eco = direct(&a, "economy");
    assert_eq!(eco["co2e"]["factors"][0]["id"], "desnz-2025/air/long_haul/economy/with_rf");
    assert!((eco["co2e_kg"].as_f64().unwrap() - 648.358).abs() < 0.01, "{eco}");
    let one_stop = offers(&a).iter().find(|o| o["stops"] == 1 && o["cabin"] == "economy").unwrap();
    let legs: f64 = one_stop["co2e"]["factors"].as_array().unwrap().iter().map(|f| f["kg"].as_f64().unwrap()).sum();
    assert!((one_stop["co2e_kg"].as_f64().unwrap() - legs).abs() < 0.01, "a one-stop itinerary's carbon is the sum of its legs");
    assert_eq!(a["alternatives"], json!([]), "no rail across the Atlantic");

    let (_, _, b) = api.call("POST", "/v1/search/flights", Some(&token), Some(q)).await;
    let strip = |v: &Value| {
        offers(v).iter().map(|o| (o["price"].clone(), o["co2e_kg"].clone(), o["cabin"].clone(), o["legs"].clone())).collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b), "the same query gives the same offers");

    // Harbor reports under EPA: no cabin split, per passenger-mile.
    let harbor = api.token("traveler@harbor.demo").await;
    let (_, _, h) = api
        .call("POST", "/v1/search/flights", Some(&harbor), Some(json!({"origin": "LHR", "destination": "JFK", "depart_on": in_days(40)})))
        .await;
    assert_eq!(h["methodology"], "epa-2025");
    assert!((direct(&h, "economy")["co2e_kg"].as_f64().unwrap() - 565.874).abs() < 0.01);
    assert_eq!(direct(&h, "business")["co2e_kg"], direct(&h, "economy")["co2e_kg"]);
}

#[tokio::test]
async fn short_flights_come_with_rail_alternatives_and_the_carbon_they_save() {
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    let (status, _, r) = api
        .call("POST", "/v1/search/flights", Some(&token), Some(json!({"origin": "MUC", "destination": "BER", "depart_on": in_days(15)})))
        .await;
    assert_eq!(status, 200, "{r}");
    let alts = r["alternatives"].as_array().unwrap();
    assert!(!alts.is_empty());
    for alt in alts {
        assert_eq!(alt["mode"], "rail");
        assert!(alt["co2e_saved_kg"].as_f64().unwrap() > 0.0, "{alt}");
        assert_eq!(alt["co2e"]["factors"][0]["id"], "desnz-2025/rail/national_rail");
    }
    let (status, _, rail) = api
        .call("POST", "/v1/search/rail", Some(&token), Some(json!({"origin": "MUC", "destination": "BER", "depart_on": in_days(15)})))
        .await;
    assert_eq!(status, 200);
    assert!(!offers(&rail).is_empty());
    let (status, _, hotels) = api
        .call("POST", "/v1/search/hotels", Some(&token), Some(json!({"city": "London", "check_in": in_days(15), "check_out": in_days(17)})))
        .await;
    assert_eq!(status, 200, "{hotels}");
    let stay = &offers(&hotels)[0];
    assert_eq!(stay["nights"], 2);
    assert_eq!(stay["co2e"]["factors"][0]["id"], "desnz-2025/hotel/gb-lnd");
    assert!((stay["co2e_kg"].as_f64().unwrap() - 23.0).abs() < 1e-9);
}

#[tokio::test]
async fn arrangers_search_for_travelers_in_scope_only() {
    let api = TestApi::start().await;
    let arranger = api.token("arranger@alpine.demo").await;
    let q = |traveler: &str| json!({"origin": "FRA", "destination": "CDG", "depart_on": in_days(20), "traveler_id": traveler});
    let exec = api.user("executive@alpine.demo").user_id.clone();
    let (status, _, body) = api.call("POST", "/v1/search/flights", Some(&arranger), Some(q(&exec))).await;
    assert_eq!((status, body["traveler_id"].clone()), (200, json!(exec)));
    let out_of_scope = api.user("traveler@alpine.demo").user_id.clone();
    assert_eq!(api.call("POST", "/v1/search/flights", Some(&arranger), Some(q(&out_of_scope))).await.0, 403);
    let foreign = api.user("traveler@harbor.demo").user_id.clone();
    assert_eq!(api.call("POST", "/v1/search/flights", Some(&arranger), Some(q(&foreign))).await.0, 404);
    let traveler = api.token("traveler@alpine.demo").await;
    assert_eq!(api.call("POST", "/v1/search/flights", Some(&traveler), Some(q(&exec))).await.0, 403);
}

#[tokio::test]
async fn the_policy_decides_verdicts_with_department_overrides() {
    let api = TestApi::start().await;
    let admin = api.token("admin@alpine.demo").await;
    let (_, _, current) = api.call("GET", "/v1/policy", Some(&admin), None).await;
    assert_eq!(current["version"], 0);
    let policy = json!({
        "rules": {"cabin_by_distance": [{"up_to_km": 3700, "max_cabin": "economy"}, {"max_cabin": "premium_economy"}], "min_days_in_advance": 7, "carbon_cap_kg": 3000},
        "department_overrides": {"Executive": {"cabin_by_distance": [{"max_cabin": "business"}]}},
        "version": 0
    });
    let (status, _, saved) = api.call("PUT", "/v1/policy", Some(&admin), Some(policy.clone())).await;
    assert_eq!((status, saved["version"].clone()), (200, json!(1)), "{saved}");
    let (status, _, _) = api.call("PUT", "/v1/policy", Some(&admin), Some(policy)).await;
    assert_eq!(status, 409, "a stale version changes nothing");
    let (status, _, body) =
        api.call("PUT", "/v1/policy", Some(&admin), Some(json!({"rules": {"flight_price_cap": "lots"}, "version": 1}))).await;
    assert_eq!((status, body["errors"][0]["field"].clone()), (422, json!("rules.flight_price_cap")));
    let (status, _, body) =
        api.call("PUT", "/v1/policy", Some(&admin), Some(json!({"rules": {"upgrade_allowed": true}, "version": 1}))).await;
    assert_eq!(status, 422, "unknown rules are refused: {body}");
    let traveler = api.token("traveler@alpine.demo").await;
    assert_eq!(api.call("PUT", "/v1/policy", Some(&traveler), Some(json!({"version": 1}))).await.0, 403);
    let (_, _, read) = api.call("GET", "/v1/policy", Some(&traveler), None).await;
    assert_eq!(read["version"], 1);

    let q = json!({"origin": "LHR", "destination": "JFK", "depart_on": in_days(30)});
    let (_, _, sales) = api.call("POST", "/v1/search/flights", Some(&traveler), Some(q.clone())).await;
    let biz = direct(&sales, "business");
    assert_eq!(biz["policy"]["in_policy"], false);
    assert_eq!(biz["policy"]["reasons"][0]["code"], "cabin_above_allowed");
    assert_eq!(direct(&sales, "premium_economy")["policy"]["in_policy"], true);
    let exec = api.token("executive@alpine.demo").await;
    let (_, _, execs) = api.call("POST", "/v1/search/flights", Some(&exec), Some(q)).await;
    assert_eq!(direct(&execs, "business")["policy"]["in_policy"], true, "the Executive department may fly business");
    assert_eq!(direct(&execs, "first")["policy"]["in_policy"], false);
    let (_, _, late) = api
        .call("POST", "/v1/search/flights", Some(&traveler), Some(json!({"origin": "LHR", "destination": "JFK", "depart_on": in_days(2)})))
        .await;
    assert!(offers(&late).iter().all(|o| o["policy"]["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "booked_too_late")));
}

#[tokio::test]
async fn the_company_chooses_its_methodology() {
    let api = TestApi::start().await;
    let admin = api.token("admin@alpine.demo").await;
    let (status, _, list) = api.call("GET", "/v1/carbon/methodologies", Some(&admin), None).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["desnz-2025", "desnz-2025-without-rf", "epa-2025"]);
    assert!(list["items"][0]["url"].as_str().unwrap().starts_with("https://www.gov.uk/"));
    let (status, _, body) = api.call("PATCH", "/v1/company", Some(&admin), Some(json!({"carbon_methodology": "made-up"}))).await;
    assert_eq!((status, body["errors"][0]["field"].clone()), (422, json!("carbon_methodology")));
    let (status, _, _) = api.call("PATCH", "/v1/company", Some(&admin), Some(json!({"carbon_methodology": "desnz-2025-without-rf"}))).await;
    assert_eq!(status, 200);
    let token = api.token("traveler@alpine.demo").await;
    let (_, _, r) = api
        .call("POST", "/v1/search/flights", Some(&token), Some(json!({"origin": "LHR", "destination": "JFK", "depart_on": in_days(40)})))
        .await;
    assert_eq!(r["methodology"], "desnz-2025-without-rf");
    assert!((direct(&r, "economy")["co2e_kg"].as_f64().unwrap() - 383.675).abs() < 0.01);
}

#[tokio::test]
async fn bad_searches_get_problems_naming_the_field() {
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    let cases = [
        ("/v1/search/flights", json!({"origin": "XQX", "destination": "JFK", "depart_on": in_days(5)}), "origin"),
        ("/v1/search/flights", json!({"origin": "LHR", "destination": "LHR", "depart_on": in_days(5)}), "destination"),
        ("/v1/search/flights", json!({"origin": "LHR", "destination": "JFK", "depart_on": "2020-01-01"}), "depart_on"),
        ("/v1/search/flights", json!({"origin": "LHR", "destination": "JFK", "depart_on": "tomorrow"}), "depart_on"),
        (
            "/v1/search/flights",
            json!({"origin": "LHR", "destination": "JFK", "depart_on": in_days(9), "return_on": in_days(5)}),
            "return_on",
        ),
        ("/v1/search/flights", json!({"origin": "LHR", "depart_on": in_days(5)}), "destination"),
        ("/v1/search/flights", json!({"origin": "LHR", "destination": "JFK", "depart_on": in_days(5), "cabin": "suite"}), "body"),
        ("/v1/search/flights", json!({"origin": "LHR", "destination": "JFK", "depart_on": in_days(5), "price": "1.00"}), "price"),
        ("/v1/search/hotels", json!({"city": "Atlantis", "check_in": in_days(5), "check_out": in_days(6)}), "city"),
        ("/v1/search/hotels", json!({"city": "Paris", "check_in": in_days(6), "check_out": in_days(6)}), "check_out"),
        ("/v1/search/rail", json!({"origin": 42, "destination": "BER", "depart_on": in_days(5)}), "body"),
    ];
    for (path, body, field) in cases {
        let (status, headers, problem) = api.call("POST", path, Some(&token), Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let (status, _, _) = api.call("POST", "/v1/search/flights", Some(&token), None).await;
    assert_eq!(status, 400, "no body");
}
