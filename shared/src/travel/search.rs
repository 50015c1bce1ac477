//! Flight, rail and hotel search.
