//! Scheduled job: archives every audit chain to the object store as JSON Lines.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::jobs::audit_archive::run_lambda().await
}
