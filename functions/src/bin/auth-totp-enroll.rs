//! `POST /v1/auth/totp/enroll`: the handler lives once in the shared crate; this is wiring only.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::serve_route::<shared::handlers::route::TotpEnroll>(shared::lambda::Services::BASE.kms())
}
