//! Value types every adapter and mock shares: validated names, DNSSEC
//! material, glue, delegations, capabilities and the provider list.
//!
//! Names are parsed once ("parse, don't validate"): a [`DomainName`] or
//! [`HostName`] is always lower-case ASCII, has no trailing dot and has
//! RFC 1035 sized labels, so adapters can compare them with `==`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use dnstypes::{DigestType, DnssecTextError, Ds, Name, NameError};
use serde::{Deserialize, Serialize};

use crate::error::RegistrarError;

//----------- names -----------------------------------------------------------

/// Checks one presentation-format name and returns it normalised
/// (lower-case, no trailing dot). `what` names the field in the error.
///
/// The DNS limits (labels of 1..=63 octets, 255 in wire form, which is 253
/// characters of text) are `dnstypes::Name`'s; registrars add the character
/// set and the hyphen rule.
fn normalise_name(input: &str, what: &str, min_labels: usize) -> Result<String, RegistrarError> {
    let invalid = |why: &str| RegistrarError::Invalid {
        field: what.to_owned(),
        message: format!("{input:?}: {why}"),
    };
    let trimmed = input.trim();
    if trimmed.trim_end_matches('.').is_empty() {
        return Err(invalid("empty name"));
    }
    let name = match trimmed.parse::<Name>() {
        Ok(name) => name.to_lowercase(),
        Err(NameError::TooLong) => return Err(invalid("longer than 253 characters")),
        Err(NameError::EmptyLabel | NameError::LabelTooLong) => {
            return Err(invalid("every label must be 1..=63 characters"));
        }
        Err(_) => {
            return Err(invalid(
                "labels may contain only letters, digits, '-' and '_'",
            ));
        }
    };
    for label in name.labels() {
        // Underscores appear in service labels; registrars accept them in
        // zone names, so we do too. Everything else is LDH.
        if !label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            return Err(invalid(
                "labels may contain only letters, digits, '-' and '_'",
            ));
        }
        if label.starts_with(b"-") || label.ends_with(b"-") {
            return Err(invalid("labels may not start or end with '-'"));
        }
    }
    if name.label_count() < min_labels {
        return Err(invalid(&format!("needs at least {min_labels} labels")));
    }
    Ok(name.unrooted().to_string())
}

/// The `dnstypes::Name` of an already normalised name.
fn wire_name(normalised: &str) -> Name {
    normalised
        .parse()
        .expect("normalise_name only passes names dnstypes parses")
}

/// A registered domain or a zone apex, e.g. `example.com` or `example.co.uk`.
///
/// Invariant: lower-case, no trailing dot, at least two labels.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    /// Parses and normalises a domain name.
    pub fn new(name: &str) -> Result<Self, RegistrarError> {
        normalise_name(name, "domain", 2).map(Self)
    }

    /// The normalised name, without a trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Splits into (SLD, TLD) the way registrars that take them apart
    /// (Namecheap) expect: the first label, and everything after it.
    ///
    /// This is right for registered domains, which is all we handle: the
    /// caller passes the name as registered (`example.co.uk`), so the public
    /// suffix is everything after the first label.
    pub fn sld_tld(&self) -> (&str, &str) {
        // Invariant: at least two labels, so a '.' exists.
        let dot = self
            .0
            .find('.')
            .expect("DomainName has at least two labels");
        (&self.0[..dot], &self.0[dot + 1..])
    }

    /// The name as a `dnstypes::Name`, for comparisons and digests.
    pub fn to_name(&self) -> Name {
        wire_name(&self.0)
    }

    /// The name of `label` under this zone, e.g. `sub` + `example.com`.
    /// Fails when the two together exceed the DNS length limit.
    pub fn child(&self, label: &Label) -> Result<DomainName, RegistrarError> {
        let name = Name::from_text(&label.0, Some(&self.to_name())).map_err(|e| {
            RegistrarError::Invalid {
                field: "label".to_owned(),
                message: format!("{label} under {self}: {e}"),
            }
        })?;
        Ok(DomainName(name.unrooted().to_string()))
    }
}

impl FromStr for DomainName {
    type Err = RegistrarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}
impl TryFrom<String> for DomainName {
    type Error = RegistrarError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}
impl From<DomainName> for String {
    fn from(d: DomainName) -> String {
        d.0
    }
}
impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainName({})", self.0)
    }
}

/// A name server host name, e.g. `ns1.openova.io`.
///
/// Invariant: lower-case, no trailing dot, at least two labels.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostName(String);

impl HostName {
    /// Parses and normalises a host name.
    pub fn new(name: &str) -> Result<Self, RegistrarError> {
        normalise_name(name, "nameserver", 2).map(Self)
    }

    /// The normalised name, without a trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when this host lies inside `domain` (so it needs glue there).
    pub fn is_within(&self, domain: &DomainName) -> bool {
        wire_name(&self.0).is_subdomain_of(&domain.to_name())
    }
}

impl FromStr for HostName {
    type Err = RegistrarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}
impl TryFrom<String> for HostName {
    type Error = RegistrarError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}
impl From<HostName> for String {
    fn from(h: HostName) -> String {
        h.0
    }
}
impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostName({})", self.0)
    }
}

/// A name relative to a zone apex, naming the child being delegated,
/// e.g. `sub` or `a.b` inside `example.com`. Never the apex itself.
///
/// Invariant: lower-case, no trailing dot, at least one label, not `@`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

impl Label {
    /// Parses a relative child label.
    pub fn new(label: &str) -> Result<Self, RegistrarError> {
        if label.trim() == "@" {
            return Err(RegistrarError::Invalid {
                field: "label".into(),
                message: "the apex cannot be delegated; name a child label".into(),
            });
        }
        normalise_name(label, "label", 1).map(Self)
    }

    /// The normalised relative label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Label {
    type Err = RegistrarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}
impl TryFrom<String> for Label {
    type Error = RegistrarError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}
impl From<Label> for String {
    fn from(l: Label) -> String {
        l.0
    }
}
impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Label({})", self.0)
    }
}

/// True when two name server lists hold the same hosts, ignoring order and
/// duplicates. This is the idempotence test for every "set" operation.
pub fn same_hosts(a: &[HostName], b: &[HostName]) -> bool {
    let mut a: Vec<&HostName> = a.iter().collect();
    let mut b: Vec<&HostName> = b.iter().collect();
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    a == b
}

//----------- DNSSEC material -------------------------------------------------

/// A DS record as published at the parent (RFC 4034 §5).
///
/// Invariant: `digest` is lower-case hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DsRecord {
    /// Key tag of the DNSKEY this DS points at.
    pub key_tag: u16,
    /// DNSSEC algorithm number (8 = RSASHA256, 13 = ECDSAP256SHA256, …).
    pub algorithm: u8,
    /// Digest type number (1 = SHA-1, 2 = SHA-256, 4 = SHA-384).
    pub digest_type: u8,
    /// The digest as lower-case hex.
    pub digest: String,
}

impl DsRecord {
    /// Builds a DS, checking that the digest is hex of the right length for
    /// the known digest types.
    pub fn new(
        key_tag: u16,
        algorithm: u8,
        digest_type: u8,
        digest: &str,
    ) -> Result<Self, RegistrarError> {
        Ds::from_hex(key_tag, algorithm, digest_type, digest.trim())
            .map(Self::from)
            .map_err(|e| RegistrarError::Invalid {
                field: "ds.digest".into(),
                message: e.to_string(),
            })
    }

    /// Parses the presentation form `12345 13 2 ABCD…`.
    pub fn parse(text: &str) -> Result<Self, RegistrarError> {
        match text.parse::<Ds>() {
            Ok(ds) => Ok(Self::from(ds)),
            Err(DnssecTextError::DsFields) => Err(RegistrarError::Invalid {
                field: "ds".into(),
                message: format!("{text:?}: expected \"KEYTAG ALGORITHM DIGESTTYPE HEXDIGEST\""),
            }),
            Err(e) => Err(RegistrarError::Invalid {
                field: "ds.digest".into(),
                message: e.to_string(),
            }),
        }
    }
}

impl From<Ds> for DsRecord {
    fn from(ds: Ds) -> Self {
        Self {
            key_tag: ds.key_tag,
            algorithm: ds.algorithm,
            digest_type: ds.digest_type,
            digest: ds.digest_hex(),
        }
    }
}

impl fmt::Display for DsRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.key_tag,
            self.algorithm,
            self.digest_type,
            self.digest.to_ascii_uppercase()
        )
    }
}

/// A DNSKEY (RFC 4034 §2), for providers that take the key rather than a
/// digest (OVH always; Dynadot and GoDaddy optionally).
///
/// Invariant: `public_key` is standard base64 without whitespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dnskey {
    /// 257 for a KSK (SEP bit set), 256 for a ZSK.
    pub flags: u16,
    /// Always 3.
    pub protocol: u8,
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// The public key, base64.
    pub public_key: String,
}

impl Dnskey {
    /// Builds a DNSKEY, checking the protocol and the base64 key.
    pub fn new(
        flags: u16,
        protocol: u8,
        algorithm: u8,
        public_key: &str,
    ) -> Result<Self, RegistrarError> {
        Self::parse_checked(&format!("{flags} {protocol} {algorithm} {public_key}"))
    }

    /// Parses the presentation form `257 3 13 BASE64…`.
    pub fn parse(text: &str) -> Result<Self, RegistrarError> {
        Self::parse_checked(text).map_err(|e| match e {
            RegistrarError::Invalid { field, .. } if field == "dnskey" => RegistrarError::Invalid {
                field,
                message: format!("{text:?}: expected \"FLAGS PROTOCOL ALGORITHM BASE64KEY\""),
            },
            other => other,
        })
    }

    fn parse_checked(text: &str) -> Result<Self, RegistrarError> {
        let key = text.parse::<dnstypes::Dnskey>().map_err(|e| {
            let field = match e {
                DnssecTextError::Protocol(_) => "dnskey.protocol",
                DnssecTextError::PublicKey => "dnskey.public_key",
                _ => "dnskey",
            };
            RegistrarError::Invalid {
                field: field.into(),
                message: e.to_string(),
            }
        })?;
        Ok(Self::from(&key))
    }

    /// The key as `dnstypes` models it.
    fn to_dnskey(&self) -> dnstypes::Dnskey {
        // Invariant: `new` and `parse` checked the fields and the base64.
        self.to_string()
            .parse()
            .expect("a Dnskey holds a valid presentation form")
    }

    /// The key tag (RFC 4034 appendix B). OVH wants it next to the key.
    pub fn key_tag(&self) -> u16 {
        self.to_dnskey().key_tag()
    }

    /// The SHA-256 DS for this key at `owner` (RFC 4509), for providers
    /// that only take digests.
    pub fn to_ds(&self, owner: &DomainName) -> DsRecord {
        DsRecord::from(self.to_dnskey().ds(&owner.to_name(), DigestType::Sha256))
    }
}

impl From<&dnstypes::Dnskey> for Dnskey {
    fn from(key: &dnstypes::Dnskey) -> Self {
        Self {
            flags: key.flags,
            protocol: key.protocol,
            algorithm: key.algorithm,
            public_key: key.public_key_base64(),
        }
    }
}

impl fmt::Display for Dnskey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.flags, self.protocol, self.algorithm, self.public_key
        )
    }
}

/// What a caller publishes at the parent: either a DS digest or the DNSKEY
/// it derives from. Providers accept one form or the other (see
/// [`Capabilities::ds_input`]); an adapter converts DNSKEY → DS when it can,
/// and returns [`RegistrarError::Invalid`] when it would need the reverse.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DsMaterial {
    /// A DS digest.
    Ds(DsRecord),
    /// A DNSKEY; the provider computes the digest.
    Dnskey(Dnskey),
}

impl DsMaterial {
    /// Parses either presentation form: four fields with a hex digest is a
    /// DS, a first field of 256/257 with protocol 3 is a DNSKEY.
    pub fn parse(text: &str) -> Result<Self, RegistrarError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let looks_like_key = fields.len() >= 4
            && matches!(fields[0], "256" | "257")
            && fields[1] == "3"
            && fields[3..]
                .iter()
                .any(|f| f.contains(['+', '/', '=']) || !f.bytes().all(|b| b.is_ascii_hexdigit()));
        if looks_like_key {
            Dnskey::parse(text).map(Self::Dnskey)
        } else {
            DsRecord::parse(text).map(Self::Ds)
        }
    }
}

impl fmt::Display for DsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ds(ds) => write!(f, "DS {ds}"),
            Self::Dnskey(k) => write!(f, "DNSKEY {k}"),
        }
    }
}

//----------- glue and delegation ---------------------------------------------

/// A registry host object: a name server inside the domain and its
/// addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Glue {
    /// The host, inside the domain it is registered under.
    pub host: HostName,
    /// Its addresses; providers differ on IPv6 and on more than one.
    pub ips: Vec<IpAddr>,
}

/// The NS (and optional DS) RRsets of a child label inside a zone hosted at
/// the provider, as read or as wanted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    /// NS targets for the child.
    pub nameservers: Vec<HostName>,
    /// TTL of the NS RRset, seconds.
    pub ttl: u32,
    /// DS records for the child; empty when the child is unsigned or the
    /// provider cannot host DS (then setting a non-empty list is
    /// [`RegistrarError::Unsupported`]).
    #[serde(default)]
    pub ds: Vec<DsRecord>,
}

//----------- outcomes --------------------------------------------------------

/// A handle on an asynchronous provider operation (OVH task, GoDaddy
/// action). Opaque to callers; pass it back to
/// [`crate::Registrar::task_status`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskRef {
    /// The provider that issued it.
    pub provider: Provider,
    /// The domain the task belongs to (both OVH and GoDaddy scope by domain).
    pub domain: DomainName,
    /// Provider id: OVH task id, GoDaddy action type.
    pub id: String,
}

impl fmt::Display for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.provider, self.domain, self.id)
    }
}

/// The result of a mutating operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[must_use]
pub enum Change {
    /// The provider already had the wanted state; nothing was sent.
    Unchanged,
    /// The change was made and is complete at the provider.
    Applied,
    /// The provider accepted the change as an asynchronous task; poll it.
    Pending(TaskRef),
}

/// Where an asynchronous task stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskStatus {
    /// Accepted, not finished.
    Pending,
    /// Finished successfully.
    Done,
    /// Finished unsuccessfully (OVH `error`/`problem`/`cancelled`, GoDaddy
    /// `FAILED`/`CANCELLED`); `message` is the provider's text.
    Failed {
        /// The provider's explanation.
        message: String,
    },
}

//----------- providers and capabilities --------------------------------------

/// The registrars this crate speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Cloudflare (API v4).
    Cloudflare,
    /// Namecheap (XML API).
    Namecheap,
    /// GoDaddy (v1/v2 REST).
    GoDaddy,
    /// OVHcloud (signed REST).
    Ovh,
    /// Dynadot (api3).
    Dynadot,
}

impl Provider {
    /// Every provider, in a fixed order.
    pub const ALL: [Provider; 5] = [
        Provider::Cloudflare,
        Provider::Namecheap,
        Provider::GoDaddy,
        Provider::Ovh,
        Provider::Dynadot,
    ];

    /// The lower-case name used on the command line and in seed files.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Cloudflare => "cloudflare",
            Provider::Namecheap => "namecheap",
            Provider::GoDaddy => "godaddy",
            Provider::Ovh => "ovh",
            Provider::Dynadot => "dynadot",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Provider {
    type Err = RegistrarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Provider::ALL
            .into_iter()
            .find(|p| p.name() == lower)
            .ok_or_else(|| RegistrarError::Invalid {
                field: "provider".into(),
                message: format!(
                    "unknown provider {s:?}; expected one of cloudflare, namecheap, godaddy, ovh, dynadot"
                ),
            })
    }
}

/// One thing a provider can do through its API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Read the registry NS set.
    GetNameservers,
    /// Replace the registry NS set.
    SetNameservers,
    /// NS RRset of a child label in a zone hosted at the provider.
    ChildDelegation,
    /// DS RRset of a child label in a zone hosted at the provider.
    ChildDs,
    /// Registry host objects (glue).
    Glue,
    /// Read the DS published at the registry.
    GetDs,
    /// Publish arbitrary DS (or DNSKEY) at the registry.
    SetDs,
    /// Some mutations finish later and return [`Change::Pending`].
    AsyncTasks,
}

impl Capability {
    const ALL: [Capability; 8] = [
        Capability::GetNameservers,
        Capability::SetNameservers,
        Capability::ChildDelegation,
        Capability::ChildDs,
        Capability::Glue,
        Capability::GetDs,
        Capability::SetDs,
        Capability::AsyncTasks,
    ];

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Capability::GetNameservers => "get-nameservers",
            Capability::SetNameservers => "set-nameservers",
            Capability::ChildDelegation => "child-delegation",
            Capability::ChildDs => "child-ds",
            Capability::Glue => "glue",
            Capability::GetDs => "get-ds",
            Capability::SetDs => "set-ds",
            Capability::AsyncTasks => "async-tasks",
        };
        f.write_str(s)
    }
}

/// Which DNSSEC material a provider's registry-DS call takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DsInput {
    /// No registry DS API.
    None,
    /// DS digests only (a DNSKEY is converted by the adapter).
    Digest,
    /// DNSKEYs only (OVH): a bare DS cannot be turned back into a key.
    Dnskey,
    /// Either form.
    Either,
}

/// What a provider supports, plus the limits adapters enforce locally.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    bits: u16,
    /// The DNSSEC material the registry-DS call takes.
    pub ds_input: DsInput,
    /// Fewest name servers a set may have (2 everywhere; RFC 1034 §4.1).
    pub min_nameservers: usize,
    /// Most name servers a set may have.
    pub max_nameservers: usize,
}

impl Capabilities {
    /// A capability set from a list.
    pub fn new(
        caps: &[Capability],
        ds_input: DsInput,
        min_nameservers: usize,
        max_nameservers: usize,
    ) -> Self {
        Self {
            bits: caps.iter().fold(0, |acc, c| acc | c.bit()),
            ds_input,
            min_nameservers,
            max_nameservers,
        }
    }

    /// True when the provider can do `cap`.
    pub fn contains(&self, cap: Capability) -> bool {
        self.bits & cap.bit() != 0
    }

    /// The supported capabilities, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        Capability::ALL.into_iter().filter(|c| self.contains(*c))
    }

    /// Checks a name server list against the count limits.
    pub fn check_ns_count(&self, ns: &[HostName]) -> Result<(), RegistrarError> {
        let mut unique: Vec<&HostName> = ns.iter().collect();
        unique.sort();
        unique.dedup();
        if unique.len() < self.min_nameservers || unique.len() > self.max_nameservers {
            return Err(RegistrarError::Invalid {
                field: "nameservers".into(),
                message: format!(
                    "{} distinct name servers given; this provider takes {}..={}",
                    unique.len(),
                    self.min_nameservers,
                    self.max_nameservers
                ),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capabilities")
            .field("caps", &self.iter().collect::<Vec<_>>())
            .field("ds_input", &self.ds_input)
            .field("min_nameservers", &self.min_nameservers)
            .field("max_nameservers", &self.max_nameservers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise() {
        let d = DomainName::new("Example.COM.").unwrap();
        assert_eq!(d.as_str(), "example.com");
        assert_eq!(d.sld_tld(), ("example", "com"));
        assert!(DomainName::new("com").is_err());
        assert!(HostName::new("ns1..x.com").is_err());
        assert!(Label::new("@").is_err());
        let l = Label::new("Sub").unwrap();
        assert_eq!(d.child(&l).unwrap().as_str(), "sub.example.com");
    }

    #[test]
    fn same_hosts_ignores_order_and_case() {
        let a = vec![
            HostName::new("NS1.x.io").unwrap(),
            HostName::new("ns2.x.io").unwrap(),
        ];
        let b = vec![
            HostName::new("ns2.x.io").unwrap(),
            HostName::new("ns1.x.io").unwrap(),
        ];
        assert!(same_hosts(&a, &b));
        assert!(!same_hosts(&a, &b[..1]));
    }

    #[test]
    fn dnskey_tag_and_ds() {
        // RFC 4509 §2.2.1 style check against a known key: the DNSKEY of
        // dskey.example.com from RFC 4034 §5.4.
        let key = Dnskey::parse(
            "256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
        )
        .unwrap();
        assert_eq!(key.key_tag(), 60485);
        let ds = key.to_ds(&DomainName::new("dskey.example.com").unwrap());
        assert_eq!(ds.key_tag, 60485);
        assert_eq!(ds.digest_type, 2);
    }

    #[test]
    fn ds_material_parses_both_forms() {
        assert!(matches!(
            DsMaterial::parse(
                "12345 13 2 3490A6806D47F17A34C29E2CE80E8A999FFBE4BE3490A6806D47F17A34C29E2C"
            )
            .unwrap(),
            DsMaterial::Ds(_)
        ));
        assert!(matches!(
            DsMaterial::parse("257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==").unwrap(),
            DsMaterial::Dnskey(_)
        ));
        let p: Provider = "GoDaddy".parse().unwrap();
        assert_eq!(p, Provider::GoDaddy);
        assert_eq!(p.to_string(), "godaddy");
    }
}
