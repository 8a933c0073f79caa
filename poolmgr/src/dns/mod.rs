//! Client for the PowerDNS-compatible REST API (dnsd's or PowerDNS's own),
//! with the requests PDM makes (spec pdm-api.md §6) and the ones it lacked
//! (explicit SOA, DS read-back, NS-host addresses).
//!
//! Retries: up to 3 attempts, back-off 0, 250 ms, 1 s, on transport errors
//! and 5xx; 4xx is returned at once. The API key goes in `X-API-Key` only
//! and never appears in errors or logs.
//!
//! Every method is safe to repeat: "already exists" on create and "not
//! found" on delete count as success, and the `ensure_*` methods read
//! before they write.

// OWNED BY THE DNS-CLIENT ENGINEER: see the brief. Signatures below are the
// contract the rest of the crate codes against; keep them (add freely).

mod names;
mod wire;

use std::net::Ipv4Addr;
use std::time::Duration;

use registrars::Secret;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub use names::{child_fqdn, fqdn, is_strict_subdomain, zone_id};
use wire::{Cryptokey, ZoneDetail, ZoneSerial};

/// Where the DNS server's API is.
#[derive(Clone, Debug)]
pub struct PdnsConfig {
    /// e.g. `http://127.0.0.1:8081` (no trailing `/api/v1`).
    pub base_url: String,
    /// Sent as `X-API-Key`.
    pub api_key: Secret,
    /// The `{server_id}` path segment, usually `localhost`.
    pub server_id: String,
    /// PEM certificates to trust for an `https` base URL instead of the
    /// public web roots (a fleet's primary with a private CA).
    pub ca_file: Option<std::path::PathBuf>,
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
    /// The request was refused before anything was sent: a bad
    /// configuration, a malformed address, or a zone layout that would do
    /// damage (e.g. a "child" that is not below its parent, whose teardown
    /// would delete the pool zone itself).
    #[error("{operation}: invalid request: {message}")]
    Invalid {
        /// Which call.
        operation: String,
        /// What was wrong.
        message: String,
    },
}

impl DnsError {
    /// Whether trying again later may succeed (transport trouble or a 5xx).
    /// A 4xx or an invalid request fails the same way every time.
    pub fn is_transient(&self) -> bool {
        match self {
            DnsError::Unreachable { .. } => true,
            DnsError::Status { status, .. } => *status >= 500,
            DnsError::Protocol { .. } | DnsError::Invalid { .. } => false,
        }
    }

    /// The HTTP status, when the server answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            DnsError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
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

impl RrsetChange {
    /// The PATCH body entry. Owner names are made canonical here so callers
    /// may pass them either way; contents are sent as given (they are
    /// presentation format and the server checks them).
    fn to_json(&self) -> Value {
        match self {
            RrsetChange::Replace {
                name,
                rtype,
                ttl,
                contents,
            } => json!({
                "name": fqdn(name),
                "type": rtype.to_ascii_uppercase(),
                "ttl": ttl,
                "changetype": "REPLACE",
                "records": contents
                    .iter()
                    .map(|c| json!({"content": c, "disabled": false}))
                    .collect::<Vec<_>>(),
            }),
            // PDM omits ttl and records on DELETE; PowerDNS ignores them.
            RrsetChange::Delete { name, rtype } => json!({
                "name": fqdn(name),
                "type": rtype.to_ascii_uppercase(),
                "changetype": "DELETE",
            }),
        }
    }
}

/// An RRset as read back from the server (enabled records only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rrset {
    /// Owner name, canonical (lower case, trailing dot).
    pub name: String,
    /// e.g. `A`.
    pub rtype: String,
    /// Seconds.
    pub ttl: u32,
    /// Record contents in presentation format, as the server shows them.
    pub contents: Vec<String>,
}

/// SOA timers for zones we create: refresh, retry, expire, minimum (the
/// negative-caching TTL). PowerDNS's defaults, which dnsd also uses, so a
/// zone looks the same whichever server created it.
const SOA_TIMERS: &str = "10800 3600 604800 3600";
/// TTL of the SOA and apex NS of zones we create (PowerDNS's default).
const APEX_TTL: u32 = 3600;
/// TTL of the NS-host addresses written by
/// [`PdnsClient::ensure_host_address`]: name-server addresses change
/// rarely, and resolvers should keep them as long as the NS set.
const HOST_ADDRESS_TTL: u32 = 3600;
/// The MNAME PowerDNS writes when a zone is created without an SOA (PDM
/// §10.16); zones carrying it are repaired by [`PdnsClient::ensure_zone`].
const PLACEHOLDER_MNAME: &str = "a.misconfigured.dns.server.invalid.";
/// Back-off before each attempt (PDM's schedule).
const BACKOFF: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(250),
    Duration::from_secs(1),
];
/// Whole-request timeout (PDM's value).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of a non-JSON error body to quote.
const BODY_QUOTE_LIMIT: usize = 256;

/// The REST client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PdnsClient {
    config: PdnsConfig,
    http: reqwest::Client,
    /// `<base>/api/v1/servers/<id>`, computed once.
    server_url: String,
}

/// A response whose status the caller still has to judge.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl PdnsClient {
    /// Builds a client (30 s request timeout).
    pub fn new(config: PdnsConfig) -> Result<Self, DnsError> {
        let invalid = |message: String| DnsError::Invalid {
            operation: "configure DNS API client".into(),
            message,
        };
        let base = config.base_url.trim().trim_end_matches('/');
        // Tolerate a base URL given with the API prefix, a common slip.
        let base = base.strip_suffix("/api/v1").unwrap_or(base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(invalid(format!(
                "base URL {base:?} must start with http:// or https://"
            )));
        }
        let server_id = config.server_id.trim();
        if server_id.is_empty()
            || !server_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(invalid(format!(
                "server id {server_id:?} is not a plain path segment"
            )));
        }
        let mut key = HeaderValue::from_str(config.api_key.expose())
            // The error text would not contain the key, but say nothing
            // about its content anyway.
            .map_err(|_| invalid("API key is not a valid header value".into()))?;
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("X-API-Key", key);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let mut builder = reqwest::Client::builder();
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| invalid(format!("cannot read CA file {}: {e}", path.display())))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|roots| !roots.is_empty())
                .ok_or_else(|| {
                    invalid(format!(
                        "CA file {} holds no PEM certificate",
                        path.display()
                    ))
                })?;
            // Only the given authority: the primary's API key must not go
            // to a server some public CA vouches for.
            builder = builder.tls_built_in_root_certs(false);
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder
            .default_headers(headers)
            .timeout(REQUEST_TIMEOUT)
            // A redirect could carry X-API-Key to another host (reqwest
            // strips only the standard credential headers), and the API
            // never redirects.
            .redirect(reqwest::redirect::Policy::none())
            // The DNS API is an internal service; a proxy taken from the
            // environment would see the key.
            .no_proxy()
            .build()
            .map_err(|e| invalid(error_chain(&e)))?;
        let server_url = format!("{base}/api/v1/servers/{server_id}");
        Ok(Self {
            config,
            http,
            server_url,
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &PdnsConfig {
        &self.config
    }

    /// `GET /api/v1/servers/{id}`: the server answers and the key works.
    pub async fn ping(&self) -> Result<(), DnsError> {
        let op = "ping DNS API".to_string();
        let answer = self.send(&op, Method::GET, "", &[], None).await?;
        self.expect(&op, answer, &[200]).map(drop)
    }

    /// Whether the zone exists (200 → true, 404 → false).
    pub async fn zone_exists(&self, zone: &str) -> Result<bool, DnsError> {
        let op = format!("look up zone {}", fqdn(zone));
        let answer = self
            .send(
                &op,
                Method::GET,
                &zone_path(zone),
                &[("rrsets", "false")],
                None,
            )
            .await?;
        Ok(self.expect(&op, answer, &[200, 404])?.status == StatusCode::OK)
    }

    /// The zone's current SOA serial as the API reports it (`serial` of
    /// `GET …/zones/{id}`): what the primary serves, and what the fleet's
    /// name servers are compared with.
    pub async fn zone_serial(&self, zone: &str) -> Result<u32, DnsError> {
        let op = format!("read serial of zone {}", fqdn(zone));
        let answer = self
            .send(
                &op,
                Method::GET,
                &zone_path(zone),
                &[("rrsets", "false")],
                None,
            )
            .await?;
        let answer = self.expect(&op, answer, &[200])?;
        let zone: ZoneSerial = decode(&op, &answer.body)?;
        zone.serial.ok_or_else(|| DnsError::Protocol {
            operation: op,
            message: "the zone has no serial".into(),
        })
    }

    /// Creates a Native zone with an explicit SOA (MNAME = first name
    /// server, RNAME `hostmaster.<zone>.`) and the NS set; 409 (exists) is
    /// success.
    pub async fn create_zone(&self, zone: &str, nameservers: &[String]) -> Result<(), DnsError> {
        self.create_zone_inner(zone, nameservers).await.map(drop)
    }

    /// Deletes the zone; 404 is success.
    pub async fn delete_zone(&self, zone: &str) -> Result<(), DnsError> {
        let op = format!("delete zone {}", fqdn(zone));
        let answer = self
            .send(&op, Method::DELETE, &zone_path(zone), &[], None)
            .await?;
        self.expect(&op, answer, &[204, 200, 404]).map(drop)
    }

    /// PATCHes RRsets into the zone, atomically.
    pub async fn patch_rrsets(&self, zone: &str, changes: &[RrsetChange]) -> Result<(), DnsError> {
        if changes.is_empty() {
            // PowerDNS would answer 204 too; save the round trip.
            return Ok(());
        }
        let op = format!("update records of zone {}", fqdn(zone));
        let body = json!({
            "rrsets": changes.iter().map(RrsetChange::to_json).collect::<Vec<_>>(),
        });
        let answer = self
            .send(&op, Method::PATCH, &zone_path(zone), &[], Some(&body))
            .await?;
        self.expect(&op, answer, &[204, 200]).map(drop)
    }

    /// Turns DNSSEC on (PUT dnssec=true with soa_edit_api DEFAULT, add
    /// missing key roles, rectify), as PDM's EnableDNSSEC but with a valid
    /// soa_edit_api (PDM §10.12). Idempotent.
    ///
    /// Unlike PDM, no separate ZSK is added: the signing key that
    /// `dnssec:true` creates (dnsd and PowerDNS's default settings both make
    /// one CSK) signs the whole zone, which is a complete and valid setup.
    /// A second key would only enlarge every DNSKEY answer. A key is
    /// created only when no active key can anchor a DS (e.g. a server that
    /// ignores `dnssec` in PUT, or keys left inactive).
    pub async fn enable_dnssec(&self, zone: &str) -> Result<(), DnsError> {
        let name = fqdn(zone);
        let op = format!("enable DNSSEC on zone {name}");
        let body = json!({"dnssec": true, "soa_edit_api": "DEFAULT"});
        let answer = self
            .send(&op, Method::PUT, &zone_path(zone), &[], Some(&body))
            .await?;
        self.expect(&op, answer, &[204, 200])?;

        let keys = self.cryptokeys(zone, true).await?;
        if !keys.iter().any(Cryptokey::anchors_ds) {
            let op = format!("add signing key to zone {name}");
            let body = json!({
                "keytype": "csk",
                "active": true,
                "published": true,
                "algorithm": "ecdsa256",
            });
            let answer = self
                .send(
                    &op,
                    Method::POST,
                    &format!("{}/cryptokeys", zone_path(zone)),
                    &[],
                    Some(&body),
                )
                .await?;
            self.expect(&op, answer, &[201, 200, 204])?;
        }

        // A no-op on dnsd (online signer); PowerDNS needs it for the
        // ordering and auth fields of records written before signing.
        let op = format!("rectify zone {name}");
        let answer = self
            .send(
                &op,
                Method::PUT,
                &format!("{}/rectify", zone_path(zone)),
                &[],
                None,
            )
            .await?;
        self.expect(&op, answer, &[200, 204]).map(drop)
    }

    /// The zone's DS records with digest type 2 (SHA-256), in presentation
    /// format (`tag alg 2 hex`), from `cryptokeys[].ds` of active KSK/CSK
    /// keys; empty when the zone is unsigned.
    pub async fn ds_records(&self, zone: &str) -> Result<Vec<String>, DnsError> {
        let keys = self.cryptokeys(zone, false).await?;
        let mut out: Vec<String> = Vec::new();
        for key in keys.iter().filter(|k| k.anchors_ds()) {
            for ds in &key.ds {
                if let Some(ds) = wire::sha256_ds(ds)
                    && !out.contains(&ds)
                {
                    out.push(ds);
                }
            }
        }
        Ok(out)
    }

    /// One RRset (`None` when absent), enabled records only.
    pub async fn get_rrset(
        &self,
        zone: &str,
        name: &str,
        rtype: &str,
    ) -> Result<Option<Rrset>, DnsError> {
        let owner = fqdn(name);
        let rtype = rtype.to_ascii_uppercase();
        let op = format!("read {owner} {rtype} in zone {}", fqdn(zone));
        let answer = self
            .send(
                &op,
                Method::GET,
                &zone_path(zone),
                // Servers that predate these filters send the whole zone,
                // which the filter below copes with.
                &[
                    ("rrset_name", owner.as_str()),
                    ("rrset_type", rtype.as_str()),
                ],
                None,
            )
            .await?;
        let answer = self.expect(&op, answer, &[200])?;
        let detail: ZoneDetail = decode(&op, &answer.body)?;
        Ok(detail.rrset(&owner, &rtype))
    }

    /// Makes sure the zone exists with `nameservers` as its apex NS, an SOA
    /// naming a real primary, and DNSSEC on; returns its DS records (digest
    /// type 2). For pool and BYO zones, whose DS goes to a registrar.
    ///
    /// A zone that already exists is converged rather than recreated (its
    /// keys, and so the DS already at the registrar, are kept): a differing
    /// apex NS set is replaced, and an SOA with PowerDNS's placeholder MNAME
    /// (written for zones created without an SOA, PDM §10.16) is rewritten.
    pub async fn ensure_zone(
        &self,
        zone: &str,
        nameservers: &[String],
    ) -> Result<Vec<String>, DnsError> {
        if !self.create_zone_inner(zone, nameservers).await? {
            self.converge_apex(zone, nameservers).await?;
        }
        self.enable_dnssec(zone).await?;
        self.ds_records(zone).await
    }

    /// Makes sure `host` (an in-bailiwick name-server host, e.g.
    /// `ns1.<zone>`) has exactly `ipv4` as its A record in `zone`, so the NS
    /// names the zones point at resolve (PDM §10.16). Writes only when the
    /// record differs.
    pub async fn ensure_host_address(
        &self,
        zone: &str,
        host: &str,
        ipv4: Ipv4Addr,
    ) -> Result<(), DnsError> {
        let (zone_name, host_name) = (fqdn(zone), fqdn(host));
        let op = format!("set address of {host_name} in zone {zone_name}");
        if host_name != zone_name && !is_strict_subdomain(&host_name, &zone_name) {
            return Err(DnsError::Invalid {
                operation: op,
                message: format!("{host_name} is not inside {zone_name}"),
            });
        }
        let want = vec![ipv4.to_string()];
        if let Some(have) = self.get_rrset(zone, host, "A").await?
            && have.ttl == HOST_ADDRESS_TTL
            && have.contents == want
        {
            return Ok(());
        }
        self.patch_rrsets(
            zone,
            &[RrsetChange::Replace {
                name: host_name,
                rtype: "A".into(),
                ttl: HOST_ADDRESS_TTL,
                contents: want,
            }],
        )
        .await
    }

    //------- internals ----------------------------------------------------

    /// POST the zone; `true` when it was created, `false` when it existed.
    async fn create_zone_inner(
        &self,
        zone: &str,
        nameservers: &[String],
    ) -> Result<bool, DnsError> {
        let name = fqdn(zone);
        let op = format!("create zone {name}");
        let nameservers: Vec<String> = nameservers.iter().map(|n| fqdn(n)).collect();
        let Some(primary) = nameservers.first() else {
            // Without NS the zone could be neither delegated to nor given a
            // meaningful SOA MNAME.
            return Err(DnsError::Invalid {
                operation: op,
                message: "no name servers given".into(),
            });
        };
        let soa = format!(
            "{primary} hostmaster.{name} {} {SOA_TIMERS}",
            initial_serial()
        );
        // `nameservers` makes the apex NS (PowerDNS refuses it together with
        // an apex NS in `rrsets`); the SOA goes in `rrsets` so the server's
        // placeholder is never written. `soa_edit_api` is PowerDNS's default,
        // spelled out so no server-side setting changes it.
        let body = json!({
            "name": name,
            "kind": "Native",
            "nameservers": nameservers,
            "soa_edit_api": "DEFAULT",
            "rrsets": [RrsetChange::Replace {
                name: name.clone(),
                rtype: "SOA".into(),
                ttl: APEX_TTL,
                contents: vec![soa],
            }.to_json()],
        });
        let answer = self
            .send(
                &op,
                Method::POST,
                "/zones",
                &[("rrsets", "false")],
                Some(&body),
            )
            .await?;
        let answer = self.expect(&op, answer, &[201, 200, 409])?;
        Ok(answer.status != StatusCode::CONFLICT)
    }

    /// Apex NS and SOA MNAME of an existing zone brought in line (see
    /// [`PdnsClient::ensure_zone`]); one PATCH, only when something differs.
    async fn converge_apex(&self, zone: &str, nameservers: &[String]) -> Result<(), DnsError> {
        let name = fqdn(zone);
        let want_ns: Vec<String> = nameservers.iter().map(|n| fqdn(n)).collect();
        let mut changes = Vec::new();
        let have_ns = self.get_rrset(zone, &name, "NS").await?;
        if !have_ns
            .as_ref()
            .is_some_and(|have| same_names(&have.contents, &want_ns))
        {
            changes.push(RrsetChange::Replace {
                name: name.clone(),
                rtype: "NS".into(),
                ttl: have_ns.map_or(APEX_TTL, |h| h.ttl),
                contents: want_ns.clone(),
            });
        }
        if let Some(soa) = self.get_rrset(zone, &name, "SOA").await?
            && let Some(content) = soa.contents.first()
        {
            let fields: Vec<&str> = content.split_whitespace().collect();
            if fields.len() == 7 && fields[0].eq_ignore_ascii_case(PLACEHOLDER_MNAME) {
                // The serial must move for secondaries to notice; the
                // server applies SOA-EDIT-API on top.
                let serial = fields[2].parse::<u32>().unwrap_or(0).wrapping_add(1).max(1);
                changes.push(RrsetChange::Replace {
                    name: name.clone(),
                    rtype: "SOA".into(),
                    ttl: soa.ttl,
                    contents: vec![format!(
                        "{} {} {serial} {}",
                        want_ns[0],
                        fields[1],
                        fields[3..].join(" ")
                    )],
                });
            }
        }
        self.patch_rrsets(zone, &changes).await
    }

    /// `GET …/cryptokeys`. With `missing_is_empty`, a 404 means "no keys"
    /// (PDM's reading, for servers that answer 404 on an unsigned zone).
    async fn cryptokeys(
        &self,
        zone: &str,
        missing_is_empty: bool,
    ) -> Result<Vec<Cryptokey>, DnsError> {
        let op = format!("list keys of zone {}", fqdn(zone));
        let answer = self
            .send(
                &op,
                Method::GET,
                &format!("{}/cryptokeys", zone_path(zone)),
                &[],
                None,
            )
            .await?;
        let ok: &[u16] = if missing_is_empty {
            &[200, 404]
        } else {
            &[200]
        };
        let answer = self.expect(&op, answer, ok)?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        decode(&op, &answer.body)
    }

    /// Sends with retries. Returns the final answer whatever its status
    /// unless every attempt failed in transport or with a 5xx.
    async fn send(
        &self,
        op: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, DnsError> {
        let url = format!("{}{path}", self.server_url);
        let mut last = None;
        for (attempt, delay) in BACKOFF.iter().enumerate() {
            if !delay.is_zero() {
                tokio::time::sleep(*delay).await;
            }
            let mut request = self.http.request(method.clone(), &url);
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.to_string());
            }
            let result = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    match response.bytes().await {
                        Ok(bytes) => Ok(Answer {
                            status,
                            body: bytes.to_vec(),
                        }),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(answer) if answer.status.is_server_error() => {
                    tracing::warn!(
                        operation = op,
                        attempt = attempt + 1,
                        status = answer.status.as_u16(),
                        "DNS API server error"
                    );
                    last = Some(Ok(answer));
                }
                Ok(answer) => {
                    tracing::debug!(
                        operation = op,
                        attempt = attempt + 1,
                        status = answer.status.as_u16(),
                        "DNS API answered"
                    );
                    return Ok(answer);
                }
                Err(e) => {
                    let message = self.redact(&error_chain(&e.without_url()));
                    tracing::warn!(operation = op, attempt = attempt + 1, error = %message, "DNS API unreachable");
                    last = Some(Err(message));
                }
            }
        }
        match last {
            Some(Ok(answer)) => Err(self.status_error(op, &answer)),
            Some(Err(message)) => Err(DnsError::Unreachable {
                operation: op.to_string(),
                message,
            }),
            None => unreachable!("BACKOFF has at least one attempt"),
        }
    }

    /// The answer if its status is one of `ok`, else the typed error.
    fn expect(&self, op: &str, answer: Answer, ok: &[u16]) -> Result<Answer, DnsError> {
        if ok.contains(&answer.status.as_u16()) {
            Ok(answer)
        } else {
            Err(self.status_error(op, &answer))
        }
    }

    fn status_error(&self, op: &str, answer: &Answer) -> DnsError {
        DnsError::Status {
            operation: op.to_string(),
            status: answer.status.as_u16(),
            message: self.redact(&error_text(answer.status, &answer.body)),
        }
    }

    /// Removes the API key from text that came from elsewhere (a server or
    /// proxy echoing request headers), so it cannot reach errors or logs.
    fn redact(&self, text: &str) -> String {
        let key = self.config.api_key.expose();
        if key.is_empty() {
            text.to_string()
        } else {
            text.replace(key, "***")
        }
    }
}

/// `/zones/<id>` for a zone name, id-encoded (pdns-api.md §2).
fn zone_path(zone: &str) -> String {
    format!("/zones/{}", zone_id(zone))
}

/// A serial in the DEFAULT rule's shape (`YYYYMMDD01`, UTC), so the first
/// API edit moves it as SOA-EDIT-API DEFAULT expects.
fn initial_serial() -> u32 {
    let day = chrono::Utc::now().format("%Y%m%d").to_string();
    day.parse::<u32>().map_or(1, |d| d * 100 + 1)
}

/// Name lists equal as sets, ignoring case and trailing dots.
fn same_names(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|n| fqdn(n)).collect();
        v.sort();
        v.dedup();
        v
    };
    norm(a) == norm(b)
}

/// Decodes a 2xx JSON body.
fn decode<T: serde::de::DeserializeOwned>(op: &str, body: &[u8]) -> Result<T, DnsError> {
    serde_json::from_slice(body).map_err(|e| DnsError::Protocol {
        operation: op.to_string(),
        message: format!("body is not the expected JSON: {e}"),
    })
}

/// The server's `error` (plus `errors[]`) text, else the start of the body.
fn error_text(status: StatusCode, body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body)
        && let Some(error) = value.get("error").and_then(Value::as_str)
    {
        let details: Vec<&str> = value
            .get("errors")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        return if details.is_empty() {
            error.to_string()
        } else {
            format!("{error}: {}", details.join("; "))
        };
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(BODY_QUOTE_LIMIT)]);
    let text = text.trim();
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no error text")
            .to_string()
    } else {
        text.to_string()
    }
}

/// An error with its sources, since reqwest's own text ("error sending
/// request") hides the cause (refused, timed out, …).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}
