//! `POST /v1/auth/login`: the handler lives once in the shared crate; this is wiring only.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::serve_route::<shared::handlers::route::Login>(shared::lambda::Services::BASE.kms())
}
