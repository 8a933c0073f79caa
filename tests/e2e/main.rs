//! End-to-end tests: the real `dnsd` binary, on loopback, over real UDP and TCP.
//!
//! Written to `shared/spec/conformance.md`, not to the implementation. Test names carry
//! the checklist row they check (`r4_12_…` is row 4.12; `rfc8906_8_2_2_…` is the §16
//! matrix row 8.2.2). Build the server first: `cargo build --workspace --bins`, or point
//! `DNSD_BIN` at a binary.

/// Expected records of the fixture zones, shared by the modules below.
mod fixtures;

/// §4 the answer algorithm on the example zone.
mod answer;
/// §7 QTYPE ANY (RFC 8482).
mod any;
/// §12 case (0x20) and escaped names.
mod case;
/// `dnsd check-zone`.
mod check_zone;
/// §3 query classes, CHAOS.
mod class;
/// Command line: help, bad flags, ports in use, several listeners, IPv6, zone load errors.
mod cli;
/// §8 EDNS(0) and §9.1 ECS while ECS processing is off.
mod edns;
/// §1 message and header handling, including malformed input.
mod header;
/// Queries encoded by hickory-proto's own message builder.
mod interop_hickory;
/// Interoperability with Knot's `kdig`.
mod interop_kdig;
/// §6 negative answers (RFC 2308).
mod negative;
/// §2 opcodes other than QUERY.
mod opcode;
/// SIGHUP zone reload.
mod reload;
/// §16 the RFC 8906 §8 matrix, one test per row.
mod rfc8906;
/// §10 TCP.
mod tcp;
/// §13 zone transfers with the default (no transfers offered).
mod transfer;
/// §11 truncation.
mod truncation;
/// §5 wildcards (RFC 4592) on the wild.test zone.
mod wildcard;
