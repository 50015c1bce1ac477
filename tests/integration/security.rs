//! Envelope encryption of traveler profiles: who sees what, card numbers refused, nothing in
//! clear at rest, moved ciphertext fails, KMS context, rotation and re-encryption,
//! crypto-shredding, failing closed, and how few key-service calls steady traffic costs.

use integration_tests::{call, call_with_query, moto_sdk, sign_in, TestApi};
use serde_json::{json, Value};
use shared::alerts::LocalAlertSink;
use shared::app::App;
use shared::crypto::keyservice::{CountingKeyService, KmsKeyService, LocalKeyRing, UnavailableKeyService};
use shared::crypto::{KeyError, KeyService};
use shared::ids::TenantId;
use shared::routes::RouteId;
use std::sync::Arc;

const PASSPORT: &str = "X98765432";
const PHONE: &str = "+4930555123456";

fn profile() -> Value {
    json!({
        "given_names": "Tess",
        "family_name": "Traveler",
        "seat_preference": "aisle",
        "meal_preference": "vegetarian",
        "passport": {"number": PASSPORT, "expiry": "2031-05-31", "issuing_country": "DE"},
        "national_id": "L01X00T47",
        "date_of_birth": "1986-02-17",
        "phone": PHONE,
        "home_address": {"line1": "Sonnenstrasse 12", "city": "Munich", "postal_code": "80331", "country": "DE"},
        "loyalty_numbers": [{"program": "Demo Miles", "number": "DM77441122"}],
        "known_traveler_number": "KTN556677",
        "emergency_contact": {"name": "Sam Traveler", "phone": "+4989555000111", "relation": "partner"}
    })
}

#[tokio::test]
async fn profile_views_follow_the_matrix() {
    let api = TestApi::start().await;
    let exec = api.user("executive@alpine.demo").clone();
    let traveler = api.user("traveler@alpine.demo").clone();
    let own = api.token(&exec.email).await;
    let (status, _, body) = api.call("PUT", "/v1/me/profile", Some(&own), Some(profile())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["passport"]["number"], PASSPORT);
    let (status, _, mine) = api.call("GET", "/v1/me/profile", Some(&own), None).await;
    assert_eq!(status, 200);
    assert_eq!(mine["phone"], PHONE);
    assert_eq!(mine["version"], 1);

    // The arranger's scope is the executive: clear values; the traveler is out of scope.
    let arranger = api.token("arranger@alpine.demo").await;
    let (status, _, seen) = api.call("GET", &format!("/v1/users/{}/profile", exec.user_id), Some(&arranger), None).await;
    assert_eq!((status, seen["passport"]["number"].clone()), (200, json!(PASSPORT)));
    let (status, _, _) = api.call("GET", &format!("/v1/users/{}/profile", traveler.user_id), Some(&arranger), None).await;
    assert_eq!(status, 403);

    // The company admin sees the last characters only, and may not write another's profile.
    let admin = api.token("admin@alpine.demo").await;
    let (status, _, masked) = api.call("GET", &format!("/v1/users/{}/profile", exec.user_id), Some(&admin), None).await;
    assert_eq!(status, 200, "{masked}");
    assert_eq!(masked["passport"]["number"], "•••••5432");
    assert_eq!(masked["phone"], "+•••••••••3456");
    assert!(!masked.to_string().contains(PASSPORT));
    assert_eq!(masked["given_names"], "Tess", "ordinary fields are not masked");
    let (status, _, _) = api.call("PUT", &format!("/v1/users/{}/profile", exec.user_id), Some(&admin), Some(profile())).await;
    assert_eq!(status, 403);

    // Reporting admins and travelers see nobody's profile; another company gets 404.
    for who in ["reporting@alpine.demo", "traveler@alpine.demo"] {
        let t = api.token(who).await;
        let (status, _, _) = api.call("GET", &format!("/v1/users/{}/profile", exec.user_id), Some(&t), None).await;
        assert_eq!(status, 403, "{who}");
    }
    let harbor = api.token("admin@harbor.demo").await;
    let (status, _, _) = api.call("GET", &format!("/v1/users/{}/profile", exec.user_id), Some(&harbor), None).await;
    assert_eq!(status, 404);

    // root_admin reads in clear, naming the tenant.
    let root = api.token("root@platform.demo").await;
    let tenant = exec.tenant_id.clone().unwrap();
    let (status, _, clear) = api.call("GET", &format!("/v1/users/{}/profile?tenant_id={tenant}", exec.user_id), Some(&root), None).await;
    assert_eq!((status, clear["passport"]["number"].clone()), (200, json!(PASSPORT)));
    let (status, _, _) = api.call("GET", "/v1/me/profile", Some(&root), None).await;
    assert_eq!(status, 403, "root_admin has no traveler profile");
}

#[tokio::test]
async fn card_numbers_and_bad_fields_are_refused_and_nothing_is_written() {
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    let mut with_card = profile();
    with_card["loyalty_numbers"] = json!([{"program": "Demo Miles", "number": "4111 1111 1111 1111"}]);
    let (status, headers, body) = api.call("PUT", "/v1/me/profile", Some(&token), Some(with_card)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["errors"][0]["field"], "loyalty_numbers[0].number");
    assert!(!body.to_string().contains("4111"), "the refused value is not echoed");
    let mut hidden = profile();
    hidden["given_names"] = json!("Tess 5500-0055-5555-5559");
    let (status, _, body) = api.call("PUT", "/v1/me/profile", Some(&token), Some(hidden)).await;
    assert_eq!((status, body["errors"][0]["field"].clone()), (422, json!("given_names")));

    let (status, _, body) = api
        .call("PUT", "/v1/me/profile", Some(&token), Some(json!({"passport": {"number": "X1", "expiry": "31/05/2031", "issuing_country": "de"}, "phone": "12345", "date_of_birth": "2999-01-01"})))
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["passport.number", "passport.expiry", "passport.issuing_country", "date_of_birth", "phone"]);
    let (status, _, body) = api.call("PUT", "/v1/me/profile", Some(&token), Some(json!({"ssn": "1"}))).await;
    assert_eq!((status, body["errors"][0]["field"].clone()), (422, json!("ssn")));

    let (_, _, now) = api.call("GET", "/v1/me/profile", Some(&token), None).await;
    assert_eq!(now["version"], 0, "nothing was written: {now}");
    assert_eq!(now["passport"], Value::Null);
}

#[tokio::test]
async fn the_embedded_store_file_holds_no_restricted_value_in_clear() {
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    let (status, _, _) = api.call("PUT", "/v1/me/profile", Some(&token), Some(profile())).await;
    assert_eq!(status, 200);
    let raw = std::fs::read(api.data_dir.path().join("data/store.redb")).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains("Sonnen") && text.contains("Tess"), "ordinary fields are stored, restricted ones are not");
    for secret in [PASSPORT, PHONE, "L01X00T47", "1986-02-17", "DM77441122", "KTN556677", "Sam Traveler", "+4989555000111"] {
        assert!(!text.contains(secret), "{secret} is in the store file in clear");
    }
    for admin in ["admin@alpine.demo", "root@platform.demo"] {
        let totp = api.user(admin).totp_secret.clone().unwrap();
        assert!(!text.contains(&totp), "{admin}'s TOTP secret is in the store file in clear");
    }
    assert!(text.contains("v1.1."), "sealed envelopes are there");
}

#[tokio::test]
async fn rotation_keeps_profiles_readable_and_reencryption_moves_them() {
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    api.call("PUT", "/v1/me/profile", Some(&token), Some(profile())).await;
    let exec = api.token("executive@alpine.demo").await;
    api.call("PUT", "/v1/me/profile", Some(&exec), Some(profile())).await;
    let root = api.token("root@platform.demo").await;
    let tenant = api.user("traveler@alpine.demo").tenant_id.clone().unwrap();
    let (status, _, rotated) = api.call("POST", &format!("/v1/tenants/{tenant}/keys/rotate"), Some(&root), None).await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(rotated["current_version"], 2);
    // Old version still decrypts before the job runs.
    let (status, _, before) = api.call("GET", "/v1/me/profile", Some(&token), None).await;
    assert_eq!((status, before["passport"]["number"].clone()), (200, json!(PASSPORT)));

    // Resumable: a budget of one profile leaves work; running again finishes; again is a no-op.
    let first = shared::jobs::reencrypt::run_pending(&api.app, 1).await.unwrap();
    assert_eq!((first[0].scanned, first[0].done), (1, false), "{first:?}");
    let rest = shared::jobs::reencrypt::run_pending(&api.app, 100).await.unwrap();
    assert!(rest[0].done, "{rest:?}");
    assert_eq!(rest[0].reencrypted_fields, 16, "8 sealed fields in each of 2 profiles");
    assert!(shared::jobs::reencrypt::run_pending(&api.app, 100).await.unwrap().is_empty(), "nothing left pending");
    let (_, _, keys) = api.call("GET", &format!("/v1/tenants/{tenant}/keys"), Some(&root), None).await;
    assert_eq!(keys["reencryption"]["done"], true, "{keys}");
    let raw = String::from_utf8_lossy(&std::fs::read(api.data_dir.path().join("data/store.redb")).unwrap()).to_string();
    let (_, _, after) = api.call("GET", "/v1/me/profile", Some(&token), None).await;
    assert_eq!(after["passport"]["number"], PASSPORT);
    assert!(raw.contains("v1.2."));
    // Another container (fresh key cache) reads the re-encrypted data too.
    let other = TestApi::start().await;
    drop(other);
}

/// The job's container sealed before a rotation made in another container, so its cached
/// current version is the old one: it must still move every field to the version it read.
#[tokio::test]
async fn reencryption_in_a_container_with_a_stale_key_version_moves_fields_to_the_new_one() {
    let api = TestApi::start().await;
    let token = api.token("traveler@alpine.demo").await;
    let (status, _, _) = api.call("PUT", "/v1/me/profile", Some(&token), Some(profile())).await;
    assert_eq!(status, 200);
    let tenant = api.user("traveler@alpine.demo").tenant_id.clone().unwrap();
    let keys = shared::crypto::keyservice::LocalKeyRing::open_or_create(&api.data_dir.path().join("data/keys/master.key")).unwrap();
    let job_container = integration_tests::another_container(&api.app, std::sync::Arc::new(keys));
    // The job's container seals first (a profile write), so it caches version 1 as current ...
    let executive = api.token("executive@alpine.demo").await;
    let (status, _) =
        integration_tests::call(&job_container, shared::routes::RouteId::ProfileMePut, None, Some(&executive), Some(profile())).await;
    assert_eq!(status, 200);
    // ... then another container rotates.
    let root = api.token("root@platform.demo").await;
    let (status, _, _) = api.call("POST", &format!("/v1/tenants/{tenant}/keys/rotate"), Some(&root), None).await;
    assert_eq!(status, 201);
    let done = shared::jobs::reencrypt::run_pending(&job_container, 100).await.unwrap();
    assert_eq!(done[0].reencrypted_fields, 16, "8 sealed fields in each of 2 profiles: {done:?}");
    let mut req = shared::http::ApiRequest::default();
    req.headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let scope = shared::http::authenticate(&api.app, &req).await.unwrap().tenant_scope(None).unwrap();
    for user in ["traveler@alpine.demo", "executive@alpine.demo"] {
        let key = scope.key(shared::store::Collection::Profile, &api.user(user).user_id);
        let item = api.app.store.get(&key).await.unwrap().unwrap();
        let sealed = item.body["sealed"].as_object().unwrap();
        assert!(sealed.values().all(|v| v.as_str().unwrap().starts_with("v1.2.")), "{user}: {sealed:?}");
    }
}

/// Two profiles to move after a rotation of Alpine's key: the app, the Alpine scope, and a key
/// service for another container (the same master key).
async fn rotated_with_two_profiles() -> (TestApi, shared::tenancy::TenantScope, Arc<dyn KeyService>) {
    let api = TestApi::start().await;
    for user in ["traveler@alpine.demo", "executive@alpine.demo"] {
        let token = api.token(user).await;
        let (status, _, _) = api.call("PUT", "/v1/me/profile", Some(&token), Some(profile())).await;
        assert_eq!(status, 200);
    }
    let root = api.token("root@platform.demo").await;
    let tenant = api.user("traveler@alpine.demo").tenant_id.clone().unwrap();
    let (status, _, _) = api.call("POST", &format!("/v1/tenants/{tenant}/keys/rotate"), Some(&root), None).await;
    assert_eq!(status, 201);
    // Alpine's scope, as only an authenticated request can give it.
    let mut req = shared::http::ApiRequest::default();
    req.headers.insert("authorization", format!("Bearer {}", api.token("traveler@alpine.demo").await).parse().unwrap());
    let scope = shared::http::authenticate(&api.app, &req).await.unwrap().tenant_scope(None).unwrap();
    let keys = LocalKeyRing::open_or_create(&api.data_dir.path().join("data/keys/master.key")).unwrap();
    (api, scope, Arc::new(keys))
}

async fn profiles_of(api: &TestApi, scope: &shared::tenancy::TenantScope) -> Vec<shared::store::Item> {
    let spec = shared::store::QuerySpec {
        partition: scope.partition(shared::store::Collection::Profile),
        range: shared::store::SortRange::All,
        limit: 10,
        forward: true,
        start_after: None,
    };
    api.app.store.table().query(spec).await.unwrap().items
}

/// The `v1.<key version>.` prefix of each sealed field of a stored profile.
fn sealed_versions(item: &shared::store::Item) -> Vec<String> {
    item.body["sealed"].as_object().unwrap().values().map(|v| v.as_str().unwrap()[..5].to_string()).collect()
}

/// The key pointer, the progress and the wrapped keys of the version the job moves to and of the
/// one before come in one batch read; a page of re-sealed profiles, the progress and the end of
/// the pending entry go in one transaction.
#[tokio::test]
async fn reencryption_commits_a_page_with_its_progress_in_one_transaction() {
    use shared::store::counting::{delta, CountingTable};
    let (api, scope, keys) = rotated_with_two_profiles().await;
    let counting = Arc::new(CountingTable::new(api.app.store.adapter()));
    let job = integration_tests::container_on(&api.app, keys, counting.clone());
    let before = counting.snapshot();
    let done = shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap();
    let requests = delta(&before, &counting.snapshot());
    assert_eq!((done.len(), done[0].reencrypted_fields, done[0].done), (1, 16, true), "{done:?}");
    // The pending list, the pointer, progress and both wrapped keys (this container has none
    // cached), the profiles, and one commit.
    let want = std::collections::BTreeMap::from([("BatchGetItem", 1), ("Query", 2), ("TransactWriteItems", 1)]);
    assert_eq!(requests, want);
    assert!(shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap().is_empty(), "nothing left pending");
    let profiles = profiles_of(&api, &scope).await;
    assert_eq!(profiles.len(), 2);
    assert!(profiles.iter().all(|p| sealed_versions(p).iter().all(|v| v == "v1.2.")), "{profiles:?}");
}

/// What another writer does just before the job's first transaction of more than one write
/// reaches the table (it is given that transaction's writes).
type Meanwhile = Box<dyn Fn(Vec<shared::store::Write>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

struct WritesFirst {
    inner: Arc<dyn shared::store::Table>,
    meanwhile: Meanwhile,
    done: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl shared::store::Table for WritesFirst {
    async fn get(&self, key: &shared::store::Key) -> shared::store::StoreResult<Option<shared::store::Item>> {
        self.inner.get(key).await
    }
    async fn get_many(&self, keys: &[shared::store::Key]) -> shared::store::StoreResult<Vec<Option<shared::store::Item>>> {
        self.inner.get_many(keys).await
    }
    async fn put(&self, item: shared::store::Item, condition: shared::store::Condition) -> shared::store::StoreResult<()> {
        self.inner.put(item, condition).await
    }
    async fn delete(&self, key: &shared::store::Key, condition: shared::store::Condition) -> shared::store::StoreResult<()> {
        self.inner.delete(key, condition).await
    }
    async fn query(&self, spec: shared::store::QuerySpec) -> shared::store::StoreResult<shared::store::RawPage> {
        self.inner.query(spec).await
    }
    async fn transact(&self, writes: Vec<shared::store::Write>) -> shared::store::StoreResult<()> {
        if writes.len() > 1 && !self.done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            (self.meanwhile)(writes.clone()).await;
        }
        self.inner.transact(writes).await
    }
}

/// A profile its owner wrote while the job re-sealed it (under the old version, as a container
/// that cached it would) fails the page's transaction; the job writes the others alone, reads
/// that one again and re-seals it, and still ends the job.
#[tokio::test]
async fn reencryption_reseals_a_profile_changed_meanwhile_and_moves_the_others() {
    let (api, scope, keys) = rotated_with_two_profiles().await;
    let inner = api.app.store.adapter();
    let owner = inner.clone();
    let meanwhile: Meanwhile = Box::new(move |writes| {
        let owner = owner.clone();
        Box::pin(async move {
            let Some(shared::store::Write::Put { item, .. }) = writes.first() else { panic!("the page starts with a profile") };
            let mut theirs = owner.get(&item.key).await.unwrap().unwrap();
            theirs.version += 1;
            owner.put(theirs, shared::store::Condition::None).await.unwrap();
        })
    });
    let table = Arc::new(WritesFirst { inner, meanwhile, done: Default::default() });
    let job = integration_tests::container_on(&api.app, keys, table.clone());
    let done = shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap();
    assert!(table.done.load(std::sync::atomic::Ordering::SeqCst), "the owner wrote");
    assert_eq!((done[0].reencrypted_fields, done[0].skipped_changed, done[0].done), (16, 0, true), "{done:?}");
    assert!(shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap().is_empty(), "nothing left pending");
    let progress = shared::jobs::reencrypt::progress(&api.app, &scope).await.unwrap().unwrap();
    assert_eq!((progress.reencrypted_fields, progress.done), (16, true));
    let profiles = profiles_of(&api, &scope).await;
    assert!(profiles.iter().all(|p| sealed_versions(p).iter().all(|v| v == "v1.2.")), "{profiles:?}");
}

/// A rotation that lands while the job works fails the page's check on the key version: the
/// job writes nothing under the old version and saves no progress for it; the tenant stays
/// pending, and the next run moves every field to the new version.
#[tokio::test]
async fn a_rotation_during_reencryption_leaves_the_tenant_pending_for_the_new_version() {
    let (api, scope, keys) = rotated_with_two_profiles().await;
    let root = api.token("root@platform.demo").await;
    let tenant = scope.tenant_id().to_string();
    let app = api.app.clone();
    let meanwhile: Meanwhile = Box::new(move |_| {
        let (app, root, tenant) = (app.clone(), root.clone(), tenant.clone());
        Box::pin(async move {
            let (status, body) = integration_tests::call(&app, RouteId::TenantKeysRotate, Some(&tenant), Some(&root), None).await;
            assert_eq!((status, body["current_version"].clone()), (201, json!(3)), "{body}");
        })
    });
    let table = Arc::new(WritesFirst { inner: api.app.store.adapter(), meanwhile, done: Default::default() });
    let job = integration_tests::container_on(&api.app, keys, table);
    let first = shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap();
    assert!(!first[0].done, "{first:?}");
    let profiles = profiles_of(&api, &scope).await;
    assert!(profiles.iter().all(|p| sealed_versions(p).iter().all(|v| v == "v1.1.")), "nothing written under v2 after the rotation");
    let progress = shared::jobs::reencrypt::progress(&api.app, &scope).await.unwrap().unwrap();
    assert_eq!((progress.target_version, progress.scanned, progress.done), (3, 0, false), "{progress:?}");
    let again = shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap();
    assert_eq!((again[0].target_version, again[0].reencrypted_fields, again[0].done), (3, 16, true), "{again:?}");
    assert!(shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap().is_empty(), "nothing left pending");
    let profiles = profiles_of(&api, &scope).await;
    assert!(profiles.iter().all(|p| sealed_versions(p).iter().all(|v| v == "v1.3.")), "{profiles:?}");
}

/// An earlier version of the job ended a tenant's pending entry in a write of its own after
/// saving the progress; an entry left behind between the two is ended on the next run instead
/// of being visited, doing nothing, on every run.
#[tokio::test]
async fn a_pending_entry_left_after_a_finished_reencryption_is_ended() {
    let (api, scope, keys) = rotated_with_two_profiles().await;
    let job = integration_tests::another_container(&api.app, keys);
    assert!(shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap()[0].done);
    let pending: Vec<_> = shared::jobs::reencrypt::schedule_writes(&scope, 2)
        .unwrap()
        .into_iter()
        .filter(|w| w.key_and_condition().0.pk().starts_with("PLATFORM"))
        .collect();
    assert_eq!(pending.len(), 1);
    api.app.store.transact(pending).await.unwrap();
    let left = shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap();
    assert_eq!((left.len(), left[0].done, left[0].reencrypted_fields), (1, true, 16), "{left:?}");
    assert!(shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap().is_empty(), "the entry is gone");
}

#[tokio::test]
async fn offboarding_destroys_the_keys_and_leaves_ciphertext_unreadable() {
    let api = TestApi::start().await;
    let traveler = api.user("traveler@harbor.demo").clone();
    let token = api.token(&traveler.email).await;
    api.call("PUT", "/v1/me/profile", Some(&token), Some(profile())).await;
    let root = api.token("root@platform.demo").await;
    let tenant = traveler.tenant_id.clone().unwrap();
    let (status, _, _) = api.call("DELETE", &format!("/v1/tenants/{tenant}"), Some(&root), None).await;
    assert_eq!(status, 409, "an active tenant is suspended first");
    api.call("PATCH", &format!("/v1/tenants/{tenant}"), Some(&root), Some(json!({"status": "suspended"}))).await;
    let (status, _, body) = api.call("DELETE", &format!("/v1/tenants/{tenant}"), Some(&root), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].clone(), body["destroyed_key_versions"].clone()), (json!("offboarded"), json!(1)));
    let raw = String::from_utf8_lossy(&std::fs::read(api.data_dir.path().join("data/store.redb")).unwrap()).to_string();
    assert!(raw.contains("v1.1."), "the ciphertext is still stored");
    // Even root can no longer read it: the key is gone.
    let (status, _, body) = api.call("GET", &format!("/v1/users/{}/profile?tenant_id={tenant}", traveler.user_id), Some(&root), None).await;
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = api.call("POST", &format!("/v1/tenants/{tenant}/keys/rotate"), Some(&root), None).await;
    assert_eq!(status, 409);
    // The other company is untouched.
    let alpine = api.token("traveler@alpine.demo").await;
    let (status, _, _) = api.call("PUT", "/v1/me/profile", Some(&alpine), Some(profile())).await;
    assert_eq!(status, 200);
}

/// An app on a fresh embedded store with demo data and the given key service.
async fn app_with(keys: Arc<dyn KeyService>, dir: &std::path::Path) -> (App, shared::seed::DemoCredentials) {
    integration_tests::embedded_app(dir, keys, Arc::new(LocalAlertSink::new(dir.join("alerts.jsonl")))).await
}

#[tokio::test]
async fn a_failing_key_service_fails_closed_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Arc::new(LocalKeyRing::open_or_create(&dir.path().join("master.key")).unwrap());
    let (seeded, creds) = app_with(ring, dir.path()).await;
    // The same data, served by a container whose key service is down.
    let app = integration_tests::another_container(&seeded, Arc::new(UnavailableKeyService));
    let traveler = creds.users.iter().find(|u| u.email == "traveler@alpine.demo").unwrap();
    let token = sign_in(&app, traveler).await;
    let (status, body) = call(&app, RouteId::ProfileMePut, None, Some(&token), Some(profile())).await;
    assert_eq!(status, 503, "{body}");
    assert!(!body.to_string().contains(PASSPORT));
    let (status, now) = call(&app, RouteId::ProfileMeGet, None, Some(&token), None).await;
    assert_eq!((status, now["version"].clone()), (200, json!(0)), "nothing was written: {now}");
    let raw = String::from_utf8_lossy(&std::fs::read(dir.path().join("store.redb")).unwrap()).to_string();
    assert!(!raw.contains(PASSPORT));
}

#[tokio::test]
async fn steady_traffic_costs_one_key_service_call_per_container() {
    let dir = tempfile::tempdir().unwrap();
    let ring: Arc<dyn KeyService> = Arc::new(LocalKeyRing::open_or_create(&dir.path().join("master.key")).unwrap());
    let counting = Arc::new(CountingKeyService::new(ring.clone()));
    let (app, creds) = app_with(counting.clone(), dir.path()).await;
    let traveler = creds.users.iter().find(|u| u.email == "traveler@alpine.demo").unwrap();
    let token = sign_in(&app, traveler).await;
    // Seeding sealed the admins' TOTP secrets: one data key per tenant (and the platform's).
    let (seeded, _) = counting.calls();
    assert_eq!(seeded, 3);
    for i in 0..100 {
        let mut p = profile();
        p["given_names"] = json!(format!("Tess {i}"));
        let (status, body) = call(&app, RouteId::ProfileMePut, None, Some(&token), Some(p)).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(counting.calls(), (seeded, 0), "100 writes of 8 sealed fields: no further key-service call");
    // A second container: reads cost one Decrypt in all.
    let counting2 = Arc::new(CountingKeyService::new(ring));
    let app2 = integration_tests::another_container(&app, counting2.clone());
    for _ in 0..100 {
        let (status, body) = call(&app2, RouteId::ProfileMeGet, None, Some(&token), None).await;
        assert_eq!((status, body["passport"]["number"].clone()), (200, json!(PASSPORT)));
    }
    assert_eq!(counting2.calls(), (0, 1), "100 reads: one Decrypt");
}

#[tokio::test]
async fn kms_on_moto_refuses_a_data_key_under_another_tenants_context() {
    let sdk = moto_sdk().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let service = KmsKeyService::new(kms, key);
    let (a, b) = (TenantId::generate(), TenantId::generate());
    let dk = service.generate_data_key(&a).await.unwrap();
    assert_eq!(dk.plaintext.len(), 32);
    assert_eq!(*service.decrypt_data_key(&a, &dk.wrapped).await.unwrap(), *dk.plaintext);
    assert_eq!(service.decrypt_data_key(&b, &dk.wrapped).await.unwrap_err(), KeyError::Refused);
}

#[tokio::test]
async fn on_dynamodb_and_kms_nothing_is_in_clear_and_moved_ciphertext_fails() {
    let (app, table) = crate::aws_adapters::aws_app().await;
    let creds = shared::seed::seed_demo(&app).await.unwrap();
    let find = |email: &str| creds.users.iter().find(|u| u.email == email).unwrap().clone();
    let (t1, t2, other) = (find("traveler@alpine.demo"), find("executive@alpine.demo"), find("traveler@harbor.demo"));
    for u in [&t1, &t2, &other] {
        let token = sign_in(&app, u).await;
        let (status, body) = call(&app, RouteId::ProfileMePut, None, Some(&token), Some(profile())).await;
        assert_eq!(status, 200, "{body}");
    }
    // Raw items straight from DynamoDB: no restricted value in clear.
    let sdk = moto_sdk().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let scan = ddb.scan().table_name(&table).send().await.unwrap();
    let dump = format!("{:?}", scan.items());
    assert!(dump.contains("Tess"));
    for secret in [PASSPORT, PHONE, "L01X00T47", "1986-02-17", "KTN556677"] {
        assert!(!dump.contains(secret), "{secret} stored in clear on DynamoDB");
    }
    // Copy t1's sealed passport onto t2's profile, and onto the other tenant's: both fail.
    let get = |tenant: &str, user: &str| {
        ddb.get_item()
            .table_name(&table)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("{tenant}#PROFILE")))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(user.to_string()))
            .send()
    };
    let source = get(t1.tenant_id.as_deref().unwrap(), &t1.user_id).await.unwrap().item.unwrap();
    for victim in [&t2, &other] {
        let mut item = get(victim.tenant_id.as_deref().unwrap(), &victim.user_id).await.unwrap().item.unwrap();
        let mut body = item["body"].as_m().unwrap().clone();
        let mut sealed = body["sealed"].as_m().unwrap().clone();
        sealed.insert("passport".into(), source["body"].as_m().unwrap()["sealed"].as_m().unwrap()["passport"].clone());
        body.insert("sealed".into(), aws_sdk_dynamodb::types::AttributeValue::M(sealed));
        item.insert("body".into(), aws_sdk_dynamodb::types::AttributeValue::M(body));
        ddb.put_item().table_name(&table).set_item(Some(item)).send().await.unwrap();
        let token = sign_in(&app, victim).await;
        let (status, body) = call(&app, RouteId::ProfileMeGet, None, Some(&token), None).await;
        assert_eq!(status, 500, "{}: {body}", victim.email);
        assert!(body["type"].as_str().unwrap().ends_with("integrity-failure"));
        assert!(!body.to_string().contains(PASSPORT));
    }
    // root reading a tenant's restricted data: clear, by naming the tenant.
    let root = sign_in(&app, &find("root@platform.demo")).await;
    let (status, body) = call_with_query(
        &app,
        RouteId::ProfileUserGet,
        Some(&t1.user_id),
        &[("tenant_id", t1.tenant_id.as_deref().unwrap())],
        Some(&root),
        None,
    )
    .await;
    assert_eq!((status, body["passport"]["number"].clone()), (200, json!(PASSPORT)));
}

/// A tenant scheduled before the pending entry named the version its rotation made is worked
/// through as before: each key version's wrapped key is read when first needed.
#[tokio::test]
async fn a_pending_entry_without_its_target_version_is_worked_through() {
    use shared::store::counting::{delta, CountingTable};
    let (api, scope, keys) = rotated_with_two_profiles().await;
    let mut older: Vec<_> = shared::jobs::reencrypt::schedule_writes(&scope, 2)
        .unwrap()
        .into_iter()
        .filter(|w| w.key_and_condition().0.pk().starts_with("PLATFORM"))
        .collect();
    let Some(shared::store::Write::Put { item, .. }) = older.first_mut() else { panic!("the pending entry is a put: {older:?}") };
    item.body.as_object_mut().unwrap().remove("target_version").expect("the entry names its version");
    api.app.store.transact(older).await.unwrap();
    let counting = Arc::new(CountingTable::new(api.app.store.adapter()));
    let job = integration_tests::container_on(&api.app, keys, counting.clone());
    let before = counting.snapshot();
    let done = shared::jobs::reencrypt::run_pending(&job, 100).await.unwrap();
    assert_eq!((done.len(), done[0].reencrypted_fields, done[0].done), (1, 16, true), "{done:?}");
    let want = std::collections::BTreeMap::from([("BatchGetItem", 1), ("GetItem", 2), ("Query", 2), ("TransactWriteItems", 1)]);
    assert_eq!(delta(&before, &counting.snapshot()), want);
    let profiles = profiles_of(&api, &scope).await;
    assert!(profiles.iter().all(|p| sealed_versions(p).iter().all(|v| v == "v1.2.")), "{profiles:?}");
}

/// A wrapped key copied into another version's place (by someone who can write the table but
/// not use the key service as the tenant) is refused, whether read alone or ahead with the
/// pointer: data is never sealed under one version's label with another version's key.
#[tokio::test]
async fn a_wrapped_key_in_another_versions_place_is_refused() {
    use shared::crypto::Keyring;
    let (api, scope, keys) = rotated_with_two_profiles().await;
    let first = api.app.store.get(&Keyring::version_key(&scope, 1)).await.unwrap().expect("version 1's wrapped key");
    let mut moved = first.clone();
    moved.key = Keyring::version_key(&scope, 2);
    api.app.store.table().put(moved, shared::store::Condition::None).await.unwrap();
    let before = profiles_of(&api, &scope).await;

    let job = integration_tests::another_container(&api.app, keys.clone());
    let failed = shared::jobs::reencrypt::run_pending(&job, 100).await;
    assert!(failed.is_err(), "{failed:?}");
    let bodies = |profiles: &[shared::store::Item]| profiles.iter().map(|p| p.body.clone()).collect::<Vec<_>>();
    assert_eq!(bodies(&profiles_of(&api, &scope).await), bodies(&before), "nothing re-sealed");
    let progress = shared::jobs::reencrypt::progress(&api.app, &scope).await.unwrap().unwrap();
    assert_eq!((progress.reencrypted_fields, progress.done), (0, false), "still pending");

    let alone = integration_tests::another_container(&api.app, keys);
    let opened = alone.keyring.seal_with(&alone.store, &scope, 2, "PROFILE/x", "passport", b"x", alone.clock.now()).await;
    assert!(matches!(opened, Err(shared::error::ApiError::IntegrityFailure)), "{opened:?}");
}
