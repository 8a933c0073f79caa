//! Namecheap XML API adapter (spec §3).
//!
//! Every call is a form POST to the one endpoint with the global
//! parameters (`ApiUser`, `ApiKey`, `UserName`, `ClientIp`, `Command`);
//! POST keeps the key out of URLs. Errors arrive as HTTP 200 with
//! `Status="ERROR"` and are mapped by number in [`map_error`]; throttling
//! arrives as HTTP 405.
//!
//! `domains.dns.setHosts` replaces the whole host set, so child delegation
//! reads with `getHosts`, changes only the NS records at our label, and
//! writes everything else back unchanged — including Namecheap's default
//! parking records, which are the owner's business, not ours — echoing
//! `EmailType` so the mail settings survive.

mod xml;

use std::collections::BTreeSet;
use std::net::IpAddr;

use async_trait::async_trait;

use crate::credentials::NamecheapCredentials;
use crate::error::RegistrarError;
use crate::http::{HttpClient, HttpResponse};
use crate::providers::{ConnectOptions, shared};
use crate::types::{
    Capabilities, Capability, Change, Delegation, DomainName, DsInput, DsMaterial, Glue, HostName,
    Label, Provider, same_hosts,
};
use crate::{Registrar, op};
use xml::Element;

/// Production endpoint (the sandbox is `https://api.sandbox.namecheap.com/xml.response`).
pub const DEFAULT_BASE_URL: &str = "https://api.namecheap.com/xml.response";

/// `Nameservers` is comma-joined and capped at 1200 characters; 12 hosts
/// of typical length fit.
const MAX_NS: usize = 12;

/// What Namecheap supports (spec §0).
pub fn capabilities() -> Capabilities {
    Capabilities::new(
        &[
            Capability::GetNameservers,
            Capability::SetNameservers,
            Capability::ChildDelegation,
            Capability::Glue,
        ],
        DsInput::None,
        2,
        MAX_NS,
    )
}

/// Builds the adapter.
pub fn new(
    base_url: &str,
    credentials: NamecheapCredentials,
    options: &ConnectOptions,
) -> Result<Namecheap, RegistrarError> {
    Ok(Namecheap {
        endpoint: base_url.to_owned(),
        credentials,
        http: options.client(Provider::Namecheap)?,
    })
}

/// The Namecheap adapter.
#[derive(Debug)]
pub struct Namecheap {
    endpoint: String,
    credentials: NamecheapCredentials,
    http: HttpClient,
}

/// One host record as `getHosts` returns it and `setHosts` takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HostRecord {
    name: String,
    rtype: String,
    address: String,
    mx_pref: Option<String>,
    ttl: Option<String>,
}

//----------- error mapping ---------------------------------------------------

/// Maps a Namecheap error number and text onto our taxonomy.
fn map_error(number: &str, text: &str, domain: Option<&DomainName>) -> RegistrarError {
    let message = format!("{number}: {text}");
    match number {
        "1010101" | "1010102" | "1011102" | "1017101" | "1016103" | "1017411" => {
            RegistrarError::InvalidCredentials { message }
        }
        "1011150" | "1017150" | "1017105" | "1010105" | "1011105" => {
            RegistrarError::ClientIpNotWhitelisted { message }
        }
        "2019166" | "2016166" => RegistrarError::DomainNotInAccount {
            domain: domain.map(|d| d.to_string()).unwrap_or_default(),
        },
        "2030166" | "4011103" => RegistrarError::NotPermitted { message },
        "3050900" | "5019169" | "5050169" | "5050900" => RegistrarError::Unavailable {
            message,
            retry_after: None,
        },
        "3024278" => RegistrarError::Invalid {
            field: "IP".into(),
            message,
        },
        n if n.len() == 7 && n.starts_with('2') => RegistrarError::Invalid {
            field: "parameter".into(),
            message,
        },
        _ => RegistrarError::Rejected {
            code: number.to_owned(),
            message: text.to_owned(),
        },
    }
}

/// Turns a response into the `CommandResponse` element, or an error.
fn interpret(resp: HttpResponse, domain: Option<&DomainName>) -> Result<Element, RegistrarError> {
    // Namecheap throttles with 405, not 429.
    if resp.status.as_u16() == 405 {
        return Err(RegistrarError::RateLimited {
            retry_after: resp.retry_after(),
        });
    }
    if let Some(err) = resp.status_error() {
        return Err(err);
    }
    if !resp.status.is_success() {
        return Err(RegistrarError::Rejected {
            code: format!("HTTP {}", resp.status.as_u16()),
            message: "unexpected HTTP status".into(),
        });
    }
    let root = xml::parse(&resp.text())?;
    if !root.name.eq_ignore_ascii_case("ApiResponse") {
        return Err(RegistrarError::protocol(format!(
            "expected <ApiResponse>, got <{}>",
            root.name
        )));
    }
    let status = root.attr("Status").unwrap_or("");
    if status.eq_ignore_ascii_case("OK") {
        return root
            .child("CommandResponse")
            .cloned()
            .ok_or_else(|| RegistrarError::protocol("Status=OK without <CommandResponse>"));
    }
    let first = root.child("Errors").and_then(|e| e.child("Error"));
    match first {
        Some(err) => Err(map_error(
            err.attr("Number").unwrap_or("?"),
            &err.text,
            domain,
        )),
        None => Err(RegistrarError::protocol(format!(
            "Status={status:?} without an <Error>"
        ))),
    }
}

//----------- calls -----------------------------------------------------------

impl Namecheap {
    /// Runs `command` with `params` (after the global parameters).
    async fn call(
        &self,
        op: &str,
        command: &str,
        params: &[(String, String)],
        domain: Option<&DomainName>,
    ) -> Result<Element, RegistrarError> {
        self.http
            .execute(
                op,
                |client| {
                    let mut form: Vec<(&str, &str)> = vec![
                        ("ApiUser", self.credentials.api_user.as_str()),
                        ("ApiKey", self.credentials.api_key.expose()),
                        ("UserName", self.credentials.username.as_str()),
                        ("Command", command),
                    ];
                    let ip = self.credentials.client_ip.to_string();
                    let mut all: Vec<(String, String)> = form
                        .drain(..)
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    all.push(("ClientIp".into(), ip));
                    all.extend(params.iter().cloned());
                    Ok(client.post(&self.endpoint).form(&all))
                },
                |resp| interpret(resp, domain),
            )
            .await
    }

    fn sld_tld(domain: &DomainName) -> Vec<(String, String)> {
        let (sld, tld) = domain.sld_tld();
        vec![
            ("SLD".into(), sld.to_owned()),
            ("TLD".into(), tld.to_owned()),
        ]
    }

    /// `getList`: (name servers, using Namecheap DNS).
    async fn dns_list(
        &self,
        op: &str,
        domain: &DomainName,
    ) -> Result<(Vec<HostName>, bool), RegistrarError> {
        let resp = self
            .call(
                op,
                "namecheap.domains.dns.getList",
                &Self::sld_tld(domain),
                Some(domain),
            )
            .await?;
        let result = resp
            .child("DomainDNSGetListResult")
            .ok_or_else(|| RegistrarError::protocol("no <DomainDNSGetListResult>"))?;
        let ours = result
            .attr("IsUsingOurDNS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let ns = result
            .children_named("Nameserver")
            .map(|n| HostName::new(&n.text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RegistrarError::protocol(format!("name server in getList: {e}")))?;
        Ok((ns, ours))
    }

    /// `getHosts`: (records, EmailType, using Namecheap DNS).
    async fn hosts(
        &self,
        op: &str,
        domain: &DomainName,
    ) -> Result<(Vec<HostRecord>, Option<String>, bool), RegistrarError> {
        let resp = self
            .call(
                op,
                "namecheap.domains.dns.getHosts",
                &Self::sld_tld(domain),
                Some(domain),
            )
            .await?;
        let result = resp
            .child("DomainDNSGetHostsResult")
            .ok_or_else(|| RegistrarError::protocol("no <DomainDNSGetHostsResult>"))?;
        let email_type = result.attr("EmailType").map(str::to_owned);
        let ours = result
            .attr("IsUsingOurDNS")
            .is_none_or(|v| v.eq_ignore_ascii_case("true"));
        let records = result
            .children_named("host")
            .map(|h| HostRecord {
                name: h.attr("Name").unwrap_or("@").to_owned(),
                rtype: h.attr("Type").unwrap_or("").to_ascii_uppercase(),
                address: h.attr("Address").unwrap_or("").to_owned(),
                mx_pref: h.attr("MXPref").map(str::to_owned),
                ttl: h.attr("TTL").map(str::to_owned),
            })
            .collect();
        Ok((records, email_type, ours))
    }

    /// `setHosts` with exactly `records`, echoing `email_type`.
    async fn set_hosts(
        &self,
        op: &str,
        domain: &DomainName,
        records: &[HostRecord],
        email_type: Option<&str>,
    ) -> Result<(), RegistrarError> {
        let mut params = Self::sld_tld(domain);
        for (i, r) in records.iter().enumerate() {
            let n = i + 1;
            params.push((format!("HostName{n}"), r.name.clone()));
            params.push((format!("RecordType{n}"), r.rtype.clone()));
            params.push((format!("Address{n}"), r.address.clone()));
            if let Some(p) = &r.mx_pref {
                params.push((format!("MXPref{n}"), p.clone()));
            }
            if let Some(t) = &r.ttl {
                params.push((format!("TTL{n}"), t.clone()));
            }
        }
        if let Some(e) = email_type {
            params.push(("EmailType".into(), e.to_owned()));
        }
        let resp = self
            .call(op, "namecheap.domains.dns.setHosts", &params, Some(domain))
            .await?;
        let ok = resp
            .child("DomainDNSSetHostsResult")
            .and_then(|r| r.attr("IsSuccess"))
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if ok {
            Ok(())
        } else {
            Err(RegistrarError::protocol(
                "setHosts did not report IsSuccess=\"true\"",
            ))
        }
    }

    /// `ns.getInfo`: the host's IP, or `None` when Namecheap does not know it.
    async fn ns_info(
        &self,
        op: &str,
        domain: &DomainName,
        host: &HostName,
    ) -> Result<Option<IpAddr>, RegistrarError> {
        let mut params = Self::sld_tld(domain);
        params.push(("Nameserver".into(), host.to_string()));
        match self
            .call(op, "namecheap.domains.ns.getInfo", &params, Some(domain))
            .await
        {
            Ok(resp) => {
                let ip = resp
                    .child("DomainNSInfoResult")
                    .and_then(|r| r.attr("IP"))
                    .and_then(|ip| ip.trim().parse().ok());
                Ok(ip)
            }
            // Auth, account, throttling and outages are real failures; any
            // other refusal of getInfo means the host does not exist.
            Err(e @ (RegistrarError::Invalid { .. } | RegistrarError::Rejected { .. })) => {
                tracing::debug!(host = %host, error = %e, "ns.getInfo: treating as absent");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The merged host set with the NS RRset at `label` replaced by
    /// `wanted` (name servers, TTL); `None` when already so.
    fn merge(
        records: &[HostRecord],
        label: &Label,
        wanted: Option<(&[HostName], u32)>,
    ) -> Option<Vec<HostRecord>> {
        let at_label =
            |r: &HostRecord| r.rtype == "NS" && r.name.eq_ignore_ascii_case(label.as_str());
        let current: Vec<&HostRecord> = records.iter().filter(|r| at_label(r)).collect();
        let current_hosts: BTreeSet<String> = current
            .iter()
            .map(|r| r.address.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        let same = match wanted {
            None => current.is_empty(),
            Some((ns, ttl)) => {
                let wanted_hosts: BTreeSet<String> = ns.iter().map(|h| h.to_string()).collect();
                wanted_hosts == current_hosts
                    && current
                        .iter()
                        .all(|r| r.ttl.as_deref() == Some(ttl.to_string().as_str()))
            }
        };
        if same {
            return None;
        }
        let mut merged: Vec<HostRecord> =
            records.iter().filter(|r| !at_label(r)).cloned().collect();
        if let Some((ns, ttl)) = wanted {
            let unique: BTreeSet<&HostName> = ns.iter().collect();
            merged.extend(unique.into_iter().map(|h| HostRecord {
                name: label.to_string(),
                rtype: "NS".into(),
                address: h.to_string(),
                mx_pref: None,
                ttl: Some(ttl.to_string()),
            }));
        }
        Some(merged)
    }

    fn require_our_dns(domain: &DomainName, ours: bool) -> Result<(), RegistrarError> {
        if ours {
            Ok(())
        } else {
            Err(RegistrarError::Invalid {
                field: "zone".into(),
                message: format!(
                    "{domain} does not use Namecheap DNS (IsUsingOurDNS=false), so its host records have no effect; \
                     delegate at the DNS provider the domain uses, or switch it back with domains.dns.setDefault"
                ),
            })
        }
    }
}

fn glue_ipv4(glue: &Glue) -> Result<IpAddr, RegistrarError> {
    match glue.ips.as_slice() {
        [ip @ IpAddr::V4(_)] => Ok(*ip),
        _ => Err(RegistrarError::Invalid {
            field: "ips".into(),
            message: "Namecheap host objects take exactly one IPv4 address".into(),
        }),
    }
}

#[async_trait]
impl Registrar for Namecheap {
    fn provider(&self) -> Provider {
        Provider::Namecheap
    }

    async fn validate_credentials(&self) -> Result<(), RegistrarError> {
        self.call(
            op::VALIDATE_CREDENTIALS,
            "namecheap.users.getBalances",
            &[],
            None,
        )
        .await
        .map(|_| ())
    }

    async fn get_nameservers(&self, domain: &DomainName) -> Result<Vec<HostName>, RegistrarError> {
        Ok(self.dns_list(op::GET_NAMESERVERS, domain).await?.0)
    }

    async fn set_nameservers(
        &self,
        domain: &DomainName,
        nameservers: &[HostName],
    ) -> Result<Change, RegistrarError> {
        let op = op::SET_NAMESERVERS;
        capabilities().check_ns_count(nameservers)?;
        let unique: BTreeSet<&HostName> = nameservers.iter().collect();
        let joined = unique
            .iter()
            .map(|h| h.as_str())
            .collect::<Vec<_>>()
            .join(",");
        if joined.len() > 1200 {
            return Err(RegistrarError::Invalid {
                field: "nameservers".into(),
                message: "Namecheap takes at most 1200 characters of name servers".into(),
            });
        }
        let (current, ours) = self.dns_list(op, domain).await?;
        if !ours && same_hosts(&current, nameservers) {
            return Ok(Change::Unchanged);
        }
        let mut params = Self::sld_tld(domain);
        params.push(("Nameservers".into(), joined));
        let resp = self
            .call(op, "namecheap.domains.dns.setCustom", &params, Some(domain))
            .await?;
        let updated = resp
            .child("DomainDNSSetCustomResult")
            .and_then(|r| r.attr("Updated"))
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if updated {
            Ok(Change::Applied)
        } else {
            Err(RegistrarError::protocol(
                "setCustom did not report Updated=\"true\"",
            ))
        }
    }

    async fn get_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
    ) -> Result<Option<Delegation>, RegistrarError> {
        let (records, _, _) = self.hosts(op::GET_CHILD_DELEGATION, zone).await?;
        let ns: Vec<&HostRecord> = records
            .iter()
            .filter(|r| r.rtype == "NS" && r.name.eq_ignore_ascii_case(label.as_str()))
            .collect();
        shared::ns_delegation(
            ns.iter().map(|r| {
                let ttl = r.ttl.as_deref().and_then(|t| t.parse().ok());
                (r.address.as_str(), ttl)
            }),
            1800,
        )
    }

    async fn set_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
        delegation: &Delegation,
    ) -> Result<Change, RegistrarError> {
        let op = op::SET_CHILD_DELEGATION;
        shared::plain_delegation(
            Provider::Namecheap,
            op,
            delegation,
            "Namecheap host records cannot hold DS; sign the child without a DS in the parent, \
             or host the parent zone at a provider that takes DS records (Cloudflare)",
        )?;
        if !(60..=60000).contains(&delegation.ttl) {
            return Err(RegistrarError::Invalid {
                field: "ttl".into(),
                message: format!("{}: Namecheap takes 60..=60000 seconds", delegation.ttl),
            });
        }
        let (records, email_type, ours) = self.hosts(op, zone).await?;
        Self::require_our_dns(zone, ours)?;
        match Self::merge(
            &records,
            label,
            Some((&delegation.nameservers, delegation.ttl)),
        ) {
            None => Ok(Change::Unchanged),
            Some(merged) => {
                self.set_hosts(op, zone, &merged, email_type.as_deref())
                    .await?;
                Ok(Change::Applied)
            }
        }
    }

    async fn delete_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
    ) -> Result<Change, RegistrarError> {
        let op = op::DELETE_CHILD_DELEGATION;
        let (records, email_type, ours) = self.hosts(op, zone).await?;
        match Self::merge(&records, label, None) {
            None => Ok(Change::Unchanged),
            Some(merged) => {
                Self::require_our_dns(zone, ours)?;
                self.set_hosts(op, zone, &merged, email_type.as_deref())
                    .await?;
                Ok(Change::Applied)
            }
        }
    }

    /// Namecheap has no "list host objects" call: this reads `ns.getInfo`
    /// for each of the domain's name servers that lies inside it. Hosts
    /// registered but not in the NS set are not seen.
    async fn list_glue(&self, domain: &DomainName) -> Result<Vec<Glue>, RegistrarError> {
        let op = op::LIST_GLUE;
        let (ns, _) = self.dns_list(op, domain).await?;
        let mut glue = Vec::new();
        for host in ns.into_iter().filter(|h| h.is_within(domain)) {
            if let Some(ip) = self.ns_info(op, domain, &host).await? {
                glue.push(Glue {
                    host,
                    ips: vec![ip],
                });
            }
        }
        Ok(glue)
    }

    async fn upsert_glue(
        &self,
        domain: &DomainName,
        glue: &Glue,
    ) -> Result<Change, RegistrarError> {
        let op = op::UPSERT_GLUE;
        let ip = glue_ipv4(glue)?;
        shared::glue_under(domain, glue)?;
        let mut params = Self::sld_tld(domain);
        params.push(("Nameserver".into(), glue.host.to_string()));
        let command = match self.ns_info(op, domain, &glue.host).await? {
            Some(current) if current == ip => return Ok(Change::Unchanged),
            Some(current) => {
                params.push(("OldIP".into(), current.to_string()));
                "namecheap.domains.ns.update"
            }
            None => "namecheap.domains.ns.create",
        };
        params.push(("IP".into(), ip.to_string()));
        self.call(op, command, &params, Some(domain)).await?;
        Ok(Change::Applied)
    }

    async fn delete_glue(
        &self,
        domain: &DomainName,
        host: &HostName,
    ) -> Result<Change, RegistrarError> {
        let op = op::DELETE_GLUE;
        if self.ns_info(op, domain, host).await?.is_none() {
            return Ok(Change::Unchanged);
        }
        let mut params = Self::sld_tld(domain);
        params.push(("Nameserver".into(), host.to_string()));
        self.call(op, "namecheap.domains.ns.delete", &params, Some(domain))
            .await?;
        Ok(Change::Applied)
    }

    async fn get_ds(&self, _domain: &DomainName) -> Result<Vec<DsMaterial>, RegistrarError> {
        Err(no_dnssec(op::GET_DS))
    }

    async fn set_ds(
        &self,
        _domain: &DomainName,
        _material: &[DsMaterial],
    ) -> Result<Change, RegistrarError> {
        Err(no_dnssec(op::SET_DS))
    }
}

fn no_dnssec(operation: &'static str) -> RegistrarError {
    RegistrarError::unsupported(
        Provider::Namecheap,
        operation,
        "Namecheap's API has no DNSSEC method; manage DS records in the Namecheap dashboard \
         (Domain List → Manage → Advanced DNS → DNSSEC), or transfer the domain to a registrar with a DS API",
    )
}
