//! GoDaddy mock: v1 domains and records (`records.rs`), v2 name servers,
//! hosts, DNSSEC and actions (`actions.rs`), with GoDaddy's auth and error
//! bodies.
//!
//! - Auth: `Authorization: sso-key KEY:SECRET` against the account's
//!   `key` and `secret` credentials, else 401 `UNABLE_TO_AUTHENTICATE`;
//!   an `access_denied` account gets 403 `ACCESS_DENIED`. v2 paths must
//!   name the account's own id as `customerId`. `GET /v1/shoppers/{id}`
//!   answers for the account whose `shopper_id` credential matches.
//! - v2 writes start an action (`MockState::create_task`); the change is
//!   kept aside and applied when a poll of `…/actions/{type}` first sees
//!   the action succeed, so reads show the old state until then, and a
//!   failed action (`Fault::FailTask`) changes nothing.
//! - Errors are `{"code","message"[,"fields"]}`; throttling is 429 with
//!   `retryAfterSec` in the body.
//!
//! Points the spec leaves open are switches in `options.extra`:
//! `godaddy_patch_status` (v1 PATCH success status, default 200),
//! `godaddy_v2_status` (v2 write status, default 202),
//! `godaddy_refuse_concurrent_actions` (409 while an action on the domain
//! is unfinished, default false) and `godaddy_min_ttl` (default 600).

mod actions;
mod records;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::seed::{Account, Domain, normalise};
use super::{Fault, MockState, ProviderMock};
use crate::providers::godaddy::wire::{
    algorithm_name, algorithm_number, digest_name, digest_number,
};
use crate::types::{Dnskey, DsMaterial, DsRecord, Glue, HostName};

use actions::{Actions, PendingChange};

/// The plug-in: base path, routes and fault rendering.
pub fn mock() -> ProviderMock {
    ProviderMock {
        base_path: "",
        router,
        render_fault,
    }
}

#[derive(Clone)]
struct Gd {
    state: MockState,
    actions: Arc<Mutex<Actions>>,
}

/// Provider routes.
pub fn router(state: MockState) -> Router {
    let gd = Gd {
        state,
        actions: Arc::new(Mutex::new(Actions::default())),
    };
    Router::new()
        .route("/v1/domains", get(list_domains))
        .route(
            "/v1/domains/{domain}",
            get(get_domain_v1).patch(patch_domain_v1),
        )
        .route(
            "/v1/domains/{domain}/records",
            axum::routing::patch(records::append),
        )
        .route(
            "/v1/domains/{domain}/records/{rtype}",
            get(records::of_type),
        )
        .route(
            "/v1/domains/{domain}/records/{rtype}/{name}",
            get(records::at_name)
                .put(records::replace_at_name)
                .delete(records::delete_at_name),
        )
        .route("/v1/shoppers/{shopper}", get(get_shopper))
        .route(
            "/v2/customers/{customer}/domains/{domain}",
            get(get_domain_v2),
        )
        .route(
            "/v2/customers/{customer}/domains/{domain}/nameServers",
            put(put_nameservers),
        )
        .route(
            "/v2/customers/{customer}/domains/{domain}/hosts/{host}",
            put(put_host).delete(delete_host),
        )
        .route(
            "/v2/customers/{customer}/domains/{domain}/dnssecRecords",
            axum::routing::patch(patch_dnssec).delete(delete_dnssec),
        )
        .route(
            "/v2/customers/{customer}/domains/{domain}/actions/{kind}",
            get(get_action),
        )
        .with_state(gd)
}

/// How GoDaddy signals a fault.
pub fn render_fault(fault: &Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after_secs } => {
            let mut body = json!({
                "code": "TOO_MANY_REQUESTS",
                "message": "Too many requests received within interval",
            });
            if let Some(secs) = retry_after_secs {
                body["retryAfterSec"] = json!(secs);
            }
            (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
        }
        Fault::ProviderError {
            code,
            message,
            status,
        } => error(status.unwrap_or(422), code, message),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

//----------- envelopes and auth ----------------------------------------------

/// GoDaddy's error body.
fn error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        axum::Json(json!({ "code": code, "message": message })),
    )
        .into_response()
}

/// 422 `INVALID_BODY` naming one field.
fn invalid_field(path: &str, message: &str) -> Response {
    let body = json!({
        "code": "INVALID_BODY",
        "message": "Request body doesn't fulfill schema, see details in `fields`",
        "fields": [{ "code": "INVALID_VALUE", "message": message, "path": path, "pathRelated": path }],
    });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    error(
        404,
        "NOT_FOUND",
        "The given domain is not registered, or does not have a zone file",
    )
}

fn extra_u64(state: &MockState, key: &str, default: u64) -> u64 {
    state
        .world()
        .options
        .extra
        .get(key)
        .and_then(Value::as_u64)
        .unwrap_or(default)
}

fn extra_bool(state: &MockState, key: &str) -> bool {
    state
        .world()
        .options
        .extra
        .get(key)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The account id the `sso-key` header authenticates, or GoDaddy's refusal.
fn authenticate(state: &MockState, headers: &HeaderMap) -> Result<String, Response> {
    let unauthenticated = || {
        error(
            401,
            "UNABLE_TO_AUTHENTICATE",
            "Unable to authenticate your API key and secret",
        )
    };
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unauthenticated)?;
    let pair = value.strip_prefix("sso-key ").ok_or_else(unauthenticated)?;
    let (key, secret) = pair.split_once(':').ok_or_else(unauthenticated)?;
    let world = state.world();
    let account = world
        .account_where(|a| {
            a.credential("key") == Some(key) && a.credential("secret") == Some(secret)
        })
        .ok_or_else(unauthenticated)?;
    if account.access_denied {
        return Err(error(
            403,
            "ACCESS_DENIED",
            "Authenticated user is not allowed access",
        ));
    }
    Ok(account.id.clone())
}

/// Authenticates a v2 call and checks the path's customer id.
fn authenticate_v2(
    state: &MockState,
    headers: &HeaderMap,
    customer: &str,
) -> Result<String, Response> {
    let account = authenticate(state, headers)?;
    if account != customer {
        return Err(error(
            403,
            "ACCESS_DENIED",
            "Authenticated user is not allowed access",
        ));
    }
    Ok(account)
}

/// Runs `f` on the domain, or answers 404.
fn with_domain<T>(
    state: &MockState,
    account: &str,
    domain: &str,
    f: impl FnOnce(&mut Domain) -> T,
) -> Result<T, Response> {
    let mut world = state.world();
    let domain = world.domain_mut(account, domain).ok_or_else(not_found)?;
    Ok(f(domain))
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            422,
            "INVALID_BODY",
            &format!("Request body doesn't fulfill schema: {e}"),
        )
    })
}

/// Checks a name server list as GoDaddy would.
fn check_nameservers(list: &[String]) -> Result<Vec<String>, Response> {
    if list.len() < 2 || list.len() > 13 {
        return Err(invalid_field(
            "nameServers",
            "between 2 and 13 name servers are required",
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            HostName::new(h)
                .map(String::from)
                .map_err(|_| invalid_field(&format!("nameServers[{i}]"), "not a host name"))
        })
        .collect()
}

//----------- v1 --------------------------------------------------------------

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    limit: Option<usize>,
}

async fn list_domains(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let account = match authenticate(&gd.state, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let world = gd.state.world();
    let list: Vec<Value> = world
        .account(&account)
        .map(|a| {
            a.domains
                .iter()
                .map(|d| json!({ "domain": d.name, "status": "ACTIVE" }))
                .collect()
        })
        .unwrap_or_default();
    let limit = q.limit.unwrap_or(usize::MAX);
    axum::Json(list.into_iter().take(limit).collect::<Vec<_>>()).into_response()
}

fn domain_v1_json(account: &Account, d: &Domain) -> Value {
    json!({
        "domainId": 1_000_000 + account.domains.iter().position(|x| x.name == d.name).unwrap_or(0),
        "domain": d.name,
        "status": "ACTIVE",
        "locked": true,
        "renewAuto": true,
        "privacy": false,
        "nameServers": d.nameservers,
    })
}

async fn get_domain_v1(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path(domain): Path<String>,
) -> Response {
    let account = match authenticate(&gd.state, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let world = gd.state.world();
    let Some(acct) = world.account(&account) else {
        return not_found();
    };
    match acct.domain(&domain) {
        Some(d) => axum::Json(domain_v1_json(acct, d)).into_response(),
        None => not_found(),
    }
}

async fn patch_domain_v1(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    body: Bytes,
) -> Response {
    let account = match authenticate(&gd.state, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Patch {
        #[serde(default)]
        name_servers: Option<Vec<String>>,
    }
    let patch: Patch = match parse_json(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let ns = match patch
        .name_servers
        .as_deref()
        .map(check_nameservers)
        .transpose()
    {
        Ok(ns) => ns,
        Err(r) => return r,
    };
    let status = extra_u64(&gd.state, "godaddy_patch_status", 200) as u16;
    match with_domain(&gd.state, &account, &domain, |d| {
        if let Some(ns) = ns {
            d.nameservers = ns;
        }
    }) {
        Ok(()) => {
            gd.state.note(format!("write nameservers {domain}"));
            StatusCode::from_u16(status)
                .unwrap_or(StatusCode::OK)
                .into_response()
        }
        Err(r) => r,
    }
}

async fn get_shopper(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path(shopper): Path<String>,
) -> Response {
    let account = match authenticate(&gd.state, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let world = gd.state.world();
    match world.account(&account) {
        Some(a) if a.credential("shopper_id") == Some(shopper.as_str()) => {
            axum::Json(json!({ "shopperId": shopper, "customerId": a.id })).into_response()
        }
        _ => error(404, "NOT_FOUND", "Shopper not found"),
    }
}

//----------- v2 --------------------------------------------------------------

/// A DS or DNSKEY in GoDaddy's name-enum form.
fn dnssec_json(material: &DsMaterial) -> Value {
    match material {
        DsMaterial::Ds(ds) => json!({
            "algorithm": algorithm_name(ds.algorithm).unwrap_or("UNKNOWN"),
            "keyTag": ds.key_tag,
            "digestType": digest_name(ds.digest_type).unwrap_or("UNKNOWN"),
            "digest": ds.digest.to_ascii_uppercase(),
        }),
        DsMaterial::Dnskey(k) => json!({
            "algorithm": algorithm_name(k.algorithm).unwrap_or("UNKNOWN"),
            "flags": if k.flags & 1 == 1 { "KSK" } else { "ZSK" },
            "publicKey": k.public_key,
            "maxSignatureLife": 1_209_600,
        }),
    }
}

/// Parses `dnssecRecords` items: a bare array (what the mock documents)
/// or `{"dnssecRecords":[…]}`.
fn parse_dnssec(body: &[u8]) -> Result<Vec<DsMaterial>, Response> {
    let value: Value = parse_json(body)?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut o) => match o.remove("dnssecRecords") {
            Some(Value::Array(items)) => items,
            _ => return Err(invalid_field("dnssecRecords", "expected an array")),
        },
        _ => return Err(invalid_field("dnssecRecords", "expected an array")),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = |f: &str| format!("dnssecRecords[{i}].{f}");
            let s = |f: &str| item.get(f).and_then(Value::as_str);
            let algorithm = s("algorithm")
                .and_then(|a| algorithm_number(a).ok())
                .ok_or_else(|| invalid_field(&field("algorithm"), "unknown algorithm name"))?;
            if let Some(key) = s("publicKey") {
                let flags = if s("flags") == Some("ZSK") { 256 } else { 257 };
                return Dnskey::new(flags, 3, algorithm, key)
                    .map(DsMaterial::Dnskey)
                    .map_err(|e| invalid_field(&field("publicKey"), &e.to_string()));
            }
            let key_tag = item
                .get("keyTag")
                .and_then(Value::as_u64)
                .and_then(|t| u16::try_from(t).ok())
                .ok_or_else(|| invalid_field(&field("keyTag"), "required"))?;
            let digest_type = s("digestType")
                .and_then(|d| digest_number(d).ok())
                .ok_or_else(|| invalid_field(&field("digestType"), "unknown digest type name"))?;
            let digest = s("digest").ok_or_else(|| invalid_field(&field("digest"), "required"))?;
            DsRecord::new(key_tag, algorithm, digest_type, digest)
                .map(DsMaterial::Ds)
                .map_err(|e| invalid_field(&field("digest"), &e.to_string()))
        })
        .collect()
}

async fn get_domain_v2(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((customer, domain)): Path<(String, String)>,
) -> Response {
    let account = match authenticate_v2(&gd.state, &headers, &customer) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let actions = actions::summary(&gd, &account, &domain);
    let world = gd.state.world();
    let Some(acct) = world.account(&account) else {
        return not_found();
    };
    let Some(d) = acct.domain(&domain) else {
        return not_found();
    };
    let mut body = domain_v1_json(acct, d);
    let dnssec: Vec<Value> =
        d.ds.iter()
            .cloned()
            .map(DsMaterial::Ds)
            .chain(d.dnskeys.iter().cloned().map(DsMaterial::Dnskey))
            .map(|m| dnssec_json(&m))
            .collect();
    body["hostnames"] = json!(
        d.glue
            .iter()
            .map(|g| g.host.to_string())
            .collect::<Vec<_>>()
    );
    body["dnssecRecords"] = json!(dnssec);
    body["actions"] = json!(actions);
    body["registryStatusCodes"] = json!(["CLIENT_TRANSFER_PROHIBITED"]);
    axum::Json(body).into_response()
}

/// Starts an action for a v2 write, after the shared checks.
fn start(
    gd: &Gd,
    headers: &HeaderMap,
    account: &str,
    domain: &str,
    kind: &str,
    change: PendingChange,
) -> Response {
    {
        let world = gd.state.world();
        if world
            .account(account)
            .and_then(|a| a.domain(domain))
            .is_none()
        {
            return not_found();
        }
    }
    if extra_bool(&gd.state, "godaddy_refuse_concurrent_actions")
        && actions::busy(gd, account, domain)
    {
        return error(
            409,
            "CONFLICTING_ACTION",
            "Another action is in progress for this domain",
        );
    }
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    actions::start(gd, account, domain, kind, change, request_id);
    gd.state.note(format!("action {kind} {domain}"));
    let status = extra_u64(&gd.state, "godaddy_v2_status", 202) as u16;
    StatusCode::from_u16(status)
        .unwrap_or(StatusCode::ACCEPTED)
        .into_response()
}

/// A v2 write: authenticates for the path's customer, builds the change
/// (or the refusal) for that account, then starts its action.
fn start_v2(
    gd: &Gd,
    headers: &HeaderMap,
    customer: &str,
    domain: &str,
    kind: &str,
    change: impl FnOnce(&str) -> Result<PendingChange, Response>,
) -> Response {
    let account = match authenticate_v2(&gd.state, headers, customer) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match change(&account) {
        Ok(change) => start(gd, headers, &account, domain, kind, change),
        Err(r) => r,
    }
}

async fn put_nameservers(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((customer, domain)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        name_servers: Vec<String>,
    }
    start_v2(
        &gd,
        &headers,
        &customer,
        &domain,
        "DOMAIN_UPDATE_NAME_SERVERS",
        |_| {
            let body: Body = parse_json(&body)?;
            check_nameservers(&body.name_servers).map(PendingChange::Nameservers)
        },
    )
}

async fn put_host(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((customer, domain, host)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        ipv4: Vec<IpAddr>,
        #[serde(default)]
        ipv6: Vec<IpAddr>,
    }
    start_v2(&gd, &headers, &customer, &domain, "HOST_CREATE", |_| {
        let body: Body = parse_json(&body)?;
        let Ok(host) = HostName::new(&host) else {
            return Err(invalid_field("hostname", "not a host name"));
        };
        if normalise(&domain) != host.as_str()
            && !host.as_str().ends_with(&format!(".{}", normalise(&domain)))
        {
            return Err(invalid_field(
                "hostname",
                "the host must be inside the domain",
            ));
        }
        if body.ipv4.iter().any(IpAddr::is_ipv6) || body.ipv6.iter().any(IpAddr::is_ipv4) {
            return Err(invalid_field(
                "ipv4",
                "address family does not match the field",
            ));
        }
        let ips: Vec<IpAddr> = body.ipv4.into_iter().chain(body.ipv6).collect();
        if ips.is_empty() {
            return Err(invalid_field("ipv4", "at least one address is required"));
        }
        Ok(PendingChange::HostPut(Glue { host, ips }))
    })
}

async fn delete_host(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((customer, domain, host)): Path<(String, String, String)>,
) -> Response {
    let host = normalise(&host);
    start_v2(
        &gd,
        &headers,
        &customer,
        &domain,
        "HOST_DELETE",
        |account| {
            let exists = with_domain(&gd.state, account, &domain, |d| {
                d.glue.iter().any(|g| g.host.as_str() == host)
            })?;
            if !exists {
                return Err(error(404, "NOT_FOUND", "Host not found"));
            }
            Ok(PendingChange::HostDelete(host))
        },
    )
}

async fn patch_dnssec(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((customer, domain)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    start_v2(&gd, &headers, &customer, &domain, "DNSSEC_CREATE", |_| {
        parse_dnssec(&body).map(PendingChange::DsAdd)
    })
}

async fn delete_dnssec(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((customer, domain)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    start_v2(&gd, &headers, &customer, &domain, "DNSSEC_DELETE", |_| {
        parse_dnssec(&body).map(PendingChange::DsRemove)
    })
}

async fn get_action(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((customer, domain, kind)): Path<(String, String, String)>,
) -> Response {
    let account = match authenticate_v2(&gd.state, &headers, &customer) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match actions::poll(&gd, &account, &domain, &kind) {
        Some(body) => axum::Json(body).into_response(),
        None => error(
            404,
            "NOT_FOUND",
            "No action of this type found for the domain",
        ),
    }
}
