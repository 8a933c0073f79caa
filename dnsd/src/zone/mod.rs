//! Zone data: records as loaded, and the indexed, immutable snapshot that
//! queries read. Nothing here answers queries; `lookup` does that.

pub mod load;
mod record;

pub use record::{Location, Record};
