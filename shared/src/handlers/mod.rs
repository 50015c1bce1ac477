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
use std::future::Future;
use std::pin::Pin;

/// A handler's answer, boxed so that one function pointer type fits every route.
pub type Pending<'a> = Pin<Box<dyn Future<Output = ApiResult<Reply>> + Send + 'a>>;

/// What answers a call once the pipeline has admitted it: a route id (any route, dispatched at
/// run time: the local server and the tests) or one route's type from [`route`] (a function
/// binary, which then links that route's handler and no other).
pub trait Answer: Sync {
    fn answer<'a>(&'a self, app: &'a App, call: &'a Call) -> Pending<'a>;
}

impl Answer for RouteId {
    fn answer<'a>(&'a self, app: &'a App, call: &'a Call) -> Pending<'a> {
        Box::pin(dispatch(app, *self, call))
    }
}

/// A route known at compile time.
pub trait RouteHandler: Answer + Default + 'static {
    const ROUTE: RouteId;
}

/// The one list of which handler serves which route: it makes both the run-time `dispatch`
/// (whose `match` must cover every `RouteId`) and a unit type per route in [`route`].
macro_rules! route_handlers {
    ($($id:ident => $($handler:ident)::+,)*) => {
        async fn dispatch(app: &App, route: RouteId, call: &Call) -> ApiResult<Reply> {
            match route {
                $(RouteId::$id => $($handler)::+(app, call).await,)*
            }
        }

        /// One type per route, named as its [`RouteId`]: `serve_route::<route::Me>` in a
        /// function binary.
        pub mod route {
            use super::*;
            $(
                #[derive(Default)]
                pub struct $id;
                impl Answer for $id {
                    fn answer<'a>(&'a self, app: &'a App, call: &'a Call) -> Pending<'a> {
                        Box::pin($($handler)::+(app, call))
                    }
                }
                impl RouteHandler for $id {
                    const ROUTE: RouteId = RouteId::$id;
                }
            )*
        }
    };
}

route_handlers! {
    Health => health::health,
    Login => auth::login,
    TotpEnroll => auth::totp_enroll,
    TotpVerify => auth::totp_verify,
    Me => me::me,
    TenantsCreate => tenants::create,
    TenantsList => tenants::list,
    TenantsGet => tenants::get,
    TenantsUpdate => tenants::update,
    CompanyGet => company::get,
    CompanyUpdate => company::update,
    UsersCreate => users::create,
    UsersList => users::list,
    UsersGet => users::get,
    UsersUpdate => users::update,
    UsersDeactivate => users::deactivate,
    TenantsOffboard => tenants::offboard,
    TenantKeysRotate => tenants::rotate_keys,
    TenantKeysGet => tenants::keys,
    ProfileMeGet => profiles::me_get,
    ProfileMePut => profiles::me_put,
    ProfileUserGet => profiles::user_get,
    ProfileUserPut => profiles::user_put,
    AuditList => audit::list,
    AuditVerify => audit::verify,
    BookingsCreate => bookings::create,
    BookingsList => bookings::list,
    BookingsGet => bookings::get,
    BookingsCancel => bookings::cancel,
    BookingsApprove => bookings::approve,
    BookingsReject => bookings::reject,
    ApprovalsList => bookings::approvals,
    ReportsSummary => bookings::summary,
    SearchFlights => travel::search_flights,
    SearchRail => travel::search_rail,
    SearchHotels => travel::search_hotels,
    CarbonMethodologies => travel::methodologies,
    PolicyGet => travel::policy_get,
    PolicyPut => travel::policy_put,
}
