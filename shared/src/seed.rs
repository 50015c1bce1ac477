//! Synthetic demo data for the local API: a root admin and two demo companies with one user
//! per role, so the permission matrix and tenant isolation can be tried by hand.

use crate::app::App;
use crate::auth::{password, token, totp};
use crate::config::{LOCAL_CURSOR_KEY, LOCAL_SIGNING_KEY, LOCAL_VERIFICATION_KEYS};
use crate::domain::company::{CompanySettings, CostCenter, LegalEntity, Office};
use crate::domain::tenants::{self, NewTenant};
use crate::domain::users::{self, TotpEnrolment, UserHome, UserRecord, UserStatus};
use crate::error::{ApiError, ApiResult};
use crate::ids::{random_token, TenantId, UserId};
use crate::rbac::{ArrangerScope, Role};
use crate::secrets::LocalSecrets;
use crate::tenancy::TenantScope;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct DemoUser {
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub role: String,
    pub user_id: String,
    pub email: String,
    pub password: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoCredentials {
    pub note: &'static str,
    pub users: Vec<DemoUser>,
}

/// Writes fresh signing, verification and cursor keys to the local secret folder.
pub fn write_local_keys(secrets: &LocalSecrets) -> std::io::Result<()> {
    let (signing, jwk) = token::generate_key_pair();
    secrets.write(LOCAL_SIGNING_KEY, &serde_json::to_string(&signing).map_err(std::io::Error::other)?)?;
    secrets.write(LOCAL_VERIFICATION_KEYS, &serde_json::to_string(&token::Jwks { keys: vec![jwk] }).map_err(std::io::Error::other)?)?;
    secrets.write(LOCAL_CURSOR_KEY, &random_token(32))
}

/// Synthetic data may be seeded anywhere but production.
pub fn ensure_seeding_allowed(environment: &str) -> Result<(), String> {
    if environment.eq_ignore_ascii_case("prod") {
        Err("seeding synthetic data is refused in prod".into())
    } else {
        Ok(())
    }
}

fn demo_password() -> String {
    format!("Demo-{}", random_token(10).to_ascii_lowercase())
}

struct Company {
    slug: &'static str,
    name: &'static str,
    country: &'static str,
    city: &'static str,
    methodology: &'static str,
}

const COMPANIES: [Company; 2] = [
    Company { slug: "alpine", name: "Alpine Demo GmbH", country: "DE", city: "Munich", methodology: "desnz-2025" },
    Company { slug: "harbor", name: "Harbor Demo Ltd", country: "GB", city: "Bristol", methodology: "epa-2025" },
];

/// One demo account to create.
struct Account<'a> {
    email: String,
    name: &'a str,
    role: Role,
    arranger_scope: Option<ArrangerScope>,
    totp: bool,
    department: Option<&'a str>,
}

/// Where the account goes: the platform, or a tenant (with its display name for the file).
struct Home<'a> {
    app: &'a App,
    home: UserHome,
    tenant: Option<(&'a TenantId, &'a str)>,
    now: &'a str,
}

impl Home<'_> {
    async fn add(&self, account: Account<'_>) -> ApiResult<DemoUser> {
        let pwd = demo_password();
        let secret = account.totp.then(totp::generate_secret);
        let id = UserId::generate();
        let sealed = match &secret {
            Some(s) => Some(users::seal_totp_secret(self.app, &self.home, &id, s).await?),
            None => None,
        };
        let user = UserRecord {
            id,
            tenant_id: self.tenant.map(|(t, _)| t.clone()),
            email: account.email,
            name: account.name.into(),
            roles: vec![account.role],
            arranger_scope: account.arranger_scope,
            department: account.department.map(str::to_string),
            cost_center: account.department.map(|d| if d == "Engineering" { "CC-200".to_string() } else { "CC-100".to_string() }),
            status: UserStatus::Active,
            password_hash: password::hash(&pwd),
            totp: sealed.map(|s| TotpEnrolment { secret: s, confirmed: true, last_step: None }),
            created_at: self.now.into(),
            updated_at: self.now.into(),
        };
        users::create(&self.app.store, &self.home, &user).await?;
        Ok(self.entry(&user, pwd, secret))
    }

    fn entry(&self, user: &UserRecord, password: String, totp_secret: Option<String>) -> DemoUser {
        DemoUser {
            tenant_id: self.tenant.map(|(t, _)| t.to_string()),
            tenant_name: self.tenant.map(|(_, n)| n.to_string()),
            role: user.roles.first().map(|r| r.to_string()).unwrap_or_default(),
            user_id: user.id.to_string(),
            email: user.email.clone(),
            password,
            totp_secret,
        }
    }
}

fn account(email: String, name: &str, role: Role) -> Account<'_> {
    Account { email, name, role, arranger_scope: None, totp: false, department: None }
}

/// Seeds the demo data into an empty store and returns every credential.
pub async fn seed_demo(app: &App) -> ApiResult<DemoCredentials> {
    let store = &app.store;
    let now_text = app.clock.now_rfc3339();
    let now = now_text.as_str();
    let platform = Home { app, home: UserHome::Platform, tenant: None, now };
    let mut out =
        vec![platform.add(Account { totp: true, ..account("root@platform.demo".into(), "Platform Root", Role::RootAdmin) }).await?];

    for company in COMPANIES {
        let email = |who: &str| format!("{who}@{}.demo", company.slug);
        let admin_pwd = demo_password();
        let new = NewTenant { name: company.name.into(), admin_email: email("admin"), admin_name: format!("{} Admin", company.name) };
        let onboarded = tenants::onboard(store, now, new, None, Some(admin_pwd.clone())).await?;
        let tenant = onboarded.tenant.id.clone();
        let scope = TenantScope::trusted(tenant.clone());
        let home = Home { app, home: UserHome::Tenant(scope.clone()), tenant: Some((&tenant, company.name)), now };

        // The admin enrols a second factor, as every company admin must.
        let admin_secret = totp::generate_secret();
        let (mut admin, version) = users::load(store, &home.home, &onboarded.admin.id).await?.ok_or(ApiError::NotFound)?;
        let sealed = users::seal_totp_secret(app, &home.home, &admin.id, &admin_secret).await?;
        admin.totp = Some(TotpEnrolment { secret: sealed, confirmed: true, last_step: None });
        users::save(store, &home.home, &admin, version).await?;
        out.push(home.entry(&admin, admin_pwd, Some(admin_secret)));

        let settings = CompanySettings {
            name: company.name.into(),
            legal_entities: vec![LegalEntity { name: company.name.into(), country: company.country.into() }],
            offices: vec![Office { name: "Head office".into(), city: company.city.into(), country: company.country.into() }],
            departments: vec!["Sales".into(), "Engineering".into(), "Executive".into()],
            cost_centers: vec![
                CostCenter { code: "CC-100".into(), name: "Sales".into() },
                CostCenter { code: "CC-200".into(), name: "Engineering".into() },
            ],
            carbon_methodology: Some(company.methodology.into()),
        };
        store.update(settings.item(&scope, 1)?).await?;

        out.push(home.add(Account { department: Some("Sales"), ..account(email("traveler"), "Tess Traveler", Role::Traveler) }).await?);
        let executive =
            home.add(Account { department: Some("Executive"), ..account(email("executive"), "Erin Executive", Role::Traveler) }).await?;
        let in_scope = ArrangerScope::Assigned { user_ids: vec![executive.user_id.clone()] };
        out.push(executive);
        out.push(home.add(account(email("reporting"), "Rita Reporting", Role::ReportingAdmin)).await?);
        out.push(
            home.add(Account { arranger_scope: Some(in_scope), ..account(email("arranger"), "Arlo Arranger", Role::TravelArranger) })
                .await?,
        );
    }
    Ok(DemoCredentials {
        note: "Synthetic local demo data. The arranger's scope is the executive only. Admin sign-ins need a TOTP code: `cargo run --bin local-api -- totp <email>` prints the current one.",
        users: out,
    })
}

/// Calls a route through the pipeline, as a client would (seeding uses the real flow).
async fn call(
    app: &App,
    id: crate::routes::RouteId,
    path_id: Option<&str>,
    token: Option<&str>,
    body: Option<serde_json::Value>,
    idempotency: Option<&str>,
) -> (u16, serde_json::Value) {
    let route = crate::routes::Route::by_id(id);
    let mut req = crate::http::ApiRequest {
        method: route.method.into(),
        path: route.path.replace("{id}", path_id.unwrap_or_default()),
        path_id: path_id.map(str::to_string),
        request_id: format!("seed-{}", random_token(5).to_ascii_lowercase()),
        source_ip: "127.0.0.1".into(),
        ..Default::default()
    };
    let mut header = |name: &'static str, value: String| {
        if let Ok(v) = value.parse() {
            req.headers.insert(name, v);
        }
    };
    if let Some(t) = token {
        header("authorization", format!("Bearer {t}"));
    }
    if let Some(k) = idempotency {
        header("idempotency-key", k.to_string());
    }
    if let Some(b) = &body {
        header("content-type", "application/json".into());
        req.body = serde_json::to_vec(b).unwrap_or_default();
    }
    let resp = crate::http::handle(app, route, req).await;
    (resp.status, serde_json::from_slice(&resp.body).unwrap_or_default())
}

/// Demo travel: a policy per company (with an Executive override), and bookings in every state
/// made through the real search and booking flow by the demo travelers.
pub async fn seed_travel(app: &App, creds: &DemoCredentials) -> ApiResult<()> {
    use crate::domain::bookings::{self, BookingStatus, HistoryEntry};
    use crate::domain::policy::Policy;
    use crate::routes::RouteId;
    use crate::store::{Collection, Item};
    use serde_json::json;
    let in_days = |d: i64| {
        (time::OffsetDateTime::from_unix_timestamp(app.clock.now()).map(|t| t.date()).unwrap_or(time::Date::MIN) + time::Duration::days(d))
            .to_string()
    };
    let policy: Policy = serde_json::from_value(json!({
        "rules": {
            "cabin_by_distance": [{"up_to_km": 3700, "max_cabin": "economy"}, {"max_cabin": "premium_economy"}],
            "max_percent_over_cheapest": 60,
            "min_days_in_advance": 3,
            "hotel_nightly_cap": "180.00",
            "hotel_nightly_cap_by_city": {"London": "260.00", "Paris": "240.00"},
            "rail_instead_of_air_below_km": 600,
            "carbon_cap_kg": 2500
        },
        "department_overrides": {"Executive": {"cabin_by_distance": [{"up_to_km": 3700, "max_cabin": "business"}, {"max_cabin": "business"}], "carbon_cap_kg": 5000}}
    }))
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut tenants: Vec<&str> = creds.users.iter().filter_map(|u| u.tenant_id.as_deref()).collect();
    tenants.dedup();
    for tenant in tenants {
        let scope = TenantScope::trusted(TenantId::parse(tenant)?);
        let item = Item::new(
            scope.key(Collection::Policy, crate::handlers::travel::POLICY_ID),
            serde_json::to_value(&policy).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        app.store.put(item, crate::store::Condition::NotExists).await?;
        let admin =
            creds.users.iter().find(|u| u.tenant_id.as_deref() == Some(tenant) && u.role == "company_admin").ok_or(ApiError::NotFound)?;
        for (who, from, to, pick) in [
            ("traveler", "LHR", "JFK", "economy"),
            ("traveler", "MUC", "LHR", "business"),
            ("executive", "FRA", "JFK", "business"),
            ("traveler", "CDG", "AMS", "economy"),
            ("executive", "LHR", "SIN", "first"),
            ("traveler", "LHR", "DXB", "business"),
        ] {
            let Some(user) = creds.users.iter().find(|u| u.tenant_id.as_deref() == Some(tenant) && u.email.starts_with(&format!("{who}@")))
            else {
                continue;
            };
            let (status, login) =
                call(app, RouteId::Login, None, None, Some(json!({"email": user.email, "password": user.password})), None).await;
            let Some(token) = login["access_token"].as_str().filter(|_| status == 200) else { continue };
            let (_, found) = call(
                app,
                RouteId::SearchFlights,
                None,
                Some(token),
                Some(json!({"origin": from, "destination": to, "depart_on": in_days(21)})),
                None,
            )
            .await;
            let Some(offer) =
                found["offers"].as_array().and_then(|o| o.iter().find(|o| o["cabin"] == pick && o["stops"] == 0).or_else(|| o.first()))
            else {
                continue;
            };
            let key = format!("seed-{from}-{to}");
            let (_, booked) = call(
                app,
                RouteId::BookingsCreate,
                None,
                Some(token),
                Some(json!({"offer_id": offer["id"], "purpose": "Demo trip"})),
                Some(&key),
            )
            .await;
            let Some(id) = booked["id"].as_str() else { continue };
            // Move some bookings on: one cancelled by its traveler, out-of-policy ones approved or
            // rejected by the company admin; one left waiting.
            let pending = booked["status"] == "pending_approval";
            let decision = match (from, to) {
                ("CDG", _) => {
                    call(app, RouteId::BookingsCancel, Some(id), Some(token), None, None).await;
                    None
                }
                ("MUC", _) if pending => Some(false),
                ("LHR", "SIN") if pending => Some(true),
                _ => None,
            };
            if let (Some(approve), Some((before, version))) = (decision, bookings::load(&app.store, &scope, id).await?) {
                use crate::travel::supplier::Supplier;
                let mut after = before.clone();
                after.status = if approve { BookingStatus::Confirmed } else { BookingStatus::Rejected };
                if approve {
                    after.confirmation = crate::travel::sandbox::SandboxSupplier.confirm(&after.offer.id).await.ok();
                }
                after.history.push(HistoryEntry {
                    at: app.clock.now_rfc3339(),
                    by: admin.user_id.clone(),
                    action: if approve { "approved".into() } else { "rejected".into() },
                });
                bookings::transition(&app.store, &app.store, &scope, &before, &after, version).await?;
            }
        }
    }
    Ok(())
}
