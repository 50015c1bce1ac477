//! Traveler profiles. Ordinary fields are stored as they are; restricted fields (passport,
//! national id, date of birth, phone, home address, loyalty and known-traveler numbers,
//! emergency contact) are each sealed under the tenant's data key, bound to the profile and the
//! field, and never stored or logged in clear.

use super::company::is_country_code;
use super::validate::{check_list_len, check_text, into_result};
use crate::error::{ApiError, ApiResult, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The restricted fields, in the order they are shown.
pub const RESTRICTED: [&str; 8] =
    ["passport", "national_id", "date_of_birth", "phone", "home_address", "loyalty_numbers", "known_traveler_number", "emergency_contact"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatPreference {
    Aisle,
    Window,
    NoPreference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MealPreference {
    Standard,
    Vegetarian,
    Vegan,
    Halal,
    Kosher,
    GlutenFree,
    NoPreference,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Passport {
    pub number: String,
    /// YYYY-MM-DD
    pub expiry: String,
    pub issuing_country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoyaltyNumber {
    pub program: String,
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    pub name: String,
    pub phone: String,
    #[serde(default)]
    pub relation: Option<String>,
}

/// A whole profile as a client sends it (PUT replaces the profile).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    pub given_names: Option<String>,
    pub family_name: Option<String>,
    pub seat_preference: Option<SeatPreference>,
    pub meal_preference: Option<MealPreference>,
    pub passport: Option<Passport>,
    pub national_id: Option<String>,
    pub date_of_birth: Option<String>,
    pub phone: Option<String>,
    pub home_address: Option<Address>,
    #[serde(default)]
    pub loyalty_numbers: Vec<LoyaltyNumber>,
    pub known_traveler_number: Option<String>,
    pub emergency_contact: Option<EmergencyContact>,
    /// The version the client read; a mismatch gets 409.
    pub version: Option<u64>,
}

/// What is stored: ordinary fields in clear, restricted ones as sealed envelopes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredProfile {
    pub user_id: String,
    pub given_names: Option<String>,
    pub family_name: Option<String>,
    pub seat_preference: Option<SeatPreference>,
    pub meal_preference: Option<MealPreference>,
    /// Field name to envelope.
    #[serde(default)]
    pub sealed: BTreeMap<String, String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

fn check_date(field: &str, value: &str, errors: &mut Vec<FieldError>) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(value, format) {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(field, "must be a date as YYYY-MM-DD"));
            None
        }
    }
}

fn check_phone(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    let digits = value.strip_prefix('+').unwrap_or("");
    if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        errors.push(FieldError::new(field, "must be an E.164 number such as +4930123456"));
    }
}

fn check_code(field: &str, value: &str, min: usize, max: usize, errors: &mut Vec<FieldError>) {
    let ok = (min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        errors.push(FieldError::new(field, format!("must be {min} to {max} letters, digits or dashes")));
    }
}

fn check_country(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    if !is_country_code(value) {
        errors.push(FieldError::new(field, "must be an ISO 3166-1 alpha-2 code such as DE"));
    }
}

impl ProfileInput {
    pub fn validate(&self, today: time::Date) -> ApiResult<()> {
        let mut e = Vec::new();
        if let Some(v) = &self.given_names {
            check_text("given_names", v, 100, &mut e);
        }
        if let Some(v) = &self.family_name {
            check_text("family_name", v, 100, &mut e);
        }
        if let Some(p) = &self.passport {
            check_code("passport.number", &p.number, 5, 20, &mut e);
            check_date("passport.expiry", &p.expiry, &mut e);
            check_country("passport.issuing_country", &p.issuing_country, &mut e);
        }
        if let Some(v) = &self.national_id {
            check_code("national_id", v, 4, 40, &mut e);
        }
        if let Some(v) = &self.date_of_birth {
            if let Some(d) = check_date("date_of_birth", v, &mut e) {
                if d >= today || d.year() < 1900 {
                    e.push(FieldError::new("date_of_birth", "must be in the past and after 1900"));
                }
            }
        }
        if let Some(v) = &self.phone {
            check_phone("phone", v, &mut e);
        }
        if let Some(a) = &self.home_address {
            check_text("home_address.line1", &a.line1, 200, &mut e);
            if let Some(l2) = &a.line2 {
                if l2.chars().count() > 200 {
                    e.push(FieldError::new("home_address.line2", "must be at most 200 characters"));
                }
            }
            check_text("home_address.city", &a.city, 100, &mut e);
            check_text("home_address.postal_code", &a.postal_code, 20, &mut e);
            check_country("home_address.country", &a.country, &mut e);
        }
        check_list_len("loyalty_numbers", &self.loyalty_numbers, 20, &mut e);
        for (i, l) in self.loyalty_numbers.iter().enumerate() {
            check_text(&format!("loyalty_numbers[{i}].program"), &l.program, 60, &mut e);
            check_code(&format!("loyalty_numbers[{i}].number"), &l.number, 3, 40, &mut e);
        }
        if let Some(v) = &self.known_traveler_number {
            check_code("known_traveler_number", v, 5, 25, &mut e);
        }
        if let Some(c) = &self.emergency_contact {
            check_text("emergency_contact.name", &c.name, 200, &mut e);
            check_phone("emergency_contact.phone", &c.phone, &mut e);
            if let Some(r) = &c.relation {
                check_text("emergency_contact.relation", r, 60, &mut e);
            }
        }
        into_result(e)
    }

    /// The restricted fields that are set, each as the JSON to seal.
    pub fn restricted_values(&self) -> ApiResult<Vec<(&'static str, Vec<u8>)>> {
        let json = |v: &dyn erased_serialize::Ser| v.bytes();
        let mut out = Vec::new();
        let mut push = |name: &'static str, bytes: Option<Vec<u8>>| {
            if let Some(b) = bytes {
                out.push((name, b));
            }
        };
        push("passport", self.passport.as_ref().map(|v| json(v)));
        push("national_id", self.national_id.as_ref().map(|v| json(v)));
        push("date_of_birth", self.date_of_birth.as_ref().map(|v| json(v)));
        push("phone", self.phone.as_ref().map(|v| json(v)));
        push("home_address", self.home_address.as_ref().map(|v| json(v)));
        push("loyalty_numbers", (!self.loyalty_numbers.is_empty()).then(|| json(&self.loyalty_numbers)));
        push("known_traveler_number", self.known_traveler_number.as_ref().map(|v| json(v)));
        push("emergency_contact", self.emergency_contact.as_ref().map(|v| json(v)));
        if out.iter().any(|(_, b)| b.is_empty()) {
            return Err(ApiError::Internal("a restricted field did not serialise".into()));
        }
        Ok(out)
    }
}

mod erased_serialize {
    pub trait Ser {
        fn bytes(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn bytes(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap_or_default()
        }
    }
}

/// Masks a value for a viewer who may only see the last characters: strings keep their last
/// four characters (two if short), numbers and booleans are hidden.
pub fn mask(value: &Value) -> Value {
    match value {
        Value::String(s) => {
            let chars: Vec<char> = s.chars().collect();
            let keep = if chars.len() >= 8 {
                4
            } else if chars.len() >= 4 {
                2
            } else {
                0
            };
            let masked: String =
                chars.iter().enumerate().map(|(i, c)| if i + keep >= chars.len() || !c.is_alphanumeric() { *c } else { '•' }).collect();
            Value::String(masked)
        }
        Value::Array(a) => Value::Array(a.iter().map(mask).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), mask(v))).collect::<Map<_, _>>()),
        Value::Null => Value::Null,
        _ => Value::String("•••".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_all_but_the_last_characters() {
        assert_eq!(mask(&json!("P12345678")), json!("•••••5678"));
        assert_eq!(mask(&json!("+4930123456")), json!("+••••••3456"));
        assert_eq!(mask(&json!("1980-04-12")), json!("••••-•4-12"));
        assert_eq!(mask(&json!({"name": "Ann", "phone": "+4930123456"})), json!({"name": "•••", "phone": "+••••••3456"}));
    }

    #[test]
    fn validation_names_each_bad_field() {
        let today = time::macros::date!(2026 - 11 - 24);
        let p: ProfileInput = serde_json::from_value(json!({
            "passport": {"number": "P1", "expiry": "2030-13-01", "issuing_country": "Germany"},
            "date_of_birth": "2030-01-01",
            "phone": "030 123",
            "emergency_contact": {"name": "", "phone": "+491234567"}
        }))
        .unwrap();
        let Err(ApiError::Validation(errors)) = p.validate(today) else { panic!("expected errors") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["passport.number", "passport.expiry", "passport.issuing_country", "date_of_birth", "phone", "emergency_contact.name"]
        );
        let ok: ProfileInput = serde_json::from_value(json!({"given_names": "Tess", "passport": {"number": "P1234567", "expiry": "2030-01-31", "issuing_country": "DE"}, "date_of_birth": "1985-06-01", "phone": "+4930123456"})).unwrap();
        ok.validate(today).unwrap();
    }
}
