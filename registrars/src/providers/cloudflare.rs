//! Cloudflare API v4 adapter (spec §2).
//!
//! What Cloudflare can and cannot do for us:
//! - registry NS of a Cloudflare Registrar domain are Cloudflare's own and
//!   cannot be changed by API (`set_nameservers` is `Unsupported` unless the
//!   wanted set already is the assigned one);
//! - delegation of a child label inside a Cloudflare zone works: NS (and DS)
//!   records via `dns_records`, one record per target, replaced by
//!   list → diff → create-then-delete (there is no atomic replace);
//! - no registry glue; DS at the registry only via zone DNSSEC (read here,
//!   never set arbitrarily).
//!
//! Errors: HTTP 4xx with `success:false` and `errors[]`; codes mapped in
//! [`map_errors`]. 81057/81058 ("already exists") count as success.

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::credentials::{CloudflareAuth, CloudflareCredentials};
use crate::error::RegistrarError;
use crate::http::{HttpClient, HttpResponse};
use crate::providers::ConnectOptions;
use crate::types::{
    Capabilities, Capability, Change, Delegation, DomainName, DsInput, DsMaterial, DsRecord, Glue,
    HostName, Label, Provider, same_hosts,
};
use crate::{Registrar, op};

/// Production API root.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// Cloudflare allows at most 10 NS records per delegated name.
const MAX_NS: usize = 10;

/// Bound on pages read from a list endpoint (100 records each).
const MAX_PAGES: u32 = 50;

/// What Cloudflare supports (spec §0).
pub fn capabilities() -> Capabilities {
    Capabilities::new(
        &[
            Capability::GetNameservers,
            Capability::ChildDelegation,
            Capability::ChildDs,
            Capability::GetDs,
        ],
        DsInput::None,
        2,
        MAX_NS,
    )
}

/// Builds the adapter.
pub fn new(
    base_url: &str,
    credentials: CloudflareCredentials,
    options: &ConnectOptions,
) -> Result<Cloudflare, RegistrarError> {
    Ok(Cloudflare {
        base: base_url.trim_end_matches('/').to_owned(),
        credentials,
        http: options.client(Provider::Cloudflare)?,
    })
}

/// The Cloudflare adapter.
#[derive(Debug)]
pub struct Cloudflare {
    base: String,
    credentials: CloudflareCredentials,
    http: HttpClient,
}

//----------- wire types ------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<ApiError>,
    result: Option<T>,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    error_chain: Vec<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ResultInfo {
    #[serde(default)]
    page: u32,
    #[serde(default)]
    total_pages: u32,
}

#[derive(Debug, Deserialize)]
struct Zone {
    id: String,
    name: String,
    #[serde(default)]
    name_servers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct DnsRecord {
    id: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    ttl: u32,
    #[serde(default)]
    data: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Dnssec {
    #[serde(default)]
    status: String,
    #[serde(default)]
    key_tag: Option<u16>,
    #[serde(default)]
    algorithm: Option<Value>,
    #[serde(default)]
    digest_type: Option<Value>,
    #[serde(default)]
    digest: Option<String>,
}

/// A number that Cloudflare sometimes sends as a string (`"13"`).
fn loose_u8(v: &Option<Value>) -> Option<u8> {
    match v.as_ref()? {
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

//----------- error mapping ---------------------------------------------------

/// Maps Cloudflare's status and error codes onto our taxonomy.
fn map_errors(status: u16, errors: &[ApiError], domain: Option<&DomainName>) -> RegistrarError {
    let first = errors.first();
    let code = first.map(|e| e.code).unwrap_or(0);
    let mut message = first
        .map(|e| e.message.clone())
        .unwrap_or_else(|| format!("HTTP {status}"));
    if let Some(inner) = first.and_then(|e| e.error_chain.first()) {
        message = format!("{message} ({} {})", inner.code, inner.message);
    }
    let chain_has = |c: i64| {
        errors
            .iter()
            .any(|e| e.code == c || e.error_chain.iter().any(|i| i.code == c))
    };
    let not_in_account = || RegistrarError::DomainNotInAccount {
        domain: domain
            .map(|d| d.to_string())
            .unwrap_or_else(|| "zone".into()),
    };
    match code {
        10013 | 971 => RegistrarError::RateLimited { retry_after: None },
        10000 if status == 403 => RegistrarError::NotPermitted { message },
        // 9103 is "Unknown X-Auth-Key or X-Auth-Email": a credentials
        // problem, whatever status it comes with.
        10000 | 6003 | 6111 | 6100 | 6101 | 6102 | 6103 | 9106 | 9107 | 9103 => {
            RegistrarError::InvalidCredentials { message }
        }
        9109 | 1001 | 7003 => not_in_account(),
        81056 | 81057 | 81058 | 81053 | 81054 => RegistrarError::Conflict {
            code: code.to_string(),
            message,
        },
        1004 | 9000..=9099 => RegistrarError::Invalid {
            field: "record".into(),
            message: format!("{code}: {message}"),
        },
        _ if status == 401 || chain_has(6111) => RegistrarError::InvalidCredentials { message },
        _ if status == 403 => RegistrarError::NotPermitted { message },
        _ if status >= 500 => RegistrarError::Unavailable {
            message: format!("HTTP {status}: {message}"),
            retry_after: None,
        },
        _ => RegistrarError::Rejected {
            code: code.to_string(),
            message,
        },
    }
}

/// Turns a response into the envelope's result, or an error.
fn interpret<T: DeserializeOwned>(
    resp: HttpResponse,
    domain: Option<&DomainName>,
) -> Result<(Option<T>, Option<ResultInfo>), RegistrarError> {
    if resp.status.as_u16() == 429 {
        return Err(RegistrarError::RateLimited {
            retry_after: resp.retry_after(),
        });
    }
    let envelope: Result<Envelope<T>, _> = serde_json::from_slice(&resp.body);
    match envelope {
        Ok(env) if env.success && resp.status.is_success() => Ok((env.result, env.result_info)),
        Ok(env) => {
            if resp.status.is_server_error() && env.errors.is_empty() {
                return Err(resp
                    .status_error()
                    .unwrap_or_else(|| RegistrarError::protocol("5xx")));
            }
            let mut err = map_errors(resp.status.as_u16(), &env.errors, domain);
            if let RegistrarError::RateLimited { retry_after } = &mut err {
                *retry_after = resp.retry_after();
            }
            Err(err)
        }
        Err(e) => Err(resp.status_error().unwrap_or_else(|| {
            RegistrarError::protocol(format!(
                "HTTP {}: not a Cloudflare envelope: {e}",
                resp.status.as_u16()
            ))
        })),
    }
}

//----------- calls -----------------------------------------------------------

impl Cloudflare {
    /// One API call; `query` and `body` as given, auth added per attempt.
    async fn call<T: DeserializeOwned>(
        &self,
        op: &str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        domain: Option<&DomainName>,
    ) -> Result<(Option<T>, Option<ResultInfo>), RegistrarError> {
        let url = format!("{}{path}", self.base);
        self.http
            .execute(
                op,
                |client| {
                    let mut rb = client.request(method.clone(), &url).query(query);
                    rb = match &self.credentials.auth {
                        CloudflareAuth::Token(token) => rb.bearer_auth(token.expose()),
                        CloudflareAuth::Legacy { email, key } => rb
                            .header("X-Auth-Email", email)
                            .header("X-Auth-Key", key.expose()),
                    };
                    if let Some(body) = body {
                        rb = rb.json(body);
                    }
                    Ok(rb)
                },
                |resp| interpret::<T>(resp, domain),
            )
            .await
    }

    /// The zone for `domain`, or `DomainNotInAccount`.
    async fn zone(&self, op: &str, domain: &DomainName) -> Result<Zone, RegistrarError> {
        let mut query = vec![("name", domain.to_string()), ("per_page", "50".into())];
        if let Some(account) = &self.credentials.account_id {
            query.push(("account.id", account.clone()));
        }
        let (zones, _) = self
            .call::<Vec<Zone>>(op, Method::GET, "/zones", &query, None, Some(domain))
            .await?;
        zones
            .unwrap_or_default()
            .into_iter()
            .find(|z| z.name.eq_ignore_ascii_case(domain.as_str()))
            .ok_or_else(|| RegistrarError::DomainNotInAccount {
                domain: domain.to_string(),
            })
    }

    /// All records of `rtype` named `fqdn` in the zone (every page).
    async fn records(
        &self,
        op: &str,
        zone: &Zone,
        domain: &DomainName,
        rtype: &str,
        fqdn: &DomainName,
    ) -> Result<Vec<DnsRecord>, RegistrarError> {
        let path = format!("/zones/{}/dns_records", zone.id);
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let query = [
                ("type", rtype.to_owned()),
                ("name", fqdn.to_string()),
                ("page", page.to_string()),
                ("per_page", "100".to_owned()),
            ];
            let (records, info) = self
                .call::<Vec<DnsRecord>>(op, Method::GET, &path, &query, None, Some(domain))
                .await?;
            all.extend(
                records
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| r.rtype.eq_ignore_ascii_case(rtype)),
            );
            let total = info.as_ref().map(|i| i.total_pages).unwrap_or(1);
            let current = info.as_ref().map(|i| i.page).unwrap_or(page).max(page);
            if current >= total || page >= MAX_PAGES {
                break;
            }
            page += 1;
        }
        Ok(all)
    }

    async fn create_record(
        &self,
        op: &str,
        zone: &Zone,
        domain: &DomainName,
        body: Value,
    ) -> Result<(), RegistrarError> {
        let path = format!("/zones/{}/dns_records", zone.id);
        match self
            .call::<Value>(op, Method::POST, &path, &[], Some(&body), Some(domain))
            .await
        {
            Ok(_) => Ok(()),
            // "The record already exists" / "An identical record already
            // exists": what we wanted is there.
            Err(RegistrarError::Conflict { code, .. }) if code == "81057" || code == "81058" => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn delete_record(
        &self,
        op: &str,
        zone: &Zone,
        domain: &DomainName,
        id: &str,
    ) -> Result<(), RegistrarError> {
        let path = format!("/zones/{}/dns_records/{id}", zone.id);
        match self
            .call::<Value>(op, Method::DELETE, &path, &[], None, Some(domain))
            .await
        {
            Ok(_) => Ok(()),
            // Already gone (a concurrent delete): the goal is met.
            Err(RegistrarError::Rejected { code, .. }) if code == "81044" => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn patch_ttl(
        &self,
        op: &str,
        zone: &Zone,
        domain: &DomainName,
        id: &str,
        ttl: u32,
    ) -> Result<(), RegistrarError> {
        let path = format!("/zones/{}/dns_records/{id}", zone.id);
        self.call::<Value>(
            op,
            Method::PATCH,
            &path,
            &[],
            Some(&json!({ "ttl": ttl })),
            Some(domain),
        )
        .await
        .map(|_| ())
    }
}

/// The DS a Cloudflare DS record holds: from `data` when present, else
/// from the presentation `content`.
fn record_ds(r: &DnsRecord) -> Option<DsRecord> {
    if let Some(data) = &r.data {
        let n = |k: &str| data.get(k).and_then(Value::as_u64);
        if let (Some(tag), Some(alg), Some(dt), Some(digest)) = (
            n("key_tag"),
            n("algorithm"),
            n("digest_type"),
            data.get("digest").and_then(Value::as_str),
        ) {
            return DsRecord::new(
                u16::try_from(tag).ok()?,
                u8::try_from(alg).ok()?,
                u8::try_from(dt).ok()?,
                digest,
            )
            .ok();
        }
    }
    DsRecord::parse(&r.content).ok()
}

fn ttl_ok(ttl: u32) -> Result<(), RegistrarError> {
    // 1 means "automatic"; otherwise Cloudflare takes 60..=86400.
    if ttl == 1 || (60..=86400).contains(&ttl) {
        Ok(())
    } else {
        Err(RegistrarError::Invalid {
            field: "ttl".into(),
            message: format!("{ttl}: Cloudflare takes 60..=86400 seconds, or 1 for automatic"),
        })
    }
}

#[async_trait]
impl Registrar for Cloudflare {
    fn provider(&self) -> Provider {
        Provider::Cloudflare
    }

    async fn validate_credentials(&self) -> Result<(), RegistrarError> {
        match &self.credentials.auth {
            CloudflareAuth::Token(_) => {
                let (result, _) = self
                    .call::<Value>(
                        op::VALIDATE_CREDENTIALS,
                        Method::GET,
                        "/user/tokens/verify",
                        &[],
                        None,
                        None,
                    )
                    .await?;
                let status = result
                    .as_ref()
                    .and_then(|r| r.get("status"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if status == "active" {
                    Ok(())
                } else {
                    Err(RegistrarError::InvalidCredentials {
                        message: format!("token status is {status:?}, not \"active\""),
                    })
                }
            }
            CloudflareAuth::Legacy { .. } => self
                .call::<Value>(
                    op::VALIDATE_CREDENTIALS,
                    Method::GET,
                    "/user",
                    &[],
                    None,
                    None,
                )
                .await
                .map(|_| ()),
        }
    }

    async fn get_nameservers(&self, domain: &DomainName) -> Result<Vec<HostName>, RegistrarError> {
        let zone = self.zone(op::GET_NAMESERVERS, domain).await?;
        zone.name_servers
            .iter()
            .map(|ns| {
                HostName::new(ns)
                    .map_err(|e| RegistrarError::protocol(format!("zone name server: {e}")))
            })
            .collect()
    }

    async fn set_nameservers(
        &self,
        domain: &DomainName,
        nameservers: &[HostName],
    ) -> Result<Change, RegistrarError> {
        // Read first: asking for what is already there is fine, and the
        // read also tells a missing domain apart from an impossible change.
        let current = self.get_nameservers(domain).await?;
        if same_hosts(&current, nameservers) {
            return Ok(Change::Unchanged);
        }
        Err(RegistrarError::unsupported(
            Provider::Cloudflare,
            op::SET_NAMESERVERS,
            "Cloudflare Registrar domains must use Cloudflare's assigned name servers; \
             transfer the domain to another registrar to delegate it elsewhere, \
             or delegate a child label inside the Cloudflare zone with set_child_delegation",
        ))
    }

    async fn get_child_delegation(
        &self,
        zone_name: &DomainName,
        label: &Label,
    ) -> Result<Option<Delegation>, RegistrarError> {
        let zone = self.zone(op::GET_CHILD_DELEGATION, zone_name).await?;
        let fqdn = zone_name.child(label)?;
        let ns = self
            .records(op::GET_CHILD_DELEGATION, &zone, zone_name, "NS", &fqdn)
            .await?;
        if ns.is_empty() {
            return Ok(None);
        }
        let ds = self
            .records(op::GET_CHILD_DELEGATION, &zone, zone_name, "DS", &fqdn)
            .await?;
        let nameservers = ns
            .iter()
            .map(|r| HostName::new(&r.content))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RegistrarError::protocol(format!("NS record content: {e}")))?;
        Ok(Some(Delegation {
            nameservers,
            ttl: ns.iter().map(|r| r.ttl).min().unwrap_or(0),
            ds: ds.iter().filter_map(record_ds).collect(),
        }))
    }

    async fn set_child_delegation(
        &self,
        zone_name: &DomainName,
        label: &Label,
        delegation: &Delegation,
    ) -> Result<Change, RegistrarError> {
        let op = op::SET_CHILD_DELEGATION;
        capabilities().check_ns_count(&delegation.nameservers)?;
        ttl_ok(delegation.ttl)?;
        let zone = self.zone(op, zone_name).await?;
        let fqdn = zone_name.child(label)?;
        let ns = self.records(op, &zone, zone_name, "NS", &fqdn).await?;
        let ds = self.records(op, &zone, zone_name, "DS", &fqdn).await?;

        let mut wanted_ns: Vec<&HostName> = delegation.nameservers.iter().collect();
        wanted_ns.sort();
        wanted_ns.dedup();
        let mut changed = false;

        // Create what is missing first, so the child never has fewer
        // servers than it will end with; then fix TTLs; then delete extras.
        for host in &wanted_ns {
            if !ns
                .iter()
                .any(|r| HostName::new(&r.content).ok().as_ref() == Some(*host))
            {
                let body = json!({"type": "NS", "name": fqdn.as_str(), "content": host.as_str(), "ttl": delegation.ttl});
                self.create_record(op, &zone, zone_name, body).await?;
                changed = true;
            }
        }
        for want in &delegation.ds {
            if !ds.iter().any(|r| record_ds(r).as_ref() == Some(want)) {
                let body = json!({
                    "type": "DS", "name": fqdn.as_str(), "ttl": delegation.ttl,
                    "data": {"key_tag": want.key_tag, "algorithm": want.algorithm,
                             "digest_type": want.digest_type, "digest": want.digest}
                });
                self.create_record(op, &zone, zone_name, body).await?;
                changed = true;
            }
        }
        for r in &ns {
            let keep = HostName::new(&r.content)
                .map(|h| wanted_ns.contains(&&h))
                .unwrap_or(false);
            if keep && r.ttl != delegation.ttl {
                self.patch_ttl(op, &zone, zone_name, &r.id, delegation.ttl)
                    .await?;
                changed = true;
            }
        }
        for r in &ds {
            let keep = record_ds(r).is_some_and(|d| delegation.ds.contains(&d));
            if keep && r.ttl != delegation.ttl {
                self.patch_ttl(op, &zone, zone_name, &r.id, delegation.ttl)
                    .await?;
                changed = true;
            }
        }
        for r in &ns {
            let keep = HostName::new(&r.content)
                .map(|h| wanted_ns.contains(&&h))
                .unwrap_or(false);
            if !keep {
                self.delete_record(op, &zone, zone_name, &r.id).await?;
                changed = true;
            }
        }
        for r in &ds {
            if !record_ds(r).is_some_and(|d| delegation.ds.contains(&d)) {
                self.delete_record(op, &zone, zone_name, &r.id).await?;
                changed = true;
            }
        }
        Ok(if changed {
            Change::Applied
        } else {
            Change::Unchanged
        })
    }

    async fn delete_child_delegation(
        &self,
        zone_name: &DomainName,
        label: &Label,
    ) -> Result<Change, RegistrarError> {
        let op = op::DELETE_CHILD_DELEGATION;
        let zone = self.zone(op, zone_name).await?;
        let fqdn = zone_name.child(label)?;
        // DS first: a DS without NS above it is meaningless.
        let ds = self.records(op, &zone, zone_name, "DS", &fqdn).await?;
        let ns = self.records(op, &zone, zone_name, "NS", &fqdn).await?;
        if ds.is_empty() && ns.is_empty() {
            return Ok(Change::Unchanged);
        }
        for r in ds.iter().chain(ns.iter()) {
            self.delete_record(op, &zone, zone_name, &r.id).await?;
        }
        Ok(Change::Applied)
    }

    async fn list_glue(&self, _domain: &DomainName) -> Result<Vec<Glue>, RegistrarError> {
        Err(no_glue(op::LIST_GLUE))
    }

    async fn upsert_glue(
        &self,
        _domain: &DomainName,
        _glue: &Glue,
    ) -> Result<Change, RegistrarError> {
        Err(no_glue(op::UPSERT_GLUE))
    }

    async fn delete_glue(
        &self,
        _domain: &DomainName,
        _host: &HostName,
    ) -> Result<Change, RegistrarError> {
        Err(no_glue(op::DELETE_GLUE))
    }

    async fn get_ds(&self, domain: &DomainName) -> Result<Vec<DsMaterial>, RegistrarError> {
        let zone = self.zone(op::GET_DS, domain).await?;
        let path = format!("/zones/{}/dnssec", zone.id);
        let (result, _) = self
            .call::<Dnssec>(op::GET_DS, Method::GET, &path, &[], None, Some(domain))
            .await?;
        let Some(d) = result else {
            return Ok(Vec::new());
        };
        if d.status != "active" && d.status != "pending" {
            return Ok(Vec::new());
        }
        match (
            d.key_tag,
            loose_u8(&d.algorithm),
            loose_u8(&d.digest_type),
            d.digest.as_deref(),
        ) {
            (Some(tag), Some(alg), Some(dt), Some(digest)) => {
                Ok(vec![DsMaterial::Ds(DsRecord::new(tag, alg, dt, digest)?)])
            }
            _ => Ok(Vec::new()),
        }
    }

    async fn set_ds(
        &self,
        domain: &DomainName,
        material: &[DsMaterial],
    ) -> Result<Change, RegistrarError> {
        // Idempotent for the one case Cloudflare can express: what is
        // already published.
        let current = self.get_ds(domain).await?;
        let wanted: Vec<DsMaterial> = material
            .iter()
            .map(|m| match m {
                DsMaterial::Dnskey(k) => DsMaterial::Ds(k.to_ds(domain)),
                ds => ds.clone(),
            })
            .collect();
        if current.len() == wanted.len() && wanted.iter().all(|w| current.contains(w)) {
            return Ok(Change::Unchanged);
        }
        Err(RegistrarError::unsupported(
            Provider::Cloudflare,
            op::SET_DS,
            "Cloudflare publishes the DS of a Registrar domain itself: enable DNSSEC on the zone \
             (dashboard or PATCH /zones/{id}/dnssec status=active) and it appears at the registry; \
             arbitrary DS cannot be set",
        ))
    }
}

fn no_glue(operation: &'static str) -> RegistrarError {
    RegistrarError::unsupported(
        Provider::Cloudflare,
        operation,
        "Cloudflare has no registry host objects; put A/AAAA records for in-zone name servers \
         inside the Cloudflare zone instead, or manage host objects at the registrar holding the domain",
    )
}
