//! `POST /v1/bookings/{id}/reject`: the handler lives once in the shared crate; this is wiring only.

fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::serve_route::<shared::handlers::route::BookingsReject>(shared::lambda::Services::BASE)
}
