//! Zone transfers and NOTIFY: how dnsd keeps other nameservers' copies of
//! its zones current (as a primary) and its copies of theirs (as a
//! secondary). See `../shared/spec/replication.md`.
//!
//! ```text
//! diff      two versions of a zone -> the records deleted and added
//! history   the diffs of a zone, bounded and persisted (IXFR source)
//! message   records <-> transfer messages (compression, size limits)
//! client    SOA check, IXFR/AXFR fetch from a primary (TSIG)
//! ```

pub mod client;
pub mod diff;
pub mod history;
pub mod message;

pub use diff::Diff;
pub use history::History;
