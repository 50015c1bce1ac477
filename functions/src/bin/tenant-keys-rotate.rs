//! `POST /v1/tenants/{id}/keys/rotate`: the handler lives once in the shared crate; this is wiring only.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::serve_route::<shared::handlers::route::TenantKeysRotate>(shared::lambda::Services::BASE.kms())
}
