//! The sandbox supplier: offline and deterministic (the same query gives the same offers on any
//! machine), built on the airports file. Its rules, which the README repeats:
//!
//! - Flights. A nonstop flight serves two [`MAJOR`] airports at most [`MAX_NONSTOP_KM`] apart,
//!   or a [`HUBS`] airport and any airport within [`MAX_SPOKE_KM`] of it. One-stop itineraries
//!   connect through a hub when both legs are flights by that rule and the detour is at most
//!   [`MAX_DETOUR`] times the direct distance (the two shortest are offered). Block time is
//!   30 minutes plus distance at 800 km/h; connections take 90 minutes. Three fictional carriers.
//!   Economy costs 40 EUR plus 0.11 EUR per km, times 1.6 (premium economy), 3.2 (business) or 5
//!   (first), times 1.6 / 1.3 / 1.1 / 1.0 when booked under 7 / 14 / 30 / 30+ days ahead, within
//!   plus or minus 10 % by carrier. Premium economy and first are sold on flights over 1,500 km
//!   and 4,000 km only. A one-stop itinerary's distance and carbon are the sums over its legs.
//! - Rail. Offered between two cities whose airports are at most [`MAX_RAIL_KM`] apart on the
//!   great circle and that are in the same country or both in the connected European network
//!   ([`EUROPEAN_RAIL`], which includes Great Britain through the Channel Tunnel); rail distance
//!   is 1.2 times the great-circle distance, at 160 km/h plus 20 minutes; 20 EUR plus 0.14 EUR
//!   per km in standard class, 1.6 times that in first.
//! - Hotels. Three fictional properties per city, nightly prices by city tier ([`TIER1`]
//!   cities, other major-airport cities, everywhere else).

use super::airport_keys::{fnv1a, FNV_OFFSET};
use super::airports::{great_circle_km, Airport};
use super::money::Cents;
use super::supplier::*;
use async_trait::async_trait;

pub const MAX_NONSTOP_KM: f64 = 13_000.0;
pub const MAX_SPOKE_KM: f64 = 4_000.0;
pub const MAX_DETOUR: f64 = 1.5;
pub const MAX_RAIL_KM: f64 = 700.0;
const RAIL_FACTOR: f64 = 1.2;

pub use super::network::{HUBS, MAJOR};

/// Countries of the connected European rail network (Great Britain through the Channel Tunnel).
pub const EUROPEAN_RAIL: &[&str] =
    &["AT", "BE", "CH", "CZ", "DE", "DK", "ES", "FR", "GB", "HU", "IT", "LU", "NL", "PL", "PT", "SE", "SK", "SI", "NO"];

/// The costliest hotel cities.
pub const TIER1: &[&str] =
    &["London", "Paris", "New York", "Tokyo", "Zurich", "Geneva", "Singapore", "Hong Kong", "San Francisco", "Sydney", "Dubai", "Oslo"];

const CARRIERS: [(&str, &str); 3] = [("Aurora Skyways", "QA"), ("Meridian Air", "QM"), ("Cirrus Atlantic", "QC")];
const RAIL_OPERATORS: [&str; 2] = ["Continental Rail Express", "Lumen Intercity"];
const HOTEL_NAMES: [&str; 3] = ["Central Suites", "Harbourlight Inn", "The Meridian Lodge"];

/// FNV-1a over the parts, each followed by 0xff: the same on every machine and toolchain.
fn stable_hash(parts: &[&str]) -> u64 {
    parts.iter().fold(FNV_OFFSET, |h, p| fnv1a(h, p.bytes().chain(std::iter::once(0xff))))
}

/// A deterministic number in [-1, 1).
fn jitter(parts: &[&str]) -> f64 {
    (stable_hash(parts) % 2000) as f64 / 1000.0 - 1.0
}

fn advance_factor(days: i64) -> f64 {
    match days {
        d if d < 7 => 1.6,
        d if d < 14 => 1.3,
        d if d < 30 => 1.1,
        _ => 1.0,
    }
}

fn cabin_factor(c: Cabin) -> f64 {
    match c {
        Cabin::Economy => 1.0,
        Cabin::PremiumEconomy => 1.6,
        Cabin::Business => 3.2,
        Cabin::First => 5.0,
    }
}

fn cabin_sold(c: Cabin, longest_leg_km: f64) -> bool {
    match c {
        Cabin::PremiumEconomy => longest_leg_km > 1_500.0,
        Cabin::First => longest_leg_km > 4_000.0,
        _ => true,
    }
}

fn block_minutes(km: f64) -> u32 {
    (30.0 + km / 800.0 * 60.0).round() as u32
}

fn at(date: time::Date, minutes: u32) -> String {
    let date = date + time::Duration::days(i64::from(minutes / 1440));
    let m = minutes % 1440;
    format!("{date}T{:02}:{:02}", m / 60, m % 60)
}

pub struct SandboxSupplier;

impl SandboxSupplier {
    /// Whether a nonstop flight serves the pair.
    fn nonstop(a: &Airport, b: &Airport) -> bool {
        let km = great_circle_km(a, b);
        let (major, hub) = (|x: &Airport| MAJOR.contains(&x.iata), |x: &Airport| HUBS.contains(&x.iata));
        km > 50.0 && ((major(a) && major(b) && km <= MAX_NONSTOP_KM) || ((hub(a) || hub(b)) && km <= MAX_SPOKE_KM))
    }

    fn routings(from: Airport, to: Airport) -> Vec<Vec<(Airport, Airport)>> {
        let direct = great_circle_km(&from, &to);
        let mut out = Vec::new();
        if Self::nonstop(&from, &to) {
            out.push(vec![(from, to)]);
        }
        let mut via: Vec<(f64, Vec<(Airport, Airport)>)> = HUBS
            .iter()
            .filter(|h| **h != from.iata && **h != to.iata)
            .filter_map(|h| super::airports::find(h))
            .filter_map(|hub| {
                let total = great_circle_km(&from, &hub) + great_circle_km(&hub, &to);
                (Self::nonstop(&from, &hub) && Self::nonstop(&hub, &to) && total <= direct * MAX_DETOUR)
                    .then_some((total, vec![(from, hub), (hub, to)]))
            })
            .collect();
        via.sort_by(|x, y| x.0.total_cmp(&y.0));
        out.extend(via.into_iter().take(2).map(|(_, r)| r));
        out
    }

    /// Legs of one routing on one day for one carrier.
    fn legs(routing: &[(Airport, Airport)], date: time::Date, carrier: (&str, &str)) -> Vec<FlightLeg> {
        let key = routing.iter().map(|(a, b)| format!("{}{}", a.iata, b.iata)).collect::<String>();
        // First departure between 06:00 and 19:55, in 5-minute steps.
        let mut clock = 360 + (stable_hash(&[&key, &date.to_string(), carrier.1]) % 168) as u32 * 5;
        let mut legs = Vec::new();
        for (from, to) in routing {
            let km = great_circle_km(from, to);
            let minutes = block_minutes(km);
            let number = 100 + stable_hash(&[from.iata, to.iata, carrier.1]) % 900;
            legs.push(FlightLeg {
                carrier: carrier.0.into(),
                flight_number: format!("{}{number}", carrier.1),
                origin: from.iata.into(),
                destination: to.iata.into(),
                departs_at: at(date, clock),
                arrives_at: at(date, clock + minutes),
                distance_km: km,
                duration_minutes: minutes,
            });
            clock += minutes + 90;
        }
        legs
    }

    fn price(legs: &[FlightLeg], cabin: Cabin, days_ahead: i64, carrier: &str) -> Cents {
        let km: f64 = legs.iter().map(|l| l.distance_km).sum();
        let base = (40.0 * legs.len() as f64 + 0.11 * km) * cabin_factor(cabin) * advance_factor(days_ahead);
        Cents::from_major(base * (1.0 + 0.1 * jitter(&[carrier, &legs[0].origin, &legs[legs.len() - 1].destination, cabin.as_str()])))
    }
}

#[async_trait]
impl Supplier for SandboxSupplier {
    async fn search_flights(&self, q: &FlightQuery<'_>) -> Result<Vec<FlightItinerary>, SupplierError> {
        let (from, to) = (q.origin, q.destination);
        let (from, to): (Airport, Airport) = match (super::airports::find(from.iata), super::airports::find(to.iata)) {
            (Some(a), Some(b)) => (a, b),
            _ => return Ok(Vec::new()),
        };
        let days = (q.depart_on - q.today).whole_days();
        let mut offers = Vec::new();
        for (i, routing) in Self::routings(from, to).iter().enumerate() {
            let carrier = CARRIERS[(i + (stable_hash(&[from.iata, to.iata]) % 3) as usize) % 3];
            let mut legs = Self::legs(routing, q.depart_on, carrier);
            if let Some(back) = q.return_on {
                let reversed: Vec<(Airport, Airport)> = routing.iter().rev().map(|(a, b)| (*b, *a)).collect();
                legs.extend(Self::legs(&reversed, back, carrier));
            }
            let longest = legs.iter().map(|l| l.distance_km).fold(0.0, f64::max);
            for cabin in Cabin::ALL.into_iter().filter(|c| q.cabin.is_none_or(|w| w == *c) && cabin_sold(*c, longest)) {
                offers.push(FlightItinerary {
                    legs: legs.clone(),
                    cabin,
                    price: Self::price(&legs, cabin, days, carrier.1),
                    distance_km: legs.iter().map(|l| l.distance_km).sum(),
                    stops: routing.len() as u32 - 1,
                });
            }
        }
        Ok(offers)
    }

    async fn search_rail(&self, q: &RailQuery<'_>) -> Result<Vec<RailJourney>, SupplierError> {
        Ok(rail_journeys(q.origin, q.destination, q.depart_on, (q.depart_on - q.today).whole_days()))
    }

    async fn search_hotels(&self, q: &HotelQuery<'_>) -> Result<Vec<HotelStay>, SupplierError> {
        let nights = (q.check_out - q.check_in).whole_days().max(0) as u32;
        let city = if q.city.city.is_empty() { q.city.name } else { q.city.city };
        let base: [f64; 3] = if TIER1.contains(&city) {
            [220.0, 180.0, 140.0]
        } else if MAJOR.contains(&q.city.iata) {
            [150.0, 120.0, 90.0]
        } else {
            [110.0, 85.0, 65.0]
        };
        Ok(HOTEL_NAMES
            .iter()
            .zip(base)
            .map(|(name, nightly)| {
                let nightly = Cents::from_major(nightly * (1.0 + 0.1 * jitter(&[name, city])));
                HotelStay {
                    property: format!("{name} {city}"),
                    city: city.into(),
                    country: q.city.country.into(),
                    nights,
                    nightly,
                    price: Cents(nightly.0 * i64::from(nights)),
                }
            })
            .collect())
    }

    async fn confirm(&self, offer_id: &str) -> Result<String, SupplierError> {
        Ok(format!("SBX-{:010X}", stable_hash(&[offer_id]) % 0xFF_FFFF_FFFF))
    }

    async fn cancel(&self, _confirmation: &str) -> Result<(), SupplierError> {
        Ok(())
    }
}

/// Whether rail is a realistic alternative between two airports' cities.
pub fn rail_offered(from: &Airport, to: &Airport) -> bool {
    let connected = from.country == to.country || (EUROPEAN_RAIL.contains(&from.country) && EUROPEAN_RAIL.contains(&to.country));
    let km = great_circle_km(from, to);
    connected && km <= MAX_RAIL_KM && km > 30.0
}

fn rail_journeys(from: &Airport, to: &Airport, date: time::Date, days_ahead: i64) -> Vec<RailJourney> {
    if !rail_offered(from, to) {
        return Vec::new();
    }
    let km = great_circle_km(from, to) * RAIL_FACTOR;
    let minutes = (20.0 + km / 160.0 * 60.0).round() as u32;
    let mut out = Vec::new();
    for (i, operator) in RAIL_OPERATORS.iter().enumerate() {
        let departs = 360 + (stable_hash(&[from.iata, to.iata, operator, &date.to_string()]) % 144) as u32 * 5 + i as u32 * 120;
        let standard = (20.0 + 0.14 * km) * advance_factor(days_ahead) * (1.0 + 0.1 * jitter(&[operator, from.iata, to.iata]));
        for (class, factor) in [(RailClass::Standard, 1.0), (RailClass::First, 1.6)] {
            out.push(RailJourney {
                operator: (*operator).into(),
                origin: from.iata.into(),
                destination: to.iata.into(),
                departs_at: at(date, departs),
                arrives_at: at(date, departs + minutes),
                class,
                distance_km: km,
                duration_minutes: minutes,
                price: Cents::from_major(standard * factor),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::airports::find;
    use time::macros::date;

    fn flights(o: &str, d: &str, ret: Option<time::Date>) -> Vec<FlightItinerary> {
        let q = FlightQuery {
            origin: &find(o).unwrap(),
            destination: &find(d).unwrap(),
            depart_on: date!(2027 - 03 - 10),
            return_on: ret,
            cabin: None,
            today: date!(2027 - 01 - 01),
        };
        futures_lite(SandboxSupplier.search_flights(&q))
    }

    fn futures_lite<T>(f: impl std::future::Future<Output = Result<T, SupplierError>>) -> T {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f).unwrap()
    }

    #[test]
    fn deterministic_direct_and_one_stop_flights() {
        let a = flights("LHR", "JFK", None);
        assert_eq!(a, flights("LHR", "JFK", None), "same query, same offers");
        assert!(a.iter().any(|o| o.stops == 0) && a.iter().any(|o| o.stops == 1));
        let one_stop = a.iter().find(|o| o.stops == 1).unwrap();
        let sum: f64 = one_stop.legs.iter().map(|l| l.distance_km).sum();
        assert!((one_stop.distance_km - sum).abs() < 1e-9);
        assert!(one_stop.distance_km > a.iter().find(|o| o.stops == 0).unwrap().distance_km);
        // Business costs more than economy on the same routing.
        let eco = a.iter().find(|o| o.stops == 0 && o.cabin == Cabin::Economy).unwrap();
        let biz = a.iter().find(|o| o.stops == 0 && o.cabin == Cabin::Business).unwrap();
        assert!(biz.price > eco.price);
        // A small airport is reached through a hub only.
        let small = flights("INV", "JFK", None);
        assert!(!small.is_empty() && small.iter().all(|o| o.stops == 1), "{small:?}");
        assert!(flights("LHR", "INV", None).iter().any(|o| o.stops == 0), "a hub serves a regional airport nonstop");
        // No premium economy or first on a short hop.
        assert!(flights("LHR", "EDI", None).iter().all(|o| matches!(o.cabin, Cabin::Economy | Cabin::Business)));
        // A round trip carries both directions.
        let rt = flights("FRA", "JFK", Some(date!(2027 - 03 - 17)));
        assert!(rt.iter().all(|o| o.legs.first().unwrap().origin == "FRA" && o.legs.last().unwrap().destination == "FRA"));
    }

    /// Offers, flight numbers and confirmations are drawn from this hash: it must not change.
    #[test]
    fn the_stable_hash_is_fnv1a_with_separators() {
        assert_eq!(stable_hash(&["LHR", "JFK"]), 0xed6e_e671_b2af_108c);
        assert_eq!(stable_hash(&["SBX-offer"]), 0x2c18_10a7_3f1e_4a6c);
        assert_eq!(super::super::airport_keys::key_hash(b"LHR"), 0x255c_c019_b8de_6d11);
    }

    #[test]
    fn rail_only_where_realistic() {
        assert!(rail_offered(&find("LHR").unwrap(), &find("CDG").unwrap()), "London-Paris through the tunnel");
        assert!(rail_offered(&find("MUC").unwrap(), &find("BER").unwrap()));
        assert!(!rail_offered(&find("LHR").unwrap(), &find("JFK").unwrap()));
        assert!(!rail_offered(&find("LHR").unwrap(), &find("DUB").unwrap()), "no rail across the Irish Sea");
        assert!(!rail_offered(&find("MUC").unwrap(), &find("LIS").unwrap()), "too far");
    }
}
