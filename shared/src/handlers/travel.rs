//! Search: flights, rail and hotels for oneself, or for a traveler in an arranger's scope.
//! Every offer carries its price, its CO2e under the company's methodology (with the factor ids
//! it used) and its policy verdict; the offers are stored under the tenant for a limited time,
//! so a booking takes price, carbon and verdict from the stored offer, never from the client.

use crate::app::App;
use crate::domain::company::{CompanySettings, SETTINGS_ID};
use crate::domain::policy::{self, Policy, Rules, Subject, Verdict};
use crate::domain::users::{self, UserHome, UserRecord};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::{Call, Reply};
use crate::ids::UserId;
use crate::rbac::{Grant, Permission};
use crate::store::{Collection, Commit, Condition, Item};
use crate::tenancy::{AuthContext, TenantScope};
use crate::travel::airports::{self, Airport};
use crate::travel::carbon::{self, Co2e, Methodology};
use crate::travel::money::Price;
use crate::travel::sandbox::{rail_offered, SandboxSupplier};
use crate::travel::supplier::{Cabin, FlightItinerary, FlightQuery, HotelQuery, RailJourney, RailQuery, Supplier};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// How long offers stay bookable.
pub const OFFER_TTL_SECONDS: i64 = 30 * 60;
const MAX_DAYS_AHEAD: i64 = 365;
pub const POLICY_ID: &str = "CURRENT";

/// A stored offer: everything a booking needs, decided at search time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredOffer {
    pub id: String,
    pub mode: String,
    pub price: Price,
    pub price_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cabin: Option<Cabin>,
    pub co2e_kg: f64,
    pub co2e: Co2e,
    pub policy: Verdict,
    pub details: Value,
}

/// A search's offers as stored for booking, by offer id, so that a booking reads its one offer
/// and nothing else of the search ([`crate::store::Store::get_parts`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSearch {
    pub search_id: String,
    pub traveler_id: String,
    pub created_at: String,
    pub offers: BTreeMap<String, StoredOffer>,
}

fn today(app: &App) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(app.clock.now()).map(|t| t.date()).unwrap_or(time::Date::MIN)
}

fn date_field(field: &str, value: &str, today: time::Date, e: &mut Vec<FieldError>) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(value, format) {
        Err(_) => {
            e.push(FieldError::new(field, "must be a date as YYYY-MM-DD"));
            None
        }
        Ok(d) if d < today => {
            e.push(FieldError::new(field, "must not be in the past"));
            None
        }
        Ok(d) if (d - today).whole_days() > MAX_DAYS_AHEAD => {
            e.push(FieldError::new(field, "must be within a year"));
            None
        }
        Ok(d) => Some(d),
    }
}

fn airport_field(field: &str, code: &str, e: &mut Vec<FieldError>) -> Option<Airport> {
    let found = (code.len() == 3).then(|| airports::find(code)).flatten();
    if found.is_none() {
        e.push(FieldError::new(field, "is not a known IATA airport code"));
    }
    found
}

/// Who the search is for: the caller, or a traveler in the caller's arranger scope.
async fn traveler(app: &App, call: &Call, traveler_id: Option<&str>) -> ApiResult<(TenantScope, UserRecord)> {
    let scope = call.tenant_scope()?;
    let user = traveler_for(app, call.ctx()?, &scope, traveler_id).await?;
    Ok((scope, user))
}

/// Whom a search or booking is for: the caller, or an active traveler in the caller's arranger
/// scope. The traveler is looked up in the caller's tenant first, so another company's user is
/// "not found" (404), as tenant isolation answers everywhere, before any scope check.
pub(crate) async fn traveler_for(app: &App, ctx: &AuthContext, scope: &TenantScope, traveler_id: Option<&str>) -> ApiResult<UserRecord> {
    let me = ctx.principal().user_id.as_str();
    let target = traveler_id.unwrap_or(me);
    let user = if target == me {
        // The caller's own record: the pipeline just loaded it into the container's cache.
        app.current_user(Some(scope.tenant_id()), &ctx.principal().user_id).await?.ok_or(ApiError::Unauthenticated)?
    } else {
        let id = UserId::parse(target).map_err(|_| ApiError::validation("traveler_id", "is not a user id"))?;
        let found = users::load(&app.store, &UserHome::Tenant(scope.clone()), &id).await?.ok_or(ApiError::NotFound)?.0;
        let covered = ctx.grant(Permission::BookForOthers) == Grant::InScope
            && ctx.principal().arranger_scope.as_ref().is_some_and(|s| s.covers(target));
        if !covered {
            return Err(ApiError::Forbidden);
        }
        found
    };
    if !user.is_active() {
        return Err(ApiError::Conflict("the traveler is deactivated".into()));
    }
    Ok(user)
}

pub async fn load_settings(app: &App, scope: &TenantScope) -> ApiResult<CompanySettings> {
    match app.store.get(&scope.key(Collection::Company, SETTINGS_ID)).await? {
        Some(item) => Ok(item.decode()?),
        None => Ok(CompanySettings::default()),
    }
}

pub async fn load_policy(app: &App, scope: &TenantScope) -> ApiResult<(Policy, u64)> {
    match app.store.get(&scope.key(Collection::Policy, POLICY_ID)).await? {
        Some(item) => Ok((item.decode()?, item.version)),
        None => Ok((Policy::default(), 0)),
    }
}

/// The company's methodology and the traveler's rules.
async fn context(app: &App, scope: &TenantScope, traveler: &UserRecord) -> ApiResult<(Methodology, Rules)> {
    let (settings, (policy, _)) = tokio::try_join!(load_settings(app, scope), load_policy(app, scope))?;
    let methodology = carbon::methodology(settings.methodology_id()).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((methodology, policy.effective(traveler.department.as_deref())))
}

fn carbon_error(e: carbon::CarbonError) -> ApiError {
    ApiError::Internal(e.to_string())
}

fn flight_co2e(m: &Methodology, it: &FlightItinerary) -> ApiResult<Co2e> {
    let mut uses = Vec::new();
    for leg in &it.legs {
        let (a, b) = (airports::find(&leg.origin), airports::find(&leg.destination));
        let (Some(a), Some(b)) = (a, b) else { return Err(ApiError::Internal("a leg names an unknown airport".into())) };
        uses.push(m.flight_leg(&a, &b, leg.distance_km, it.cabin).map_err(carbon_error)?);
    }
    Ok(m.total(uses))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn rail_offer(m: &Methodology, rules: &Rules, j: &RailJourney, days: i64, n: usize, search_id: &str) -> ApiResult<StoredOffer> {
    let (a, b) = (airports::find(&j.origin), airports::find(&j.destination));
    let (Some(a), Some(b)) = (a, b) else { return Err(ApiError::Internal("unknown station".into())) };
    let co2e = m.total(vec![m.rail(a.country, b.country, j.distance_km).map_err(carbon_error)?]);
    let verdict = policy::evaluate(rules, &Subject::Rail { price: j.price }, days, co2e.kg);
    Ok(StoredOffer {
        id: format!("{search_id}-{n}"),
        mode: "rail".into(),
        price: Price::eur(j.price),
        price_cents: j.price.0,
        distance_km: Some(round1(j.distance_km)),
        cabin: None,
        co2e_kg: co2e.kg,
        co2e,
        policy: verdict,
        details: serde_json::to_value(j).map_err(|e| ApiError::Internal(e.to_string()))?,
    })
}

/// What a search found, ready to store and show.
struct Found<'a> {
    search_id: String,
    traveler: &'a UserRecord,
    methodology: &'a Methodology,
    offers: Vec<StoredOffer>,
    /// For flights: the rail alternatives (empty when rail is not offered).
    alternatives: Option<Vec<StoredOffer>>,
}

/// Stores the offers (and alternatives) under the tenant for [`OFFER_TTL_SECONDS`] and answers
/// with them; an alternative shows the CO2e it saves against the lowest-carbon flight.
async fn store_and_answer(app: &App, call: &Call, scope: &TenantScope, found: Found<'_>) -> ApiResult<Reply> {
    let best_flight = found.offers.iter().map(|o| o.co2e_kg).fold(f64::INFINITY, f64::min);
    let saved = |o: &StoredOffer| if best_flight.is_finite() { ((best_flight - o.co2e_kg) * 1000.0).round() / 1000.0 } else { 0.0 };
    let mut body = json!({
        "search_id": found.search_id,
        "traveler_id": found.traveler.id,
        "methodology": found.methodology.id,
        "offers": found.offers.iter().map(view).collect::<Vec<_>>(),
    });
    if let Some(alternatives) = &found.alternatives {
        body["alternatives"] = alternatives
            .iter()
            .map(|o| {
                let mut v = view(o);
                v["co2e_saved_kg"] = json!(saved(o));
                v
            })
            .collect();
    }
    let search = StoredSearch {
        search_id: found.search_id.clone(),
        traveler_id: found.traveler.id.to_string(),
        created_at: app.clock.now_rfc3339(),
        offers: found.offers.into_iter().chain(found.alternatives.unwrap_or_default()).map(|o| (o.id.clone(), o)).collect(),
    };
    let mut item = Item::new(
        scope.key(Collection::Search, &search.search_id),
        serde_json::to_value(&search).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    item.expires_at = Some(app.clock.now() + OFFER_TTL_SECONDS);
    call.audited(app, 200).put(item, Condition::NotExists).await?;
    Reply::ok(body)
}

fn new_search_id() -> String {
    crate::ids::random_id("s")
}

fn view(o: &StoredOffer) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("price_cents");
        if let Some(Value::Object(details)) = obj.remove("details") {
            for (k, val) in details {
                if !matches!(k.as_str(), "price" | "cabin" | "distance_km") {
                    obj.insert(k, val);
                }
            }
        }
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlightSearch {
    origin: String,
    destination: String,
    depart_on: String,
    #[serde(default)]
    return_on: Option<String>,
    #[serde(default)]
    cabin: Option<Cabin>,
    #[serde(default)]
    traveler_id: Option<String>,
}

pub async fn search_flights(app: &App, call: &Call) -> ApiResult<Reply> {
    let body: FlightSearch = call.json()?;
    let today = today(app);
    let mut e = Vec::new();
    let origin = airport_field("origin", &body.origin, &mut e);
    let destination = airport_field("destination", &body.destination, &mut e);
    let depart = date_field("depart_on", &body.depart_on, today, &mut e);
    let back = body.return_on.as_deref().and_then(|r| date_field("return_on", r, today, &mut e));
    if let (Some(o), Some(d)) = (origin, destination) {
        if o.iata == d.iata {
            e.push(FieldError::new("destination", "must differ from the origin"));
        }
    }
    if let (Some(d), Some(r)) = (depart, back) {
        if r < d {
            e.push(FieldError::new("return_on", "must not be before depart_on"));
        }
    }
    crate::domain::validate::into_result(e)?;
    let (origin, destination, depart) =
        (origin.ok_or(ApiError::NotFound)?, destination.ok_or(ApiError::NotFound)?, depart.ok_or(ApiError::NotFound)?);
    let (scope, traveler) = traveler(app, call, body.traveler_id.as_deref()).await?;
    let (methodology, rules) = context(app, &scope, &traveler).await?;
    let q = FlightQuery { origin: &origin, destination: &destination, depart_on: depart, return_on: back, cabin: body.cabin, today };
    let itineraries = SandboxSupplier.search_flights(&q).await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let days = (depart - today).whole_days();
    let rail = rail_offered(&origin, &destination);
    let search_id = new_search_id();
    let mut offers = Vec::new();
    for (n, it) in itineraries.iter().enumerate() {
        let co2e = flight_co2e(&methodology, it)?;
        let cheapest = itineraries.iter().filter(|o| o.cabin == it.cabin).map(|o| o.price).min().unwrap_or(it.price);
        let longest = it.legs.iter().map(|l| l.distance_km).fold(0.0, f64::max);
        let subject = Subject::Flight {
            cabin: it.cabin,
            longest_leg_km: longest,
            distance_km: it.distance_km,
            price: it.price,
            cheapest_comparable: cheapest,
            rail_offered: rail,
        };
        let verdict = policy::evaluate(&rules, &subject, days, co2e.kg);
        offers.push(StoredOffer {
            id: format!("{search_id}-{n}"),
            mode: "flight".into(),
            price: Price::eur(it.price),
            price_cents: it.price.0,
            distance_km: Some(round1(it.distance_km)),
            cabin: Some(it.cabin),
            co2e_kg: co2e.kg,
            co2e,
            policy: verdict,
            details: json!({"legs": it.legs, "stops": it.stops}),
        });
    }
    // Under the rail distance, rail alternatives with the CO2e they save.
    let mut alternatives = Vec::new();
    if rail {
        let journeys = SandboxSupplier
            .search_rail(&RailQuery { origin: &origin, destination: &destination, depart_on: depart, today })
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        for (i, j) in journeys.iter().enumerate() {
            alternatives.push(rail_offer(&methodology, &rules, j, days, offers.len() + i, &search_id)?);
        }
    }
    store_and_answer(
        app,
        call,
        &scope,
        Found { search_id, traveler: &traveler, methodology: &methodology, offers, alternatives: Some(alternatives) },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RailSearch {
    origin: String,
    destination: String,
    depart_on: String,
    #[serde(default)]
    traveler_id: Option<String>,
}

pub async fn search_rail(app: &App, call: &Call) -> ApiResult<Reply> {
    let body: RailSearch = call.json()?;
    let today = today(app);
    let mut e = Vec::new();
    let origin = airport_field("origin", &body.origin, &mut e);
    let destination = airport_field("destination", &body.destination, &mut e);
    let depart = date_field("depart_on", &body.depart_on, today, &mut e);
    if let (Some(o), Some(d)) = (origin, destination) {
        if o.iata == d.iata {
            e.push(FieldError::new("destination", "must differ from the origin"));
        }
    }
    crate::domain::validate::into_result(e)?;
    let (origin, destination, depart) =
        (origin.ok_or(ApiError::NotFound)?, destination.ok_or(ApiError::NotFound)?, depart.ok_or(ApiError::NotFound)?);
    let (scope, traveler) = traveler(app, call, body.traveler_id.as_deref()).await?;
    let (methodology, rules) = context(app, &scope, &traveler).await?;
    let journeys = SandboxSupplier
        .search_rail(&RailQuery { origin: &origin, destination: &destination, depart_on: depart, today })
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let days = (depart - today).whole_days();
    let search_id = new_search_id();
    let offers = journeys
        .iter()
        .enumerate()
        .map(|(n, j)| rail_offer(&methodology, &rules, j, days, n, &search_id))
        .collect::<ApiResult<Vec<_>>>()?;
    store_and_answer(app, call, &scope, Found { search_id, traveler: &traveler, methodology: &methodology, offers, alternatives: None })
        .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HotelSearch {
    /// A city name, or an IATA code whose city is meant.
    city: String,
    check_in: String,
    check_out: String,
    #[serde(default)]
    traveler_id: Option<String>,
}

pub async fn search_hotels(app: &App, call: &Call) -> ApiResult<Reply> {
    let body: HotelSearch = call.json()?;
    let today = today(app);
    let mut e = Vec::new();
    let place = if body.city.trim().len() == 3 { airports::find(&body.city) } else { None }
        .or_else(|| airports::in_city(&body.city).into_iter().next());
    if place.is_none() {
        e.push(FieldError::new("city", "is not a known city or IATA airport code"));
    }
    let check_in = date_field("check_in", &body.check_in, today, &mut e);
    let check_out = date_field("check_out", &body.check_out, today, &mut e);
    if let (Some(i), Some(o)) = (check_in, check_out) {
        if o <= i {
            e.push(FieldError::new("check_out", "must be after check_in"));
        } else if (o - i).whole_days() > 60 {
            e.push(FieldError::new("check_out", "a stay may last at most 60 nights"));
        }
    }
    crate::domain::validate::into_result(e)?;
    let (place, check_in, check_out) =
        (place.ok_or(ApiError::NotFound)?, check_in.ok_or(ApiError::NotFound)?, check_out.ok_or(ApiError::NotFound)?);
    let (scope, traveler) = traveler(app, call, body.traveler_id.as_deref()).await?;
    let (methodology, rules) = context(app, &scope, &traveler).await?;
    let stays = SandboxSupplier
        .search_hotels(&HotelQuery { city: &place, check_in, check_out, today })
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let days = (check_in - today).whole_days();
    let search_id = new_search_id();
    let mut offers = Vec::new();
    for (n, s) in stays.iter().enumerate() {
        let co2e = methodology.total(vec![methodology.hotel(&s.country, &s.city, s.nights).map_err(carbon_error)?]);
        let verdict = policy::evaluate(&rules, &Subject::Hotel { city: &s.city, nightly: s.nightly }, days, co2e.kg);
        offers.push(StoredOffer {
            id: format!("{search_id}-{n}"),
            mode: "hotel".into(),
            price: Price::eur(s.price),
            price_cents: s.price.0,
            distance_km: None,
            cabin: None,
            co2e_kg: co2e.kg,
            co2e,
            policy: verdict,
            details: json!({"property": s.property, "city": s.city, "country": s.country, "nights": s.nights, "nightly": Price::eur(s.nightly), "check_in": check_in.to_string(), "check_out": check_out.to_string()}),
        });
    }
    store_and_answer(app, call, &scope, Found { search_id, traveler: &traveler, methodology: &methodology, offers, alternatives: None })
        .await
}

/// The methodologies a company can choose, with their sources.
pub async fn methodologies(_app: &App, _call: &Call) -> ApiResult<Reply> {
    let items: Vec<Value> = carbon::methodologies()
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "name": m.source.name,
                "publisher": m.source.publisher,
                "document": m.source.document,
                "year": m.source.year,
                "url": m.source.url,
                "licence": m.source.licence,
                "radiative_forcing": m.radiative_forcing,
                "default": m.id == carbon::DEFAULT_METHODOLOGY,
                "method": m.source.method,
                "factors": m.source.factors.len(),
            })
        })
        .collect();
    Reply::ok(json!({"items": items, "next_cursor": null}))
}

pub async fn policy_get(app: &App, call: &Call) -> ApiResult<Reply> {
    let scope = call.tenant_scope()?;
    let (policy, version) = load_policy(app, &scope).await?;
    let mut body = serde_json::to_value(policy).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["version"] = json!(version);
    Reply::ok(body)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyPut {
    #[serde(default)]
    rules: policy::Rules,
    #[serde(default)]
    department_overrides: std::collections::BTreeMap<String, policy::Rules>,
    /// The version read; 0 when creating the first policy. Required: a policy is replaced whole.
    version: u64,
}

pub async fn policy_put(app: &App, call: &Call) -> ApiResult<Reply> {
    let body: PolicyPut = call.json()?;
    let scope = call.tenant_scope()?;
    let policy = Policy { rules: body.rules, department_overrides: body.department_overrides };
    policy.validate()?;
    let mut item =
        Item::new(scope.key(Collection::Policy, POLICY_ID), serde_json::to_value(&policy).map_err(|e| ApiError::Internal(e.to_string()))?);
    item.version = body.version + 1;
    let condition = if body.version == 0 { Condition::NotExists } else { Condition::Version(body.version) };
    call.audited(app, 200).put(item, condition).await?;
    let mut out = serde_json::to_value(policy).map_err(|e| ApiError::Internal(e.to_string()))?;
    out["version"] = json!(body.version + 1);
    Reply::ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::money::Cents;

    #[test]
    fn offer_views_hide_internal_fields() {
        let o = StoredOffer {
            id: "s_1-0".into(),
            mode: "hotel".into(),
            price: Price::eur(Cents(100)),
            price_cents: 100,
            distance_km: None,
            cabin: None,
            co2e_kg: 1.0,
            co2e: Co2e { methodology: "m".into(), kg: 1.0, factors: vec![] },
            policy: Verdict { in_policy: true, reasons: vec![] },
            details: json!({"property": "P", "price": "x"}),
        };
        let v = view(&o);
        assert!(v.get("price_cents").is_none() && v.get("details").is_none());
        assert_eq!(v["property"], "P");
        assert_eq!(v["price"]["amount"], "1.00");
    }
}
