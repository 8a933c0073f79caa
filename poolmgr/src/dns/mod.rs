//! Client for the PowerDNS-compatible REST API (dnsd's or PowerDNS's own),
//! with the requests PDM makes (spec pdm-api.md §6) and the ones it lacked
//! (explicit SOA, DS read-back).
//!
//! Retries: up to 3 attempts, back-off 0, 250 ms, 1 s, on transport errors
//! and 5xx; 4xx is returned at once. The API key goes in `X-API-Key` only
//! and never appears in errors or logs.

// OWNED BY THE DNS-CLIENT ENGINEER: see the brief. Signatures below are the
// contract the rest of the crate codes against; keep them (add freely).

use registrars::Secret;

/// Where the DNS server's API is.
#[derive(Clone, Debug)]
pub struct PdnsConfig {
    /// e.g. `http://127.0.0.1:8081` (no trailing `/api/v1`).
    pub base_url: String,
    /// Sent as `X-API-Key`.
    pub api_key: Secret,
    /// The `{server_id}` path segment, usually `localhost`.
    pub server_id: String,
}

/// What went wrong talking to the DNS server. Typed so callers never match
/// on message text (PDM §10.4).
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// No answer: connection refused, timeout, reset (after retries).
    #[error("{operation}: DNS server unreachable: {message}")]
    Unreachable {
        /// Which call, e.g. `create zone omantel.omani.works`.
        operation: String,
        /// Transport error text (no URL query, no key).
        message: String,
    },
    /// The server answered with an error status.
    #[error("{operation}: DNS server answered {status}: {message}")]
    Status {
        /// Which call.
        operation: String,
        /// HTTP status.
        status: u16,
        /// The server's `error` field, or the first 256 bytes of the body.
        message: String,
    },
    /// The server answered 2xx with a body we could not use.
    #[error("{operation}: unexpected answer: {message}")]
    Protocol {
        /// Which call.
        operation: String,
        /// What was wrong.
        message: String,
    },
}

/// One RRset change in a PATCH (PowerDNS `rrsets[]` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RrsetChange {
    /// `changetype: REPLACE` with these record contents.
    Replace {
        /// Owner name, no trailing dot needed.
        name: String,
        /// e.g. `A`.
        rtype: String,
        /// Seconds.
        ttl: u32,
        /// Record contents in presentation format.
        contents: Vec<String>,
    },
    /// `changetype: DELETE`.
    Delete {
        /// Owner name.
        name: String,
        /// e.g. `NS`.
        rtype: String,
    },
}

/// The REST client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PdnsClient {
    config: PdnsConfig,
}

impl PdnsClient {
    /// Builds a client (30 s request timeout).
    pub fn new(config: PdnsConfig) -> Result<Self, DnsError> {
        Ok(Self { config })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &PdnsConfig {
        &self.config
    }

    /// `GET /api/v1/servers/{id}`: the server answers and the key works.
    pub async fn ping(&self) -> Result<(), DnsError> {
        todo!()
    }

    /// Whether the zone exists (200 → true, 404 → false).
    pub async fn zone_exists(&self, _zone: &str) -> Result<bool, DnsError> {
        todo!()
    }

    /// Creates a Native zone with an explicit SOA (MNAME = first name
    /// server, RNAME `hostmaster.<zone>.`) and the NS set; 409 (exists) is
    /// success.
    pub async fn create_zone(&self, _zone: &str, _nameservers: &[String]) -> Result<(), DnsError> {
        todo!()
    }

    /// Deletes the zone; 404 is success.
    pub async fn delete_zone(&self, _zone: &str) -> Result<(), DnsError> {
        todo!()
    }

    /// PATCHes RRsets into the zone, atomically.
    pub async fn patch_rrsets(
        &self,
        _zone: &str,
        _changes: &[RrsetChange],
    ) -> Result<(), DnsError> {
        todo!()
    }

    /// Turns DNSSEC on (PUT dnssec=true with soa_edit_api DEFAULT, add
    /// missing key roles, rectify), as PDM's EnableDNSSEC but with a valid
    /// soa_edit_api (PDM §10.12). Idempotent.
    pub async fn enable_dnssec(&self, _zone: &str) -> Result<(), DnsError> {
        todo!()
    }

    /// The zone's DS records with digest type 2 (SHA-256), in presentation
    /// format (`tag alg 2 hex`), from `cryptokeys[].ds` of active KSK/CSK
    /// keys; empty when the zone is unsigned.
    pub async fn ds_records(&self, _zone: &str) -> Result<Vec<String>, DnsError> {
        todo!()
    }
}
