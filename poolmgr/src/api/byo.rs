//! BYO-domain routes (poolmgr extension, PDM §10.8); the lifecycle itself
//! is in [`crate::byo`].
//!
//! # `POST /api/v1/byo/{registrar}/domains`
//!
//! Body `{"domain","token","nameservers"?,"keepToken"?}`. Creates the zone
//! on the DNS server with DNSSEC on, points the registry at
//! `nameservers` (default `PDM_NAMESERVERS`; same policy as `set-ns`),
//! publishes the DS where the registrar's API allows, records the outcome.
//! - 201 with the record when `state` is `complete`, 202 when `pending`
//!   (a provider task is running: refresh later).
//! - `state` `failed`: the error body of the failing step (§4.3 codes for
//!   the registrar, 502 `dns-unavailable`/`dns-error` for the DNS server)
//!   with the record under `byo`. Posting again retries (every step is
//!   idempotent).
//! - Token or membership refused: §4.3 error, nothing recorded.
//! - `keepToken: true` keeps the token, sealed, so the background poller
//!   can finish pending tasks; only when the operator configured
//!   `POOLMGR_TOKEN_SEALING_KEY`, else 422 `token-sealing-disabled`. The
//!   kept token is deleted as soon as the domain is complete or failed.
//! - A managed pool (or a name under one) is 422 `managed-pool`.
//!
//! # `GET /api/v1/byo/domains/{domain}`
//!
//! 200 with the record, 404 `not-found`.
//!
//! # `POST /api/v1/byo/domains/{domain}/refresh`
//!
//! Body `{"token"}`. Polls the pending provider tasks with that token and
//! moves the domain on (DS after the NS task completes). 200 with the
//! record; §4.3 errors when the registrar refuses the token.
//!
//! # Record
//!
//! `{"domain","registrar","state":"pending|complete|failed","nameservers":[…],
//! "ns":{"status","task"?},"ds":{"status","records":[…],"task"?},
//! "lastError"?,"tokenKept","createdAt","updatedAt"}`. `lastError` is a
//! code, never upstream text. `ds.status` `manual` means the registrar's
//! API cannot take our DS (Namecheap, Cloudflare, OVH's DNSKEY-only API):
//! publish `ds.records` by hand.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use registrars::{DomainName, Provider, Secret};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, log_outcome};
use super::registrar::{
    connect, credentials, decode_body, provider_from_path, require_domain, require_token,
    wanted_nameservers,
};
use super::routes::Routes;
use crate::byo::{self, ByoError, token_context};
use crate::model::rfc3339;
use crate::sealing::SealingKey;
use crate::store::byo::{ByoRecord, ByoState, SealedToken};

/// The BYO routes.
pub fn routes() -> Routes {
    Routes::new()
        .post("/api/v1/byo/{registrar}/domains", onboard)
        .get("/api/v1/byo/domains/{domain}", show)
        .post("/api/v1/byo/domains/{domain}/refresh", refresh)
}

/// `{domain, token, nameservers?, keepToken?}`; `Debug` redacts the token.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OnboardBody {
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    token: Option<Secret>,
    #[serde(default)]
    nameservers: Option<Vec<String>>,
    #[serde(default)]
    keep_token: bool,
}

/// `{token}`.
#[derive(Debug, Deserialize)]
struct RefreshBody {
    #[serde(default)]
    token: Option<Secret>,
}

#[derive(Serialize)]
struct NsJson<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<&'a str>,
}

#[derive(Serialize)]
struct DsJson<'a> {
    status: &'static str,
    records: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordJson<'a> {
    domain: &'a str,
    registrar: &'a str,
    state: &'static str,
    nameservers: &'a [String],
    ns: NsJson<'a>,
    ds: DsJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<&'a str>,
    token_kept: bool,
    created_at: String,
    updated_at: String,
}

/// The record as JSON (the sealed token is never shown, only whether one
/// is kept).
fn record_json(r: &ByoRecord) -> serde_json::Value {
    let json = RecordJson {
        domain: &r.domain,
        registrar: &r.registrar,
        state: r.state.as_str(),
        nameservers: &r.nameservers,
        ns: NsJson {
            status: r.ns_status.as_str(),
            task: r.ns_task.as_deref(),
        },
        ds: DsJson {
            status: r.ds_status.as_str(),
            records: &r.ds_records,
            task: r.ds_task.as_deref(),
        },
        last_error: r.last_error.as_deref(),
        token_kept: r.sealed_token.is_some(),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    };
    serde_json::to_value(json).unwrap_or_default()
}

fn byo_error(provider: Provider, domain: &str, err: ByoError) -> ApiError {
    match err {
        ByoError::Registrar { source, .. } => ApiError::registrar(provider, domain, &source),
        ByoError::Store(e) => e.into(),
        ByoError::Seal(e) => {
            ApiError::internal("token-sealing-misconfigured", "BYO: token sealing", &e)
        }
    }
}

/// A failed record as the error of its failing step, record attached.
fn failed_response(provider: Provider, record: &ByoRecord) -> ApiError {
    let code = record.last_error.as_deref().unwrap_or("registrar-error");
    let err = match code {
        "dns-unavailable" => ApiError::new(
            StatusCode::BAD_GATEWAY,
            code,
            "the DNS server is unreachable",
        ),
        "dns-error" => ApiError::new(
            StatusCode::BAD_GATEWAY,
            code,
            "the DNS server refused the zone set-up (see poolmgr logs)",
        ),
        "ns-task-failed" | "ds-task-failed" => ApiError::new(
            StatusCode::BAD_GATEWAY,
            code,
            format!("a {} task failed at the provider", provider.name()),
        ),
        other => ApiError::registrar_code(provider, &record.domain, other, None),
    };
    err.with("byo", record_json(record))
}

/// Refuses a managed pool or a name under one: those zones are ours, and
/// a BYO onboarding would overwrite their name servers and DS.
fn refuse_pools(state: &AppState, domain: &DomainName) -> Result<(), ApiError> {
    let d = domain.as_str();
    let clash = state
        .pools
        .iter()
        .any(|p| d == p || d.ends_with(&format!(".{p}")) || p.ends_with(&format!(".{d}")));
    if clash {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "managed-pool",
            format!("{d} overlaps a managed pool; pool names are allocated with /api/v1/pool"),
        ));
    }
    Ok(())
}

async fn onboard(
    State(state): State<AppState>,
    Path(registrar): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let provider = provider_from_path(&registrar)?;
    let body: OnboardBody = decode_body(
        &body,
        "request body must be JSON {domain, token, nameservers?, keepToken?}",
    )?;
    let domain = require_domain(body.domain.as_deref())?;
    let token = require_token(body.token)?;
    refuse_pools(&state, &domain)?;
    let caps = registrars::providers::capabilities(provider);
    let wanted = wanted_nameservers(&state.settings, body.nameservers.as_deref(), &caps)?;
    let d = domain.as_str();

    // Decide about keeping the token before any side effect.
    let sealed = if body.keep_token {
        let Some(secret) = state.settings.token_sealing_key.as_ref() else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "token-sealing-disabled",
                "keepToken needs the operator setting POOLMGR_TOKEN_SEALING_KEY; without it registrar tokens are never stored: omit keepToken and call POST /api/v1/byo/domains/{domain}/refresh with the token to move pending tasks on",
            ));
        };
        let key = SealingKey::from_secret(secret)
            .map_err(|e| byo_error(provider, d, ByoError::Seal(e)))?;
        Some(SealedToken(
            key.seal(&token, &token_context(d, provider.name())),
        ))
    } else {
        None
    };

    let creds = credentials(provider, d, &token)?;
    let adapter = connect(&state.settings, provider, d, creds)?;
    let record = byo::onboard(
        &state.byo_deps(),
        adapter.as_ref(),
        &domain,
        &wanted,
        sealed,
    )
    .await
    .map_err(|e| byo_error(provider, d, e))?;
    log_outcome(
        provider.name(),
        d,
        record.last_error.as_deref().unwrap_or("ok"),
    );
    match record.state {
        ByoState::Complete => Ok((StatusCode::CREATED, Json(record_json(&record))).into_response()),
        ByoState::Pending => Ok((StatusCode::ACCEPTED, Json(record_json(&record))).into_response()),
        ByoState::Failed => Err(failed_response(provider, &record)),
    }
}

fn not_found(domain: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("no BYO domain {domain}"),
    )
}

async fn show(
    State(state): State<AppState>,
    Path(domain): Path<String>,
) -> Result<Response, ApiError> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let record = state
        .store
        .byo_get(&domain)
        .await?
        .ok_or_else(|| not_found(&domain))?;
    Ok(Json(record_json(&record)).into_response())
}

async fn refresh(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let body: RefreshBody = decode_body(&body, "request body must be JSON {token}")?;
    let record = state
        .store
        .byo_get(&domain)
        .await?
        .ok_or_else(|| not_found(&domain))?;
    let token = require_token(body.token)?;
    let provider = provider_from_path(&record.registrar)?;
    let creds = credentials(provider, &domain, &token)?;
    let adapter = connect(&state.settings, provider, &domain, creds)?;
    let record = byo::refresh(&state.byo_deps(), adapter.as_ref(), record)
        .await
        .map_err(|e| byo_error(provider, &domain, e))?;
    log_outcome(
        provider.name(),
        &domain,
        record.last_error.as_deref().unwrap_or("ok"),
    );
    Ok(Json(record_json(&record)).into_response())
}
