//! The zone registry: which zones are served, which writer owns each one,
//! and the one write path by which a change reaches the queries.
//!
//! [`crate::zone`] holds zone *data*; this module decides *which* zones are
//! served and publishes them. Every served zone belongs to exactly one
//! writer, and only that writer changes it:
//!
//! - **zone files** (`files.rs`): loaded at start, reloaded whole on
//!   SIGHUP; read-only to every other writer;
//! - **API zones** (`api_zones.rs`): created and changed through the
//!   control API, RRset by RRset, and persisted in [`store`] (a journal
//!   under `--data-dir`) before they are published; DNSSEC keys come from
//!   the key store (`keys.rs`);
//! - **the produced catalog zone** (`catalog_producer.rs`, `--catalog`):
//!   no writer of its own; every publish brings it up to the API zones
//!   (and marked file zones) of that moment, read-only to everyone.
//!
//! A consumed catalog's members are secondary zones owned by that catalog
//! (`catalog_members.rs`), added and removed as the catalog says.
//!
//! Every write goes through the [`Registry`] (`registry.rs`): it takes the
//! one lock, checks which writer owns the zone, lets that writer build the
//! new zone aside (off the answer path) and persist it if it keeps state,
//! and only then swaps a new [`Catalog`](crate::zone::Catalog) in. Queries
//! never take the lock: those in flight keep the catalog they started
//! with. A zone that fails to build is not published; the others go on.
//! The writers' files know nothing of the lock, the catalog or each other.
//!
//! # Adding a writer
//!
//! Zone transfers (dnsd as a secondary) are the next writer. They plug in
//! beside the two above without changing them, the answer path or `api/`:
//!
//! 1. `secondary.rs`: the writer's state (its zones, the store of what it
//!    received) and the changes it makes to it, like `FileZones` and
//!    `ApiZones`;
//! 2. in `registry.rs`: that state as one more field of `Inner`; its zones
//!    in `Inner::owner` (the one place that says which writer owns a name,
//!    so no writer replaces another's zone) and in `Inner::served` and
//!    `Inner::views`; and its public write methods as one more
//!    `impl Registry` block (lock, check the owner, change, publish);
//! 3. a [`ZoneView`] variant, and a [`ZoneError`] variant if it can fail
//!    in a way of its own.
//!
//! Nothing here knows HTTP: writes fail with a [`ZoneError`], which `api/`
//! maps to a status code and message.

/// API-managed zones: their state and how a change is committed.
mod api_zones;
/// The catalog zone dnsd produces (`--catalog`), kept in step with the
/// API zones on every publish.
mod catalog_producer;
/// The catalog zone format (RFC 9432 v2): writing and reading members.
pub mod catalog_zone;
mod error;
/// Zone files: load, and reload on SIGHUP.
mod files;
/// IXFR histories of served zones, recorded when they are published.
mod history;
/// DNSSEC keys of served zones and the records that publish them.
mod keys;
pub mod model;
/// The lock, the owner of each name, the writers' entry points, publishing.
mod registry;
/// Frees replaced catalogs on a thread of its own, off the answer path.
mod retire;
/// Secondary zones: copies kept by zone transfers.
mod secondary;
pub mod serial;
pub mod store;
mod view;

pub use error::ZoneError;
pub use files::{ZoneLoadError, load_zone};
pub use keys::{ZoneSigning, key_records};
/// What consuming a catalog did to its members.
pub use registry::CatalogPlan;
pub use registry::{Registry, ReplicationStores, SecondaryKeys, ZoneChange};
pub use view::{RefreshState, ZoneView};

#[cfg(test)]
mod test_zones;
#[cfg(test)]
mod tests;
