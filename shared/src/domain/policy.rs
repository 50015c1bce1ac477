//! Travel policy: company rules with optional per-department overrides, and the pure engine
//! that gives every offer a verdict with machine-readable reasons.

use super::validate::into_result;
use crate::error::{ApiResult, FieldError};
use crate::travel::money::Cents;
use crate::travel::supplier::Cabin;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The highest cabin allowed on flights up to a distance (the last band may be open-ended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CabinBand {
    /// Applies to flights up to this great-circle distance; None = any longer flight.
    #[serde(default)]
    pub up_to_km: Option<u32>,
    pub max_cabin: Cabin,
}

/// Every rule is optional; a department override sets only what differs from the company.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cabin_by_distance: Option<Vec<CabinBand>>,
    /// Absolute cap on a flight's price, EUR as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flight_price_cap: Option<String>,
    /// Cap relative to the cheapest comparable offer (same search and cabin), in percent above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_percent_over_cheapest: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rail_price_cap: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_days_in_advance: Option<u32>,
    /// Nightly hotel cap where no city cap applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotel_nightly_cap: Option<String>,
    /// Nightly hotel caps by city name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotel_nightly_cap_by_city: Option<BTreeMap<String, String>>,
    /// Below this flight distance, rail must be taken when it is offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rail_instead_of_air_below_km: Option<u32>,
    /// CO2e cap per trip (per offer), kg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carbon_cap_kg: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub rules: Rules,
    /// Department name to the rules that differ for it.
    #[serde(default)]
    pub department_overrides: BTreeMap<String, Rules>,
}

fn parse_money(field: &str, v: &Option<String>, errors: &mut Vec<FieldError>) -> Option<Cents> {
    let v = v.as_ref()?;
    let ok = v.split_once('.').map_or(v.len() <= 9 && v.bytes().all(|b| b.is_ascii_digit()), |(a, b)| {
        !a.is_empty()
            && a.len() <= 9
            && a.bytes().all(|c| c.is_ascii_digit())
            && (1..=2).contains(&b.len())
            && b.bytes().all(|c| c.is_ascii_digit())
    });
    if !ok {
        errors.push(FieldError::new(field, "must be an amount in EUR such as \"450.00\""));
        return None;
    }
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    let minor = if minor.len() == 1 { format!("{minor}0") } else { minor.to_string() };
    Some(Cents(major.parse::<i64>().unwrap_or(0) * 100 + minor.parse::<i64>().unwrap_or(0)))
}

impl Rules {
    fn check(&self, prefix: &str, e: &mut Vec<FieldError>) {
        let f = |name: &str| format!("{prefix}{name}");
        parse_money(&f("flight_price_cap"), &self.flight_price_cap, e);
        parse_money(&f("rail_price_cap"), &self.rail_price_cap, e);
        parse_money(&f("hotel_nightly_cap"), &self.hotel_nightly_cap, e);
        for (city, cap) in self.hotel_nightly_cap_by_city.iter().flatten() {
            parse_money(&f(&format!("hotel_nightly_cap_by_city.{city}")), &Some(cap.clone()), e);
        }
        if let Some(bands) = &self.cabin_by_distance {
            let mut last = 0;
            for (i, b) in bands.iter().enumerate() {
                match b.up_to_km {
                    Some(km) if km <= last => {
                        e.push(FieldError::new(f(&format!("cabin_by_distance[{i}].up_to_km")), "bands must grow in distance"))
                    }
                    Some(km) => last = km,
                    None if i + 1 != bands.len() => {
                        e.push(FieldError::new(f(&format!("cabin_by_distance[{i}].up_to_km")), "only the last band may be open-ended"))
                    }
                    None => {}
                }
            }
        }
        if self.min_days_in_advance.is_some_and(|d| d > 365) {
            e.push(FieldError::new(f("min_days_in_advance"), "must be at most 365"));
        }
        if self.carbon_cap_kg.is_some_and(|c| !(c > 0.0 && c < 1e6)) {
            e.push(FieldError::new(f("carbon_cap_kg"), "must be a positive number of kg"));
        }
    }

    /// This rule set with another's set rules on top.
    pub fn overlaid(&self, over: &Rules) -> Rules {
        Rules {
            cabin_by_distance: over.cabin_by_distance.clone().or_else(|| self.cabin_by_distance.clone()),
            flight_price_cap: over.flight_price_cap.clone().or_else(|| self.flight_price_cap.clone()),
            max_percent_over_cheapest: over.max_percent_over_cheapest.or(self.max_percent_over_cheapest),
            rail_price_cap: over.rail_price_cap.clone().or_else(|| self.rail_price_cap.clone()),
            min_days_in_advance: over.min_days_in_advance.or(self.min_days_in_advance),
            hotel_nightly_cap: over.hotel_nightly_cap.clone().or_else(|| self.hotel_nightly_cap.clone()),
            hotel_nightly_cap_by_city: over.hotel_nightly_cap_by_city.clone().or_else(|| self.hotel_nightly_cap_by_city.clone()),
            rail_instead_of_air_below_km: over.rail_instead_of_air_below_km.or(self.rail_instead_of_air_below_km),
            carbon_cap_kg: over.carbon_cap_kg.or(self.carbon_cap_kg),
        }
    }
}

impl Policy {
    pub fn validate(&self) -> ApiResult<()> {
        let mut e = Vec::new();
        self.rules.check("rules.", &mut e);
        if self.department_overrides.len() > 200 {
            e.push(FieldError::new("department_overrides", "must have at most 200 entries"));
        }
        for (d, r) in &self.department_overrides {
            r.check(&format!("department_overrides.{d}."), &mut e);
        }
        into_result(e)
    }

    /// The rules in force for a traveler of this department.
    pub fn effective(&self, department: Option<&str>) -> Rules {
        match department.and_then(|d| self.department_overrides.get(d)) {
            Some(over) => self.rules.overlaid(over),
            None => self.rules.clone(),
        }
    }
}

/// What the engine needs to know about an offer.
#[derive(Debug, Clone)]
pub enum Subject<'a> {
    Flight { cabin: Cabin, longest_leg_km: f64, distance_km: f64, price: Cents, cheapest_comparable: Cents, rail_offered: bool },
    Rail { price: Cents },
    Hotel { city: &'a str, nightly: Cents },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub in_policy: bool,
    pub reasons: Vec<Reason>,
}

fn reason(code: &str, message: String) -> Reason {
    Reason { code: code.into(), message }
}

fn cap(v: &Option<String>) -> Option<Cents> {
    parse_money("", v, &mut Vec::new())
}

/// The verdict on one offer under the rules in force: pure, total, deterministic.
pub fn evaluate(rules: &Rules, subject: &Subject<'_>, days_in_advance: i64, co2e_kg: f64) -> Verdict {
    let mut reasons = Vec::new();
    if let Some(min) = rules.min_days_in_advance {
        if days_in_advance < i64::from(min) {
            reasons.push(reason("booked_too_late", format!("booked {days_in_advance} days ahead; the policy asks for {min}")));
        }
    }
    if let Some(limit) = rules.carbon_cap_kg {
        if co2e_kg > limit {
            reasons.push(reason("carbon_over_cap", format!("{co2e_kg:.1} kg CO2e is over the {limit:.1} kg cap")));
        }
    }
    match subject {
        Subject::Flight { cabin, longest_leg_km, distance_km, price, cheapest_comparable, rail_offered } => {
            if let Some(bands) = &rules.cabin_by_distance {
                let allowed = bands.iter().find(|b| b.up_to_km.is_none_or(|km| *longest_leg_km <= f64::from(km))).map(|b| b.max_cabin);
                match allowed {
                    Some(max) if cabin > &max => reasons.push(reason(
                        "cabin_above_allowed",
                        format!("{} is above {} allowed for this distance", cabin.as_str(), max.as_str()),
                    )),
                    None => reasons.push(reason("cabin_above_allowed", "no cabin is allowed for this distance".into())),
                    _ => {}
                }
            }
            if let Some(limit) = cap(&rules.flight_price_cap) {
                if price > &limit {
                    reasons.push(reason("price_over_cap", format!("{} EUR is over the {} EUR cap", price.decimal(), limit.decimal())));
                }
            }
            if let Some(pct) = rules.max_percent_over_cheapest {
                let ceiling = cheapest_comparable.0 + cheapest_comparable.0 * i64::from(pct) / 100;
                if price.0 > ceiling {
                    reasons.push(reason(
                        "price_over_cheapest",
                        format!("more than {pct}% above the cheapest comparable offer ({} EUR)", cheapest_comparable.decimal()),
                    ));
                }
            }
            if let Some(below) = rules.rail_instead_of_air_below_km {
                if *rail_offered && *distance_km < f64::from(below) {
                    reasons.push(reason("rail_required", format!("rail is offered and the trip is under {below} km")));
                }
            }
        }
        Subject::Rail { price } => {
            if let Some(limit) = cap(&rules.rail_price_cap) {
                if price > &limit {
                    reasons.push(reason("price_over_cap", format!("{} EUR is over the {} EUR cap", price.decimal(), limit.decimal())));
                }
            }
        }
        Subject::Hotel { city, nightly } => {
            let city_cap = rules
                .hotel_nightly_cap_by_city
                .as_ref()
                .and_then(|m| m.iter().find(|(c, _)| c.eq_ignore_ascii_case(city)))
                .and_then(|(_, v)| cap(&Some(v.clone())));
            if let Some(limit) = city_cap.or_else(|| cap(&rules.hotel_nightly_cap)) {
                if nightly > &limit {
                    reasons.push(reason(
                        "hotel_over_cap",
                        format!("{} EUR a night is over the {} EUR cap", nightly.decimal(), limit.decimal()),
                    ));
                }
            }
        }
    }
    Verdict { in_policy: reasons.is_empty(), reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flight(cabin: Cabin, km: f64, eur: i64, cheapest: i64, rail: bool) -> Subject<'static> {
        Subject::Flight {
            cabin,
            longest_leg_km: km,
            distance_km: km,
            price: Cents(eur * 100),
            cheapest_comparable: Cents(cheapest * 100),
            rail_offered: rail,
        }
    }

    fn company() -> Policy {
        serde_json::from_value(serde_json::json!({
            "rules": {
                "cabin_by_distance": [{"up_to_km": 3700, "max_cabin": "economy"}, {"max_cabin": "business"}],
                "flight_price_cap": "1500.00",
                "max_percent_over_cheapest": 50,
                "min_days_in_advance": 7,
                "hotel_nightly_cap": "150",
                "hotel_nightly_cap_by_city": {"London": "250.00"},
                "rail_instead_of_air_below_km": 600,
                "carbon_cap_kg": 2000
            },
            "department_overrides": {"Executive": {"cabin_by_distance": [{"max_cabin": "first"}], "flight_price_cap": "9000"}}
        }))
        .unwrap()
    }

    fn codes(v: &Verdict) -> Vec<&str> {
        v.reasons.iter().map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn verdicts_table() {
        let p = company();
        let r = p.effective(Some("Sales"));
        let exec = p.effective(Some("Executive"));
        #[rustfmt::skip]
        let cases: Vec<(&Rules, Subject, i64, f64, Vec<&str>)> = vec![
            (&r, flight(Cabin::Economy, 900.0, 200, 180, false), 30, 150.0, vec![]),
            (&r, flight(Cabin::Business, 900.0, 600, 180, false), 30, 300.0, vec!["cabin_above_allowed", "price_over_cheapest"]),
            (&r, flight(Cabin::Business, 6000.0, 1400, 1000, false), 30, 1800.0, vec![]),
            (&r, flight(Cabin::First, 6000.0, 2500, 2400, false), 30, 1900.0, vec!["cabin_above_allowed", "price_over_cap"]),
            (&exec, flight(Cabin::First, 6000.0, 2500, 2400, false), 30, 1900.0, vec![]),
            (&r, flight(Cabin::Economy, 500.0, 100, 100, true), 30, 60.0, vec!["rail_required"]),
            (&r, flight(Cabin::Economy, 500.0, 100, 100, false), 30, 60.0, vec![]),
            (&r, flight(Cabin::Economy, 900.0, 200, 200, false), 3, 150.0, vec!["booked_too_late"]),
            (&r, flight(Cabin::Business, 9000.0, 1200, 1100, false), 30, 2500.0, vec!["carbon_over_cap"]),
            (&r, Subject::Hotel { city: "london", nightly: Cents(24000) }, 30, 20.0, vec![]),
            (&r, Subject::Hotel { city: "Munich", nightly: Cents(16000) }, 30, 20.0, vec!["hotel_over_cap"]),
            (&r, Subject::Rail { price: Cents(9000) }, 30, 5.0, vec![]),
        ];
        for (i, (rules, subject, days, kg, want)) in cases.iter().enumerate() {
            assert_eq!(codes(&evaluate(rules, subject, *days, *kg)), *want, "case {i}");
        }
        assert!(evaluate(&Rules::default(), &flight(Cabin::First, 10.0, 99999, 1, true), -5, 1e9).in_policy, "no rules, no reasons");
    }

    #[test]
    fn validation_names_bad_fields() {
        let bad: Policy = serde_json::from_value(serde_json::json!({
            "rules": {"flight_price_cap": "abc", "cabin_by_distance": [{"max_cabin": "economy"}, {"up_to_km": 100, "max_cabin": "business"}]},
            "department_overrides": {"Sales": {"hotel_nightly_cap": "1.234"}}
        }))
        .unwrap();
        let Err(crate::error::ApiError::Validation(errors)) = bad.validate() else { panic!() };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["rules.flight_price_cap", "rules.cabin_by_distance[0].up_to_km", "department_overrides.Sales.hotel_nightly_cap"]
        );
        company().validate().unwrap();
    }

    proptest! {
        /// Raising a price never turns a refusal on price into acceptance, and an offer within
        /// every cap with no other rule stays in policy.
        #[test]
        fn verdicts_are_monotonic_in_price(price in 0i64..100_000, extra in 0i64..10_000, cap in 0i64..100_000) {
            let rules = Rules { flight_price_cap: Some(Cents(cap).decimal()), ..Default::default() };
            let lower = evaluate(&rules, &flight(Cabin::Economy, 1000.0, 0, 0, false).with_price(price), 30, 1.0);
            let higher = evaluate(&rules, &flight(Cabin::Economy, 1000.0, 0, 0, false).with_price(price + extra), 30, 1.0);
            prop_assert!(lower.in_policy || !higher.in_policy);
            prop_assert_eq!(lower.in_policy, price <= cap);
        }

        /// The cabin rule allows exactly the cabins at or below the band's maximum.
        #[test]
        fn cabin_bands_allow_exactly_up_to_their_cabin(km in 1.0f64..20_000.0, cabin in 0usize..4) {
            let p = company();
            let rules = p.effective(None);
            let c = Cabin::ALL[cabin];
            let v = evaluate(&rules, &Subject::Flight { cabin: c, longest_leg_km: km, distance_km: km, price: Cents(1), cheapest_comparable: Cents(1), rail_offered: false }, 30, 1.0);
            let max = if km <= 3700.0 { Cabin::Economy } else { Cabin::Business };
            prop_assert_eq!(v.reasons.iter().any(|r| r.code == "cabin_above_allowed"), c > max);
        }
    }

    impl Subject<'static> {
        fn with_price(self, cents: i64) -> Self {
            match self {
                Subject::Flight { cabin, longest_leg_km, distance_km, cheapest_comparable, rail_offered, .. } => {
                    Subject::Flight { cabin, longest_leg_km, distance_km, price: Cents(cents), cheapest_comparable, rail_offered }
                }
                other => other,
            }
        }
    }
}
