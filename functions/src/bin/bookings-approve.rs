//! `POST /v1/bookings/{id}/approve`: the handler lives once in the shared crate; this is wiring only.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::serve_route::<shared::handlers::route::BookingsApprove>(shared::lambda::Services::BASE)
}
