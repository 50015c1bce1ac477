//! The AWS yardstick: the bare function plus one DynamoDB client, as the SDK builds it by
//! default (rustls on aws-lc), reading one item per request. Nothing of the platform: it shows
//! what any Rust function that calls AWS pays before doing anything of its own.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{service_fn, Body, Error, Request, Response};

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| Error::from(format!("set {name}")))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(env("AWS_REGION")?))
        .credentials_provider(Credentials::new(
            env("AWS_ACCESS_KEY_ID")?,
            env("AWS_SECRET_ACCESS_KEY")?,
            std::env::var("AWS_SESSION_TOKEN").ok(),
            None,
            "environment",
        ));
    if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(url);
    }
    let client = &aws_sdk_dynamodb::Client::from_conf(config.build());
    let table = &env("TABLE_NAME")?;
    lambda_http::run(service_fn(|_req: Request| async move {
        let key = AttributeValue::S("yardstick".into());
        let read = client.get_item().table_name(table).key("pk", key.clone()).key("sk", key).send().await?;
        let body = if read.item.is_some() { "{\"found\":true}" } else { "{\"found\":false}" };
        Ok::<_, Error>(Response::builder().status(200).header("content-type", "application/json").body(Body::Text(body.into()))?)
    }))
    .await
}
