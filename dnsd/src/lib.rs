//! dnsd: an authoritative DNS server.
//!
//! A query flows through one pipeline, written out in [`answer`]:
//!
//! ```text
//! net (recv) -> parse (wire -> Request) -> lookup (Request x Catalog -> Outcome)
//!            -> assemble (Outcome -> reply bytes, compression, TC) -> net (send)
//! ```
//!
//! `zone` holds the data only: records as loaded and the immutable
//! [`zone::Catalog`] that readers share through `arc-swap`; `server` loads
//! zones, publishes catalogs and runs the transports.

pub mod answer;
pub mod api;
pub mod assemble;
mod cache;
pub mod config;
pub mod dnssec;
pub mod dynamic;
pub mod lookup;
pub mod metrics;
pub mod net;
pub mod outcome;
pub mod parse;
pub mod server;
pub mod wire;
pub mod zone;
