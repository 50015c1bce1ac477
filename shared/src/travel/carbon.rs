//! Carbon methodologies: each a data file under `shared/data/carbon/` naming its source, with
//! the source's own method applied (see the README there). A company chooses one; every offer
//! and booking records the methodology and the factor ids its figure came from, so it can be
//! traced and recomputed.

use super::airports::Airport;
use super::supplier::Cabin;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::OnceLock;
use thiserror::Error;

// As shared/build.rs writes them: the files of shared/data/carbon without their provenance.
const DESNZ_2025: &str = include_str!(concat!(env!("OUT_DIR"), "/desnz-2025.json"));
const EPA_2025: &str = include_str!(concat!(env!("OUT_DIR"), "/epa-2025.json"));

/// The default: DESNZ 2025 with radiative forcing.
pub const DEFAULT_METHODOLOGY: &str = "desnz-2025";
/// One end of a DESNZ "to/from UK" flight in the UK: these country codes.
const UK: [&str; 4] = ["GB", "GG", "IM", "JE"];
/// Our approximation of DESNZ's haul table: short haul under this distance.
const DESNZ_SHORT_HAUL_KM: f64 = 3700.0;
const KM_PER_MILE: f64 = 1.609344;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Factor {
    pub id: String,
    pub mode: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub cabin: Option<String>,
    #[serde(default)]
    pub radiative_forcing: Option<bool>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub kg_co2e_per_unit: Option<f64>,
    #[serde(default)]
    pub co2_kg_per_unit: Option<f64>,
    #[serde(default)]
    pub ch4_g_per_unit: Option<f64>,
    #[serde(default)]
    pub n2o_g_per_unit: Option<f64>,
    pub unit: String,
    #[serde(default)]
    pub verified: bool,
}

/// A methodology file as shipped.
#[derive(Debug, Clone, Deserialize)]
pub struct Source {
    pub id: String,
    pub name: String,
    pub publisher: String,
    pub document: String,
    pub year: u32,
    pub url: String,
    #[serde(default)]
    pub licence: String,
    #[serde(default)]
    pub method: Value,
    pub factors: Vec<Factor>,
}

impl Source {
    fn factor(&self, pred: impl Fn(&Factor) -> bool) -> Option<&Factor> {
        self.factors.iter().find(|f| pred(f))
    }
}

fn sources() -> &'static [Source] {
    static SOURCES: OnceLock<Vec<Source>> = OnceLock::new();
    SOURCES.get_or_init(|| [DESNZ_2025, EPA_2025].iter().filter_map(|text| serde_json::from_str(text).ok()).collect())
}

/// A methodology a company can choose: a source and, for DESNZ, whether radiative forcing is in.
#[derive(Debug, Clone, Copy)]
pub struct Methodology {
    pub id: &'static str,
    pub source: &'static Source,
    pub radiative_forcing: bool,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CarbonError {
    #[error("unknown carbon methodology {0}")]
    UnknownMethodology(String),
    #[error("the methodology has no factor for {0}")]
    NoFactor(String),
}

/// One factor's part of a figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorUse {
    pub id: String,
    pub quantity: f64,
    pub unit: String,
    pub kg: f64,
    /// True when the source has no factor for this case and a documented stand-in was used.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fallback: bool,
}

/// A CO2e figure and how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Co2e {
    pub methodology: String,
    pub kg: f64,
    pub factors: Vec<FactorUse>,
}

impl Co2e {
    fn from_uses(methodology: &str, uses: Vec<FactorUse>) -> Self {
        let kg = uses.iter().map(|u| u.kg).sum::<f64>();
        Co2e { methodology: methodology.into(), kg: (kg * 1000.0).round() / 1000.0, factors: uses }
    }
}

/// Every methodology that can be chosen, built once per process.
pub fn methodologies() -> &'static [Methodology] {
    static ALL: OnceLock<Vec<Methodology>> = OnceLock::new();
    ALL.get_or_init(|| {
        // Ids live as long as the process; each is made once, here.
        let id = |base: &str, suffix: &str| -> &'static str { Box::leak(format!("{base}{suffix}").into_boxed_str()) };
        let mut out = Vec::new();
        for s in sources() {
            if s.id.starts_with("desnz") {
                out.push(Methodology { id: id(&s.id, ""), source: s, radiative_forcing: true });
                out.push(Methodology { id: id(&s.id, "-without-rf"), source: s, radiative_forcing: false });
            } else {
                out.push(Methodology { id: id(&s.id, ""), source: s, radiative_forcing: false });
            }
        }
        out
    })
}

pub fn methodology(id: &str) -> Result<Methodology, CarbonError> {
    methodologies().iter().find(|m| m.id == id).copied().ok_or_else(|| CarbonError::UnknownMethodology(id.into()))
}

fn is_uk(country: &str) -> bool {
    UK.contains(&country)
}

impl Methodology {
    fn desnz(&self) -> bool {
        self.source.id.starts_with("desnz")
    }

    /// One flight leg: DESNZ by haul and cabin (factors already carry the distance uplift);
    /// EPA by haul in passenger-miles, no cabin split.
    pub fn flight_leg(&self, from: &Airport, to: &Airport, km: f64, cabin: Cabin) -> Result<FactorUse, CarbonError> {
        if self.desnz() {
            let category = match (is_uk(from.country), is_uk(to.country)) {
                (true, true) => "domestic_to_from_uk",
                (true, false) | (false, true) if km < DESNZ_SHORT_HAUL_KM => "short_haul_to_from_uk",
                (true, false) | (false, true) => "long_haul_to_from_uk",
                (false, false) => "international_to_from_non_uk",
            };
            // Domestic has one class; short haul has no premium economy or first (project rule:
            // they use economy and business).
            let cabin_name = match (category, cabin) {
                ("domestic_to_from_uk", _) => "average",
                ("short_haul_to_from_uk", Cabin::PremiumEconomy) => "economy",
                ("short_haul_to_from_uk", Cabin::First) => "business",
                (_, c) => c.as_str(),
            };
            let f = self
                .source
                .factor(|f| {
                    f.mode == "air"
                        && f.category.as_deref() == Some(category)
                        && f.cabin.as_deref() == Some(cabin_name)
                        && f.radiative_forcing == Some(self.radiative_forcing)
                })
                .ok_or_else(|| CarbonError::NoFactor(format!("{category} {cabin_name}")))?;
            let per = f.kg_co2e_per_unit.ok_or_else(|| CarbonError::NoFactor(f.id.clone()))?;
            Ok(FactorUse { id: f.id.clone(), quantity: km, unit: f.unit.clone(), kg: km * per, fallback: false })
        } else {
            let miles = km / KM_PER_MILE;
            let category = if miles < 300.0 {
                "short_haul"
            } else if miles < 2300.0 {
                "medium_haul"
            } else {
                "long_haul"
            };
            let f = self
                .source
                .factor(|f| f.mode == "air" && f.category.as_deref() == Some(category))
                .ok_or_else(|| CarbonError::NoFactor(category.into()))?;
            Ok(FactorUse { id: f.id.clone(), quantity: miles, unit: f.unit.clone(), kg: miles * self.per_unit(f)?, fallback: false })
        }
    }

    /// kg CO2e per unit of a factor: the published total, or for per-gas factors the sum with
    /// the source's global warming potentials.
    fn per_unit(&self, f: &Factor) -> Result<f64, CarbonError> {
        if let Some(total) = f.kg_co2e_per_unit {
            return Ok(total);
        }
        let gwp = &self.source.method["gwp_values"];
        let (ch4, n2o) = (gwp["ch4"].as_f64(), gwp["n2o"].as_f64());
        match (f.co2_kg_per_unit, f.ch4_g_per_unit, f.n2o_g_per_unit, ch4, n2o) {
            (Some(co2), Some(c), Some(n), Some(gc), Some(gn)) => Ok(co2 + c / 1000.0 * gc + n / 1000.0 * gn),
            _ => Err(CarbonError::NoFactor(f.id.clone())),
        }
    }

    /// The source for a mode: this methodology's, or DESNZ's when it has no factor of that mode
    /// (EPA publishes no hotel factor, and its 2025 rail split could not be verified).
    fn source_for(&self, mode: &str) -> Result<(&'static Source, bool), CarbonError> {
        if self.source.factors.iter().any(|f| f.mode == mode) {
            return Ok((self.source, false));
        }
        let desnz = sources().iter().find(|s| s.id.starts_with("desnz")).ok_or_else(|| CarbonError::NoFactor(mode.into()))?;
        Ok((desnz, true))
    }

    /// Rail: national rail inside one country, international rail across a border, per
    /// passenger-km of the rail distance.
    pub fn rail(&self, from_country: &str, to_country: &str, km: f64) -> Result<FactorUse, CarbonError> {
        let category = if from_country == to_country { "national_rail" } else { "international_rail" };
        let (source, fallback) = self.source_for("rail")?;
        let f = source
            .factor(|f| f.mode == "rail" && f.category.as_deref() == Some(category))
            .ok_or_else(|| CarbonError::NoFactor(category.into()))?;
        let per = f.kg_co2e_per_unit.ok_or_else(|| CarbonError::NoFactor(f.id.clone()))?;
        Ok(FactorUse { id: f.id.clone(), quantity: km, unit: f.unit.clone(), kg: km * per, fallback })
    }

    /// A hotel stay: room nights times the country's factor. London has its own DESNZ row; a
    /// country without a factor in the source uses the source's UK factor, marked as fallback;
    /// a source with no hotel factors at all (EPA) uses DESNZ's, marked as fallback.
    pub fn hotel(&self, country: &str, city: &str, nights: u32) -> Result<FactorUse, CarbonError> {
        let (source, other_source) = self.source_for("hotel")?;
        let key = if country == "GB" && city.eq_ignore_ascii_case("London") { "GB-LND".to_string() } else { country.to_string() };
        let (f, fallback) = match source.factor(|f| f.mode == "hotel" && f.country.as_deref() == Some(key.as_str())) {
            Some(f) => (f, other_source),
            None => (
                source
                    .factor(|f| f.mode == "hotel" && f.country.as_deref() == Some("GB"))
                    .ok_or_else(|| CarbonError::NoFactor("hotel".into()))?,
                true,
            ),
        };
        let per = f.kg_co2e_per_unit.ok_or_else(|| CarbonError::NoFactor(f.id.clone()))?;
        Ok(FactorUse { id: f.id.clone(), quantity: f64::from(nights), unit: f.unit.clone(), kg: f64::from(nights) * per, fallback })
    }

    pub fn total(&self, uses: Vec<FactorUse>) -> Co2e {
        Co2e::from_uses(self.id, uses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::airports::{find, great_circle_km};

    #[test]
    fn every_shipped_factor_is_well_formed_and_every_desnz_air_combination_exists() {
        assert!(!sources().is_empty());
        for s in sources() {
            for f in &s.factors {
                assert!(f.id.starts_with(&s.id), "{}", f.id);
                assert!(f.kg_co2e_per_unit.is_some() || f.co2_kg_per_unit.is_some(), "{}", f.id);
            }
        }
        let m = methodology("desnz-2025").unwrap();
        for (o, d) in [("LHR", "EDI"), ("LHR", "CDG"), ("LHR", "JFK"), ("FRA", "JFK")] {
            let (a, b) = (&find(o).unwrap(), &find(d).unwrap());
            for cabin in Cabin::ALL {
                m.flight_leg(a, b, great_circle_km(a, b), cabin).unwrap();
            }
        }
    }

    /// What the build keeps of the shipped files is every factor, with its figures and unit.
    #[test]
    fn the_compiled_sources_keep_every_factor_of_the_shipped_files() {
        let shipped = [include_str!("../../data/carbon/desnz-2025.json"), include_str!("../../data/carbon/epa-2025.json")];
        assert_eq!(sources().len(), shipped.len());
        for (source, text) in sources().iter().zip(shipped) {
            let file: Value = serde_json::from_str(text).unwrap();
            assert_eq!((source.id.as_str(), source.url.as_str()), (file["id"].as_str().unwrap(), file["url"].as_str().unwrap()));
            assert_eq!(source.method, file["method"]);
            let factors = file["factors"].as_array().unwrap();
            assert_eq!(source.factors.len(), factors.len());
            for (kept, f) in source.factors.iter().zip(factors) {
                let figures = [kept.kg_co2e_per_unit, kept.co2_kg_per_unit, kept.ch4_g_per_unit, kept.n2o_g_per_unit];
                let shipped = ["kg_co2e_per_unit", "co2_kg_per_unit", "ch4_g_per_unit", "n2o_g_per_unit"].map(|k| f[k].as_f64());
                assert_eq!(
                    (kept.id.as_str(), kept.unit.as_str(), figures),
                    (f["id"].as_str().unwrap(), f["unit"].as_str().unwrap(), shipped)
                );
                assert_eq!(kept.verified, f["verified"].as_bool().unwrap_or_default(), "{}", kept.id);
            }
        }
    }

    #[test]
    fn desnz_applies_haul_cabin_and_radiative_forcing_as_published() {
        let (lhr, jfk, edi, cdg) = (&find("LHR").unwrap(), &find("JFK").unwrap(), &find("EDI").unwrap(), &find("CDG").unwrap());
        let with = methodology("desnz-2025").unwrap();
        let without = methodology("desnz-2025-without-rf").unwrap();
        let km = great_circle_km(lhr, jfk);
        // Factors multiply the plain distance: no uplift added on top.
        let leg = with.flight_leg(lhr, jfk, km, Cabin::Business).unwrap();
        assert_eq!(leg.id, "desnz-2025/air/long_haul/business/with_rf");
        assert!((leg.kg - km * 0.3394).abs() < 1e-6, "{leg:?}");
        let leg = without.flight_leg(lhr, jfk, km, Cabin::Business).unwrap();
        assert!(leg.id.ends_with("without_rf"));
        assert!((leg.kg - km * 0.20083).abs() < 1e-6, "{leg:?}");
        let km = 1000.0;
        assert_eq!(with.flight_leg(lhr, edi, km, Cabin::First).unwrap().id, "desnz-2025/air/domestic/average/with_rf");
        assert_eq!(with.flight_leg(lhr, cdg, km, Cabin::PremiumEconomy).unwrap().id, "desnz-2025/air/short_haul/economy/with_rf");
        let (fra, muc) = (&find("FRA").unwrap(), &find("MUC").unwrap());
        assert!(with.flight_leg(fra, muc, km, Cabin::Economy).unwrap().id.starts_with("desnz-2025/air/international"));
    }

    /// Worked out by hand in shared/data/carbon/README.md (distance by haversine, radius
    /// 6371.0088 km): route, km, DESNZ with RF economy and business, DESNZ without RF economy,
    /// EPA (any cabin), in kg CO2e.
    #[rustfmt::skip]
    const WORKED: &[(&str, &str, f64, f64, f64, f64, f64)] = &[
        ("LHR", "EDI", 533.531, 122.328, 122.328, 72.304, 43.132),
        ("LHR", "MAN", 242.811, 55.672, 55.672, 32.906, 31.522),
        ("JER", "LHR", 280.051, 64.210, 64.210, 37.952, 36.357),
        ("LHR", "CDG", 347.168, 43.660, 65.486, 25.812, 45.070),
        ("LHR", "AMS", 370.449, 46.588, 69.878, 27.543, 48.092),
        ("LHR", "JFK", 5539.629, 648.358, 1880.150, 383.675, 565.874),
        ("DXB", "LHR", 5497.933, 643.478, 1865.999, 380.787, 561.615),
        ("FRA", "JFK", 6187.958, 675.477, 1958.860, 399.061, 632.101),
        ("MUC", "BER", 461.974, 50.429, 146.242, 29.793, 59.974),
        ("CDG", "NCE", 694.520, 75.814, 219.857, 44.790, 56.147),
        ("SFO", "LAX", 543.196, 59.295, 171.954, 35.031, 43.913),
        ("JFK", "LAX", 3974.223, 433.826, 1258.080, 256.298, 405.968),
        ("SYD", "MEL", 705.402, 77.002, 223.302, 45.491, 57.026),
        ("BOS", "JFK", 299.986, 32.746, 94.963, 19.346, 38.945),
    ];

    #[test]
    fn matches_the_hand_worked_routes_in_every_methodology() {
        let (with, without, epa) =
            (methodology("desnz-2025").unwrap(), methodology("desnz-2025-without-rf").unwrap(), methodology("epa-2025").unwrap());
        let close = |a: f64, b: f64| (a - b).abs() < 0.01;
        for (o, d, km, eco, biz, eco_no_rf, epa_kg) in WORKED {
            let (a, b) = (&find(o).unwrap(), &find(d).unwrap());
            let dist = great_circle_km(a, b);
            assert!(close(dist, *km), "{o}-{d}: {dist} km");
            assert!(close(with.flight_leg(a, b, dist, Cabin::Economy).unwrap().kg, *eco), "{o}-{d} economy with RF");
            assert!(close(with.flight_leg(a, b, dist, Cabin::Business).unwrap().kg, *biz), "{o}-{d} business with RF");
            assert!(close(without.flight_leg(a, b, dist, Cabin::Economy).unwrap().kg, *eco_no_rf), "{o}-{d} economy without RF");
            for cabin in Cabin::ALL {
                assert!(close(epa.flight_leg(a, b, dist, cabin).unwrap().kg, *epa_kg), "{o}-{d} EPA has no cabin split");
            }
        }
    }

    #[test]
    fn rail_and_hotels_fall_back_to_desnz_under_epa_and_say_so() {
        let epa = methodology("epa-2025").unwrap();
        let rail = epa.rail("DE", "DE", 100.0).unwrap();
        assert!(rail.fallback && rail.id == "desnz-2025/rail/national_rail");
        assert!((rail.kg - 3.546).abs() < 1e-9);
        let hotel = epa.hotel("US", "New York", 3).unwrap();
        assert!(hotel.fallback && hotel.id == "desnz-2025/hotel/us" && (hotel.kg - 48.3).abs() < 1e-9);
        let desnz = methodology("desnz-2025").unwrap();
        assert_eq!(desnz.rail("GB", "FR", 100.0).unwrap().id, "desnz-2025/rail/international_rail");
    }

    #[test]
    fn hotels_by_country_with_london_and_a_documented_fallback() {
        let m = methodology("desnz-2025").unwrap();
        let london = m.hotel("GB", "London", 2).unwrap();
        assert_eq!((london.id.as_str(), london.kg), ("desnz-2025/hotel/gb-lnd", 23.0));
        let de = m.hotel("DE", "Munich", 1).unwrap();
        assert_eq!(de.id, "desnz-2025/hotel/de");
        let at = m.hotel("AT", "Vienna", 1).unwrap();
        assert!(at.fallback && at.id == "desnz-2025/hotel/gb");
    }
}
