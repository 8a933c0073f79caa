//! Cloudflare API v4 mock (spec §2.6): token/legacy auth, zones, DNS
//! records with Cloudflare's conflict codes, zone DNSSEC, the success
//! envelope, and 429 + `retry-after` when throttling.
//!
//! Zone ids are derived from the zone name (32 hex digits, stable across
//! runs); record names are stored relative to the apex in the seed and
//! shown fully qualified on the wire, as Cloudflare does.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::seed::{Account, Domain, Record, normalise};
use super::{Fault, MockState, ProviderMock};

/// The plug-in: base path, routes and fault rendering.
pub fn mock() -> ProviderMock {
    ProviderMock {
        base_path: "/client/v4",
        router,
        render_fault,
    }
}

/// Cloudflare's limit on NS records at one name.
const MAX_NS_PER_NAME: usize = 10;

/// Provider routes.
pub fn router(state: MockState) -> Router {
    Router::new()
        .route("/client/v4/user/tokens/verify", get(verify_token))
        .route("/client/v4/user", get(user))
        .route("/client/v4/zones", get(list_zones))
        .route("/client/v4/zones/{zone}", get(get_zone))
        .route(
            "/client/v4/zones/{zone}/dns_records",
            get(list_records).post(create_record),
        )
        .route(
            "/client/v4/zones/{zone}/dns_records/{id}",
            get(get_record)
                .put(update_record)
                .patch(update_record)
                .delete(delete_record),
        )
        .route(
            "/client/v4/zones/{zone}/dnssec",
            get(get_dnssec).patch(patch_dnssec).delete(delete_dnssec),
        )
        .with_state(state)
}

/// How Cloudflare signals a fault.
pub fn render_fault(fault: &Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after_secs } => {
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                10013,
                "Rate limited. Please wait and consider throttling your request speed",
            );
            let secs = retry_after_secs.unwrap_or(300).to_string();
            if let Ok(v) = secs.parse() {
                resp.headers_mut().insert("retry-after", v);
            }
            resp
        }
        Fault::ProviderError {
            code,
            message,
            status,
        } => error(
            StatusCode::from_u16(status.unwrap_or(400)).unwrap_or(StatusCode::BAD_REQUEST),
            code.parse().unwrap_or(1000),
            message,
        ),
        // The gate answers the other faults itself.
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

//----------- envelope --------------------------------------------------------

fn ok(result: Value) -> Response {
    axum::Json(json!({"success": true, "errors": [], "messages": [], "result": result}))
        .into_response()
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"success": false, "errors": [{"code": code, "message": message}], "messages": [], "result": null})),
    )
        .into_response()
}

fn error_chain(
    status: StatusCode,
    code: i64,
    message: &str,
    inner: i64,
    inner_msg: &str,
) -> Response {
    (
        status,
        axum::Json(json!({"success": false, "errors": [{"code": code, "message": message,
            "error_chain": [{"code": inner, "message": inner_msg}]}], "messages": [], "result": null})),
    )
        .into_response()
}

//----------- auth and look-ups -----------------------------------------------

/// The id of the account the request authenticates as, or the error
/// Cloudflare would give.
fn authenticate(state: &MockState, headers: &HeaderMap) -> Result<String, Response> {
    let world = state.world();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let account: Option<&Account> = if let Some(auth) = header("authorization") {
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return Err(error_chain(
                StatusCode::BAD_REQUEST,
                6003,
                "Invalid request headers",
                6111,
                "Invalid format for Authorization header",
            ));
        };
        match world.account_where(|a| a.credential("api_token") == Some(token.trim())) {
            Some(a) => Some(a),
            None => {
                return Err(error(
                    StatusCode::UNAUTHORIZED,
                    10000,
                    "Authentication error",
                ));
            }
        }
    } else if let (Some(email), Some(key)) = (header("x-auth-email"), header("x-auth-key")) {
        match world.account_where(|a| {
            a.credential("email") == Some(email) && a.credential("api_key") == Some(key)
        }) {
            Some(a) => Some(a),
            None => {
                return Err(error(
                    StatusCode::FORBIDDEN,
                    9103,
                    "Unknown X-Auth-Key or X-Auth-Email",
                ));
            }
        }
    } else if header("x-auth-email").is_some() || header("x-auth-key").is_some() {
        // The legacy pair must be sent together.
        return Err(error_chain(
            StatusCode::BAD_REQUEST,
            6003,
            "Invalid request headers",
            6103,
            "Invalid format for X-Auth-Key header",
        ));
    } else {
        None
    };
    let Some(account) = account else {
        return Err(error_chain(
            StatusCode::BAD_REQUEST,
            6003,
            "Invalid request headers",
            6111,
            "Invalid format for Authorization header",
        ));
    };
    if account.access_denied {
        return Err(error(StatusCode::FORBIDDEN, 10000, "Authentication error"));
    }
    Ok(account.id.clone())
}

/// The stable zone id of a zone name.
pub fn zone_id(name: &str) -> String {
    hex::encode(&sha2::Sha256::digest(normalise(name).as_bytes())[..16])
}

fn zone_json(account: &Account, d: &Domain) -> Value {
    json!({
        "id": zone_id(&d.name),
        "name": normalise(&d.name),
        "status": d.extra.get("status").cloned().unwrap_or(json!("active")),
        "paused": false,
        "type": "full",
        "name_servers": d.nameservers,
        "original_name_servers": d.extra.get("original_name_servers").cloned().unwrap_or(json!([])),
        "vanity_name_servers": [],
        "account": {"id": account.id, "name": account.id},
        "owner": {"id": account.id, "type": "user"},
        "original_registrar": null, "original_dnshost": null,
        "development_mode": 0, "meta": {}, "permissions": [],
        "created_on": MOCK_EPOCH, "modified_on": MOCK_EPOCH, "activated_on": MOCK_EPOCH,
    })
}

/// Every timestamp the mock reports: fixed, so answers are reproducible.
const MOCK_EPOCH: &str = "2026-01-01T00:00:00Z";

fn fqdn(zone: &str, rel: &str) -> String {
    if rel == "@" || rel.is_empty() {
        normalise(zone)
    } else {
        format!("{}.{}", normalise(rel), normalise(zone))
    }
}

/// The owner of `name` relative to `zone`: Cloudflare takes fully
/// qualified names and relative ones (to which it appends the zone).
fn relative(zone: &str, name: &str) -> String {
    let zone = normalise(zone);
    let name = normalise(name);
    if name == zone || name == "@" {
        "@".into()
    } else if let Some(rel) = name.strip_suffix(&format!(".{zone}")) {
        rel.to_owned()
    } else {
        name
    }
}

fn record_json(zone: &Domain, r: &Record) -> Value {
    let mut v = json!({
        "id": r.id, "zone_id": zone_id(&zone.name), "zone_name": normalise(&zone.name),
        "name": fqdn(&zone.name, &r.name), "type": r.rtype, "content": r.content,
        "ttl": r.ttl, "proxied": false, "proxiable": false, "locked": false,
        "comment": null, "tags": [], "settings": {}, "meta": {},
        "created_on": MOCK_EPOCH, "modified_on": MOCK_EPOCH,
    });
    if let Some(p) = r.priority {
        v["priority"] = json!(p);
    }
    if r.rtype == "DS" {
        let parts: Vec<&str> = r.content.split_whitespace().collect();
        if parts.len() >= 4 {
            v["data"] = json!({
                "key_tag": parts[0].parse::<u64>().unwrap_or(0),
                "algorithm": parts[1].parse::<u64>().unwrap_or(0),
                "digest_type": parts[2].parse::<u64>().unwrap_or(0),
                "digest": parts[3..].concat(),
            });
        }
    }
    v
}

/// Runs `f` on the zone `zone_id` of the authenticated account.
fn with_zone<T>(
    state: &MockState,
    headers: &HeaderMap,
    zone: &str,
    f: impl FnOnce(&mut Domain, &mut super::World) -> Result<T, Response>,
) -> Result<T, Response> {
    let account_id = authenticate(state, headers)?;
    let mut world = state.world();
    // Split the borrow: find the domain index first.
    let (ai, di) = {
        let ai = world
            .accounts
            .iter()
            .position(|a| a.id == account_id)
            .ok_or_else(|| {
                error(
                    StatusCode::FORBIDDEN,
                    9109,
                    "Unauthorized to access requested resource",
                )
            })?;
        let di = world.accounts[ai]
            .domains
            .iter()
            .position(|d| d.hosted_zone && zone_id(&d.name) == zone)
            .ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    7003,
                    &format!("Could not route to /zones/{zone}, perhaps your object identifier is invalid?"),
                )
            })?;
        (ai, di)
    };
    let mut domain = std::mem::take(&mut world.accounts[ai].domains[di]);
    let out = f(&mut domain, &mut world);
    world.accounts[ai].domains[di] = domain;
    out
}

fn page_params(q: &HashMap<String, String>, default_per_page: usize) -> (usize, usize) {
    let page = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let per_page = q
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(default_per_page)
        .clamp(1, 5000);
    (page, per_page)
}

fn paginate(items: Vec<Value>, page: usize, per_page: usize) -> Response {
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let total_pages = total.div_ceil(per_page).max(1);
    axum::Json(json!({
        "success": true, "errors": [], "messages": [],
        "result_info": {"page": page, "per_page": per_page, "count": slice.len(),
                        "total_count": total, "total_pages": total_pages},
        "result": slice,
    }))
    .into_response()
}

//----------- handlers --------------------------------------------------------

async fn verify_token(State(state): State<MockState>, headers: HeaderMap) -> Response {
    if headers.get("authorization").is_none() {
        return error_chain(
            StatusCode::BAD_REQUEST,
            6003,
            "Invalid request headers",
            6111,
            "Invalid format for Authorization header",
        );
    }
    match authenticate(&state, &headers) {
        Ok(account) => ok(json!({"id": zone_id(&account), "status": "active"})),
        Err(resp) => resp,
    }
}

async fn user(State(state): State<MockState>, headers: HeaderMap) -> Response {
    match authenticate(&state, &headers) {
        Ok(account) => {
            let world = state.world();
            let email = world
                .account(&account)
                .and_then(|a| a.credential("email"))
                .unwrap_or("")
                .to_owned();
            ok(json!({"id": zone_id(&account), "email": email}))
        }
        Err(resp) => resp,
    }
}

async fn list_zones(
    State(state): State<MockState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let account_id = match authenticate(&state, &headers) {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let world = state.world();
    let Some(account) = world.account(&account_id) else {
        return error(
            StatusCode::FORBIDDEN,
            9109,
            "Unauthorized to access requested resource",
        );
    };
    if let Some(wanted) = q.get("account.id")
        && wanted != &account.id
    {
        return paginate(Vec::new(), 1, 20);
    }
    let items: Vec<Value> = account
        .domains
        .iter()
        .filter(|d| d.hosted_zone)
        .filter(|d| {
            q.get("name")
                .is_none_or(|n| normalise(n) == normalise(&d.name))
        })
        .map(|d| zone_json(account, d))
        .collect();
    let (page, per_page) = page_params(&q, 20);
    paginate(items, page, per_page)
}

async fn get_zone(
    State(state): State<MockState>,
    headers: HeaderMap,
    Path(zone): Path<String>,
) -> Response {
    let account_id = match authenticate(&state, &headers) {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let world = state.world();
    let found = world.account(&account_id).and_then(|a| {
        a.domains
            .iter()
            .find(|d| d.hosted_zone && zone_id(&d.name) == zone)
            .map(|d| zone_json(a, d))
    });
    match found {
        Some(z) => ok(z),
        None => error(
            StatusCode::BAD_REQUEST,
            7003,
            "Could not route to /zones, perhaps your object identifier is invalid?",
        ),
    }
}

async fn list_records(
    State(state): State<MockState>,
    headers: HeaderMap,
    Path(zone): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let result = with_zone(&state, &headers, &zone, |d, _| {
        let items: Vec<Value> = d
            .records
            .iter()
            .filter(|r| {
                q.get("type")
                    .is_none_or(|t| t.eq_ignore_ascii_case(&r.rtype))
            })
            .filter(|r| matches_filter(&q, "name", &fqdn(&d.name, &r.name)))
            .filter(|r| matches_filter(&q, "content", &r.content))
            .map(|r| record_json(d, r))
            .collect();
        Ok(items)
    });
    match result {
        Ok(items) => {
            let (page, per_page) = page_params(&q, 100);
            paginate(items, page, per_page)
        }
        Err(resp) => resp,
    }
}

/// Cloudflare's record list filters on `field`: the plain `field=` and
/// the operator forms the official SDKs send (`field.exact`,
/// `field.contains`, `field.startswith`, `field.endswith`), all
/// case-insensitive and ignoring a trailing dot.
fn matches_filter(q: &HashMap<String, String>, field: &str, value: &str) -> bool {
    let value = normalise(value);
    let wanted = |op: &str| {
        let key = if op.is_empty() {
            field.to_owned()
        } else {
            format!("{field}.{op}")
        };
        q.get(&key).map(|w| normalise(w))
    };
    wanted("").is_none_or(|w| value == w)
        && wanted("exact").is_none_or(|w| value == w)
        && wanted("contains").is_none_or(|w| value.contains(&w))
        && wanted("startswith").is_none_or(|w| value.starts_with(&w))
        && wanted("endswith").is_none_or(|w| value.ends_with(&w))
}

const TYPES: &[&str] = &[
    "A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR", "NS",
    "PTR", "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI",
];

/// Parses and validates a record body into (relative name, record).
fn parse_record(zone: &Domain, body: &Value, base: Option<&Record>) -> Result<Record, Response> {
    let invalid = |m: &str| {
        error(
            StatusCode::BAD_REQUEST,
            1004,
            &format!("DNS Validation Error: {m}"),
        )
    };
    let get_str = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let rtype = get_str("type")
        .or_else(|| base.map(|b| b.rtype.clone()))
        .ok_or_else(|| invalid("type is required"))?
        .to_ascii_uppercase();
    if !TYPES.contains(&rtype.as_str()) {
        return Err(invalid(&format!("unsupported record type {rtype}")));
    }
    let name = match get_str("name") {
        Some(n) => relative(&zone.name, &n),
        None => base
            .map(|b| b.name.clone())
            .ok_or_else(|| invalid("name is required"))?,
    };
    let content = if rtype == "DS" {
        match body.get("data") {
            Some(data) => {
                let n = |k: &str| data.get(k).and_then(Value::as_u64);
                let digest = data.get("digest").and_then(Value::as_str).unwrap_or("");
                match (n("key_tag"), n("algorithm"), n("digest_type")) {
                    (Some(t), Some(a), Some(d)) if !digest.is_empty() => {
                        format!("{t} {a} {d} {}", digest.to_ascii_uppercase())
                    }
                    _ => {
                        return Err(invalid(
                            "DS data needs key_tag, algorithm, digest_type and digest",
                        ));
                    }
                }
            }
            None => get_str("content")
                .or_else(|| base.map(|b| b.content.clone()))
                .ok_or_else(|| invalid("DS needs a data object"))?,
        }
    } else {
        get_str("content")
            .or_else(|| base.map(|b| b.content.clone()))
            .ok_or_else(|| invalid("content is required"))?
    };
    let content = if matches!(rtype.as_str(), "NS" | "CNAME" | "MX") {
        normalise(&content)
    } else {
        content
    };
    let ttl = match body.get("ttl") {
        Some(t) => t.as_u64().ok_or_else(|| invalid("ttl must be a number"))? as u32,
        None => base.map(|b| b.ttl).unwrap_or(1),
    };
    if ttl != 1 && !(60..=86400).contains(&ttl) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            9021,
            "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.",
        ));
    }
    let priority = body
        .get("priority")
        .and_then(Value::as_u64)
        .map(|p| p as u16)
        .or_else(|| base.and_then(|b| b.priority));
    Ok(Record {
        id: base.and_then(|b| b.id.clone()),
        name,
        rtype,
        content,
        ttl,
        priority,
    })
}

/// Cloudflare's conflict rules for adding `new` to the zone (ignoring the
/// record `except`, when updating it).
fn conflicts(zone: &Domain, new: &Record, except: Option<&str>) -> Result<(), Response> {
    let same_name: Vec<&Record> = zone
        .records
        .iter()
        .filter(|r| r.name == new.name && r.id.as_deref() != except)
        .collect();
    if let Some(dup) = same_name
        .iter()
        .find(|r| r.rtype == new.rtype && r.content.eq_ignore_ascii_case(&new.content))
    {
        return Err(if dup.ttl == new.ttl {
            error(
                StatusCode::BAD_REQUEST,
                81058,
                "An identical record already exists.",
            )
        } else {
            error(StatusCode::BAD_REQUEST, 81057, "The record already exists.")
        });
    }
    let has = |t: &str| same_name.iter().any(|r| r.rtype == t);
    if new.name != "@" && matches!(new.rtype.as_str(), "A" | "AAAA" | "CNAME") && has("NS") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            81056,
            "NS records with that host already exist.",
        ));
    }
    if new.rtype == "CNAME" && !same_name.is_empty() || new.rtype != "CNAME" && has("CNAME") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            81053,
            "An A, AAAA, or CNAME record with that host already exists.",
        ));
    }
    if new.rtype == "NS" && same_name.iter().filter(|r| r.rtype == "NS").count() >= MAX_NS_PER_NAME
    {
        return Err(error(
            StatusCode::BAD_REQUEST,
            1004,
            "DNS Validation Error: at most 10 NS records per name",
        ));
    }
    Ok(())
}

fn parse_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body)
        .map_err(|_| error(StatusCode::BAD_REQUEST, 9207, "Request body is invalid."))
}

async fn create_record(
    State(state): State<MockState>,
    headers: HeaderMap,
    Path(zone): Path<String>,
    body: Bytes,
) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let result = with_zone(&state, &headers, &zone, |d, world| {
        let mut record = parse_record(d, &body, None)?;
        conflicts(d, &record, None)?;
        record.id = Some(format!("{:032x}", world.next_id()));
        let json = record_json(d, &record);
        d.records.push(record);
        Ok(json)
    });
    result.map(ok).unwrap_or_else(|r| r)
}

fn find_record<'a>(d: &'a mut Domain, id: &str) -> Result<&'a mut Record, Response> {
    d.records
        .iter_mut()
        .find(|r| r.id.as_deref() == Some(id))
        .ok_or_else(|| error(StatusCode::NOT_FOUND, 81044, "Record does not exist."))
}

async fn get_record(
    State(state): State<MockState>,
    headers: HeaderMap,
    Path((zone, id)): Path<(String, String)>,
) -> Response {
    with_zone(&state, &headers, &zone, |d, _| {
        let r = find_record(d, &id)?.clone();
        Ok(record_json(d, &r))
    })
    .map(ok)
    .unwrap_or_else(|r| r)
}

async fn update(
    state: MockState,
    headers: HeaderMap,
    zone: String,
    id: String,
    body: Bytes,
    full: bool,
) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    with_zone(&state, &headers, &zone, |d, _| {
        let current = find_record(d, &id)?.clone();
        let new = parse_record(d, &body, if full { None } else { Some(&current) })?;
        let new = Record {
            id: current.id.clone(),
            ..new
        };
        conflicts(d, &new, Some(&id)).or_else(|resp| {
            // Changing only the TTL of a record is not a duplicate of itself.
            if new.rtype == current.rtype
                && new.content == current.content
                && new.name == current.name
            {
                Ok(())
            } else {
                Err(resp)
            }
        })?;
        *find_record(d, &id)? = new.clone();
        Ok(record_json(d, &new))
    })
    .map(ok)
    .unwrap_or_else(|r| r)
}

/// `PUT` replaces the record, `PATCH` changes the fields it names.
async fn update_record(
    State(state): State<MockState>,
    method: Method,
    headers: HeaderMap,
    Path((zone, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    update(state, headers, zone, id, body, method == Method::PUT).await
}

async fn delete_record(
    State(state): State<MockState>,
    headers: HeaderMap,
    Path((zone, id)): Path<(String, String)>,
) -> Response {
    with_zone(&state, &headers, &zone, |d, _| {
        find_record(d, &id)?;
        d.records.retain(|r| r.id.as_deref() != Some(id.as_str()));
        Ok(json!({"id": id}))
    })
    .map(ok)
    .unwrap_or_else(|r| r)
}

fn dnssec_json(d: &Domain) -> Value {
    let status = d
        .extra
        .get("dnssec")
        .and_then(Value::as_str)
        .unwrap_or("disabled")
        .to_owned();
    let mut v = json!({"status": status, "flags": null, "algorithm": null, "key_tag": null,
        "digest": null, "digest_type": null, "digest_algorithm": null, "ds": null, "public_key": null});
    if status == "active" || status == "pending" {
        if let Some(ds) = d.ds.first() {
            v["key_tag"] = json!(ds.key_tag);
            v["algorithm"] = json!(ds.algorithm.to_string());
            v["digest_type"] = json!(ds.digest_type.to_string());
            v["digest_algorithm"] = json!(match ds.digest_type {
                1 => "SHA1",
                4 => "SHA384",
                _ => "SHA256",
            });
            v["digest"] = json!(ds.digest.to_ascii_uppercase());
            v["flags"] = json!(257);
            v["ds"] = json!(format!("{}. 3600 IN DS {ds}", normalise(&d.name)));
        }
        if let Some(key) = d.dnskeys.first() {
            v["public_key"] = json!(key.public_key);
        }
    }
    v
}

async fn get_dnssec(
    State(state): State<MockState>,
    headers: HeaderMap,
    Path(zone): Path<String>,
) -> Response {
    with_zone(&state, &headers, &zone, |d, _| Ok(dnssec_json(d)))
        .map(ok)
        .unwrap_or_else(|r| r)
}

async fn patch_dnssec(
    State(state): State<MockState>,
    headers: HeaderMap,
    Path(zone): Path<String>,
    body: Bytes,
) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    with_zone(&state, &headers, &zone, |d, _| {
        match body.get("status").and_then(Value::as_str) {
            Some(s @ ("active" | "disabled")) => {
                d.extra.insert("dnssec".into(), json!(s));
                Ok(dnssec_json(d))
            }
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                1004,
                "status must be active or disabled",
            )),
        }
    })
    .map(ok)
    .unwrap_or_else(|r| r)
}

async fn delete_dnssec(
    State(state): State<MockState>,
    headers: HeaderMap,
    Path(zone): Path<String>,
) -> Response {
    with_zone(&state, &headers, &zone, |d, _| {
        d.extra.insert("dnssec".into(), json!("disabled"));
        Ok(json!({"status": "disabled"}))
    })
    .map(ok)
    .unwrap_or_else(|r| r)
}
