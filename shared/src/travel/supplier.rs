//! The supplier port: search flights, rail and hotels, confirm and cancel. The product ships
//! one adapter, the offline sandbox supplier; a live one implements the same trait.

use super::airports::Airport;
use super::money::Cents;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cabin {
    Economy,
    PremiumEconomy,
    Business,
    First,
}

impl Cabin {
    pub const ALL: [Cabin; 4] = [Cabin::Economy, Cabin::PremiumEconomy, Cabin::Business, Cabin::First];

    pub fn as_str(self) -> &'static str {
        match self {
            Cabin::Economy => "economy",
            Cabin::PremiumEconomy => "premium_economy",
            Cabin::Business => "business",
            Cabin::First => "first",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RailClass {
    Standard,
    First,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlightLeg {
    pub carrier: String,
    pub flight_number: String,
    pub origin: String,
    pub destination: String,
    /// Local times at origin and destination, `YYYY-MM-DDTHH:MM`.
    pub departs_at: String,
    pub arrives_at: String,
    pub distance_km: f64,
    pub duration_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlightItinerary {
    /// Outbound legs, then return legs.
    pub legs: Vec<FlightLeg>,
    pub cabin: Cabin,
    pub price: Cents,
    /// Sum over the legs.
    pub distance_km: f64,
    pub stops: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RailJourney {
    pub operator: String,
    pub origin: String,
    pub destination: String,
    pub departs_at: String,
    pub arrives_at: String,
    pub class: RailClass,
    pub distance_km: f64,
    pub duration_minutes: u32,
    pub price: Cents,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotelStay {
    pub property: String,
    pub city: String,
    pub country: String,
    pub nights: u32,
    pub nightly: Cents,
    pub price: Cents,
}

pub struct FlightQuery<'a> {
    pub origin: &'a Airport,
    pub destination: &'a Airport,
    pub depart_on: time::Date,
    pub return_on: Option<time::Date>,
    pub cabin: Option<Cabin>,
    pub today: time::Date,
}

pub struct RailQuery<'a> {
    pub origin: &'a Airport,
    pub destination: &'a Airport,
    pub depart_on: time::Date,
    pub today: time::Date,
}

pub struct HotelQuery<'a> {
    pub city: &'a Airport,
    pub check_in: time::Date,
    pub check_out: time::Date,
    pub today: time::Date,
}

#[derive(Debug, Error)]
pub enum SupplierError {
    #[error("the supplier is unavailable: {0}")]
    Unavailable(String),
    #[error("the supplier refused: {0}")]
    Refused(String),
}

#[async_trait]
pub trait Supplier: Send + Sync {
    async fn search_flights(&self, q: &FlightQuery<'_>) -> Result<Vec<FlightItinerary>, SupplierError>;
    async fn search_rail(&self, q: &RailQuery<'_>) -> Result<Vec<RailJourney>, SupplierError>;
    async fn search_hotels(&self, q: &HotelQuery<'_>) -> Result<Vec<HotelStay>, SupplierError>;
    /// Confirms a priced offer; returns the supplier's confirmation reference.
    async fn confirm(&self, offer_id: &str) -> Result<String, SupplierError>;
    async fn cancel(&self, confirmation: &str) -> Result<(), SupplierError>;
}
