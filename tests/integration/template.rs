//! template.yaml against the route table: every route has its own function, API event, role
//! and sample event; functions are arm64 on provided.al2023; no data action on `*`.

use integration_tests::repo_root;
use serde_yaml::Value;
use shared::routes::ROUTES;

fn template() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap()
}

fn logical_id(function: &str) -> String {
    function.split('-').map(|p| p[..1].to_uppercase() + &p[1..]).collect::<String>() + "Function"
}

/// Strips CloudFormation tags (!Ref, !Sub ...) to reach plain values.
fn plain(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

fn data_actions(policies: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for policy in policies.as_sequence().into_iter().flatten() {
        for stmt in policy["Statement"].as_sequence().into_iter().flatten() {
            let actions: Vec<String> = match plain(&stmt["Action"]) {
                Value::String(s) => vec![s.clone()],
                Value::Sequence(s) => s.iter().filter_map(|a| a.as_str().map(str::to_string)).collect(),
                _ => vec![],
            };
            for a in actions {
                out.push((a, stmt["Resource"].clone()));
            }
        }
    }
    out
}

#[test]
fn every_route_has_its_function_event_role_and_sample() {
    let t = template();
    let resources = &t["Resources"];
    let globals = &t["Globals"]["Function"];
    let mut functions: Vec<&str> = ROUTES.iter().map(|r| r.function).collect();
    functions.extend(shared::routes::BACKGROUND_FUNCTIONS);
    for function in &functions {
        let id = logical_id(function);
        let res = &resources[id.as_str()];
        assert_eq!(res["Type"], "AWS::Serverless::Function", "{id}");
        assert_eq!(res["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        assert_eq!(res["Metadata"]["BuildProperties"]["Binary"], *function, "{id}");
        let props = &res["Properties"];
        let runtime = if props["Runtime"].is_null() { &globals["Runtime"] } else { &props["Runtime"] };
        assert_eq!(runtime, "provided.al2023", "{id}");
        let arch = if props["Architectures"].is_null() { &globals["Architectures"] } else { &props["Architectures"] };
        assert_eq!(arch, &serde_yaml::to_value(["arm64"]).unwrap(), "{id}");
        assert!(props["Role"].is_null(), "{id} gets its own generated role, not a shared one");
        for (action, resource) in data_actions(&props["Policies"]) {
            let star = match plain(&resource) {
                Value::String(s) => s == "*",
                Value::Sequence(s) => s.iter().any(|r| r.as_str() == Some("*")),
                _ => false,
            };
            let data = ["dynamodb:", "s3:", "kms:", "secretsmanager:"].iter().any(|p| action.starts_with(p));
            assert!(!(data && star), "{id}: {action} on *");
        }
        assert!(repo_root().join(format!("functions/src/bin/{function}.rs")).exists(), "{function} binary");
        assert!(repo_root().join(format!("events/{function}.json")).exists(), "{function} event");
    }
    for r in ROUTES {
        let props = &resources[logical_id(r.function).as_str()]["Properties"];
        let events = props["Events"].as_mapping().unwrap_or_else(|| panic!("{} has no events", r.function));
        let api = events.values().find(|e| e["Type"] == "Api").unwrap_or_else(|| panic!("{} has no Api event", r.function));
        assert_eq!(api["Properties"]["Path"], r.path, "{}", r.function);
        assert_eq!(api["Properties"]["Method"].as_str().unwrap().to_uppercase(), r.method, "{}", r.function);
        // Only the public routes skip the gateway authorizer.
        let public = r.access == shared::routes::Access::Public;
        let auth = &api["Properties"]["Auth"]["Authorizer"];
        assert_eq!(auth == "NONE", public, "{} authorizer", r.function);
    }
    // Every binary in functions/ is deployed.
    for entry in std::fs::read_dir(repo_root().join("functions/src/bin")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_string();
        assert!(functions.contains(&name.as_str()), "{name} is not in the route table or template");
    }
}

#[test]
fn table_buckets_logs_and_secrets_are_encrypted() {
    let t = template();
    for (id, res) in t["Resources"].as_mapping().unwrap() {
        let props = &res["Properties"];
        match res["Type"].as_str().unwrap_or_default() {
            "AWS::DynamoDB::Table" => {
                assert_eq!(props["SSESpecification"]["SSEEnabled"], true, "{id:?}");
                assert_eq!(props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true, "{id:?}");
                assert_eq!(props["DeletionProtectionEnabled"], true, "{id:?}");
            }
            "AWS::Logs::LogGroup" => assert!(!props["KmsKeyId"].is_null(), "{id:?} log group not encrypted"),
            "AWS::SecretsManager::Secret" => {
                assert!(!props["KmsKeyId"].is_null(), "{id:?} secret not on the CMK")
            }
            "AWS::KMS::Key" => assert_eq!(props["EnableKeyRotation"], true, "{id:?}"),
            "AWS::S3::Bucket" => assert!(!props["BucketEncryption"].is_null(), "{id:?}"),
            _ => {}
        }
    }
}

/// Each binary is the one line `scripts/wire-functions.py` writes: its route's type (so it
/// links that handler only) and exactly the AWS services the route table gives it. A function
/// without KMS must not be able to call KMS directly either: its role uses the app key only
/// through Secrets Manager (or S3 and SQS for the archive job).
#[test]
fn every_binary_links_only_its_handler_and_services_and_its_role_matches() {
    let t = template();
    let mut functions: Vec<&str> = ROUTES.iter().map(|r| r.function).collect();
    functions.extend(shared::routes::BACKGROUND_FUNCTIONS);
    for function in functions {
        let text = std::fs::read_to_string(repo_root().join(format!("functions/src/bin/{function}.rs"))).unwrap();
        if let Some(route) = shared::routes::Route::by_function(function) {
            let wiring = format!("shared::lambda::serve_route::<shared::handlers::route::{:?}>(", route.id);
            assert!(text.contains(&wiring), "{function} must be wired with {wiring}");
        }
        let (kms, s3) = shared::lambda::Services::required_by(function);
        assert_eq!(text.contains(".kms()"), kms, "{function}: KMS client");
        assert_eq!(text.contains(".s3()"), s3, "{function}: S3 client");
        let policies = &t["Resources"][logical_id(function).as_str()]["Properties"]["Policies"];
        let direct_kms =
            policies.as_sequence().into_iter().flatten().flat_map(|p| p["Statement"].as_sequence().into_iter().flatten()).any(|stmt| {
                let actions = serde_yaml::to_string(plain(&stmt["Action"])).unwrap();
                actions.contains("kms:") && stmt["Condition"]["StringEquals"]["kms:ViaService"].is_null()
            });
        assert_eq!(direct_kms, kms, "{function}: a role may call KMS directly exactly when the binary has a KMS client");
    }
}
