//! Zone transfers and NOTIFY: how dnsd keeps other nameservers' copies of
//! its zones current (as a primary) and its copies of theirs (as a
//! secondary). See `shared/spec/replication.md`.
//!
//! ```text
//! replicator  the shared service: ACLs, keys, NOTIFY in (answer::control)
//! tasks       starts NOTIFY out and the refreshers; stops a refresher
//! primary     AXFR/IXFR served over TCP, from one catalog snapshot
//! notify      NOTIFY out on every published serial change, with retries
//! refresh     one task per secondary zone: SOA timers, IXFR/AXFR in
//! client      SOA check, IXFR/AXFR fetch from a primary (TSIG)
//! diff        two versions of a zone -> the records deleted and added
//! history     the diffs of a zone, bounded and persisted (IXFR source)
//! message     records <-> transfer messages (compression, size limits)
//! stats       counters for /metrics
//! keysync     edge: fetch a signed zone's keys before its copy is served
//! keysource   edge: the HTTPS client of the primary's API (keys)
//! ```
//!
//! Zones received as a secondary are kept by the zone registry's
//! secondary writer (`zones::secondary`), and every published serial
//! change, whoever made it, is recorded there in the IXFR history
//! (`zones::history`).

pub mod client;
pub mod diff;
pub mod history;
/// The HTTPS client of the primary's API that edges fetch keys from.
pub mod keysource;
/// An edge's copies of the primary's DNSSEC keys, synced before a copy is served.
pub mod keysync;
pub mod message;
pub mod notify;
pub mod primary;
pub mod refresh;
mod replicator;
pub mod stats;
mod tasks;

pub use diff::Diff;
pub use history::History;
pub use primary::is_transfer_request;
pub use replicator::Replicator;
