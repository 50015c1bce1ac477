//! `GET /v1/health`: the handler lives once in the shared crate; this is wiring only.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::serve_route::<shared::handlers::route::Health>(shared::lambda::Services::BASE)
}
