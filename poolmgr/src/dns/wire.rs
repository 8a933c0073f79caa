//! The parts of the API's JSON that the client reads. Every field has a
//! default: servers differ in what they include (PowerDNS versions, dnsd),
//! and a missing optional field must not fail a call.

use dnstypes::{DigestType, Ds};
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

/// `tag alg 2 hex` with lower-case hex when `ds` is a well-formed DS with
/// digest type 2 (SHA-256), the one every validator supports; `None` for
/// other types.
pub(super) fn sha256_ds(ds: &str) -> Option<String> {
    let ds: Ds = ds.parse().ok()?;
    (ds.digest_type == DigestType::Sha256.number()).then(|| ds.to_string())
}

/// `GET …/zones/{id}`, the serial only. PowerDNS and dnsd keep serials
/// below 2^31 (pdns-api.md); a larger or negative value does not decode.
#[derive(Debug, Deserialize)]
pub(super) struct ZoneSerial {
    #[serde(default)]
    pub serial: Option<u32>,
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
        let hex = "3490A6806D47F17A34C29E2CE80E8A999FFBE4BE3490A6806D47F17A34C29E2C";
        assert_eq!(
            sha256_ds(&format!("12345 13 2 {hex}")),
            Some(format!("12345 13 2 {}", hex.to_ascii_lowercase()))
        );
        assert_eq!(sha256_ds(&format!("12345 13 4 {hex}{}", &hex[..32])), None);
        assert_eq!(sha256_ds("12345 13 2"), None);
    }
}
