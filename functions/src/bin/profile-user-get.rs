//! `GET /v1/users/{id}/profile`: the handler lives once in the shared crate; this is wiring only.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::serve_route::<shared::handlers::route::ProfileUserGet>(shared::lambda::Services::BASE.kms())
}
