//! The API Gateway Lambda authorizer: verifies the bearer token at the gateway.

fn main() -> Result<(), shared::lambda::Error> {
    shared::authorizer::serve(shared::lambda::Services::BASE)
}
