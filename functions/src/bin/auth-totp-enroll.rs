//! `POST /v1/auth/totp/enroll`: the handler lives once in the shared crate; this is wiring only.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_route("auth-totp-enroll").await
}
