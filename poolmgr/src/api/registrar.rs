//! Registrar routes (PDM §4): `POST /api/v1/registrar/{registrar}/validate`
//! and `POST /api/v1/registrar/{registrar}/set-ns`, plus the helpers the
//! BYO routes ([`super::byo`]) share with them: registrar look-up, token
//! parsing and the name server policy (§10.8). Adapter errors become PDM
//! bodies (§4.3) in [`super::error`].
//!
//! # `validate`
//!
//! Body `{"domain","token"}`. Checks the credentials, then that the domain
//! is in the account (one read of its name servers, never a walk over the
//! account's domain list, §10.15). 200 `{"valid":true,"registrar","domain"}`.
//!
//! # `set-ns`
//!
//! Body `{"domain","token","nameservers"?}`. Differences from the Go PDM
//! (§10.8, §10.10), all on non-success paths or additive:
//! - `nameservers` absent (or `null`) means the configured
//!   `PDM_NAMESERVERS`; an explicit empty list is still 422
//!   `missing-nameservers`, as in PDM.
//! - Hosts outside `PDM_NAMESERVERS` are 422 `foreign-nameservers` unless
//!   `POOLMGR_ALLOW_FOREIGN_NAMESERVERS` is on; fewer than 2 distinct
//!   hosts (or more than the provider takes) is 422 `invalid-nameservers`.
//! - The current set is read first; when it already matches, nothing is
//!   written and the answer says `"change":"unchanged"`. Otherwise
//!   `"applied"`, or `"pending"` with `"task"` for providers that queue the
//!   change (OVH, GoDaddy).
//! - Cloudflare Registrar cannot take custom name servers: 422
//!   `unsupported-operation`.
//!
//! 200 `{"success":true,"registrar","domain","nameservers":[read-back],
//! "propagation","change","task"?}`.
//!
//! # Token hygiene (§4.5)
//!
//! The token lives only in the request: it is parsed into
//! [`registrars::Credentials`] (whose secrets are redacted in `Debug`),
//! never logged, never echoed; error bodies use fixed texts and never the
//! adapter's message. Logs carry `registrar`, `domain` and `outcome`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use registrars::types::same_hosts;
use registrars::{
    Capabilities, Change, Credentials, DomainName, HostName, Provider, Registrar, Secret,
};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, log_outcome};
use super::routes::Routes;
use crate::config::Settings;
use crate::registrar_token::{TokenError, parse_token};

/// The registrar routes.
pub fn routes() -> Routes {
    Routes::new()
        .post("/api/v1/registrar/{registrar}/validate", validate)
        .post("/api/v1/registrar/{registrar}/set-ns", set_ns)
}

//----------- shared helpers ---------------------------------------------------

/// Supported registrar names, sorted, as PDM lists them.
pub fn supported() -> Vec<&'static str> {
    let mut names: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
    names.sort_unstable();
    names
}

/// The provider for a path segment (trimmed, any case), or PDM's 404.
pub(crate) fn provider_from_path(name: &str) -> Result<Provider, ApiError> {
    let wanted = name.trim().to_ascii_lowercase();
    Provider::ALL
        .into_iter()
        .find(|p| p.name() == wanted)
        .ok_or_else(|| {
            log_outcome(&wanted, "", "unsupported-registrar");
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unsupported-registrar",
                format!("no adapter for registrar {wanted}"),
            )
            .with("supported", supported())
        })
}

/// The propagation hint of §4.2 (constant strings).
pub fn propagation_hint(provider: Provider) -> &'static str {
    match provider {
        Provider::Cloudflare => {
            "cloudflare typically reflects NS changes within minutes; full TLD propagation up to 24 hours"
        }
        Provider::GoDaddy => {
            "godaddy typically reflects NS changes within 1-4 hours; full TLD propagation up to 48 hours"
        }
        Provider::Namecheap => {
            "namecheap typically reflects NS changes within 1-2 hours; full TLD propagation up to 48 hours"
        }
        Provider::Ovh => {
            "ovh applies NS changes asynchronously (task queue); reflected within 1-4 hours"
        }
        Provider::Dynadot => "dynadot reflects NS changes within 30-60 minutes",
    }
}

/// A token that could not be parsed: 422 with the expected shape (the
/// error never contains the token).
pub(crate) fn token_error(provider: Provider, domain: &str, err: &TokenError) -> ApiError {
    log_outcome(provider.name(), domain, "invalid-token");
    let code = match err {
        TokenError::Empty => "missing-token",
        _ => "invalid-token-format",
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, err.to_string())
        .with("registrar", provider.name())
        .with("domain", domain)
}

/// The adapter for `provider`, at the configured base URL if any (tests
/// and sandboxes), else production.
pub(crate) fn connect(
    settings: &Settings,
    provider: Provider,
    domain: &str,
    credentials: Credentials,
) -> Result<Box<dyn Registrar>, ApiError> {
    let base = settings
        .registrar_base_urls
        .as_ref()
        .and_then(|urls| urls.0.get(&provider))
        .map(String::as_str);
    registrars::connect(provider, base, credentials)
        .map_err(|e| ApiError::registrar(provider, domain, &e))
}

/// The parsed credentials for a request's token.
pub(crate) fn credentials(
    provider: Provider,
    domain: &str,
    token: &Secret,
) -> Result<Credentials, ApiError> {
    parse_token(provider, token.expose()).map_err(|e| token_error(provider, domain, &e))
}

/// `domain` trimmed and lower-cased; 422 `missing-domain` when empty and
/// `invalid-domain` when it is not a domain name.
pub(crate) fn require_domain(raw: Option<&str>) -> Result<DomainName, ApiError> {
    let raw = raw.unwrap_or("").trim().to_ascii_lowercase();
    if raw.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing-domain",
            "domain is required",
        ));
    }
    DomainName::new(&raw).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-domain",
            format!("{raw:?} is not a domain name"),
        )
    })
}

/// The token, or 422 `missing-token` when absent or blank.
pub(crate) fn require_token(token: Option<Secret>) -> Result<Secret, ApiError> {
    match token {
        Some(t) if !t.expose().trim().is_empty() => Ok(t),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing-token",
            "token is required",
        )),
    }
}

/// The name servers to set (§4.2, §10.8): trimmed, lower-cased,
/// de-duplicated; the configured set when `requested` is absent; only
/// configured hosts unless foreign ones are allowed; within the
/// provider's count limits (at least 2).
pub(crate) fn wanted_nameservers(
    settings: &Settings,
    requested: Option<&[String]>,
    caps: &Capabilities,
) -> Result<Vec<HostName>, ApiError> {
    let unprocessable =
        |code: &str, detail: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail);
    let configured: Vec<String> = settings
        .nameservers
        .0
        .iter()
        .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    let raw: Vec<String> = match requested {
        None => configured.clone(),
        Some(list) => list
            .iter()
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect(),
    };
    if raw.is_empty() {
        return Err(unprocessable(
            "missing-nameservers",
            "nameservers must name at least one host".into(),
        ));
    }
    let mut hosts: Vec<HostName> = Vec::with_capacity(raw.len());
    for name in &raw {
        let host = HostName::new(name).map_err(|_| {
            unprocessable(
                "invalid-nameservers",
                format!("{name:?} is not a host name"),
            )
        })?;
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    if !settings.allow_foreign_nameservers {
        let foreign: Vec<&str> = hosts
            .iter()
            .map(HostName::as_str)
            .filter(|h| !configured.iter().any(|c| c == h))
            .collect();
        if !foreign.is_empty() {
            return Err(unprocessable(
                "foreign-nameservers",
                format!(
                    "{} not among the configured name servers ({}); the operator can allow others with POOLMGR_ALLOW_FOREIGN_NAMESERVERS",
                    foreign.join(", "),
                    configured.join(", ")
                ),
            ));
        }
    }
    let min = caps.min_nameservers.max(2);
    if hosts.len() < min || hosts.len() > caps.max_nameservers {
        return Err(unprocessable(
            "invalid-nameservers",
            format!(
                "{} distinct name servers given; between {min} and {} are required",
                hosts.len(),
                caps.max_nameservers
            ),
        ));
    }
    Ok(hosts)
}

/// A JSON body, or PDM's 400 `invalid-body` with `detail`.
pub(crate) fn decode_body<T: serde::de::DeserializeOwned>(
    body: &Bytes,
    detail: &str,
) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid-body", detail))
}

fn host_strings(hosts: &[HostName]) -> Vec<String> {
    hosts.iter().map(|h| h.as_str().to_owned()).collect()
}

//----------- validate ---------------------------------------------------------

/// `{domain, token}`. `Debug` shows no token: [`Secret`] redacts.
#[derive(Debug, Deserialize)]
struct ValidateBody {
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    token: Option<Secret>,
}

#[derive(Serialize)]
struct ValidateOk {
    valid: bool,
    registrar: &'static str,
    domain: String,
}

async fn validate(
    State(state): State<AppState>,
    Path(registrar): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let provider = provider_from_path(&registrar)?;
    let body: ValidateBody = decode_body(&body, "request body must be JSON {domain, token}")?;
    let domain = require_domain(body.domain.as_deref())?;
    let token = require_token(body.token)?;
    let d = domain.as_str();
    let creds = credentials(provider, d, &token)?;
    let adapter = connect(&state.settings, provider, d, creds)?;
    check_account(adapter.as_ref(), &domain).await?;
    log_outcome(provider.name(), d, "ok");
    Ok(Json(ValidateOk {
        valid: true,
        registrar: provider.name(),
        domain: d.to_owned(),
    })
    .into_response())
}

/// Credentials work and the domain is in the account: the current name
/// servers, read as the membership check.
pub(crate) async fn check_account(
    adapter: &dyn Registrar,
    domain: &DomainName,
) -> Result<Vec<HostName>, ApiError> {
    let provider = adapter.provider();
    adapter
        .validate_credentials()
        .await
        .map_err(|e| ApiError::registrar(provider, domain.as_str(), &e))?;
    adapter
        .get_nameservers(domain)
        .await
        .map_err(|e| ApiError::registrar(provider, domain.as_str(), &e))
}

//----------- set-ns -----------------------------------------------------------

/// `{domain, token, nameservers?}`.
#[derive(Debug, Deserialize)]
struct SetNsBody {
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    token: Option<Secret>,
    #[serde(default)]
    nameservers: Option<Vec<String>>,
}

#[derive(Serialize)]
struct SetNsOk {
    success: bool,
    registrar: &'static str,
    domain: String,
    nameservers: Vec<String>,
    propagation: &'static str,
    /// `unchanged`, `applied` or `pending` (poolmgr addition).
    change: &'static str,
    /// The provider's task id while `pending`.
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<String>,
}

async fn set_ns(
    State(state): State<AppState>,
    Path(registrar): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let provider = provider_from_path(&registrar)?;
    let body: SetNsBody = decode_body(
        &body,
        "request body must be JSON {domain, token, nameservers}",
    )?;
    let domain = require_domain(body.domain.as_deref())?;
    let token = require_token(body.token)?;
    let caps = registrars::providers::capabilities(provider);
    let wanted = wanted_nameservers(&state.settings, body.nameservers.as_deref(), &caps)?;
    let d = domain.as_str();
    let creds = credentials(provider, d, &token)?;
    let adapter = connect(&state.settings, provider, d, creds)?;
    let current = check_account(adapter.as_ref(), &domain).await?;

    let (change, task, readback) = if same_hosts(&current, &wanted) {
        // Nothing to write (§10.8): the current set is the answer.
        ("unchanged", None, host_strings(&current))
    } else {
        let (change, task) = match adapter.set_nameservers(&domain, &wanted).await {
            Ok(Change::Unchanged) => ("unchanged", None),
            Ok(Change::Applied) => ("applied", None),
            Ok(Change::Pending(t)) => ("pending", Some(t.id)),
            Err(e) => return Err(ApiError::registrar(provider, d, &e)),
        };
        // PDM: if the read-back fails, echo the requested list.
        let readback = match adapter.get_nameservers(&domain).await {
            Ok(ns) => host_strings(&ns),
            Err(_) => host_strings(&wanted),
        };
        (change, task, readback)
    };
    log_outcome(provider.name(), d, "ok");
    Ok(Json(SetNsOk {
        success: true,
        registrar: provider.name(),
        domain: d.to_owned(),
        nameservers: readback,
        propagation: propagation_hint(provider),
        change,
        task,
    })
    .into_response())
}
