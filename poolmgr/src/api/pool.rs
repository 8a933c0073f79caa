//! The pool routes (PDM §3.2–§3.7) and our extensions (§9): renew and an
//! operator read of one allocation.
//!
//! Every state change is made as the request's [`Actor`] (from the
//! authenticated [`Caller`]): a caller token acts on its own allocations
//! only (403 `not-owner` otherwise), an operator token on all of them.
//! Reads of whole allocations (`list`, `allocation`) are operator routes;
//! callers see others' names only as `/check` shows them.
//!
//! Each handler checks its input in PDM's evaluation order, makes one
//! state change in the store (which queues the DNS work in the same
//! transaction), then applies that work inline within a time budget. The
//! response tells the caller whether DNS is done (200/201) or left to the
//! background worker (202 for commit and release; reserve answers 201
//! either way, PDM §10.9).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::{Caller, Scope};
use super::error::{ApiError, INTERNAL_DETAIL};
use super::routes::Routes;
use crate::allocator::{
    Actor, Availability, Commit, IdempotencyKey, Label, LbIpError, LbIpPolicy, LbIpv4, LbIpv6, Op,
    Outcome, PoolDomain, Refusal, Request, ReservationToken, Reserve, availability,
};
use crate::label::{INVALID_FORMAT_DETAIL, is_reserved, normalize};
use crate::model::Allocation;
use crate::outbox::DrainError;

/// Routes callers use (caller scope).
pub fn caller_routes() -> Routes {
    Routes::new()
        .get("/api/v1/reserved", reserved_list)
        .get("/api/v1/pool/{domain}/check", check)
        .post("/api/v1/pool/{domain}/reserve", reserve)
        .post("/api/v1/pool/{domain}/commit", commit)
        .post("/api/v1/pool/{domain}/renew", renew)
        .delete("/api/v1/pool/{domain}/release", release)
}

/// Routes for operators only (they see every allocation).
pub fn operator_routes() -> Routes {
    Routes::new()
        .get("/api/v1/pool/{domain}/list", list)
        .get("/api/v1/pool/{domain}/allocation/{sub}", allocation)
}

const RESERVED_DETAIL: &str =
    "this subdomain is reserved for the Sovereign control plane — pick a different name";
const CONFLICT_DETAIL: &str = "this subdomain is already reserved or active";
/// The detail of 403 `not-owner`.
pub const NOT_OWNER_DETAIL: &str = "this allocation belongs to another caller: only the token identity that reserved it, or an operator token, may commit, renew or release it";

fn invalid_format() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-format",
        INVALID_FORMAT_DETAIL,
    )
}

fn unsupported_pool(domain: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unsupported-pool",
        format!("pool domain {domain} is not managed by OpenOva"),
    )
}

fn invalid_json() -> ApiError {
    ApiError::bare(StatusCode::BAD_REQUEST, "invalid JSON body")
}

/// The normalised pool, or 422 `unsupported-pool`.
fn managed_pool(state: &AppState, raw: &str) -> Result<PoolDomain, ApiError> {
    let domain = PoolDomain::new(raw);
    if state.pools.iter().any(|p| p == domain.as_str()) {
        Ok(domain)
    } else {
        Err(unsupported_pool(domain.as_str()))
    }
}

/// The label, or 422 `invalid-format`.
fn label(raw: &str) -> Result<Label, ApiError> {
    Label::parse(raw).ok_or_else(invalid_format)
}

/// The allocator's view of who sent the request.
fn actor(caller: &Caller) -> Actor {
    match caller {
        Caller::Unauthenticated => Actor::unauthenticated(),
        Caller::Token(p) if p.scope == Scope::Operator => Actor::operator(p.identity.as_str()),
        Caller::Token(p) => Actor::caller(p.identity.as_str()),
    }
}

/// 422 `invalid-lb-ip` for `field` = `raw`.
fn invalid_lb_ip(field: &str, raw: &str, why: LbIpError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-lb-ip",
        format!("{field} {raw:?} {why}"),
    )
}

async fn reserved_list() -> Json<Value> {
    Json(json!({ "reserved": crate::label::RESERVED }))
}

#[derive(Deserialize)]
struct CheckQuery {
    #[serde(default)]
    sub: String,
}

async fn check(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    Query(q): Query<CheckQuery>,
) -> Result<Json<Value>, ApiError> {
    let Some(sub) = Label::parse(&q.sub) else {
        return Ok(Json(json!({
            "available": false, "reason": "invalid-format", "detail": INVALID_FORMAT_DETAIL,
        })));
    };
    let domain = normalize(&domain);
    if !state.pools.contains(&domain) {
        return Ok(Json(json!({
            "available": false, "reason": "unsupported-pool",
            "detail": format!("pool domain {domain} is not managed by OpenOva — pick a different pool or use BYO"),
        })));
    }
    if is_reserved(sub.as_str()) {
        return Ok(Json(json!({
            "available": false, "reason": "reserved", "detail": RESERVED_DETAIL,
        })));
    }
    let fqdn = format!("{sub}.{domain}");
    let row = state.store.get(&domain, sub.as_str()).await?;
    Ok(Json(match availability(row.as_ref(), state.clock.now()) {
        Availability::Free => json!({ "available": true, "fqdn": fqdn }),
        Availability::Reserved => json!({
            "available": false, "reason": "reserved-state", "fqdn": fqdn,
            "detail": "this subdomain is reserved by an in-flight provisioning",
        }),
        Availability::Active => json!({
            "available": false, "reason": "active-state", "fqdn": fqdn,
            "detail": "this subdomain is in use by an active Sovereign",
        }),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReserveBody {
    #[serde(default)]
    subdomain: String,
    #[serde(default)]
    created_by: String,
}

async fn reserve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: ReserveBody = serde_json::from_slice(&body).map_err(|_| invalid_json())?;
    let sub = label(&req.subdomain)?;
    let domain = managed_pool(&state, &domain)?;
    if is_reserved(sub.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reserved",
            RESERVED_DETAIL,
        ));
    }
    let created_by = match req.created_by.trim() {
        "" => "catalyst-api",
        s => s,
    };
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .and_then(IdempotencyKey::parse);
    let ttl = state.settings.reservation_ttl.as_secs() as i64;
    let reserve = Reserve::new(
        created_by,
        idempotency_key,
        ttl,
        state.settings.nameservers.0.clone(),
    );
    // The token is shown in this answer only; the store keeps its hash.
    let token = reserve.token.clone();
    let request = Request {
        pool: domain.clone(),
        label: sub.clone(),
        op: Op::Reserve(reserve),
        actor: actor(&caller),
    };
    let alloc = match state.store.apply(&request, state.clock.now()).await? {
        Outcome::Saved(a) => a,
        // A reserve always writes (a replay issues a fresh token).
        Outcome::Unchanged(_) => {
            return Err(ApiError::internal(
                "internal-error",
                "reserve: nothing written",
                &"the allocator answered a reserve without a write",
            ));
        }
        Outcome::Refused(why) => return Err(refusal(why)),
    };
    let (domain, sub) = (domain.as_str(), sub.as_str());
    // The reservation stands whatever DNS does now: the worker finishes
    // the scaffolding, and a non-2xx here would strand the name (§10.9).
    if let Err(e) = state
        .applier
        .drain(domain, sub, state.settings.inline_dns_timeout)
        .await
    {
        tracing::warn!(pool = %domain, subdomain = %sub, error = %e, "reserve: DNS scaffolding left to the worker");
    }
    Ok((
        StatusCode::CREATED,
        Json(alloc.to_json_issuing(token.expose())),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommitBody {
    #[serde(default)]
    subdomain: String,
    #[serde(default)]
    reservation_token: String,
    #[serde(default, rename = "sovereignFQDN")]
    sovereign_fqdn: String,
    #[serde(default, rename = "loadBalancerIP")]
    load_balancer_ip: String,
    #[serde(default, rename = "loadBalancerIPv6")]
    load_balancer_ipv6: String,
}

/// A host name in presentation form: labels of letters, digits and
/// hyphens (underscores tolerated), each 1–63 octets, 253 in all.
fn is_hostname(name: &str) -> bool {
    // The DNS limits (labels 1..=63 octets, 253 characters) are the
    // name's; the letters-digits-hyphen rule (plus `_`) is PDM's, and it
    // has no escapes.
    !name.contains('\\')
        && name.parse::<dnstypes::Name>().is_ok_and(|name| {
            !name.is_root()
                && name.labels().all(|l| {
                    !l.starts_with(b"-")
                        && !l.ends_with(b"-")
                        && l.iter()
                            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
                })
        })
}

async fn commit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(domain): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CommitBody = serde_json::from_slice(&body).map_err(|_| invalid_json())?;
    let sub = label(&req.subdomain)?;
    let ipv4 = req.load_balancer_ip.trim();
    if ipv4.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing-lb-ip",
            "loadBalancerIP is required",
        ));
    }
    let domain = managed_pool(&state, &domain)?;
    // Checked before the row is touched, so a bad address can never leave
    // an active row whose records cannot be written (§10.13), nor point a
    // tenant's name at loopback or a private network (issue #19).
    let policy = LbIpPolicy {
        allow_private: state.settings.allow_private_lb_ips,
    };
    let ipv4 =
        LbIpv4::parse(ipv4, policy).map_err(|why| invalid_lb_ip("loadBalancerIP", ipv4, why))?;
    let ipv6 = match req.load_balancer_ipv6.trim() {
        "" => None,
        v6 => Some(
            LbIpv6::parse(v6, policy).map_err(|why| invalid_lb_ip("loadBalancerIPv6", v6, why))?,
        ),
    };
    let fqdn = normalize(&req.sovereign_fqdn);
    let fqdn = fqdn.trim_end_matches('.');
    if !fqdn.is_empty() && !is_hostname(fqdn) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fqdn",
            format!("sovereignFQDN {fqdn:?} is not a domain name"),
        ));
    }
    let committed_ipv4 = ipv4.addr();
    let op = Op::Commit(Commit {
        token: ReservationToken::parse(&req.reservation_token),
        sovereign_fqdn: Some(fqdn.to_owned()).filter(|s| !s.is_empty()),
        ipv4,
        ipv6,
    });
    let alloc = decided(&state, &caller, &domain, &sub, op).await?;
    let (domain, sub) = (domain.as_str(), sub.as_str());
    match state
        .applier
        .drain(domain, sub, state.settings.inline_dns_timeout)
        .await
    {
        Ok(()) => match &state.fleet {
            Some(fleet) if fleet.waits_on_commit() => {
                Ok(wait_for_fleet(fleet, &state, &alloc, committed_ipv4).await)
            }
            _ => Ok((StatusCode::OK, Json(alloc.to_json())).into_response()),
        },
        Err(e) => {
            let mut body = serde_json::to_value(alloc.to_json()).unwrap_or_default();
            body["warning"] =
                "row committed but PowerDNS write failed; retry commit to publish DNS".into();
            body["detail"] = format!("powerdns write: {}", drain_detail(&e)).into();
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        }
    }
}

/// The commit's records are on the primary; with `POOLMGR_COMMIT_WAIT=N`
/// the answer waits until N fleet name servers serve them. 200 when they
/// do; otherwise 202, PDM's "committed, DNS not done yet" (§3.5), which
/// callers already treat as success and which a retry with the same token
/// turns into a re-publish and a new wait (§10.1). Nothing is undone.
async fn wait_for_fleet(
    fleet: &crate::fleet::Fleet,
    state: &AppState,
    alloc: &Allocation,
    ipv4: std::net::Ipv4Addr,
) -> Response {
    let child = alloc.fqdn();
    let waited = fleet.wait_for_commit(&state.dns, &child, ipv4).await;
    let detail = match waited {
        Ok(report) if report.met() => {
            tracing::debug!(zone = %child, served_by = ?report.served, waited = ?report.waited, "commit: served by the fleet");
            return (StatusCode::OK, Json(alloc.to_json())).into_response();
        }
        Ok(report) => {
            let lagging: Vec<String> = report
                .lagging
                .iter()
                .map(|(ns, _)| ns.to_string())
                .collect();
            tracing::warn!(zone = %child, lagging = ?lagging, summary = %report.summary(), "commit: the fleet did not serve it in time");
            format!("fleet wait: {}", report.summary())
        }
        Err(e) => {
            tracing::warn!(zone = %child, error = %e, "commit: fleet wait not started");
            format!("fleet wait: {e}")
        }
    };
    let mut body = serde_json::to_value(alloc.to_json()).unwrap_or_default();
    body["warning"] = COMMIT_NOT_PROPAGATED.into();
    body["detail"] = detail.into();
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// The 202 warning when the fleet did not serve a commit in time.
pub const COMMIT_NOT_PROPAGATED: &str = "row committed and DNS written on the primary, but not yet served by enough name servers; retry commit to wait again";

/// Why queued DNS work is unfinished, for a 202's `detail`: the DNS
/// server's answer or the time-out, but never a database error's text
/// (the disclosure rule of [`super::error`]), which is logged instead.
fn drain_detail(e: &DrainError) -> String {
    match e {
        DrainError::Store(store) => {
            tracing::error!(error = %store, "database error while applying DNS work");
            INTERNAL_DETAIL.to_owned()
        }
        other => other.to_string(),
    }
}

/// Applies `op` on `<sub>.<domain>`: the allocation to answer with, or
/// PDM's error for a refusal.
async fn decided(
    state: &AppState,
    caller: &Caller,
    domain: &PoolDomain,
    sub: &Label,
    op: Op,
) -> Result<Allocation, ApiError> {
    let request = Request {
        pool: domain.clone(),
        label: sub.clone(),
        op,
        actor: actor(caller),
    };
    match state.store.apply(&request, state.clock.now()).await? {
        Outcome::Saved(a) | Outcome::Unchanged(a) => Ok(a),
        Outcome::Refused(why) => Err(refusal(why)),
    }
}

/// PDM's status, code and detail for a refusal (§3.4, §3.5).
fn refusal(why: Refusal) -> ApiError {
    match why {
        Refusal::Conflict => ApiError::new(StatusCode::CONFLICT, "conflict", CONFLICT_DETAIL),
        Refusal::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "no reservation exists for this (poolDomain, subdomain) — call /reserve first",
        ),
        Refusal::AlreadyActive => ApiError::new(
            StatusCode::CONFLICT,
            "already-active",
            "this allocation is already active",
        ),
        Refusal::Expired => ApiError::new(
            StatusCode::GONE,
            "reservation-expired",
            "the reservation TTL elapsed before commit; reserve again",
        ),
        Refusal::TokenMismatch => ApiError::new(
            StatusCode::FORBIDDEN,
            "token-mismatch",
            "reservationToken does not match the reservation",
        ),
        Refusal::NotOwner => ApiError::new(StatusCode::FORBIDDEN, "not-owner", NOT_OWNER_DETAIL),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RenewBody {
    #[serde(default)]
    subdomain: String,
    #[serde(default)]
    reservation_token: String,
}

async fn renew(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(domain): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: RenewBody = serde_json::from_slice(&body).map_err(|_| invalid_json())?;
    let sub = label(&req.subdomain)?;
    let domain = managed_pool(&state, &domain)?;
    let op = Op::Renew {
        token: ReservationToken::parse(&req.reservation_token),
        ttl_secs: state.settings.reservation_ttl.as_secs() as i64,
    };
    let alloc = decided(&state, &caller, &domain, &sub, op).await?;
    Ok(Json(
        serde_json::to_value(alloc.to_json()).unwrap_or_default(),
    ))
}

#[derive(Deserialize)]
struct ReleaseBody {
    #[serde(default)]
    subdomain: String,
}

async fn release(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(domain): Path<String>,
    Query(q): Query<CheckQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // PDM falls back to ?sub= only when the body does not decode (the
    // recovery script sends no body at all).
    let raw = match serde_json::from_slice::<ReleaseBody>(&body) {
        Ok(b) => b.subdomain,
        Err(_) => q.sub,
    };
    let sub = label(&raw)?;
    let domain = managed_pool(&state, &domain)?;
    let request = Request {
        pool: domain.clone(),
        label: sub.clone(),
        op: Op::Release,
        actor: actor(&caller),
    };
    let freed = match state.store.apply(&request, state.clock.now()).await? {
        Outcome::Saved(a) | Outcome::Unchanged(a) => a,
        Outcome::Refused(Refusal::NotFound) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "no allocation exists for this (poolDomain, subdomain)",
            ));
        }
        Outcome::Refused(why) => return Err(refusal(why)),
    };
    let (domain, sub) = (domain.as_str(), sub.as_str());
    let freed_json = freed.to_json();
    match state
        .applier
        .drain(domain, sub, state.settings.inline_dns_timeout)
        .await
    {
        Ok(()) => Ok((StatusCode::OK, Json(json!({ "freed": freed_json }))).into_response()),
        Err(e) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "warning": "row deleted but PowerDNS teardown failed; re-run release to clean up DNS (idempotent)",
                "detail": format!("powerdns delete zone: {}", drain_detail(&e)),
                "freed": freed_json,
            })),
        )
            .into_response()),
    }
}

async fn list(
    State(state): State<AppState>,
    Path(domain): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let domain = managed_pool(&state, &domain)?;
    let rows = state.store.list(domain.as_str()).await?;
    let allocations: Vec<_> = rows.iter().map(|a| a.to_operator_json()).collect();
    Ok(Json(
        json!({ "poolDomain": domain.as_str(), "allocations": allocations }),
    ))
}

async fn allocation(
    State(state): State<AppState>,
    Path((domain, sub)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let domain = managed_pool(&state, &domain)?;
    let sub = normalize(&sub);
    match state.store.get(domain.as_str(), &sub).await? {
        Some(a) => Ok(Json(
            serde_json::to_value(a.to_operator_json()).unwrap_or_default(),
        )),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "no allocation exists for this (poolDomain, subdomain)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_dns_work_never_shows_database_text() {
        let e = DrainError::Store(crate::store::StoreError::Corrupt(
            "pool_allocations at db.internal".into(),
        ));
        assert_eq!(drain_detail(&e), INTERNAL_DETAIL);
        let timeout = DrainError::Timeout(std::time::Duration::from_secs(1));
        assert!(drain_detail(&timeout).contains("did not finish"));
    }

    #[test]
    fn hostnames() {
        assert!(is_hostname("omantel.omani.works"));
        assert!(is_hostname("omantel.omani.works."));
        assert!(!is_hostname("bad name.example"));
        assert!(!is_hostname("a..b"));
        assert!(!is_hostname("-a.example"));
        assert!(!is_hostname(""));
    }
}
