//! Pool-domain manager: allocates `<name>.<pool>` subdomains for Sovereign
//! clouds and keeps DNS in step with its database.
//!
//! # Reading order
//!
//! - [`label`]: which names may be allocated (syntax, the reserved list).
//! - [`model`]: an allocation and its states.
//! - [`allocator`]: the allocation rules as one pure function, `decide(row,
//!   request, now) -> Decision`, over typed labels, pools, tokens and
//!   addresses.
//! - [`store`]: the database (SQLite or PostgreSQL, one SQL dialect): loads
//!   a row, asks the allocator, saves the decision and the DNS work it
//!   implies in one transaction.
//! - [`effects`]: the DNS work itself (provision a child zone, publish the
//!   canonical records, tear down), idempotent, applied by [`outbox`].
//! - [`dns`]: the PowerDNS-compatible REST client those effects use.
//! - [`fleet`]: the name servers that must serve what poolmgr wrote: a
//!   status report per pool, and the optional wait after a commit.
//! - [`outbox`]: applies pending effects, inline for a request and in the
//!   background with retries, so that after any crash DNS converges to the
//!   database; also the sweeper of expired reservations.
//! - [`api`]: the HTTP API, wire-compatible with the Go PDM.
//! - [`config`]: environment variables and flags.
//! - [`clock`]: wall time, injected so tests move it instead of sleeping.

pub mod allocator;
pub mod api;
pub mod byo;
pub mod clock;
pub mod config;
pub mod dns;
pub mod effects;
pub mod fleet;
pub mod label;
pub mod model;
pub mod outbox;
pub mod registrar_token;
pub mod sealing;
pub mod server;
pub mod store;
