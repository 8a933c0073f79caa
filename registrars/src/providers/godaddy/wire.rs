//! GoDaddy wire format: the JSON bodies the adapter reads and writes, the
//! DNSSEC name enums, and how an error response becomes a
//! [`RegistrarError`].
//!
//! Parsing only: no I/O here. Error messages are built from the parsed
//! body (`code`, `message`, `fields`), never from request data, so no
//! credential can end up in one.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::RegistrarError;
use crate::http::HttpResponse;
use crate::types::{Dnskey, DomainName, DsMaterial, DsRecord};

/// `GET /v1/domains/{domain}` (only what we read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainV1 {
    /// Registry name servers.
    #[serde(default)]
    pub name_servers: Option<Vec<String>>,
}

/// `GET /v2/customers/{customerId}/domains/{domain}` (only what we read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainV2 {
    /// Host objects registered under the domain, by name only.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// DS records at the registry, in GoDaddy's name-enum form.
    #[serde(default)]
    pub dnssec_records: Vec<DnssecRecord>,
}

/// One item of `dnssecRecords`, in either the digest or the key-data form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnssecRecord {
    /// Algorithm name, e.g. `ECDSAP256SHA256`.
    pub algorithm: String,
    /// Key tag (digest form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_tag: Option<u16>,
    /// Digest type name, e.g. `SHA256` (digest form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_type: Option<String>,
    /// Hex digest (digest form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `KSK` or `ZSK` (key-data form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
    /// Base64 public key (key-data form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

impl DnssecRecord {
    /// The digest form of `ds`; `Invalid` when GoDaddy has no name for its
    /// algorithm or digest type.
    pub fn from_ds(ds: &DsRecord) -> Result<Self, RegistrarError> {
        Ok(Self {
            algorithm: algorithm_name(ds.algorithm)?.to_owned(),
            key_tag: Some(ds.key_tag),
            digest_type: Some(digest_name(ds.digest_type)?.to_owned()),
            digest: Some(ds.digest.to_ascii_uppercase()),
            flags: None,
            public_key: None,
        })
    }

    /// What we report for this item: a DS for the digest form, a DNSKEY for
    /// the key-data form.
    pub fn material(&self) -> Result<DsMaterial, RegistrarError> {
        let algorithm = algorithm_number(&self.algorithm)?;
        if let Some(key) = &self.public_key {
            let flags = match self.flags.as_deref() {
                Some("ZSK") => 256,
                _ => 257,
            };
            return Dnskey::new(flags, 3, algorithm, key).map(DsMaterial::Dnskey);
        }
        let missing = |what: &str| {
            RegistrarError::protocol(format!("dnssecRecords item without {what} or publicKey"))
        };
        let key_tag = self.key_tag.ok_or_else(|| missing("keyTag"))?;
        let digest_type = digest_number(
            self.digest_type
                .as_deref()
                .ok_or_else(|| missing("digestType"))?,
        )?;
        let digest = self.digest.as_deref().ok_or_else(|| missing("digest"))?;
        DsRecord::new(key_tag, algorithm, digest_type, digest).map(DsMaterial::Ds)
    }
}

/// The DS a piece of material amounts to at `domain`: what set-wise
/// comparisons run on (a DNSKEY is hashed with SHA-256).
pub fn as_ds(material: &DsMaterial, domain: &DomainName) -> DsRecord {
    match material {
        DsMaterial::Ds(ds) => ds.clone(),
        DsMaterial::Dnskey(key) => key.to_ds(domain),
    }
}

/// `GET …/actions/{type}` (only what we read).
#[derive(Debug, Deserialize)]
pub struct Action {
    /// `ACCEPTED|AWAITING|CANCELLED|FAILED|PENDING|SUCCESS`.
    pub status: String,
    /// Why it failed, when it did.
    #[serde(default)]
    pub reason: Option<ErrorBody>,
}

/// `GET /v1/shoppers/{shopperId}?includes=customerId`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shopper {
    /// The v2 customer id.
    #[serde(default)]
    pub customer_id: Option<String>,
}

/// One record of `GET /v1/domains/{d}/records/{type}/{name}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordItem {
    /// Record data (the NS target for NS).
    pub data: String,
    /// TTL, seconds.
    #[serde(default)]
    pub ttl: Option<u32>,
}

/// GoDaddy's error body: `{"code","message","fields":[…]}`; a 429 adds
/// `retryAfterSec`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Error code, e.g. `INVALID_BODY`, `ACCESS_DENIED`.
    #[serde(default)]
    pub code: String,
    /// Human-readable text.
    #[serde(default)]
    pub message: String,
    /// Per-field problems.
    #[serde(default)]
    pub fields: Vec<FieldError>,
    /// Seconds to wait (429 only).
    #[serde(default)]
    pub retry_after_sec: Option<u64>,
}

/// One entry of `fields`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// Field error code.
    #[serde(default)]
    pub code: String,
    /// What is wrong.
    #[serde(default)]
    pub message: String,
    /// JSON path of the field, e.g. `records[0].ttl`.
    #[serde(default)]
    pub path: String,
}

/// Maps a non-2xx response to an error. `domain` is the domain the call
/// was about, reported by `DomainNotInAccount` on a 404.
pub fn error(resp: &HttpResponse, domain: &str) -> RegistrarError {
    let status = resp.status.as_u16();
    let body: ErrorBody = serde_json::from_slice(&resp.body).unwrap_or_default();
    if status == 429 {
        // GoDaddy puts the wait in the body; fall back to the header.
        let retry_after = body
            .retry_after_sec
            .map(Duration::from_secs)
            .or_else(|| resp.retry_after());
        return RegistrarError::RateLimited { retry_after };
    }
    if let Some(err) = resp.status_error() {
        return err;
    }
    let code = if body.code.is_empty() {
        format!("HTTP {status}")
    } else {
        body.code.clone()
    };
    let message = body.message.clone();
    if matches!(status, 400 | 422)
        && let Some(field) = body.fields.first()
    {
        return RegistrarError::Invalid {
            field: field.path.clone(),
            message: format!("{} ({}): {}", code, field.code, field.message),
        };
    }
    // 403 is ACCESS_DENIED: a valid key, but no API access at this tier.
    crate::providers::shared::rest_refusal(status, code, message, domain)
}

//----------- DNSSEC name enums -----------------------------------------------

/// IANA algorithm numbers and GoDaddy's names for them.
const ALGORITHMS: [(u8, &str); 12] = [
    (1, "RSAMD5"),
    (3, "DSA"),
    (5, "RSASHA1"),
    (6, "DSA_NSEC3_SHA1"),
    (7, "RSASHA1_NSEC3_SHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECC_GOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
];

/// IANA digest type numbers and GoDaddy's names for them.
const DIGESTS: [(u8, &str); 4] = [(1, "SHA1"), (2, "SHA256"), (3, "GOST"), (4, "SHA384")];

/// GoDaddy's name for DNSSEC algorithm `n`.
pub fn algorithm_name(n: u8) -> Result<&'static str, RegistrarError> {
    ALGORITHMS
        .iter()
        .find(|(num, _)| *num == n)
        .map(|(_, name)| *name)
        .ok_or_else(|| RegistrarError::Invalid {
            field: "ds.algorithm".into(),
            message: format!("GoDaddy has no name for DNSSEC algorithm {n}"),
        })
}

/// The algorithm number for GoDaddy's name.
pub fn algorithm_number(name: &str) -> Result<u8, RegistrarError> {
    ALGORITHMS
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(num, _)| *num)
        .ok_or_else(|| RegistrarError::protocol(format!("unknown DNSSEC algorithm name {name:?}")))
}

/// GoDaddy's name for digest type `n`.
pub fn digest_name(n: u8) -> Result<&'static str, RegistrarError> {
    DIGESTS
        .iter()
        .find(|(num, _)| *num == n)
        .map(|(_, name)| *name)
        .ok_or_else(|| RegistrarError::Invalid {
            field: "ds.digest_type".into(),
            message: format!("GoDaddy has no name for digest type {n}"),
        })
}

/// The digest type number for GoDaddy's name.
pub fn digest_number(name: &str) -> Result<u8, RegistrarError> {
    DIGESTS
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(num, _)| *num)
        .ok_or_else(|| RegistrarError::protocol(format!("unknown digest type name {name:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (n, name) in ALGORITHMS {
            assert_eq!(algorithm_name(n).unwrap(), name);
            assert_eq!(algorithm_number(name).unwrap(), n);
        }
        for (n, name) in DIGESTS {
            assert_eq!(digest_name(n).unwrap(), name);
            assert_eq!(digest_number(name).unwrap(), n);
        }
        assert!(algorithm_name(2).is_err());
    }

    #[test]
    fn digest_form_round_trips() {
        let ds = DsRecord::new(12345, 13, 2, &"ab".repeat(32)).unwrap();
        let item = DnssecRecord::from_ds(&ds).unwrap();
        assert_eq!(item.algorithm, "ECDSAP256SHA256");
        assert_eq!(item.digest_type.as_deref(), Some("SHA256"));
        assert_eq!(item.material().unwrap(), DsMaterial::Ds(ds));
    }
}
