//! Dynadot api3.json mock: `GET /api3.json?key=…&command=…`, always HTTP
//! 200, the outcome in `{"<Command>Response":{"ResponseCode","Status",
//! "Error",…}}`.
//!
//! - Credentials per account: `api_key` (and `api_secret`, checked when
//!   the client sends `secret`). A bad key gets the generic
//!   `{"Response":{"ResponseHeader":{…"invalid key"}}}`.
//! - `ResponseCode` alternates between int `0` and string `"0"` on
//!   success, as live answers do; errors carry the string `"-1"`.
//! - One request at a time per account: a request arriving while another
//!   of the same account runs gets an error (make requests overlap with
//!   `dynadot_processing_ms`).
//! - Registered name servers ([`servers`]): glue of the account's domains,
//!   hosts added with `add_ns`, and hosts in use; `set_ns` refuses others.
//!
//! - Zone records through `get_dns` / `set_dns2` ([`zone`]): no NS or
//!   DS type, and without `add_dns_to_current_setting=1` the zone is
//!   replaced whole.
//! - REST v1 name servers ([`rest`]): Bearer key, `X-Signature` checked
//!   on the `PUT`, JSON envelopes with matching HTTP status.
//!
//! Open points are switches in `options.extra`: `dynadot_processing_ms`
//! (default 0), `dynadot_bad_key_shape` (`header`, the default, or
//! `flat`). Parameter spellings in conflict are all accepted: `host` /
//! `ns` / `nameserver`, `ip` / `ip0…ip9` / `ip_address`, `domain_name` /
//! `domain`. The DNSSEC answer shape (`DnssecInfo`) is this mock's own
//! reading, the API docs not showing one.

/// REST v1 name server endpoints with `X-Signature` checks.
pub mod rest;
mod servers;
mod zone;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::seed::{Domain, normalise};
use super::{Fault, MockState, ProviderMock};
use crate::types::{Dnskey, DsRecord, Glue, HostName};

/// The plug-in: base path, routes and fault rendering.
pub fn mock() -> ProviderMock {
    ProviderMock {
        base_path: "/api3.json",
        router,
        render_fault,
    }
}

#[derive(Clone, Default)]
struct Local {
    /// Accounts with a request in progress.
    busy: Arc<Mutex<HashSet<String>>>,
    /// Hosts added with `add_ns`, per account.
    external: Arc<Mutex<HashMap<String, Vec<String>>>>,
    /// Successful answers so far (int/string alternation).
    answers: Arc<AtomicU64>,
}

#[derive(Clone)]
struct Dd {
    state: MockState,
    local: Local,
}

/// Provider routes.
pub fn router(state: MockState) -> Router {
    Router::new()
        .route("/api3.json", get(api3))
        .route(
            "/restful/v1/domains/{domain}/nameservers",
            get(rest::get_nameservers).put(rest::put_nameservers),
        )
        .with_state(Dd {
            state,
            local: Local::default(),
        })
}

/// How Dynadot signals a fault: HTTP 200 and an error envelope.
pub fn render_fault(fault: &Fault) -> Response {
    let envelope = |code: &str, message: &str| json!({ "Response": { "ResponseCode": code, "Status": "error", "Error": message } });
    match fault {
        Fault::RateLimited { .. } => {
            axum::Json(envelope("-1", "too many requests, please slow down")).into_response()
        }
        Fault::ProviderError {
            code,
            message,
            status,
        } => {
            let status = StatusCode::from_u16(status.unwrap_or(200)).unwrap_or(StatusCode::OK);
            (status, axum::Json(envelope(code, message))).into_response()
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The `<Command>Response` key.
fn response_key(command: &str) -> String {
    if command == "set_dns2" {
        return "SetDnsResponse".into();
    }
    let mut key: String = command
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    key.push_str("Response");
    key
}

/// Clears the busy mark when the request ends, however it ends.
struct Turn<'a> {
    busy: &'a Mutex<HashSet<String>>,
    account: String,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.account);
    }
}

type Params = HashMap<String, String>;

fn extra(state: &MockState, key: &str) -> Option<Value> {
    state.world().options.extra.get(key).cloned()
}

async fn api3(State(dd): State<Dd>, RawQuery(query): RawQuery) -> Response {
    let params: Params = query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let command = params.get("command").cloned().unwrap_or_default();
    let key = response_key(&command);
    let error = |message: &str| {
        axum::Json(
            json!({ key.clone(): { "ResponseCode": "-1", "Status": "error", "Error": message } }),
        )
        .into_response()
    };
    let Some(account) = authenticate(&dd.state, &params) else {
        let flat =
            extra(&dd.state, "dynadot_bad_key_shape").and_then(|v| v.as_str().map(str::to_owned));
        let body = if flat.as_deref() == Some("flat") {
            json!({ "Response": { "ResponseCode": "-1", "Status": "error", "Error": "invalid key" } })
        } else {
            json!({ "Response": { "ResponseHeader": { "ResponseCode": "-1", "Error": "invalid key" } } })
        };
        return axum::Json(body).into_response();
    };
    // One request at a time per account.
    let _turn = {
        let mut busy = dd.local.busy.lock().unwrap_or_else(|p| p.into_inner());
        if !busy.insert(account.clone()) {
            dd.state.note(format!("overlap {account}"));
            drop(busy);
            return error(
                "too many concurrent requests: this account allows one request at a time",
            );
        }
        Turn {
            busy: &dd.local.busy,
            account: account.clone(),
        }
    };
    let processing = extra(&dd.state, "dynadot_processing_ms")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if processing > 0 {
        // Tests wait for this entry to know the account is busy.
        dd.state.note(format!("processing {account}"));
        tokio::time::sleep(Duration::from_millis(processing)).await;
    }
    dd.state.note(format!("command {command}"));
    match run(&dd, &account, &command, &params) {
        Ok(mut fields) => {
            // Live answers switch between int and string codes.
            let n = dd.local.answers.fetch_add(1, Ordering::Relaxed);
            let code = if n % 2 == 0 { json!(0) } else { json!("0") };
            let mut body = Map::new();
            body.insert("ResponseCode".into(), code);
            body.insert("Status".into(), json!("success"));
            body.append(&mut fields);
            axum::Json(json!({ key: body })).into_response()
        }
        Err(message) => error(&message),
    }
}

/// The account `key` (and `secret`, when sent) belongs to.
fn authenticate(state: &MockState, params: &Params) -> Option<String> {
    let key = params.get("key")?;
    let world = state.world();
    let account = world.account_where(|a| a.credential("api_key") == Some(key.as_str()))?;
    if let (Some(sent), Some(secret)) = (params.get("secret"), account.credential("api_secret"))
        && sent != secret
    {
        return None;
    }
    Some(account.id.clone())
}

fn first<'a>(params: &'a Params, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| params.get(*n))
        .map(String::as_str)
}

/// Addresses from `ip`, `ip_address` or `ip0…ip9`.
fn ips(params: &Params) -> Result<Vec<IpAddr>, String> {
    let mut raw: Vec<&String> = ["ip", "ip_address"]
        .iter()
        .filter_map(|n| params.get(*n))
        .collect();
    raw.extend((0..10).filter_map(|i| params.get(&format!("ip{i}"))));
    if raw.is_empty() {
        return Err("ip address is required".into());
    }
    raw.iter()
        .map(|ip| ip.parse().map_err(|_| format!("invalid ip address {ip}")))
        .collect()
}

type Fields = Result<Map<String, Value>, String>;

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Runs one command against the world.
fn run(dd: &Dd, account: &str, command: &str, params: &Params) -> Fields {
    let domain_param = first(params, &["domain", "domain_name"])
        .unwrap_or_default()
        .to_owned();
    let on_domain = |f: &mut dyn FnMut(&mut Domain) -> Fields| -> Fields {
        let mut world = dd.state.world();
        let d = world
            .domain_mut(account, &domain_param)
            .ok_or_else(|| format!("could not find {domain_param} in your account"))?;
        f(d)
    };
    match command {
        "is_processing" => Ok(fields(json!({ "Processing": "no" }))),
        "domain_info" => on_domain(&mut |d| {
            let ns: Vec<Value> = d
                .nameservers
                .iter()
                .map(|h| json!({ "ServerId": servers::server_id(h), "ServerName": h }))
                .collect();
            Ok(fields(json!({ "DomainInfo": {
                "Name": d.name,
                "Expiration": "1798761600000",
                "Locked": "yes",
                "Disabled": "no",
                "NameServerSettings": { "Type": "Name Servers", "NameServers": ns },
            }})))
        }),
        "get_ns" => on_domain(&mut |d| {
            let content: Map<String, Value> = d
                .nameservers
                .iter()
                .enumerate()
                .map(|(i, h)| (format!("Host{i}"), json!(h)))
                .collect();
            Ok(fields(json!({ "NsContent": content })))
        }),
        "set_ns" => {
            let hosts: Vec<String> = (0..13)
                .filter_map(|i| params.get(&format!("ns{i}")))
                .map(|h| normalise(h))
                .filter(|h| !h.is_empty())
                .collect();
            if hosts.is_empty() {
                return Err("at least one name server is required".into());
            }
            let known = servers::known(dd, account);
            if let Some(missing) = hosts.iter().find(|h| !known.contains_key(*h)) {
                return Err(format!(
                    "'{missing}' needs to be registered with an ip address before it can be used."
                ));
            }
            on_domain(&mut |d| {
                d.nameservers = hosts.clone();
                Ok(Map::new())
            })
            .inspect(|_| dd.state.note(format!("write nameservers {domain_param}")))
        }
        "server_list" => {
            let list: Vec<Value> = servers::known(dd, account)
                .into_iter()
                .map(|(host, ips)| {
                    json!({ "ServerId": servers::server_id(&host), "ServerName": host, "ServerIp": ips })
                })
                .collect();
            Ok(fields(json!({ "ServerList": list })))
        }
        "add_ns" => {
            let host = first(params, &["host", "ns", "nameserver"])
                .and_then(|h| HostName::new(h).ok())
                .ok_or("a valid host is required")?;
            servers::add_external(dd, account, host.as_str())?;
            dd.state.note(format!("write server {host}"));
            // Dynadot's documented answer names the new server entry.
            Ok(fields(json!({ "AddNsContent": {
                "Server": { "Host": host, "ServerId": servers::server_id(host.as_str()) }
            } })))
        }
        "register_ns" => {
            let host = first(params, &["host", "ns", "nameserver"])
                .and_then(|h| HostName::new(h).ok())
                .ok_or("a valid host is required")?;
            let ips = ips(params)?;
            servers::register(
                dd,
                account,
                Glue {
                    host: host.clone(),
                    ips,
                },
            )?;
            dd.state.note(format!("write server {host}"));
            // Documented with code and status only; `server_list` has the id.
            Ok(Map::new())
        }
        "set_ns_ip" => {
            let host = servers::resolve(dd, account, params)?;
            servers::set_ips(dd, account, &host, ips(params)?)?;
            dd.state.note(format!("write server {host}"));
            Ok(Map::new())
        }
        "delete_ns" => {
            let host = servers::resolve(dd, account, params)?;
            servers::delete(dd, account, &host)?;
            dd.state.note(format!("write server {host}"));
            Ok(Map::new())
        }
        "delete_ns_by_domain" => {
            let domain = params
                .get("server_domain")
                .map(|d| normalise(d))
                .ok_or("server_domain is required")?;
            for host in servers::known(dd, account).into_keys() {
                if servers::within(&host, &domain) {
                    servers::delete(dd, account, &host)?;
                    dd.state.note(format!("write server {host}"));
                }
            }
            Ok(Map::new())
        }
        "get_dnssec" => on_domain(&mut |d| {
            let items: Vec<Value> = d
                .ds
                .iter()
                .map(|ds| json!({ "KeyTag": ds.key_tag, "Algorithm": ds.algorithm, "DigestType": ds.digest_type, "Digest": ds.digest.to_ascii_uppercase() }))
                .chain(d.dnskeys.iter().map(|k| json!({ "Flags": k.flags, "Algorithm": k.algorithm, "PublicKey": k.public_key })))
                .collect();
            Ok(fields(json!({ "DnssecInfo": items })))
        }),
        "set_dnssec" => {
            let num = |n: &str| params.get(n).and_then(|v| v.parse::<u64>().ok());
            let algorithm = num("algorithm").ok_or("algorithm is required")? as u8;
            let record = if let Some(key) = params.get("public_key") {
                let flags = num("flags").ok_or("flags is required")? as u16;
                Err(Dnskey::new(flags, 3, algorithm, key).map_err(|e| e.to_string())?)
            } else {
                let tag = num("key_tag").ok_or("key_tag is required")? as u16;
                let dt = num("digest_type").ok_or("digest_type is required")? as u8;
                let digest = params.get("digest").ok_or("digest is required")?;
                Ok(DsRecord::new(tag, algorithm, dt, digest).map_err(|e| e.to_string())?)
            };
            on_domain(&mut |d| {
                match &record {
                    Ok(ds) if !d.ds.contains(ds) => d.ds.push(ds.clone()),
                    Err(k) if !d.dnskeys.contains(k) => d.dnskeys.push(k.clone()),
                    _ => {}
                }
                Ok(Map::new())
            })
            .inspect(|_| dd.state.note(format!("write dnssec {domain_param}")))
        }
        "clear_dnssec" => on_domain(&mut |d| {
            d.ds.clear();
            d.dnskeys.clear();
            Ok(Map::new())
        })
        .inspect(|_| dd.state.note(format!("write dnssec {domain_param}"))),
        "get_dns" => on_domain(&mut |d| Ok(zone::get_dns(d))),
        "set_dns2" => {
            let (records, add) = zone::parse_set_dns2(params)?;
            on_domain(&mut |d| {
                zone::apply(d, records.clone(), add);
                Ok(Map::new())
            })
            .inspect(|_| dd.state.note(format!("write records {domain_param}")))
        }
        "" => Err("missing command".into()),
        other => Err(format!("invalid command: {other}")),
    }
}
