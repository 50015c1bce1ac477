//! Scheduled job: re-encrypts tenants' sealed data after a key rotation.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::jobs::reencrypt::run_lambda().await
}
