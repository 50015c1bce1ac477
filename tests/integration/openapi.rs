//! The committed OpenAPI document is the one generated from the route table.

use integration_tests::repo_root;
use shared::routes::ROUTES;

#[test]
fn committed_openapi_matches_the_route_table() {
    let generated = serde_json::to_string_pretty(&shared::openapi::document()).unwrap() + "\n";
    let path = repo_root().join("docs/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).expect("docs/openapi.json (regenerate with UPDATE_OPENAPI=1 cargo test openapi)");
    assert_eq!(committed, generated, "docs/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p integration-tests openapi");
    let doc: serde_json::Value = serde_json::from_str(&committed).unwrap();
    for r in ROUTES {
        let op = &doc["paths"][r.path][r.method.to_ascii_lowercase()];
        assert_eq!(op["operationId"], r.function, "{} {}", r.method, r.path);
    }
}

#[test]
fn the_readme_lists_every_route() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    for r in ROUTES {
        let row = format!("| {} | {} | {} |", r.method, r.path, r.function);
        assert!(readme.contains(&row), "README.md lacks the row {row}");
    }
}
