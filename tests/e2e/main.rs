//! End-to-end tests: the real `dnsd` and `poolmgr` binaries, on loopback, over real UDP,
//! TCP and HTTP. One test binary: every module below runs in this one process.
//!
//! Written to `shared/spec/conformance.md`, not to the implementation. Test names carry
//! the checklist row they check (`r4_12_…` is row 4.12; `rfc8906_8_2_2_…` is the §16
//! matrix row 8.2.2). Build the binaries first: `cargo build --workspace --bins`, or point
//! `DNSD_BIN` / `POOLMGR_BIN` at them.
//!
//! Sharing one process: every server a test starts gets its own ports (`free_port`) and
//! scratch directory, signals go to a test's own child by pid, no test sets environment
//! variables or signal handlers, and tests that time the server (`isolation`, the LUA
//! failover bounds) say why their bounds hold beside the others and under load; the
//! rest wait on state (answers, acknowledged writes, health-check rounds), not on time.

/// Expected records of the fixture zones, shared by the modules below.
mod fixtures;

/// §4 the answer algorithm on the example zone.
mod answer;
/// §7 QTYPE ANY (RFC 8482).
mod any;
/// The PowerDNS-compatible REST API (pdns-api.md).
mod api;
/// §12 case (0x20) and escaped names.
mod case;
/// Catalog zones (RFC 9432): dnsd producing and consuming them.
mod catalog;
/// Catalog zones with Knot and BIND on the other side.
mod catalog_peers;
/// `dnsd check-zone`.
mod check_zone;
/// §3 query classes, CHAOS.
mod class;
/// Command line: help, bad flags, ports in use, several listeners, IPv6, zone load errors.
mod cli;
/// DNS Cookies (RFC 7873, RFC 9018).
mod cookies;
/// Online signing checked by unbound and delv.
mod dnssec;
/// DNSSEC on every edge: keys fetched over TLS, online signing of secondaries.
mod edge_dnssec;
/// §8 EDNS(0) and §9.1 ECS while ECS processing is off.
mod edns;
/// The fleet: a dnsd primary, two dnsd edges and Knot consuming its catalog, poolmgr.
mod fleet;
/// §1 message and header handling, including malformed input.
mod header;
/// Queries encoded by hickory-proto's own message builder.
mod interop_hickory;
/// Interoperability with Knot's `kdig`.
mod interop_kdig;
/// Idle and stalled TCP clients do not slow UDP.
mod isolation;
/// LUA records (lua-records.md).
mod lua;
/// The examples of PowerDNS's LUA-records documentation.
mod lua_docs;
/// dnsd and PowerDNS (pdns-server + geoip backend) answering one LUA zone alike.
mod lua_pdns;
/// `resolve()` in LUA records through `--lua-resolver`.
mod lua_resolve;
/// Hostile embedded-Lua scripts: the sandbox, the limits, latency of other names.
mod lua_sandbox;
/// §6 negative answers (RFC 2308).
mod negative;
/// Random-subdomain floods: the budget of fresh negative signatures and
/// the NSEC-range fallback, checked by unbound and delv.
mod nxflood;
/// §2 opcodes other than QUERY.
mod opcode;
/// The real poolmgr driving the real dnsd (pdm-api.md).
mod poolmgr;
/// poolmgr watching a fleet of name servers: the fleet report and the commit wait.
mod poolmgr_fleet;
/// SIGHUP zone reload.
mod reload;
/// Zone transfers, NOTIFY and TSIG between dnsd servers and with kdig.
mod replication;
/// dnsd with Knot, NSD, BIND and PowerDNS as primaries and secondaries.
mod replication_interop;
/// The replication peers (Knot, NSD, BIND, PowerDNS) transferring among themselves.
mod replication_peers;
/// §16 the RFC 8906 §8 matrix, one test per row.
mod rfc8906;
/// Response-rate limiting of UDP answers.
mod rrl;
/// §10 TCP.
mod tcp;
/// §13 zone transfers with the default (no transfers offered).
mod transfer;
/// §11 truncation.
mod truncation;
/// §5 wildcards (RFC 4592) on the wild.test zone.
mod wildcard;
