//! Airports from `shared/data/airports.csv` (MIT, see airports.LICENSE beside it), parsed once,
//! and great-circle distances between them.

use std::collections::HashMap;
use std::sync::OnceLock;

const CSV: &str = include_str!("../../data/airports.csv");
/// Mean Earth radius (IUGG), km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

#[derive(Debug, Clone, PartialEq)]
pub struct Airport {
    pub iata: String,
    pub name: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub lat: f64,
    pub lon: f64,
}

/// Splits one CSV line, honouring double-quoted fields.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn index() -> &'static HashMap<String, Airport> {
    static INDEX: OnceLock<HashMap<String, Airport>> = OnceLock::new();
    INDEX.get_or_init(|| {
        CSV.lines()
            .skip(1)
            .filter_map(|line| {
                let f = fields(line);
                let (lat, lon) = (f.get(5)?.parse().ok()?, f.get(6)?.parse().ok()?);
                let iata = f.first()?.trim().to_string();
                (iata.len() == 3)
                    .then(|| (iata.clone(), Airport { iata, name: f[2].clone(), city: f[3].clone(), country: f[4].clone(), lat, lon }))
            })
            .collect()
    })
}

/// The airport with this IATA code (case-insensitive).
pub fn find(iata: &str) -> Option<&'static Airport> {
    index().get(&iata.trim().to_ascii_uppercase())
}

/// Airports of a city by name (case-insensitive), largest-code-first order is irrelevant: sorted by code.
pub fn in_city(city: &str) -> Vec<&'static Airport> {
    let wanted = city.trim().to_lowercase();
    let mut found: Vec<&Airport> = index().values().filter(|a| !a.city.is_empty() && a.city.to_lowercase() == wanted).collect();
    found.sort_by(|a, b| a.iata.cmp(&b.iata));
    found
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
        assert_eq!((lhr.city.as_str(), lhr.country.as_str()), ("London", "GB"));
        let jfk = find("JFK").unwrap();
        // London Heathrow - New York JFK is about 5,540 km great-circle.
        let d = great_circle_km(lhr, jfk);
        assert!((5530.0..5560.0).contains(&d), "{d}");
        assert_eq!(great_circle_km(lhr, lhr), 0.0);
        assert!(find("ZZZZ").is_none());
        // Quoted names with commas parse.
        assert_eq!(find("AAP").unwrap().city, "Samarinda, Borneo Island");
        assert!(in_city("paris").iter().any(|a| a.iata == "CDG"));
    }
}
