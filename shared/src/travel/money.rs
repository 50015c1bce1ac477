//! Prices: integer minor units, shown as decimal strings.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cents(pub i64);

impl Cents {
    pub fn from_major(amount: f64) -> Self {
        Cents((amount * 100.0).round() as i64)
    }

    /// "123.45"
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", self.0.abs() / 100, self.0.abs() % 100)
    }
}

/// A price as the API shows it: `{"amount": "123.45", "currency": "EUR"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub amount: String,
    pub currency: String,
}

impl Price {
    pub fn eur(c: Cents) -> Self {
        Price { amount: c.decimal(), currency: "EUR".into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(Cents(12345).decimal(), "123.45");
        assert_eq!(Cents(5).decimal(), "0.05");
        assert_eq!(Cents(-250).decimal(), "-2.50");
        assert_eq!(Cents::from_major(19.999).decimal(), "20.00");
    }
}
