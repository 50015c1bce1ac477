//! The DynamoDB table adapter (aws-sdk-dynamodb; item bodies converted with serde_dynamo).

use super::embedded::last_key;
use super::keys::INDEX_NAME;
use super::{BodyPart, Condition, IndexKey, Item, Key, QuerySpec, RawPage, SortRange, StoreError, StoreResult, Table, Write};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;

type Attrs = HashMap<String, AttributeValue>;

/// How often a batch read asks again for the keys DynamoDB left unprocessed (it does so under
/// throttling), waiting 25 ms, then 50, 100...; then the read fails as unavailable.
const BATCH_GET_RETRIES: u32 = 5;

pub struct DynamoTable {
    client: Client,
    table: String,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// A strongly consistent GetItem, whole or with a projection (expression and names).
    async fn get_item(&self, key: &Key, projection: Option<(String, HashMap<String, String>)>) -> StoreResult<Option<Attrs>> {
        let (expression, names) = projection.unzip();
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .set_projection_expression(expression)
            .set_expression_attribute_names(names)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.item)
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([("pk".to_string(), s(key.pk())), ("sk".to_string(), s(key.sk()))])
}

fn to_attrs(item: &Item) -> StoreResult<Attrs> {
    let mut attrs = key_attrs(&item.key);
    if let Some(i) = &item.index {
        attrs.insert("gsi1pk".into(), s(i.pk()));
        attrs.insert("gsi1sk".into(), s(i.sk()));
    }
    attrs.insert("version".into(), AttributeValue::N(item.version.to_string()));
    if let Some(t) = item.expires_at {
        attrs.insert("expires_at".into(), AttributeValue::N(t.to_string()));
    }
    let body: AttributeValue = serde_dynamo::to_attribute_value(&item.body).map_err(|e| StoreError::Other(e.to_string()))?;
    attrs.insert("body".into(), body);
    Ok(attrs)
}

fn string_attr(attrs: &Attrs, name: &str) -> Option<String> {
    attrs.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn number_attr(attrs: &Attrs, name: &str) -> Option<i64> {
    attrs.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

fn from_attrs(mut attrs: Attrs) -> StoreResult<Item> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("item without {what}"));
    let pk = string_attr(&attrs, "pk").ok_or_else(|| corrupt("pk"))?;
    let sk = string_attr(&attrs, "sk").ok_or_else(|| corrupt("sk"))?;
    let index = match (string_attr(&attrs, "gsi1pk"), string_attr(&attrs, "gsi1sk")) {
        (Some(p), Some(s)) => Some(IndexKey::from_stored(p, s)),
        _ => None,
    };
    let version = number_attr(&attrs, "version").ok_or_else(|| corrupt("version"))? as u64;
    let expires_at = number_attr(&attrs, "expires_at");
    let body = attrs.remove("body").ok_or_else(|| corrupt("body"))?;
    let body = serde_dynamo::from_attribute_value(body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Item { key: Key::from_stored(pk, sk), index, version, expires_at, body })
}

/// A ProjectionExpression for the item attributes `from_attrs` needs plus `parts` of the body,
/// with every name behind a placeholder (no clash with DynamoDB's reserved words).
fn projection(parts: &[BodyPart<'_>]) -> (String, HashMap<String, String>) {
    const ITEM: [&str; 6] = ["pk", "sk", "gsi1pk", "gsi1sk", "version", "expires_at"];
    let mut paths: Vec<String> = (0..ITEM.len()).map(|i| format!("#a{i}")).collect();
    let mut names: HashMap<String, String> = paths.iter().cloned().zip(ITEM.iter().map(|a| a.to_string())).collect();
    if !parts.is_empty() {
        names.insert("#body".into(), "body".into()); // only when used: DynamoDB refuses unused names
    }
    for (i, part) in parts.iter().enumerate() {
        let (name, entry) = match *part {
            BodyPart::Field(name) => (name, None),
            BodyPart::Entry(name, key) => (name, Some(key)),
        };
        names.insert(format!("#p{i}"), name.to_string());
        match entry {
            None => paths.push(format!("#body.#p{i}")),
            Some(key) => {
                names.insert(format!("#k{i}"), key.to_string());
                paths.push(format!("#body.#p{i}.#k{i}"));
            }
        }
    }
    (paths.join(", "), names)
}

/// The condition expression and its values, or nothing for an unconditional write.
fn condition_expr(condition: Condition) -> Option<(String, Option<(String, AttributeValue)>)> {
    match condition {
        Condition::None => None,
        Condition::NotExists => Some(("attribute_not_exists(pk)".into(), None)),
        Condition::Exists => Some(("attribute_exists(pk)".into(), None)),
        Condition::Version(v) => Some((
            "attribute_exists(pk) AND #version = :expected_version".into(),
            Some((":expected_version".into(), AttributeValue::N(v.to_string()))),
        )),
        // `expires_at` is written only with a value (see `to_attrs`), so "expired" is a comparison.
        Condition::AbsentOrExpired(now) => {
            Some(("attribute_not_exists(pk) OR expires_at < :now".into(), Some((":now".into(), AttributeValue::N(now.to_string())))))
        }
    }
}

/// A condition as the SDK builders take it: expression, values and names (all optional).
struct ConditionParts {
    expression: Option<String>,
    values: Option<HashMap<String, AttributeValue>>,
    names: Option<HashMap<String, String>>,
}

fn condition_parts(condition: Condition) -> ConditionParts {
    let names = matches!(condition, Condition::Version(_)).then(|| HashMap::from([("#version".to_string(), "version".to_string())]));
    match condition_expr(condition) {
        None => ConditionParts { expression: None, values: None, names: None },
        Some((expr, value)) => ConditionParts { expression: Some(expr), values: value.map(|(k, v)| HashMap::from([(k, v)])), names },
    }
}

fn sdk_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = e.as_service_error().and_then(|s| s.code()).unwrap_or_default().to_string();
    match code.as_str() {
        "ConditionalCheckFailedException" => StoreError::ConditionFailed,
        "TransactionCanceledException" => {
            let text = format!("{}", DisplayErrorContext(&e));
            if text.contains("ConditionalCheckFailed") {
                StoreError::ConditionFailed
            } else if text.contains("TransactionConflict") {
                StoreError::Contended(text)
            } else {
                StoreError::Unavailable(text)
            }
        }
        _ => StoreError::Unavailable(format!("{}", DisplayErrorContext(&e))),
    }
}

fn transact_item(table: &str, w: &Write) -> StoreResult<TransactWriteItem> {
    let build_err = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Other(e.to_string());
    let item = match w {
        Write::Put { item, condition } => {
            let c = condition_parts(*condition);
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(to_attrs(item)?))
                .set_condition_expression(c.expression)
                .set_expression_attribute_values(c.values)
                .set_expression_attribute_names(c.names);
            TransactWriteItem::builder().put(put.build().map_err(build_err)?)
        }
        Write::Delete { key, condition } => {
            let c = condition_parts(*condition);
            let delete = Delete::builder()
                .table_name(table)
                .set_key(Some(key_attrs(key)))
                .set_condition_expression(c.expression)
                .set_expression_attribute_values(c.values)
                .set_expression_attribute_names(c.names);
            TransactWriteItem::builder().delete(delete.build().map_err(build_err)?)
        }
        Write::Check { key, condition } => {
            // A check needs an expression; "no condition" is one that always holds.
            let mut c = condition_parts(*condition);
            c.expression.get_or_insert_with(|| "attribute_exists(pk) OR attribute_not_exists(pk)".into());
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key_attrs(key)))
                .set_condition_expression(c.expression)
                .set_expression_attribute_values(c.values)
                .set_expression_attribute_names(c.names);
            TransactWriteItem::builder().condition_check(check.build().map_err(build_err)?)
        }
    };
    Ok(item.build())
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.get_item(key, None).await?.map(from_attrs).transpose()
    }

    async fn get_parts(&self, key: &Key, parts: &[BodyPart<'_>]) -> StoreResult<Option<Item>> {
        // A body none of whose parts exist is not returned at all: it is an empty body.
        self.get_item(key, Some(projection(parts)))
            .await?
            .map(|mut attrs| {
                attrs.entry("body".into()).or_insert_with(|| AttributeValue::M(HashMap::new()));
                from_attrs(attrs)
            })
            .transpose()
    }

    async fn get_many(&self, keys: &[Key]) -> StoreResult<Vec<Option<Item>>> {
        // BatchGetItem refuses a key given twice, and answers in no particular order.
        let mut wanted: Vec<Attrs> = Vec::with_capacity(keys.len());
        for key in keys {
            let attrs = key_attrs(key);
            if !wanted.contains(&attrs) {
                wanted.push(attrs);
            }
        }
        let mut found: HashMap<(String, String), Item> = HashMap::with_capacity(wanted.len());
        let mut attempt = 0;
        while !wanted.is_empty() {
            if attempt > 0 {
                if attempt > BATCH_GET_RETRIES {
                    return Err(StoreError::Unavailable(format!(
                        "{} keys still unprocessed after {BATCH_GET_RETRIES} retries",
                        wanted.len()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(25 << (attempt - 1))).await;
            }
            attempt += 1;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut wanted)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Other(e.to_string()))?;
            let out = self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(sdk_error)?;
            for attrs in out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                let item = from_attrs(attrs)?;
                found.insert((item.key.pk().to_string(), item.key.sk().to_string()), item);
            }
            wanted = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
        }
        Ok(keys.iter().map(|key| found.get(&(key.pk().to_string(), key.sk().to_string())).cloned()).collect())
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        let c = condition_parts(condition);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&item)?))
            .set_condition_expression(c.expression)
            .set_expression_attribute_values(c.values)
            .set_expression_attribute_names(c.names)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        let c = condition_parts(condition);
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .set_condition_expression(c.expression)
            .set_expression_attribute_values(c.values)
            .set_expression_attribute_names(c.names)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let items = writes.iter().map(|w| transact_item(&self.table, w)).collect::<StoreResult<Vec<_>>>()?;
        self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn query(&self, spec: QuerySpec) -> StoreResult<RawPage> {
        let (pk_name, sk_name) = if spec.partition.on_index() { ("gsi1pk", "gsi1sk") } else { ("pk", "sk") };
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(spec.partition.pk()))
            .scan_index_forward(spec.forward)
            // One more than asked, to know whether another page exists without a second call.
            .limit(spec.limit as i32 + 1);
        req = match &spec.range {
            SortRange::All => req.key_condition_expression("#pk = :pk"),
            SortRange::Prefix(p) => req
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":prefix", s(p)),
            SortRange::Between(a, b) => req
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":low", s(a))
                .expression_attribute_values(":high", s(b)),
        };
        if spec.partition.on_index() {
            req = req.index_name(INDEX_NAME);
        } else {
            req = req.consistent_read(true);
        }
        if let Some(last) = &spec.start_after {
            let mut start = HashMap::from([("pk".to_string(), s(&last.pk)), ("sk".to_string(), s(&last.sk))]);
            if let (Some(ipk), Some(isk)) = (&last.ipk, &last.isk) {
                start.insert("gsi1pk".into(), s(ipk));
                start.insert("gsi1sk".into(), s(isk));
            }
            req = req.set_exclusive_start_key(Some(start));
        }
        let out = req.send().await.map_err(sdk_error)?;
        // DynamoDB also ends a page at 1 MB, before the limit: then it says where it stopped.
        let stopped_early = out.last_evaluated_key.is_some();
        let mut items = out.items.unwrap_or_default().into_iter().map(from_attrs).collect::<StoreResult<Vec<_>>>()?;
        let more = items.len() > spec.limit as usize || stopped_early;
        items.truncate(spec.limit as usize);
        let last = if more { items.last().map(last_key) } else { None };
        Ok(RawPage { items, last })
    }
}

/// Creates the table with the same key schema and index as template.yaml (tests and tools).
pub async fn create_table(client: &Client, table: &str) -> Result<(), String> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    };
    let attr = |n: &str| {
        AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build().map_err(|e| e.to_string())
    };
    let key = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build().map_err(|e| e.to_string());
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .attribute_definitions(attr("gsi1pk")?)
        .attribute_definitions(attr("gsi1sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(INDEX_NAME)
                .key_schema(key("gsi1pk", KeyType::Hash)?)
                .key_schema(key("gsi1sk", KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| format!("{}", DisplayErrorContext(&e)))?;
    Ok(())
}
