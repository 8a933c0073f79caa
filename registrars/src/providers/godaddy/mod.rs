//! GoDaddy adapter: v1 for reading a domain and for records in GoDaddy
//! DNS, v2 (scoped by `customerId`) for name servers, host objects and
//! DNSSEC, whose writes are asynchronous *actions*.
//!
//! - Auth is `Authorization: sso-key KEY:SECRET` on every call, plus
//!   `X-Shopper-Id` on v1 calls when configured.
//! - Name servers go through v2 `PUT …/nameServers` (an action,
//!   returned as [`Change::Pending`]) when a customer id is known, else
//!   through v1 `PATCH /v1/domains/{d}` (synchronous as far as the API
//!   says). The customer id is configured, or looked up once from the
//!   shopper id.
//! - Child NS use only `…/records/NS/{name}`: the wider `PUT`s replace
//!   every record of the zone or of the type, so we never send them.
//! - A [`TaskRef`] id is the action type (`DOMAIN_UPDATE_NAME_SERVERS`),
//!   or several joined by `,` when one change started more than one
//!   action (DNSSEC add + remove); it is done when all of them are.
//! - GoDaddy lists host objects by name only, so [`Glue`] read back has
//!   no addresses, and `upsert_glue` cannot tell whether the addresses
//!   already match: it always sends its (replacing, so repeatable) `PUT`.

pub(crate) mod wire;

use std::collections::BTreeSet;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use tokio::sync::OnceCell;

use crate::credentials::GoDaddyCredentials;
use crate::error::RegistrarError;
use crate::http::{HttpClient, HttpResponse};
use crate::providers::{ConnectOptions, shared};
use crate::types::{
    Capabilities, Capability, Change, Delegation, DomainName, DsInput, DsMaterial, DsRecord, Glue,
    HostName, Label, Provider, TaskRef, TaskStatus, same_hosts,
};
use crate::{Registrar, op};

use wire::{Action, DnssecRecord, DomainV1, DomainV2, RecordItem, Shopper};

/// Production API root.
pub const DEFAULT_BASE_URL: &str = "https://api.godaddy.com";

/// GoDaddy refuses record TTLs below this.
pub const MIN_TTL: u32 = 600;

/// Action types the adapter starts.
const NS_ACTION: &str = "DOMAIN_UPDATE_NAME_SERVERS";
const HOST_CREATE: &str = "HOST_CREATE";
const HOST_DELETE: &str = "HOST_DELETE";
const DNSSEC_CREATE: &str = "DNSSEC_CREATE";
const DNSSEC_DELETE: &str = "DNSSEC_DELETE";

/// What GoDaddy supports (spec §0).
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
        DsInput::Either,
        2,
        13,
    )
}

/// Builds the adapter.
pub fn new(
    base_url: &str,
    credentials: GoDaddyCredentials,
    options: &ConnectOptions,
) -> Result<GoDaddy, RegistrarError> {
    let mut auth = HeaderValue::from_str(&format!(
        "sso-key {}:{}",
        credentials.key.expose(),
        credentials.secret.expose()
    ))
    .map_err(|_| RegistrarError::Invalid {
        field: "credentials".into(),
        message: "GoDaddy key and secret must be printable ASCII".into(),
    })?;
    // Keeps the header out of any Debug output reqwest or hyper produce.
    auth.set_sensitive(true);
    let customer = OnceCell::new();
    if let Some(id) = credentials.customer_id.clone() {
        // A fresh cell cannot already be set.
        let _ = customer.set(id);
    }
    Ok(GoDaddy {
        base_url: base_url.trim_end_matches('/').to_owned(),
        auth,
        shopper_id: credentials.shopper_id,
        customer,
        http: options.client(Provider::GoDaddy)?,
    })
}

/// The GoDaddy adapter.
#[derive(Debug)]
pub struct GoDaddy {
    base_url: String,
    /// `sso-key KEY:SECRET`, marked sensitive.
    auth: HeaderValue,
    shopper_id: Option<String>,
    /// v2 customer id: configured, or looked up from the shopper id.
    customer: OnceCell<String>,
    http: HttpClient,
}

/// A path segment, percent-encoded (host names and labels are LDH, but a
/// `/` must never reach the path).
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl GoDaddy {
    /// Sends one request; `ok` interprets a 2xx response, anything else
    /// goes through [`wire::error`] with `domain` as the context.
    async fn call<T>(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        domain: &str,
        ok: impl Fn(HttpResponse) -> Result<T, RegistrarError>,
    ) -> Result<T, RegistrarError> {
        let url = format!("{}{}", self.base_url, path);
        let v1 = path.starts_with("/v1/");
        // v2 writes carry a request id, which GoDaddy echoes into the
        // action it starts; the same id on every retry of the call.
        let request_id =
            (!v1 && method != Method::GET).then(|| format!("{:032x}", rand::random::<u128>()));
        self.http
            .execute(
                op,
                |client| {
                    let mut req = client
                        .request(method.clone(), &url)
                        .header(AUTHORIZATION, self.auth.clone())
                        .header("accept", "application/json");
                    if v1 && let Some(shopper) = &self.shopper_id {
                        req = req.header("x-shopper-id", shopper.as_str());
                    }
                    if let Some(id) = &request_id {
                        req = req.header("x-request-id", id.as_str());
                    }
                    if let Some(body) = body {
                        req = req.json(body);
                    }
                    Ok(req)
                },
                |resp| {
                    if resp.status.is_success() {
                        ok(resp)
                    } else {
                        Err(wire::error(&resp, domain))
                    }
                },
            )
            .await
    }

    /// The v2 customer id, looked up from the shopper id on first use.
    async fn customer_id(&self, operation: &'static str) -> Result<&str, RegistrarError> {
        self.customer
            .get_or_try_init(|| async {
                let Some(shopper) = &self.shopper_id else {
                    return Err(RegistrarError::Invalid {
                        field: "customer_id".into(),
                        message: format!(
                            "GoDaddy {operation} uses the v2 API, which needs the customerId: \
                             set GODADDY_CUSTOMER_ID (or GODADDY_SHOPPER_ID to look it up)"
                        ),
                    });
                };
                let path = format!("/v1/shoppers/{}?includes=customerId", seg(shopper));
                let shopper: Shopper = self
                    .call(operation, Method::GET, &path, None, "", |r| {
                        r.json("shopper")
                    })
                    .await
                    .map_err(|e| match e {
                        // The 404 is about the shopper, not a domain.
                        RegistrarError::DomainNotInAccount { .. } => RegistrarError::Invalid {
                            field: "shopper_id".into(),
                            message: "GoDaddy knows no such shopper for these credentials".into(),
                        },
                        e => e,
                    })?;
                shopper
                    .customer_id
                    .ok_or_else(|| RegistrarError::protocol("shopper has no customerId"))
            })
            .await
            .map(String::as_str)
    }

    async fn v2_domain(
        &self,
        operation: &'static str,
        domain: &DomainName,
    ) -> Result<DomainV2, RegistrarError> {
        let customer = self.customer_id(operation).await?;
        let path = format!(
            "/v2/customers/{}/domains/{}",
            seg(customer),
            seg(domain.as_str())
        );
        self.call(operation, Method::GET, &path, None, domain.as_str(), |r| {
            r.json("v2 domain")
        })
        .await
    }

    /// Sends a v2 write that starts `action` and returns the pending change.
    async fn start_action(
        &self,
        operation: &'static str,
        method: Method,
        domain: &DomainName,
        suffix: &str,
        body: Option<&serde_json::Value>,
        action: &str,
    ) -> Result<Change, RegistrarError> {
        let customer = self.customer_id(operation).await?;
        let path = format!(
            "/v2/customers/{}/domains/{}{}",
            seg(customer),
            seg(domain.as_str()),
            suffix
        );
        self.call(operation, method, &path, body, domain.as_str(), |_| Ok(()))
            .await?;
        Ok(Change::Pending(TaskRef {
            provider: Provider::GoDaddy,
            domain: domain.clone(),
            id: action.to_owned(),
        }))
    }

    fn records_path(zone: &DomainName, name: &str) -> String {
        format!(
            "/v1/domains/{}/records/NS/{}",
            seg(zone.as_str()),
            seg(name)
        )
    }

    /// The DS set at the registry as raw items, each with the DS it
    /// amounts to (what comparisons run on).
    async fn current_ds(
        &self,
        operation: &'static str,
        domain: &DomainName,
    ) -> Result<Vec<(DnssecRecord, DsRecord)>, RegistrarError> {
        let v2 = self.v2_domain(operation, domain).await?;
        v2.dnssec_records
            .into_iter()
            .map(|item| {
                let material = item.material()?;
                Ok((item, wire::as_ds(&material, domain)))
            })
            .collect()
    }
}

#[async_trait]
impl Registrar for GoDaddy {
    fn provider(&self) -> Provider {
        Provider::GoDaddy
    }

    async fn validate_credentials(&self) -> Result<(), RegistrarError> {
        // The cheapest authenticated call that also trips the
        // ACCESS_DENIED account-tier gate.
        self.call(
            op::VALIDATE_CREDENTIALS,
            Method::GET,
            "/v1/domains?statuses=ACTIVE&limit=1",
            None,
            "",
            |_| Ok(()),
        )
        .await
    }

    async fn get_nameservers(&self, domain: &DomainName) -> Result<Vec<HostName>, RegistrarError> {
        let path = format!("/v1/domains/{}", seg(domain.as_str()));
        let d: DomainV1 = self
            .call(
                op::GET_NAMESERVERS,
                Method::GET,
                &path,
                None,
                domain.as_str(),
                |r| r.json("domain"),
            )
            .await?;
        d.name_servers
            .unwrap_or_default()
            .iter()
            .map(|h| HostName::new(h))
            .collect()
    }

    async fn set_nameservers(
        &self,
        domain: &DomainName,
        nameservers: &[HostName],
    ) -> Result<Change, RegistrarError> {
        let Some(hosts) = shared::nameservers_to_write(self, domain, nameservers).await? else {
            return Ok(Change::Unchanged);
        };
        let body = serde_json::json!({ "nameServers": hosts });
        let v2 = self.customer.initialized() || self.shopper_id.is_some();
        if v2 {
            return self
                .start_action(
                    op::SET_NAMESERVERS,
                    Method::PUT,
                    domain,
                    "/nameServers",
                    Some(&body),
                    NS_ACTION,
                )
                .await;
        }
        let path = format!("/v1/domains/{}", seg(domain.as_str()));
        // 200 or 204: the docs do not settle it, so any 2xx is success.
        self.call(
            op::SET_NAMESERVERS,
            Method::PATCH,
            &path,
            Some(&body),
            domain.as_str(),
            |_| Ok(()),
        )
        .await?;
        Ok(Change::Applied)
    }

    async fn get_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
    ) -> Result<Option<Delegation>, RegistrarError> {
        let path = Self::records_path(zone, label.as_str());
        let items: Vec<RecordItem> = self
            .call(
                op::GET_CHILD_DELEGATION,
                Method::GET,
                &path,
                None,
                zone.as_str(),
                |r| r.json("record list"),
            )
            .await?;
        shared::ns_delegation(items.iter().map(|i| (i.data.as_str(), i.ttl)), 3600)
    }

    async fn set_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
        delegation: &Delegation,
    ) -> Result<Change, RegistrarError> {
        shared::plain_delegation(
            Provider::GoDaddy,
            op::SET_CHILD_DELEGATION,
            delegation,
            "GoDaddy DNS has no documented DS record type; publish the child's DS from a \
             parent zone hosted on dnsd, or delegate without DS",
        )?;
        if delegation.ttl < MIN_TTL {
            return Err(RegistrarError::Invalid {
                field: "ttl".into(),
                message: format!("GoDaddy's minimum TTL is {MIN_TTL}, got {}", delegation.ttl),
            });
        }
        if let Some(current) = self.get_child_delegation(zone, label).await?
            && current.ttl == delegation.ttl
            && same_hosts(&current.nameservers, &delegation.nameservers)
        {
            return Ok(Change::Unchanged);
        }
        let mut hosts: Vec<&HostName> = delegation.nameservers.iter().collect();
        hosts.sort();
        hosts.dedup();
        let body: Vec<RecordItem> = hosts
            .into_iter()
            .map(|h| RecordItem {
                data: h.to_string(),
                ttl: Some(delegation.ttl),
            })
            .collect();
        let body =
            serde_json::to_value(body).map_err(|e| RegistrarError::protocol(e.to_string()))?;
        // Replaces the NS set at this one name only.
        let path = Self::records_path(zone, label.as_str());
        self.call(
            op::SET_CHILD_DELEGATION,
            Method::PUT,
            &path,
            Some(&body),
            zone.as_str(),
            |_| Ok(()),
        )
        .await?;
        Ok(Change::Applied)
    }

    async fn delete_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
    ) -> Result<Change, RegistrarError> {
        if self.get_child_delegation(zone, label).await?.is_none() {
            return Ok(Change::Unchanged);
        }
        let path = Self::records_path(zone, label.as_str());
        self.call(
            op::DELETE_CHILD_DELEGATION,
            Method::DELETE,
            &path,
            None,
            zone.as_str(),
            |_| Ok(()),
        )
        .await?;
        Ok(Change::Applied)
    }

    async fn list_glue(&self, domain: &DomainName) -> Result<Vec<Glue>, RegistrarError> {
        let v2 = self.v2_domain(op::LIST_GLUE, domain).await?;
        // GoDaddy returns host names only; their addresses are not readable.
        v2.hostnames
            .iter()
            .map(|h| {
                Ok(Glue {
                    host: HostName::new(h)?,
                    ips: Vec::new(),
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
        if glue.ips.is_empty() {
            return Err(RegistrarError::Invalid {
                field: "glue.ips".into(),
                message: "a host object needs at least one address".into(),
            });
        }
        let (v4, v6): (Vec<&std::net::IpAddr>, Vec<_>) =
            glue.ips.iter().partition(|ip| ip.is_ipv4());
        let body = serde_json::json!({ "ipv4": v4, "ipv6": v6 });
        let suffix = format!("/hosts/{}", seg(glue.host.as_str()));
        self.start_action(
            op::UPSERT_GLUE,
            Method::PUT,
            domain,
            &suffix,
            Some(&body),
            HOST_CREATE,
        )
        .await
    }

    async fn delete_glue(
        &self,
        domain: &DomainName,
        host: &HostName,
    ) -> Result<Change, RegistrarError> {
        let v2 = self.v2_domain(op::DELETE_GLUE, domain).await?;
        if !v2
            .hostnames
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host.as_str()))
        {
            return Ok(Change::Unchanged);
        }
        let suffix = format!("/hosts/{}", seg(host.as_str()));
        self.start_action(
            op::DELETE_GLUE,
            Method::DELETE,
            domain,
            &suffix,
            None,
            HOST_DELETE,
        )
        .await
    }

    async fn get_ds(&self, domain: &DomainName) -> Result<Vec<DsMaterial>, RegistrarError> {
        let v2 = self.v2_domain(op::GET_DS, domain).await?;
        v2.dnssec_records
            .iter()
            .map(DnssecRecord::material)
            .collect()
    }

    async fn set_ds(
        &self,
        domain: &DomainName,
        material: &[DsMaterial],
    ) -> Result<Change, RegistrarError> {
        // GoDaddy takes digests by name; a DNSKEY is hashed here (SHA-256).
        let wanted: BTreeSet<DsRecord> = material.iter().map(|m| wire::as_ds(m, domain)).collect();
        let to_send: Vec<DnssecRecord> = wanted
            .iter()
            .map(DnssecRecord::from_ds)
            .collect::<Result<_, _>>()?;
        let current = self.current_ds(op::SET_DS, domain).await?;
        let have: BTreeSet<&DsRecord> = current.iter().map(|(_, ds)| ds).collect();
        let add: Vec<&DnssecRecord> = wanted
            .iter()
            .zip(&to_send)
            .filter(|(ds, _)| !have.contains(ds))
            .map(|(_, item)| item)
            .collect();
        let remove: Vec<&DnssecRecord> = current
            .iter()
            .filter(|(_, ds)| !wanted.contains(ds))
            .map(|(item, _)| item)
            .collect();
        if add.is_empty() && remove.is_empty() {
            return Ok(Change::Unchanged);
        }
        // Add before remove: during a key roll the new DS is published
        // before the old one goes, so validation never breaks.
        let mut actions = Vec::new();
        for (items, method, action) in [
            (add, Method::PATCH, DNSSEC_CREATE),
            (remove, Method::DELETE, DNSSEC_DELETE),
        ] {
            if items.is_empty() {
                continue;
            }
            let body =
                serde_json::to_value(items).map_err(|e| RegistrarError::protocol(e.to_string()))?;
            // Each call returns its own Pending; we report them as one.
            let _ = self
                .start_action(
                    op::SET_DS,
                    method,
                    domain,
                    "/dnssecRecords",
                    Some(&body),
                    action,
                )
                .await?;
            actions.push(action);
        }
        Ok(Change::Pending(TaskRef {
            provider: Provider::GoDaddy,
            domain: domain.clone(),
            id: actions.join(","),
        }))
    }

    async fn task_status(&self, task: &TaskRef) -> Result<TaskStatus, RegistrarError> {
        if task.provider != Provider::GoDaddy {
            return Err(RegistrarError::Invalid {
                field: "task".into(),
                message: format!("{task} is not a GoDaddy action"),
            });
        }
        let customer = self.customer_id(op::TASK_STATUS).await?.to_owned();
        let mut pending = false;
        for kind in task.id.split(',') {
            let path = format!(
                "/v2/customers/{}/domains/{}/actions/{}",
                seg(&customer),
                seg(task.domain.as_str()),
                seg(kind)
            );
            let action: Option<Action> = self
                .call(
                    op::TASK_STATUS,
                    Method::GET,
                    &path,
                    None,
                    task.domain.as_str(),
                    |r| r.json("action").map(Some),
                )
                .await
                .or_else(|e| match e {
                    // 404 here means no action of that type exists.
                    RegistrarError::DomainNotInAccount { .. } => Ok(None),
                    e => Err(e),
                })?;
            let Some(action) = action else {
                return Ok(TaskStatus::Failed {
                    message: format!("GoDaddy has no {kind} action for {}", task.domain),
                });
            };
            match action.status.as_str() {
                "SUCCESS" => {}
                "FAILED" | "CANCELLED" => {
                    let why = action
                        .reason
                        .map(|r| format!("{}: {}", r.code, r.message))
                        .unwrap_or_default();
                    return Ok(TaskStatus::Failed {
                        message: format!("{kind} {}: {why}", action.status),
                    });
                }
                "ACCEPTED" | "AWAITING" | "PENDING" => pending = true,
                other => {
                    return Err(RegistrarError::protocol(format!(
                        "unknown action status {other:?}"
                    )));
                }
            }
        }
        Ok(if pending {
            TaskStatus::Pending
        } else {
            TaskStatus::Done
        })
    }
}
