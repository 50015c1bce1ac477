//! `GET /v1/me/profile`: the handler lives once in the shared crate; this is wiring only.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::serve_route::<shared::handlers::route::ProfileMeGet>(shared::lambda::Services::BASE.kms())
}
