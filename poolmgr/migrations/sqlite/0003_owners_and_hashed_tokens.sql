-- Tenancy (hardening issue #19). Same SQL on both backends. Never edit it
-- once released.
--
-- The identity (token name) that reserved each allocation: only it, or an
-- operator token, may commit, renew or release it. NULL for rows reserved
-- without authentication or before this column existed: those are the
-- operators' until a caller proves, with the reservation token, that it
-- holds them (see src/allocator/mod.rs).
ALTER TABLE pool_allocations ADD COLUMN owner TEXT;

-- SHA-256 (hex) of the reservation token, which is no longer stored.
-- The plaintext column stays for replicas on the old code during a
-- rolling upgrade, always NULL from now on: SQLite has no SHA-256 in SQL,
-- so poolmgr hashes what is left in it after the migrations, at every
-- start (src/store/migrate.rs), and clears it on every write of a row.
ALTER TABLE pool_allocations ADD COLUMN reservation_token_hash TEXT;
