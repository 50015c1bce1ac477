//! Per-tenant monthly aggregates, kept as bookings change (reports never scan): trips, spend and
//! CO2e of confirmed bookings by mode, department, cost center and traveler, and policy
//! compliance; cancellations and rejections are counted too.

use super::bookings::{Booking, BookingStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub trips: i64,
    pub spend_cents: i64,
    /// Grams, so sums stay exact.
    pub co2e_g: i64,
}

impl Totals {
    fn add(&mut self, o: &Totals, sign: i64) {
        self.trips += sign * o.trips;
        self.spend_cents += sign * o.spend_cents;
        self.co2e_g += sign * o.co2e_g;
    }

    fn is_zero(&self) -> bool {
        self.trips == 0 && self.spend_cents == 0 && self.co2e_g == 0
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aggregates {
    pub month: String,
    pub total: Totals,
    pub by_mode: BTreeMap<String, Totals>,
    pub by_department: BTreeMap<String, Totals>,
    pub by_cost_center: BTreeMap<String, Totals>,
    pub by_traveler: BTreeMap<String, Totals>,
    /// Confirmed trips that were in policy, and those approved out of policy.
    pub in_policy: i64,
    pub out_of_policy: i64,
    pub cancelled: i64,
    pub rejected: i64,
}

/// What one booking contributes in its status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    totals: Totals,
    mode: String,
    department: String,
    cost_center: String,
    traveler: String,
    in_policy: i64,
    out_of_policy: i64,
    cancelled: i64,
    rejected: i64,
}

pub const UNASSIGNED: &str = "unassigned";

impl Delta {
    pub fn of(b: &Booking) -> Delta {
        let base = Delta {
            mode: b.offer.mode.clone(),
            department: b.department.clone().unwrap_or_else(|| UNASSIGNED.into()),
            cost_center: b.cost_center.clone().unwrap_or_else(|| UNASSIGNED.into()),
            traveler: b.traveler_id.clone(),
            ..Default::default()
        };
        match b.status {
            BookingStatus::Confirmed => Delta {
                totals: Totals { trips: 1, spend_cents: b.offer.price_cents, co2e_g: (b.offer.co2e_kg * 1000.0).round() as i64 },
                in_policy: i64::from(b.offer.policy.in_policy),
                out_of_policy: i64::from(!b.offer.policy.in_policy),
                ..base
            },
            BookingStatus::Cancelled => Delta { cancelled: 1, ..base },
            BookingStatus::Rejected => Delta { rejected: 1, ..base },
            BookingStatus::PendingApproval => base,
        }
    }

    pub fn minus(&self, other: &Delta) -> Delta {
        let mut d = self.clone();
        d.totals.add(&other.totals, -1);
        d.in_policy -= other.in_policy;
        d.out_of_policy -= other.out_of_policy;
        d.cancelled -= other.cancelled;
        d.rejected -= other.rejected;
        d
    }

    pub fn is_zero(&self) -> bool {
        self.totals.is_zero() && self.in_policy == 0 && self.out_of_policy == 0 && self.cancelled == 0 && self.rejected == 0
    }
}

impl Aggregates {
    pub fn apply(&mut self, d: &Delta) {
        self.total.add(&d.totals, 1);
        for (map, key) in [
            (&mut self.by_mode, &d.mode),
            (&mut self.by_department, &d.department),
            (&mut self.by_cost_center, &d.cost_center),
            (&mut self.by_traveler, &d.traveler),
        ] {
            let entry = map.entry(key.clone()).or_default();
            entry.add(&d.totals, 1);
            if entry.is_zero() {
                map.remove(key);
            }
        }
        self.in_policy += d.in_policy;
        self.out_of_policy += d.out_of_policy;
        self.cancelled += d.cancelled;
        self.rejected += d.rejected;
    }

    /// Sums months into one.
    pub fn merge(&mut self, o: &Aggregates) {
        self.total.add(&o.total, 1);
        for (mine, theirs) in [
            (&mut self.by_mode, &o.by_mode),
            (&mut self.by_department, &o.by_department),
            (&mut self.by_cost_center, &o.by_cost_center),
            (&mut self.by_traveler, &o.by_traveler),
        ] {
            for (k, v) in theirs {
                mine.entry(k.clone()).or_default().add(v, 1);
            }
        }
        self.in_policy += o.in_policy;
        self.out_of_policy += o.out_of_policy;
        self.cancelled += o.cancelled;
        self.rejected += o.rejected;
    }
}
