//! The seed-file model: accounts, their credentials and domains, and the
//! mock's knobs. It is also the mock's live state: a running mock mutates
//! these same structs, and `GET /_mock/state` dumps them.
//!
//! Credentials here are fixed test keys, stored as plain strings on
//! purpose: the mock must compare them, and it never accepts real ones.
//! The format is documented, with an example, in registrars/README.md.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::types::{Dnskey, DsRecord, Glue};

/// A whole seed file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Accounts at the provider.
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// Mock behaviour.
    #[serde(default)]
    pub options: MockOptions,
}

impl Seed {
    /// Parses a seed from JSON text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads a seed file.
    pub fn from_file(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Self::from_json(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }
}

/// Knobs that shape the mock's behaviour.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockOptions {
    /// Polls of an asynchronous task/action before it reports done.
    #[serde(default = "default_task_polls")]
    pub task_polls: u32,
    /// Throttle every provider path: at most `requests` per `per_seconds`.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Added before every provider response, milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Provider-specific switches, e.g. `{"namecheap_min_ttl": 60}`.
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn default_task_polls() -> u32 {
    1
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            task_polls: default_task_polls(),
            rate_limit: None,
            latency_ms: 0,
            extra: BTreeMap::new(),
        }
    }
}

/// A fixed-window rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length, seconds.
    pub per_seconds: u64,
}

/// One account at the provider.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Free-form id (Cloudflare account id, GoDaddy customer id, …).
    pub id: String,
    /// Provider-specific credential fields; names per provider in README.
    #[serde(default)]
    pub credentials: BTreeMap<String, String>,
    /// Namecheap: whitelisted client IPv4 addresses.
    #[serde(default)]
    pub client_ips: Vec<String>,
    /// The account is authenticated but refused API access (GoDaddy
    /// `ACCESS_DENIED`, Cloudflare token without scope, OVH
    /// `NOT_GRANTED_CALL`).
    #[serde(default)]
    pub access_denied: bool,
    /// Domains in the account.
    #[serde(default)]
    pub domains: Vec<Domain>,
}

impl Account {
    /// The credential field `name`, if set.
    pub fn credential(&self, name: &str) -> Option<&str> {
        self.credentials.get(name).map(String::as_str)
    }

    /// The domain called `name` (case-insensitive, trailing dot ignored).
    pub fn domain(&self, name: &str) -> Option<&Domain> {
        let name = normalise(name);
        self.domains.iter().find(|d| normalise(&d.name) == name)
    }

    /// Mutable access to the domain called `name`.
    pub fn domain_mut(&mut self, name: &str) -> Option<&mut Domain> {
        let name = normalise(name);
        self.domains.iter_mut().find(|d| normalise(&d.name) == name)
    }
}

/// Lower-case, no trailing dot: how the mock compares names.
pub fn normalise(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// One domain: registration data (name servers, glue, DS) and, when
/// `hosted_zone`, the zone the provider serves for it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    /// The registered name, e.g. `example.com`.
    pub name: String,
    /// Registry name servers.
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// Whether the provider hosts the zone (records can be edited).
    #[serde(default = "yes")]
    pub hosted_zone: bool,
    /// Whether the domain is registered at this provider (as opposed to a
    /// zone only). Cloudflare: a zone whose domain is not a Cloudflare
    /// Registrar registration.
    #[serde(default = "yes")]
    pub registered: bool,
    /// Zone records, names relative to the apex (`@` for the apex).
    #[serde(default)]
    pub records: Vec<Record>,
    /// Namecheap mail setting (`MX`, `MXE`, `FWD`, `OX`, …).
    #[serde(default)]
    pub email_type: Option<String>,
    /// Registry host objects under this domain.
    #[serde(default)]
    pub glue: Vec<Glue>,
    /// DS published at the registry.
    #[serde(default)]
    pub ds: Vec<DsRecord>,
    /// DNSKEYs published at the registry (OVH keeps keys, not digests).
    #[serde(default)]
    pub dnskeys: Vec<Dnskey>,
    /// Provider-specific fields, e.g. OVH `{"nameServerType":"hosted"}`,
    /// Cloudflare `{"dnssec":"active"}`.
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Domain {
    /// Creates the host object, or replaces its addresses.
    pub fn put_glue(&mut self, glue: Glue) {
        self.glue.retain(|g| g.host != glue.host);
        self.glue.push(glue);
    }

    /// Removes the host object `host`, if there is one.
    pub fn remove_glue(&mut self, host: &str) {
        self.glue.retain(|g| g.host.as_str() != host);
    }
}

fn yes() -> bool {
    true
}

/// One zone record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Provider record id; assigned at load when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// Owner, relative to the apex; `@` is the apex.
    pub name: String,
    /// Record type, upper-case (`A`, `NS`, `MX`, `DS`, `URL`, …).
    #[serde(rename = "type")]
    pub rtype: String,
    /// Presentation content (`ns1.example.net`, `192.0.2.1`, …).
    pub content: String,
    /// TTL, seconds.
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// MX preference / priority.
    #[serde(default)]
    pub priority: Option<u16>,
}

fn default_ttl() -> u32 {
    3600
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_example_parses() {
        let text = include_str!("../../seed-example.json");
        let seed = Seed::from_json(text).expect("seed-example.json parses");
        assert!(!seed.accounts.is_empty());
    }
}
