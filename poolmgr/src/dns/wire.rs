//! The parts of the API's JSON that the client reads. Every field has a
//! default: servers differ in what they include (PowerDNS versions, dnsd),
//! and a missing optional field must not fail a call.

use serde::Deserialize;

use super::{Rrset, fqdn};

/// One entry of `GET …/cryptokeys`.
#[derive(Debug, Deserialize)]
pub(super) struct Cryptokey {
    #[serde(default)]
    pub keytype: String,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub flags: Option<u16>,
    #[serde(default)]
    pub ds: Vec<String>,
}

impl Cryptokey {
    /// Whether the key can anchor a DS: active, in the KSK or CSK role, and
    /// not a flags-256 key (PowerDNS reports a lone ZSK as `csk`, yet a DS
    /// must point at a key with the SEP bit).
    pub fn anchors_ds(&self) -> bool {
        self.active
            && matches!(self.keytype.to_ascii_lowercase().as_str(), "ksk" | "csk")
            && self.flags != Some(256)
    }
}

/// `tag alg 2 hex` with lower-case hex when `ds` has digest type 2
/// (SHA-256), the one every validator supports; `None` for other types.
pub(super) fn sha256_ds(ds: &str) -> Option<String> {
    let fields: Vec<&str> = ds.split_whitespace().collect();
    match fields.as_slice() {
        [tag, alg, "2", digest @ ..] if !digest.is_empty() => Some(format!(
            "{tag} {alg} 2 {}",
            digest.concat().to_ascii_lowercase()
        )),
        _ => None,
    }
}

/// `GET …/zones/{id}`, the RRsets only.
#[derive(Debug, Deserialize)]
pub(super) struct ZoneDetail {
    #[serde(default)]
    rrsets: Vec<RrsetOut>,
}

#[derive(Debug, Deserialize)]
struct RrsetOut {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    ttl: u32,
    #[serde(default)]
    records: Vec<RecordOut>,
}

#[derive(Debug, Deserialize)]
struct RecordOut {
    content: String,
    #[serde(default)]
    disabled: bool,
}

impl ZoneDetail {
    /// The RRset at (`owner`, `rtype`) with its enabled records; `None`
    /// when absent or when every record is disabled (nothing is served).
    pub fn rrset(&self, owner: &str, rtype: &str) -> Option<Rrset> {
        let set = self
            .rrsets
            .iter()
            .find(|s| fqdn(&s.name) == owner && s.rtype.eq_ignore_ascii_case(rtype))?;
        let contents: Vec<String> = set
            .records
            .iter()
            .filter(|r| !r.disabled)
            .map(|r| r.content.clone())
            .collect();
        if contents.is_empty() {
            return None;
        }
        Some(Rrset {
            name: owner.to_string(),
            rtype: rtype.to_string(),
            ttl: set.ttl,
            contents,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sha256_digests() {
        assert_eq!(
            sha256_ds("12345 13 2 ABCDEF").as_deref(),
            Some("12345 13 2 abcdef")
        );
        assert_eq!(sha256_ds("12345 13 4 abcdef"), None);
        assert_eq!(sha256_ds("12345 13 2"), None);
    }
}
