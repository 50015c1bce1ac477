//! The route table: the single source of truth for every endpoint's method, path, Lambda
//! function and required permission. The local server, template.yaml, the OpenAPI document and
//! the `events/` samples are all tested against it.

use crate::rbac::Permission;

/// Who may call a route at all, before the permission matrix is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Public,
    /// A valid token whose authentication may still lack the second factor: used by the TOTP
    /// enrolment endpoints, which is how an admin gets a second factor in the first place.
    SignedIn,
    /// A valid token, then the permission matrix for this permission.
    Requires(Permission),
    /// A valid token and any of these permissions; the handler decides what each grant reaches
    /// (own bookings, or others' within the grant).
    AnyOf(&'static [Permission]),
}

impl Access {
    /// The permissions a caller may pass with.
    pub fn permissions(&self) -> &[Permission] {
        match self {
            Access::Requires(p) => std::slice::from_ref(p),
            Access::AnyOf(ps) => ps,
            _ => &[],
        }
    }
}

/// The kind of resource a path `{id}` names, so a denied caller gets 404 for ids it may not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    None,
    Tenant,
    User,
    Booking,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteId {
    Health,
    Login,
    TotpEnroll,
    TotpVerify,
    Me,
    TenantsCreate,
    TenantsList,
    TenantsGet,
    TenantsUpdate,
    CompanyGet,
    CompanyUpdate,
    UsersCreate,
    UsersList,
    UsersGet,
    UsersUpdate,
    UsersDeactivate,
    TenantsOffboard,
    TenantKeysRotate,
    TenantKeysGet,
    ProfileMeGet,
    ProfileMePut,
    ProfileUserGet,
    ProfileUserPut,
    AuditList,
    AuditVerify,
    BookingsCreate,
    BookingsList,
    BookingsGet,
    BookingsCancel,
    BookingsApprove,
    BookingsReject,
    ApprovalsList,
    ReportsSummary,
    SearchFlights,
    SearchRail,
    SearchHotels,
    CarbonMethodologies,
    PolicyGet,
    PolicyPut,
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub id: RouteId,
    pub method: &'static str,
    /// Path template in API Gateway syntax (`{id}` for a path parameter).
    pub path: &'static str,
    /// The Lambda function (binary under `functions/src/bin/`, resource in template.yaml).
    pub function: &'static str,
    pub access: Access,
    pub resource: Resource,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
}

use Access::{AnyOf, Public, Requires, SignedIn};

const OWN_OR_OTHERS_BOOKINGS: &[Permission] = &[Permission::ManageOwnBookings, Permission::ManageOthersBookings];
use Permission as P;

pub const ROUTES: &[Route] = &[
    route(RouteId::Health, "GET", "/v1/health", "health", Public, Resource::None, "Liveness check"),
    route(RouteId::Login, "POST", "/v1/auth/login", "auth-login", Public, Resource::None, "Sign in with email, password and TOTP code"),
    route(
        RouteId::TotpEnroll,
        "POST",
        "/v1/auth/totp/enroll",
        "auth-totp-enroll",
        SignedIn,
        Resource::None,
        "Start TOTP enrolment: returns a new secret",
    ),
    route(
        RouteId::TotpVerify,
        "POST",
        "/v1/auth/totp/verify",
        "auth-totp-verify",
        SignedIn,
        Resource::None,
        "Confirm TOTP enrolment with a current code",
    ),
    route(RouteId::Me, "GET", "/v1/me", "me", SignedIn, Resource::None, "The signed-in user"),
    route(
        RouteId::TenantsCreate,
        "POST",
        "/v1/tenants",
        "tenants-create",
        Requires(P::ManageTenants),
        Resource::None,
        "Onboard a tenant with its first company admin",
    ),
    route(RouteId::TenantsList, "GET", "/v1/tenants", "tenants-list", Requires(P::ManageTenants), Resource::None, "List tenants"),
    route(RouteId::TenantsGet, "GET", "/v1/tenants/{id}", "tenants-get", Requires(P::ManageTenants), Resource::Tenant, "Read a tenant"),
    route(
        RouteId::TenantsUpdate,
        "PATCH",
        "/v1/tenants/{id}",
        "tenants-update",
        Requires(P::ManageTenants),
        Resource::Tenant,
        "Rename, suspend or reactivate a tenant",
    ),
    route(
        RouteId::CompanyGet,
        "GET",
        "/v1/company",
        "company-get",
        Requires(P::ReadCompanySettings),
        Resource::None,
        "Read company settings",
    ),
    route(
        RouteId::CompanyUpdate,
        "PATCH",
        "/v1/company",
        "company-update",
        Requires(P::UpdateCompanySettings),
        Resource::None,
        "Update company settings",
    ),
    route(RouteId::UsersCreate, "POST", "/v1/users", "users-create", Requires(P::ManageUsers), Resource::None, "Create a user"),
    route(RouteId::UsersList, "GET", "/v1/users", "users-list", Requires(P::ListUsers), Resource::None, "List the company's users"),
    route(RouteId::UsersGet, "GET", "/v1/users/{id}", "users-get", Requires(P::ListUsers), Resource::User, "Read a user"),
    route(
        RouteId::UsersUpdate,
        "PATCH",
        "/v1/users/{id}",
        "users-update",
        Requires(P::ManageUsers),
        Resource::User,
        "Change a user's name, roles or arranger scope",
    ),
    route(
        RouteId::UsersDeactivate,
        "DELETE",
        "/v1/users/{id}",
        "users-deactivate",
        Requires(P::ManageUsers),
        Resource::User,
        "Deactivate a user",
    ),
    route(
        RouteId::TenantsOffboard,
        "DELETE",
        "/v1/tenants/{id}",
        "tenants-offboard",
        Requires(P::ManageTenants),
        Resource::Tenant,
        "Offboard a suspended tenant, destroying its data keys",
    ),
    route(
        RouteId::TenantKeysRotate,
        "POST",
        "/v1/tenants/{id}/keys/rotate",
        "tenant-keys-rotate",
        Requires(P::RotateTenantKeys),
        Resource::Tenant,
        "Rotate a tenant's data key and schedule re-encryption",
    ),
    route(
        RouteId::TenantKeysGet,
        "GET",
        "/v1/tenants/{id}/keys",
        "tenant-keys-get",
        Requires(P::RotateTenantKeys),
        Resource::Tenant,
        "A tenant's key version and re-encryption progress",
    ),
    route(
        RouteId::ProfileMeGet,
        "GET",
        "/v1/me/profile",
        "profile-me-get",
        Requires(P::ManageOwnProfile),
        Resource::None,
        "Read your own traveler profile",
    ),
    route(
        RouteId::ProfileMePut,
        "PUT",
        "/v1/me/profile",
        "profile-me-put",
        Requires(P::ManageOwnProfile),
        Resource::None,
        "Replace your own traveler profile",
    ),
    route(
        RouteId::ProfileUserGet,
        "GET",
        "/v1/users/{id}/profile",
        "profile-user-get",
        Requires(P::ManageOtherProfiles),
        Resource::User,
        "Read another traveler's profile",
    ),
    route(
        RouteId::ProfileUserPut,
        "PUT",
        "/v1/users/{id}/profile",
        "profile-user-put",
        Requires(P::ManageOtherProfiles),
        Resource::User,
        "Replace another traveler's profile",
    ),
    route(
        RouteId::AuditList,
        "GET",
        "/v1/audit",
        "audit-list",
        Requires(P::ReadAuditLog),
        Resource::None,
        "Read the audit trail (time range, actor, action, outcome filters)",
    ),
    route(
        RouteId::AuditVerify,
        "GET",
        "/v1/audit/verify",
        "audit-verify",
        Requires(P::ReadAuditLog),
        Resource::None,
        "Verify the audit trail's hash chain",
    ),
    route(
        RouteId::SearchFlights,
        "POST",
        "/v1/search/flights",
        "search-flights",
        Requires(P::BookForSelf),
        Resource::None,
        "Search flights with price, CO2e and policy verdict",
    ),
    route(RouteId::SearchRail, "POST", "/v1/search/rail", "search-rail", Requires(P::BookForSelf), Resource::None, "Search rail journeys"),
    route(
        RouteId::SearchHotels,
        "POST",
        "/v1/search/hotels",
        "search-hotels",
        Requires(P::BookForSelf),
        Resource::None,
        "Search hotel stays",
    ),
    route(
        RouteId::CarbonMethodologies,
        "GET",
        "/v1/carbon/methodologies",
        "carbon-methodologies",
        Requires(P::ReadCompanySettings),
        Resource::None,
        "Carbon methodologies with their sources",
    ),
    route(RouteId::PolicyGet, "GET", "/v1/policy", "policy-get", Requires(P::ReadPolicy), Resource::None, "Read the travel policy"),
    route(
        RouteId::PolicyPut,
        "PUT",
        "/v1/policy",
        "policy-put",
        Requires(P::WritePolicy),
        Resource::None,
        "Replace the travel policy (versioned)",
    ),
    route(
        RouteId::BookingsCreate,
        "POST",
        "/v1/bookings",
        "bookings-create",
        Requires(P::BookForSelf),
        Resource::None,
        "Book a stored offer (Idempotency-Key required)",
    ),
    route(
        RouteId::BookingsList,
        "GET",
        "/v1/bookings",
        "bookings-list",
        AnyOf(OWN_OR_OTHERS_BOOKINGS),
        Resource::None,
        "List bookings (status, traveler and date filters)",
    ),
    route(
        RouteId::BookingsGet,
        "GET",
        "/v1/bookings/{id}",
        "bookings-get",
        AnyOf(OWN_OR_OTHERS_BOOKINGS),
        Resource::Booking,
        "Read a booking",
    ),
    route(
        RouteId::BookingsCancel,
        "POST",
        "/v1/bookings/{id}/cancel",
        "bookings-cancel",
        AnyOf(OWN_OR_OTHERS_BOOKINGS),
        Resource::Booking,
        "Cancel a booking",
    ),
    route(
        RouteId::BookingsApprove,
        "POST",
        "/v1/bookings/{id}/approve",
        "bookings-approve",
        Requires(P::ApproveBookings),
        Resource::Booking,
        "Approve an out-of-policy booking",
    ),
    route(
        RouteId::BookingsReject,
        "POST",
        "/v1/bookings/{id}/reject",
        "bookings-reject",
        Requires(P::ApproveBookings),
        Resource::Booking,
        "Reject an out-of-policy booking",
    ),
    route(
        RouteId::ApprovalsList,
        "GET",
        "/v1/approvals",
        "approvals-list",
        Requires(P::ApproveBookings),
        Resource::None,
        "Bookings waiting for approval",
    ),
    route(
        RouteId::ReportsSummary,
        "GET",
        "/v1/reports/summary",
        "reports-summary",
        Requires(P::ViewReports),
        Resource::None,
        "Trips, spend and CO2e per month, mode, department, cost center, traveler",
    ),
];

/// Functions that serve no route: the gateway authorizer and the scheduled re-encryption job.
pub const BACKGROUND_FUNCTIONS: &[&str] = &["authorizer", "keys-reencrypt", "audit-archive"];

/// The functions that call KMS themselves, to create or unwrap tenant data keys (profiles, TOTP
/// secrets, key rotation, re-encryption). The others are built without a KMS client: their key
/// port fails closed, and their role may use the key only through Secrets Manager.
pub const KMS_FUNCTIONS: &[&str] = &[
    "auth-login",
    "auth-totp-enroll",
    "auth-totp-verify",
    "tenant-keys-rotate",
    "profile-me-get",
    "profile-me-put",
    "profile-user-get",
    "profile-user-put",
    "keys-reencrypt",
];

/// The functions that write objects to S3; the others are built without an S3 client.
pub const S3_FUNCTIONS: &[&str] = &["audit-archive"];

#[allow(clippy::too_many_arguments)]
const fn route(
    id: RouteId,
    method: &'static str,
    path: &'static str,
    function: &'static str,
    access: Access,
    resource: Resource,
    summary: &'static str,
) -> Route {
    Route { id, method, path, function, access, resource, summary }
}

impl Route {
    pub fn by_id(id: RouteId) -> &'static Route {
        ROUTES.iter().find(|r| r.id == id).expect("every RouteId has a row in ROUTES")
    }

    pub fn by_function(function: &str) -> Option<&'static Route> {
        ROUTES.iter().find(|r| r.function == function)
    }

    /// Matches a concrete path against this route's template, returning the `{id}` value if
    /// the template has one.
    pub fn match_path<'a>(&self, path: &'a str) -> Option<Option<&'a str>> {
        let mut param = None;
        let mut template = self.path.split('/');
        let mut concrete = path.trim_end_matches('/').split('/');
        loop {
            match (template.next(), concrete.next()) {
                (None, None) => return Some(param),
                (Some(t), Some(c)) if t.starts_with('{') && t.ends_with('}') => {
                    if c.is_empty() {
                        return None;
                    }
                    param = Some(c);
                }
                (Some(t), Some(c)) if t == c => {}
                _ => return None,
            }
        }
    }

    /// Finds the route for a method and path (the local server's router).
    pub fn resolve<'a>(method: &str, path: &'a str) -> Option<(&'static Route, Option<&'a str>)> {
        ROUTES.iter().filter(|r| r.method.eq_ignore_ascii_case(method)).find_map(|r| r.match_path(path).map(|p| (r, p)))
    }

    /// Methods served on a path, for `Allow` headers and CORS preflight.
    pub fn methods_for(path: &str) -> Vec<&'static str> {
        ROUTES.iter().filter(|r| r.match_path(path).is_some()).map(|r| r.method).collect()
    }
}
