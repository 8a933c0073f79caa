//! Configuration: the Go PDM's environment variables (same names, same
//! defaults except the reservation TTL, PDM §10.7), each also a flag, plus
//! poolmgr's own settings under new `POOLMGR_` names.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use registrars::{Provider, Secret};

use crate::fleet::FleetSettings;
use crate::label::split_list;

/// The pools served when neither `DYNADOT_MANAGED_DOMAINS` nor
/// `DYNADOT_DOMAIN` is set.
pub const DEFAULT_POOLS: [&str; 2] = ["openova.io", "omani.works"];

/// Command line; every flag can also come from its environment variable.
#[derive(Debug, Parser)]
#[command(
    name = "poolmgr",
    version,
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true,
    about = "Pool-domain manager: allocates <name>.<pool> subdomains and drives DNS through a PowerDNS-compatible API",
    after_help = "Example:\n  PDM_DATABASE_URL=sqlite://poolmgr.db PDM_PDNS_BASE_URL=http://127.0.0.1:8081 \\\n  PDM_PDNS_API_KEY=secret POOLMGR_AUTH_DISABLED=true poolmgr"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: Option<Settings>,
}

/// Subcommands besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the hash to put in POOLMGR_AUTH_TOKENS for a bearer token read
    /// from standard input (so it never appears in shell history).
    HashToken {
        /// The scope the token gets: caller or operator.
        #[arg(long, default_value = "caller")]
        scope: String,
        /// The identity the token speaks for (`NAME=scope:hash`): the owner
        /// of the allocations it reserves. Tokens under one name share
        /// them (rotation); an unnamed token is its own identity.
        #[arg(long)]
        name: Option<String>,
    },
}

/// Everything `poolmgr` serves with.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// HTTP listen port (all interfaces).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Listen address; overrides --port when set (e.g. 127.0.0.1:8080).
    #[arg(long, env = "POOLMGR_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,

    /// Database: sqlite://PATH (created if missing) or postgres://...
    #[arg(long, env = "PDM_DATABASE_URL")]
    pub database_url: String,

    /// Base URL of the DNS server's REST API (dnsd or PowerDNS).
    #[arg(long, env = "PDM_PDNS_BASE_URL")]
    pub pdns_base_url: String,

    /// API key for the DNS server, sent as X-API-Key.
    #[arg(long, env = "PDM_PDNS_API_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub pdns_api_key: Secret,

    /// The {server_id} path segment.
    #[arg(long, env = "PDM_PDNS_SERVER_ID", default_value = "localhost")]
    pub pdns_server_id: String,

    /// PEM certificate(s) trusted for an https PDM_PDNS_BASE_URL instead of
    /// the public web roots (a primary whose API certificate comes from a
    /// private CA).
    #[arg(long, env = "PDM_PDNS_CA_FILE")]
    pub pdns_ca_file: Option<PathBuf>,

    /// Name servers for child apexes and delegations (comma or space separated).
    #[arg(long, env = "PDM_NAMESERVERS", default_value = "ns1.openova.io,ns2.openova.io,ns3.openova.io", value_parser = parse_list)]
    pub nameservers: NameList,

    /// Managed pools (comma or space separated).
    #[arg(long, env = "DYNADOT_MANAGED_DOMAINS", value_parser = parse_list)]
    pub managed_domains: Option<NameList>,

    /// A single managed pool, used when DYNADOT_MANAGED_DOMAINS is empty.
    #[arg(long, env = "DYNADOT_DOMAIN")]
    pub dynadot_domain: Option<String>,

    /// How long a reservation lives (Go duration: 90m, 2h, 1h30m).
    #[arg(long, env = "PDM_RESERVATION_TTL", default_value = "2h", value_parser = parse_go_duration)]
    pub reservation_ttl: Duration,

    /// Sweeper tick; zero or negative means 30s.
    #[arg(long, env = "PDM_SWEEPER_INTERVAL", default_value = "30s", value_parser = parse_go_duration_or_zero)]
    pub sweeper_interval: Duration,

    /// Log level: error, warn, info, debug, trace.
    #[arg(long, env = "PDM_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// IPv4 address registered as glue for in-bailiwick name servers.
    #[arg(long, env = "POOL_DOMAIN_MANAGER_NS_GLUE_IP")]
    pub ns_glue_ip: Option<std::net::Ipv4Addr>,

    /// Bearer tokens, as `[NAME=]scope:sha256hex` entries (comma
    /// separated); scope is `caller` or `operator`, NAME the identity that
    /// owns what the token reserves. See `poolmgr hash-token`.
    #[arg(long, env = "POOLMGR_AUTH_TOKENS", hide_env_values = true)]
    pub auth_tokens: Option<String>,

    /// A file with one `[NAME=]scope:sha256hex` entry per line (# comments).
    #[arg(long, env = "POOLMGR_AUTH_TOKENS_FILE")]
    pub auth_tokens_file: Option<PathBuf>,

    /// Serve without authentication (the Go PDM's behaviour). Off by default.
    #[arg(long, env = "POOLMGR_AUTH_DISABLED", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub auth_disabled: bool,

    /// Accept private loadBalancerIP(v6) addresses at commit (RFC 1918,
    /// CGNAT 100.64/10, benchmarking 198.18/15, IPv6 ULA): for labs.
    /// Loopback, unspecified, link-local, multicast and broadcast are
    /// refused whatever this says.
    #[arg(long, env = "POOLMGR_ALLOW_PRIVATE_LB_IPS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub allow_private_lb_ips: bool,

    /// Allow set-ns to name hosts other than PDM_NAMESERVERS.
    #[arg(long, env = "POOLMGR_ALLOW_FOREIGN_NAMESERVERS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub allow_foreign_nameservers: bool,

    /// A 32-byte key (64 hex digits) that seals registrar tokens kept for
    /// task tracking. Without it, registrar tokens are never stored.
    #[arg(long, env = "POOLMGR_TOKEN_SEALING_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub token_sealing_key: Option<Secret>,

    /// Registrar API base URLs, `provider=url` (comma separated); for
    /// tests and sandboxes, e.g. `dynadot=http://127.0.0.1:9001/api3.json`.
    #[arg(long, env = "POOLMGR_REGISTRAR_BASE_URLS", value_parser = parse_base_urls)]
    pub registrar_base_urls: Option<BaseUrls>,

    /// How long a request waits for its DNS work before answering 202 and
    /// leaving it to the background worker.
    #[arg(long, env = "POOLMGR_INLINE_DNS_TIMEOUT", default_value = "10s", value_parser = parse_go_duration)]
    pub inline_dns_timeout: Duration,

    /// How long an applier holds a DNS work item before another replica (or
    /// this one after a crash) may take it over. Work items are applied
    /// within 80% of it.
    #[arg(long, env = "POOLMGR_OUTBOX_LEASE", default_value = "30s", value_parser = parse_go_duration)]
    pub outbox_lease: Duration,

    /// The fleet's name servers to watch (comma or space separated
    /// ADDR:PORT, e.g. `10.0.0.2:53,[2001:db8::2]:53`; a bare address
    /// means port 53). Each is asked over DNS (UDP, TCP when truncated) for
    /// the pool zones' SOA: `/healthz` then carries a `fleet` report and
    /// `GET /fleet` answers 503 while any of them lags. Host names are not
    /// resolved.
    #[arg(long, env = "POOLMGR_FLEET_NAMESERVERS", value_name = "ADDR:PORT,...", value_parser = parse_nameserver_addrs)]
    pub fleet_nameservers: Option<NameserverAddrs>,

    /// After a commit's records are written on the primary, wait until this
    /// many of POOLMGR_FLEET_NAMESERVERS serve them (child SOA serial and
    /// apex A) before answering 200; 202 when they do not within
    /// POOLMGR_COMMIT_WAIT_TIMEOUT. 0: no wait. At most the number listed.
    #[arg(long, env = "POOLMGR_COMMIT_WAIT", value_name = "N", default_value = "0", value_parser = parse_commit_wait)]
    pub commit_wait: usize,

    /// How long a commit waits for POOLMGR_COMMIT_WAIT name servers (Go
    /// duration). Keep it plus POOLMGR_INLINE_DNS_TIMEOUT under the
    /// caller's HTTP timeout (catalyst-api: 15s).
    #[arg(long, env = "POOLMGR_COMMIT_WAIT_TIMEOUT", value_name = "DURATION", default_value = "5s", value_parser = parse_go_duration)]
    pub commit_wait_timeout: Duration,

    /// Log format: json (PDM's) or text.
    #[arg(long, env = "POOLMGR_LOG_FORMAT", default_value = "json")]
    pub log_format: String,
}

impl Settings {
    /// The managed pools, sorted: `DYNADOT_MANAGED_DOMAINS`, else
    /// `DYNADOT_DOMAIN`, else the built-in pair.
    pub fn pools(&self) -> Vec<String> {
        let mut pools = match (&self.managed_domains, &self.dynadot_domain) {
            (Some(list), _) if !list.0.is_empty() => list.0.clone(),
            (_, Some(one)) if !split_list(one).is_empty() => split_list(one),
            _ => DEFAULT_POOLS.iter().map(|s| s.to_string()).collect(),
        };
        pools.sort();
        pools
    }

    /// The listen address.
    pub fn listen_addr(&self) -> std::net::SocketAddr {
        self.listen
            .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], self.port)))
    }
}

impl Settings {
    /// The fleet settings, checked against each other: `None` when no name
    /// servers are listed (and no wait is asked for).
    pub fn fleet(&self) -> Result<Option<FleetSettings>, FleetConfigError> {
        let nameservers = self
            .fleet_nameservers
            .as_ref()
            .map(|l| l.0.clone())
            .unwrap_or_default();
        if self.commit_wait > nameservers.len() {
            return Err(FleetConfigError::CommitWaitExceedsNameservers {
                wait: self.commit_wait,
                listed: nameservers.len(),
            });
        }
        if self.commit_wait > 0 && self.commit_wait_timeout.is_zero() {
            return Err(FleetConfigError::ZeroCommitWaitTimeout);
        }
        if nameservers.is_empty() {
            return Ok(None);
        }
        Ok(Some(FleetSettings {
            nameservers,
            commit_wait: self.commit_wait,
            commit_wait_timeout: self.commit_wait_timeout,
        }))
    }
}

/// Fleet settings that contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FleetConfigError {
    /// More name servers to wait for than are listed.
    #[error(
        "POOLMGR_COMMIT_WAIT (--commit-wait) is {wait}, but POOLMGR_FLEET_NAMESERVERS \
         (--fleet-nameservers) lists {listed} name server(s): a commit could never be confirmed"
    )]
    CommitWaitExceedsNameservers {
        /// The wait asked for.
        wait: usize,
        /// How many are listed.
        listed: usize,
    },
    /// A wait with no time to wait in.
    #[error(
        "POOLMGR_COMMIT_WAIT_TIMEOUT (--commit-wait-timeout) must be more than 0 when POOLMGR_COMMIT_WAIT is set"
    )]
    ZeroCommitWaitTimeout,
}

/// Name-server addresses, de-duplicated, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameserverAddrs(pub Vec<SocketAddr>);

/// `ADDR:PORT` or `[V6]:PORT` entries (a bare address means port 53),
/// comma or space separated.
fn parse_nameserver_addrs(raw: &str) -> Result<NameserverAddrs, String> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for item in raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let addr = item
            .parse::<SocketAddr>()
            .or_else(|_| item.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
            .map_err(|_| {
                format!(
                    "{item:?} is not ADDR:PORT (an IP address and port, e.g. 10.0.0.2:53 or [2001:db8::2]:53; host names are not resolved)"
                )
            })?;
        if addr.port() == 0 {
            return Err(format!("{item:?}: port 0 is not a port to ask"));
        }
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    Ok(NameserverAddrs(out))
}

fn parse_commit_wait(raw: &str) -> Result<usize, String> {
    raw.trim()
        .parse::<usize>()
        .map_err(|_| format!("{raw:?} is not a count of name servers (0 switches the wait off)"))
}

/// A normalised, de-duplicated list of names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameList(pub Vec<String>);

fn parse_list(raw: &str) -> Result<NameList, String> {
    Ok(NameList(split_list(raw)))
}

fn parse_secret(raw: &str) -> Result<Secret, String> {
    if raw.trim().is_empty() {
        return Err("must not be empty".into());
    }
    Ok(Secret::new(raw.trim()))
}

/// Per-provider API base URLs.
#[derive(Debug, Clone, Default)]
pub struct BaseUrls(pub BTreeMap<Provider, String>);

fn parse_base_urls(raw: &str) -> Result<BaseUrls, String> {
    let mut map = BTreeMap::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, url) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not provider=url"))?;
        let provider = provider_by_name(name).ok_or_else(|| {
            format!("{name:?} is not a registrar (cloudflare, dynadot, godaddy, namecheap, ovh)")
        })?;
        map.insert(provider, url.trim().to_owned());
    }
    Ok(BaseUrls(map))
}

/// The provider for a registrar name as PDM accepts it (trimmed, any case).
pub fn provider_by_name(name: &str) -> Option<Provider> {
    name.parse().ok()
}

/// A Go `time.ParseDuration` string: a sequence of decimal numbers with
/// units ns, us (µs), ms, s, m, h, e.g. `2h`, `1h30m`, `1.5s`. Negative
/// values are refused here; see [`parse_go_duration_or_zero`].
pub fn parse_go_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    if raw.starts_with('-') {
        return Err(format!("{raw:?} is negative"));
    }
    let body = raw.strip_prefix('+').unwrap_or(raw);
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = 0f64;
    let mut rest = body;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{raw:?}: missing unit (ns, us, ms, s, m, h)"))?;
        let (num, tail) = rest.split_at(num_len);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("{raw:?}: {num:?} is not a number"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => {
                return Err(format!(
                    "{raw:?}: unknown unit {unit:?} (ns, us, ms, s, m, h)"
                ));
            }
        };
        total += value * scale;
        rest = next;
    }
    Duration::try_from_secs_f64(total).map_err(|e| format!("{raw:?}: {e}"))
}

/// Like [`parse_go_duration`], but zero or negative means the PDM default
/// of 30 s (PDM_SWEEPER_INTERVAL's rule).
fn parse_go_duration_or_zero(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    if let Some(positive) = raw.strip_prefix('-') {
        parse_go_duration(positive)?;
        return Ok(Duration::from_secs(30));
    }
    let d = parse_go_duration(raw)?;
    Ok(if d.is_zero() {
        Duration::from_secs(30)
    } else {
        d
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(
            parse_go_duration("1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("10d").is_err());
        assert!(parse_go_duration("-1s").is_err());
        assert_eq!(
            parse_go_duration_or_zero("0").unwrap(),
            Duration::from_secs(30)
        );
        assert_eq!(
            parse_go_duration_or_zero("-5s").unwrap(),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn pools_fall_back_in_order() {
        let cli = Cli::try_parse_from([
            "poolmgr",
            "--database-url",
            "sqlite://x",
            "--pdns-base-url",
            "http://127.0.0.1:1",
            "--pdns-api-key",
            "k",
        ])
        .unwrap();
        let mut s = cli.serve.unwrap();
        s.managed_domains = None;
        s.dynadot_domain = None;
        assert_eq!(s.pools(), ["omani.works", "openova.io"]);
        s.dynadot_domain = Some("Example.COM".into());
        assert_eq!(s.pools(), ["example.com"]);
        s.managed_domains = Some(NameList(vec!["b.test".into(), "a.test".into()]));
        assert_eq!(s.pools(), ["a.test", "b.test"]);
        assert_eq!(s.reservation_ttl, Duration::from_secs(7200));
    }

    fn serve(extra: &[&str]) -> Result<Settings, clap::Error> {
        let mut args = vec![
            "poolmgr",
            "--database-url",
            "sqlite://x",
            "--pdns-base-url",
            "http://127.0.0.1:1",
            "--pdns-api-key",
            "k",
        ];
        args.extend_from_slice(extra);
        Cli::try_parse_from(args).map(|cli| cli.serve.unwrap())
    }

    #[test]
    fn fleet_is_off_unless_name_servers_are_listed() {
        let s = serve(&[]).unwrap();
        assert_eq!(s.commit_wait, 0);
        assert_eq!(s.commit_wait_timeout, Duration::from_secs(5));
        assert_eq!(s.fleet(), Ok(None));
        let s = serve(&["--fleet-nameservers", ""]).unwrap();
        assert_eq!(s.fleet(), Ok(None));
    }

    #[test]
    fn fleet_name_servers_parse_and_deduplicate() {
        let s = serve(&[
            "--fleet-nameservers",
            "127.0.0.1:5300, 127.0.0.2 [::1]:5301,127.0.0.1:5300",
            "--commit-wait",
            "2",
            "--commit-wait-timeout",
            "1500ms",
        ])
        .unwrap();
        let fleet = s.fleet().unwrap().unwrap();
        let want: Vec<SocketAddr> = ["127.0.0.1:5300", "127.0.0.2:53", "[::1]:5301"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(fleet.nameservers, want);
        assert_eq!(fleet.commit_wait, 2);
        assert_eq!(fleet.commit_wait_timeout, Duration::from_millis(1500));
    }

    #[test]
    fn bad_fleet_settings_are_refused_clearly() {
        let e = serve(&["--fleet-nameservers", "ns1.example.com:53"]).unwrap_err();
        assert!(e.to_string().contains("host names are not resolved"), "{e}");
        let e = serve(&["--fleet-nameservers", "127.0.0.1:0"]).unwrap_err();
        assert!(e.to_string().contains("port 0"), "{e}");
        let e = serve(&["--commit-wait=-1"]).unwrap_err();
        assert!(e.to_string().contains("not a count of name servers"), "{e}");
        let e = serve(&["--commit-wait-timeout", "5"]).unwrap_err();
        assert!(e.to_string().contains("missing unit"), "{e}");

        let s = serve(&[
            "--fleet-nameservers",
            "127.0.0.1:5300",
            "--commit-wait",
            "2",
        ])
        .unwrap();
        let e = s.fleet().unwrap_err();
        assert_eq!(
            e,
            FleetConfigError::CommitWaitExceedsNameservers { wait: 2, listed: 1 }
        );
        assert!(e.to_string().contains("POOLMGR_COMMIT_WAIT"), "{e}");
        // A wait with nothing listed at all.
        let s = serve(&["--commit-wait", "1"]).unwrap();
        assert!(s.fleet().is_err());
        let s = serve(&[
            "--fleet-nameservers",
            "127.0.0.1:5300",
            "--commit-wait",
            "1",
            "--commit-wait-timeout",
            "0",
        ])
        .unwrap();
        assert_eq!(s.fleet(), Err(FleetConfigError::ZeroCommitWaitTimeout));
    }
}
