//! `GET /v1/audit/verify`: the handler lives once in the shared crate; this is wiring only.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_route("audit-verify").await
}
