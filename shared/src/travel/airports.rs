//! Airports from `shared/data/airports.csv` (MIT, see airports.LICENSE beside it) and
//! great-circle distances between them.
//!
//! shared/build.rs compiles the file into static tables without pointers (rows of code,
//! coordinates and text ends; the text; hash tables by code and by city): a lookup reads a few
//! pages of them and builds the [`Airport`] it returns, which borrows its text from the tables.
//! The sandbox network's airports, with the other airports of their cities, have tables of their
//! own, a few KB that a search reads all of.

use super::airport_keys::{city_key, key_hash};

/// One airport in the compiled tables; its text starts where the row before it ends.
struct Row {
    code: [u8; 3],
    coords: [f64; 2],
    /// Where its name, city and country end in its table's text.
    ends: [u32; 3],
}

/// The compiled tables of one set of airports. A city's airports are all in one set.
struct Tables {
    /// By code.
    rows: &'static [Row],
    text: &'static [u8],
    /// A row plus one, in the first slot from its code's hash on that is free (0 is free).
    code_slots: &'static [u16],
    /// The rows with a city, by `city_key` of the city, then by code.
    by_city: &'static [u16],
    /// Where a city's rows start in `by_city`, plus one, in the first slot from its key's hash on.
    city_slots: &'static [u16],
}

mod table {
    use super::{Row, Tables};
    include!(concat!(env!("OUT_DIR"), "/airports.rs"));
}

/// Both sets, the network's first.
const SETS: [&Tables; 2] = [&table::NETWORK, &table::OTHERS];

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
    SETS.iter().map(|t| t.rows.len()).sum()
}

/// The value of the first slot from `key`'s hash on that `is_it` accepts; an empty slot ends
/// the search (the build leaves at least half the slots empty).
fn search(slots: &[u16], key: &[u8], is_it: impl Fn(usize) -> bool) -> Option<usize> {
    let mask = slots.len().checked_sub(1)?;
    let mut at = key_hash(key) as usize & mask;
    loop {
        let value = usize::from(*slots.get(at)?).checked_sub(1)?;
        if is_it(value) {
            return Some(value);
        }
        at = (at + 1) & mask;
    }
}

impl Tables {
    /// The airport in row `i`.
    fn airport(&self, i: usize) -> Option<Airport> {
        let row = self.rows.get(i)?;
        let [name, city, country] = row.ends.map(|end| end as usize);
        let start = i.checked_sub(1).map_or(0, |p| self.rows[p].ends[2] as usize);
        let text = |from: usize, to: usize| self.text.get(from..to).and_then(|t| std::str::from_utf8(t).ok()).unwrap_or_default();
        Some(Airport {
            iata: std::str::from_utf8(&row.code).unwrap_or_default(),
            name: text(start, name),
            city: text(name, city),
            country: text(city, country),
            lat: row.coords[0],
            lon: row.coords[1],
        })
    }

    fn find(&self, code: [u8; 3]) -> Option<Airport> {
        search(self.code_slots, &code, |row| self.rows.get(row).is_some_and(|r| r.code == code)).and_then(|row| self.airport(row))
    }

    /// The airports of the city with key `wanted`, by code.
    fn in_city(&self, wanted: &str) -> Vec<Airport> {
        let city_of = |position: usize| self.by_city.get(position).and_then(|&row| self.airport(usize::from(row)));
        let is_wanted = |a: &Airport| a.city.chars().flat_map(char::to_lowercase).eq(wanted.chars());
        let Some(first) = search(self.city_slots, wanted.as_bytes(), |p| city_of(p).is_some_and(|a| is_wanted(&a))) else {
            return Vec::new();
        };
        (first..).map_while(city_of).take_while(is_wanted).collect()
    }
}

/// The airport with this IATA code (case-insensitive).
pub fn find(iata: &str) -> Option<Airport> {
    let code: [u8; 3] = iata.trim().to_ascii_uppercase().as_bytes().try_into().ok()?;
    SETS.iter().find_map(|t| t.find(code))
}

/// Airports of a city by name (case-insensitive), sorted by code.
pub fn in_city(city: &str) -> Vec<Airport> {
    let wanted = city_key(city.trim());
    SETS.iter().map(|t| t.in_city(&wanted)).find(|found| !found.is_empty()).unwrap_or_default()
}

/// Great-circle distance in km (haversine). The trigonometry is the `libm` crate's, pure Rust:
/// the same distance, and so the same prices and carbon figures, on every machine, where the
/// platform's libm may differ in the last bit (and glibc's maps 250 KB of tables to compute it).
pub fn great_circle_km(a: &Airport, b: &Airport) -> f64 {
    use libm::{asin, cos, sin};
    let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
    let dp = (b.lat - a.lat).to_radians();
    let dl = (b.lon - a.lon).to_radians();
    let h = sin(dp / 2.0).powi(2) + cos(p1) * cos(p2) * sin(dl / 2.0).powi(2);
    2.0 * EARTH_RADIUS_KM * asin(h.sqrt())
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

    /// The network's airports are in the small set a search reads (shared/build.rs).
    #[test]
    fn the_network_airports_have_tables_of_their_own() {
        use crate::travel::network::{HUBS, MAJOR};
        let served: std::collections::BTreeSet<&str> = MAJOR.iter().chain(HUBS).copied().collect();
        let network: std::collections::BTreeSet<&str> =
            (0..table::NETWORK.rows.len()).filter_map(|i| table::NETWORK.airport(i)).map(|a| a.iata).collect();
        assert!(served.is_subset(&network));
        // With the other airports of their cities: a city's airports are all in one set.
        assert!(network.contains("ORY") && network.contains("LCY") && !network.contains("INV"), "{network:?}");
        assert!(network.len() < 300, "{}", network.len());
        let cities = |t: &Tables| -> std::collections::BTreeSet<String> {
            (0..t.rows.len()).filter_map(|i| t.airport(i)).map(|a| city_key(a.city)).filter(|c| !c.is_empty()).collect()
        };
        assert!(cities(&table::NETWORK).is_disjoint(&cities(&table::OTHERS)));
        assert!(served.iter().all(|code| find(code).is_some_and(|a| a.iata == *code)));
    }

    /// Finding by city gives what a scan of every airport gives, in code order.
    #[test]
    fn finding_by_city_agrees_with_a_scan() {
        let all: Vec<Airport> = SETS.iter().flat_map(|t| (0..t.rows.len()).filter_map(|i| t.airport(i))).collect();
        assert_eq!(all.len(), count());
        for city in ["Paris", "london", "New York", "São Paulo", "Samarinda, Borneo Island", "nowhere"] {
            let wanted = city.to_lowercase();
            let mut scan: Vec<&str> = all.iter().filter(|a| !a.city.is_empty() && city_key(a.city) == wanted).map(|a| a.iata).collect();
            scan.sort();
            let found: Vec<&str> = in_city(city).iter().map(|a| a.iata).collect();
            assert_eq!(found, scan, "{city}");
            assert!(found.is_sorted(), "{city}");
        }
        assert!(!in_city("London").is_empty());
    }
}
