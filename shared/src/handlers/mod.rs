//! Endpoint handlers: parse, check what the grant allows, call the domain, shape the answer.

mod audit;
mod auth;
mod bookings;
mod company;
mod health;
mod me;
mod profiles;
mod tenants;
pub mod travel;
mod users;

use crate::app::App;
use crate::error::ApiResult;
use crate::http::{Call, Reply};
use crate::routes::RouteId;

pub async fn dispatch(app: &App, route: RouteId, call: &Call) -> ApiResult<Reply> {
    match route {
        RouteId::Health => health::health(app, call).await,
        RouteId::Login => auth::login(app, call).await,
        RouteId::TotpEnroll => auth::totp_enroll(app, call).await,
        RouteId::TotpVerify => auth::totp_verify(app, call).await,
        RouteId::Me => me::me(app, call).await,
        RouteId::TenantsCreate => tenants::create(app, call).await,
        RouteId::TenantsList => tenants::list(app, call).await,
        RouteId::TenantsGet => tenants::get(app, call).await,
        RouteId::TenantsUpdate => tenants::update(app, call).await,
        RouteId::CompanyGet => company::get(app, call).await,
        RouteId::CompanyUpdate => company::update(app, call).await,
        RouteId::UsersCreate => users::create(app, call).await,
        RouteId::UsersList => users::list(app, call).await,
        RouteId::UsersGet => users::get(app, call).await,
        RouteId::UsersUpdate => users::update(app, call).await,
        RouteId::UsersDeactivate => users::deactivate(app, call).await,
        RouteId::TenantsOffboard => tenants::offboard(app, call).await,
        RouteId::TenantKeysRotate => tenants::rotate_keys(app, call).await,
        RouteId::TenantKeysGet => tenants::keys(app, call).await,
        RouteId::ProfileMeGet => profiles::me_get(app, call).await,
        RouteId::ProfileMePut => profiles::me_put(app, call).await,
        RouteId::ProfileUserGet => profiles::user_get(app, call).await,
        RouteId::ProfileUserPut => profiles::user_put(app, call).await,
        RouteId::AuditList => audit::list(app, call).await,
        RouteId::AuditVerify => audit::verify(app, call).await,
        RouteId::BookingsCreate => bookings::create(app, call).await,
        RouteId::BookingsList => bookings::list(app, call).await,
        RouteId::BookingsGet => bookings::get(app, call).await,
        RouteId::BookingsCancel => bookings::cancel(app, call).await,
        RouteId::BookingsApprove => bookings::approve(app, call).await,
        RouteId::BookingsReject => bookings::reject(app, call).await,
        RouteId::ApprovalsList => bookings::approvals(app, call).await,
        RouteId::ReportsSummary => bookings::summary(app, call).await,
        RouteId::SearchFlights => travel::search_flights(app, call).await,
        RouteId::SearchRail => travel::search_rail(app, call).await,
        RouteId::SearchHotels => travel::search_hotels(app, call).await,
        RouteId::CarbonMethodologies => travel::methodologies(app, call).await,
        RouteId::PolicyGet => travel::policy_get(app, call).await,
        RouteId::PolicyPut => travel::policy_put(app, call).await,
    }
}
