//! `POST /v1/bookings/{id}/reject`: the handler lives once in the shared crate; this is wiring only.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_route("bookings-reject").await
}
