//! Replication settings: TSIG keys, who may transfer zones, whom to
//! NOTIFY, and which zones dnsd copies from primaries. Flags and TOML keys
//! are named after the vocabulary operators know from PowerDNS and Knot
//! (replication.md §6).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::dynamic::rule::Netmask;
use crate::wire::Name;
use crate::wire::tsig::{Key, Keyring};

/// One `allow-transfer` entry: a source prefix and, optionally, the TSIG
/// key the request must be signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferAcl {
    pub prefix: Netmask,
    /// Lower-case key name; `None` allows unsigned requests from the prefix.
    pub key: Option<Name>,
    /// Transfers of online-signed zones to this client carry the zone
    /// conventionally signed (`--allow-transfer-signed`): for secondaries
    /// that hold no key (Knot, NSD, BIND).
    pub signed: bool,
}

impl TransferAcl {
    /// `PREFIX[:KEYNAME]`; an IPv6 prefix with a key is written
    /// `[2001:db8::/32]:key` or `2001:db8::/32:key` (the key follows the
    /// prefix length).
    pub fn parse(text: &str) -> Result<TransferAcl, String> {
        let (prefix, key) = split_key(text);
        let prefix = Netmask::parse(prefix)
            .ok_or_else(|| format!("{text:?}: {prefix:?} is not an IP prefix"))?;
        Ok(TransferAcl {
            prefix,
            key: key.map(parse_key_name).transpose()?,
            signed: false,
        })
    }

    /// Whether a request from `ip`, signed with `key` (verified), matches.
    pub fn allows(&self, ip: IpAddr, key: Option<&Name>) -> bool {
        self.prefix.contains(unmapped(ip))
            && match (&self.key, key) {
                (None, _) => true,
                (Some(want), Some(got)) => want == got,
                (Some(_), None) => false,
            }
    }
}

/// An IPv4-mapped IPv6 address is the IPv4 host it maps.
pub fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Splits `ADDR-OR-PREFIX[:KEY]` where the address may be IPv6.
fn split_key(text: &str) -> (&str, Option<&str>) {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        // [v6 or v6/len]:key
        return match rest.split_once(']') {
            Some((inside, after)) => (inside, after.strip_prefix(':').filter(|k| !k.is_empty())),
            None => (text, None),
        };
    }
    if let Some((addr, after_slash)) = text.split_once('/') {
        // The key, if any, follows the prefix length.
        return match after_slash.split_once(':') {
            Some((len, key)) => (&text[..addr.len() + 1 + len.len()], Some(key)),
            None => (text, None),
        };
    }
    if text.parse::<IpAddr>().is_ok() {
        return (text, None);
    }
    match text.rsplit_once(':') {
        Some((addr, key)) => (addr, Some(key)),
        None => (text, None),
    }
}

fn parse_key_name(text: &str) -> Result<Name, String> {
    let absolute = if text.ends_with('.') {
        text.to_string()
    } else {
        format!("{text}.")
    };
    Name::from_text(&absolute, None)
        .map(|n| n.to_lowercase())
        .map_err(|e| format!("invalid TSIG key name {text:?}: {e}"))
}

/// A server to talk to, with the TSIG key to sign with: `ADDR:PORT[:KEY]`
/// (an IPv6 address in brackets: `[::1]:53:key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub addr: SocketAddr,
    pub key: Option<Name>,
}

impl Peer {
    pub fn parse(text: &str) -> Result<Peer, String> {
        let text = text.trim();
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(Peer { addr, key: None });
        }
        let (addr, key) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("{text:?}: expected ADDR:PORT[:KEYNAME]"))?;
        let addr = addr
            .parse::<SocketAddr>()
            .map_err(|_| format!("{text:?}: expected ADDR:PORT[:KEYNAME]"))?;
        Ok(Peer {
            addr,
            key: Some(parse_key_name(key)?),
        })
    }
}

/// A zone dnsd serves as a secondary: its origin and its primaries, tried
/// in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondarySource {
    pub origin: Name,
    pub primaries: Vec<Peer>,
}

/// `--secondary ORIGIN=ADDR:PORT[:KEYNAME]`; repeating an origin adds a
/// primary.
pub fn parse_secondary(text: &str) -> Result<(Name, Peer), String> {
    let (origin, peer) = text
        .split_once('=')
        .ok_or_else(|| format!("expected ORIGIN=ADDR:PORT[:KEYNAME], got {text:?}"))?;
    Ok((super::origin_from_arg(origin)?, Peer::parse(peer)?))
}

/// Everything replication runs with.
#[derive(Debug, Clone)]
pub struct Replication {
    pub keys: Keyring,
    /// Who may transfer any zone (a zone's own list adds to it).
    pub allow_transfer: Vec<TransferAcl>,
    /// Whom to NOTIFY when a zone's serial changes.
    pub also_notify: Vec<Peer>,
    /// Zones copied from primaries.
    pub secondaries: Vec<SecondarySource>,
    /// Most zone transfers served at once; more are refused.
    pub max_transfers: usize,
    /// A transfer client that takes nothing for this long is dropped; a
    /// primary that sends nothing for this long fails the transfer.
    pub transfer_timeout: Duration,
    /// Most diffs kept per zone for IXFR.
    pub ixfr_max_diffs: usize,
    /// `--catalog ORIGIN`: the catalog zone (RFC 9432) dnsd produces over
    /// its API zones and the file zones marked `catalog = true`.
    pub catalog: Option<Name>,
    /// `--catalog-consumer`: catalogs whose members dnsd serves as a
    /// secondary, from the catalog's primaries with the same key.
    pub catalog_consumers: Vec<SecondarySource>,
    /// `--key-source`: where an edge fetches the DNSSEC keys of the signed
    /// zones it serves as a secondary, to sign them online itself.
    pub key_source: Option<KeySource>,
}

/// The primary's API an edge fetches DNSSEC keys from: only over HTTPS,
/// authenticated with the primary's API key, the server's certificate
/// checked against `ca` (replication.md §4).
#[derive(Debug, Clone)]
pub struct KeySource {
    /// Base URL, `https://HOST:PORT` (no path); plain `http` is refused.
    pub url: String,
    /// The primary's API key (`X-API-Key`), never printed.
    pub api_key: super::Secret,
    /// PEM certificates to trust for the primary's API certificate.
    pub ca: std::path::PathBuf,
    /// A key the primary newly activates while the zone has another active
    /// key of the same role is used for signing only after it has been
    /// published (in the zone's DNSKEY RRset on this edge) this long, so
    /// every edge publishes it before any edge signs with it (RFC 7583
    /// pre-publication across a fleet).
    pub propagation_delay: Duration,
}

impl KeySource {
    /// Checks the URL: `https://` and a host, nothing after the port.
    pub fn check_url(url: &str) -> Result<String, String> {
        let rest = url.strip_prefix("https://").ok_or_else(|| {
            format!("key-source {url:?}: keys are fetched only over https:// (TLS)")
        })?;
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.contains('/') {
            return Err(format!(
                "key-source {url:?}: expected https://HOST:PORT (the primary's API, no path)"
            ));
        }
        Ok(format!("https://{rest}"))
    }
}

impl Default for Replication {
    fn default() -> Self {
        Replication {
            keys: Keyring::default(),
            allow_transfer: Vec::new(),
            also_notify: Vec::new(),
            secondaries: Vec::new(),
            max_transfers: 10,
            transfer_timeout: Duration::from_secs(30),
            ixfr_max_diffs: 1000,
            catalog: None,
            catalog_consumers: Vec::new(),
            key_source: None,
        }
    }
}

impl Replication {
    /// The key named `name`, which must have been given.
    pub fn key(&self, name: &Name) -> Result<Arc<Key>, String> {
        self.keys.get(name).cloned().ok_or_else(|| {
            format!("TSIG key {name} is used but not defined (--tsig-key or --tsig-key-file)")
        })
    }

    /// Refuses a setting that names a key nobody defined.
    pub fn check_keys(&self, zone_acls: &[TransferAcl]) -> Result<(), String> {
        let acl_keys = self
            .allow_transfer
            .iter()
            .chain(zone_acls)
            .filter_map(|a| a.key.as_ref());
        let peer_keys = self
            .also_notify
            .iter()
            .chain(
                self.secondaries
                    .iter()
                    .chain(&self.catalog_consumers)
                    .flat_map(|s| &s.primaries),
            )
            .filter_map(|p| p.key.as_ref());
        for name in acl_keys.chain(peer_keys) {
            self.key(name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_text(text, None).unwrap()
    }

    #[test]
    fn acl_entries_with_and_without_keys() {
        let acl = TransferAcl::parse("127.0.0.0/8").unwrap();
        assert!(acl.allows("127.0.0.2".parse().unwrap(), None));
        assert!(
            acl.allows("::ffff:127.0.0.2".parse().unwrap(), None),
            "mapped v4"
        );
        assert!(!acl.allows("10.0.0.1".parse().unwrap(), None));

        let acl = TransferAcl::parse("127.0.0.1:xfr-key").unwrap();
        assert_eq!(acl.key, Some(name("xfr-key.")));
        assert!(!acl.allows("127.0.0.1".parse().unwrap(), None), "unsigned");
        assert!(!acl.allows("127.0.0.1".parse().unwrap(), Some(&name("other."))));
        assert!(acl.allows("127.0.0.1".parse().unwrap(), Some(&name("xfr-key."))));

        for (text, len, key) in [
            ("::1", 128, None),
            ("2001:db8::/32:k1", 32, Some("k1.")),
            ("[2001:db8::1]:k2", 128, Some("k2.")),
            ("[::/0]", 0, None),
            ("10.0.0.0/8:K3.example", 8, Some("k3.example.")),
        ] {
            let acl = TransferAcl::parse(text).unwrap();
            assert_eq!(acl.prefix.len, len, "{text}");
            assert_eq!(acl.key, key.map(name), "{text}");
        }
        for bad in ["", "nonsense", "10.0.0.0/33", "300.1.1.1:k"] {
            assert!(TransferAcl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn peers_and_secondaries() {
        let peer = Peer::parse("127.0.0.1:5300").unwrap();
        assert_eq!(peer.addr, "127.0.0.1:5300".parse().unwrap());
        assert_eq!(peer.key, None);
        let peer = Peer::parse("[::1]:53:notify-key").unwrap();
        assert_eq!(peer.addr, "[::1]:53".parse().unwrap());
        assert_eq!(peer.key, Some(name("notify-key.")));
        assert!(Peer::parse("127.0.0.1").is_err());
        let (origin, peer) = parse_secondary("example.test=127.0.0.1:53:k").unwrap();
        assert_eq!(origin, name("example.test."));
        assert_eq!(peer.key, Some(name("k.")));
        assert!(parse_secondary("example.test").is_err());
    }
}
