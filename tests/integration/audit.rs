//! The audit trail: every read, change and denial leaves one event; filters and time ranges;
//! the hash chain verifies, and tampering on the stored items is detected.

use integration_tests::{call, call_with_query, moto_sdk, sign_in, TestApi};
use serde_json::{json, Value};
use shared::routes::RouteId;
use std::sync::Arc;

fn actions(page: &Value) -> Vec<(String, String)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["outcome"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn reads_changes_and_denials_are_recorded_with_who_what_where() {
    let api = TestApi::start().await;
    let traveler = api.user("traveler@alpine.demo").clone();
    let token = api.token(&traveler.email).await;
    let admin = api.token("admin@alpine.demo").await;
    let (status, _, _) = api.call("GET", "/v1/me", Some(&token), None).await;
    assert_eq!(status, 200);
    let (status, _, _) = api.call("GET", "/v1/users", Some(&token), None).await;
    assert_eq!(status, 403);
    let harbor_user = api.user("traveler@harbor.demo").user_id.clone();
    let (status, _, _) = api.call("GET", &format!("/v1/users/{harbor_user}"), Some(&admin), None).await;
    assert_eq!(status, 404);
    let (status, _, _) = api.call("PATCH", "/v1/company", Some(&admin), Some(json!({"departments": ["Audit"]}))).await;
    assert_eq!(status, 200);

    let (status, _, page) = api.call("GET", &format!("/v1/audit?actor={}", traveler.user_id), Some(&admin), None).await;
    assert_eq!(status, 200, "{page}");
    let seen = actions(&page);
    assert!(seen.contains(&("auth-login".into(), "success".into())), "{seen:?}");
    assert!(seen.contains(&("me".into(), "success".into())), "{seen:?}");
    assert!(seen.contains(&("users-list".into(), "denied".into())), "{seen:?}");
    let event = page["items"].as_array().unwrap().iter().find(|e| e["action"] == "me").unwrap();
    for field in [
        "actor",
        "roles",
        "tenant",
        "action",
        "resource",
        "outcome",
        "request_id",
        "source_ip",
        "user_agent",
        "time",
        "hash",
        "prev_hash",
        "seq",
    ] {
        assert!(!event[field].is_null(), "{field} missing from {event}");
    }
    assert_eq!(event["tenant"], json!(traveler.tenant_id));
    assert_eq!(event["source_ip"], "127.0.0.1");
    assert_eq!(event["resource"], "/v1/me");

    let (_, _, changes) = api.call("GET", "/v1/audit?action=company-update", Some(&admin), None).await;
    assert_eq!(actions(&changes), [("company-update".to_string(), "success".to_string())]);
    let (_, _, denied) = api.call("GET", "/v1/audit?outcome=not_found", Some(&admin), None).await;
    assert_eq!(actions(&denied), [("users-get".to_string(), "not_found".to_string())]);

    // A time range in the future holds nothing; a malformed one is a 422 naming the field.
    let (status, _, empty) = api.call("GET", "/v1/audit?from=2099-01-01T00:00:00Z", Some(&admin), None).await;
    assert_eq!((status, empty["items"].as_array().unwrap().len()), (200, 0));
    let (status, _, body) = api.call("GET", "/v1/audit?from=yesterday", Some(&admin), None).await;
    assert_eq!((status, body["errors"][0]["field"].clone()), (422, json!("from")));

    // Harbor's trail holds none of alpine's events.
    let harbor_admin = api.token("admin@harbor.demo").await;
    let (_, _, harbor) = api.call("GET", &format!("/v1/audit?actor={}", traveler.user_id), Some(&harbor_admin), None).await;
    assert_eq!(harbor["items"].as_array().unwrap().len(), 0);

    // Failed sign-ins of unknown emails go to the platform's chain, which root reads.
    api.call("POST", "/v1/auth/login", None, Some(json!({"email": "nobody@nowhere.demo", "password": "wrong password"}))).await;
    let root = api.token("root@platform.demo").await;
    let (status, _, platform) = api.call("GET", "/v1/audit?action=auth-login&outcome=denied", Some(&root), None).await;
    assert_eq!(status, 200);
    assert!(!platform["items"].as_array().unwrap().is_empty());
    // root's reads of a tenant land in that tenant's chain.
    let tenant = traveler.tenant_id.clone().unwrap();
    api.call("GET", &format!("/v1/users?tenant_id={tenant}"), Some(&root), None).await;
    let root_id = api.user("root@platform.demo").user_id.clone();
    let (_, _, root_reads) = api.call("GET", &format!("/v1/audit?actor={root_id}"), Some(&admin), None).await;
    assert!(actions(&root_reads).contains(&("users-list".into(), "success".into())), "{root_reads}");

    let (status, _, verified) = api.call("GET", "/v1/audit/verify", Some(&admin), None).await;
    assert_eq!(status, 200);
    assert_eq!(verified["verification"]["valid"], true, "{verified}");
    assert!(verified["verification"]["events"].as_u64().unwrap() >= 8);
}

#[tokio::test]
async fn a_tampered_trail_on_dynamodb_fails_verification() {
    let (app, table) = crate::aws_adapters::aws_app().await;
    let creds = shared::seed::seed_demo(&app).await.unwrap();
    let find = |email: &str| creds.users.iter().find(|u| u.email == email).unwrap().clone();
    let traveler = find("traveler@alpine.demo");
    let token = sign_in(&app, &traveler).await;
    for _ in 0..4 {
        assert_eq!(call(&app, RouteId::Me, None, Some(&token), None).await.0, 200);
    }
    let admin = sign_in(&app, &find("admin@alpine.demo")).await;
    let (status, body) = call(&app, RouteId::AuditVerify, None, Some(&admin), None).await;
    assert_eq!((status, body["verification"]["valid"].clone()), (200, json!(true)), "{body}");

    // Edit the outcome of event 2 straight in the table.
    let sdk = moto_sdk().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let tenant = traveler.tenant_id.clone().unwrap();
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let key_of = |sk: &str| [("pk".to_string(), A::S(format!("{tenant}#AUDIT"))), ("sk".to_string(), A::S(sk.to_string()))];
    let key = |seq: u64| key_of(&format!("{seq:012}"));
    let mut item = ddb.get_item().table_name(&table).set_key(Some(key(2).into())).send().await.unwrap().item.unwrap();
    let mut body = item["body"].as_m().unwrap().clone();
    body.insert("outcome".into(), A::S("denied".into()));
    item.insert("body".into(), A::M(body));
    ddb.put_item().table_name(&table).set_item(Some(item)).send().await.unwrap();
    // The first verification left a sealed checkpoint beside the head.
    let checkpoint = ddb.get_item().table_name(&table).set_key(Some(key_of("CHECKPOINT").into())).send().await.unwrap().item;
    assert!(checkpoint.is_some_and(|c| c["body"].as_m().unwrap().contains_key("sealed")));
    // From the checkpoint, event 2 was found intact before: only the events since are checked.
    let (_, body) = call(&app, RouteId::AuditVerify, None, Some(&admin), None).await;
    assert_eq!(body["verification"]["valid"], true, "{body}");
    assert!(body["verification"]["checked_from"].as_u64().unwrap() > 2, "{body}");
    // A full walk reads every event again.
    let (_, body) = call_with_query(&app, RouteId::AuditVerify, None, &[("full", "true")], Some(&admin), None).await;
    assert_eq!(body["verification"]["valid"], false, "{body}");
    assert_eq!(body["verification"]["first_invalid_seq"], 2);
    assert_eq!(body["verification"]["reason"], "an event was altered");
    let (status, body) = call_with_query(&app, RouteId::AuditVerify, None, &[("full", "yes")], Some(&admin), None).await;
    assert_eq!((status, body["errors"][0]["field"].clone()), (422, json!("full")), "{body}");

    // root names the tenant to verify it too; the platform chain is unaffected.
    let root = sign_in(&app, &find("root@platform.demo")).await;
    let (_, body) = call_with_query(&app, RouteId::AuditVerify, None, &[("tenant_id", &tenant), ("full", "true")], Some(&root), None).await;
    assert_eq!(body["verification"]["valid"], false);
    let (_, body) = call(&app, RouteId::AuditVerify, None, Some(&root), None).await;
    assert_eq!(body["verification"]["valid"], true, "{body}");
}

/// Puts an item into the slot of the tenant's next audit event, as a broken chain would have.
async fn take_next_audit_slot(table: &str, tenant: &str) {
    let ddb = aws_sdk_dynamodb::Client::new(&moto_sdk().await);
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let key = |sk: String| [("pk".to_string(), A::S(format!("{tenant}#AUDIT"))), ("sk".to_string(), A::S(sk))];
    let head = ddb.get_item().table_name(table).set_key(Some(key("HEAD".into()).into())).send().await.unwrap().item.unwrap();
    let seq: u64 = head["body"].as_m().unwrap()["seq"].as_n().unwrap().parse().unwrap();
    let mut squatter: std::collections::HashMap<String, A> = key(format!("{:012}", seq + 1)).into();
    squatter.insert("body".into(), A::M([("squatter".to_string(), A::Bool(true))].into()));
    ddb.put_item().table_name(table).set_item(Some(squatter)).send().await.unwrap();
}

/// On DynamoDB a change and its audit event are one transaction: an approval costs one
/// TransactWriteItems and leaves exactly one event, and a change whose event cannot be written
/// does not happen.
#[tokio::test]
async fn a_change_commits_with_its_audit_event_or_not_at_all_on_dynamodb() {
    let (app, table, requests) = crate::aws_adapters::counted_aws_app().await;
    let creds = shared::seed::seed_demo(&app).await.unwrap();
    shared::seed::seed_travel(&app, &creds).await.unwrap();
    let admin = creds.users.iter().find(|u| u.email == "admin@alpine.demo").unwrap().clone();
    let tenant = admin.tenant_id.clone().unwrap();
    let token = sign_in(&app, &admin).await;
    let (_, queue) = call(&app, RouteId::ApprovalsList, None, Some(&token), None).await;
    let booking = queue["items"][0]["id"].as_str().expect("the demo has a booking waiting").to_string();

    let before = requests.snapshot();
    let (status, approved) = call(&app, RouteId::BookingsApprove, Some(&booking), Some(&token), None).await;
    assert_eq!((status, approved["status"].clone()), (200, json!("confirmed")), "{approved}");
    let after = requests.snapshot();
    let transactions = after.get("TransactWriteItems").copied().unwrap_or(0) - before.get("TransactWriteItems").copied().unwrap_or(0);
    assert_eq!(transactions, 1, "the approval and its event in one transaction: {before:?} -> {after:?}");
    let (_, events) = call_with_query(&app, RouteId::AuditList, None, &[("action", "bookings-approve")], Some(&token), None).await;
    let events = events["items"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0]["outcome"].clone(), events[0]["status"].clone()), (json!("success"), json!(200)));
    assert_eq!(events[0]["resource"], json!(format!("/v1/bookings/{booking}/approve")));

    take_next_audit_slot(&table, &tenant).await;

    let (status, problem) = call(&app, RouteId::CompanyUpdate, None, Some(&token), Some(json!({"departments": ["Unrecorded"]}))).await;
    assert_eq!(status, 500, "{problem}");
    let (status, company) = call(&app, RouteId::CompanyGet, None, Some(&token), None).await;
    assert_eq!(status, 200);
    assert!(!company["departments"].to_string().contains("Unrecorded"), "the change landed without its event: {company}");
}

/// A tenant's current key version and the version its re-encryption moves data to.
async fn key_versions(app: &shared::app::App, tenant: &str, root: &str) -> (Value, Value) {
    let (status, keys) = call(app, RouteId::TenantKeysGet, Some(tenant), Some(root), None).await;
    assert_eq!(status, 200, "{keys}");
    (keys["current_version"].clone(), keys["reencryption"]["target_version"].clone())
}

/// A key rotation, the re-encryption it schedules and its audit event are one transaction: a
/// rotation never lands without the job that moves the data, nor unrecorded.
#[tokio::test]
async fn a_key_rotation_schedules_its_reencryption_and_records_itself_in_one_transaction() {
    let (app, table, requests) = crate::aws_adapters::counted_aws_app().await;
    let creds = shared::seed::seed_demo(&app).await.unwrap();
    let find = |email: &str| creds.users.iter().find(|u| u.email == email).unwrap().clone();
    let tenant = find("admin@alpine.demo").tenant_id.unwrap();
    let root = sign_in(&app, &find("root@platform.demo")).await;

    let before = requests.snapshot();
    let (status, rotated) = call(&app, RouteId::TenantKeysRotate, Some(&tenant), Some(&root), None).await;
    assert_eq!(status, 201, "{rotated}");
    let after = requests.snapshot();
    let made = |op: &str| after.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0);
    assert_eq!((made("TransactWriteItems"), made("PutItem")), (1, 0), "{before:?} -> {after:?}");
    let version = rotated["current_version"].clone();
    assert_eq!(key_versions(&app, &tenant, &root).await, (version.clone(), version.clone()), "current and re-encryption target");
    let (_, events) =
        call_with_query(&app, RouteId::AuditList, None, &[("tenant_id", &tenant), ("action", "tenant-keys-rotate")], Some(&root), None)
            .await;
    let statuses: Vec<_> = events["items"].as_array().unwrap().iter().map(|e| e["status"].clone()).collect();
    assert_eq!(statuses, [json!(201)], "{events}");

    // With the tenant's next audit slot taken, a rotation does not happen at all.
    take_next_audit_slot(&table, &tenant).await;
    let (status, problem) = call(&app, RouteId::TenantKeysRotate, Some(&tenant), Some(&root), None).await;
    assert_eq!(status, 500, "{problem}");
    assert_eq!(key_versions(&app, &tenant, &root).await, (version.clone(), version), "neither key nor schedule moved");
}

/// Offboarding deletes the tenant's keys and sets its status in one transaction with its event.
#[tokio::test]
async fn offboarding_shreds_the_keys_and_records_itself_in_one_transaction() {
    let (app, _, requests) = crate::aws_adapters::counted_aws_app().await;
    let creds = shared::seed::seed_demo(&app).await.unwrap();
    let find = |email: &str| creds.users.iter().find(|u| u.email == email).unwrap().clone();
    let tenant = find("admin@harbor.demo").tenant_id.unwrap();
    let root = sign_in(&app, &find("root@platform.demo")).await;
    for _ in 0..2 {
        assert_eq!(call(&app, RouteId::TenantKeysRotate, Some(&tenant), Some(&root), None).await.0, 201);
    }
    let (status, _) = call(&app, RouteId::TenantsUpdate, Some(&tenant), Some(&root), Some(json!({"status": "suspended"}))).await;
    assert_eq!(status, 200);

    let before = requests.snapshot();
    let (status, body) = call(&app, RouteId::TenantsOffboard, Some(&tenant), Some(&root), None).await;
    assert_eq!((status, body["status"].clone()), (200, json!("offboarded")), "{body}");
    assert!(body["destroyed_key_versions"].as_u64().unwrap() >= 2, "{body}");
    let after = requests.snapshot();
    let made = |op: &str| after.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0);
    assert_eq!((made("TransactWriteItems"), made("DeleteItem"), made("PutItem")), (1, 0, 0), "{before:?} -> {after:?}");
    let (_, events) =
        call_with_query(&app, RouteId::AuditList, None, &[("tenant_id", &tenant), ("action", "tenants-offboard")], Some(&root), None).await;
    let statuses: Vec<_> = events["items"].as_array().unwrap().iter().map(|e| e["status"].clone()).collect();
    assert_eq!(statuses, [json!(200)], "{events}");
    let (_, keys) = call(&app, RouteId::TenantKeysGet, Some(&tenant), Some(&root), None).await;
    assert!(keys["current_version"].is_null(), "no key is left: {keys}");
}

#[tokio::test]
async fn the_archive_writes_tenant_prefixed_date_partitioned_json_lines_once() {
    let api = TestApi::start().await;
    let traveler = api.user("traveler@alpine.demo").clone();
    let token = api.token(&traveler.email).await;
    for _ in 0..3 {
        api.call("GET", "/v1/me", Some(&token), None).await;
    }
    let reports = shared::jobs::audit_archive::run(&api.app, 10_000).await.unwrap();
    let tenant = traveler.tenant_id.clone().unwrap();
    let alpine = reports.iter().find(|r| r.chain == tenant).unwrap();
    assert_eq!(alpine.archived_through, 4, "sign-in and three reads: {reports:?}");
    let today = &api.app.clock.now_rfc3339()[..10];
    assert_eq!(alpine.objects, [format!("tenants/{tenant}/audit/date={today}/000000000001-000000000004.jsonl")]);
    let text = std::fs::read_to_string(api.data_dir.path().join("data/objects").join(&alpine.objects[0])).unwrap();
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 4);
    assert_eq!(events[1]["prev_hash"], events[0]["hash"], "the archived lines keep the chain");
    assert!(events.iter().all(|e| e["tenant"] == json!(tenant)));
    assert!(reports.iter().any(|r| r.chain == "platform"));

    // Nothing new, nothing written; new events go to a new object starting after the last.
    let again = shared::jobs::audit_archive::run(&api.app, 10_000).await.unwrap();
    assert!(again.iter().all(|r| r.objects.is_empty()), "{again:?}");
    api.call("GET", "/v1/me", Some(&token), None).await;
    let next = shared::jobs::audit_archive::run(&api.app, 10_000).await.unwrap();
    let alpine = next.iter().find(|r| r.chain == tenant).unwrap();
    assert_eq!(alpine.objects, [format!("tenants/{tenant}/audit/date={today}/000000000005-000000000005.jsonl")]);
}

/// One batch read finds every chain's archived position and head, and only a chain with new
/// events is queried: once, when they fit in a page.
#[tokio::test]
async fn the_archive_reads_every_position_at_once_and_queries_only_chains_with_new_events() {
    use shared::store::counting::{delta, CountingTable};
    let api = TestApi::start().await;
    let traveler = api.user("traveler@alpine.demo").clone();
    let token = api.token(&traveler.email).await;
    shared::jobs::audit_archive::run(&api.app, 10_000).await.unwrap();
    api.call("GET", "/v1/me", Some(&token), None).await;

    let counting = Arc::new(CountingTable::new(api.app.store.adapter()));
    let job = integration_tests::container_on(&api.app, Arc::new(shared::crypto::keyservice::UnavailableKeyService), counting.clone());
    let before = counting.snapshot();
    let reports = shared::jobs::audit_archive::run(&job, 10_000).await.unwrap();
    let requests = delta(&before, &counting.snapshot());
    let tenant = traveler.tenant_id.clone().unwrap();
    let archived: Vec<_> = reports.iter().filter(|r| !r.objects.is_empty()).map(|r| r.chain.clone()).collect();
    assert_eq!(archived, [tenant], "only Alpine had a new event: {reports:?}");
    assert!(reports.len() >= 3, "the platform's chain and both companies': {reports:?}");
    // The tenant list, the positions, Alpine's new events; then its archived position.
    let want = std::collections::BTreeMap::from([("BatchGetItem", 1), ("PutItem", 1), ("Query", 2)]);
    assert_eq!(requests, want, "{reports:?}");
}

#[tokio::test]
async fn the_archive_writes_to_s3_on_moto() {
    use shared::objects::{ObjectStore, S3ObjectStore};
    let (app, _) = crate::aws_adapters::aws_app().await;
    let sdk = moto_sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let bucket = integration_tests::unique("archive");
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuCentral1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let creds = shared::seed::seed_demo(&app).await.unwrap();
    let objects = Arc::new(S3ObjectStore::new(s3.clone(), bucket.clone()));
    let app = crate::aws_adapters::with_objects(app, objects.clone());
    let traveler = creds.users.iter().find(|u| u.email == "traveler@harbor.demo").unwrap();
    let token = sign_in(&app, traveler).await;
    call(&app, RouteId::Me, None, Some(&token), None).await;
    let reports = shared::jobs::audit_archive::run(&app, 10_000).await.unwrap();
    let tenant = traveler.tenant_id.clone().unwrap();
    let listed = objects.list(&format!("tenants/{tenant}/audit/")).await.unwrap();
    assert_eq!(listed.len(), 1, "{reports:?}");
    let body = String::from_utf8(objects.get(&listed[0]).await.unwrap().unwrap()).unwrap();
    assert_eq!(body.lines().count(), 2, "sign-in and one read");
    // Every chain lands under its own prefix only.
    for report in &reports {
        let prefix = if report.chain == "platform" { "platform/".to_string() } else { format!("tenants/{}/", report.chain) };
        assert!(report.objects.iter().all(|k| k.starts_with(&prefix)), "{report:?}");
    }
}
