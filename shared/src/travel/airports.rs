//! Airports from `shared/data/airports.csv` (MIT, see airports.LICENSE beside it) and
//! great-circle distances between them.
//!
//! shared/build.rs compiles the file into static tables without pointers (codes, coordinates,
//! text): a lookup reads a few pages of them and builds the [`Airport`] it returns, which
//! borrows its text from the tables. Parsing the file at run time read all 620 KB of it and
//! built 0.6 MB of heap in every container that looked up one airport.

mod table {
    include!(concat!(env!("OUT_DIR"), "/airports.rs"));
}

/// Mean Earth radius (IUGG), km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Airport {
    pub iata: &'static str,
    pub name: &'static str,
    pub city: &'static str,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
}

/// How many airports have a three-letter code.
pub fn count() -> usize {
    table::COUNT
}

/// The airport at `i` in the tables (sorted by code).
fn airport(i: usize) -> Option<Airport> {
    let [name, city, country] = table::ENDS.get(i)?.map(|end| end as usize);
    let start = i.checked_sub(1).map_or(0, |p| table::ENDS[p][2] as usize);
    let text = |from: usize, to: usize| table::TEXT.get(from..to).unwrap_or_default();
    Some(Airport {
        iata: std::str::from_utf8(&table::CODES[i]).unwrap_or_default(),
        name: text(start, name),
        city: text(name, city),
        country: text(city, country),
        lat: table::COORDS[i][0],
        lon: table::COORDS[i][1],
    })
}

/// The airport with this IATA code (case-insensitive).
pub fn find(iata: &str) -> Option<Airport> {
    let code: [u8; 3] = iata.trim().to_ascii_uppercase().as_bytes().try_into().ok()?;
    table::CODES.binary_search(&code).ok().and_then(airport)
}

/// The key [`in_city`] compares cities by (as shared/build.rs sorts them).
fn city_key(city: &str) -> String {
    city.chars().flat_map(char::to_lowercase).collect()
}

/// Airports of a city by name (case-insensitive), sorted by code.
pub fn in_city(city: &str) -> Vec<Airport> {
    let wanted = city.trim().to_lowercase();
    let key_at = |i: u16| airport(usize::from(i)).map(|a| city_key(a.city)).unwrap_or_default();
    let first = table::BY_CITY.partition_point(|&i| key_at(i) < wanted);
    table::BY_CITY[first..].iter().take_while(|&&i| key_at(i) == wanted).filter_map(|&i| airport(usize::from(i))).collect()
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
        assert!(count() > 7000);
        let lhr = find("lhr").unwrap();
        assert_eq!((lhr.city, lhr.country), ("London", "GB"));
        let jfk = find("JFK").unwrap();
        // London Heathrow - New York JFK is about 5,540 km great-circle.
        let d = great_circle_km(&lhr, &jfk);
        assert!((5530.0..5560.0).contains(&d), "{d}");
        assert_eq!(great_circle_km(&lhr, &lhr), 0.0);
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

    const CSV: &str = include_str!("../../data/airports.csv");

    /// Every airport of the file without quoted fields, looked up by its code, has the file's
    /// name, city, country and coordinates (the quoted ones are checked above).
    #[test]
    fn the_compiled_tables_hold_what_the_file_says() {
        let mut lines_of = std::collections::HashMap::new();
        for line in CSV.lines().skip(1) {
            *lines_of.entry(line.split(',').next().unwrap_or_default()).or_insert(0) += 1;
        }
        let mut checked = 0;
        for line in CSV.lines().skip(1).filter(|l| !l.contains('"')) {
            let f: Vec<&str> = line.split(',').collect();
            let (Ok(lat), Ok(lon)) = (f[5].parse::<f64>(), f[6].parse::<f64>()) else { continue };
            // A code on two lines is one airport in the tables; the file says which is which.
            if f[0].len() != 3 || lines_of[f[0]] > 1 {
                continue;
            }
            let a = find(f[0]).unwrap_or_else(|| panic!("{line}"));
            assert_eq!((a.iata, a.name, a.city, a.country, a.lat, a.lon), (f[0], f[2], f[3], f[4], lat, lon), "{line}");
            checked += 1;
        }
        assert!(checked > 7000, "{checked}");
    }

    /// Finding by city gives what a scan of every airport gives, in code order.
    #[test]
    fn finding_by_city_agrees_with_a_scan() {
        let all: Vec<Airport> = (0..count()).filter_map(airport).collect();
        for city in ["Paris", "london", "New York", "São Paulo", "Samarinda, Borneo Island", "nowhere"] {
            let wanted = city.to_lowercase();
            let scan: Vec<&str> = all.iter().filter(|a| !a.city.is_empty() && city_key(a.city) == wanted).map(|a| a.iata).collect();
            let found: Vec<&str> = in_city(city).iter().map(|a| a.iata).collect();
            assert_eq!(found, scan, "{city}");
            assert!(found.is_sorted(), "{city}");
        }
        assert!(!in_city("London").is_empty());
    }
}
