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
