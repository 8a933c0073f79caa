//! poolmgr's integration tests, as one binary (one link, one run; the
//! modules share `common`). Build dnsd first (`cargo build -p dnsd`, or
//! set `$DNSD_BIN`): `dns_effects` and `registrar_api` start it.

/// Fresh databases of each backend, and `both_backends!`.
#[macro_use]
mod common;
/// The DNS client and effects against a real dnsd.
mod dns_effects;
/// The pool routes' wire contract (PDM §3), in process.
mod pool_api;
/// The registrar and BYO routes (PDM §4) against the providers' mocks.
mod registrar_api;
/// The store's state machine and outbox on SQLite and PostgreSQL.
mod store;
