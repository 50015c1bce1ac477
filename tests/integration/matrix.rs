//! The permission matrix of the specification, as tables: every role against every action in
//! the shared crate, and every role against every route over HTTP, on its own tenant and on
//! another one (which must answer 404, never 403).

use integration_tests::TestApi;
use serde_json::{json, Value};
use shared::rbac::{grant, Grant, Permission as P, Role};
use shared::routes::{Access, ROUTES};

/// The specification's table, column order root, company_admin, reporting_admin, arranger,
/// traveler. `-` denied, `y` tenant or platform-wide, `n` names only, `s` in scope, `m` masked,
/// `a` audited with an alert, `r` read without sensitive fields.
#[rustfmt::skip]
const SPEC: &[(P, &str)] = &[
    (P::ManageTenants, "y----"),
    (P::ReadCompanySettings, "yyyyy"),
    (P::UpdateCompanySettings, "yy---"),
    (P::ManageUsers, "yy---"),
    (P::ListUsers, "yyns-"),
    (P::ManageOwnProfile, "-yyyy"),
    (P::ManageOtherProfiles, "am-s-"),
    (P::ReadPolicy, "yyyyy"),
    (P::WritePolicy, "yy---"),
    (P::BookForSelf, "-yyyy"),
    (P::BookForOthers, "---s-"),
    (P::ManageOwnBookings, "-yyyy"),
    (P::ManageOthersBookings, "yyrs-"),
    (P::ApproveBookings, "-y---"),
    (P::ViewReports, "yyy--"),
    (P::SetCarbonBudgets, "yy---"),
    (P::ReadAuditLog, "yy---"),
    (P::RotateTenantKeys, "y----"),
];

#[test]
fn the_shared_matrix_is_the_specification_table() {
    assert_eq!(SPEC.len(), P::ALL.len(), "every permission is in the table");
    for (permission, row) in SPEC {
        for (role, cell) in Role::ALL.iter().zip(row.chars()) {
            let expected: &[Grant] = match cell {
                '-' => &[Grant::Denied],
                'y' => &[Grant::Tenant, Grant::Platform],
                'n' => &[Grant::NamesOnly],
                's' => &[Grant::InScope],
                'm' => &[Grant::Masked],
                'a' => &[Grant::AuditedAlert],
                'r' => &[Grant::ReadWithoutSensitive],
                _ => unreachable!(),
            };
            let got = grant(*role, *permission);
            assert!(expected.contains(&got), "{permission:?} for {role}: {got:?}, spec says {cell}");
            if *role == Role::RootAdmin && got != Grant::Denied {
                assert!(matches!(got, Grant::Platform | Grant::AuditedAlert), "root acts platform-wide");
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Own,
    Foreign,
}

const CALLERS: [&str; 5] =
    ["root@platform.demo", "admin@alpine.demo", "reporting@alpine.demo", "arranger@alpine.demo", "traveler@alpine.demo"];

/// Expected status per route, caller (in CALLERS order) and target. The user routes act on the
/// alpine executive (in the arranger's scope) unless the row says otherwise.
#[rustfmt::skip]
const HTTP: &[(&str, Target, [u16; 5])] = &[
    ("me", Target::Own, [200, 200, 200, 200, 200]),
    ("tenants-create", Target::Own, [201, 403, 403, 403, 403]),
    ("tenants-list", Target::Own, [200, 403, 403, 403, 403]),
    ("tenants-get", Target::Own, [200, 403, 403, 403, 403]),
    ("tenants-get", Target::Foreign, [200, 404, 404, 404, 404]),
    ("tenants-update", Target::Own, [200, 403, 403, 403, 403]),
    ("tenants-update", Target::Foreign, [200, 404, 404, 404, 404]),
    ("company-get", Target::Own, [200, 200, 200, 200, 200]),
    ("company-get", Target::Foreign, [200, 404, 404, 404, 404]),
    ("company-update", Target::Own, [200, 200, 403, 403, 403]),
    ("company-update", Target::Foreign, [200, 404, 404, 404, 404]),
    ("users-create", Target::Own, [201, 201, 403, 403, 403]),
    ("users-create", Target::Foreign, [201, 404, 404, 404, 404]),
    ("users-list", Target::Own, [200, 200, 200, 200, 403]),
    ("users-list", Target::Foreign, [200, 404, 404, 404, 404]),
    ("users-get", Target::Own, [200, 200, 200, 200, 403]),
    ("users-get", Target::Foreign, [404, 404, 404, 404, 404]),
    ("users-update", Target::Own, [200, 200, 403, 403, 403]),
    ("users-update", Target::Foreign, [404, 404, 404, 404, 404]),
    ("users-deactivate", Target::Own, [200, 200, 403, 403, 403]),
    ("users-deactivate", Target::Foreign, [404, 404, 404, 404, 404]),
    ("tenants-offboard", Target::Own, [200, 403, 403, 403, 403]),
    ("tenants-offboard", Target::Foreign, [200, 404, 404, 404, 404]),
    ("tenant-keys-rotate", Target::Own, [201, 403, 403, 403, 403]),
    ("tenant-keys-rotate", Target::Foreign, [201, 404, 404, 404, 404]),
    ("tenant-keys-get", Target::Own, [200, 403, 403, 403, 403]),
    ("tenant-keys-get", Target::Foreign, [200, 404, 404, 404, 404]),
    ("profile-me-get", Target::Own, [403, 200, 200, 200, 200]),
    ("profile-me-put", Target::Own, [403, 200, 200, 200, 200]),
    ("profile-user-get", Target::Own, [200, 200, 403, 200, 403]),
    ("profile-user-get", Target::Foreign, [404, 404, 404, 404, 404]),
    ("profile-user-put", Target::Own, [200, 403, 403, 200, 403]),
    ("profile-user-put", Target::Foreign, [404, 404, 404, 404, 404]),
    ("audit-list", Target::Own, [200, 200, 403, 403, 403]),
    ("audit-list", Target::Foreign, [200, 404, 404, 404, 404]),
    ("audit-verify", Target::Own, [200, 200, 403, 403, 403]),
    ("audit-verify", Target::Foreign, [200, 404, 404, 404, 404]),
    ("search-flights", Target::Own, [403, 200, 200, 200, 200]),
    ("search-flights", Target::Foreign, [403, 404, 404, 404, 404]),
    ("search-rail", Target::Own, [403, 200, 200, 200, 200]),
    ("search-rail", Target::Foreign, [403, 404, 404, 404, 404]),
    ("search-hotels", Target::Own, [403, 200, 200, 200, 200]),
    ("search-hotels", Target::Foreign, [403, 404, 404, 404, 404]),
    ("carbon-methodologies", Target::Own, [200, 200, 200, 200, 200]),
    ("carbon-methodologies", Target::Foreign, [200, 404, 404, 404, 404]),
    ("policy-get", Target::Own, [200, 200, 200, 200, 200]),
    ("policy-get", Target::Foreign, [200, 404, 404, 404, 404]),
    ("policy-put", Target::Own, [200, 200, 403, 403, 403]),
    ("policy-put", Target::Foreign, [200, 404, 404, 404, 404]),
    ("bookings-create", Target::Own, [403, 201, 201, 201, 201]),
    ("bookings-create", Target::Foreign, [403, 404, 404, 404, 404]),
    ("bookings-list", Target::Own, [200, 200, 200, 200, 200]),
    ("bookings-list", Target::Foreign, [200, 404, 404, 404, 404]),
    ("bookings-get", Target::Own, [200, 200, 200, 200, 403]),
    ("bookings-get", Target::Foreign, [404, 404, 404, 404, 404]),
    ("bookings-cancel", Target::Own, [200, 200, 403, 200, 403]),
    ("bookings-cancel", Target::Foreign, [404, 404, 404, 404, 404]),
    ("bookings-approve", Target::Own, [403, 200, 403, 403, 403]),
    ("bookings-approve", Target::Foreign, [404, 404, 404, 404, 404]),
    ("bookings-reject", Target::Own, [403, 200, 403, 403, 403]),
    ("bookings-reject", Target::Foreign, [404, 404, 404, 404, 404]),
    ("approvals-list", Target::Own, [403, 200, 403, 403, 403]),
    ("approvals-list", Target::Foreign, [403, 404, 404, 404, 404]),
    ("reports-summary", Target::Own, [200, 200, 200, 403, 403]),
    ("reports-summary", Target::Foreign, [200, 404, 404, 404, 404]),
];

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(days)).to_string()
}

struct Fixture {
    alpine: String,
    harbor: String,
    admin_token: String,
    harbor_admin_token: String,
}

impl Fixture {
    /// An offer searched by the caller for itself.
    async fn offer_for(&self, api: &TestApi, token: &str) -> String {
        let (status, _, body) = api
            .call("POST", "/v1/search/flights", Some(token), Some(json!({"origin": "MUC", "destination": "LHR", "depart_on": in_days(20)})))
            .await;
        assert_eq!(status, 200, "{body}");
        body["offers"][0]["id"].as_str().unwrap().to_string()
    }

    /// A fresh booking of the executive (alpine) or of the harbor traveler, waiting for approval
    /// when `pending` (the executive's department may not fly first).
    async fn booking(&self, api: &TestApi, target: Target, pending: bool) -> String {
        let who = if target == Target::Own { "executive@alpine.demo" } else { "traveler@harbor.demo" };
        let token = api.token(who).await;
        let (_, _, body) = api
            .call(
                "POST",
                "/v1/search/flights",
                Some(&token),
                Some(json!({"origin": "LHR", "destination": "JFK", "depart_on": in_days(20)})),
            )
            .await;
        let cabin = if pending { "first" } else { "economy" };
        let offer = body["offers"].as_array().unwrap().iter().find(|o| o["cabin"] == cabin && o["stops"] == 0).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let key = integration_tests::unique("k");
        let r = api
            .client
            .post(api.url("/v1/bookings"))
            .bearer_auth(&token)
            .header("idempotency-key", key)
            .json(&json!({"offer_id": offer}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let b: serde_json::Value = r.json().await.unwrap();
        assert_eq!(b["status"], if pending { "pending_approval" } else { "confirmed" }, "{b}");
        b["id"].as_str().unwrap().to_string()
    }

    /// A new tenant, suspended, for root's offboarding rows.
    async fn suspended_tenant(&self, api: &TestApi) -> String {
        let root = api.token("root@platform.demo").await;
        let email = format!("{}@offboard.demo", integration_tests::unique("a"));
        let (status, _, body) = api
            .call("POST", "/v1/tenants", Some(&root), Some(json!({"name": "Short Lived", "admin_email": email, "admin_name": "S"})))
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["tenant"]["id"].as_str().unwrap().to_string();
        let (status, _, body) = api.call("PATCH", &format!("/v1/tenants/{id}"), Some(&root), Some(json!({"status": "suspended"}))).await;
        assert_eq!(status, 200, "{body}");
        id
    }

    /// A fresh user to act on, so destructive rows do not depend on one another.
    async fn fresh_user(&self, api: &TestApi, target: Target) -> String {
        let token = if target == Target::Own { &self.admin_token } else { &self.harbor_admin_token };
        let email = format!("{}@matrix.demo", integration_tests::unique("u"));
        let (status, _, body) =
            api.call("POST", "/v1/users", Some(token), Some(json!({"email": email, "name": "Matrix Target", "roles": ["traveler"]}))).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_string()
    }
}

async fn request_for(api: &TestApi, fx: &Fixture, function: &str, caller: &str, target: Target) -> (String, String, Option<Value>) {
    let root = caller.starts_with("root@");
    let tenant = if target == Target::Own { &fx.alpine } else { &fx.harbor };
    // root names the tenant it acts on; a company user naming another tenant is the attack.
    let named = if root {
        Some(tenant)
    } else if target == Target::Foreign {
        Some(&fx.harbor)
    } else {
        None
    };
    let root_scoped = |path: &str| -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        match named {
            Some(t) => format!("{path}{sep}tenant_id={t}"),
            None => path.to_string(),
        }
    };
    // On user ids root acts on alpine, so harbor's user is foreign to the scope it named.
    let scoped = |path: &str| -> String {
        if root {
            format!("{path}?tenant_id={}", fx.alpine)
        } else {
            path.to_string()
        }
    };
    let unique_email = format!("{}@matrix.demo", integration_tests::unique("n"));
    match function {
        "me" => ("GET".into(), "/v1/me".into(), None),
        "tenants-create" => {
            ("POST".into(), "/v1/tenants".into(), Some(json!({"name": "Matrix Co", "admin_email": unique_email, "admin_name": "M"})))
        }
        "tenants-list" => ("GET".into(), "/v1/tenants".into(), None),
        "tenants-get" => ("GET".into(), format!("/v1/tenants/{tenant}"), None),
        "tenants-update" => ("PATCH".into(), format!("/v1/tenants/{tenant}"), Some(json!({"name": "Renamed Demo"}))),
        "company-get" => ("GET".into(), root_scoped("/v1/company"), None),
        "company-update" => {
            ("PATCH".into(), root_scoped("/v1/company"), Some(json!({"departments": ["Sales", "Engineering", "Executive"]})))
        }
        "users-create" => {
            ("POST".into(), root_scoped("/v1/users"), Some(json!({"email": unique_email, "name": "Matrix New", "roles": ["traveler"]})))
        }
        "users-list" => ("GET".into(), root_scoped("/v1/users"), None),
        "users-get" => {
            let id = if target == Target::Own {
                api.user("executive@alpine.demo").user_id.clone()
            } else {
                api.user("traveler@harbor.demo").user_id.clone()
            };
            ("GET".into(), scoped(&format!("/v1/users/{id}")), None)
        }
        "users-update" | "users-deactivate" => {
            let id = fx.fresh_user(api, target).await;
            let method = if function == "users-update" { "PATCH" } else { "DELETE" };
            let body = (function == "users-update").then(|| json!({"name": "Renamed Target"}));
            (method.into(), scoped(&format!("/v1/users/{id}")), body)
        }
        "tenants-offboard" => {
            // root offboards a fresh suspended tenant, never the demo companies.
            let id = if root { fx.suspended_tenant(api).await } else { tenant.clone() };
            ("DELETE".into(), format!("/v1/tenants/{id}"), None)
        }
        "tenant-keys-rotate" => ("POST".into(), format!("/v1/tenants/{tenant}/keys/rotate"), None),
        "tenant-keys-get" => ("GET".into(), format!("/v1/tenants/{tenant}/keys"), None),
        "profile-me-get" => ("GET".into(), "/v1/me/profile".into(), None),
        "profile-me-put" => ("PUT".into(), "/v1/me/profile".into(), Some(json!({"given_names": "Matrix", "seat_preference": "window"}))),
        "profile-user-get" | "profile-user-put" => {
            let id = if target == Target::Own {
                api.user("executive@alpine.demo").user_id.clone()
            } else {
                api.user("traveler@harbor.demo").user_id.clone()
            };
            let (method, body) = if function == "profile-user-get" {
                ("GET", None)
            } else {
                ("PUT", Some(json!({"given_names": "Erin", "meal_preference": "vegan"})))
            };
            (method.into(), scoped(&format!("/v1/users/{id}/profile")), body)
        }
        "audit-list" => ("GET".into(), root_scoped("/v1/audit"), None),
        "audit-verify" => ("GET".into(), root_scoped("/v1/audit/verify"), None),
        "search-flights" => (
            "POST".into(),
            root_scoped("/v1/search/flights"),
            Some(json!({"origin": "MUC", "destination": "LHR", "depart_on": in_days(20)})),
        ),
        "search-rail" => {
            ("POST".into(), root_scoped("/v1/search/rail"), Some(json!({"origin": "MUC", "destination": "BER", "depart_on": in_days(20)})))
        }
        "search-hotels" => (
            "POST".into(),
            root_scoped("/v1/search/hotels"),
            Some(json!({"city": "MUC", "check_in": in_days(20), "check_out": in_days(22)})),
        ),
        "carbon-methodologies" => ("GET".into(), root_scoped("/v1/carbon/methodologies"), None),
        "policy-get" => ("GET".into(), root_scoped("/v1/policy"), None),
        "policy-put" => {
            // Replace the policy at the version in force, read by root.
            let root_token = api.token("root@platform.demo").await;
            let (_, _, current) = api.call("GET", &format!("/v1/policy?tenant_id={tenant}"), Some(&root_token), None).await;
            let body = json!({"rules": {"min_days_in_advance": 3, "cabin_by_distance": [{"max_cabin": "business"}]}, "version": current["version"]});
            ("PUT".into(), root_scoped("/v1/policy"), Some(body))
        }
        "bookings-create" => {
            // Each caller books an offer searched for itself (root cannot search, so it gets any id).
            let token = api.token(caller).await;
            let offer =
                if root || target == Target::Foreign { "s_aaaaaaaaaaaaaaaa-0".to_string() } else { fx.offer_for(api, &token).await };
            ("POST".into(), root_scoped("/v1/bookings"), Some(json!({"offer_id": offer})))
        }
        "bookings-list" => ("GET".into(), root_scoped("/v1/bookings"), None),
        // The executive's booking: in the arranger's scope, not the traveler's.
        "bookings-get" | "bookings-cancel" | "bookings-approve" | "bookings-reject" => {
            let id = fx.booking(api, target, function != "bookings-get").await;
            let action = function.strip_prefix("bookings-").unwrap();
            let path = if action == "get" { format!("/v1/bookings/{id}") } else { format!("/v1/bookings/{id}/{action}") };
            (if action == "get" { "GET" } else { "POST" }.into(), scoped(&path), None)
        }
        "approvals-list" => ("GET".into(), root_scoped("/v1/approvals"), None),
        "reports-summary" => {
            let month = &in_days(20)[..7];
            ("GET".into(), root_scoped(&format!("/v1/reports/summary?from={month}&to={month}")), None)
        }
        other => panic!("no request recipe for {other}: add the route to the matrix"),
    }
}

#[tokio::test]
async fn every_role_on_every_route_own_and_foreign_tenant() {
    let api = TestApi::start().await;
    let fx = Fixture {
        alpine: api.user("admin@alpine.demo").tenant_id.clone().unwrap(),
        harbor: api.user("admin@harbor.demo").tenant_id.clone().unwrap(),
        admin_token: api.token("admin@alpine.demo").await,
        harbor_admin_token: api.token("admin@harbor.demo").await,
    };
    // First class is out of policy in both companies, so bookings of it wait for approval.
    for token in [&fx.admin_token, &fx.harbor_admin_token] {
        let (status, _, body) = api
            .call(
                "PUT",
                "/v1/policy",
                Some(token),
                Some(json!({"rules": {"cabin_by_distance": [{"max_cabin": "business"}]}, "version": 0})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // Every authenticated route except the TOTP enrolment pair (tested in e2e) has rows.
    for r in ROUTES.iter().filter(|r| r.access != Access::Public && !r.function.starts_with("auth-totp")) {
        assert!(HTTP.iter().any(|(f, _, _)| *f == r.function), "route {} is missing from the matrix", r.function);
    }
    let mut failures = Vec::new();
    for (function, target, expected) in HTTP {
        for (caller, want) in CALLERS.iter().zip(expected) {
            let token = api.token(caller).await;
            let (method, path, body) = request_for(&api, &fx, function, caller, *target).await;
            let (status, _, answer) = api.call(&method, &path, Some(&token), body).await;
            if status != *want {
                failures.push(format!("{function} {target:?} as {caller}: {method} {path} -> {status}, want {want}: {answer}"));
            }
        }
    }
    assert!(failures.is_empty(), "matrix violations:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn what_each_grant_sees_of_a_user() {
    let api = TestApi::start().await;
    let exec = api.user("executive@alpine.demo").user_id.clone();
    let traveler = api.user("traveler@alpine.demo").user_id.clone();
    let reporting = api.token("reporting@alpine.demo").await;
    let (_, _, body) = api.call("GET", &format!("/v1/users/{exec}"), Some(&reporting), None).await;
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "name"], "reporting admins see names only");
    let arranger = api.token("arranger@alpine.demo").await;
    let (_, _, list) = api.call("GET", "/v1/users", Some(&arranger), None).await;
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [exec.as_str()], "an arranger lists only its assigned travelers");
    let (status, _, _) = api.call("GET", &format!("/v1/users/{traveler}"), Some(&arranger), None).await;
    assert_eq!(status, 403, "same tenant, out of scope: 403");
}
