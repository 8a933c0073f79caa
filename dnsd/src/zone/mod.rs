//! Zone data: records as loaded, and the indexed, immutable snapshot that
//! queries read. Nothing here answers queries; `lookup` does that.
//!
//! Loading goes `load` (text -> [`Record`]s, checked) -> `build`
//! (records -> [`Zone`], with per-node flags precomputed) -> [`Catalog`]
//! (every served zone), which the zone registry (`crate::zones`) publishes
//! whole through `arc-swap`.
//! A change to a zone goes `update` (previous [`Zone`] + changed names ->
//! next `Zone`, sharing every unchanged node) instead of a full build.

mod build;
mod catalog;
pub mod load;
mod nodemap;
mod record;
mod text;
mod tree;
mod update;

pub(crate) use build::rdata_eq;
pub use build::{BuildError, build_zone};
pub(crate) use build::{records_freed, trim_heap};
pub use catalog::{Catalog, Served, SharedCatalog};
pub use record::{Location, Record};
pub use text::write_zone_text;
pub use tree::{LuaRecord, Node, PackedRdatas, RRset, RdataIter, Zone};
pub use update::{NamesBelow, OwnerChange, update_zone};
