//! Company settings: one item per tenant.

use super::validate::{check_list_len, check_text, into_result};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::store::{Collection, Item};
use crate::tenancy::TenantScope;
use serde::{Deserialize, Serialize};

pub const SETTINGS_ID: &str = "SETTINGS";
const MAX_ENTRIES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalEntity {
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    pub name: String,
    pub city: String,
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostCenter {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CompanySettings {
    pub name: String,
    #[serde(default)]
    pub legal_entities: Vec<LegalEntity>,
    #[serde(default)]
    pub offices: Vec<Office>,
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub cost_centers: Vec<CostCenter>,
    /// The carbon methodology offers and bookings are computed with (see
    /// `GET /v1/carbon/methodologies`); DESNZ 2025 with radiative forcing when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carbon_methodology: Option<String>,
}

/// A partial update; unknown fields are refused, never ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    pub name: Option<String>,
    pub legal_entities: Option<Vec<LegalEntity>>,
    pub offices: Option<Vec<Office>>,
    pub departments: Option<Vec<String>>,
    pub cost_centers: Option<Vec<CostCenter>>,
    pub carbon_methodology: Option<String>,
    /// The version the client read; a mismatch gets 409.
    pub version: Option<u64>,
}

/// Two upper-case letters (ISO 3166-1 alpha-2 shape).
pub fn is_country_code(c: &str) -> bool {
    c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())
}

fn check_country(field: &str, c: &str, errors: &mut Vec<FieldError>) {
    if !is_country_code(c) {
        errors.push(FieldError::new(field, "must be an ISO 3166-1 alpha-2 code such as DE"));
    }
}

impl CompanySettings {
    pub fn validate(&self) -> ApiResult<()> {
        let mut e = Vec::new();
        check_text("name", &self.name, 200, &mut e);
        check_list_len("legal_entities", &self.legal_entities, MAX_ENTRIES, &mut e);
        check_list_len("offices", &self.offices, MAX_ENTRIES, &mut e);
        check_list_len("departments", &self.departments, MAX_ENTRIES, &mut e);
        check_list_len("cost_centers", &self.cost_centers, MAX_ENTRIES, &mut e);
        for (i, l) in self.legal_entities.iter().enumerate() {
            check_text(&format!("legal_entities[{i}].name"), &l.name, 200, &mut e);
            check_country(&format!("legal_entities[{i}].country"), &l.country, &mut e);
        }
        for (i, o) in self.offices.iter().enumerate() {
            check_text(&format!("offices[{i}].name"), &o.name, 200, &mut e);
            check_text(&format!("offices[{i}].city"), &o.city, 100, &mut e);
            check_country(&format!("offices[{i}].country"), &o.country, &mut e);
        }
        for (i, d) in self.departments.iter().enumerate() {
            check_text(&format!("departments[{i}]"), d, 100, &mut e);
        }
        let mut codes = std::collections::HashSet::new();
        for (i, c) in self.cost_centers.iter().enumerate() {
            check_text(&format!("cost_centers[{i}].code"), &c.code, 40, &mut e);
            check_text(&format!("cost_centers[{i}].name"), &c.name, 200, &mut e);
            if !codes.insert(&c.code) {
                e.push(FieldError::new(format!("cost_centers[{i}].code"), "is a duplicate"));
            }
        }
        if let Some(m) = &self.carbon_methodology {
            if crate::travel::carbon::methodology(m).is_err() {
                e.push(FieldError::new("carbon_methodology", "is not a methodology of GET /v1/carbon/methodologies"));
            }
        }
        into_result(e)
    }

    /// The methodology in force for this company.
    pub fn methodology_id(&self) -> &str {
        self.carbon_methodology.as_deref().unwrap_or(crate::travel::carbon::DEFAULT_METHODOLOGY)
    }

    pub fn apply(&mut self, patch: CompanyPatch) {
        if let Some(v) = patch.name {
            self.name = v.trim().to_string();
        }
        if let Some(v) = patch.legal_entities {
            self.legal_entities = v;
        }
        if let Some(v) = patch.offices {
            self.offices = v;
        }
        if let Some(v) = patch.departments {
            self.departments = v;
        }
        if let Some(v) = patch.cost_centers {
            self.cost_centers = v;
        }
        if let Some(v) = patch.carbon_methodology {
            self.carbon_methodology = Some(v);
        }
    }

    pub fn item(&self, scope: &TenantScope, version: u64) -> ApiResult<Item> {
        let mut item = Item::new(
            scope.key(Collection::Company, SETTINGS_ID),
            serde_json::to_value(self).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        item.version = version;
        Ok(item)
    }
}
