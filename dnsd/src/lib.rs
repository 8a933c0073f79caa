//! dnsd: an authoritative DNS server.
//!
//! A query flows through one pipeline of stages, written out in [`answer`]:
//!
//! ```text
//! net (recv)
//!   -> parse     wire -> Request                           parse
//!   -> checks    EDNS, opcode, class, meta-types, CHAOS    answer::checks
//!   -> template  replay a kept reply for a repeated query  answer::templates
//!   -> lookup    Request x Catalog -> Outcome              lookup
//!        -> dynamic  LUA records at the name reached       dynamic::records
//!   -> denial    compact NSEC owed by a negative answer    dnssec::prove
//!   -> sign      RRSIGs for signed RRsets (or SERVFAIL)    dnssec::ReplySignatures
//!   -> assemble  Outcome -> bytes, compression, TC         assemble
//!   -> keep      offer the reply as a template             answer::templates
//! net (send)
//! ```
//!
//! [`outcome`] is what the stages pass along; [`wire`] holds the DNS types
//! they share (names, record types, header vocabulary).
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
pub mod outcome;
pub mod parse;
mod run;
#[cfg(test)]
mod test_dir;
pub mod wire;
pub mod xfr;
pub mod zone;
pub mod zones;

pub use run::run;
