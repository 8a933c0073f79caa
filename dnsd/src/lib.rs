//! dnsd: an authoritative DNS server.
//!
//! A query flows through one pipeline, written out in `answer`:
//!
//! ```text
//! net (recv) -> parse (wire -> Request) -> lookup (Request x Snapshot -> Outcome)
//!            -> assemble (Outcome -> response bytes, compression, TC) -> net (send)
//! ```
//!
//! `zone` holds the data only: records as loaded and the immutable snapshot
//! that readers share through `arc-swap`.

pub mod wire;
pub mod zone;
