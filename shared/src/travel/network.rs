//! The sandbox supplier's flight network: which airports it serves directly and connects
//! through. Its own module because shared/build.rs reads it too: these airports, with the
//! other airports of their cities, get compiled tables of their own (src/travel/airports.rs),
//! the few KB a search reads.

/// Major airports: served directly between one another.
pub const MAJOR: &[&str] = &[
    "AMS", "ARN", "ATH", "ATL", "BCN", "BER", "BKK", "BOM", "BOS", "BRU", "CDG", "CPH", "DEL", "DEN", "DFW", "DOH", "DUB", "DUS", "DXB",
    "EDI", "EWR", "FCO", "FRA", "GVA", "HAM", "HEL", "HKG", "HND", "IAD", "ICN", "IST", "JFK", "JNB", "LAX", "LGW", "LHR", "LIS", "LYS",
    "MAD", "MAN", "MEL", "MEX", "MIA", "MUC", "MXP", "NCE", "NRT", "ORD", "OSL", "PEK", "PRG", "PVG", "SEA", "SFO", "SIN", "STR", "SYD",
    "VIE", "WAW", "YUL", "YVR", "YYZ", "ZRH", "GRU", "CPT", "SCL", "AKL", "KUL", "CGN", "BUD",
];

/// Connecting hubs for one-stop itineraries.
pub const HUBS: &[&str] = &["AMS", "ATL", "CDG", "DFW", "DOH", "DXB", "FRA", "HKG", "IST", "JFK", "LHR", "MUC", "ORD", "SIN", "ZRH", "LAX"];
