//! End to end over HTTP against the local API: sign-in, tokens, bad input, concurrency,
//! isolation, lifecycle of users and tenants, CORS.

use integration_tests::{current_totp, TestApi};
use serde_json::{json, Value};

#[tokio::test]
async fn every_demo_role_signs_in_and_sees_itself() {
    let api = TestApi::start().await;
    for u in api.users.clone() {
        let token = api.token(&u.email).await;
        let (status, _, me) = api.call("GET", "/v1/me", Some(&token), None).await;
        assert_eq!(status, 200, "{}: {me}", u.email);
        assert_eq!(me["email"], json!(u.email));
        assert_eq!(me["id"], json!(u.user_id));
        assert_eq!(me["tenant_id"], json!(u.tenant_id));
        assert_eq!(me["roles"], json!([u.role]));
        assert_eq!(me["second_factor"], json!(u.totp_secret.is_some()));
    }
}

#[tokio::test]
async fn health_needs_no_token_and_everything_else_does() {
    let api = TestApi::start().await;
    let (status, _, body) = api.call("GET", "/v1/health", None, None).await;
    assert_eq!((status, body["status"].clone()), (200, json!("ok")));
    let (status, headers, body) = api.call("GET", "/v1/me", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(body["status"], json!(401));
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let api = TestApi::start().await;
    let good = api.token("traveler@alpine.demo").await;
    let parts: Vec<&str> = good.split('.').collect();
    let b64 = |v: Value| data_encoding::BASE64URL_NOPAD.encode(v.to_string().as_bytes());
    let tampered_payload = {
        let claims: Value = serde_json::from_slice(&data_encoding::BASE64URL_NOPAD.decode(parts[1].as_bytes()).unwrap()).unwrap();
        let mut c = claims.clone();
        c["roles"] = json!(["company_admin"]);
        format!("{}.{}.{}", parts[0], b64(c), parts[2])
    };
    let none = format!("{}.{}.", b64(json!({"alg": "none", "typ": "JWT"})), parts[1]);
    let unknown_kid = format!("{}.{}.{}", b64(json!({"alg": "EdDSA", "kid": "nope"})), parts[1], parts[2]);
    for bad in [tampered_payload, none, unknown_kid, "garbage".into(), format!("{good}x")] {
        let (status, _, body) = api.call("GET", "/v1/me", Some(&bad), None).await;
        assert_eq!(status, 401, "{bad}: {body}");
    }
}

/// A token is good for its 15 minutes by the app's clock, the one that stamped it, in the
/// pipeline and in the gateway's authorizer alike, whatever the system's clock says.
#[tokio::test]
async fn an_access_token_expires_by_the_clock_that_issued_it() {
    use integration_tests::{another_container, call, embedded_app, repo_root, sign_in};
    use shared::auth::token::ACCESS_TOKEN_SECONDS;
    use shared::clock::{Clock, ManualClock, SystemClock};
    use shared::routes::RouteId;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(shared::crypto::keyservice::LocalKeyRing::open_or_create(&dir.path().join("master.key")).unwrap());
    let (seeded, creds) = embedded_app(dir.path(), keys.clone(), Arc::new(shared::alerts::LocalAlertSink::log_only())).await;
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let mut app = another_container(&seeded, keys);
    app.clock = clock.clone();
    let traveler = creds.users.iter().find(|u| u.email == "traveler@alpine.demo").unwrap();
    let authorizer_event = |token: &str| -> Value {
        let text = std::fs::read_to_string(repo_root().join("events/authorizer.json")).unwrap().replace("{{token}}", token);
        serde_json::from_str(&text).unwrap()
    };

    let token = sign_in(&app, traveler).await;
    let (status, me) = call(&app, RouteId::Me, None, Some(&token), None).await;
    assert_eq!((status, &me["email"]), (200, &json!(traveler.email)), "{me}");
    assert!(shared::authorizer::decide(&app, &authorizer_event(&token)).await.is_ok());

    // Past the 30 s leeway by the app's clock; by the system's, the token is seconds old.
    clock.advance(ACCESS_TOKEN_SECONDS + 31);
    let (status, problem) = call(&app, RouteId::Me, None, Some(&token), None).await;
    assert_eq!((status, &problem["status"]), (401, &json!(401)), "{problem}");
    assert_eq!(shared::authorizer::decide(&app, &authorizer_event(&token)).await, Err("Unauthorized"));

    // An hour behind the system: by the system's time a token issued now is long expired.
    clock.advance(-(ACCESS_TOKEN_SECONDS + 31) - 3600);
    let behind = sign_in(&app, traveler).await;
    assert_eq!(call(&app, RouteId::Me, None, Some(&behind), None).await.0, 200);
    assert!(shared::authorizer::decide(&app, &authorizer_event(&behind)).await.is_ok());
}

#[tokio::test]
async fn sign_in_answers_alike_for_unknown_emails_and_wrong_passwords_then_locks() {
    let api = TestApi::start().await;
    let login = |email: &str, password: &str| json!({"email": email, "password": password});
    let (s1, _, wrong) = api.call("POST", "/v1/auth/login", None, Some(login("traveler@alpine.demo", "not the password"))).await;
    let (s2, _, unknown) = api.call("POST", "/v1/auth/login", None, Some(login("ghost@alpine.demo", "not the password"))).await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong["type"], unknown["type"]);
    assert_eq!(wrong["detail"], unknown["detail"]);

    // Five failures lock the email, known or not; then even the right password is refused.
    for email in ["traveler@alpine.demo", "ghost@alpine.demo"] {
        for _ in 0..4 {
            api.call("POST", "/v1/auth/login", None, Some(login(email, "not the password"))).await;
        }
        let (status, _, body) = api.call("POST", "/v1/auth/login", None, Some(login(email, "not the password"))).await;
        assert_eq!(status, 429, "{email}: {body}");
    }
    let pwd = api.user("traveler@alpine.demo").password.clone();
    let (status, _, _) = api.call("POST", "/v1/auth/login", None, Some(login("traveler@alpine.demo", &pwd))).await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn admins_need_a_second_factor_and_codes_are_single_use() {
    let api = TestApi::start().await;
    let admin = api.user("admin@alpine.demo").clone();
    let (status, _, body) = api.call("POST", "/v1/auth/login", None, Some(json!({"email": admin.email, "password": admin.password}))).await;
    assert_eq!(status, 401);
    assert!(body["type"].as_str().unwrap().ends_with("second-factor-required"), "{body}");
    let code = current_totp(admin.totp_secret.as_deref().unwrap());
    let with = json!({"email": admin.email, "password": admin.password, "totp": code});
    let (status, _, body) = api.call("POST", "/v1/auth/login", None, Some(with.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], json!("Bearer"));
    assert_eq!(body["expires_in"], json!(900));
    let (status, _, _) = api.call("POST", "/v1/auth/login", None, Some(with)).await;
    assert_eq!(status, 401, "a TOTP code is accepted once");
}

#[tokio::test]
async fn a_new_admin_enrols_totp_before_any_admin_action() {
    let api = TestApi::start().await;
    let root = api.token("root@platform.demo").await;
    let (status, _, created) = api
        .call(
            "POST",
            "/v1/tenants",
            Some(&root),
            Some(json!({"name": "Gamma Demo AG", "admin_email": "first@gamma.demo", "admin_name": "Gia First"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let password = created["initial_password"].as_str().unwrap().to_string();
    let (status, _, body) =
        api.call("POST", "/v1/auth/login", None, Some(json!({"email": "first@gamma.demo", "password": password}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["second_factor"], json!("enrollment_required"));
    let pwd_only = body["access_token"].as_str().unwrap().to_string();
    let (status, _, body) = api.call("GET", "/v1/users", Some(&pwd_only), None).await;
    assert_eq!(status, 403, "admin action without otp: {body}");
    assert!(body["type"].as_str().unwrap().ends_with("second-factor-missing"));

    let (status, _, enrol) = api.call("POST", "/v1/auth/totp/enroll", Some(&pwd_only), None).await;
    assert_eq!(status, 201, "{enrol}");
    let secret = enrol["secret"].as_str().unwrap();
    assert!(enrol["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
    let (status, _, body) = api.call("POST", "/v1/auth/totp/verify", Some(&pwd_only), Some(json!({"code": "000000"}))).await;
    assert_eq!(status, 422, "{body}");
    let (status, _, body) = api.call("POST", "/v1/auth/totp/verify", Some(&pwd_only), Some(json!({"code": current_totp(secret)}))).await;
    assert_eq!(status, 200, "{body}");
    // The code just used for verification is spent; sign in with the next step's code or wait.
    let next = shared::auth::totp::code_at(secret, integration_tests::now() + 30).unwrap();
    let (status, _, body) =
        api.call("POST", "/v1/auth/login", None, Some(json!({"email": "first@gamma.demo", "password": password, "totp": next}))).await;
    assert_eq!(status, 200, "{body}");
    let full = body["access_token"].as_str().unwrap().to_string();
    let (status, _, body) = api.call("GET", "/v1/users", Some(&full), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_bodies_get_problems_and_change_nothing() {
    let api = TestApi::start().await;
    let admin = api.token("admin@alpine.demo").await;
    let before = api.call("GET", "/v1/company", Some(&admin), None).await.2;

    let raw = |body: &'static str, ctype: &'static str| {
        let req = api.client.patch(api.url("/v1/company")).bearer_auth(&admin).header("content-type", ctype).body(body);
        async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            let ct = r.headers()["content-type"].to_str().unwrap().to_string();
            (s, ct, r.json::<Value>().await.unwrap())
        }
    };
    let (s, ct, body) = raw("{not json", "application/json").await;
    assert_eq!((s, ct.as_str()), (400, "application/problem+json"), "{body}");
    let (s, _, body) = raw("{\"name\": \"X\", \"is_admin\": true}", "application/json").await;
    assert_eq!(s, 422, "unknown field refused: {body}");
    assert_eq!(body["errors"][0]["field"], json!("is_admin"));
    let (s, _, body) = raw("{\"name\": 42}", "application/json").await;
    assert_eq!(s, 422, "{body}");
    let (s, _, body) = raw("{\"name\": \"\"}", "application/json").await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], json!("name"));
    let (s, _, _) = raw("name=x", "application/x-www-form-urlencoded").await;
    assert_eq!(s, 415);
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024));
    let r = api
        .client
        .patch(api.url("/v1/company"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let (s, _, body) = api
        .call("PATCH", "/v1/company", Some(&admin), Some(json!({"offices": [{"name": "HQ", "city": "Berlin", "country": "Germany"}]})))
        .await;
    assert_eq!(s, 422);
    assert_eq!(body["errors"][0]["field"], json!("offices[0].country"));

    let after = api.call("GET", "/v1/company", Some(&admin), None).await.2;
    assert_eq!(before, after, "failed requests changed the settings");
}

#[tokio::test]
async fn concurrent_updates_never_lose_a_write() {
    let api = TestApi::start().await;
    let admin = api.token("admin@alpine.demo").await;
    let (_, _, company) = api.call("GET", "/v1/company", Some(&admin), None).await;
    let version = company["version"].as_u64().unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let client = api.client.clone();
        let url = api.url("/v1/company");
        let token = admin.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .patch(url)
                .bearer_auth(token)
                .json(&json!({"departments": [format!("D{i}")], "version": version}))
                .send()
                .await
                .unwrap();
            (i, r.status().as_u16())
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (i, status) = t.await.unwrap();
        assert!(status == 200 || status == 409, "{status}");
        if status == 200 {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer of version {version} wins");
    let (_, _, now) = api.call("GET", "/v1/company", Some(&admin), None).await;
    assert_eq!(now["departments"], json!([format!("D{}", winners[0])]));
    assert_eq!(now["version"], json!(version + 1));
}

#[tokio::test]
async fn pagination_cursors_are_opaque_and_bound_to_the_tenant() {
    let api = TestApi::start().await;
    let admin = api.token("admin@alpine.demo").await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/users?limit=2&cursor={c}"),
            None => "/v1/users?limit=2".into(),
        };
        let (status, _, page) = api.call("GET", &path, Some(&admin), None).await;
        assert_eq!(status, 200, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(page["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let first = api.call("GET", "/v1/users?limit=2", Some(&admin), None).await.2;
    let c = first["next_cursor"].as_str().unwrap().to_string();
    // The other company's admin replays the cursor: refused, nothing of alpine leaks.
    let other = api.token("admin@harbor.demo").await;
    let (status, _, body) = api.call("GET", &format!("/v1/users?cursor={c}"), Some(&other), None).await;
    assert_eq!(status, 422, "{body}");
    let last = if c.ends_with('A') { 'B' } else { 'A' };
    let flipped = format!("{}{last}", &c[..c.len() - 1]);
    let (status, _, _) = api.call("GET", &format!("/v1/users?cursor={flipped}"), Some(&admin), None).await;
    assert_eq!(status, 422);
    let (status, _, _) = api.call("GET", "/v1/users?limit=1000", Some(&admin), None).await;
    assert_eq!(status, 422, "page size is capped");
}

#[tokio::test]
async fn role_changes_and_deactivation_take_effect_without_waiting_for_token_expiry() {
    let api = TestApi::start().await;
    let admin = api.token("admin@alpine.demo").await;
    let reporting = api.user("reporting@alpine.demo").clone();
    let token = api.token(&reporting.email).await;
    let (status, _, body) = api.call("GET", "/v1/users", Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["items"][0].as_object().unwrap().len(), 2, "names only: {body}");

    let (status, _, body) =
        api.call("PATCH", &format!("/v1/users/{}", reporting.user_id), Some(&admin), Some(json!({"roles": ["traveler"]}))).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = api.call("GET", "/v1/users", Some(&token), None).await;
    assert_eq!(status, 403, "the old token no longer carries the old role");

    let (status, _, body) = api.call("DELETE", &format!("/v1/users/{}", reporting.user_id), Some(&admin), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], json!("deactivated"));
    let (status, _, _) = api.call("GET", "/v1/me", Some(&token), None).await;
    assert_eq!(status, 401);
    let (status, _, _) =
        api.call("POST", "/v1/auth/login", None, Some(json!({"email": reporting.email, "password": reporting.password}))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_suspended_tenant_can_neither_sign_in_nor_call_anything() {
    let api = TestApi::start().await;
    let root = api.token("root@platform.demo").await;
    let traveler = api.user("traveler@harbor.demo").clone();
    let token = api.token(&traveler.email).await;
    let tenant = traveler.tenant_id.clone().unwrap();
    let (status, _, body) = api.call("PATCH", &format!("/v1/tenants/{tenant}"), Some(&root), Some(json!({"status": "suspended"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], json!("suspended"));
    let (status, _, _) = api.call("GET", "/v1/me", Some(&token), None).await;
    assert_eq!(status, 401);
    let (status, _, _) =
        api.call("POST", "/v1/auth/login", None, Some(json!({"email": traveler.email, "password": traveler.password}))).await;
    assert_eq!(status, 401);
    // The other company is untouched.
    let other = api.token("traveler@alpine.demo").await;
    assert_eq!(api.call("GET", "/v1/me", Some(&other), None).await.0, 200);
    let (status, _, body) = api.call("PATCH", &format!("/v1/tenants/{tenant}"), Some(&root), Some(json!({"status": "active"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(api.call("GET", "/v1/me", Some(&token), None).await.0, 200, "reactivated");
}

#[tokio::test]
async fn users_are_created_once_per_email_and_validated() {
    let api = TestApi::start().await;
    let admin = api.token("admin@alpine.demo").await;
    let new = json!({"email": "New.Person@alpine.demo", "name": "New Person", "roles": ["traveler"]});
    let (status, _, body) = api.call("POST", "/v1/users", Some(&admin), Some(new.clone())).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["email"], json!("new.person@alpine.demo"));
    assert!(body["initial_password"].as_str().unwrap().len() >= 12);
    let (status, _, _) = api.call("POST", "/v1/users", Some(&admin), Some(new)).await;
    assert_eq!(status, 409);
    let other = api.token("admin@harbor.demo").await;
    let (status, _, _) = api
        .call("POST", "/v1/users", Some(&other), Some(json!({"email": "new.person@alpine.demo", "name": "Dup", "roles": ["traveler"]})))
        .await;
    assert_eq!(status, 409, "emails are unique across the platform, so sign-in is unambiguous");
    let (status, _, body) =
        api.call("POST", "/v1/users", Some(&admin), Some(json!({"email": "x@alpine.demo", "name": "X", "roles": ["root_admin"]}))).await;
    assert_eq!(status, 422, "{body}");
    let (status, _, body) = api.call("POST", "/v1/users", Some(&admin), Some(json!({"email": "nope", "name": "", "roles": []}))).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"].as_array().unwrap().len(), 3, "{body}");
    let (status, _, _) = api
        .call(
            "POST",
            "/v1/users",
            Some(&admin),
            Some(json!({"email": "y@alpine.demo", "name": "Y", "roles": ["traveler"], "tenant_id": "t_aaaaaaaaaaaaaaaa"})),
        )
        .await;
    assert_eq!(status, 422, "a tenant in the body is refused, never used");
}

#[tokio::test]
async fn cors_answers_only_the_configured_origin() {
    let api = TestApi::start().await;
    let pre = |origin: &'static str| {
        api.client
            .request(reqwest::Method::OPTIONS, api.url("/v1/users"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let ok = pre("http://localhost:5173").await.unwrap();
    assert_eq!(ok.status().as_u16(), 204);
    assert_eq!(ok.headers()["access-control-allow-origin"], "http://localhost:5173");
    let methods = ok.headers()["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("GET") && methods.contains("POST"), "{methods}");
    assert!(ok.headers()["access-control-allow-headers"].to_str().unwrap().contains("Authorization"));
    let evil = pre("https://evil.example").await.unwrap();
    assert_eq!(evil.status().as_u16(), 403);
    assert!(!evil.headers().contains_key("access-control-allow-origin"));
    let r = api.client.get(api.url("/v1/health")).header("origin", "http://localhost:5173").send().await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "http://localhost:5173");
    let r = api.client.get(api.url("/v1/health")).header("origin", "https://evil.example").send().await.unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let api = TestApi::start().await;
    let (status, headers, _) = api.call("GET", "/v1/nothing", None, None).await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/problem+json");
    let (status, _, _) = api.call("PUT", "/v1/health", None, None).await;
    assert_eq!(status, 405);
}
