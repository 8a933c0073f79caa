//! Namecheap XML API mock (spec §3.5): one endpoint taking GET query or
//! POST form, the global-parameter checks in Namecheap's order (ApiUser,
//! ApiKey, Command, ClientIp whitelist), HTTP 200 with `Status="ERROR"` for
//! every error, `setHosts` replacing the whole host set (and forgetting the
//! mail settings unless `EmailType` is sent), glue via `domains.ns.*`, and
//! throttling as HTTP 405.
//!
//! A domain "uses Namecheap DNS" when all its name servers are
//! `*.registrar-servers.com`; `setCustom` and `setDefault` flip that.
//! Error numbers the spec does not give are marked "mock convention".

use std::collections::HashMap;
use std::net::Ipv4Addr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::seed::{Account, Domain, Record, normalise};
use super::{Fault, MockState, ProviderMock, World, render_status_fault};
use crate::types::Glue;

/// The plug-in: base path, routes and fault rendering.
pub fn mock() -> ProviderMock {
    ProviderMock {
        base_path: "/xml.response",
        router,
        render_fault,
    }
}

/// Namecheap's own DNS servers; a domain using them "uses our DNS".
pub const DEFAULT_NAMESERVERS: [&str; 2] =
    ["dns1.registrar-servers.com", "dns2.registrar-servers.com"];

/// Provider routes.
pub fn router(state: MockState) -> Router {
    Router::new()
        .route("/xml.response", get(handle_get).post(handle_post))
        .with_state(state)
}

/// How Namecheap signals a fault: XML errors with HTTP 200; throttling as
/// HTTP 405.
pub fn render_fault(fault: &Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after_secs } => render_status_fault(
            405,
            "<html><body>Too many requests</body></html>",
            retry_after_secs.map(|s| s.to_string()).as_deref(),
        ),
        Fault::ProviderError {
            code,
            message,
            status,
        } => {
            let mut resp = error(code, message);
            if let Some(s) = status.and_then(|s| StatusCode::from_u16(s).ok()) {
                *resp.status_mut() = s;
            }
            resp
        }
        // The gate answers the other faults itself.
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

//----------- XML -------------------------------------------------------------

/// Escapes text for XML attribute values and content.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

fn error(number: &str, message: &str) -> Response {
    xml(format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<ApiResponse Status="ERROR" xmlns="http://api.namecheap.com/xml.response">
  <Errors><Error Number="{}">{}</Error></Errors>
  <Warnings /><RequestedCommand /><Server>MOCK</Server><GMTTimeDifference>--5:00</GMTTimeDifference><ExecutionTime>0.01</ExecutionTime>
</ApiResponse>"#,
        esc(number),
        esc(message)
    ))
}

fn ok(command: &str, inner: &str) -> Response {
    xml(format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<ApiResponse Status="OK" xmlns="http://api.namecheap.com/xml.response">
  <Errors /><Warnings /><RequestedCommand>{cmd}</RequestedCommand>
  <CommandResponse Type="{cmd}">{inner}</CommandResponse>
  <Server>MOCK</Server><GMTTimeDifference>--5:00</GMTTimeDifference><ExecutionTime>0.01</ExecutionTime>
</ApiResponse>"#,
        cmd = esc(&command.to_ascii_lowercase()),
    ))
}

//----------- request handling ------------------------------------------------

type Params = HashMap<String, String>;

async fn handle_get(State(state): State<MockState>, Query(q): Query<Params>) -> Response {
    handle(&state, q)
}

async fn handle_post(
    State(state): State<MockState>,
    Query(q): Query<Params>,
    body: Bytes,
) -> Response {
    let mut params = q;
    match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
        Ok(form) => params.extend(form),
        Err(_) => return error("1010104", "Request body is not a form"),
    }
    handle(&state, params)
}

/// Parameter look-up, case-insensitive as Namecheap's is.
fn param<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The global-parameter checks; returns the account id.
fn authenticate(world: &World, p: &Params) -> Result<String, Response> {
    let Some(api_user) = param(p, "ApiUser") else {
        return Err(error("1010101", "Parameter APIUser is missing"));
    };
    let Some(api_key) = param(p, "ApiKey") else {
        return Err(error("1010102", "Parameter APIKey is missing"));
    };
    if param(p, "Command").is_none() {
        return Err(error("1010104", "Parameter Command is missing"));
    }
    let Some(client_ip) = param(p, "ClientIp") else {
        return Err(error("1010105", "Parameter ClientIp is missing"));
    };
    let account: Option<&Account> =
        world.account_where(|a| a.credential("api_user") == Some(api_user));
    let Some(account) = account.filter(|a| a.credential("api_key") == Some(api_key)) else {
        return Err(error(
            "1011102",
            "API Key is invalid or API access has not been enabled",
        ));
    };
    if account.access_denied {
        return Err(error(
            "1011102",
            "API Key is invalid or API access has not been enabled",
        ));
    }
    let username = param(p, "UserName").unwrap_or("");
    if !username.eq_ignore_ascii_case(account.credential("username").unwrap_or(api_user)) {
        return Err(error("1016103", "UserName is unauthorized"));
    }
    let whitelisted = client_ip.parse::<Ipv4Addr>().is_ok()
        && account.client_ips.iter().any(|ip| ip == client_ip);
    if !whitelisted {
        return Err(error(
            "1011150",
            &format!("Invalid request IP: {client_ip}"),
        ));
    }
    Ok(account.id.clone())
}

fn handle(state: &MockState, p: Params) -> Response {
    let command = param(&p, "Command").unwrap_or("").to_ascii_lowercase();
    state.note(format!("namecheap {command}"));
    let mut world = state.world();
    let account = match authenticate(&world, &p) {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    if command == "namecheap.users.getbalances" {
        return ok(
            &command,
            r#"<UserGetBalancesResult Currency="USD" AvailableBalance="0.00" AccountBalance="0.00" EarnedAmount="0.00" WithdrawableAmount="0.00" FundsRequiredForAutoRenew="0.00" />"#,
        );
    }
    // Every other command names a domain by SLD + TLD.
    let (Some(sld), Some(tld)) = (param(&p, "SLD"), param(&p, "TLD")) else {
        return error("2010324", "Parameters SLD and TLD are required");
    };
    let name = normalise(&format!("{sld}.{tld}"));
    let owned_elsewhere = world
        .accounts
        .iter()
        .any(|a| a.id != account && a.domain(&name).is_some());
    let min_ttl = world
        .options
        .extra
        .get("namecheap_min_ttl")
        .and_then(|v| v.as_u64())
        .unwrap_or(60) as u32;
    let next_ids: Vec<u64> = (0..64).map(|_| world.next_id()).collect();
    let Some(domain) = world.domain_mut(&account, &name) else {
        return if owned_elsewhere {
            error("2016166", "Domain is not associated with your account")
        } else {
            error("2019166", "Domain not found")
        };
    };
    match command.as_str() {
        "namecheap.domains.dns.getlist" => get_list(&command, domain),
        "namecheap.domains.dns.setcustom" => set_custom(&command, domain, &p),
        "namecheap.domains.dns.setdefault" => {
            domain.nameservers = DEFAULT_NAMESERVERS.iter().map(|s| s.to_string()).collect();
            ok(
                &command,
                &format!(
                    r#"<DomainDNSSetDefaultResult Domain="{}" Updated="true" />"#,
                    esc(&name)
                ),
            )
        }
        "namecheap.domains.dns.gethosts" => get_hosts(&command, domain),
        "namecheap.domains.dns.sethosts" => set_hosts(&command, domain, &p, min_ttl, next_ids),
        "namecheap.domains.ns.create" => ns_create(&command, domain, &p),
        "namecheap.domains.ns.update" => ns_update(&command, domain, &p),
        "namecheap.domains.ns.delete" => ns_delete(&command, domain, &p),
        "namecheap.domains.ns.getinfo" => ns_info(&command, domain, &p),
        // mock convention: the number for an unknown command.
        _ => error("2010323", &format!("Invalid command: {command}")),
    }
}

fn uses_our_dns(d: &Domain) -> bool {
    !d.nameservers.is_empty()
        && d.nameservers
            .iter()
            .all(|ns| normalise(ns).ends_with(".registrar-servers.com"))
}

fn get_list(command: &str, d: &Domain) -> Response {
    let ns: String = d
        .nameservers
        .iter()
        .map(|n| format!("<Nameserver>{}</Nameserver>", esc(&normalise(n))))
        .collect();
    ok(
        command,
        &format!(
            r#"<DomainDNSGetListResult Domain="{}" IsUsingOurDNS="{}" IsPremiumDNS="false" IsUsingFreeDNS="false">{ns}</DomainDNSGetListResult>"#,
            esc(&normalise(&d.name)),
            uses_our_dns(d)
        ),
    )
}

fn set_custom(command: &str, d: &mut Domain, p: &Params) -> Response {
    // The docs table says `Nameservers`, their example `NameServers`;
    // `param` is case-insensitive so both work.
    let Some(list) = param(p, "Nameservers") else {
        return error("2010324", "Parameter Nameservers is missing");
    };
    if list.len() > 1200 {
        return error("2010325", "Nameservers is longer than 1200 characters"); // mock convention
    }
    let ns: Vec<String> = list
        .split(',')
        .map(normalise)
        .filter(|s| !s.is_empty())
        .collect();
    if ns.len() < 2 {
        return error("2011146", "At least two nameservers are required"); // mock convention
    }
    d.nameservers = ns;
    ok(
        command,
        &format!(
            r#"<DomainDNSSetCustomResult Domain="{}" Updated="true" />"#,
            esc(&normalise(&d.name))
        ),
    )
}

fn get_hosts(command: &str, d: &Domain) -> Response {
    let hosts: String = d
        .records
        .iter()
        .map(|r| {
            format!(
                r#"<host HostId="{}" Name="{}" Type="{}" Address="{}" MXPref="{}" TTL="{}" AssociatedAppTitle="" FriendlyName="" IsActive="true" IsDDNSEnabled="false" />"#,
                esc(r.id.as_deref().unwrap_or("0")),
                esc(&r.name),
                esc(&r.rtype),
                esc(&r.content),
                r.priority.unwrap_or(10),
                r.ttl
            )
        })
        .collect();
    let email = d.email_type.as_deref().unwrap_or("NONE");
    ok(
        command,
        &format!(
            r#"<DomainDNSGetHostsResult Domain="{}" EmailType="{}" IsUsingOurDNS="{}">{hosts}</DomainDNSGetHostsResult>"#,
            esc(&normalise(&d.name)),
            esc(email),
            uses_our_dns(d)
        ),
    )
}

const HOST_TYPES: &[&str] = &[
    "A", "AAAA", "ALIAS", "CAA", "CNAME", "MX", "MXE", "NS", "TXT", "URL", "URL301", "FRAME",
];

fn set_hosts(command: &str, d: &mut Domain, p: &Params, min_ttl: u32, ids: Vec<u64>) -> Response {
    if !uses_our_dns(d) {
        // mock convention: number for "not using Namecheap DNS".
        return error(
            "2030288",
            "Cannot complete this command as this domain is not using proper DNS servers",
        );
    }
    let mut records = Vec::new();
    let mut ids = ids.into_iter();
    for n in 1.. {
        let Some(name) = param(p, &format!("HostName{n}")) else {
            break;
        };
        let Some(rtype) = param(p, &format!("RecordType{n}")).map(str::to_ascii_uppercase) else {
            return error("2010324", &format!("RecordType{n} is missing"));
        };
        if !HOST_TYPES.contains(&rtype.as_str()) {
            return error("2050900", &format!("Invalid RecordType{n}: {rtype}")); // mock convention
        }
        let Some(address) = param(p, &format!("Address{n}")) else {
            return error("2010324", &format!("Address{n} is missing"));
        };
        let ttl = match param(p, &format!("TTL{n}")) {
            Some(t) => match t.parse::<u32>() {
                Ok(t) if (min_ttl..=60000).contains(&t) => t,
                _ => return error("2050900", &format!("Invalid TTL{n}: {t}")), // mock convention
            },
            None => 1800,
        };
        let priority = match param(p, &format!("MXPref{n}")) {
            Some(m) => match m.parse() {
                Ok(m) => Some(m),
                Err(_) => return error("2050900", &format!("Invalid MXPref{n}")),
            },
            None if rtype == "MX" => Some(10),
            None => None,
        };
        records.push(Record {
            id: ids.next().map(|i| i.to_string()),
            name: name.to_ascii_lowercase(),
            rtype,
            content: address.to_owned(),
            ttl,
            priority,
        });
    }
    // The whole set is replaced; without EmailType the mail settings are
    // lost, exactly the trap the adapter must avoid.
    d.records = records;
    d.email_type = param(p, "EmailType").map(str::to_owned);
    ok(
        command,
        &format!(
            r#"<DomainDNSSetHostsResult Domain="{}" IsSuccess="true"><Warnings /></DomainDNSSetHostsResult>"#,
            esc(&normalise(&d.name))
        ),
    )
}

/// mock convention: the error for a host object that does not exist.
fn no_such_ns(host: &str) -> Response {
    error("2030300", &format!("Nameserver {host} does not exist"))
}

fn public_ipv4(ip: &str) -> Result<Ipv4Addr, Response> {
    let policy = || error("3024278", "Parameter value policy error");
    let ip: Ipv4Addr = ip.trim().parse().map_err(|_| policy())?;
    if ip.is_private()
        || ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
    {
        return Err(policy());
    }
    Ok(ip)
}

fn host_param(d: &Domain, p: &Params) -> Result<String, Response> {
    let host = param(p, "Nameserver")
        .map(normalise)
        .ok_or_else(|| error("2010324", "Parameter Nameserver is missing"))?;
    if !host.ends_with(&format!(".{}", normalise(&d.name))) {
        return Err(error(
            "2010326",
            "Nameserver must be a subdomain of the domain",
        )); // mock convention
    }
    Ok(host)
}

/// The `Nameserver` (under the domain) and public `IP` of a create or
/// update.
fn host_and_ip(d: &Domain, p: &Params) -> Result<(String, Ipv4Addr), Response> {
    let host = host_param(d, p)?;
    match param(p, "IP").map(public_ipv4) {
        Some(ip) => Ok((host, ip?)),
        None => Err(error("2010324", "Parameter IP is missing")),
    }
}

fn ns_create(command: &str, d: &mut Domain, p: &Params) -> Response {
    let (host, ip) = match host_and_ip(d, p) {
        Ok(parts) => parts,
        Err(r) => return r,
    };
    if d.glue.iter().any(|g| g.host.as_str() == host) {
        return error("2030301", &format!("Nameserver {host} already exists")); // mock convention
    }
    let Ok(hostname) = host.parse() else {
        return error("2010326", "Invalid Nameserver");
    };
    d.glue.push(Glue {
        host: hostname,
        ips: vec![ip.into()],
    });
    ns_done(
        command,
        "DomainNSCreateResult",
        d,
        &host,
        &format!(r#" IP="{ip}""#),
    )
}

/// The success answer of the `domains.ns` writes: `<{element} Domain
/// Nameserver{extra} IsSuccess="true" />`.
fn ns_done(command: &str, element: &str, d: &Domain, host: &str, extra: &str) -> Response {
    ok(
        command,
        &format!(
            r#"<{element} Domain="{}" Nameserver="{}"{extra} IsSuccess="true" />"#,
            esc(&normalise(&d.name)),
            esc(host)
        ),
    )
}

fn ns_update(command: &str, d: &mut Domain, p: &Params) -> Response {
    let (host, ip) = match host_and_ip(d, p) {
        Ok(parts) => parts,
        Err(r) => return r,
    };
    let old = param(p, "OldIP").unwrap_or("").to_owned();
    let Some(glue) = d.glue.iter_mut().find(|g| g.host.as_str() == host) else {
        return no_such_ns(&host);
    };
    if !glue.ips.iter().any(|i| i.to_string() == old) {
        return error("2010327", "OldIP does not match the current IP"); // mock convention
    }
    glue.ips = vec![ip.into()];
    ns_done(command, "DomainNSUpdateResult", d, &host, "")
}

fn ns_delete(command: &str, d: &mut Domain, p: &Params) -> Response {
    let host = match host_param(d, p) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let before = d.glue.len();
    d.glue.retain(|g| g.host.as_str() != host);
    if d.glue.len() == before {
        return no_such_ns(&host);
    }
    ns_done(command, "DomainNSDeleteResult", d, &host, "")
}

fn ns_info(command: &str, d: &Domain, p: &Params) -> Response {
    let host = match host_param(d, p) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let Some(glue) = d.glue.iter().find(|g| g.host.as_str() == host) else {
        return no_such_ns(&host);
    };
    let ip = glue.ips.first().map(|i| i.to_string()).unwrap_or_default();
    ok(
        command,
        &format!(
            r#"<DomainNSInfoResult Domain="{}" Nameserver="{}" IP="{}"><NameserverStatuses><Status>OK</Status><Status>Linked</Status></NameserverStatuses></DomainNSInfoResult>"#,
            esc(&normalise(&d.name)),
            esc(&host),
            esc(&ip)
        ),
    )
}
