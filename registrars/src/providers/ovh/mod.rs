//! OVHcloud adapter: signed requests to `/domain/…` (registration) and
//! `/domain/zone/…` (OVH-hosted zones).
//!
//! - Every call carries `X-Ovh-Application`, `X-Ovh-Consumer`,
//!   `X-Ovh-Timestamp` and `X-Ovh-Signature` ([`signing`], [`transport`]). The timestamp
//!   is our clock plus the offset to OVH's, learnt once from the
//!   unauthenticated `GET /auth/time`; when OVH refuses a timestamp we
//!   learn it again and retry once.
//! - Name server, glue and DS writes return OVH *tasks*; they come back as
//!   [`Change::Pending`] with the task id, and [`Registrar::task_status`]
//!   polls `GET /domain/{d}/task/{id}`.
//! - Name servers are editable only when `nameServerType` is `external`:
//!   the adapter switches it first. When the TLD has no host objects
//!   (`hostSupported` false) glue is the `ip` of the NS entry, kept as it
//!   is across NS changes.
//! - `dsRecord` takes DNSKEYs, never digests, and replaces the whole set;
//!   it is refused while the domain uses OVH's own (signing) DNS.
//! - Zone edits are not live until `POST /domain/zone/{z}/refresh`, which
//!   follows every change. Record filters match with LIKE, so every
//!   listed record is re-checked.

mod signing;
mod transport;
mod wire;

pub use signing::signature;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::HeaderValue;
use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::credentials::OvhCredentials;
use crate::error::RegistrarError;
use crate::http::HttpClient;
use crate::providers::{ConnectOptions, shared};
use crate::types::{
    Capabilities, Capability, Change, Delegation, Dnskey, DomainName, DsInput, DsMaterial, Glue,
    HostName, Label, Provider, TaskRef, TaskStatus, same_hosts,
};
use crate::{Registrar, op};

use wire::{
    DomainInfo, DsKey, DsKeyInput, GlueRecord, NameServer, NameServerEntry, Task, ZoneRecord,
};

/// Production API root (`ovh-eu`).
pub const DEFAULT_BASE_URL: &str = "https://eu.api.ovh.com/1.0";

/// DNSSEC algorithms OVH's `dsRecord` accepts.
const DS_ALGORITHMS: [u8; 7] = [5, 7, 8, 10, 13, 14, 15];

/// What OVH supports (spec §0).
pub fn capabilities() -> Capabilities {
    Capabilities::new(
        &[
            Capability::GetNameservers,
            Capability::SetNameservers,
            Capability::ChildDelegation,
            Capability::Glue,
            Capability::GetDs,
            Capability::SetDs,
            Capability::AsyncTasks,
        ],
        DsInput::Dnskey,
        2,
        13,
    )
}

/// Builds the adapter.
pub fn new(
    base_url: &str,
    credentials: OvhCredentials,
    options: &ConnectOptions,
) -> Result<Ovh, RegistrarError> {
    let header = |s: &crate::Secret, what: &str| {
        let mut v = HeaderValue::from_str(s.expose()).map_err(|_| RegistrarError::Invalid {
            field: what.to_owned(),
            message: "must be printable ASCII".into(),
        })?;
        v.set_sensitive(true);
        Ok::<_, RegistrarError>(v)
    };
    Ok(Ovh {
        base_url: base_url.trim_end_matches('/').to_owned(),
        application: header(&credentials.application_key, "application_key")?,
        consumer: header(&credentials.consumer_key, "consumer_key")?,
        credentials,
        http: options.client(Provider::Ovh)?,
        clock: options.clock.clone(),
        delta: Mutex::new(None),
    })
}

/// The OVH adapter.
#[derive(Debug)]
pub struct Ovh {
    base_url: String,
    credentials: OvhCredentials,
    /// `X-Ovh-Application`, marked sensitive.
    application: HeaderValue,
    /// `X-Ovh-Consumer`, marked sensitive.
    consumer: HeaderValue,
    http: HttpClient,
    clock: Arc<dyn Clock>,
    /// OVH's clock minus ours, seconds; `None` until `/auth/time` is read.
    delta: Mutex<Option<i64>>,
}

/// A path segment, percent-encoded.
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn encode_err(e: serde_json::Error) -> RegistrarError {
    RegistrarError::protocol(format!("encoding request body: {e}"))
}

/// The pending change for a task OVH returned.
fn pending(domain: &DomainName, task: Task) -> Change {
    Change::Pending(TaskRef {
        provider: Provider::Ovh,
        domain: domain.clone(),
        id: task.id.to_string(),
    })
}

impl Ovh {
    fn domain_path(domain: &DomainName) -> String {
        format!("/domain/{}", seg(domain.as_str()))
    }

    async fn info(
        &self,
        op: &'static str,
        domain: &DomainName,
    ) -> Result<DomainInfo, RegistrarError> {
        self.get(op, &Self::domain_path(domain), domain.as_str(), "domain")
            .await
    }

    /// The NS entries in force (those not being deleted).
    async fn ns_entries(
        &self,
        op: &'static str,
        domain: &DomainName,
    ) -> Result<Vec<(HostName, Option<String>)>, RegistrarError> {
        let base = format!("{}/nameServer", Self::domain_path(domain));
        let ids: Vec<u64> = self
            .get(op, &base, domain.as_str(), "name server ids")
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let ns: NameServer = self
                .get(op, &format!("{base}/{id}"), domain.as_str(), "name server")
                .await?;
            if !ns.to_delete {
                out.push((HostName::new(&ns.host)?, ns.ip.filter(|ip| !ip.is_empty())));
            }
        }
        Ok(out)
    }

    /// Sends a whole NS set (a task), switching to `external` first.
    async fn write_ns(
        &self,
        op: &'static str,
        domain: &DomainName,
        info: &DomainInfo,
        entries: Vec<NameServerEntry>,
    ) -> Result<Change, RegistrarError> {
        if info.name_server_type != "external" {
            // Only external domains accept NS edits.
            let body = serde_json::json!({ "nameServerType": "external" });
            self.plain_call(
                op,
                Method::PUT,
                &Self::domain_path(domain),
                Some(&body),
                domain.as_str(),
            )
            .await?;
        }
        let body = serde_json::json!({ "nameServers": entries });
        let path = format!("{}/nameServers/update", Self::domain_path(domain));
        self.task_call(op, Method::POST, &path, &body, domain).await
    }

    fn zone_path(zone: &DomainName) -> String {
        format!("/domain/zone/{}", seg(zone.as_str()))
    }

    /// The NS records at `label`, re-checked one by one (the list filter
    /// is a LIKE match).
    async fn child_records(
        &self,
        op: &'static str,
        zone: &DomainName,
        label: &Label,
    ) -> Result<Vec<ZoneRecord>, RegistrarError> {
        let base = format!("{}/record", Self::zone_path(zone));
        let query = format!("{base}?fieldType=NS&subDomain={}", seg(label.as_str()));
        let ids: Vec<u64> = self.get(op, &query, zone.as_str(), "record ids").await?;
        let mut out = Vec::new();
        for id in ids {
            let rec: ZoneRecord = self
                .get(op, &format!("{base}/{id}"), zone.as_str(), "record")
                .await?;
            if rec.field_type.eq_ignore_ascii_case("NS")
                && rec.sub_domain.eq_ignore_ascii_case(label.as_str())
            {
                out.push(rec);
            }
        }
        Ok(out)
    }

    async fn refresh(&self, op: &'static str, zone: &DomainName) -> Result<(), RegistrarError> {
        let path = format!("{}/refresh", Self::zone_path(zone));
        self.plain_call(op, Method::POST, &path, None, zone.as_str())
            .await
    }

    async fn glue_hosts(
        &self,
        op: &'static str,
        domain: &DomainName,
    ) -> Result<Vec<Glue>, RegistrarError> {
        let base = format!("{}/glueRecord", Self::domain_path(domain));
        let hosts: Vec<String> = self
            .get(op, &base, domain.as_str(), "glue host list")
            .await?;
        let mut out = Vec::with_capacity(hosts.len());
        for host in hosts {
            let g: GlueRecord = self
                .get(
                    op,
                    &format!("{base}/{}", seg(&host)),
                    domain.as_str(),
                    "glue record",
                )
                .await?;
            out.push(Glue {
                host: HostName::new(&g.host)?,
                ips: parse_ips(&g.ips)?,
            });
        }
        Ok(out)
    }
}

fn parse_ips(ips: &[String]) -> Result<Vec<IpAddr>, RegistrarError> {
    ips.iter()
        .map(|ip| {
            ip.parse()
                .map_err(|_| RegistrarError::protocol(format!("{ip:?} is not an IP address")))
        })
        .collect()
}

fn same_ips(a: &[IpAddr], b: &[IpAddr]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

fn strip_dot(target: &str) -> &str {
    target.strip_suffix('.').unwrap_or(target)
}

#[async_trait]
impl Registrar for Ovh {
    fn provider(&self) -> Provider {
        Provider::Ovh
    }

    async fn validate_credentials(&self) -> Result<(), RegistrarError> {
        let _: Vec<String> = self
            .get(op::VALIDATE_CREDENTIALS, "/domain", "", "domain list")
            .await?;
        Ok(())
    }

    async fn get_nameservers(&self, domain: &DomainName) -> Result<Vec<HostName>, RegistrarError> {
        let entries = self.ns_entries(op::GET_NAMESERVERS, domain).await?;
        Ok(entries.into_iter().map(|(h, _)| h).collect())
    }

    async fn set_nameservers(
        &self,
        domain: &DomainName,
        nameservers: &[HostName],
    ) -> Result<Change, RegistrarError> {
        capabilities().check_ns_count(nameservers)?;
        let current = self.ns_entries(op::SET_NAMESERVERS, domain).await?;
        let hosts: Vec<HostName> = current.iter().map(|(h, _)| h.clone()).collect();
        if same_hosts(&hosts, nameservers) {
            return Ok(Change::Unchanged);
        }
        let info = self.info(op::SET_NAMESERVERS, domain).await?;
        let wanted = shared::distinct(nameservers);
        let mut entries = Vec::with_capacity(wanted.len());
        for host in wanted {
            // Without host objects an in-domain server needs its address
            // in the entry; keep the one it already has.
            let ip = if !info.host_supported && host.is_within(domain) {
                let known = current
                    .iter()
                    .find(|(h, _)| h == host)
                    .and_then(|(_, ip)| ip.clone());
                Some(known.ok_or_else(|| RegistrarError::Invalid {
                    field: "nameservers".into(),
                    message: format!(
                        "{host} is inside {domain} and this TLD has no host objects at OVH: \
                         add it with its address first (upsert_glue while it is in the NS set)"
                    ),
                })?)
            } else {
                None
            };
            entries.push(NameServerEntry {
                host: host.to_string(),
                ip,
            });
        }
        self.write_ns(op::SET_NAMESERVERS, domain, &info, entries)
            .await
    }

    async fn get_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
    ) -> Result<Option<Delegation>, RegistrarError> {
        let records = self
            .child_records(op::GET_CHILD_DELEGATION, zone, label)
            .await?;
        shared::ns_delegation(
            records.iter().map(|r| (strip_dot(&r.target), Some(r.ttl))),
            0,
        )
    }

    async fn set_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
        delegation: &Delegation,
    ) -> Result<Change, RegistrarError> {
        shared::plain_delegation(
            Provider::Ovh,
            op::SET_CHILD_DELEGATION,
            delegation,
            "OVH zones have no DS record type; host the parent zone on dnsd to publish the \
             child's DS, or delegate without DS",
        )?;
        let records = self
            .child_records(op::SET_CHILD_DELEGATION, zone, label)
            .await?;
        let wanted: BTreeSet<&str> = delegation
            .nameservers
            .iter()
            .map(HostName::as_str)
            .collect();
        let base = format!("{}/record", Self::zone_path(zone));
        let mut changed = false;
        let mut kept = BTreeSet::new();
        for rec in &records {
            let target = strip_dot(&rec.target).to_ascii_lowercase();
            if !wanted.contains(target.as_str()) || kept.contains(&target) {
                self.plain_call(
                    op::SET_CHILD_DELEGATION,
                    Method::DELETE,
                    &format!("{base}/{}", rec.id),
                    None,
                    zone.as_str(),
                )
                .await?;
                changed = true;
                continue;
            }
            if rec.ttl != delegation.ttl {
                let body = serde_json::json!({ "ttl": delegation.ttl });
                self.plain_call(
                    op::SET_CHILD_DELEGATION,
                    Method::PUT,
                    &format!("{base}/{}", rec.id),
                    Some(&body),
                    zone.as_str(),
                )
                .await?;
                changed = true;
            }
            kept.insert(target);
        }
        for host in wanted.iter().filter(|h| !kept.contains(**h)) {
            let body = serde_json::json!({
                "fieldType": "NS",
                "subDomain": label.as_str(),
                "target": format!("{host}."),
                "ttl": delegation.ttl,
            });
            self.plain_call(
                op::SET_CHILD_DELEGATION,
                Method::POST,
                &base,
                Some(&body),
                zone.as_str(),
            )
            .await?;
            changed = true;
        }
        if !changed {
            return Ok(Change::Unchanged);
        }
        self.refresh(op::SET_CHILD_DELEGATION, zone).await?;
        Ok(Change::Applied)
    }

    async fn delete_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
    ) -> Result<Change, RegistrarError> {
        let records = self
            .child_records(op::DELETE_CHILD_DELEGATION, zone, label)
            .await?;
        if records.is_empty() {
            return Ok(Change::Unchanged);
        }
        let base = format!("{}/record", Self::zone_path(zone));
        for rec in records {
            self.plain_call(
                op::DELETE_CHILD_DELEGATION,
                Method::DELETE,
                &format!("{base}/{}", rec.id),
                None,
                zone.as_str(),
            )
            .await?;
        }
        self.refresh(op::DELETE_CHILD_DELEGATION, zone).await?;
        Ok(Change::Applied)
    }

    async fn list_glue(&self, domain: &DomainName) -> Result<Vec<Glue>, RegistrarError> {
        let info = self.info(op::LIST_GLUE, domain).await?;
        if info.host_supported {
            return self.glue_hosts(op::LIST_GLUE, domain).await;
        }
        // No host objects: glue lives in the NS entries.
        let entries = self.ns_entries(op::LIST_GLUE, domain).await?;
        entries
            .into_iter()
            .filter_map(|(host, ip)| ip.map(|ip| (host, ip)))
            .map(|(host, ip)| {
                Ok(Glue {
                    host,
                    ips: parse_ips(&[ip])?,
                })
            })
            .collect()
    }

    async fn upsert_glue(
        &self,
        domain: &DomainName,
        glue: &Glue,
    ) -> Result<Change, RegistrarError> {
        shared::glue_under(domain, glue)?;
        let info = self.info(op::UPSERT_GLUE, domain).await?;
        let check = |ok: bool, message: &str| {
            if ok {
                Ok(())
            } else {
                Err(RegistrarError::Invalid {
                    field: "glue.ips".into(),
                    message: message.to_owned(),
                })
            }
        };
        check(
            !glue.ips.is_empty(),
            "a glue host needs at least one address",
        )?;
        check(
            info.glue_record_ipv6_supported || glue.ips.iter().all(IpAddr::is_ipv4),
            "OVH does not take IPv6 glue for this TLD",
        )?;
        let multi_ok = info.glue_record_multi_ip_supported && info.host_supported;
        check(
            multi_ok || glue.ips.len() == 1,
            "OVH takes one glue address per host for this TLD",
        )?;
        let ips: Vec<String> = glue.ips.iter().map(IpAddr::to_string).collect();
        if !info.host_supported {
            // Glue is the `ip` of the NS entry: rewrite the set with it.
            let current = self.ns_entries(op::UPSERT_GLUE, domain).await?;
            let Some((_, old_ip)) = current.iter().find(|(h, _)| *h == glue.host) else {
                return Err(RegistrarError::Invalid {
                    field: "glue.host".into(),
                    message: format!(
                        "this TLD has no host objects at OVH, so glue is set inside the NS entry: \
                         put {} in the name server set together with its address",
                        glue.host
                    ),
                });
            };
            if old_ip.as_deref() == Some(ips[0].as_str()) {
                return Ok(Change::Unchanged);
            }
            let entries = current
                .iter()
                .map(|(h, ip)| NameServerEntry {
                    host: h.to_string(),
                    ip: if *h == glue.host {
                        Some(ips[0].clone())
                    } else {
                        ip.clone()
                    },
                })
                .collect();
            return self.write_ns(op::UPSERT_GLUE, domain, &info, entries).await;
        }
        let existing = self.glue_hosts(op::UPSERT_GLUE, domain).await?;
        let base = format!("{}/glueRecord", Self::domain_path(domain));
        match existing.iter().find(|g| g.host == glue.host) {
            Some(g) if same_ips(&g.ips, &glue.ips) => Ok(Change::Unchanged),
            Some(_) => {
                // The path with `/update` is the one that exists.
                let path = format!("{base}/{}/update", seg(glue.host.as_str()));
                let body = serde_json::json!({ "ips": ips });
                self.task_call(op::UPSERT_GLUE, Method::POST, &path, &body, domain)
                    .await
            }
            None => {
                let body = serde_json::json!({ "host": glue.host, "ips": ips });
                self.task_call(op::UPSERT_GLUE, Method::POST, &base, &body, domain)
                    .await
            }
        }
    }

    async fn delete_glue(
        &self,
        domain: &DomainName,
        host: &HostName,
    ) -> Result<Change, RegistrarError> {
        let info = self.info(op::DELETE_GLUE, domain).await?;
        if !info.host_supported {
            return Err(RegistrarError::unsupported(
                Provider::Ovh,
                op::DELETE_GLUE,
                "this TLD has no host objects at OVH; glue goes away with the NS entry, so \
                 remove the host from the name server set instead",
            ));
        }
        let existing = self.glue_hosts(op::DELETE_GLUE, domain).await?;
        if !existing.iter().any(|g| g.host == *host) {
            return Ok(Change::Unchanged);
        }
        let path = format!(
            "{}/glueRecord/{}",
            Self::domain_path(domain),
            seg(host.as_str())
        );
        let task: Task = self
            .call(
                op::DELETE_GLUE,
                Method::DELETE,
                &path,
                None,
                domain.as_str(),
                |r| r.json("task"),
            )
            .await?;
        Ok(pending(domain, task))
    }

    async fn get_ds(&self, domain: &DomainName) -> Result<Vec<DsMaterial>, RegistrarError> {
        let base = format!("{}/dsRecord", Self::domain_path(domain));
        let ids: Vec<u64> = self
            .get(op::GET_DS, &base, domain.as_str(), "dsRecord ids")
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let key: DsKey = self
                .get(
                    op::GET_DS,
                    &format!("{base}/{id}"),
                    domain.as_str(),
                    "dsRecord",
                )
                .await?;
            if matches!(key.status.as_str(), "deleting" | "toDelete") {
                continue;
            }
            out.push(DsMaterial::Dnskey(Dnskey::new(
                key.flags,
                3,
                key.algorithm,
                &key.public_key,
            )?));
        }
        Ok(out)
    }

    async fn set_ds(
        &self,
        domain: &DomainName,
        material: &[DsMaterial],
    ) -> Result<Change, RegistrarError> {
        let mut keys = BTreeSet::new();
        for m in material {
            let DsMaterial::Dnskey(key) = m else {
                return Err(RegistrarError::Invalid {
                    field: "ds".into(),
                    message:
                        "OVH publishes DNSSEC from the DNSKEY, and a DS digest cannot be turned \
                              back into one: pass the zone's DNSKEY (KSK) instead"
                            .into(),
                });
            };
            if !DS_ALGORITHMS.contains(&key.algorithm) {
                return Err(RegistrarError::Invalid {
                    field: "dnskey.algorithm".into(),
                    message: format!(
                        "OVH takes algorithms {DS_ALGORITHMS:?}, not {}",
                        key.algorithm
                    ),
                });
            }
            if !matches!(key.flags, 256 | 257) {
                return Err(RegistrarError::Invalid {
                    field: "dnskey.flags".into(),
                    message: format!("OVH takes flags 256 or 257, not {}", key.flags),
                });
            }
            keys.insert(key.clone());
        }
        let current: BTreeSet<Dnskey> = self
            .get_ds(domain)
            .await?
            .into_iter()
            .filter_map(|m| match m {
                DsMaterial::Dnskey(k) => Some(k),
                DsMaterial::Ds(_) => None,
            })
            .collect();
        if current == keys {
            return Ok(Change::Unchanged);
        }
        if self.info(op::SET_DS, domain).await?.name_server_type == "hosted" {
            // OVH's servers serve (and sign) the zone: a DS for our keys
            // would point validators at keys nobody serves.
            return Err(RegistrarError::unsupported(
                Provider::Ovh,
                op::SET_DS,
                "this domain uses OVH's own DNS, which signs the zone itself: enable DNSSEC on \
                 the OVH zone (/domain/zone/{zone}/dnssec), or move the domain to external name \
                 servers (set_nameservers) before publishing your keys",
            ));
        }
        // The whole set goes in one call; an empty list removes DNSSEC.
        let input: Vec<DsKeyInput> = keys
            .iter()
            .map(|k| DsKeyInput {
                algorithm: k.algorithm,
                flags: k.flags,
                public_key: k.public_key.clone(),
                tag: k.key_tag(),
            })
            .collect();
        let body = serde_json::json!({ "keys": input });
        let path = format!("{}/dsRecord", Self::domain_path(domain));
        self.task_call(op::SET_DS, Method::POST, &path, &body, domain)
            .await
    }

    async fn task_status(&self, task: &TaskRef) -> Result<TaskStatus, RegistrarError> {
        if task.provider != Provider::Ovh || task.id.parse::<u64>().is_err() {
            return Err(RegistrarError::Invalid {
                field: "task".into(),
                message: format!("{task} is not an OVH task"),
            });
        }
        let path = format!("{}/task/{}", Self::domain_path(&task.domain), task.id);
        let t: Task = self
            .get(op::TASK_STATUS, &path, task.domain.as_str(), "task")
            .await
            .map_err(|e| match e {
                // A 404 here is about the task, not the domain.
                RegistrarError::DomainNotInAccount { .. } => RegistrarError::Invalid {
                    field: "task".into(),
                    message: format!("OVH has no task {} for {}", task.id, task.domain),
                },
                e => e,
            })?;
        Ok(match t.status.as_str() {
            "todo" | "doing" => TaskStatus::Pending,
            "done" => TaskStatus::Done,
            "error" | "problem" | "cancelled" => TaskStatus::Failed {
                message: format!(
                    "{} {}: {}",
                    t.function,
                    t.status,
                    t.comment.unwrap_or_default()
                ),
            },
            other => {
                return Err(RegistrarError::protocol(format!(
                    "unknown task status {other:?}"
                )));
            }
        })
    }
}
