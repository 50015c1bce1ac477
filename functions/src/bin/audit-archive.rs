//! Scheduled job: archives every audit chain to the object store as JSON Lines.

fn main() -> Result<(), shared::lambda::Error> {
    shared::jobs::audit_archive::serve(shared::lambda::Services::BASE.s3())
}
