//! Synthetic demo data for the local API: a root admin and two demo companies with one user
//! per role, so the permission matrix and tenant isolation can be tried by hand.

use crate::auth::{password, token, totp};
use crate::config::{LOCAL_CURSOR_KEY, LOCAL_SIGNING_KEY, LOCAL_VERIFICATION_KEYS};
use crate::domain::company::{CompanySettings, CostCenter, LegalEntity, Office};
use crate::domain::tenants::{self, NewTenant};
use crate::domain::users::{self, TotpEnrolment, UserHome, UserRecord, UserStatus};
use crate::error::{ApiError, ApiResult};
use crate::ids::{random_token, TenantId, UserId};
use crate::rbac::{ArrangerScope, Role};
use crate::secrets::LocalSecrets;
use crate::store::Store;
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
    let to_json = |v: &dyn erased::Json| v.json();
    secrets.put(LOCAL_SIGNING_KEY, &to_json(&signing))?;
    secrets.put(
        LOCAL_VERIFICATION_KEYS,
        &to_json(&token::Jwks { keys: vec![jwk] }),
    )?;
    secrets.put(LOCAL_CURSOR_KEY, &random_token(32))
}

mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
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
}

const COMPANIES: [Company; 2] = [
    Company {
        slug: "alpine",
        name: "Alpine Demo GmbH",
        country: "DE",
        city: "Munich",
    },
    Company {
        slug: "harbor",
        name: "Harbor Demo Ltd",
        country: "GB",
        city: "Bristol",
    },
];

async fn add_user(
    store: &Store,
    home: &UserHome,
    tenant: Option<&TenantId>,
    email: String,
    name: &str,
    roles: Vec<Role>,
    scope: Option<ArrangerScope>,
    with_totp: bool,
    now: &str,
) -> ApiResult<(UserRecord, String, Option<String>)> {
    let pwd = demo_password();
    let secret = with_totp.then(totp::generate_secret);
    let user = UserRecord {
        id: UserId::generate(),
        tenant_id: tenant.cloned(),
        email,
        name: name.into(),
        roles,
        arranger_scope: scope,
        status: UserStatus::Active,
        password_hash: password::hash(&pwd),
        totp: secret.clone().map(|s| TotpEnrolment {
            secret: s,
            confirmed: true,
            last_step: None,
        }),
        created_at: now.into(),
        updated_at: now.into(),
    };
    users::create(store, home, &user).await?;
    Ok((user, pwd, secret))
}

/// Seeds the demo data into an empty store and returns every credential.
pub async fn seed_demo(store: &Store, now: &str) -> ApiResult<DemoCredentials> {
    let mut out = Vec::new();
    let (root, pwd, secret) = add_user(
        store,
        &UserHome::Platform,
        None,
        "root@platform.demo".into(),
        "Platform Root",
        vec![Role::RootAdmin],
        None,
        true,
        now,
    )
    .await?;
    out.push(DemoUser {
        tenant_id: None,
        tenant_name: None,
        role: "root_admin".into(),
        user_id: root.id.to_string(),
        email: root.email,
        password: pwd,
        totp_secret: secret,
    });

    for company in COMPANIES {
        let admin_email = format!("admin@{}.demo", company.slug);
        let admin_pwd = demo_password();
        let onboarded = tenants::onboard(
            store,
            now,
            NewTenant {
                name: company.name.into(),
                admin_email: admin_email.clone(),
                admin_name: format!("{} Admin", company.name),
            },
            None,
            Some(admin_pwd.clone()),
        )
        .await?;
        let tenant = onboarded.tenant.id.clone();
        let scope = TenantScope::trusted(tenant.clone());
        let home = UserHome::Tenant(scope.clone());

        // The admin enrols a second factor, as every company admin must.
        let admin_secret = totp::generate_secret();
        let (mut admin, version) = users::load(store, &home, &onboarded.admin.id)
            .await?
            .ok_or(ApiError::NotFound)?;
        admin.totp = Some(TotpEnrolment {
            secret: admin_secret.clone(),
            confirmed: true,
            last_step: None,
        });
        users::save(store, &home, &admin, version).await?;

        let settings = CompanySettings {
            name: company.name.into(),
            legal_entities: vec![LegalEntity {
                name: company.name.into(),
                country: company.country.into(),
            }],
            offices: vec![Office {
                name: "Head office".into(),
                city: company.city.into(),
                country: company.country.into(),
            }],
            departments: vec!["Sales".into(), "Engineering".into(), "Executive".into()],
            cost_centers: vec![
                CostCenter {
                    code: "CC-100".into(),
                    name: "Sales".into(),
                },
                CostCenter {
                    code: "CC-200".into(),
                    name: "Engineering".into(),
                },
            ],
        };
        store.update(settings.item(&scope, 1)?).await?;

        let email = |who: &str| format!("{who}@{}.demo", company.slug);
        let tn = Some(company.name.to_string());
        let t = Some(tenant.to_string());
        out.push(DemoUser {
            tenant_id: t.clone(),
            tenant_name: tn.clone(),
            role: "company_admin".into(),
            user_id: admin.id.to_string(),
            email: admin_email,
            password: admin_pwd,
            totp_secret: Some(admin_secret),
        });

        let (traveler, p, _) = add_user(
            store,
            &home,
            Some(&tenant),
            email("traveler"),
            "Tess Traveler",
            vec![Role::Traveler],
            None,
            false,
            now,
        )
        .await?;
        out.push(DemoUser {
            tenant_id: t.clone(),
            tenant_name: tn.clone(),
            role: "traveler".into(),
            user_id: traveler.id.to_string(),
            email: traveler.email.clone(),
            password: p,
            totp_secret: None,
        });
        let (exec, p, _) = add_user(
            store,
            &home,
            Some(&tenant),
            email("executive"),
            "Erin Executive",
            vec![Role::Traveler],
            None,
            false,
            now,
        )
        .await?;
        out.push(DemoUser {
            tenant_id: t.clone(),
            tenant_name: tn.clone(),
            role: "traveler".into(),
            user_id: exec.id.to_string(),
            email: exec.email.clone(),
            password: p,
            totp_secret: None,
        });
        let (reporting, p, _) = add_user(
            store,
            &home,
            Some(&tenant),
            email("reporting"),
            "Rita Reporting",
            vec![Role::ReportingAdmin],
            None,
            false,
            now,
        )
        .await?;
        out.push(DemoUser {
            tenant_id: t.clone(),
            tenant_name: tn.clone(),
            role: "reporting_admin".into(),
            user_id: reporting.id.to_string(),
            email: reporting.email,
            password: p,
            totp_secret: None,
        });
        let scope_list = ArrangerScope::Assigned {
            user_ids: vec![exec.id.to_string()],
        };
        let (arranger, p, _) = add_user(
            store,
            &home,
            Some(&tenant),
            email("arranger"),
            "Arlo Arranger",
            vec![Role::TravelArranger],
            Some(scope_list),
            false,
            now,
        )
        .await?;
        out.push(DemoUser {
            tenant_id: t,
            tenant_name: tn,
            role: "travel_arranger".into(),
            user_id: arranger.id.to_string(),
            email: arranger.email,
            password: p,
            totp_secret: None,
        });
    }
    Ok(DemoCredentials {
        note: "Synthetic local demo data. The arranger's scope is the executive only. Admin sign-ins need a TOTP code: `cargo run --bin local-api -- totp <email>` prints the current one.",
        users: out,
    })
}
