//! Bookings and approvals: booking a stored offer exactly once per Idempotency-Key, reading and
//! cancelling within the matrix, approving or rejecting out-of-policy bookings, and the report
//! summary read from the monthly aggregates.

use super::travel::StoredOffer;
use crate::app::App;
use crate::crypto::luhn::card_number_fields;
use crate::domain::bookings::{self, Booking, BookingStatus, CreateOutcome, HistoryEntry, IdempotencyRecord};
use crate::domain::reports::Aggregates;
use crate::domain::validate::check_text;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::{Call, Reply};
use crate::rbac::{Grant, Permission};
use crate::store::keys::IndexCollection;
use crate::store::{BodyPart, Collection, SortRange};
use crate::tenancy::{AuthContext, TenantScope};
use crate::travel::sandbox::SandboxSupplier;
use crate::travel::supplier::Supplier;
use aws_lc_rs::digest::{digest, SHA256};
use data_encoding::HEXLOWER;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const MAX_KEY_LEN: usize = 100;
const MAX_OFFER_ID_LEN: usize = 64;

/// What a booking reads of a [`StoredSearch`](super::travel::StoredSearch): its traveler and the
/// one offer booked (absent when the search has no such offer).
#[derive(Deserialize)]
struct SearchedOffer {
    traveler_id: String,
    #[serde(default)]
    offers: BTreeMap<String, StoredOffer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBooking {
    offer_id: String,
    #[serde(default)]
    traveler_id: Option<String>,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    cost_center: Option<String>,
    #[serde(default)]
    payment_reference: Option<String>,
}

/// How much of a booking a grant shows: reporting admins never see the payment reference or
/// the purpose.
fn view(b: &Booking, version: u64, grant: Grant) -> Value {
    let mut v = serde_json::to_value(b).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("version".into(), json!(version));
        if let Some(Value::Object(offer)) = o.get_mut("offer") {
            offer.remove("price_cents");
        }
        if grant == Grant::ReadWithoutSensitive {
            o.remove("payment_reference");
            o.remove("purpose");
        }
    }
    v
}

fn idempotency_key(call: &Call) -> ApiResult<String> {
    let key = call.req.header("idempotency-key").map(str::trim).unwrap_or_default();
    if key.is_empty() {
        return Err(ApiError::BadRequest("the Idempotency-Key header is required".into()));
    }
    if key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::BadRequest(format!("the Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters")));
    }
    Ok(key.to_string())
}

/// Who may act on a booking of `traveler`: itself, an arranger in scope, or a grant over
/// others' bookings. Returns the grant that applies.
fn reach(ctx: &AuthContext, traveler: &str) -> Option<Grant> {
    if ctx.principal().user_id.as_str() == traveler && ctx.grant(Permission::ManageOwnBookings) != Grant::Denied {
        return Some(Grant::Tenant);
    }
    match ctx.grant(Permission::ManageOthersBookings) {
        Grant::Denied => None,
        Grant::InScope => ctx.principal().arranger_scope.as_ref().filter(|s| s.covers(traveler)).map(|_| Grant::InScope),
        g => Some(g),
    }
}

fn travel_date(offer: &StoredOffer) -> String {
    let d = &offer.details;
    let raw =
        d["legs"][0]["departs_at"].as_str().or_else(|| d["departs_at"].as_str()).or_else(|| d["check_in"].as_str()).unwrap_or_default();
    raw.get(..10).unwrap_or_default().to_string()
}

pub async fn create(app: &App, call: &Call) -> ApiResult<Reply> {
    let key = idempotency_key(call)?;
    let raw: Value = call.json()?;
    let body_hash = HEXLOWER.encode(digest(&SHA256, raw.to_string().as_bytes()).as_ref());
    let ctx = call.ctx()?;
    let scope = call.tenant_scope()?;
    let now = app.clock.now();
    let idem_key = bookings::idempotency_key(&scope, ctx.principal().user_id.as_str(), &key);
    let replay = |record: IdempotencyRecord| -> ApiResult<Reply> {
        if record.body_hash != body_hash {
            return Err(ApiError::validation("Idempotency-Key", "was already used with a different request body"));
        }
        Ok(Reply { status: record.status, body: Some(record.response), subject: None })
    };
    if let Some(item) = app.store.get_live(&idem_key, now).await? {
        return replay(item.decode()?);
    }
    let cards = card_number_fields(&raw);
    if !cards.is_empty() {
        return Err(ApiError::Validation(
            cards.into_iter().map(|f| FieldError::new(f, "must not hold a payment card number: use a payment token reference")).collect(),
        ));
    }
    let body: NewBooking = crate::http::parse_json(&call.req.body)?;
    let mut e = Vec::new();
    if let Some(p) = &body.purpose {
        check_text("purpose", p, 500, &mut e);
    }
    if let Some(p) = &body.payment_reference {
        check_text("payment_reference", p, 100, &mut e);
    }
    if let Some(cc) = &body.cost_center {
        // Only a booking that names a cost center needs the company's list of them.
        let settings = super::travel::load_settings(app, &scope).await?;
        if !settings.cost_centers.iter().any(|c| &c.code == cc) {
            e.push(FieldError::new("cost_center", "is not a cost center of the company"));
        }
    }
    crate::domain::validate::into_result(e)?;
    let traveler = super::travel::traveler_for(app, ctx, &scope, body.traveler_id.as_deref()).await?;

    // The offer comes from the stored search, never from the client: only that offer is read.
    let unknown = || ApiError::validation("offer_id", "is not an offer of a recent search");
    // Ours look like `s_<id>-<n>`; anything else never reaches the table (key and name limits).
    let well_formed =
        body.offer_id.len() <= MAX_OFFER_ID_LEN && body.offer_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let (search_id, _) = body.offer_id.rsplit_once('-').filter(|_| well_formed).ok_or_else(unknown)?;
    let parts = [BodyPart::Field("traveler_id"), BodyPart::Entry("offers", &body.offer_id)];
    let item = app.store.get_parts(&scope.key(Collection::Search, search_id), &parts).await?.ok_or_else(unknown)?;
    if !item.is_live(now) {
        return Err(ApiError::validation("offer_id", "has expired; search again"));
    }
    let mut search: SearchedOffer = item.decode()?;
    if search.traveler_id != traveler.id.as_str() {
        return Err(ApiError::validation("offer_id", "was searched for another traveler"));
    }
    let offer = search.offers.remove(&body.offer_id).ok_or_else(unknown)?;

    let stamp = app.clock.now_rfc3339();
    let id = crate::ids::random_id("b");
    let in_policy = offer.policy.in_policy;
    let confirmation =
        if in_policy { Some(SandboxSupplier.confirm(&offer.id).await.map_err(|e| ApiError::Unavailable(e.to_string()))?) } else { None };
    let date = travel_date(&offer);
    let booking = Booking {
        id,
        traveler_id: traveler.id.to_string(),
        booked_by: ctx.principal().user_id.to_string(),
        status: if in_policy { BookingStatus::Confirmed } else { BookingStatus::PendingApproval },
        offer,
        purpose: body.purpose.map(|p| p.trim().to_string()),
        department: traveler.department.clone(),
        cost_center: body.cost_center.or(traveler.cost_center.clone()),
        payment_reference: body.payment_reference,
        confirmation,
        travel_month: date.get(..7).unwrap_or_default().to_string(),
        travel_date: date,
        created_at: stamp.clone(),
        updated_at: stamp.clone(),
        history: vec![HistoryEntry {
            at: stamp,
            by: ctx.principal().user_id.to_string(),
            action: if in_policy { "confirmed".into() } else { "requested_approval".into() },
        }],
    };
    let response = view(&booking, 1, Grant::Tenant);
    let record =
        IdempotencyRecord { body_hash: body_hash.clone(), booking_id: booking.id.clone(), status: 201, response: response.clone() };
    match bookings::create(&app.store, &call.audited(app, 201), &scope, &booking, &idem_key, &record, now).await? {
        CreateOutcome::Created => Ok(Reply { status: 201, body: Some(response), subject: None }),
        CreateOutcome::Replay(earlier) => replay(earlier),
    }
}

async fn target(app: &App, call: &Call) -> ApiResult<(TenantScope, Booking, u64, Grant)> {
    let ctx = call.ctx()?;
    let scope = call.tenant_scope()?;
    let (booking, version) = bookings::load(&app.store, &scope, call.path_id()?).await?.ok_or(ApiError::NotFound)?;
    let grant = reach(ctx, &booking.traveler_id).ok_or(ApiError::Forbidden)?;
    Ok((scope, booking, version, grant))
}

pub async fn get(app: &App, call: &Call) -> ApiResult<Reply> {
    let (_, booking, version, grant) = target(app, call).await?;
    Reply::ok(view(&booking, version, grant))
}

pub async fn list(app: &App, call: &Call) -> ApiResult<Reply> {
    let ctx = call.ctx()?;
    let scope = call.tenant_scope()?;
    let (limit, cursor) = call.page_params()?;
    let codec = app.cursor_codec().await?;
    let mut e = Vec::new();
    let status = call.query("status").map(|s| serde_json::from_value::<BookingStatus>(json!(s)));
    if matches!(status, Some(Err(_))) {
        e.push(FieldError::new("status", "must be pending_approval, confirmed, cancelled or rejected"));
    }
    for field in ["from", "to"] {
        if let Some(v) = call.query(field) {
            if time::Date::parse(v, time::macros::format_description!("[year]-[month]-[day]")).is_err() {
                e.push(FieldError::new(field, "must be a date as YYYY-MM-DD"));
            }
        }
    }
    crate::domain::validate::into_result(e)?;
    let status = status.and_then(Result::ok);
    let others = ctx.grant(Permission::ManageOthersBookings);
    // Travelers (and anyone asking for one traveler) read the traveler index; others the tenant.
    let traveler =
        call.query("traveler_id").map(str::to_string).or_else(|| (others == Grant::Denied).then(|| ctx.principal().user_id.to_string()));
    let page = match &traveler {
        Some(t) => {
            if reach(ctx, t).is_none() {
                return Err(ApiError::Forbidden);
            }
            app.store
                .page(codec, scope.index_partition(IndexCollection::BookingByTraveler), SortRange::Prefix(format!("{t}#")), limit, cursor)
                .await?
        }
        None => app.store.page(codec, scope.partition(Collection::Booking), SortRange::All, limit, cursor).await?,
    };
    let mut items = Vec::new();
    for item in &page.items {
        let b: Booking = item.decode()?;
        let Some(grant) = reach(ctx, &b.traveler_id) else { continue };
        let in_range =
            call.query("from").is_none_or(|f| b.travel_date.as_str() >= f) && call.query("to").is_none_or(|t| b.travel_date.as_str() <= t);
        if status.is_none_or(|s| s == b.status) && in_range {
            items.push(view(&b, item.version, grant));
        }
    }
    Reply::ok(json!({"items": items, "next_cursor": page.next_cursor}))
}

async fn change(app: &App, call: &Call, action: &str, from: &[BookingStatus], to: BookingStatus) -> ApiResult<Reply> {
    let (scope, before, version, grant) = target(app, call).await?;
    if grant == Grant::ReadWithoutSensitive {
        return Err(ApiError::Forbidden);
    }
    if !from.contains(&before.status) {
        return Err(ApiError::Conflict(format!(
            "a {} booking cannot be {action}",
            serde_json::to_value(before.status).unwrap_or_default().as_str().unwrap_or("?")
        )));
    }
    let mut after = before.clone();
    after.status = to;
    let now = app.clock.now_rfc3339();
    if to == BookingStatus::Confirmed {
        after.confirmation = Some(SandboxSupplier.confirm(&after.offer.id).await.map_err(|e| ApiError::Unavailable(e.to_string()))?);
    }
    if to == BookingStatus::Cancelled {
        if let Some(c) = &before.confirmation {
            SandboxSupplier.cancel(c).await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
        }
    }
    after.updated_at = now.clone();
    after.history.push(HistoryEntry { at: now, by: call.ctx()?.principal().user_id.to_string(), action: action.into() });
    let version = bookings::transition(&app.store, &call.audited(app, 200), &scope, &before, &after, version).await?;
    Reply::ok(view(&after, version, grant))
}

pub async fn cancel(app: &App, call: &Call) -> ApiResult<Reply> {
    change(app, call, "cancelled", &[BookingStatus::PendingApproval, BookingStatus::Confirmed], BookingStatus::Cancelled).await
}

pub async fn approve(app: &App, call: &Call) -> ApiResult<Reply> {
    change(app, call, "approved", &[BookingStatus::PendingApproval], BookingStatus::Confirmed).await
}

pub async fn reject(app: &App, call: &Call) -> ApiResult<Reply> {
    change(app, call, "rejected", &[BookingStatus::PendingApproval], BookingStatus::Rejected).await
}

pub async fn approvals(app: &App, call: &Call) -> ApiResult<Reply> {
    let scope = call.tenant_scope()?;
    let (limit, cursor) = call.page_params()?;
    // The queue holds exactly the waiting bookings, so every page is full until the last.
    let page = app.store.page(app.cursor_codec().await?, scope.partition(Collection::Approval), SortRange::All, limit, cursor).await?;
    let items =
        page.items.iter().map(|item| Ok(view(&item.decode::<Booking>()?, item.version, Grant::Tenant))).collect::<ApiResult<Vec<_>>>()?;
    Reply::ok(json!({"items": items, "next_cursor": page.next_cursor}))
}

fn month_param(call: &Call, name: &str) -> ApiResult<String> {
    let v = call.query(name).ok_or_else(|| ApiError::validation(name, "is required, as YYYY-MM"))?;
    let ok = v.len() == 7
        && v.as_bytes()[4] == b'-'
        && v[..4].bytes().all(|b| b.is_ascii_digit())
        && v[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m));
    if ok {
        Ok(v.to_string())
    } else {
        Err(ApiError::validation(name, "must be a month as YYYY-MM"))
    }
}

fn totals_view(t: &crate::domain::reports::Totals) -> Value {
    json!({"trips": t.trips, "spend": {"amount": crate::travel::money::Cents(t.spend_cents).decimal(), "currency": "EUR"}, "co2e_kg": t.co2e_g as f64 / 1000.0})
}

/// Trips, spend and CO2e per month and over the period, grouped by mode, department, cost center
/// and traveler, with policy compliance: read from the aggregates, never by scanning bookings.
pub async fn summary(app: &App, call: &Call) -> ApiResult<Reply> {
    let scope = call.tenant_scope()?;
    let (from, to) = (month_param(call, "from")?, month_param(call, "to")?);
    if to < from {
        return Err(ApiError::validation("to", "must not be before from"));
    }
    let spec = crate::store::QuerySpec {
        partition: scope.partition(Collection::Aggregate),
        range: SortRange::Between(from.clone(), to.clone()),
        limit: 100,
        forward: true,
        start_after: None,
    };
    let months: Vec<Aggregates> = app.store.table().query(spec).await?.items.iter().map(|i| i.decode()).collect::<Result<_, _>>()?;
    let mut period = Aggregates { month: format!("{from}..{to}"), ..Default::default() };
    for m in &months {
        period.merge(m);
    }
    let group = |map: &std::collections::BTreeMap<String, crate::domain::reports::Totals>| -> Value {
        Value::Object(map.iter().map(|(k, v)| (k.clone(), totals_view(v))).collect())
    };
    let shape = |a: &Aggregates| {
        let confirmed = a.in_policy + a.out_of_policy;
        json!({
            "month": a.month,
            "total": totals_view(&a.total),
            "by_mode": group(&a.by_mode),
            "by_department": group(&a.by_department),
            "by_cost_center": group(&a.by_cost_center),
            "by_traveler": group(&a.by_traveler),
            "compliance": {"in_policy": a.in_policy, "out_of_policy_approved": a.out_of_policy, "rate": if confirmed > 0 { a.in_policy as f64 / confirmed as f64 } else { 1.0 }},
            "cancelled": a.cancelled,
            "rejected": a.rejected,
        })
    };
    Reply::ok(json!({"from": from, "to": to, "period": shape(&period), "months": months.iter().map(shape).collect::<Vec<_>>()}))
}
