//! OVH mock: `/1.0/auth/time`, the `/domain/{d}` registration API (name
//! servers, glue, DS, tasks) and the `/domain/zone/{z}` record API, behind
//! OVH's signed-request checks ([`auth`]) and error envelope.
//!
//! - Credentials per account: `application_key`, `application_secret`,
//!   `consumer_key`; `access_denied` gives `NOT_GRANTED_CALL`.
//! - Domain fields in `domains[].extra`: `nameServerType` (default
//!   `hosted` when the zone is hosted, else `external`), `hostSupported`,
//!   `glueRecordIpv6Supported`, `glueRecordMultiIpSupported` (default
//!   true), `ns_ips` (host → glue IP in the NS entry). Zone edits set
//!   `zone_unrefreshed` until `POST …/refresh`.
//! - Name server, glue and DS writes return tasks ([`tasks`]), including
//!   the add-only `POST …/nameServer` and `DELETE …/nameServer/{id}`.
//! - The zone API lives in `zone.rs`; its list filters match with LIKE
//!   (substring), as OVH's do.
//!
//! Open points are switches in `options.extra`: `ovh_time_tolerance_secs`
//! (default 30), `ovh_clock_offset_secs` (the mock's clock against the
//! system's, default 0). Rate limiting is answered with 429
//! `Client::TooManyRequests`; OVH publishes no limit, so it happens only
//! when configured.

mod auth;
mod tasks;
mod zone;

use std::collections::HashMap;
use std::net::IpAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};
use sha1::{Digest as _, Sha1};

use super::seed::{Domain, normalise};
use super::{Fault, MockState, ProviderMock};
use crate::types::{Dnskey, Glue, HostName};

use auth::{bad_request, error, not_found};
use tasks::{PendingChange, TaskAction, Tasks};

/// The plug-in: base path, routes and fault rendering.
pub fn mock() -> ProviderMock {
    ProviderMock {
        base_path: "/1.0",
        router,
        render_fault,
    }
}

#[derive(Clone)]
struct Ovh {
    state: MockState,
    tasks: Tasks,
}

/// Provider routes.
pub fn router(state: MockState) -> Router {
    let ovh = Ovh {
        state,
        tasks: Tasks::default(),
    };
    Router::new()
        .route("/1.0/auth/time", get(time))
        .route("/1.0/{*rest}", any(dispatch))
        .with_state(ovh)
}

/// How OVH signals a fault.
pub fn render_fault(fault: &Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after_secs } => {
            let mut resp = error(429, "Client::TooManyRequests", None, "Too many requests");
            if let Some(v) =
                retry_after_secs.and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
            {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Fault::ProviderError {
            code,
            message,
            status,
        } => {
            let status = status.unwrap_or(400);
            if code.contains("::") {
                error(status, code, None, message)
            } else {
                let class = match status {
                    403 => "Client::Forbidden",
                    404 => "Client::NotFound",
                    409 => "Client::Conflict",
                    s if s >= 500 => "Server::InternalServerError",
                    _ => "Client::BadRequest",
                };
                error(status, class, Some(code), message)
            }
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn time(State(ovh): State<Ovh>) -> Response {
    axum::Json(auth::now(&ovh.state)).into_response()
}

/// OVH answers writes that return nothing with `null`.
fn null() -> Response {
    axum::Json(Value::Null).into_response()
}

/// A stable numeric id for a name (NS entries, DS keys).
fn stable_id(s: &str) -> u64 {
    let h = Sha1::digest(s.as_bytes());
    u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]])) + 1
}

fn flag(d: &Domain, key: &str, default: bool) -> bool {
    d.extra.get(key).and_then(Value::as_bool).unwrap_or(default)
}

fn ns_type(d: &Domain) -> String {
    d.extra
        .get("nameServerType")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| if d.hosted_zone { "hosted" } else { "external" }.into())
}

fn ns_ip(d: &Domain, host: &str) -> Option<String> {
    d.extra
        .get("ns_ips")?
        .get(host)?
        .as_str()
        .map(str::to_owned)
}

fn within(host: &str, domain: &str) -> bool {
    host == domain || host.ends_with(&format!(".{domain}"))
}

fn parse_body(body: &[u8]) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|_| bad_request("Invalid JSON received"))
}

/// Every signed route: authenticate, then route by path segments.
async fn dispatch(
    State(ovh): State<Ovh>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(rest): Path<String>,
    body: Bytes,
) -> Response {
    let account = match auth::authenticate(&ovh.state, &method, &uri, &headers, &body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let segs: Vec<&str> = rest.split('/').collect();
    let cx = Cx {
        ovh: &ovh,
        account: &account,
    };
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["domain"]) => cx.list(false),
        ("GET", ["domain", "zone"]) => cx.list(true),
        ("GET", ["domain", "zone", z, "record"]) => cx.records(z, &query),
        ("POST", ["domain", "zone", z, "record"]) => cx.create_record(z, &body),
        ("GET", ["domain", "zone", z, "record", id]) => cx.record(z, id),
        ("PUT", ["domain", "zone", z, "record", id]) => cx.update_record(z, id, &body),
        ("DELETE", ["domain", "zone", z, "record", id]) => cx.delete_record(z, id),
        ("POST", ["domain", "zone", z, "refresh"]) => cx.refresh(z),
        ("GET", ["domain", "zone", z, "dnssec"]) => cx.dnssec(z),
        ("POST", ["domain", "zone", z, "dnssec"]) => cx.set_dnssec(z, true),
        ("DELETE", ["domain", "zone", z, "dnssec"]) => cx.set_dnssec(z, false),
        ("GET", ["domain", d]) => cx.info(d),
        ("PUT", ["domain", d]) => cx.update_info(d, &body),
        ("GET", ["domain", d, "nameServer"]) => cx.ns_ids(d),
        ("POST", ["domain", d, "nameServer"]) => cx.add_ns(d, &body),
        ("GET", ["domain", d, "nameServer", id]) => cx.ns_entry(d, id),
        ("DELETE", ["domain", d, "nameServer", id]) => cx.delete_ns(d, id),
        ("POST", ["domain", d, "nameServers", "update"]) => cx.update_ns(d, &body),
        ("GET", ["domain", d, "task"]) => cx.task_ids(d, &query),
        ("GET", ["domain", d, "task", id]) => cx.task(d, id),
        ("POST", ["domain", d, "task", id, action]) => cx.task_action(d, id, action),
        ("GET", ["domain", d, "glueRecord"]) => cx.glue_list(d, &query),
        ("POST", ["domain", d, "glueRecord"]) => cx.glue_create(d, &body),
        ("GET", ["domain", d, "glueRecord", host]) => cx.glue_get(d, host),
        ("POST", ["domain", d, "glueRecord", host, "update"]) => cx.glue_update(d, host, &body),
        ("DELETE", ["domain", d, "glueRecord", host]) => cx.glue_delete(d, host),
        ("GET", ["domain", d, "dsRecord"]) => cx.ds_ids(d, &query),
        ("POST", ["domain", d, "dsRecord"]) => cx.ds_set(d, &body),
        ("GET", ["domain", d, "dsRecord", id]) => cx.ds_get(d, id),
        _ => error(
            404,
            "Client::NotFound",
            None,
            &format!("Got an invalid (or empty) URL: /{rest}"),
        ),
    }
}

/// One authenticated request's context.
struct Cx<'a> {
    ovh: &'a Ovh,
    account: &'a str,
}

impl Cx<'_> {
    /// Runs `f` on the account's domain `name` when `kind` holds for it
    /// (registered, or a hosted zone), else answers 404.
    fn entry<T>(
        &self,
        name: &str,
        kind: fn(&Domain) -> bool,
        f: impl FnOnce(&mut Domain) -> Result<T, Response>,
    ) -> Result<T, Response> {
        let mut world = self.ovh.state.world();
        let d = world
            .domain_mut(self.account, name)
            .filter(|d| kind(d))
            .ok_or_else(not_found)?;
        f(d)
    }

    /// Runs `f` on a registered domain, or answers 404.
    fn domain<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Domain) -> Result<T, Response>,
    ) -> Result<T, Response> {
        self.entry(name, |d| d.registered, f)
    }

    /// Runs `f` on a hosted zone, or answers 404.
    fn zone<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Domain) -> Result<T, Response>,
    ) -> Result<T, Response> {
        self.entry(name, |d| d.hosted_zone, f)
    }

    fn start(&self, domain: &str, function: &str, change: PendingChange) -> Response {
        let body = self.ovh.tasks.start(
            &self.ovh.state,
            self.account,
            &normalise(domain),
            function,
            change,
        );
        axum::Json(body).into_response()
    }

    fn list(&self, zones: bool) -> Response {
        let world = self.ovh.state.world();
        let names: Vec<&str> = world
            .account(self.account)
            .map(|a| {
                a.domains
                    .iter()
                    .filter(|d| if zones { d.hosted_zone } else { d.registered })
                    .map(|d| d.name.as_str())
                    .collect()
            })
            .unwrap_or_default();
        axum::Json(names).into_response()
    }

    //----------- registration ------------------------------------------------

    fn info(&self, d: &str) -> Response {
        self.domain(d, |dom| {
            Ok(axum::Json(json!({
                "domain": dom.name,
                "nameServerType": ns_type(dom),
                "dnssecSupported": true,
                "hostSupported": flag(dom, "hostSupported", true),
                "glueRecordIpv6Supported": flag(dom, "glueRecordIpv6Supported", true),
                "glueRecordMultiIpSupported": flag(dom, "glueRecordMultiIpSupported", true),
                "offer": "gold",
                "transferLockStatus": "locked",
            }))
            .into_response())
        })
        .unwrap_or_else(|r| r)
    }

    fn update_info(&self, d: &str, body: &Value) -> Response {
        let wanted = body.get("nameServerType").and_then(Value::as_str);
        if let Some(t) = wanted
            && t != "hosted"
            && t != "external"
        {
            return bad_request(&format!("Invalid value for nameServerType: {t}"));
        }
        self.domain(d, |dom| {
            if let Some(t) = wanted {
                dom.extra.insert("nameServerType".into(), json!(t));
            }
            Ok(())
        })
        .map(|()| {
            self.ovh.state.note(format!("write nameServerType {d}"));
            null()
        })
        .unwrap_or_else(|r| r)
    }

    fn ns_ids(&self, d: &str) -> Response {
        self.domain(d, |dom| {
            let ids: Vec<u64> = dom.nameservers.iter().map(|h| stable_id(h)).collect();
            Ok(axum::Json(ids).into_response())
        })
        .unwrap_or_else(|r| r)
    }

    fn ns_entry(&self, d: &str, id: &str) -> Response {
        self.domain(d, |dom| {
            let host = dom
                .nameservers
                .iter()
                .find(|h| stable_id(h).to_string() == id)
                .ok_or_else(|| {
                    error(
                        404,
                        "Client::NotFound",
                        None,
                        "This name server does not exist",
                    )
                })?;
            Ok(axum::Json(json!({
                "id": stable_id(host),
                "host": host,
                "ip": ns_ip(dom, host),
                "isUsed": true,
                "toDelete": false,
            }))
            .into_response())
        })
        .unwrap_or_else(|r| r)
    }

    fn update_ns(&self, d: &str, body: &Value) -> Response {
        // The schema says `nameServers`; OVH's guide shows `nameServer`.
        let list = body
            .get("nameServers")
            .or_else(|| body.get("nameServer"))
            .and_then(Value::as_array);
        let Some(list) = list else {
            return bad_request("Missing parameter nameServers");
        };
        let checked = self.domain(d, |dom| {
            let entries = list
                .iter()
                .map(|item| check_entry(dom, item))
                .collect::<Result<Vec<_>, _>>()?;
            check_set(dom, &entries)?;
            Ok(entries)
        });
        match checked {
            Ok(entries) => self.start(d, "DomainDnsUpdate", PendingChange::Nameservers(entries)),
            Err(r) => r,
        }
    }

    /// The add-only alternative: `POST /domain/{d}/nameServer`.
    fn add_ns(&self, d: &str, body: &Value) -> Response {
        let Some(list) = body.get("nameServer").and_then(Value::as_array) else {
            return bad_request("Missing parameter nameServer");
        };
        let checked = self.domain(d, |dom| {
            let mut entries = current_entries(dom);
            for item in list {
                let entry = check_entry(dom, item)?;
                if entries.iter().any(|(h, _)| *h == entry.0) {
                    return Err(error(
                        409,
                        "Client::Conflict",
                        None,
                        &format!("{} is already a name server of the domain", entry.0),
                    ));
                }
                entries.push(entry);
            }
            check_set(dom, &entries)?;
            Ok(entries)
        });
        match checked {
            Ok(entries) => self.start(d, "DomainDnsUpdate", PendingChange::Nameservers(entries)),
            Err(r) => r,
        }
    }

    /// `DELETE /domain/{d}/nameServer/{id}`.
    fn delete_ns(&self, d: &str, id: &str) -> Response {
        let checked = self.domain(d, |dom| {
            let mut entries = current_entries(dom);
            let before = entries.len();
            entries.retain(|(h, _)| stable_id(h).to_string() != id);
            if entries.len() == before {
                return Err(error(
                    404,
                    "Client::NotFound",
                    None,
                    "This name server does not exist",
                ));
            }
            check_set(dom, &entries)?;
            Ok(entries)
        });
        match checked {
            Ok(entries) => self.start(d, "DomainDnsUpdate", PendingChange::Nameservers(entries)),
            Err(r) => r,
        }
    }

    fn task(&self, d: &str, id: &str) -> Response {
        let domain = normalise(d);
        if let Err(r) = self.domain(d, |_| Ok(())) {
            return r;
        }
        match self
            .ovh
            .tasks
            .poll(&self.ovh.state, self.account, &domain, id)
        {
            Some(body) => axum::Json(body).into_response(),
            None => error(404, "Client::NotFound", None, "This task does not exist"),
        }
    }

    fn task_ids(&self, d: &str, query: &HashMap<String, String>) -> Response {
        if let Err(r) = self.domain(d, |_| Ok(())) {
            return r;
        }
        let ids = self.ovh.tasks.list(
            &self.ovh.state,
            self.account,
            &normalise(d),
            query.get("function").map(String::as_str),
            query.get("status").map(String::as_str),
        );
        axum::Json(ids).into_response()
    }

    fn task_action(&self, d: &str, id: &str, action: &str) -> Response {
        if let Err(r) = self.domain(d, |_| Ok(())) {
            return r;
        }
        let Some(action) = TaskAction::parse(action) else {
            return not_found();
        };
        match self
            .ovh
            .tasks
            .act(&self.ovh.state, self.account, &normalise(d), id, action)
        {
            Ok(()) => null(),
            Err((404, message)) => error(404, "Client::NotFound", None, message),
            Err((status, message)) => error(status, "Client::Forbidden", None, message),
        }
    }

    /// Host names, optionally filtered by `host` (LIKE, as OVH's filters).
    fn glue_list(&self, d: &str, query: &HashMap<String, String>) -> Response {
        let like = query.get("host").map(|h| h.to_ascii_lowercase());
        self.domain(d, |dom| {
            let hosts: Vec<String> = dom
                .glue
                .iter()
                .map(|g| g.host.to_string())
                .filter(|h| like.as_ref().is_none_or(|l| h.contains(l.as_str())))
                .collect();
            Ok(axum::Json(hosts).into_response())
        })
        .unwrap_or_else(|r| r)
    }

    fn glue_get(&self, d: &str, host: &str) -> Response {
        self.domain(d, |dom| {
            let g = dom
                .glue
                .iter()
                .find(|g| g.host.as_str() == normalise(host))
                .ok_or_else(|| {
                    error(
                        404,
                        "Client::NotFound",
                        None,
                        "This glue record does not exist",
                    )
                })?;
            Ok(axum::Json(json!({ "host": g.host, "ips": g.ips })).into_response())
        })
        .unwrap_or_else(|r| r)
    }

    /// Checks a glue request against the domain's capabilities.
    fn check_glue(dom: &Domain, host: &str, ips: Option<&Value>) -> Result<Glue, Response> {
        if !flag(dom, "hostSupported", true) {
            return Err(error(
                403,
                "Client::Forbidden",
                None,
                "Glue records are not supported for this domain",
            ));
        }
        let host = HostName::new(host).map_err(|_| bad_request("Invalid host"))?;
        if !within(host.as_str(), &normalise(&dom.name)) {
            return Err(bad_request("The host must be a subdomain of the domain"));
        }
        let ips: Vec<IpAddr> = ips
            .and_then(Value::as_array)
            .ok_or_else(|| bad_request("Missing parameter ips"))?
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad_request("Invalid ip"))
            })
            .collect::<Result<_, _>>()?;
        if ips.is_empty() {
            return Err(bad_request("At least one ip is required"));
        }
        if ips.iter().any(IpAddr::is_ipv6) && !flag(dom, "glueRecordIpv6Supported", true) {
            return Err(bad_request(
                "IPv6 glue records are not supported for this domain",
            ));
        }
        if ips.len() > 1 && !flag(dom, "glueRecordMultiIpSupported", true) {
            return Err(bad_request(
                "Only one ip per glue record is supported for this domain",
            ));
        }
        Ok(Glue { host, ips })
    }

    fn glue_create(&self, d: &str, body: &Value) -> Response {
        let host = body
            .get("host")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let glue = self.domain(d, |dom| {
            let glue = Self::check_glue(dom, &host, body.get("ips"))?;
            if dom.glue.iter().any(|g| g.host == glue.host) {
                return Err(error(
                    409,
                    "Client::Conflict",
                    None,
                    "This glue record already exists",
                ));
            }
            Ok(glue)
        });
        match glue {
            Ok(glue) => self.start(d, "DomainHostCreate", PendingChange::GluePut(glue)),
            Err(r) => r,
        }
    }

    fn glue_update(&self, d: &str, host: &str, body: &Value) -> Response {
        let glue = self.domain(d, |dom| {
            let glue = Self::check_glue(dom, host, body.get("ips"))?;
            if !dom.glue.iter().any(|g| g.host == glue.host) {
                return Err(error(
                    404,
                    "Client::NotFound",
                    None,
                    "This glue record does not exist",
                ));
            }
            Ok(glue)
        });
        match glue {
            Ok(glue) => self.start(d, "DomainHostUpdate", PendingChange::GluePut(glue)),
            Err(r) => r,
        }
    }

    fn glue_delete(&self, d: &str, host: &str) -> Response {
        let host = normalise(host);
        let ok = self.domain(d, |dom| {
            if !dom.glue.iter().any(|g| g.host.as_str() == host) {
                return Err(error(404, "Client::NotFound", None, "This glue record does not exist"));
            }
            if dom.nameservers.iter().any(|n| normalise(n) == host) {
                return Err(bad_request(
                    "This host is used as a name server of the domain; remove it from the name servers first",
                ));
            }
            Ok(())
        });
        match ok {
            Ok(()) => self.start(d, "DomainHostDelete", PendingChange::GlueDelete(host)),
            Err(r) => r,
        }
    }

    /// Key ids, optionally filtered by `flags` and `status` (every key
    /// the mock holds is `created`).
    fn ds_ids(&self, d: &str, query: &HashMap<String, String>) -> Response {
        let flags = query.get("flags");
        let status = query.get("status");
        self.domain(d, |dom| {
            let ids: Vec<u64> = dom
                .dnskeys
                .iter()
                .filter(|k| flags.is_none_or(|f| *f == k.flags.to_string()))
                .filter(|_| status.is_none_or(|s| s == "created"))
                .map(|k| stable_id(&k.public_key))
                .collect();
            Ok(axum::Json(ids).into_response())
        })
        .unwrap_or_else(|r| r)
    }

    fn ds_get(&self, d: &str, id: &str) -> Response {
        self.domain(d, |dom| {
            let k = dom
                .dnskeys
                .iter()
                .find(|k| stable_id(&k.public_key).to_string() == id)
                .ok_or_else(|| {
                    error(
                        404,
                        "Client::NotFound",
                        None,
                        "This DS record does not exist",
                    )
                })?;
            Ok(axum::Json(json!({
                "id": stable_id(&k.public_key),
                "algorithm": k.algorithm,
                "flags": k.flags,
                "publicKey": k.public_key,
                "tag": k.key_tag(),
                "status": "created",
            }))
            .into_response())
        })
        .unwrap_or_else(|r| r)
    }

    fn ds_set(&self, d: &str, body: &Value) -> Response {
        let Some(items) = body.get("keys").and_then(Value::as_array) else {
            return bad_request("Missing parameter keys");
        };
        let mut keys = Vec::new();
        for item in items {
            let num = |f: &str| item.get(f).and_then(Value::as_u64);
            // Terraform spells it `publickey`; OVH's schema `publicKey`.
            let key = item
                .get("publicKey")
                .or_else(|| item.get("publickey"))
                .and_then(Value::as_str);
            let (Some(alg), Some(flags), Some(tag), Some(key)) =
                (num("algorithm"), num("flags"), num("tag"), key)
            else {
                return bad_request("Each key needs algorithm, flags, publicKey and tag");
            };
            if ![5, 7, 8, 10, 13, 14, 15].contains(&alg) {
                return bad_request(&format!("Invalid algorithm: {alg}"));
            }
            if flags != 256 && flags != 257 {
                return bad_request(&format!("Invalid flags: {flags}"));
            }
            if !(1..=65535).contains(&tag) {
                return bad_request(&format!("Invalid tag: {tag}"));
            }
            match Dnskey::new(flags as u16, 3, alg as u8, key) {
                Ok(k) => keys.push(k),
                Err(_) => return bad_request("Invalid publicKey"),
            }
        }
        if let Err(r) = self.domain(d, |_| Ok(())) {
            return r;
        }
        self.start(d, "DomainDsUpdate", PendingChange::Keys(keys))
    }
}

/// The NS set as (host, glue ip) pairs.
fn current_entries(dom: &Domain) -> Vec<(String, Option<String>)> {
    dom.nameservers
        .iter()
        .map(|h| (h.clone(), ns_ip(dom, h)))
        .collect()
}

/// Checks one `{"host","ip"}` NS entry against the domain.
fn check_entry(dom: &Domain, item: &Value) -> Result<(String, Option<String>), Response> {
    let host = item
        .get("host")
        .and_then(Value::as_str)
        .and_then(|h| HostName::new(h).ok())
        .ok_or_else(|| bad_request("Invalid host"))?;
    let ip = item
        .get("ip")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if let Some(ip) = ip
        && ip.parse::<IpAddr>().is_err()
    {
        return Err(bad_request(&format!("Invalid ip for {host}")));
    }
    let host_supported = flag(dom, "hostSupported", true);
    let inside = within(host.as_str(), &normalise(&dom.name));
    if inside && host_supported && !dom.glue.iter().any(|g| g.host == host) {
        return Err(bad_request(&format!(
            "{host} is inside the domain and must be created as a glue record first"
        )));
    }
    if inside && !host_supported && ip.is_none() {
        return Err(bad_request(&format!("An ip is required for {host}")));
    }
    Ok((host.to_string(), ip.map(str::to_owned)))
}

/// Checks a whole NS set: editable at all, and its size.
fn check_set(dom: &Domain, entries: &[(String, Option<String>)]) -> Result<(), Response> {
    if ns_type(dom) != "external" {
        return Err(error(
            403,
            "Client::Forbidden",
            None,
            "Name servers can only be edited when nameServerType is external",
        ));
    }
    if entries.len() < 2 || entries.len() > 13 {
        return Err(bad_request("Between 2 and 13 name servers are required"));
    }
    Ok(())
}
