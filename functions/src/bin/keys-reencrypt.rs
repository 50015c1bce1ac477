//! Scheduled job: re-encrypts tenants' sealed data after a key rotation.

fn main() -> Result<(), shared::lambda::Error> {
    shared::jobs::reencrypt::serve(shared::lambda::Services::BASE.kms())
}
