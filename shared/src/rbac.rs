//! Roles, permissions and the permission matrix of the product specification, in one place.
//! Every endpoint names one [`Permission`]; [`grant`] answers what a role may do with it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    RootAdmin,
    CompanyAdmin,
    ReportingAdmin,
    TravelArranger,
    Traveler,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::RootAdmin, Role::CompanyAdmin, Role::ReportingAdmin, Role::TravelArranger, Role::Traveler];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::RootAdmin => "root_admin",
            Role::CompanyAdmin => "company_admin",
            Role::ReportingAdmin => "reporting_admin",
            Role::TravelArranger => "travel_arranger",
            Role::Traveler => "traveler",
        }
    }

    /// Admin roles must sign in with a second factor, and their admin actions need a token
    /// that carries it.
    pub fn requires_second_factor(self) -> bool {
        matches!(self, Role::RootAdmin | Role::CompanyAdmin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

/// Which travelers a travel arranger may act for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ArrangerScope {
    /// Every traveler of the tenant.
    All,
    /// Only the listed users (for example the executives).
    Assigned { user_ids: Vec<String> },
}

impl ArrangerScope {
    pub fn covers(&self, user_id: &str) -> bool {
        match self {
            ArrangerScope::All => true,
            ArrangerScope::Assigned { user_ids } => user_ids.iter().any(|u| u == user_id),
        }
    }
}

/// Every action of the specification's matrix, including those whose endpoints come later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ManageTenants,
    ReadCompanySettings,
    UpdateCompanySettings,
    ManageUsers,
    ListUsers,
    ManageOwnProfile,
    ManageOtherProfiles,
    ReadPolicy,
    WritePolicy,
    BookForSelf,
    BookForOthers,
    ManageOwnBookings,
    ManageOthersBookings,
    ApproveBookings,
    ViewReports,
    SetCarbonBudgets,
    ReadAuditLog,
    RotateTenantKeys,
}

impl Permission {
    pub const ALL: [Permission; 18] = [
        Permission::ManageTenants,
        Permission::ReadCompanySettings,
        Permission::UpdateCompanySettings,
        Permission::ManageUsers,
        Permission::ListUsers,
        Permission::ManageOwnProfile,
        Permission::ManageOtherProfiles,
        Permission::ReadPolicy,
        Permission::WritePolicy,
        Permission::BookForSelf,
        Permission::BookForOthers,
        Permission::ManageOwnBookings,
        Permission::ManageOthersBookings,
        Permission::ApproveBookings,
        Permission::ViewReports,
        Permission::SetCarbonBudgets,
        Permission::ReadAuditLog,
        Permission::RotateTenantKeys,
    ];

    /// Whether the action changes company configuration or other people's data, so an admin
    /// must hold a token that carries the second factor.
    pub fn is_admin_action(self) -> bool {
        !matches!(
            self,
            Permission::ReadCompanySettings
                | Permission::ManageOwnProfile
                | Permission::ReadPolicy
                | Permission::BookForSelf
                | Permission::ManageOwnBookings
        )
    }
}

/// What a role may do with a permission. Ordered from least to most access so that a user
/// holding several roles gets the widest grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    Denied,
    /// Only display names of users (reporting admin listing users).
    NamesOnly,
    /// Read, without restricted (sensitive) fields.
    ReadWithoutSensitive,
    /// Restricted fields shown masked.
    Masked,
    /// Only for the travelers in the arranger's scope.
    InScope,
    /// Everything within the caller's own tenant.
    Tenant,
    /// Any tenant; every use is audited and raises an alert.
    AuditedAlert,
    /// Any tenant (platform operator).
    Platform,
}

/// The permission matrix of the product specification.
pub fn grant(role: Role, permission: Permission) -> Grant {
    use Grant::*;
    use Permission as P;
    use Role as R;
    match (permission, role) {
        (P::ManageTenants, R::RootAdmin) => Platform,
        (P::ManageTenants, _) => Denied,

        (P::ReadCompanySettings, R::RootAdmin) => Platform,
        (P::ReadCompanySettings, _) => Tenant,

        (P::UpdateCompanySettings | P::ManageUsers | P::WritePolicy | P::SetCarbonBudgets, R::RootAdmin) => Platform,
        (P::UpdateCompanySettings | P::ManageUsers | P::WritePolicy | P::SetCarbonBudgets, R::CompanyAdmin) => Tenant,
        (P::UpdateCompanySettings | P::ManageUsers | P::WritePolicy | P::SetCarbonBudgets, _) => Denied,

        (P::ListUsers, R::RootAdmin) => Platform,
        (P::ListUsers, R::CompanyAdmin) => Tenant,
        (P::ListUsers, R::ReportingAdmin) => NamesOnly,
        (P::ListUsers, R::TravelArranger) => InScope,
        (P::ListUsers, R::Traveler) => Denied,

        (P::ManageOwnProfile | P::BookForSelf | P::ManageOwnBookings, R::RootAdmin) => Denied,
        (P::ManageOwnProfile | P::BookForSelf | P::ManageOwnBookings, _) => Tenant,

        (P::ManageOtherProfiles, R::RootAdmin) => AuditedAlert,
        (P::ManageOtherProfiles, R::CompanyAdmin) => Masked,
        (P::ManageOtherProfiles, R::TravelArranger) => InScope,
        (P::ManageOtherProfiles, _) => Denied,

        (P::ReadPolicy, R::RootAdmin) => Platform,
        (P::ReadPolicy, _) => Tenant,

        (P::BookForOthers, R::TravelArranger) => InScope,
        (P::BookForOthers, _) => Denied,

        (P::ManageOthersBookings, R::RootAdmin) => Platform,
        (P::ManageOthersBookings, R::CompanyAdmin) => Tenant,
        (P::ManageOthersBookings, R::ReportingAdmin) => ReadWithoutSensitive,
        (P::ManageOthersBookings, R::TravelArranger) => InScope,
        (P::ManageOthersBookings, R::Traveler) => Denied,

        (P::ApproveBookings, R::CompanyAdmin) => Tenant,
        (P::ApproveBookings, _) => Denied,

        (P::ViewReports, R::RootAdmin) => Platform,
        (P::ViewReports, R::CompanyAdmin | R::ReportingAdmin) => Tenant,
        (P::ViewReports, _) => Denied,

        (P::ReadAuditLog, R::RootAdmin) => Platform,
        (P::ReadAuditLog, R::CompanyAdmin) => Tenant,
        (P::ReadAuditLog, _) => Denied,

        (P::RotateTenantKeys, R::RootAdmin) => Platform,
        (P::RotateTenantKeys, _) => Denied,
    }
}

/// The widest grant any of the roles gives.
pub fn best_grant(roles: &[Role], permission: Permission) -> Grant {
    roles.iter().map(|r| grant(*r, permission)).max().unwrap_or(Grant::Denied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.as_str()));
        }
        assert!("superuser".parse::<Role>().is_err());
    }

    #[test]
    fn several_roles_get_the_widest_grant() {
        let roles = [Role::Traveler, Role::ReportingAdmin];
        assert_eq!(best_grant(&roles, Permission::ListUsers), Grant::NamesOnly);
        assert_eq!(best_grant(&[], Permission::ReadPolicy), Grant::Denied);
    }

    #[test]
    fn assigned_arranger_scope_covers_only_its_list() {
        let s = ArrangerScope::Assigned { user_ids: vec!["u_1".into()] };
        assert!(s.covers("u_1"));
        assert!(!s.covers("u_2"));
        assert!(ArrangerScope::All.covers("u_2"));
    }
}
