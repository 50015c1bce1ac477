//! Airports from `shared/data/airports.csv` (MIT, see airports.LICENSE beside it), parsed once,
//! and great-circle distances between them.
//!
//! The index borrows its text from the file compiled into the binary: about 80 bytes per airport
//! on the heap (0.6 MB for the file's 7,884), where owned strings in a hash map took 4.7 MB.

use std::sync::OnceLock;

const CSV: &str = include_str!("../../data/airports.csv");
/// Mean Earth radius (IUGG), km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

#[derive(Debug, Clone, PartialEq)]
pub struct Airport {
    pub iata: &'static str,
    pub name: &'static str,
    pub city: &'static str,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
}

/// Splits one CSV line, honouring double-quoted fields; a field is borrowed from the line
/// unless it holds an escaped quote (`""`, one airport in the file), which is unescaped once.
fn fields(line: &'static str) -> Vec<&'static str> {
    let mut out = Vec::with_capacity(8);
    let mut rest = line;
    loop {
        let (field, after) = match rest.strip_prefix('"') {
            Some(quoted) => {
                let mut end = 0;
                let bytes = quoted.as_bytes();
                while end < bytes.len() {
                    if bytes[end] == b'"' {
                        if bytes.get(end + 1) == Some(&b'"') {
                            end += 2;
                            continue;
                        }
                        break;
                    }
                    end += 1;
                }
                let raw = &quoted[..end.min(quoted.len())];
                let field: &'static str = if raw.contains("\"\"") { Box::leak(raw.replace("\"\"", "\"").into_boxed_str()) } else { raw };
                (field, quoted.get(end + 1..).unwrap_or(""))
            }
            None => match rest.find(',') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            },
        };
        out.push(field);
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => return out,
        }
    }
}

/// Every airport with a three-letter code, sorted by it.
fn index() -> &'static [Airport] {
    static INDEX: OnceLock<Vec<Airport>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut all: Vec<Airport> = CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let f = fields(line);
                let (lat, lon) = (f.get(5)?.parse().ok()?, f.get(6)?.parse().ok()?);
                let iata = f.first()?.trim();
                (iata.len() == 3).then(|| Airport { iata, name: f[2], city: f[3], country: f[4], lat, lon })
            })
            .collect();
        all.sort_by(|a, b| a.iata.cmp(b.iata));
        all
    })
}

/// The airport with this IATA code (case-insensitive).
pub fn find(iata: &str) -> Option<&'static Airport> {
    let code = iata.trim().to_ascii_uppercase();
    let all = index();
    all.binary_search_by(|a| a.iata.cmp(code.as_str())).ok().map(|i| &all[i])
}

/// Airports of a city by name (case-insensitive), sorted by code.
pub fn in_city(city: &str) -> Vec<&'static Airport> {
    let wanted = city.trim().to_lowercase();
    index().iter().filter(|a| !a.city.is_empty() && a.city.chars().flat_map(char::to_lowercase).eq(wanted.chars())).collect()
}

/// Great-circle distance in km (haversine).
pub fn great_circle_km(a: &Airport, b: &Airport) -> f64 {
    let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
    let dp = (b.lat - a.lat).to_radians();
    let dl = (b.lon - a.lon).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_file_and_measures_known_routes() {
        assert!(index().len() > 7000);
        let lhr = find("lhr").unwrap();
        assert_eq!((lhr.city, lhr.country), ("London", "GB"));
        let jfk = find("JFK").unwrap();
        // London Heathrow - New York JFK is about 5,540 km great-circle.
        let d = great_circle_km(lhr, jfk);
        assert!((5530.0..5560.0).contains(&d), "{d}");
        assert_eq!(great_circle_km(lhr, lhr), 0.0);
        assert!(find("ZZZZ").is_none());
        // Quoted names with commas parse, and escaped quotes are unescaped.
        assert_eq!(find("AAP").unwrap().city, "Samarinda, Borneo Island");
        assert_eq!(find("PAQ").unwrap().name, "Warren \"Bud\" Woods Palmer Municipal Airport");
        assert_eq!(find("PAQ").unwrap().city, "Palmer");
        assert!(in_city("paris").iter().any(|a| a.iata == "CDG"));
        assert!(in_city(" PARIS ").iter().any(|a| a.iata == "ORY"));
        // Airports without a city are never found by city.
        assert!(in_city("").is_empty());
    }

    #[test]
    fn every_line_of_the_file_splits_into_its_eight_columns() {
        for line in CSV.lines() {
            assert_eq!(fields(line).len(), 8, "{line}");
        }
    }
}
