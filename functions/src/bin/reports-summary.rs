//! `GET /v1/reports/summary`: the handler lives once in the shared crate; this is wiring only.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_route("reports-summary").await
}
