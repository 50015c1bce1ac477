//! The API Gateway Lambda authorizer: verifies the bearer token at the gateway.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::authorizer::run().await
}
