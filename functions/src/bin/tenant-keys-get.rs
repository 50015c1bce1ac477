//! `GET /v1/tenants/{id}/keys`: the handler lives once in the shared crate; this is wiring only.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::serve_route::<shared::handlers::route::TenantKeysGet>(shared::lambda::Services::BASE)
}
