//! Compiles the shipped data into what the functions carry.
//!
//! The carbon methodology files (`data/carbon/*.json`) go in without their provenance (copies,
//! notes, rows of the source), which src/travel/carbon.rs does not read: a sixth of their size,
//! so a container that computes one figure neither maps nor parses 120 KB of notes.
//!
//! `data/airports.csv` becomes static tables (`$OUT_DIR/airports.rs`, read by
//! src/travel/airports.rs): rows of code, coordinates and where the text ends, and the text, in
//! arrays without pointers, so that the loader relocates nothing in them; and hash tables of
//! slots that find a row by code or a city's rows in one or two reads. There are two sets: the
//! airports the sandbox network serves (src/travel/network.rs) with the other airports of their
//! cities, a few KB that a search reads all of, and every other airport. In one set sorted by
//! code, a search read rows all over 600 KB of tables, and the kernel maps 64 KB around each
//! page read. Parsing the file at run time instead read all of it and built 0.6 MB of heap in
//! every container that looked up one airport.

#[path = "src/travel/airport_keys.rs"]
mod airport_keys;
#[path = "src/travel/network.rs"]
mod network;

use airport_keys::{city_key, key_hash};
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

/// Splits one CSV line, honouring double-quoted fields and their escaped quotes (`""`).
fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let field = out.last_mut().expect("there is a field");
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() => quoted = true,
            ',' if !quoted => out.push(String::new()),
            c => field.push(c),
        }
    }
    out
}

struct Airport {
    code: String,
    name: String,
    city: String,
    country: String,
    lat: f64,
    lon: f64,
}

/// A hash table of slots, a power of two at least twice the keys: each key's value plus one goes
/// in the first empty slot from its hash on (0 is empty), which is where a lookup searches.
fn slots(entries: impl Iterator<Item = (Vec<u8>, usize)>, keys: usize) -> Vec<u16> {
    let mut slots = vec![0u16; (2 * keys).next_power_of_two()];
    let mask = slots.len() - 1;
    for (key, value) in entries {
        let mut at = key_hash(&key) as usize & mask;
        while slots[at] != 0 {
            at = (at + 1) & mask;
        }
        slots[at] = u16::try_from(value + 1).expect("values fit in u16");
    }
    slots
}

/// A byte string literal of the text.
fn byte_string(text: &str) -> String {
    let escaped: String = text.bytes().map(|b| std::ascii::escape_default(b).to_string()).collect();
    format!("b\"{escaped}\"")
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| format!("{i},")).collect()
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for name in CARBON_SOURCES {
        carbon_source(&manifest.join("data/carbon").join(name), &out.join(name));
    }
    airports(&manifest, &out);
}

/// The carbon methodology files, as src/travel/carbon.rs includes them.
const CARBON_SOURCES: [&str; 2] = ["desnz-2025.json", "epa-2025.json"];
/// What src/travel/carbon.rs reads of a methodology file (`Source`) and of each factor (`Factor`).
const SOURCE_FIELDS: [&str; 9] = ["id", "name", "publisher", "document", "year", "url", "licence", "method", "factors"];
const FACTOR_FIELDS: [&str; 12] = [
    "id",
    "mode",
    "category",
    "cabin",
    "radiative_forcing",
    "country",
    "kg_co2e_per_unit",
    "co2_kg_per_unit",
    "ch4_g_per_unit",
    "n2o_g_per_unit",
    "unit",
    "verified",
];

/// Writes the methodology file at `from` to `to` with only the fields the functions read.
fn carbon_source(from: &std::path::Path, to: &std::path::Path) {
    println!("cargo::rerun-if-changed={}", from.display());
    let text = fs::read_to_string(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    let serde_json::Value::Object(mut source) = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", from.display())) else {
        panic!("{}: not an object", from.display())
    };
    source.retain(|k, _| SOURCE_FIELDS.contains(&k.as_str()));
    let Some(serde_json::Value::Array(factors)) = source.get_mut("factors") else { panic!("{}: no factors", from.display()) };
    for factor in factors.iter_mut() {
        if let serde_json::Value::Object(f) = factor {
            f.retain(|k, _| FACTOR_FIELDS.contains(&k.as_str()));
        }
    }
    fs::write(to, serde_json::Value::Object(source).to_string()).expect("OUT_DIR is writable");
}

/// The tables of one set of airports (src/travel/airports.rs, `Tables`), as statics named
/// `{name}_*` and a `Tables` named `name` over them. Each is an input section of its own, so
/// that the data layout (functions/hot-rodata.txt) can place the small ones a function reads.
fn tables(name: &str, about: &str, airports: &[Airport]) -> String {
    assert!(airports.len() < usize::from(u16::MAX), "rows are numbered in u16");
    let mut text = String::new();
    let mut rows = String::new();
    for a in airports {
        let mut end = [0usize; 3];
        for (i, part) in [&a.name, &a.city, &a.country].into_iter().enumerate() {
            text.push_str(part);
            end[i] = text.len();
        }
        let _ = write!(rows, "Row{{code:*b{:?},coords:[{:?},{:?}],ends:[{},{},{}]}},", a.code, a.lat, a.lon, end[0], end[1], end[2]);
    }
    let code_slots = slots(airports.iter().enumerate().map(|(i, a)| (a.code.clone().into_bytes(), i)), airports.len());
    let mut by_city: Vec<usize> = (0..airports.len()).filter(|&i| !airports[i].city.is_empty()).collect();
    by_city.sort_by_cached_key(|&i| (city_key(&airports[i].city), i));
    let firsts: Vec<(Vec<u8>, usize)> = (0..by_city.len())
        .filter(|&p| p == 0 || city_key(&airports[by_city[p]].city) != city_key(&airports[by_city[p - 1]].city))
        .map(|p| (city_key(&airports[by_city[p]].city).into_bytes(), p))
        .collect();
    let city_slots = slots(firsts.iter().cloned(), firsts.len());
    format!(
        "/// {about}, by code.\n\
         static {name}_ROWS: [Row; {count}] = [{rows}];\n\
         /// Each row's name, city and country in UTF-8, one after another.\n\
         static {name}_TEXT: [u8; {text_len}] = *{text_bytes};\n\
         static {name}_CODE_SLOTS: [u16; {code_slot_count}] = [{code_slots}];\n\
         static {name}_BY_CITY: [u16; {cities}] = [{by_city}];\n\
         static {name}_CITY_SLOTS: [u16; {city_slot_count}] = [{city_slots}];\n\
         pub(super) static {name}: Tables = Tables {{ rows: &{name}_ROWS, text: &{name}_TEXT, code_slots: &{name}_CODE_SLOTS, by_city: &{name}_BY_CITY, city_slots: &{name}_CITY_SLOTS }};\n",
        count = airports.len(),
        text_len = text.len(),
        text_bytes = byte_string(&text),
        code_slot_count = code_slots.len(),
        code_slots = list(&code_slots),
        cities = by_city.len(),
        by_city = list(&by_city),
        city_slot_count = city_slots.len(),
        city_slots = list(&city_slots),
    )
}

/// Writes `airports.rs` to `out` from `data/airports.csv`.
fn airports(manifest: &std::path::Path, out: &std::path::Path) {
    let source = manifest.join("data/airports.csv");
    println!("cargo::rerun-if-changed={}", source.display());
    let csv = fs::read_to_string(&source).expect("data/airports.csv is readable");

    let mut airports = Vec::new();
    for (n, line) in csv.lines().enumerate().skip(1) {
        let f = fields(line);
        assert_eq!(f.len(), 8, "data/airports.csv line {}: {} columns, not 8: {line}", n + 1, f.len());
        let code = f[0].trim();
        let (Ok(lat), Ok(lon)) = (f[5].parse::<f64>(), f[6].parse::<f64>()) else { continue };
        if code.len() != 3 || !code.is_ascii() || !lat.is_finite() || !lon.is_finite() {
            continue;
        }
        let [name, city, country] = [&f[2], &f[3], &f[4]].map(|s| s.to_string());
        airports.push(Airport { code: code.to_string(), name, city, country, lat, lon });
    }
    airports.sort_by(|a, b| a.code.cmp(&b.code));
    // A code on two lines of the file is one airport, the first (a stable sort keeps file order).
    airports.dedup_by(|a, b| a.code == b.code);
    // The network's airports and the other airports of their cities, and the rest.
    let served = |a: &Airport| network::MAJOR.contains(&a.code.as_str()) || network::HUBS.contains(&a.code.as_str());
    let served_cities: Vec<String> = airports.iter().filter(|a| served(a) && !a.city.is_empty()).map(|a| city_key(&a.city)).collect();
    let (network, others): (Vec<Airport>, Vec<Airport>) =
        airports.into_iter().partition(|a| served(a) || (!a.city.is_empty() && served_cities.contains(&city_key(&a.city))));
    let tables = format!(
        "// Generated by shared/build.rs from data/airports.csv.\n{}{}",
        tables("NETWORK", "The sandbox network's airports and the other airports of their cities", &network),
        tables("OTHERS", "Every other airport", &others),
    );
    fs::write(out.join("airports.rs"), tables).expect("OUT_DIR is writable");
}
