//! Zone data: records as loaded, and the indexed, immutable snapshot that
//! queries read. Nothing here answers queries; `lookup` does that.
//!
//! Loading goes `load` (text -> [`Record`]s, checked) -> `build`
//! (records -> [`Zone`], with per-node flags precomputed) -> [`Catalog`]
//! (every served zone), which the server publishes whole through `arc-swap`.

mod build;
mod catalog;
pub mod load;
mod record;
mod tree;

pub use build::{BuildError, build_zone};
pub use catalog::Catalog;
pub use record::{Location, Record};
pub use tree::{Node, RRset, Zone};
