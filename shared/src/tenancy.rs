//! The authenticated request context and the tenant scope it alone can hand out.
//!
//! A [`TenantScope`] has no public constructor: handlers get one from [`AuthContext`], whose
//! constructor is private to this crate and used only after a token has been verified. Every
//! key of tenant data is built from a scope (see `store::keys`), so code that has not
//! authenticated a caller cannot even name tenant data.

use crate::error::{ApiError, ApiResult};
use crate::ids::{TenantId, UserId};
use crate::rbac::{best_grant, ArrangerScope, Grant, Permission, Role};

/// Proof that the current request may touch this tenant's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    tenant: TenantId,
}

impl TenantScope {
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant
    }

    /// For the sign-in flow and the seeding of demo data, which act before any token exists;
    /// crate-private so no function binary can call it.
    pub(crate) fn trusted(tenant: TenantId) -> Self {
        Self { tenant }
    }
}

/// Who is calling, as established from a verified token and the user's current record.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub tenant_id: Option<TenantId>,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub arranger_scope: Option<ArrangerScope>,
    /// Authentication methods of the token (`pwd`, `otp`).
    pub amr: Vec<String>,
}

impl Principal {
    pub fn is_root(&self) -> bool {
        self.roles.contains(&Role::RootAdmin)
    }

    pub fn has_second_factor(&self) -> bool {
        self.amr.iter().any(|m| m == "otp")
    }
}

/// An authenticated request: the principal plus request facts for audit and logs.
#[derive(Debug, Clone)]
pub struct AuthContext {
    principal: Principal,
    pub request_id: String,
    pub source_ip: String,
}

impl AuthContext {
    pub(crate) fn new(principal: Principal, request_id: String, source_ip: String) -> Self {
        Self { principal, request_id, source_ip }
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn grant(&self, permission: Permission) -> Grant {
        best_grant(&self.principal.roles, permission)
    }

    /// The tenant the request acts on. A company user always gets its own tenant; naming
    /// another is treated as a cross-tenant attempt and answered as if nothing were there.
    /// root_admin must name the tenant explicitly, and that use is logged for audit.
    pub fn tenant_scope(&self, requested: Option<&str>) -> ApiResult<TenantScope> {
        match (&self.principal.tenant_id, requested) {
            (Some(own), None) => Ok(TenantScope { tenant: own.clone() }),
            (Some(own), Some(named)) if named == own.as_str() => Ok(TenantScope { tenant: own.clone() }),
            (Some(own), Some(_)) => {
                tracing::warn!(
                    event = "cross_tenant_attempt",
                    actor = %self.principal.user_id,
                    tenant = %own,
                    request_id = %self.request_id,
                    "a tenant user named another tenant"
                );
                Err(ApiError::NotFound)
            }
            (None, Some(named)) if self.principal.is_root() => {
                let tenant = TenantId::parse(named).map_err(|_| ApiError::validation("tenant_id", "is not a well-formed tenant id"))?;
                tracing::warn!(
                    event = "root_tenant_access",
                    actor = %self.principal.user_id,
                    tenant = %tenant,
                    request_id = %self.request_id,
                    "root_admin acting on a tenant"
                );
                Ok(TenantScope { tenant })
            }
            (None, _) => Err(ApiError::validation("tenant_id", "root_admin must name the tenant with ?tenant_id=")),
        }
    }
}

#[cfg(test)]
pub(crate) fn context_for_tests(principal: Principal) -> AuthContext {
    AuthContext::new(principal, "req-test".into(), "127.0.0.1".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(tenant: Option<TenantId>, roles: Vec<Role>) -> Principal {
        Principal {
            user_id: UserId::generate(),
            tenant_id: tenant,
            email: "a@b.test".into(),
            name: "A".into(),
            roles,
            arranger_scope: None,
            amr: vec!["pwd".into()],
        }
    }

    #[test]
    fn company_users_only_get_their_own_tenant() {
        let own = TenantId::generate();
        let other = TenantId::generate();
        let ctx = context_for_tests(principal(Some(own.clone()), vec![Role::CompanyAdmin]));
        assert_eq!(ctx.tenant_scope(None).unwrap().tenant_id(), &own);
        assert_eq!(ctx.tenant_scope(Some(own.as_str())).unwrap().tenant_id(), &own);
        assert!(matches!(ctx.tenant_scope(Some(other.as_str())), Err(ApiError::NotFound)));
    }

    #[test]
    fn root_must_name_a_well_formed_tenant() {
        let ctx = context_for_tests(principal(None, vec![Role::RootAdmin]));
        assert!(matches!(ctx.tenant_scope(None), Err(ApiError::Validation(_))));
        assert!(matches!(ctx.tenant_scope(Some("t_bad#x")), Err(ApiError::Validation(_))));
        let t = TenantId::generate();
        assert_eq!(ctx.tenant_scope(Some(t.as_str())).unwrap().tenant_id(), &t);
    }
}
