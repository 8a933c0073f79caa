//! Command line and configuration file, merged into one [`Settings`].
//!
//! Every setting can come from a flag or from the TOML file given with
//! `--config`; a flag overrides the file. `--zone` flags add to the file's
//! zones (a flag for the same origin replaces the file's entry), and
//! `--listen` flags replace the file's addresses.

pub mod replication;

use crate::dynamic::health::policy::TargetPolicy;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use serde::Deserialize;

use crate::dnssec::{Algorithm, KeyPolicy};
use crate::lookup::AnyUdp;
use crate::net::rrl::RrlSettings;
use crate::wire::Name;
use crate::wire::tsig::Key;
use replication::{KeySource, Peer, Replication, SecondarySource, TransferAcl};

/// Command-line interface.
#[derive(Debug, Parser)]
#[command(
    name = "dnsd",
    version,
    about = "Authoritative DNS server: zone files, UDP and TCP, RFC-correct answers",
    after_help = "Example:\n  dnsd --listen 127.0.0.1:5300 --zone example.test=examples/example.test.zone\n\n\
                  Signals: SIGHUP reloads every zone file (a zone that fails to load keeps\n\
                  serving its previous version); SIGTERM and SIGINT stop the server."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the DS records (digest type 2, SHA-256) of a signed zone's
    /// key-signing keys, for the parent zone or a registrar. Never creates keys.
    Ds {
        /// The zone's origin, e.g. example.test
        origin: String,
        /// The data directory holding the keys. Default: ./data
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Check a zone file and print every error as file:line: reason; exits
    /// non-zero when the zone would not load.
    CheckZone {
        /// The zone's origin, e.g. example.test
        origin: String,
        /// The zone file
        file: PathBuf,
    },
}

/// Flags for serving.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to serve UDP and TCP on, e.g. 127.0.0.1:5300 or [::1]:5300
    /// (repeatable). Default: 0.0.0.0:53 and [::]:53.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Vec<SocketAddr>,
    /// Zone to serve from an RFC 1035 zone file, as ORIGIN=FILE (repeatable).
    #[arg(long, value_name = "ORIGIN=FILE", value_parser = parse_zone_arg)]
    pub zone: Vec<ZoneSource>,
    /// TOML configuration file with the same settings; flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// UDP worker threads per listen address (one SO_REUSEPORT socket each).
    /// Default: half the CPUs, at least one.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Close TCP connections idle for this many seconds. Default: 10.
    #[arg(long, value_name = "SECS")]
    pub tcp_idle_timeout: Option<u64>,
    /// Most concurrent TCP connections; more are closed at once. Default: 1000.
    #[arg(long, value_name = "N")]
    pub tcp_max_connections: Option<usize>,
    /// Most concurrent TCP connections from one source (an IPv4 address or
    /// an IPv6 /64), so one client cannot hold every slot. Default: 100.
    #[arg(long, value_name = "N")]
    pub tcp_max_per_source: Option<usize>,
    /// Seconds an HTTP API client has to send a request's headers; a slower
    /// one is disconnected. Default: 10.
    #[arg(long, value_name = "SECS")]
    pub api_header_timeout: Option<u64>,
    /// EDNS UDP payload size advertised and enforced (512-4096). Default: 1232.
    #[arg(long, value_name = "OCTETS")]
    pub edns_payload: Option<u16>,
    /// How to answer QTYPE ANY over UDP (RFC 8482). Default: minimal.
    #[arg(long, value_enum, value_name = "MODE")]
    pub any_udp: Option<AnyUdpArg>,
    /// Answer CHAOS TXT version.bind / version.server with this text. Default: refuse.
    #[arg(long, value_name = "STRING")]
    pub chaos_version: Option<String>,
    /// Answer CHAOS TXT hostname.bind / id.server with this text. Default: refuse.
    #[arg(long, value_name = "STRING")]
    pub chaos_id: Option<String>,
    /// Return this NSID to clients that ask (RFC 5001). Default: none.
    #[arg(long, value_name = "STRING")]
    pub nsid: Option<String>,
    /// Serve the PowerDNS-compatible REST API, /metrics, /healthz and
    /// /readyz on this address. Default: off.
    #[arg(long, value_name = "ADDR:PORT")]
    pub api_listen: Option<SocketAddr>,
    /// API key clients send in X-API-Key (required with --api-listen).
    /// Prefer --api-key-file: command lines are visible to other users.
    #[arg(long, value_name = "KEY", env = "DNSD_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// File holding the API key (surrounding whitespace ignored).
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
    /// Where API-managed zones are stored. Default: ./data
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Sign this zone online with DNSSEC (repeatable; the zone must be
    /// given with --zone or in the config file). Keys are generated on
    /// first use under DATA-DIR/keys/ORIGIN/ (owner-only files).
    #[arg(long, value_name = "ORIGIN")]
    pub dnssec: Vec<String>,
    /// Algorithm of generated keys. Default: ecdsap256sha256 (13).
    #[arg(long, value_enum, value_name = "ALGORITHM")]
    pub dnssec_algorithm: Option<DnssecAlgorithm>,
    /// Generate a KSK/ZSK pair instead of one combined signing key (CSK).
    #[arg(long)]
    pub dnssec_split: bool,
    /// Memory for cached signatures, in MiB. Default: 64.
    #[arg(long, value_name = "MIB")]
    pub signature_cache_mb: Option<usize>,
    /// Fresh compact-denial signatures a signed zone may make per second
    /// (random-subdomain floods); past it, missing names are proven with
    /// NSEC ranges over the zone's real names until a second stays under
    /// it. 0: no cap. Default: 1000.
    #[arg(long, value_name = "N")]
    pub negative_signatures_per_zone: Option<u32>,
    /// Log format. Default: human.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log level or tracing filter (error, warn, info, debug, trace). Default: info.
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// MaxMind DB file for the LUA geo functions (repeatable; the first
    /// database with a field wins). Reloaded on SIGHUP. Default: none.
    #[arg(long, value_name = "FILE")]
    pub geoip: Vec<PathBuf>,
    /// EDNS Client Subnet (RFC 7871): LUA records see the client subnet and
    /// replies carry ECS with a scope; off ignores ECS. Default: on.
    #[arg(long, value_enum, value_name = "on|off")]
    pub edns_client_subnet: Option<OnOff>,
    /// Seconds between LUA health-check rounds. Default: 5.
    #[arg(long, value_name = "SECS")]
    pub lua_health_interval: Option<u64>,
    /// Drop a LUA health check not used by any query for this many seconds.
    /// Default: 3600.
    #[arg(long, value_name = "SECS")]
    pub lua_health_expire: Option<u64>,
    /// A prefix LUA health checks may connect to (repeatable). With any
    /// given, checks connect only inside them; the longest matching allow or
    /// deny prefix decides.
    #[arg(long, value_name = "PREFIX")]
    pub lua_health_allow: Vec<String>,
    /// A prefix LUA health checks never connect to (repeatable), besides
    /// 169.254.0.0/16 and fe80::/10, which are always denied unless allowed
    /// by a longer prefix.
    #[arg(long, value_name = "PREFIX")]
    pub lua_health_deny: Vec<String>,
    /// Entries in the LUA answer cache (results per rule and client, or the
    /// up candidates a `random` selector draws from; dropped when a health
    /// state changes); 0 disables it. Default: 65536.
    #[arg(long, value_name = "N")]
    pub lua_cache_entries: Option<usize>,
    /// Lua VM instructions one embedded LUA-record evaluation may run
    /// (PowerDNS's `lua-records-exec-limit`); past it the name answers
    /// SERVFAIL. 0: no limit. Default: 1000.
    #[arg(long, value_name = "N")]
    pub lua_exec_limit: Option<u32>,
    /// Megabytes of memory each answering thread's Lua state may hold;
    /// past it the script answers SERVFAIL. Default: 16.
    #[arg(long, value_name = "MB")]
    pub lua_memory_limit: Option<usize>,
    /// Keep embedded LUA-record globals per thread between queries
    /// (PowerDNS's `enable-lua-records=shared`); default: fresh globals for
    /// every query.
    #[arg(long)]
    pub lua_records_shared: bool,
    /// A LUA record that does not compile refuses its zone (at load and
    /// reload) instead of loading and answering SERVFAIL at its name.
    #[arg(long)]
    pub lua_strict: bool,
    /// Join a LUA record's character-strings with a space after each
    /// (PowerDNS ≤ 4.9, `lua-records-insert-whitespace=yes`). Default: off.
    #[arg(long, value_enum, value_name = "on|off")]
    pub lua_records_insert_whitespace: Option<OnOff>,
    /// The resolver LUA records' `resolve()` asks (recursion desired),
    /// ADDR:PORT. Default: none (`resolve()` answers SERVFAIL).
    #[arg(long, value_name = "ADDR:PORT")]
    pub lua_resolver: Option<SocketAddr>,
    /// Milliseconds a query waits for a `resolve()` lookup not in the cache
    /// before answering SERVFAIL (the next query gets the answer); at most
    /// 1000. Default: 10.
    #[arg(long, value_name = "MS")]
    pub lua_resolve_wait: Option<u64>,
    /// Replies each UDP worker, and each TCP runtime thread, keeps as
    /// templates for repeated questions (static answers only; dropped when
    /// a zone changes); 0 disables them. Default: 8192.
    #[arg(long, value_name = "N")]
    pub answer_templates: Option<usize>,
    /// A TSIG key, ALG:NAME:BASE64SECRET as kdig's -y takes it (repeatable;
    /// ALG defaults to hmac-sha256). Prefer --tsig-key-file: command lines
    /// are visible to other users.
    #[arg(long, value_name = "ALG:NAME:SECRET")]
    pub tsig_key: Vec<String>,
    /// A file of BIND-style `key "name" { algorithm ...; secret "..."; };`
    /// statements (repeatable).
    #[arg(long, value_name = "FILE")]
    pub tsig_key_file: Vec<PathBuf>,
    /// Who may transfer every zone (AXFR/IXFR): PREFIX[:KEYNAME]
    /// (repeatable). Default: nobody.
    #[arg(long, value_name = "PREFIX[:KEYNAME]")]
    pub allow_transfer: Vec<String>,
    /// As --allow-transfer, and transfers of online-signed zones to these
    /// clients carry the zone conventionally signed (RRSIGs, NSEC chain),
    /// for secondaries that hold no key: Knot, NSD, BIND (repeatable).
    #[arg(long, value_name = "PREFIX[:KEYNAME]")]
    pub allow_transfer_signed: Vec<String>,
    /// Send NOTIFY to ADDR:PORT[:KEYNAME] when a zone's serial changes
    /// (repeatable).
    #[arg(long, value_name = "ADDR:PORT[:KEYNAME]")]
    pub also_notify: Vec<String>,
    /// Serve ORIGIN as a secondary of the primary at ADDR:PORT, TSIG-signed
    /// with KEYNAME if given (repeatable; repeat ORIGIN for more primaries).
    #[arg(long, value_name = "ORIGIN=ADDR:PORT[:KEYNAME]")]
    pub secondary: Vec<String>,
    /// Most zone transfers served at once. Default: 10.
    #[arg(long, value_name = "N")]
    pub max_transfers: Option<usize>,
    /// Seconds a transfer peer may stall (a client not reading, a primary
    /// not sending) before the transfer is dropped. Default: 30.
    #[arg(long, value_name = "SECS")]
    pub transfer_timeout: Option<u64>,
    /// Serial changes kept per zone for IXFR. Default: 1000.
    #[arg(long, value_name = "N")]
    pub ixfr_max_diffs: Option<usize>,
    /// Produce a catalog zone (RFC 9432, version 2) named ORIGIN listing
    /// every API zone and the file zones marked `catalog = true`.
    #[arg(long, value_name = "ORIGIN")]
    pub catalog: Option<String>,
    /// Consume the catalog zone ORIGIN from the primary ADDR:PORT (TSIG key
    /// KEYNAME if given): serve it and every member zone it lists as a
    /// secondary of the same primaries (repeatable; repeat ORIGIN for more
    /// primaries).
    #[arg(long, value_name = "ORIGIN=ADDR:PORT[:KEYNAME]")]
    pub catalog_consumer: Vec<String>,
    /// Serve the API over TLS with this PEM certificate chain (needs
    /// --api-tls-key).
    #[arg(long, value_name = "FILE")]
    pub api_tls_cert: Option<PathBuf>,
    /// The PEM private key of --api-tls-cert.
    #[arg(long, value_name = "FILE")]
    pub api_tls_key: Option<PathBuf>,
    /// The primary's API (https://HOST:PORT) this edge fetches the DNSSEC
    /// keys of its signed secondary zones from, to sign them online.
    #[arg(long, value_name = "URL")]
    pub key_source: Option<String>,
    /// File holding the API key of --key-source.
    #[arg(long, value_name = "FILE")]
    pub key_source_api_key_file: Option<PathBuf>,
    /// PEM certificate(s) trusted for --key-source's TLS certificate.
    #[arg(long, value_name = "FILE")]
    pub key_source_ca: Option<PathBuf>,
    /// Response-rate limiting: UDP responses per second per client network
    /// and response class (Knot's and BIND's RRL); over it, responses are
    /// dropped or slipped. Default: off.
    #[arg(long, value_name = "N")]
    pub rrl_rate: Option<u32>,
    /// Every Nth response over the rate is sent truncated (TC=1) so real
    /// clients retry over TCP; 0 drops them all, 1 truncates them all.
    /// Default: 2.
    #[arg(long, value_name = "N")]
    pub rrl_slip: Option<u32>,
    /// IPv4 clients are counted per network of this prefix length. Default: 24.
    #[arg(long, value_name = "BITS")]
    pub rrl_ipv4_prefix: Option<u8>,
    /// IPv6 clients are counted per network of this prefix length. Default: 56.
    #[arg(long, value_name = "BITS")]
    pub rrl_ipv6_prefix: Option<u8>,
    /// Clients (PREFIX) never rate-limited (repeatable).
    #[arg(long, value_name = "PREFIX")]
    pub rrl_whitelist: Vec<String>,
    /// Buckets in the rate-limit table (8 bytes each; rounded up to a power
    /// of two). Default: 262144.
    #[arg(long, value_name = "N")]
    pub rrl_table_size: Option<usize>,
    /// DNS Cookies (RFC 7873, RFC 9018 server cookies). Default: on.
    #[arg(long, value_enum, value_name = "on|off")]
    pub dns_cookies: Option<OnOff>,
    /// The server cookie secret: a file with 32 hex digits (16 octets) on
    /// its first line and, during a rotation, the previous secret on the
    /// second; re-read on SIGHUP. Give every server of a fleet the same
    /// file. Default: a random secret per start.
    #[arg(long, value_name = "FILE")]
    pub cookie_secret_file: Option<PathBuf>,
    /// UDP clients that send a cookie must return a valid server cookie;
    /// otherwise they get BADCOOKIE and a fresh one (RFC 7873 §5.2.3).
    #[arg(long)]
    pub require_server_cookie: bool,
    /// Seconds a key newly activated on the primary is published on this
    /// edge before the edge signs with it, when another key of the same
    /// role still signs. Default: 60.
    #[arg(long, value_name = "SECS")]
    pub key_propagation_delay: Option<u64>,
}

/// A switch given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// `--any-udp` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AnyUdpArg {
    /// One HINFO "RFC8482" "" record.
    Minimal,
    /// Empty reply with TC=1, so the client retries over TCP.
    Tc,
    /// Every RRset at the name.
    Full,
}

impl From<AnyUdpArg> for AnyUdp {
    fn from(arg: AnyUdpArg) -> AnyUdp {
        match arg {
            AnyUdpArg::Minimal => AnyUdp::Minimal,
            AnyUdpArg::Tc => AnyUdp::Tc,
            AnyUdpArg::Full => AnyUdp::Full,
        }
    }
}

/// `--dnssec-algorithm` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnssecAlgorithm {
    /// ECDSA P-256 with SHA-256, algorithm 13 (RFC 6605).
    Ecdsap256sha256,
    /// Ed25519, algorithm 15 (RFC 8080).
    Ed25519,
}

impl From<DnssecAlgorithm> for Algorithm {
    fn from(a: DnssecAlgorithm) -> Algorithm {
        match a {
            DnssecAlgorithm::Ecdsap256sha256 => Algorithm::EcdsaP256Sha256,
            DnssecAlgorithm::Ed25519 => Algorithm::Ed25519,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// A zone and the file it is loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSource {
    pub origin: Name,
    pub file: PathBuf,
    /// Sign answers online (DNSSEC) with keys kept under the data directory.
    pub dnssec: bool,
    /// Who may transfer this zone, besides the global `allow-transfer`.
    pub allow_transfer: Vec<TransferAcl>,
    /// Listed as a member of the produced catalog zone (`--catalog`).
    pub catalog: bool,
}

fn parse_origin(text: &str) -> Result<Name, String> {
    let absolute = if text.ends_with('.') {
        text.to_string()
    } else {
        format!("{text}.")
    };
    Name::from_text(&absolute, None).map_err(|e| format!("invalid zone origin {text:?}: {e}"))
}

fn parse_zone_arg(arg: &str) -> Result<ZoneSource, String> {
    let (origin, file) = arg
        .split_once('=')
        .ok_or_else(|| format!("expected ORIGIN=FILE, got {arg:?}"))?;
    if file.is_empty() {
        return Err(format!("no file given for zone {origin:?}"));
    }
    Ok(ZoneSource {
        origin: parse_origin(origin)?,
        file: PathBuf::from(file),
        dnssec: false,
        allow_transfer: Vec::new(),
        catalog: false,
    })
}

/// Parses a zone origin as given on the command line (trailing dot optional).
pub fn origin_from_arg(text: &str) -> Result<Name, String> {
    parse_origin(text)
}

/// The configuration file (TOML). Unknown keys are errors, so typos are caught.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub listen: Option<Vec<SocketAddr>>,
    #[serde(default)]
    pub zone: Vec<FileZone>,
    pub workers: Option<usize>,
    pub tcp_idle_timeout: Option<u64>,
    pub tcp_max_connections: Option<usize>,
    pub tcp_max_per_source: Option<usize>,
    pub api_header_timeout: Option<u64>,
    pub edns_payload: Option<u16>,
    pub any_udp: Option<AnyUdp>,
    pub chaos_version: Option<String>,
    pub chaos_id: Option<String>,
    pub nsid: Option<String>,
    pub log_format: Option<LogFormat>,
    pub log_level: Option<String>,
    pub api_listen: Option<SocketAddr>,
    pub api_key_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub dnssec_algorithm: Option<DnssecAlgorithm>,
    #[serde(default)]
    pub dnssec_split: bool,
    pub signature_cache_mb: Option<usize>,
    pub negative_signatures_per_zone: Option<u32>,
    /// MaxMind DB files; relative paths are relative to this file.
    pub geoip: Option<Vec<PathBuf>>,
    pub edns_client_subnet: Option<bool>,
    pub lua_health_interval: Option<u64>,
    pub lua_health_expire: Option<u64>,
    pub lua_health_allow: Option<Vec<String>>,
    pub lua_health_deny: Option<Vec<String>>,
    pub lua_cache_entries: Option<usize>,
    pub lua_exec_limit: Option<u32>,
    pub lua_memory_limit: Option<usize>,
    #[serde(default)]
    pub lua_records_shared: bool,
    #[serde(default)]
    pub lua_strict: bool,
    pub lua_records_insert_whitespace: Option<bool>,
    pub lua_resolver: Option<SocketAddr>,
    pub lua_resolve_wait: Option<u64>,
    pub answer_templates: Option<usize>,
    pub tsig_key: Option<Vec<String>>,
    /// Key files; relative paths are relative to this file.
    pub tsig_key_file: Option<Vec<PathBuf>>,
    pub allow_transfer: Option<Vec<String>>,
    pub allow_transfer_signed: Option<Vec<String>>,
    pub also_notify: Option<Vec<String>>,
    #[serde(default)]
    pub secondary: Vec<FileSecondary>,
    pub max_transfers: Option<usize>,
    pub transfer_timeout: Option<u64>,
    pub ixfr_max_diffs: Option<usize>,
    pub catalog: Option<String>,
    /// `[[catalog-consumer]]`: `origin` and `primaries`, as `[[secondary]]`.
    #[serde(default)]
    pub catalog_consumer: Vec<FileSecondary>,
    pub api_tls_cert: Option<PathBuf>,
    pub api_tls_key: Option<PathBuf>,
    pub key_source: Option<String>,
    pub key_source_api_key_file: Option<PathBuf>,
    pub key_source_ca: Option<PathBuf>,
    pub key_propagation_delay: Option<u64>,
    pub rrl_rate: Option<u32>,
    pub rrl_slip: Option<u32>,
    pub rrl_ipv4_prefix: Option<u8>,
    pub rrl_ipv6_prefix: Option<u8>,
    pub rrl_whitelist: Option<Vec<String>>,
    pub rrl_table_size: Option<usize>,
    pub dns_cookies: Option<bool>,
    pub cookie_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub require_server_cookie: bool,
}

/// `[[secondary]]` in the configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSecondary {
    pub origin: String,
    /// `ADDR:PORT[:KEYNAME]`, tried in order.
    pub primaries: Vec<String>,
}

/// `[[zone]] in the configuration file. A relative `file` is relative to
/// the configuration file's folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileZone {
    pub origin: String,
    pub file: PathBuf,
    /// Sign this zone online (DNSSEC).
    #[serde(default)]
    pub dnssec: bool,
    /// `PREFIX[:KEYNAME]` entries allowed to transfer this zone.
    #[serde(default, rename = "allow-transfer")]
    pub allow_transfer: Vec<String>,
    /// List this zone in the produced catalog zone (`--catalog`).
    #[serde(default)]
    pub catalog: bool,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The API's TLS certificate chain and key (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The API key, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The merged settings the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: Vec<SocketAddr>,
    pub zones: Vec<ZoneSource>,
    pub workers: usize,
    pub tcp_idle_timeout: Duration,
    pub tcp_max_connections: usize,
    /// Most concurrent TCP connections from one source (IPv4 address, IPv6 /64).
    pub tcp_max_per_source: usize,
    /// Time an API client has to send a request's headers.
    pub api_header_timeout: Duration,
    pub edns_payload: u16,
    pub any_udp: AnyUdp,
    pub chaos_version: Option<String>,
    pub chaos_id: Option<String>,
    pub nsid: Option<String>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub api_listen: Option<SocketAddr>,
    pub api_key: Option<Secret>,
    /// Serve the API over TLS (`--api-tls-cert`, `--api-tls-key`).
    pub api_tls: Option<ApiTls>,
    pub data_dir: PathBuf,
    /// Keys generated for signed zones.
    pub key_policy: KeyPolicy,
    pub signature_cache_bytes: usize,
    /// Fresh negative signatures per signed zone per second; 0: no cap.
    pub negative_signatures_per_zone: u32,
    /// GeoIP databases for LUA records, in lookup order.
    pub geoip: Vec<PathBuf>,
    /// EDNS Client Subnet processing.
    pub edns_client_subnet: bool,
    /// `lua-health-checks-interval`.
    pub lua_health_interval: Duration,
    /// `lua-health-checks-expire-delay`.
    pub lua_health_expire: Duration,
    /// Where LUA health checks may connect.
    pub lua_health_targets: TargetPolicy,
    /// Entries in the LUA answer cache; 0: no cache.
    pub lua_cache_entries: usize,
    /// The embedded engine's limits and modes, chunk joining, strictness.
    pub lua: crate::dynamic::LuaSettings,
    /// `resolve()`'s resolver and wait bound; `None`: no resolver.
    pub lua_resolver: Option<crate::dynamic::resolver::ResolverSettings>,
    /// Reply templates per UDP worker and per TCP runtime thread; 0: none.
    pub answer_templates: usize,
    /// Zone transfers, NOTIFY and secondary zones.
    pub replication: Replication,
    /// Response-rate limiting of UDP answers; `None`: off.
    pub rrl: Option<RrlSettings>,
    /// DNS Cookies.
    pub cookies: CookieSettings,
}

/// DNS Cookies: off, or on with the secret's file (none: a random secret)
/// and whether cookie-aware UDP clients must return a valid server cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieSettings {
    Off,
    On {
        secret_file: Option<PathBuf>,
        require: bool,
    },
}

/// UDP workers when none are configured: half the CPUs, at least one.
/// About 85 % of a UDP answer's cost is the kernel's, and much of that runs
/// outside the worker thread (receive processing in softirq, on whichever
/// core the packet arrives); a worker on every CPU competes with it. Measured
/// on 2 CPUs (BENCHMARKS.md), one worker answers as many queries as two
/// for 10-20 % less CPU per query.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// A list option: the flags' values when any were given, else the file's.
fn pick_list(flags: Vec<String>, file: Option<Vec<String>>) -> Vec<String> {
    if flags.is_empty() {
        file.unwrap_or_default()
    } else {
        flags
    }
}

impl Settings {
    /// Reads the file named by `--config`, if any, and applies the flags over it.
    pub fn from_args(args: ServeArgs) -> Result<Settings, ConfigError> {
        let (file, base) = match &args.config {
            Some(path) => (
                read_file_config(path)?,
                path.parent().map(Path::to_path_buf),
            ),
            None => (FileConfig::default(), None),
        };
        let relative_to_config = |path: PathBuf| match (&base, path.is_relative()) {
            (Some(base), true) => base.join(path),
            _ => path,
        };
        let replication = replication_settings(&args, &file, relative_to_config)?;
        let rrl = rrl_settings(&args, &file)?;
        let lua = lua_settings(&args, &file)?;
        let lua_resolver = lua_resolver_settings(&args, &file)?;
        let cookies = if args
            .dns_cookies
            .map(|v| v == OnOff::On)
            .or(file.dns_cookies)
            .unwrap_or(true)
        {
            CookieSettings::On {
                secret_file: args
                    .cookie_secret_file
                    .clone()
                    .or(file.cookie_secret_file.clone().map(&relative_to_config)),
                require: args.require_server_cookie || file.require_server_cookie,
            }
        } else {
            CookieSettings::Off
        };
        let mut zones: Vec<ZoneSource> = Vec::new();
        for zone in file.zone {
            let origin = parse_origin(&zone.origin).map_err(ConfigError::Invalid)?;
            let file = match (&base, zone.file.is_relative()) {
                (Some(base), true) => base.join(zone.file),
                _ => zone.file,
            };
            let allow_transfer = zone
                .allow_transfer
                .iter()
                .map(|text| TransferAcl::parse(text))
                .collect::<Result<_, _>>()
                .map_err(|e| ConfigError::Invalid(format!("zone {origin} allow-transfer: {e}")))?;
            zones.push(ZoneSource {
                origin,
                file,
                dnssec: zone.dnssec,
                allow_transfer,
                catalog: zone.catalog,
            });
        }
        for zone in args.zone {
            zones.retain(|z| z.origin != zone.origin);
            zones.push(zone);
        }
        for origin in &args.dnssec {
            let origin = parse_origin(origin).map_err(ConfigError::Invalid)?;
            let zone = zones.iter_mut().find(|z| z.origin == origin).ok_or_else(|| {
                ConfigError::Invalid(format!("--dnssec {origin}: no such zone (give it with --zone or in the config file)"))
            })?;
            zone.dnssec = true;
        }
        let listen = if !args.listen.is_empty() {
            args.listen
        } else {
            file.listen.unwrap_or_else(|| {
                vec![
                    SocketAddr::from(([0, 0, 0, 0], 53)),
                    SocketAddr::from(([0u16; 8], 53)),
                ]
            })
        };
        let api_key = match (args.api_key, args.api_key_file.or(file.api_key_file)) {
            (Some(key), _) => Some(Secret(key.trim().to_string())),
            (None, Some(path)) => {
                let path = match (&base, path.is_relative() && args.config.is_some()) {
                    (Some(base), true) => base.join(path),
                    _ => path,
                };
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ConfigError::Read { path, source })?;
                Some(Secret(text.trim().to_string()))
            }
            (None, None) => None,
        };
        let geoip = if !args.geoip.is_empty() {
            args.geoip
        } else {
            file.geoip
                .unwrap_or_default()
                .into_iter()
                .map(|path| match (&base, path.is_relative()) {
                    (Some(base), true) => base.join(path),
                    _ => path,
                })
                .collect()
        };
        let api_tls = match (
            args.api_tls_cert
                .or(file.api_tls_cert.map(&relative_to_config)),
            args.api_tls_key
                .or(file.api_tls_key.map(&relative_to_config)),
        ) {
            (Some(cert), Some(key)) => Some(ApiTls { cert, key }),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "--api-tls-cert and --api-tls-key go together".into(),
                ));
            }
        };
        let settings = Settings {
            cookies,
            rrl,
            replication,
            api_tls,
            listen,
            zones,
            workers: args
                .workers
                .or(file.workers)
                .unwrap_or_else(default_workers),
            tcp_idle_timeout: Duration::from_secs(
                args.tcp_idle_timeout
                    .or(file.tcp_idle_timeout)
                    .unwrap_or(10),
            ),
            tcp_max_connections: args
                .tcp_max_connections
                .or(file.tcp_max_connections)
                .unwrap_or(1000),
            tcp_max_per_source: args
                .tcp_max_per_source
                .or(file.tcp_max_per_source)
                .unwrap_or(100),
            api_header_timeout: Duration::from_secs(
                args.api_header_timeout
                    .or(file.api_header_timeout)
                    .unwrap_or(10),
            ),
            edns_payload: args.edns_payload.or(file.edns_payload).unwrap_or(1232),
            any_udp: args
                .any_udp
                .map(AnyUdp::from)
                .or(file.any_udp)
                .unwrap_or_default(),
            chaos_version: args.chaos_version.or(file.chaos_version),
            chaos_id: args.chaos_id.or(file.chaos_id),
            nsid: args.nsid.or(file.nsid),
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            log_level: args
                .log_level
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            api_listen: args.api_listen.or(file.api_listen),
            api_key,
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            key_policy: KeyPolicy {
                algorithm: args
                    .dnssec_algorithm
                    .or(file.dnssec_algorithm)
                    .map_or(Algorithm::EcdsaP256Sha256, Algorithm::from),
                split: args.dnssec_split || file.dnssec_split,
            },
            signature_cache_bytes: args
                .signature_cache_mb
                .or(file.signature_cache_mb)
                .unwrap_or(64)
                << 20,
            negative_signatures_per_zone: args
                .negative_signatures_per_zone
                .or(file.negative_signatures_per_zone)
                .unwrap_or(crate::dnssec::DEFAULT_NEGATIVE_SIGNATURES_PER_ZONE),
            geoip,
            edns_client_subnet: args
                .edns_client_subnet
                .map(|v| v == OnOff::On)
                .or(file.edns_client_subnet)
                .unwrap_or(true),
            lua_health_interval: Duration::from_secs(
                args.lua_health_interval
                    .or(file.lua_health_interval)
                    .unwrap_or(5),
            ),
            lua_health_expire: Duration::from_secs(
                args.lua_health_expire
                    .or(file.lua_health_expire)
                    .unwrap_or(3600),
            ),
            lua_health_targets: TargetPolicy::new(
                &pick_list(args.lua_health_allow, file.lua_health_allow),
                &pick_list(args.lua_health_deny, file.lua_health_deny),
            )
            .map_err(|e| ConfigError::Invalid(format!("lua-health-allow/deny: {e}")))?,
            lua_cache_entries: args
                .lua_cache_entries
                .or(file.lua_cache_entries)
                .unwrap_or(crate::dynamic::cache::DEFAULT_ENTRIES),
            lua,
            lua_resolver,
            answer_templates: args
                .answer_templates
                .or(file.answer_templates)
                .unwrap_or(crate::answer::templates::DEFAULT_SLOTS),
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !(512..=4096).contains(&self.edns_payload) {
            return Err(ConfigError::Invalid(format!(
                "edns-payload {} is out of range (512-4096)",
                self.edns_payload
            )));
        }
        if self.workers == 0 || self.workers > 1024 {
            return Err(ConfigError::Invalid(format!(
                "workers {} is out of range (1-1024)",
                self.workers
            )));
        }
        if self.tcp_max_connections == 0 {
            return Err(ConfigError::Invalid(
                "tcp-max-connections must be at least 1".into(),
            ));
        }
        if self.tcp_max_per_source == 0 {
            return Err(ConfigError::Invalid(
                "tcp-max-per-source must be at least 1".into(),
            ));
        }
        if self.api_header_timeout.is_zero() {
            return Err(ConfigError::Invalid(
                "api-header-timeout must be at least 1 second".into(),
            ));
        }
        if self.tcp_idle_timeout.is_zero() {
            return Err(ConfigError::Invalid(
                "tcp-idle-timeout must be at least 1 second".into(),
            ));
        }
        if self.api_listen.is_some() && self.api_key.as_ref().is_none_or(|k| k.0.is_empty()) {
            return Err(ConfigError::Invalid(
                "--api-listen needs an API key: give --api-key-file FILE (or --api-key / DNSD_API_KEY)".into(),
            ));
        }
        if self.lua_health_interval.is_zero() {
            return Err(ConfigError::Invalid(
                "lua-health-interval must be at least 1 second".into(),
            ));
        }
        if self.listen.is_empty() {
            return Err(ConfigError::Invalid("no listen address".into()));
        }
        let zone_acls: Vec<TransferAcl> = self
            .zones
            .iter()
            .flat_map(|z| z.allow_transfer.iter().cloned())
            .collect();
        self.replication
            .check_keys(&zone_acls)
            .map_err(ConfigError::Invalid)?;
        if self.api_tls.is_some() && self.api_listen.is_none() {
            return Err(ConfigError::Invalid(
                "--api-tls-cert needs --api-listen".into(),
            ));
        }
        if let Some(both) = self.replication.secondaries.iter().find(|s| {
            self.zones
                .iter()
                .any(|z| z.origin.to_lowercase() == s.origin.to_lowercase())
        }) {
            return Err(ConfigError::Invalid(format!(
                "zone {} is given both as a zone file and as a secondary",
                both.origin
            )));
        }
        self.check_catalogs()?;
        Ok(())
    }
}

impl Settings {
    /// A consumed catalog is a secondary zone of its own, and the produced
    /// one is served by nobody else: neither may also be a zone file, a
    /// `--secondary` or the other.
    fn check_catalogs(&self) -> Result<(), ConfigError> {
        let replication = &self.replication;
        let is_file = |origin: &Name| {
            self.zones
                .iter()
                .any(|z| z.origin.to_lowercase() == origin.to_lowercase())
        };
        let is_secondary = |origin: &Name| {
            replication
                .secondaries
                .iter()
                .any(|s| s.origin.to_lowercase() == origin.to_lowercase())
        };
        for consumer in &replication.catalog_consumers {
            let origin = &consumer.origin;
            if is_file(origin) || is_secondary(origin) {
                return Err(ConfigError::Invalid(format!(
                    "catalog zone {origin} is consumed (--catalog-consumer) and also given as a zone file or --secondary"
                )));
            }
        }
        if let Some(origin) = &replication.catalog {
            let consumed = replication
                .catalog_consumers
                .iter()
                .any(|c| c.origin.to_lowercase() == origin.to_lowercase());
            if is_file(origin) || is_secondary(origin) || consumed {
                return Err(ConfigError::Invalid(format!(
                    "catalog zone {origin} is produced (--catalog) and also given as a zone file, --secondary or --catalog-consumer"
                )));
            }
            // Room for `<32-octet id>.zones.` below it (RFC 9432 member nodes).
            if origin.wire_len() > 255 - 33 - 6 {
                return Err(ConfigError::Invalid(format!(
                    "catalog zone name {origin} is too long for member names below it"
                )));
            }
        }
        Ok(())
    }
}

/// The replication settings from flags over the file. Lists given as flags
/// replace the file's, as for every other list setting.
fn replication_settings(
    args: &ServeArgs,
    file: &FileConfig,
    relative_to_config: impl Fn(PathBuf) -> PathBuf,
) -> Result<Replication, ConfigError> {
    let invalid = |what: &str, e: String| ConfigError::Invalid(format!("{what}: {e}"));
    let mut replication = Replication::default();
    let key_specs = pick_list(args.tsig_key.clone(), file.tsig_key.clone());
    for spec in &key_specs {
        let key = Key::parse_spec(spec).map_err(|e| invalid("tsig-key", e.to_string()))?;
        replication.keys.insert(key);
    }
    let key_files = if args.tsig_key_file.is_empty() {
        file.tsig_key_file
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(&relative_to_config)
            .collect()
    } else {
        args.tsig_key_file.clone()
    };
    for path in key_files {
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        for key in Key::parse_key_file(&text)
            .map_err(|e| invalid(&format!("tsig-key-file {}", path.display()), e.to_string()))?
        {
            replication.keys.insert(key);
        }
    }
    replication.allow_transfer =
        pick_list(args.allow_transfer.clone(), file.allow_transfer.clone())
            .iter()
            .map(|text| TransferAcl::parse(text))
            .collect::<Result<_, _>>()
            .map_err(|e| invalid("allow-transfer", e))?;
    for text in pick_list(
        args.allow_transfer_signed.clone(),
        file.allow_transfer_signed.clone(),
    ) {
        let mut acl = TransferAcl::parse(&text).map_err(|e| invalid("allow-transfer-signed", e))?;
        acl.signed = true;
        replication.allow_transfer.push(acl);
    }
    replication.also_notify = pick_list(args.also_notify.clone(), file.also_notify.clone())
        .iter()
        .map(|text| Peer::parse(text))
        .collect::<Result<_, _>>()
        .map_err(|e| invalid("also-notify", e))?;
    replication.secondaries = secondary_sources(&args.secondary, &file.secondary, "secondary")?;
    if let Some(n) = args.max_transfers.or(file.max_transfers) {
        replication.max_transfers = n;
    }
    if let Some(secs) = args.transfer_timeout.or(file.transfer_timeout) {
        replication.transfer_timeout = Duration::from_secs(secs);
    }
    if let Some(n) = args.ixfr_max_diffs.or(file.ixfr_max_diffs) {
        replication.ixfr_max_diffs = n;
    }
    if let Some(origin) = args.catalog.as_ref().or(file.catalog.as_ref()) {
        replication.catalog = Some(parse_origin(origin).map_err(ConfigError::Invalid)?);
    }
    replication.catalog_consumers = secondary_sources(
        &args.catalog_consumer,
        &file.catalog_consumer,
        "catalog-consumer",
    )?;
    replication.key_source = key_source(args, file, &relative_to_config)?;
    if replication.max_transfers == 0 {
        return Err(ConfigError::Invalid(
            "max-transfers must be at least 1".into(),
        ));
    }
    if replication.transfer_timeout.is_zero() {
        return Err(ConfigError::Invalid(
            "transfer-timeout must be at least 1 second".into(),
        ));
    }
    Ok(replication)
}

/// Zones with their primaries, from `--NAME ORIGIN=ADDR:PORT[:KEYNAME]`
/// flags (repeating an origin adds a primary) or, when none are given,
/// the file's `[[NAME]]` tables.
fn secondary_sources(
    flags: &[String],
    file: &[FileSecondary],
    what: &str,
) -> Result<Vec<SecondarySource>, ConfigError> {
    let invalid = |what: &str, e: String| ConfigError::Invalid(format!("{what}: {e}"));
    let mut sources: Vec<SecondarySource> = Vec::new();
    let mut add_primary =
        |origin: Name, peer: Peer| match sources.iter_mut().find(|s| s.origin == origin) {
            Some(source) => source.primaries.push(peer),
            None => sources.push(SecondarySource {
                origin,
                primaries: vec![peer],
            }),
        };
    if flags.is_empty() {
        for entry in file {
            let origin = parse_origin(&entry.origin).map_err(ConfigError::Invalid)?;
            if entry.primaries.is_empty() {
                return Err(invalid(&format!("{what} {origin}"), "no primaries".into()));
            }
            for text in &entry.primaries {
                let peer =
                    Peer::parse(text).map_err(|e| invalid(&format!("{what} {origin}"), e))?;
                add_primary(origin.clone(), peer);
            }
        }
    } else {
        for text in flags {
            let (origin, peer) =
                replication::parse_secondary(text).map_err(|e| invalid(what, e))?;
            add_primary(origin, peer);
        }
    }
    Ok(sources)
}

/// `--rrl-*`: `None` unless a rate is given (RRL is off by default, as
/// in Knot, BIND and PowerDNS).
/// `--lua-resolver` and `--lua-resolve-wait` (flags over the file).
fn lua_resolver_settings(
    args: &ServeArgs,
    file: &FileConfig,
) -> Result<Option<crate::dynamic::resolver::ResolverSettings>, ConfigError> {
    use crate::dynamic::resolver::{DEFAULT_WAIT, MAX_WAIT, ResolverSettings};
    let wait_ms = args.lua_resolve_wait.or(file.lua_resolve_wait);
    let Some(addr) = args.lua_resolver.or(file.lua_resolver) else {
        if wait_ms.is_some() {
            return Err(ConfigError::Invalid(
                "lua-resolve-wait needs lua-resolver".into(),
            ));
        }
        return Ok(None);
    };
    if addr.port() == 0 || addr.ip().is_unspecified() {
        return Err(ConfigError::Invalid(format!(
            "lua-resolver {addr}: needs an address and a port to send queries to"
        )));
    }
    let wait = wait_ms.map_or(DEFAULT_WAIT, std::time::Duration::from_millis);
    if wait > MAX_WAIT {
        return Err(ConfigError::Invalid(format!(
            "lua-resolve-wait must be at most {} (milliseconds): longer stalls an answering thread",
            MAX_WAIT.as_millis()
        )));
    }
    Ok(Some(ResolverSettings { addr, wait }))
}

/// The LUA-record engine settings (flags over the file over PowerDNS's
/// defaults).
fn lua_settings(
    args: &ServeArgs,
    file: &FileConfig,
) -> Result<crate::dynamic::LuaSettings, ConfigError> {
    let defaults = crate::dynamic::LuaSettings::default();
    let memory_mb = args.lua_memory_limit.or(file.lua_memory_limit);
    if memory_mb == Some(0) {
        return Err(ConfigError::Invalid(
            "lua-memory-limit must be at least 1 (megabyte)".into(),
        ));
    }
    let insert = args
        .lua_records_insert_whitespace
        .map(|v| v == OnOff::On)
        .or(file.lua_records_insert_whitespace)
        .unwrap_or(false);
    Ok(crate::dynamic::LuaSettings {
        exec_limit: args
            .lua_exec_limit
            .or(file.lua_exec_limit)
            .unwrap_or(defaults.exec_limit),
        memory_limit: memory_mb.map_or(defaults.memory_limit, |mb| mb.saturating_mul(1 << 20)),
        shared: args.lua_records_shared || file.lua_records_shared,
        strict: args.lua_strict || file.lua_strict,
        whitespace: if insert {
            crate::dynamic::Whitespace::Insert
        } else {
            crate::dynamic::Whitespace::Join
        },
    })
}

fn rrl_settings(args: &ServeArgs, file: &FileConfig) -> Result<Option<RrlSettings>, ConfigError> {
    let Some(rate) = args.rrl_rate.or(file.rrl_rate).filter(|rate| *rate > 0) else {
        return Ok(None);
    };
    let mut rrl = RrlSettings::with_rate(rate);
    if let Some(slip) = args.rrl_slip.or(file.rrl_slip) {
        rrl.slip = slip;
    }
    if let Some(bits) = args.rrl_ipv4_prefix.or(file.rrl_ipv4_prefix) {
        if bits > 32 {
            return Err(ConfigError::Invalid(format!(
                "rrl-ipv4-prefix {bits} is out of range (0-32)"
            )));
        }
        rrl.ipv4_prefix = bits;
    }
    if let Some(bits) = args.rrl_ipv6_prefix.or(file.rrl_ipv6_prefix) {
        if bits > 128 {
            return Err(ConfigError::Invalid(format!(
                "rrl-ipv6-prefix {bits} is out of range (0-128)"
            )));
        }
        rrl.ipv6_prefix = bits;
    }
    if let Some(size) = args.rrl_table_size.or(file.rrl_table_size) {
        if !(1..=1 << 28).contains(&size) {
            return Err(ConfigError::Invalid(format!(
                "rrl-table-size {size} is out of range (1-268435456)"
            )));
        }
        rrl.table_size = size;
    }
    for text in pick_list(args.rrl_whitelist.clone(), file.rrl_whitelist.clone()) {
        let prefix = crate::dynamic::rule::Netmask::parse(&text).ok_or_else(|| {
            ConfigError::Invalid(format!("rrl-whitelist: {text:?} is not an IP prefix"))
        })?;
        rrl.whitelist.push(prefix);
    }
    Ok(Some(rrl))
}

/// `--key-source` and its API key, CA and delay; `None` when not given.
fn key_source(
    args: &ServeArgs,
    file: &FileConfig,
    relative_to_config: impl Fn(PathBuf) -> PathBuf,
) -> Result<Option<KeySource>, ConfigError> {
    let Some(url) = args.key_source.as_ref().or(file.key_source.as_ref()) else {
        return Ok(None);
    };
    let url = KeySource::check_url(url).map_err(ConfigError::Invalid)?;
    let api_key_file = args
        .key_source_api_key_file
        .clone()
        .or(file
            .key_source_api_key_file
            .clone()
            .map(&relative_to_config))
        .ok_or_else(|| {
            ConfigError::Invalid("--key-source needs --key-source-api-key-file".into())
        })?;
    let api_key = std::fs::read_to_string(&api_key_file)
        .map_err(|source| ConfigError::Read {
            path: api_key_file.clone(),
            source,
        })?
        .trim()
        .to_string();
    if api_key.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "key-source-api-key-file {} is empty",
            api_key_file.display()
        )));
    }
    let ca = args
        .key_source_ca
        .clone()
        .or(file.key_source_ca.clone().map(&relative_to_config))
        .ok_or_else(|| {
            ConfigError::Invalid(
                "--key-source needs --key-source-ca (the certificate the primary's API is checked against)".into(),
            )
        })?;
    let delay = args
        .key_propagation_delay
        .or(file.key_propagation_delay)
        .unwrap_or(60);
    Ok(Some(KeySource {
        url,
        api_key: Secret(api_key),
        ca,
        propagation_delay: Duration::from_secs(delay),
    }))
}

fn read_file_config(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec!["dnsd"];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).serve
    }

    #[test]
    fn flags_override_file() {
        let dir = std::env::temp_dir().join(format!("dnsd-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dnsd.toml");
        std::fs::write(
            &path,
            "listen = [\"127.0.0.1:5353\"]\nworkers = 3\nedns-payload = 1400\nany-udp = \"tc\"\n\
             [[zone]]\norigin = \"a.test\"\nfile = \"a.zone\"\n[[zone]]\norigin = \"b.test.\"\nfile = \"/b.zone\"\n",
        )
        .unwrap();
        let config = path.to_str().unwrap();
        let settings = Settings::from_args(args(&[
            "--config",
            config,
            "--workers",
            "2",
            "--zone",
            "b.test=/other.zone",
        ]))
        .unwrap();
        assert_eq!(settings.workers, 2);
        assert_eq!(settings.edns_payload, 1400);
        assert_eq!(settings.any_udp, AnyUdp::Tc);
        assert_eq!(settings.listen, vec!["127.0.0.1:5353".parse().unwrap()]);
        assert_eq!(settings.zones.len(), 2);
        assert_eq!(settings.zones[0].file, dir.join("a.zone"));
        assert_eq!(settings.zones[1].file, PathBuf::from("/other.zone"));
        std::fs::write(&path, "bogus-key = 1\n").unwrap();
        let err = Settings::from_args(args(&["--config", config])).unwrap_err();
        assert!(err.to_string().contains("bogus-key"), "{err}");
    }

    #[test]
    fn negative_signature_budget() {
        let settings = Settings::from_args(args(&[])).unwrap();
        assert_eq!(settings.negative_signatures_per_zone, 1000);
        let settings = Settings::from_args(args(&["--negative-signatures-per-zone", "0"])).unwrap();
        assert_eq!(settings.negative_signatures_per_zone, 0, "0: no cap");
        let dir = std::env::temp_dir().join(format!("dnsd-config-neg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dnsd.toml");
        std::fs::write(&path, "negative-signatures-per-zone = 50\n").unwrap();
        let config = path.to_str().unwrap();
        let settings = Settings::from_args(args(&["--config", config])).unwrap();
        assert_eq!(settings.negative_signatures_per_zone, 50);
        let settings = Settings::from_args(args(&[
            "--config",
            config,
            "--negative-signatures-per-zone",
            "7",
        ]))
        .unwrap();
        assert_eq!(settings.negative_signatures_per_zone, 7, "the flag wins");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn lua_resolver() {
        use crate::dynamic::resolver::{DEFAULT_WAIT, ResolverSettings};
        let settings = Settings::from_args(args(&[])).unwrap();
        assert_eq!(settings.lua_resolver, None, "no resolver by default");
        let settings = Settings::from_args(args(&["--lua-resolver", "127.0.0.1:5300"])).unwrap();
        assert_eq!(
            settings.lua_resolver,
            Some(ResolverSettings {
                addr: "127.0.0.1:5300".parse().unwrap(),
                wait: DEFAULT_WAIT,
            })
        );
        let settings = Settings::from_args(args(&[
            "--lua-resolver",
            "[::1]:53",
            "--lua-resolve-wait",
            "0",
        ]))
        .unwrap();
        assert_eq!(settings.lua_resolver.unwrap().wait, Duration::ZERO);
        for (bad, says) in [
            (&["--lua-resolve-wait", "5"][..], "needs lua-resolver"),
            (&["--lua-resolver", "127.0.0.1:0"][..], "a port"),
            (&["--lua-resolver", "0.0.0.0:53"][..], "an address"),
            (
                &[
                    "--lua-resolver",
                    "127.0.0.1:53",
                    "--lua-resolve-wait",
                    "1001",
                ][..],
                "at most 1000",
            ),
        ] {
            let err = Settings::from_args(args(bad)).unwrap_err();
            assert!(err.to_string().contains(says), "{bad:?}: {err}");
        }
        let dir = std::env::temp_dir().join(format!("dnsd-config-resolver-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dnsd.toml");
        std::fs::write(
            &path,
            "lua-resolver = \"127.0.0.2:53\"\nlua-resolve-wait = 25\n",
        )
        .unwrap();
        let settings = Settings::from_args(args(&["--config", path.to_str().unwrap()])).unwrap();
        assert_eq!(
            settings.lua_resolver,
            Some(ResolverSettings {
                addr: "127.0.0.2:53".parse().unwrap(),
                wait: Duration::from_millis(25),
            })
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn lua_settings() {
        let settings = Settings::from_args(args(&[])).unwrap();
        assert!(settings.edns_client_subnet, "ECS is on by default");
        assert_eq!(settings.lua_health_interval, Duration::from_secs(5));
        assert_eq!(settings.lua_health_expire, Duration::from_secs(3600));
        assert_eq!(settings.lua_cache_entries, 65_536);
        assert_eq!(settings.answer_templates, 8192);
        assert!(settings.geoip.is_empty());
        let settings = Settings::from_args(args(&[
            "--edns-client-subnet",
            "off",
            "--geoip",
            "/a.mmdb",
            "--geoip",
            "/b.mmdb",
            "--lua-health-interval",
            "1",
            "--lua-health-expire",
            "60",
            "--lua-cache-entries",
            "0",
            "--answer-templates",
            "0",
        ]))
        .unwrap();
        assert_eq!(settings.lua_cache_entries, 0, "0 disables the cache");
        assert_eq!(settings.answer_templates, 0, "0: no templates");
        assert!(!settings.edns_client_subnet);
        assert_eq!(
            settings.geoip,
            vec![PathBuf::from("/a.mmdb"), "/b.mmdb".into()]
        );
        assert_eq!(settings.lua_health_interval, Duration::from_secs(1));
        assert_eq!(settings.lua_health_expire, Duration::from_secs(60));
        let err = Settings::from_args(args(&["--lua-health-interval", "0"])).unwrap_err();
        assert!(err.to_string().contains("lua-health-interval"), "{err}");

        let dir = std::env::temp_dir().join(format!("dnsd-config-lua-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dnsd.toml");
        std::fs::write(
            &path,
            "edns-client-subnet = false\ngeoip = [\"city.mmdb\"]\nlua-health-interval = 2\n",
        )
        .unwrap();
        let settings = Settings::from_args(args(&["--config", path.to_str().unwrap()])).unwrap();
        assert!(!settings.edns_client_subnet);
        assert_eq!(settings.geoip, vec![dir.join("city.mmdb")]);
        assert_eq!(settings.lua_health_interval, Duration::from_secs(2));
    }

    #[test]
    fn replication_settings_from_flags_and_file() {
        let dir = std::env::temp_dir().join(format!("dnsd-config-xfr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("keys.conf"),
            "key \"filekey\" { algorithm hmac-sha512; secret \"c2VjcmV0LXNlY3JldC1zZWNyZXQ=\"; };\n",
        )
        .unwrap();
        let path = dir.join("dnsd.toml");
        std::fs::write(
            &path,
            "tsig-key = [\"hmac-sha256:k1:c2VjcmV0LXNlY3JldC1zZWNyZXQ=\"]\n\
             tsig-key-file = [\"keys.conf\"]\n\
             allow-transfer = [\"10.0.0.0/8:k1\"]\n\
             also-notify = [\"127.0.0.1:5301:filekey\"]\n\
             max-transfers = 3\n\
             [[zone]]\norigin = \"a.test\"\nfile = \"a.zone\"\nallow-transfer = [\"192.0.2.1\"]\n\
             [[secondary]]\norigin = \"b.test\"\nprimaries = [\"127.0.0.1:5300:k1\", \"[::1]:5300\"]\n",
        )
        .unwrap();
        let settings = Settings::from_args(args(&["--config", path.to_str().unwrap()])).unwrap();
        let r = &settings.replication;
        assert!(r.keys.get(&Name::from_text("k1.", None).unwrap()).is_some());
        assert!(
            r.keys
                .get(&Name::from_text("filekey.", None).unwrap())
                .is_some()
        );
        assert_eq!(r.allow_transfer.len(), 1);
        assert_eq!(r.also_notify[0].addr, "127.0.0.1:5301".parse().unwrap());
        assert_eq!(r.max_transfers, 3);
        assert_eq!(r.secondaries.len(), 1);
        assert_eq!(
            r.secondaries[0].primaries.len(),
            2,
            "two primaries, in order"
        );
        assert_eq!(settings.zones[0].allow_transfer.len(), 1);
        // Flags replace the file's lists; a key nobody defined is an error.
        let err = Settings::from_args(args(&[
            "--config",
            path.to_str().unwrap(),
            "--also-notify",
            "127.0.0.1:53:nokey",
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("nokey"), "{err}");
        let settings = Settings::from_args(args(&[
            "--secondary",
            "c.test=127.0.0.1:53",
            "--secondary",
            "c.test=127.0.0.2:53",
            "--allow-transfer-signed",
            "127.0.0.0/8",
        ]))
        .unwrap();
        assert_eq!(settings.replication.secondaries.len(), 1);
        assert_eq!(settings.replication.secondaries[0].primaries.len(), 2);
        assert!(settings.replication.allow_transfer[0].signed);
        let err = Settings::from_args(args(&[
            "--zone",
            "c.test=/x.zone",
            "--secondary",
            "c.test=127.0.0.1:53",
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("both"), "{err}");
        for bad in [
            ["--tsig-key", "hmac-sha256:k:!!notbase64"],
            ["--allow-transfer", "nonsense"],
            ["--secondary", "x.test"],
        ] {
            assert!(Settings::from_args(args(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fleet_settings() {
        let dir = std::env::temp_dir().join(format!("dnsd-config-fleet-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("primary.key");
        std::fs::write(&key_file, "secret-api-key\n").unwrap();
        let key_file = key_file.to_str().unwrap();
        let settings = Settings::from_args(args(&[
            "--catalog",
            "catalog.fleet",
            "--tsig-key",
            "hmac-sha256:fleet:c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
            "--catalog-consumer",
            "other.catalog=127.0.0.1:5300:fleet",
            "--catalog-consumer",
            "other.catalog=127.0.0.2:5300",
            "--key-source",
            "https://127.0.0.1:8443/",
            "--key-source-api-key-file",
            key_file,
            "--key-source-ca",
            "/ca.pem",
        ]))
        .unwrap();
        let r = &settings.replication;
        assert_eq!(
            r.catalog,
            Some(Name::from_text("catalog.fleet.", None).unwrap())
        );
        assert_eq!(r.catalog_consumers.len(), 1);
        assert_eq!(r.catalog_consumers[0].primaries.len(), 2);
        let source = r.key_source.as_ref().unwrap();
        assert_eq!(source.url, "https://127.0.0.1:8443");
        assert_eq!(source.api_key.0, "secret-api-key");
        assert!(!format!("{source:?}").contains("secret-api-key"));
        assert_eq!(source.propagation_delay, Duration::from_secs(60));

        for (bad, says) in [
            (vec!["--key-source", "http://127.0.0.1:8081"], "https"),
            (vec!["--key-source", "https://h:1/api"], "no path"),
            (vec!["--key-source", "https://h:1"], "api-key-file"),
            (
                vec![
                    "--key-source",
                    "https://h:1",
                    "--key-source-api-key-file",
                    key_file,
                ],
                "key-source-ca",
            ),
            (
                vec!["--catalog-consumer", "c.test=127.0.0.1:53:nokey"],
                "nokey",
            ),
            (vec!["--api-tls-cert", "/c.pem"], "go together"),
            (
                vec!["--api-tls-cert", "/c.pem", "--api-tls-key", "/k.pem"],
                "api-listen",
            ),
        ] {
            let err = Settings::from_args(args(&bad)).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }

        let path = dir.join("dnsd.toml");
        std::fs::write(
            &path,
            "catalog = \"cat.test\"\napi-listen = \"127.0.0.1:8081\"\napi-key-file = \"primary.key\"\n\
             api-tls-cert = \"cert.pem\"\napi-tls-key = \"key.pem\"\n\
             [[zone]]\norigin = \"a.test\"\nfile = \"a.zone\"\ncatalog = true\n\
             [[catalog-consumer]]\norigin = \"up.cat\"\nprimaries = [\"127.0.0.1:5300\"]\n",
        )
        .unwrap();
        let settings = Settings::from_args(args(&["--config", path.to_str().unwrap()])).unwrap();
        assert!(settings.zones[0].catalog);
        let tls = settings.api_tls.unwrap();
        assert_eq!(tls.cert, dir.join("cert.pem"));
        assert_eq!(tls.key, dir.join("key.pem"));
        assert_eq!(
            settings.replication.catalog_consumers[0].origin.to_string(),
            "up.cat."
        );
    }

    #[test]
    fn catalog_origins_have_one_writer() {
        for (flags, wanted) in [
            (
                &[
                    "--zone",
                    "cat.test=/x.zone",
                    "--catalog-consumer",
                    "cat.test=127.0.0.1:53",
                ][..],
                "consumed",
            ),
            (
                &[
                    "--secondary",
                    "cat.test=127.0.0.1:53",
                    "--catalog-consumer",
                    "cat.test=127.0.0.1:53",
                ][..],
                "consumed",
            ),
            (
                &["--zone", "cat.test=/x.zone", "--catalog", "cat.test"][..],
                "produced",
            ),
            (
                &[
                    "--catalog",
                    "cat.test",
                    "--catalog-consumer",
                    "cat.test=127.0.0.1:53",
                ][..],
                "produced",
            ),
        ] {
            let err = Settings::from_args(args(flags)).unwrap_err();
            assert!(err.to_string().contains(wanted), "{flags:?}: {err}");
        }
        let ok = Settings::from_args(args(&[
            "--catalog",
            "cat.test",
            "--catalog-consumer",
            "other.test=127.0.0.1:53",
        ]))
        .unwrap();
        assert_eq!(ok.replication.catalog_consumers.len(), 1);
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let err = Settings::from_args(args(&["--edns-payload", "100"])).unwrap_err();
        assert!(err.to_string().contains("edns-payload 100"));
        assert!(Cli::try_parse_from(["dnsd", "--zone", "nofile"]).is_err());
    }
}
