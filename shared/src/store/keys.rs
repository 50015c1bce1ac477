//! Keys of the single table. Tenant data keys start with the tenant id and can only be built
//! from a [`TenantScope`]; platform keys (tenant registry, sign-in lookup) are crate-private.

use crate::tenancy::TenantScope;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The name of the table's one global secondary index.
pub const INDEX_NAME: &str = "gsi1";

/// Primary key of an item. Fields are private: a key is made by a scope or by this crate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Key {
    pk: String,
    sk: String,
}

/// Key of an item in the secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexKey {
    pk: String,
    sk: String,
}

/// The partition a query reads, on the table or on the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pk: String,
    on_index: bool,
}

impl Key {
    pub fn pk(&self) -> &str {
        &self.pk
    }
    pub fn sk(&self) -> &str {
        &self.sk
    }
    /// Rebuilds a key read back from storage; adapters only.
    pub(crate) fn from_stored(pk: String, sk: String) -> Self {
        Self { pk, sk }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.pk, self.sk)
    }
}

impl IndexKey {
    pub fn pk(&self) -> &str {
        &self.pk
    }
    pub fn sk(&self) -> &str {
        &self.sk
    }
    pub(crate) fn from_stored(pk: String, sk: String) -> Self {
        Self { pk, sk }
    }
}

impl Partition {
    pub fn pk(&self) -> &str {
        &self.pk
    }
    pub fn on_index(&self) -> bool {
        self.on_index
    }
}

/// Kinds of tenant data, each a partition `<tenant id>#<COLLECTION>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// Company settings (one item).
    Company,
    /// Users of the company, by user id.
    User,
    /// Wrapped data keys by version, and the pointer to the current one.
    Key,
    /// Traveler profiles by user id (restricted fields sealed).
    Profile,
    /// State of background jobs (re-encryption progress).
    Job,
    /// The hash-chained audit trail, by sequence number, and its head.
    Audit,
    /// Travel policy (one versioned item).
    Policy,
    /// Search results (offers), kept for a limited time.
    Search,
    /// Bookings by id.
    Booking,
    /// Remembered Idempotency-Keys and their outcome.
    Idempotency,
    /// Monthly report aggregates, by `YYYY-MM`.
    Aggregate,
    /// The approval queue: a copy of each booking waiting for approval, by creation time then
    /// id, written and removed in the booking's own transactions.
    Approval,
    /// Scratch data for the storage contract tests.
    Contract,
}

impl Collection {
    fn tag(self) -> &'static str {
        match self {
            Collection::Company => "COMPANY",
            Collection::User => "USER",
            Collection::Key => "KEY",
            Collection::Profile => "PROFILE",
            Collection::Job => "JOB",
            Collection::Audit => "AUDIT",
            Collection::Policy => "POLICY",
            Collection::Search => "SEARCH",
            Collection::Booking => "BOOKING",
            Collection::Idempotency => "IDEMPOTENCY",
            Collection::Aggregate => "AGG",
            Collection::Approval => "APPROVAL",
            Collection::Contract => "CONTRACT",
        }
    }
}

/// Index partitions of tenant data, each `<tenant id>#<INDEX>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexCollection {
    /// Users by lower-cased email.
    UserByEmail,
    /// Audit events by time.
    AuditByTime,
    /// Bookings by traveler, then creation time.
    BookingByTraveler,
    /// Scratch index for the storage contract tests.
    Contract,
}

impl IndexCollection {
    fn tag(self) -> &'static str {
        match self {
            IndexCollection::UserByEmail => "USER_BY_EMAIL",
            IndexCollection::AuditByTime => "AUDIT_TIME",
            IndexCollection::BookingByTraveler => "BOOKING_BY_TRAVELER",
            IndexCollection::Contract => "CONTRACT_IDX",
        }
    }
}

impl TenantScope {
    pub fn key(&self, collection: Collection, id: &str) -> Key {
        Key { pk: format!("{}#{}", self.tenant_id(), collection.tag()), sk: id.to_string() }
    }

    pub fn partition(&self, collection: Collection) -> Partition {
        Partition { pk: format!("{}#{}", self.tenant_id(), collection.tag()), on_index: false }
    }

    pub fn index_key(&self, index: IndexCollection, sort: &str) -> IndexKey {
        IndexKey { pk: format!("{}#{}", self.tenant_id(), index.tag()), sk: sort.to_string() }
    }

    pub fn index_partition(&self, index: IndexCollection) -> Partition {
        Partition { pk: format!("{}#{}", self.tenant_id(), index.tag()), on_index: true }
    }
}

/// Platform data: not tenant-owned, and reachable only through this crate's own domain code.
pub(crate) mod platform {
    use super::{Key, Partition};
    use crate::ids::TenantId;

    const TENANTS: &str = "PLATFORM#TENANT";
    const ROOT_USERS: &str = "PLATFORM#ROOT_USER";
    const REENCRYPT: &str = "PLATFORM#REENCRYPT";
    const AUDIT: &str = "PLATFORM#AUDIT";

    pub fn tenant(id: &TenantId) -> Key {
        Key { pk: TENANTS.into(), sk: id.to_string() }
    }

    pub fn tenants() -> Partition {
        Partition { pk: TENANTS.into(), on_index: false }
    }

    pub fn root_user(id: &str) -> Key {
        Key { pk: ROOT_USERS.into(), sk: id.into() }
    }

    /// Sign-in lookup by email: one partition per email, so lookups never contend.
    pub fn login(email_lower: &str) -> Key {
        Key { pk: format!("LOGIN#{email_lower}"), sk: "LOGIN".into() }
    }

    /// The platform's own audit chain (actions on no tenant, sign-ins of unknown emails).
    pub fn audit(id: &str) -> Key {
        Key { pk: AUDIT.into(), sk: id.into() }
    }

    pub fn audit_partition() -> Partition {
        Partition { pk: AUDIT.into(), on_index: false }
    }

    /// Denials of one actor in one window (expires with the window).
    pub fn alert_counter(actor: &str, window: i64) -> Key {
        Key { pk: format!("ALERT#COUNT#{actor}"), sk: window.to_string() }
    }

    /// Marks that an alert of this rule, actor and tenant was sent in this window.
    pub fn alert_dedup(rule: &str, actor: &str, tenant: &str, window: i64) -> Key {
        Key { pk: format!("ALERT#SENT#{rule}#{actor}#{tenant}"), sk: window.to_string() }
    }

    /// State of platform-wide jobs.
    pub fn job(id: &str) -> Key {
        Key { pk: "PLATFORM#JOB".into(), sk: id.into() }
    }

    /// Tenants with a re-encryption to run.
    pub fn reencrypt_pending(tenant: &TenantId) -> Key {
        Key { pk: REENCRYPT.into(), sk: tenant.to_string() }
    }

    pub fn reencrypt_partition() -> Partition {
        Partition { pk: REENCRYPT.into(), on_index: false }
    }

    /// Failed sign-in counter for an email, kept whether or not the email has an account.
    pub fn login_throttle(email_lower: &str) -> Key {
        Key { pk: format!("LOGIN#{email_lower}"), sk: "THROTTLE".into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TenantId;

    #[test]
    fn every_tenant_key_and_index_partition_starts_with_the_tenant_id() {
        let t = TenantId::generate();
        let scope = TenantScope::trusted(t.clone());
        let collections = [
            Collection::Company,
            Collection::User,
            Collection::Key,
            Collection::Profile,
            Collection::Job,
            Collection::Audit,
            Collection::Policy,
            Collection::Search,
            Collection::Booking,
            Collection::Idempotency,
            Collection::Aggregate,
            Collection::Approval,
            Collection::Contract,
        ];
        for c in collections {
            assert!(scope.key(c, "x").pk().starts_with(&format!("{t}#")));
            assert!(scope.partition(c).pk().starts_with(&format!("{t}#")));
        }
        for i in [IndexCollection::UserByEmail, IndexCollection::AuditByTime, IndexCollection::BookingByTraveler, IndexCollection::Contract]
        {
            assert!(scope.index_key(i, "x").pk().starts_with(&format!("{t}#")));
            assert!(scope.index_partition(i).pk().starts_with(&format!("{t}#")));
        }
    }
}
