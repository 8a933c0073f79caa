//! `/api/v1/servers/{server}/zones…`: list, create, read, change, delete.

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::{ApiError, unprocessable};
use super::patch::{CreateZone, RRsetChange, apply_patch, create_zone, request_name, zone_kind};
use super::serve::Connection;
use super::view::{self, Detail};
use super::{ApiState, ids};
use crate::dnssec::Algorithm;
use crate::dnssec::keys::KeyState;
use crate::wire::{Name, RType};
use crate::zones::serial::{is_known_rule, unix_now};
use crate::zones::{Registry, ZoneView};

pub fn router() -> Router<ApiState> {
    Router::new()
        .route(
            "/api/v1/servers",
            get(|| async { axum::Json(json!([view::server()])) }),
        )
        .route("/api/v1/servers/{server}", get(server))
        .route("/api/v1/servers/{server}/zones", get(list).post(create))
        .route(
            "/api/v1/servers/{server}/zones/{id}",
            get(detail).patch(patch_rrsets).put(settings).delete(remove),
        )
        .route("/api/v1/servers/{server}/zones/{id}/rectify", put(rectify))
        .route("/api/v1/servers/{server}/zones/{id}/notify", put(notify))
        .route("/api/v1/servers/{server}/zones/{id}/export", get(export))
        .route(
            "/api/v1/servers/{server}/zones/{id}/cryptokeys",
            get(cryptokeys).post(add_cryptokey),
        )
        .route(
            "/api/v1/servers/{server}/zones/{id}/cryptokeys/{key_id}",
            get(cryptokey)
                .put(change_cryptokey)
                .delete(remove_cryptokey),
        )
        .route(
            "/api/v1/servers/{server}/zones/{id}/metadata",
            get(metadata_list),
        )
        .route(
            "/api/v1/servers/{server}/zones/{id}/metadata/{kind}",
            get(metadata_get),
        )
}

/// Only `localhost` exists.
fn check_server(server: &str) -> Result<(), ApiError> {
    if server == "localhost" {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Zone name from a path id: `=XX` escapes, trailing dot optional.
fn zone_from_id(id: &str) -> Result<Name, ApiError> {
    let text =
        ids::decode(id).ok_or_else(|| ApiError::BadRequest(format!("Invalid zone id '{id}'")))?;
    let text = if text.ends_with('.') {
        text
    } else {
        format!("{text}.")
    };
    Name::from_text(&text, None)
        .map(|n| n.to_lowercase())
        .map_err(|e| ApiError::BadRequest(format!("Invalid zone id '{id}': {e}")))
}

fn find(state: &ApiState, server: &str, id: &str) -> Result<ZoneView, ApiError> {
    check_server(server)?;
    let name = zone_from_id(id)?;
    state.zones.get(&name).ok_or(ApiError::NotFound)
}

/// Parses a JSON body: unparsable JSON is 400, a wrong shape is 422.
fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("Could not parse JSON body: {e}")))?;
    serde_json::from_value(value).map_err(|e| unprocessable(format!("Invalid JSON body: {e}")))
}

/// Runs blocking zone work (locks, fsync) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

async fn server(Path(server): Path<String>) -> Result<Response, ApiError> {
    check_server(&server)?;
    Ok(axum::Json(view::server()).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    zone: Option<String>,
    dnssec: Option<bool>,
}

async fn list(
    State(state): State<ApiState>,
    Path(server): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    check_server(&server)?;
    let filter = match &q.zone {
        Some(text) => Some(
            Name::from_text(
                if text.ends_with('.') {
                    text
                } else {
                    return Ok(axum::Json(json!([])).into_response());
                },
                None,
            )
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    let detail = Detail {
        dnssec_fields: q.dnssec.unwrap_or(true),
        rrsets: false,
        rrset_name: None,
        rrset_type: None,
        include_disabled: true,
    };
    // One zone asked for by name is looked up, not found in the list:
    // its cost must not grow with the number of zones.
    let views = match &filter {
        Some(name) => state.zones.get(name).into_iter().collect(),
        None => state.zones.list(),
    };
    let zones: Vec<Value> = views
        .iter()
        .map(|v| {
            let mut z = view::zone(v, Some(detail));
            // The list form carries only the list fields.
            if let Some(o) = z.as_object_mut() {
                for key in [
                    "soa_edit_api",
                    "soa_edit",
                    "nsec3param",
                    "nsec3narrow",
                    "api_rectify",
                    "master_tsig_key_ids",
                    "slave_tsig_key_ids",
                ] {
                    o.remove(key);
                }
            }
            z
        })
        .collect();
    Ok(axum::Json(zones).into_response())
}

#[derive(Deserialize)]
struct DetailQuery {
    rrsets: Option<bool>,
    rrset_name: Option<String>,
    rrset_type: Option<String>,
    include_disabled: Option<bool>,
}

async fn detail(
    State(state): State<ApiState>,
    Path((server, id)): Path<(String, String)>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, ApiError> {
    let view = find(&state, &server, &id)?;
    let rrset_name = match &q.rrset_name {
        Some(n) => Some(request_name(n, true)?),
        None => None,
    };
    let rrset_type = match (&q.rrset_type, &rrset_name) {
        (Some(t), Some(_)) => {
            Some(RType::from_text(t).ok_or_else(|| unprocessable(format!("unknown type '{t}'")))?)
        }
        _ => None,
    };
    let detail = Detail {
        dnssec_fields: true,
        rrsets: q.rrsets.unwrap_or(true),
        rrset_name: rrset_name.as_ref(),
        rrset_type,
        include_disabled: q.include_disabled.unwrap_or(true),
    };
    Ok(axum::Json(view::zone(&view, Some(detail))).into_response())
}

#[derive(Deserialize)]
struct CreateQuery {
    rrsets: Option<bool>,
}

async fn create(
    State(state): State<ApiState>,
    Path(server): Path<String>,
    Query(q): Query<CreateQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_server(&server)?;
    let request: CreateZone = json_body(&body)?;
    if request
        .kind
        .as_deref()
        .is_some_and(|kind| zone_kind(kind).is_ok_and(|k| k == "Slave"))
    {
        return create_secondary(state, request).await;
    }
    let zones = state.zones.clone();
    let model = blocking(move || {
        let model = create_zone(&request, unix_now())?;
        let created = zones.create(model)?;
        if request.dnssec == Some(true) {
            set_dnssec(&zones, &created.name, true)?;
        }
        Ok(created)
    })
    .await?;
    let view = state.zones.get(&model.name).ok_or(ApiError::NotFound)?;
    let detail = Detail {
        dnssec_fields: true,
        rrsets: q.rrsets.unwrap_or(true),
        rrset_name: None,
        rrset_type: None,
        include_disabled: true,
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(view::zone(&view, Some(detail))),
    )
        .into_response())
}

#[derive(Deserialize)]
struct PatchBody {
    rrsets: Option<Value>,
}

async fn patch_rrsets(
    State(state): State<ApiState>,
    Path((server, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_server(&server)?;
    let name = zone_from_id(&id)?;
    let request: PatchBody = json_body(&body)?;
    let changes: Vec<RRsetChange> = match request.rrsets {
        Some(Value::Array(items)) => serde_json::from_value(Value::Array(items))
            .map_err(|e| unprocessable(format!("Invalid rrsets in update request: {e}")))?,
        _ => return Err(unprocessable("No rrsets given in update request")),
    };
    let zones = state.zones.clone();
    let serials = blocking(move || {
        zones.update(&name, |current| {
            let patched = apply_patch(current, &changes, unix_now())?;
            let serials = (patched.old_serial, patched.new_serial);
            Ok((
                patched.changed.then_some(patched.zone),
                patched.changed.then_some(serials),
            ))
        })
    })
    .await?;
    state.metrics.api_change();
    let mut headers = HeaderMap::new();
    if let Some((old, new)) = serials {
        headers.insert("X-PDNS-Old-Serial", HeaderValue::from(old));
        headers.insert("X-PDNS-New-Serial", HeaderValue::from(new));
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

#[derive(Deserialize)]
struct SettingsBody {
    kind: Option<String>,
    masters: Option<Vec<String>>,
    catalog: Option<String>,
    account: Option<String>,
    soa_edit: Option<String>,
    soa_edit_api: Option<String>,
    api_rectify: Option<bool>,
    dnssec: Option<bool>,
    nsec3param: Option<String>,
    nsec3narrow: Option<bool>,
    rrsets: Option<Vec<RRsetChange>>,
}

async fn settings(
    State(state): State<ApiState>,
    Path((server, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_server(&server)?;
    let name = zone_from_id(&id)?;
    let request: SettingsBody = json_body(&body)?;
    let dnssec = request.dnssec;
    let zones = state.zones.clone();
    let key_zones = state.zones.clone();
    let key_name = name.clone();
    blocking(move || {
        zones.update(&name, |current| {
            let mut next = current.clone();
            let s = &mut next.settings;
            if let Some(kind) = &request.kind {
                s.kind = zone_kind(kind)?;
            }
            if let Some(v) = &request.masters {
                s.masters = v.clone();
            }
            if let Some(v) = &request.catalog {
                s.catalog = v.clone();
            }
            if let Some(v) = &request.account {
                s.account = v.clone();
            }
            if let Some(v) = &request.soa_edit {
                s.soa_edit = v.clone();
            }
            if let Some(v) = &request.soa_edit_api {
                if !is_known_rule(v) {
                    tracing::warn!(zone = %current.name, rule = %v, "unknown soa_edit_api value; serials will move as with DEFAULT");
                }
                s.soa_edit_api = v.clone();
            }
            if let Some(v) = request.api_rectify {
                s.api_rectify = v;
            }
            if let Some(v) = request.nsec3narrow {
                s.nsec3narrow = v;
            }
            if request.nsec3param.as_deref().is_some_and(|p| !p.is_empty()) {
                return Err(unprocessable(format!(
                    "NSEC3PARAM value provided for zone '{}', but zone is not DNSSEC secured.",
                    current.name
                )));
            }
            if let Some(rrsets) = &request.rrsets {
                let mut replaced = current.clone();
                replaced.rrsets = Default::default();
                let changes: Vec<RRsetChange> = rrsets
                    .iter()
                    .cloned()
                    .map(|mut c| {
                        c.changetype = Some("REPLACE".into());
                        c
                    })
                    .collect();
                let patched = apply_patch(&replaced, &changes, unix_now())?;
                if patched.zone.serial().is_none() {
                    return Err(unprocessable("Must give SOA record for zone when replacing all RR sets"));
                }
                next.rrsets = patched.zone.rrsets;
            }
            let changed = next != *current;
            Ok((changed.then_some(next), ()))
        })
    })
    .await?;
    if let Some(on) = dnssec {
        blocking(move || set_dnssec(&key_zones, &key_name, on)).await?;
    }
    state.metrics.api_change();
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `dnssec: true` creates the default key set (one CSK, or KSK+ZSK with
/// `--dnssec-split`) when the zone has no key; `false` removes every key.
/// Either way is a no-op when the zone is already so (pdns-api.md §6.3).
fn set_dnssec(zones: &Registry, name: &Name, on: bool) -> Result<(), ApiError> {
    let signed = zones.get(name).ok_or(ApiError::NotFound)?.keys().is_some();
    if signed == on {
        return Ok(());
    }
    zones.change_keys(name, |store, policy, zone| {
        if on {
            store.ensure_keys(zone, policy).map(drop)
        } else {
            store.load(zone).and_then(|keys| {
                keys.iter()
                    .try_for_each(|k| store.remove(zone, k.key.algorithm(), k.key.tag()))
            })
        }
        .map_err(|e| {
            if on {
                ApiError::Internal(e.to_string())
            } else {
                unprocessable(format!("Error while un-securing zone '{zone}': {e}"))
            }
        })
    })
}

/// `kind: Slave` (or `Secondary`) with `masters`: a secondary zone,
/// refreshed from them at once and kept current by transfers.
async fn create_secondary(state: ApiState, request: CreateZone) -> Result<Response, ApiError> {
    let name_text = request
        .name
        .as_deref()
        .ok_or_else(|| unprocessable("Key 'name' not present or not a String"))?;
    let origin = request_name(name_text, false)?;
    if request.masters.is_empty() {
        return Err(unprocessable(format!(
            "Zone '{origin}' of kind Slave needs at least one entry in 'masters'"
        )));
    }
    if request.rrsets.as_ref().is_some_and(|r| !r.is_empty()) || request.zone.is_some() {
        return Err(unprocessable(
            "A Slave zone gets its records from its masters; do not give rrsets or zone data",
        ));
    }
    let primaries = request
        .masters
        .iter()
        .map(|text| primary_from_api(text))
        .collect::<Result<Vec<_>, _>>()?;
    for peer in &primaries {
        if let Some(key) = &peer.key {
            state.replicator.key(key).map_err(unprocessable)?;
        }
    }
    let source = crate::config::replication::SecondarySource { origin, primaries };
    let zones = state.zones.clone();
    let created = source.clone();
    blocking(move || Ok(zones.create_secondary(created)?)).await?;
    state.replicator.start_refresher(source.clone());
    state.metrics.api_change();
    let view = state.zones.get(&source.origin).ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, axum::Json(view::zone(&view, None))).into_response())
}

/// A `masters` entry: `ADDR`, `ADDR:PORT` or `[V6]:PORT`, and optionally
/// `:KEYNAME` after the port (PowerDNS's default port is 53).
fn primary_from_api(text: &str) -> Result<crate::config::replication::Peer, ApiError> {
    use crate::config::replication::Peer;
    if let Ok(ip) = text.trim().parse::<std::net::IpAddr>() {
        return Ok(Peer {
            addr: std::net::SocketAddr::new(ip, 53),
            key: None,
        });
    }
    Peer::parse(text).map_err(|e| unprocessable(format!("Invalid master '{text}': {e}")))
}

async fn remove(
    State(state): State<ApiState>,
    Path((server, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    check_server(&server)?;
    let name = zone_from_id(&id)?;
    let zones = state.zones.clone();
    let deleted = name.clone();
    blocking(move || Ok(zones.delete(&deleted)?)).await?;
    state.replicator.stop_refresher(&name);
    state.metrics.api_change();
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// dnsd signs online, so there is nothing to rectify.
async fn rectify(
    State(state): State<ApiState>,
    Path((server, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    find(&state, &server, &id)?;
    Ok(axum::Json(json!({"result": "Rectified"})).into_response())
}

/// Accepted for any existing zone, as PowerDNS does.
async fn notify(
    State(state): State<ApiState>,
    Path((server, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    find(&state, &server, &id)?;
    Ok(axum::Json(json!({"result": "Notification queued"})).into_response())
}

/// The zone as zone-file text.
async fn export(
    State(state): State<ApiState>,
    Path((server, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let view = find(&state, &server, &id)?;
    let detail = Detail {
        dnssec_fields: false,
        rrsets: true,
        rrset_name: None,
        rrset_type: None,
        include_disabled: false,
    };
    let zone = view::zone(&view, Some(detail));
    let mut text = String::new();
    for set in zone["rrsets"].as_array().into_iter().flatten() {
        for record in set["records"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "{}\t{}\tIN\t{}\t{}\n",
                set["name"].as_str().unwrap_or_default(),
                set["ttl"],
                set["type"].as_str().unwrap_or_default(),
                record["content"].as_str().unwrap_or_default()
            ));
        }
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// The zone's keys (none for an unsigned zone).
async fn cryptokeys(
    State(state): State<ApiState>,
    Path((server, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let view = find(&state, &server, &id)?;
    let keys: Vec<Value> = view
        .keys()
        .map(|keys| keys.keys().iter().map(view::cryptokey).collect())
        .unwrap_or_default();
    Ok(axum::Json(keys).into_response())
}

/// One key by id (its key tag). With `privatekey` (PowerDNS's single-key
/// GET) only over a private channel ([`Connection::is_private`]: TLS, or
/// a loopback peer); the route already requires the API key. This is how
/// edges fetch a signed zone's keys (`xfr::keysync`).
async fn cryptokey(
    State(state): State<ApiState>,
    connection: Option<Extension<Connection>>,
    Path((server, id, key_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let view = find(&state, &server, &id)?;
    let tag = key_tag(&key_id)?;
    let zone_key = view
        .keys()
        .and_then(|keys| keys.keys().iter().find(|k| k.key.tag() == tag).cloned())
        .ok_or(ApiError::NotFound)?;
    let mut key = view::cryptokey(&zone_key);
    if shows_private_key(connection.map(|Extension(c)| c)) {
        key["privatekey"] = Value::String(zone_key.key.to_pdns_private());
    }
    Ok(axum::Json(key).into_response())
}

/// Whether a single-key GET on `connection` includes `privatekey`: only
/// over TLS or from a loopback peer; a request whose connection is
/// unknown (not served by `api::serve`) never gets it.
fn shows_private_key(connection: Option<Connection>) -> bool {
    connection.is_some_and(|c| c.is_private())
}

fn key_tag(key_id: &str) -> Result<u16, ApiError> {
    key_id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("Invalid key id '{key_id}'")))
}

#[derive(Deserialize)]
struct NewKey {
    keytype: Option<String>,
    active: Option<bool>,
    published: Option<bool>,
    algorithm: Option<Value>,
    bits: Option<u32>,
    privatekey: Option<String>,
    content: Option<String>,
}

/// Maps PowerDNS algorithm names and numbers to what dnsd can generate.
fn algorithm(value: Option<&Value>, default: Algorithm) -> Result<Algorithm, ApiError> {
    let Some(value) = value else {
        return Ok(default);
    };
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.to_ascii_lowercase(),
        _ => return Err(unprocessable("Unknown algorithm: not a name or number")),
    };
    match text.as_str() {
        "13" | "ecdsa256" | "ecdsap256sha256" => Ok(Algorithm::EcdsaP256Sha256),
        "15" | "ed25519" => Ok(Algorithm::Ed25519),
        "5" | "7" | "8" | "10" | "14" | "16" | "rsasha1" | "rsasha1-nsec3-sha1" | "rsasha256"
        | "rsasha512" | "ecdsa384" | "ecdsap384sha384" | "ed448" => Err(unprocessable(
            "Adding key failed, perhaps DNSSEC not enabled in configuration?",
        )),
        _ => Err(unprocessable(format!("Unknown algorithm: {text}"))),
    }
}

async fn add_cryptokey(
    State(state): State<ApiState>,
    Path((server, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_server(&server)?;
    let name = zone_from_id(&id)?;
    let request: NewKey = json_body(&body)?;
    let flags = match request
        .keytype
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("ksk") | Some("csk") => 257,
        Some("zsk") => 256,
        Some(other) => return Err(unprocessable(format!("Invalid keytype {other}"))),
        None => return Err(unprocessable("Invalid keytype (none given)")),
    };
    if request.privatekey.is_some() || request.content.is_some() {
        return Err(unprocessable(
            "Importing keys through the API is not supported; let dnsd generate them",
        ));
    }
    if request.bits.is_some_and(|bits| bits != 256) {
        return Err(unprocessable(
            "bits must be 256 for ECDSAP256SHA256 and ED25519",
        ));
    }
    let state_wanted = KeyState {
        active: request.active.unwrap_or(false),
        published: request.published.unwrap_or(true),
    };
    let zones = state.zones.clone();
    let tag = blocking(move || {
        zones.change_keys(&name, |store, policy, zone| {
            let algorithm = algorithm(request.algorithm.as_ref(), policy.algorithm)?;
            let now = unix_now();
            let stored = store
                .generate(zone, algorithm, flags, now)
                .and_then(|k| store.set_state(zone, algorithm, k.key.tag(), state_wanted, now))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(stored.key.tag())
        })
    })
    .await?;
    state.metrics.api_change();
    let view = find(&state, &server, &id)?;
    let key = view
        .keys()
        .and_then(|keys| keys.keys().iter().find(|k| k.key.tag() == tag).map(view::cryptokey))
        .unwrap_or_else(|| json!({"type": "Cryptokey", "id": tag, "active": state_wanted.active, "published": state_wanted.published}));
    Ok((StatusCode::CREATED, axum::Json(key)).into_response())
}

#[derive(Deserialize)]
struct KeyChange {
    active: Option<bool>,
    published: Option<bool>,
}

/// `PUT …/cryptokeys/{id}`: activate or deactivate, publish or withdraw.
async fn change_cryptokey(
    State(state): State<ApiState>,
    Path((server, id, key_id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_server(&server)?;
    let name = zone_from_id(&id)?;
    let tag = key_tag(&key_id)?;
    let request: KeyChange = json_body(&body)?;
    let zones = state.zones.clone();
    blocking(move || {
        zones.change_keys(&name, |store, _, zone| {
            let now = unix_now();
            let stored = store
                .load(zone)
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .into_iter()
                .find(|k| k.key.tag() == tag)
                .ok_or(ApiError::NotFound)?;
            let current = stored.timing.state_at(now);
            let wanted = KeyState {
                active: request.active.unwrap_or(current.active),
                published: request.published.unwrap_or(current.published),
            };
            store
                .set_state(zone, stored.key.algorithm(), tag, wanted, now)
                .map(drop)
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
    })
    .await?;
    state.metrics.api_change();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn remove_cryptokey(
    State(state): State<ApiState>,
    Path((server, id, key_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    check_server(&server)?;
    let name = zone_from_id(&id)?;
    let tag = key_tag(&key_id)?;
    let zones = state.zones.clone();
    blocking(move || {
        zones.change_keys(&name, |store, _, zone| {
            let stored = store
                .load(zone)
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .into_iter()
                .find(|k| k.key.tag() == tag)
                .ok_or(ApiError::NotFound)?;
            store
                .remove(zone, stored.key.algorithm(), tag)
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
    })
    .await?;
    state.metrics.api_change();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn metadata_list(
    State(state): State<ApiState>,
    Path((server, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let view = find(&state, &server, &id)?;
    let items: Vec<Value> = match &view {
        ZoneView::Api { model, .. } => model
            .settings
            .metadata
            .iter()
            .map(|(kind, values)| json!({"type": "Metadata", "kind": kind, "metadata": values}))
            .collect(),
        ZoneView::File { .. } | ZoneView::Secondary { .. } => Vec::new(),
    };
    Ok(axum::Json(items).into_response())
}

async fn metadata_get(
    State(state): State<ApiState>,
    Path((server, id, kind)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let view = find(&state, &server, &id)?;
    let values = match &view {
        ZoneView::Api { model, .. } => model
            .settings
            .metadata
            .get(&kind)
            .cloned()
            .unwrap_or_default(),
        ZoneView::File { .. } | ZoneView::Secondary { .. } => Vec::new(),
    };
    Ok(axum::Json(json!({"type": "Metadata", "kind": kind, "metadata": values})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_only_over_tls_or_loopback() {
        let on = |peer: &str, tls: bool| {
            shows_private_key(Some(Connection {
                peer: peer.parse().unwrap(),
                tls,
            }))
        };
        assert!(on("127.0.0.1:40000", false), "loopback, plain");
        assert!(on("[::1]:40000", false), "loopback v6, plain");
        assert!(on("[::ffff:127.0.0.2]:40000", false), "mapped loopback");
        assert!(on("192.0.2.7:40000", true), "remote over TLS");
        assert!(!on("192.0.2.7:40000", false), "remote, plain HTTP");
        assert!(!on("[2001:db8::1]:40000", false), "remote v6, plain HTTP");
        assert!(!on("[::ffff:192.0.2.7]:40000", false), "mapped remote");
        assert!(!shows_private_key(None), "connection unknown");
    }
}
