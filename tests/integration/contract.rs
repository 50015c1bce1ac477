//! The storage contract suite against the embedded store and against DynamoDB on moto.

use integration_tests::{moto_sdk, unique};
use shared::store::contract::{persists_across_reopen, run_all};
use shared::store::dynamo::{create_table, DynamoTable};
use shared::store::embedded::EmbeddedTable;
use shared::store::Table;
use std::sync::Arc;

fn assert_all_pass(adapter: &str, results: Vec<(&'static str, Result<(), String>)>) {
    let failures: Vec<String> = results.iter().filter_map(|(name, r)| r.as_ref().err().map(|e| format!("{name}: {e}"))).collect();
    assert!(results.len() >= 9, "the suite shrank");
    assert!(failures.is_empty(), "{adapter} fails the storage contract:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn embedded_store_passes_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let table = EmbeddedTable::open(&dir.path().join("store.redb")).unwrap();
    assert_all_pass("embedded", run_all(Arc::new(table)).await);
}

#[tokio::test]
async fn embedded_store_persists_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let first: Arc<dyn Table> = Arc::new(EmbeddedTable::open(&path).unwrap());
    let result = persists_across_reopen(first, |first| {
        drop(first); // release the file lock, as a restart would
        Arc::new(EmbeddedTable::open(&path).unwrap())
    })
    .await;
    result.unwrap();
}

#[tokio::test]
async fn dynamodb_adapter_passes_the_contract_on_moto() {
    let sdk = moto_sdk().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let name = unique("contract");
    create_table(&client, &name).await.unwrap();
    assert_all_pass("dynamodb", run_all(Arc::new(DynamoTable::new(client.clone(), name.clone()))).await);
    let first: Arc<dyn Table> = Arc::new(DynamoTable::new(client.clone(), name.clone()));
    persists_across_reopen(first, |_| Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), name.clone()))).await.unwrap();
}
