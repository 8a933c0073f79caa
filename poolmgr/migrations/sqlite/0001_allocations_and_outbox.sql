-- Allocations and the DNS outbox (SQLite).
--
-- Applied once by sqlx::migrate! (recorded in _sqlx_migrations), never
-- edit it once released: add a new numbered file instead. It is version 1
-- of the numbered migrations poolmgr applied by hand before, so that a
-- database created that way is baselined rather than migrated again
-- (store/migrate.rs). IF NOT EXISTS keeps it a no-op on such a database.

-- One row per <subdomain>.<pool>. States beyond PDM's two: 'releasing'
-- and 'expiring' keep the row until its DNS teardown has succeeded (PDM
-- §10.1, §10.3). Times are Unix seconds (BIGINT), identical on both
-- backends and passed in by the caller, so tests can move the clock.
CREATE TABLE IF NOT EXISTS pool_allocations (
    pool_domain TEXT NOT NULL,
    subdomain TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('reserved', 'active', 'releasing', 'expiring')),
    -- A fresh UUID per reservation: DNS work queued for an old
    -- incarnation never touches a newer one.
    incarnation TEXT NOT NULL,
    reserved_at BIGINT NOT NULL,
    expires_at BIGINT,
    sovereign_fqdn TEXT,
    load_balancer_ip TEXT,
    load_balancer_ipv6 TEXT,
    reservation_token TEXT,
    -- SHA-256 of the token a commit used, so a retried commit is
    -- recognised (PDM §10.1) without keeping the token.
    committed_token_hash TEXT,
    created_by TEXT NOT NULL,
    idempotency_key TEXT,
    PRIMARY KEY (pool_domain, subdomain)
);

-- The sweeper's scan of lapsed reservations.
CREATE INDEX IF NOT EXISTS pool_allocations_expiry ON pool_allocations (expires_at) WHERE state = 'reserved';
-- Listings and the per-state metrics.
CREATE INDEX IF NOT EXISTS pool_allocations_pool_state ON pool_allocations (pool_domain, state);

-- DNS work queued in the same transaction as the state change that
-- implies it, applied in id order per allocation, each entry under a
-- lease (lease_until) so two appliers never run it at once.
CREATE TABLE IF NOT EXISTS dns_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,
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
);

-- An allocation's queue head.
CREATE INDEX IF NOT EXISTS dns_outbox_key ON dns_outbox (pool_domain, subdomain, id);
