//! GeoIP lookups over MaxMind DB (MMDB) files, hot reload, and the two
//! distances the LUA records need.
//!
//! # Brief overview
//!
//! - [`GeoDb`] is one opened MMDB file. [`GeoDb::lookup`] maps an IPv4 or
//!   IPv6 address (IPv4-mapped IPv6 addresses are looked up as IPv4) to a
//!   [`Location`]: latitude/longitude (+ accuracy radius), country ISO code,
//!   continent code and AS number, each `None` when the database lacks it.
//! - [`SharedGeo`] is what the server holds: an ordered list of database files
//!   (a city database and an ASN database, say), merged field by field with the
//!   first database that has a value winning, as PowerDNS's geoip backend does.
//!   Lookups read an `arc-swap` snapshot and never block; [`SharedGeo::reload`]
//!   (SIGHUP) and [`SharedGeo::reload_if_changed`] (mtime/size/inode polling,
//!   or [`SharedGeo::spawn_watcher`]) build a new snapshot off the query path
//!   and swap it in whole. A file that fails to (re)load leaves the previous
//!   snapshot serving.
//! - [`distance`] holds PowerDNS's `pickclosest` metric (squared degrees with
//!   the antimeridian wrap, *not* a great-circle distance) and the haversine
//!   great-circle distance used for reports.
//!
//! # Why the `maxminddb` crate, memory-mapped
//!
//! The MMDB format (a binary search tree plus a typed data section) is well
//! specified, and `maxminddb` is the reader MaxMind links to for Rust; it
//! decodes straight out of the mapped bytes with borrowed strings, so a lookup
//! allocates nothing. Writing our own reader would buy nothing but risk. The
//! file is memory-mapped (`mmap` feature) so a large City database costs page
//! cache, not heap, and opening is O(1). The one hazard of mapping is a file
//! truncated or rewritten *in place* while mapped; operators must replace the
//! file by renaming a new one over it (what `geoipupdate` does), which gives a
//! new inode: the old mapping stays valid until the last reader drops it.
//!
//! What this crate does not do: decide what a missing field means to a LUA
//! function (that is dnsd's `GeoView`), lower-case values (PowerDNS compares
//! case-insensitively; [`Code::eq_ignore_ascii_case`] helps), or log.

#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod distance;
mod error;
mod lookup;
mod reload;

pub use distance::{EARTH_MEAN_RADIUS_KM, Point, great_circle_km, pdns_closest_metric};
pub use error::{Error, ErrorKind};
pub use lookup::{Code, GeoDb, Location};
pub use reload::{GeoSet, SharedGeo, Watcher};
