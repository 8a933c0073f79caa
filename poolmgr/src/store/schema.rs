//! The schema, as numbered migrations applied at start in one transaction
//! each. SQL is shared between SQLite and PostgreSQL except where a
//! migration gives both spellings (identity columns differ).

/// One schema step.
pub struct Migration {
    /// Applied in increasing order; recorded in `schema_migrations`.
    pub version: i64,
    /// What it does, for the log.
    pub name: &'static str,
    /// Statements for SQLite.
    pub sqlite: &'static [&'static str],
    /// Statements for PostgreSQL.
    pub postgres: &'static [&'static str],
}

const ALLOCATIONS: &str = "CREATE TABLE IF NOT EXISTS pool_allocations (
    pool_domain TEXT NOT NULL,
    subdomain TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('reserved', 'active', 'releasing', 'expiring')),
    incarnation TEXT NOT NULL,
    reserved_at BIGINT NOT NULL,
    expires_at BIGINT,
    sovereign_fqdn TEXT,
    load_balancer_ip TEXT,
    load_balancer_ipv6 TEXT,
    reservation_token TEXT,
    committed_token_hash TEXT,
    created_by TEXT NOT NULL,
    idempotency_key TEXT,
    PRIMARY KEY (pool_domain, subdomain)
)";
const ALLOCATIONS_EXPIRY: &str = "CREATE INDEX IF NOT EXISTS pool_allocations_expiry \
     ON pool_allocations (expires_at) WHERE state = 'reserved'";
const ALLOCATIONS_POOL_STATE: &str = "CREATE INDEX IF NOT EXISTS pool_allocations_pool_state ON pool_allocations (pool_domain, state)";
/// The outbox's columns after `id`, whose spelling differs per backend. A
/// macro because `concat!` takes literals only.
macro_rules! outbox_columns {
    () => {
        "
    pool_domain TEXT NOT NULL,
    subdomain TEXT NOT NULL,
    incarnation TEXT NOT NULL,
    kind TEXT NOT NULL,
    effect TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL
)"
    };
}

const OUTBOX_KEY: &str =
    "CREATE INDEX IF NOT EXISTS dns_outbox_key ON dns_outbox (pool_domain, subdomain, id)";

/// Every migration, in order. Append; never edit a released one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "allocations and DNS outbox",
        sqlite: &[
            ALLOCATIONS,
            ALLOCATIONS_EXPIRY,
            ALLOCATIONS_POOL_STATE,
            concat!(
                "CREATE TABLE IF NOT EXISTS dns_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,",
                outbox_columns!()
            ),
            OUTBOX_KEY,
        ],
        postgres: &[
            ALLOCATIONS,
            ALLOCATIONS_EXPIRY,
            ALLOCATIONS_POOL_STATE,
            concat!(
                "CREATE TABLE IF NOT EXISTS dns_outbox (id BIGSERIAL PRIMARY KEY,",
                outbox_columns!()
            ),
            OUTBOX_KEY,
        ],
    },
    Migration {
        version: 2,
        name: "BYO domains",
        sqlite: &[super::byo::BYO_DOMAINS, super::byo::BYO_DOMAINS_PENDING],
        postgres: &[super::byo::BYO_DOMAINS, super::byo::BYO_DOMAINS_PENDING],
    },
];
