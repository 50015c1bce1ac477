//! `DELETE /v1/users/{id}`: the handler lives once in the shared crate; this is wiring only.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::serve_route::<shared::handlers::route::UsersDeactivate>(shared::lambda::Services::BASE)
}
