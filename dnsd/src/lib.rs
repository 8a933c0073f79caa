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
//! [`zone::Catalog`] that readers share through `arc-swap`. `zones` is the
//! zone registry: which zones are served (zone files, API zones), the one
//! write path that builds, persists and publishes them, and their store;
//! `api` is the HTTP face of its write path. [`run`] starts it all:
//!
//! ```text
//! main -> run: zones::Registry::open -> net (udp, tcp) + api -> signals
//! api (HTTP) -> zones (write, persist, publish Catalog) <- SIGHUP reload
//! ```

pub mod answer;
pub mod api;
pub mod assemble;
mod cache;
pub mod commands;
pub mod config;
pub mod dnssec;
pub mod dynamic;
pub mod lookup;
pub mod metrics;
pub mod net;
pub mod parse;
mod run;
pub mod wire;
pub mod zone;
pub mod zones;

pub use run::run;
