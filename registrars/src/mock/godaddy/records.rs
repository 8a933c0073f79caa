//! GoDaddy v1 DNS records in the mock, as GoDaddy's clients call them:
//! one type at one name (`GET|PUT|DELETE /v1/domains/{d}/records/{type}/{name}`),
//! one type (`GET …/records/{type}`) and the append
//! (`PATCH /v1/domains/{d}/records`, a list of `{type,name,data,ttl}`).
//!
//! The wider `PUT`s that replace every record (of a type) are not served:
//! no client of ours may use them (spec §4.3 (c)). Lists honour `limit`;
//! `offset` is accepted and ignored, because GoDaddy's clients disagree on
//! it (godaddypy sends `offset=1` as a page number) — a mock convention.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{
    Gd, authenticate, error, extra_u64, invalid_field, not_found, parse_json, with_domain,
};
use crate::mock::seed::{Domain, Record, normalise};

/// The relative owner name as stored (`@` for the apex).
fn owner(name: &str) -> String {
    let n = normalise(name);
    if n.is_empty() { "@".into() } else { n }
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    limit: Option<usize>,
}

/// The records of `rtype` (at `name`, when given), in GoDaddy's shape;
/// `None` when the provider does not host the zone.
fn list(
    gd: &Gd,
    headers: &HeaderMap,
    domain: &str,
    rtype: &str,
    name: Option<&str>,
    limit: Option<usize>,
) -> Response {
    let account = match authenticate(&gd.state, headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let rtype = rtype.to_ascii_uppercase();
    let name = name.map(owner);
    let records = with_domain(&gd.state, &account, domain, |d| {
        d.hosted_zone.then(|| {
            d.records
                .iter()
                .filter(|r| r.rtype == rtype)
                .filter(|r| name.as_ref().is_none_or(|n| owner(&r.name) == *n))
                .take(limit.unwrap_or(usize::MAX))
                .map(|r| {
                    json!({ "data": r.content, "name": owner(&r.name), "ttl": r.ttl, "type": rtype })
                })
                .collect::<Vec<_>>()
        })
    });
    match records {
        Ok(Some(list)) => axum::Json(list).into_response(),
        Ok(None) => not_found(),
        Err(r) => r,
    }
}

pub(super) async fn at_name(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((domain, rtype, name)): Path<(String, String, String)>,
    Query(q): Query<ListQuery>,
) -> Response {
    list(&gd, &headers, &domain, &rtype, Some(&name), q.limit)
}

pub(super) async fn of_type(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((domain, rtype)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Response {
    list(&gd, &headers, &domain, &rtype, None, q.limit)
}

/// One record of a write body; `type` and `name` only in the append.
#[derive(Deserialize)]
struct RecordBody {
    #[serde(default, rename = "type")]
    rtype: Option<String>,
    #[serde(default)]
    name: Option<String>,
    data: String,
    #[serde(default)]
    ttl: Option<u32>,
}

/// The caller's account and a write body, checked against the minimum
/// TTL (GoDaddy's field error on the first that is too short).
fn authed_records(
    gd: &Gd,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, Vec<RecordBody>), Response> {
    let account = authenticate(&gd.state, headers)?;
    let items: Vec<RecordBody> = parse_json(body)?;
    let min_ttl = extra_u64(&gd.state, "godaddy_min_ttl", 600) as u32;
    match items
        .iter()
        .position(|item| item.ttl.unwrap_or(3600) < min_ttl)
    {
        Some(i) => Err(invalid_field(
            &format!("records[{i}].ttl"),
            &format!("ttl must be at least {min_ttl}"),
        )),
        None => Ok((account, items)),
    }
}

/// Applies `change` to a hosted zone with ids ready for `fresh` new
/// records; notes the write. 404 when the zone is not hosted.
fn write(
    gd: &Gd,
    account: &str,
    domain: &str,
    fresh: usize,
    what: &str,
    change: impl FnOnce(&mut Domain, Vec<String>),
) -> Response {
    let ids: Vec<String> = {
        let mut world = gd.state.world();
        (0..fresh).map(|_| world.next_id().to_string()).collect()
    };
    let done = with_domain(&gd.state, account, domain, |d| {
        if !d.hosted_zone {
            return false;
        }
        change(d, ids);
        true
    });
    match done {
        Ok(true) => {
            gd.state.note(format!("write records {what}.{domain}"));
            StatusCode::OK.into_response()
        }
        Ok(false) => not_found(),
        Err(r) => r,
    }
}

fn record(id: String, name: &str, rtype: &str, item: &RecordBody) -> Record {
    Record {
        id: Some(id),
        name: name.to_owned(),
        rtype: rtype.to_owned(),
        content: normalise(&item.data),
        ttl: item.ttl.unwrap_or(3600),
        priority: None,
    }
}

/// `PUT …/records/{type}/{name}`: replaces that set only.
pub(super) async fn replace_at_name(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((domain, rtype, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let (account, items) = match authed_records(&gd, &headers, &body) {
        Ok(parts) => parts,
        Err(r) => return r,
    };
    let (rtype, name) = (rtype.to_ascii_uppercase(), owner(&name));
    let what = format!("{rtype} {name}");
    write(&gd, &account, &domain, items.len(), &what, |d, ids| {
        d.records
            .retain(|r| !(r.rtype == rtype && owner(&r.name) == name));
        for (item, id) in items.iter().zip(ids) {
            d.records.push(record(id, &name, &rtype, item));
        }
    })
}

/// `PATCH /v1/domains/{d}/records`: adds records, keeping every other.
pub(super) async fn append(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    body: Bytes,
) -> Response {
    let (account, items) = match authed_records(&gd, &headers, &body) {
        Ok(parts) => parts,
        Err(r) => return r,
    };
    for (i, item) in items.iter().enumerate() {
        if item.rtype.is_none() || item.name.is_none() {
            return invalid_field(&format!("records[{i}]"), "type and name are required");
        }
    }
    write(&gd, &account, &domain, items.len(), "append", |d, ids| {
        for (item, id) in items.iter().zip(ids) {
            let rtype = item
                .rtype
                .as_deref()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let name = owner(item.name.as_deref().unwrap_or_default());
            d.records.push(record(id, &name, &rtype, item));
        }
    })
}

/// `DELETE …/records/{type}/{name}`: 204, or 404 when there was none.
pub(super) async fn delete_at_name(
    State(gd): State<Gd>,
    headers: HeaderMap,
    Path((domain, rtype, name)): Path<(String, String, String)>,
) -> Response {
    let account = match authenticate(&gd.state, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (rtype, name) = (rtype.to_ascii_uppercase(), owner(&name));
    let removed = with_domain(&gd.state, &account, &domain, |d| {
        let before = d.records.len();
        d.records
            .retain(|r| !(r.rtype == rtype && owner(&r.name) == name));
        before - d.records.len()
    });
    match removed {
        Ok(0) => error(
            404,
            "NOT_FOUND",
            "No records found for the given type and name",
        ),
        Ok(_) => {
            gd.state
                .note(format!("write records {rtype} {name}.{domain}"));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}
