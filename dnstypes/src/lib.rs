//! DNS types shared by dnsd, poolmgr and registrars: domain names, record
//! types, and the DNSSEC values derived from a key (key tag, DS digests).
//!
//! Modelled once, precisely: a [`Name`] is always valid wire form (labels
//! of 1..=63 octets, 255 octets in all), compares case-insensitively and
//! prints with RFC 1035 escapes; [`RType`] is the 16-bit type code with its
//! mnemonic; [`Dnskey`] and [`Ds`] are the RDATA with their presentation
//! text, and [`Dnskey::ds`] computes the digest (RFC 4034 §5.1.4, RFC 4509).
//!
//! No I/O, no clock, no async: callers parse, compare and print with these.

pub mod dnssec;
pub mod name;
mod name_text;
pub mod rtype;

pub use dnssec::{DigestType, Dnskey, DnssecTextError, Ds, key_tag};
pub use name::{Name, NameError};
pub use rtype::RType;
