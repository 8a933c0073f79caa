//! Dynadot adapter on api3.json: `GET …?key=…&command=…`, answers always
//! HTTP 200 with the outcome inside ([`envelope`]).
//!
//! - The key travels in the query string, so only the shared client,
//!   which logs URLs without their query, ever sees the URL.
//! - Regular accounts allow one request at a time: calls are serialised
//!   per API key across every adapter in the process (PDM builds one
//!   adapter per request, so a per-instance lock would not do).
//! - `set_ns` refuses hosts the account does not know: hosts outside the
//!   domain are added with `add_ns` first; hosts inside it need glue,
//!   which only the caller can give ([`Registrar::upsert_glue`]).
//! - Zone records (`set_dns2`) have no NS or DS type, so child delegation
//!   is unsupported.
//! - Nothing is asynchronous: every change is `Applied` on return.

mod envelope;

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex as StdMutex, OnceLock, Weak};

use async_trait::async_trait;
use reqwest::Url;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use tokio::sync::Mutex;

use crate::credentials::DynadotCredentials;
use crate::error::RegistrarError;
use crate::http::HttpClient;
use crate::providers::{ConnectOptions, shared};
use crate::types::{
    Capabilities, Capability, Change, Delegation, Dnskey, DomainName, DsInput, DsMaterial,
    DsRecord, Glue, HostName, Label, Provider,
};
use crate::{Registrar, Secret, op};

/// Production API root.
pub const DEFAULT_BASE_URL: &str = "https://api.dynadot.com/api3.json";

/// What Dynadot supports (spec §0).
pub fn capabilities() -> Capabilities {
    Capabilities::new(
        &[
            Capability::GetNameservers,
            Capability::SetNameservers,
            Capability::Glue,
            Capability::GetDs,
            Capability::SetDs,
        ],
        DsInput::Either,
        2,
        13,
    )
}

/// Builds the adapter.
pub fn new(
    base_url: &str,
    credentials: DynadotCredentials,
    options: &ConnectOptions,
) -> Result<Dynadot, RegistrarError> {
    let base = Url::parse(base_url).map_err(|e| RegistrarError::Invalid {
        field: "base_url".into(),
        message: e.to_string(),
    })?;
    Ok(Dynadot {
        serial: account_lock(&credentials.api_key),
        base,
        key: credentials.api_key,
        secret: credentials.api_secret,
        http: options.client(Provider::Dynadot)?,
    })
}

/// The Dynadot adapter.
#[derive(Debug)]
pub struct Dynadot {
    base: Url,
    key: Secret,
    secret: Option<Secret>,
    http: HttpClient,
    /// Held for the whole of each call, retries included.
    serial: Arc<Mutex<()>>,
}

/// The process-wide lock for the account behind `key`, found by the key's
/// SHA-256 so the table never holds the key itself. The table keeps weak
/// references, pruned as it grows, so one-off keys do not pile up.
fn account_lock(key: &Secret) -> Arc<Mutex<()>> {
    /// Key digest → that account's turn.
    type Table = HashMap<[u8; 32], Weak<Mutex<()>>>;
    static LOCKS: OnceLock<StdMutex<Table>> = OnceLock::new();
    let id: [u8; 32] = Sha256::digest(key.expose().as_bytes()).into();
    let mut table = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(lock) = table.get(&id).and_then(Weak::upgrade) {
        return lock;
    }
    table.retain(|_, weak| weak.strong_count() > 0);
    let lock = Arc::new(Mutex::new(()));
    table.insert(id, Arc::downgrade(&lock));
    lock
}

fn unsupported_child(operation: &'static str) -> RegistrarError {
    RegistrarError::unsupported(
        Provider::Dynadot,
        operation,
        "Dynadot's zone API (set_dns2) has no NS or DS record type, so a child cannot be \
         delegated from a Dynadot-hosted zone: host the parent zone on dnsd (or a provider \
         that can) and delegate from there",
    )
}

/// One registered name server of the account (`server_list`).
#[derive(Debug)]
struct Server {
    id: String,
    host: HostName,
    ips: Vec<IpAddr>,
}

impl Dynadot {
    /// Runs one api3 command and returns its `<Command>Response` object.
    async fn call(
        &self,
        op: &'static str,
        command: &str,
        params: &[(&str, String)],
        domain: &str,
    ) -> Result<Map<String, Value>, RegistrarError> {
        let mut url = self.base.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("key", self.key.expose());
            if let Some(secret) = &self.secret {
                q.append_pair("secret", secret.expose());
            }
            q.append_pair("command", command);
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        let _turn = self.serial.lock().await;
        self.http
            .execute(
                op,
                |c| Ok(c.get(url.clone())),
                |resp| envelope::parse(&resp, domain),
            )
            .await
    }

    async fn servers(&self, op: &'static str) -> Result<Vec<Server>, RegistrarError> {
        let resp = self.call(op, "server_list", &[], "").await?;
        let list = resp
            .get("ServerList")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        list.iter()
            .map(|s| {
                let id = envelope::text(s.get("ServerId")).ok_or_else(|| {
                    RegistrarError::protocol("server_list entry without ServerId")
                })?;
                let name = s
                    .get("ServerName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let ips = match s.get("ServerIp") {
                    Some(Value::String(ip)) if !ip.is_empty() => vec![ip.clone()],
                    Some(Value::Array(ips)) => ips
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                Ok(Server {
                    id,
                    host: HostName::new(name)?,
                    ips: ips
                        .iter()
                        .map(|ip| {
                            ip.parse().map_err(|_| {
                                RegistrarError::protocol(format!("bad ServerIp {ip:?}"))
                            })
                        })
                        .collect::<Result<_, _>>()?,
                })
            })
            .collect()
    }

    async fn set_ips(
        &self,
        op: &'static str,
        server_id: &str,
        ips: &[IpAddr],
        domain: &str,
    ) -> Result<(), RegistrarError> {
        let mut params = vec![("server_id", server_id.to_owned())];
        let names: Vec<String> = (0..ips.len()).map(|i| format!("ip{i}")).collect();
        for (name, ip) in names.iter().zip(ips) {
            params.push((name.as_str(), ip.to_string()));
        }
        self.call(op, "set_ns_ip", &params, domain).await.map(drop)
    }
}

/// Reads one `get_dnssec` entry in either form.
fn parse_dnssec(item: &Value) -> Result<DsMaterial, RegistrarError> {
    let num = |k: &str| {
        envelope::text(item.get(k))
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| RegistrarError::protocol(format!("get_dnssec entry without {k}")))
    };
    let algorithm = num("Algorithm")? as u8;
    if let Some(key) = item.get("PublicKey").and_then(Value::as_str) {
        return Dnskey::new(num("Flags")? as u16, 3, algorithm, key).map(DsMaterial::Dnskey);
    }
    let digest = item
        .get("Digest")
        .and_then(Value::as_str)
        .unwrap_or_default();
    DsRecord::new(
        num("KeyTag")? as u16,
        algorithm,
        num("DigestType")? as u8,
        digest,
    )
    .map(DsMaterial::Ds)
}

#[async_trait]
impl Registrar for Dynadot {
    fn provider(&self) -> Provider {
        Provider::Dynadot
    }

    async fn validate_credentials(&self) -> Result<(), RegistrarError> {
        // Needs the key, touches no domain.
        self.call(op::VALIDATE_CREDENTIALS, "is_processing", &[], "")
            .await
            .map(drop)
    }

    async fn get_nameservers(&self, domain: &DomainName) -> Result<Vec<HostName>, RegistrarError> {
        let resp = self
            .call(
                op::GET_NAMESERVERS,
                "domain_info",
                &[("domain", domain.to_string())],
                domain.as_str(),
            )
            .await?;
        let servers = resp
            .get("DomainInfo")
            .and_then(|d| d.get("NameServerSettings"))
            .and_then(|s| s.get("NameServers"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        servers
            .iter()
            .filter_map(|s| s.get("ServerName").and_then(Value::as_str))
            .filter(|name| !name.is_empty())
            .map(HostName::new)
            .collect()
    }

    async fn set_nameservers(
        &self,
        domain: &DomainName,
        nameservers: &[HostName],
    ) -> Result<Change, RegistrarError> {
        let Some(wanted) = shared::nameservers_to_write(self, domain, nameservers).await? else {
            return Ok(Change::Unchanged);
        };
        // set_ns takes only hosts the account knows.
        let known: BTreeSet<HostName> = self
            .servers(op::SET_NAMESERVERS)
            .await?
            .into_iter()
            .map(|s| s.host)
            .collect();
        let missing: Vec<&HostName> = wanted
            .iter()
            .copied()
            .filter(|h| !known.contains(*h))
            .collect();
        // Check every precondition before the first write.
        if let Some(host) = missing.iter().find(|h| h.is_within(domain)) {
            return Err(RegistrarError::NameserverNotRegistered {
                host: host.to_string(),
                message: format!(
                    "{host} is inside {domain}: register it with its address first (upsert_glue)"
                ),
            });
        }
        for host in missing {
            self.call(
                op::SET_NAMESERVERS,
                "add_ns",
                &[("host", host.to_string())],
                domain.as_str(),
            )
            .await?;
        }
        let names: Vec<String> = (0..wanted.len()).map(|i| format!("ns{i}")).collect();
        let mut params = vec![("domain", domain.to_string())];
        for (name, host) in names.iter().zip(&wanted) {
            params.push((name.as_str(), host.to_string()));
        }
        self.call(op::SET_NAMESERVERS, "set_ns", &params, domain.as_str())
            .await?;
        Ok(Change::Applied)
    }

    async fn get_child_delegation(
        &self,
        _: &DomainName,
        _: &Label,
    ) -> Result<Option<Delegation>, RegistrarError> {
        Err(unsupported_child(op::GET_CHILD_DELEGATION))
    }

    async fn set_child_delegation(
        &self,
        _: &DomainName,
        _: &Label,
        _: &Delegation,
    ) -> Result<Change, RegistrarError> {
        Err(unsupported_child(op::SET_CHILD_DELEGATION))
    }

    async fn delete_child_delegation(
        &self,
        _: &DomainName,
        _: &Label,
    ) -> Result<Change, RegistrarError> {
        Err(unsupported_child(op::DELETE_CHILD_DELEGATION))
    }

    async fn list_glue(&self, domain: &DomainName) -> Result<Vec<Glue>, RegistrarError> {
        let servers = self.servers(op::LIST_GLUE).await?;
        Ok(servers
            .into_iter()
            .filter(|s| s.host.is_within(domain) && !s.ips.is_empty())
            .map(|s| Glue {
                host: s.host,
                ips: s.ips,
            })
            .collect())
    }

    async fn upsert_glue(
        &self,
        domain: &DomainName,
        glue: &Glue,
    ) -> Result<Change, RegistrarError> {
        shared::glue_under(domain, glue)?;
        if glue.ips.is_empty() || glue.ips.len() > 10 {
            return Err(RegistrarError::Invalid {
                field: "glue.ips".into(),
                message: "Dynadot takes 1 to 10 addresses per host".into(),
            });
        }
        let servers = self.servers(op::UPSERT_GLUE).await?;
        let wanted: BTreeSet<&IpAddr> = glue.ips.iter().collect();
        if let Some(server) = servers.iter().find(|s| s.host == glue.host) {
            if server.ips.iter().collect::<BTreeSet<_>>() == wanted {
                return Ok(Change::Unchanged);
            }
            self.set_ips(op::UPSERT_GLUE, &server.id, &glue.ips, domain.as_str())
                .await?;
            return Ok(Change::Applied);
        }
        // register_ns takes one address; further ones go through set_ns_ip.
        let params = [
            ("host", glue.host.to_string()),
            ("ip", glue.ips[0].to_string()),
        ];
        self.call(op::UPSERT_GLUE, "register_ns", &params, domain.as_str())
            .await?;
        if glue.ips.len() > 1 {
            let servers = self.servers(op::UPSERT_GLUE).await?;
            let server = servers
                .iter()
                .find(|s| s.host == glue.host)
                .ok_or_else(|| {
                    RegistrarError::protocol("registered host missing from server_list")
                })?;
            self.set_ips(op::UPSERT_GLUE, &server.id, &glue.ips, domain.as_str())
                .await?;
        }
        Ok(Change::Applied)
    }

    async fn delete_glue(
        &self,
        domain: &DomainName,
        host: &HostName,
    ) -> Result<Change, RegistrarError> {
        let servers = self.servers(op::DELETE_GLUE).await?;
        let Some(server) = servers.iter().find(|s| s.host == *host) else {
            return Ok(Change::Unchanged);
        };
        self.call(
            op::DELETE_GLUE,
            "delete_ns",
            &[("server_id", server.id.clone())],
            domain.as_str(),
        )
        .await?;
        Ok(Change::Applied)
    }

    async fn get_ds(&self, domain: &DomainName) -> Result<Vec<DsMaterial>, RegistrarError> {
        let resp = self
            .call(
                op::GET_DS,
                "get_dnssec",
                &[("domain_name", domain.to_string())],
                domain.as_str(),
            )
            .await?;
        match resp.get("DnssecInfo") {
            Some(Value::Array(items)) => items.iter().map(parse_dnssec).collect(),
            Some(item @ Value::Object(_)) => Ok(vec![parse_dnssec(item)?]),
            _ => Ok(Vec::new()),
        }
    }

    async fn set_ds(
        &self,
        domain: &DomainName,
        material: &[DsMaterial],
    ) -> Result<Change, RegistrarError> {
        let wanted: BTreeSet<&DsMaterial> = material.iter().collect();
        let current = self.get_ds(domain).await?;
        if current.iter().collect::<BTreeSet<_>>() == wanted {
            return Ok(Change::Unchanged);
        }
        // set_dnssec adds one record per call and nothing removes a single
        // one, so a change is clear-then-add: the zone is briefly unsigned
        // at the parent (insecure, never bogus).
        if !current.is_empty() {
            self.call(
                op::SET_DS,
                "clear_dnssec",
                &[("domain_name", domain.to_string())],
                domain.as_str(),
            )
            .await?;
        }
        for m in wanted {
            let mut params = vec![("domain_name", domain.to_string())];
            match m {
                DsMaterial::Ds(ds) => params.extend([
                    ("key_tag", ds.key_tag.to_string()),
                    ("algorithm", ds.algorithm.to_string()),
                    ("digest_type", ds.digest_type.to_string()),
                    ("digest", ds.digest.clone()),
                ]),
                DsMaterial::Dnskey(k) => params.extend([
                    ("flags", k.flags.to_string()),
                    ("algorithm", k.algorithm.to_string()),
                    ("public_key", k.public_key.clone()),
                ]),
            }
            self.call(op::SET_DS, "set_dnssec", &params, domain.as_str())
                .await?;
        }
        Ok(Change::Applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lock_per_key_while_in_use() {
        let a = account_lock(&Secret::new("unit-key-a"));
        let again = account_lock(&Secret::new("unit-key-a"));
        let b = account_lock(&Secret::new("unit-key-b"));
        assert!(Arc::ptr_eq(&a, &again));
        assert!(!Arc::ptr_eq(&a, &b));
    }
}
