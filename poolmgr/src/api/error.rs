//! The one error type of the HTTP API, [`ApiError`]: the body every route
//! uses, `{"error":"<code>","detail":"<text>"}`, with the Go PDM's codes
//! and statuses, and the conversions from the crate's failures.
//!
//! # Disclosure rule
//!
//! A client sees a fixed code and a fixed (or input-derived) detail, never
//! the text of an internal failure: a database error ([`StoreError`]) may
//! name tables, hosts or credentials in a URL, and a registrar's message
//! may quote a request. Such failures are logged here, once, when they
//! become an `ApiError`, and the client is pointed at the logs. Input
//! errors (bad label, missing field) are the caller's and are not logged.
//!
//! Registrar errors map to PDM's §4.3 codes through [`pdm_code`], poolmgr's
//! own vocabulary (the registrars crate knows nothing of PDM).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use registrars::{Provider, RegistrarError};
use serde_json::{Map, Value};

use crate::store::StoreError;

/// The detail of every 500 caused by an internal failure.
pub const INTERNAL_DETAIL: &str = "internal error (see poolmgr logs)";

/// An error answer: status, PDM error code, optional detail and extra
/// fields (registrar errors add `registrar` and `domain`).
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `error` field.
    pub code: String,
    /// The `detail` field, omitted when `None`.
    pub detail: Option<String>,
    /// More top-level fields.
    pub extra: Map<String, Value>,
}

impl ApiError {
    /// An error with a code and a detail.
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            detail: Some(detail.into()),
            extra: Map::new(),
        }
    }

    /// An error with only the `error` field (PDM's bare 400 body).
    pub fn bare(status: StatusCode, text: impl Into<String>) -> Self {
        ApiError {
            status,
            code: text.into(),
            detail: None,
            extra: Map::new(),
        }
    }

    /// A 500 with `code` for an internal failure whose text stays in the
    /// log: `what` says where it happened, `error` is logged, not sent.
    pub fn internal(code: &str, what: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %error, "{what}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code, INTERNAL_DETAIL)
    }

    /// Adds a top-level field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// An adapter error of `provider` about `domain` as PDM's body (§4.3):
    /// fixed texts plus `registrar` and `domain`, and the one log line
    /// with the §4.5 outcome.
    pub fn registrar(provider: Provider, domain: &str, err: &RegistrarError) -> Self {
        let r = provider.name();
        let code = pdm_code(err);
        log_outcome(r, domain, outcome_of(err));
        if code == "registrar-error" {
            // The operator's only lead for a 500 (the body says "see PDM
            // logs by registrar+domain"). Adapter messages are built from
            // parsed responses and redacted URLs, never credentials.
            tracing::warn!(registrar = r, domain, error = %err, "registrar call failed");
        }
        Self::registrar_code(provider, domain, code, Some(err))
    }

    /// The body for a PDM registrar error `code` (§4.3), e.g. one stored
    /// in a record. `err`, when known, refines the `unsupported-operation`
    /// text; any unknown code is a 500 `registrar-error`.
    pub fn registrar_code(
        provider: Provider,
        domain: &str,
        code: &str,
        err: Option<&RegistrarError>,
    ) -> Self {
        let (status, code, detail) = registrar_parts(code, provider.name(), domain, err);
        ApiError::new(status, code, detail)
            .with("registrar", provider.name())
            .with("domain", domain)
    }
}

/// Status, code and fixed detail for a §4.3 code; `r` names the registrar.
fn registrar_parts(
    code: &str,
    r: &str,
    domain: &str,
    err: Option<&RegistrarError>,
) -> (StatusCode, &'static str, String) {
    match code {
        "invalid-token" => (
            StatusCode::UNAUTHORIZED,
            "invalid-token",
            format!("credentials rejected by {r}"),
        ),
        "domain-not-in-account" => (
            StatusCode::FORBIDDEN,
            "domain-not-in-account",
            format!("{domain} is not visible to the supplied {r} credentials"),
        ),
        "rate-limited" => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("{r} rate-limited the request"),
        ),
        "api-unavailable" => (
            StatusCode::BAD_GATEWAY,
            "api-unavailable",
            format!("{r} API is unreachable"),
        ),
        "unsupported-operation" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported-operation",
            unsupported_detail(err),
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "registrar-error",
            "registrar API call failed (see PDM logs by registrar+domain)".to_owned(),
        ),
    }
}

/// Fixed text for an `Unsupported` adapter error (§10.10 gives the
/// Cloudflare set-ns one verbatim).
fn unsupported_detail(err: Option<&RegistrarError>) -> String {
    match err {
        Some(RegistrarError::Unsupported {
            provider: "cloudflare",
            operation: registrars::op::SET_NAMESERVERS,
            ..
        }) => "cloudflare registrar does not allow custom nameservers".to_owned(),
        Some(RegistrarError::Unsupported {
            provider,
            operation,
            ..
        }) => format!("{provider} does not support {operation} through its API"),
        _ => "the registrar does not support this operation".to_owned(),
    }
}

/// The PDM API error code for an adapter error (pdm-api.md §4.3, plus
/// poolmgr's `unsupported-operation` of §10.10).
pub fn pdm_code(err: &RegistrarError) -> &'static str {
    match err {
        RegistrarError::InvalidCredentials { .. }
        | RegistrarError::NotPermitted { .. }
        | RegistrarError::ClientIpNotWhitelisted { .. } => "invalid-token",
        RegistrarError::ClockSkew { .. } | RegistrarError::Unavailable { .. } => "api-unavailable",
        RegistrarError::RateLimited { .. } => "rate-limited",
        RegistrarError::DomainNotInAccount { .. } => "domain-not-in-account",
        RegistrarError::Unsupported { .. } => "unsupported-operation",
        // NameserverNotRegistered, Conflict, Invalid, OperationFailed,
        // Rejected, Protocol, and any kind the crate adds later.
        _ => "registrar-error",
    }
}

/// The §4.5 `outcome` word for an adapter error.
pub fn outcome_of(err: &RegistrarError) -> &'static str {
    match pdm_code(err) {
        "registrar-error" => "unknown-error",
        code => code,
    }
}

/// The one log line per registrar request: registrar, domain, outcome,
/// nothing else (§4.5).
pub fn log_outcome(registrar: &str, domain: &str, outcome: &str) {
    tracing::info!(registrar, domain, outcome, "registrar request");
}

/// A database failure: 500 `database-error`; the text goes to the log.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal("database-error", "database error", &e)
    }
}

/// An adapter error without a known registrar or domain: the §4.3 status
/// and code with a detail naming no one. Routes that know the registrar
/// use [`ApiError::registrar`] for the full body.
impl From<RegistrarError> for ApiError {
    fn from(e: RegistrarError) -> Self {
        let code = pdm_code(&e);
        if code == "registrar-error" {
            tracing::warn!(error = %e, "registrar call failed");
        }
        let (status, code, detail) = registrar_parts(code, "the registrar", "the domain", Some(&e));
        ApiError::new(status, code, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("error".into(), Value::String(self.code));
        if let Some(detail) = self.detail {
            body.insert("detail".into(), Value::String(detail));
        }
        body.extend(self.extra);
        (self.status, Json(Value::Object(body))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn msg() -> String {
        "m".to_owned()
    }

    #[test]
    fn invalid_token_for_refused_credentials() {
        for e in [
            RegistrarError::InvalidCredentials { message: msg() },
            RegistrarError::NotPermitted { message: msg() },
            RegistrarError::ClientIpNotWhitelisted { message: msg() },
        ] {
            assert_eq!(pdm_code(&e), "invalid-token", "{e:?}");
        }
    }

    #[test]
    fn api_unavailable_for_unreachable_or_skewed() {
        for e in [
            RegistrarError::Unavailable {
                message: msg(),
                retry_after: None,
            },
            RegistrarError::ClockSkew { message: msg() },
        ] {
            assert_eq!(pdm_code(&e), "api-unavailable", "{e:?}");
        }
    }

    #[test]
    fn rate_limited() {
        let e = RegistrarError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(pdm_code(&e), "rate-limited");
    }

    #[test]
    fn domain_not_in_account() {
        let e = RegistrarError::DomainNotInAccount {
            domain: "acme.com".into(),
        };
        assert_eq!(pdm_code(&e), "domain-not-in-account");
    }

    #[test]
    fn unsupported_operation() {
        let e = RegistrarError::unsupported(Provider::Cloudflare, "set nameservers", "no");
        assert_eq!(pdm_code(&e), "unsupported-operation");
    }

    #[test]
    fn registrar_error_for_everything_else() {
        for e in [
            RegistrarError::NameserverNotRegistered {
                host: "ns1.example".into(),
                message: msg(),
            },
            RegistrarError::Conflict {
                code: "1".into(),
                message: msg(),
            },
            RegistrarError::Invalid {
                field: "f".into(),
                message: msg(),
            },
            RegistrarError::OperationFailed {
                task: "t".into(),
                message: msg(),
            },
            RegistrarError::Rejected {
                code: "1".into(),
                message: msg(),
            },
            RegistrarError::protocol("bad"),
        ] {
            assert_eq!(pdm_code(&e), "registrar-error", "{e:?}");
            assert_eq!(outcome_of(&e), "unknown-error");
        }
    }

    #[test]
    fn registrar_bodies_carry_status_registrar_and_domain() {
        let e = RegistrarError::RateLimited { retry_after: None };
        let api = ApiError::registrar(Provider::Ovh, "acme.com", &e);
        assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(api.detail.as_deref(), Some("ovh rate-limited the request"));
        assert_eq!(api.extra["registrar"], "ovh");
        assert_eq!(api.extra["domain"], "acme.com");
        let bare = ApiError::from(RegistrarError::protocol("upstream said S3CRET"));
        assert_eq!(bare.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!format!("{:?}", bare.detail).contains("S3CRET"));
    }

    #[test]
    fn store_errors_never_reach_the_body() {
        let e = StoreError::Corrupt("table pool_allocations at db.internal".into());
        let api = ApiError::from(e);
        assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(api.code, "database-error");
        assert_eq!(api.detail.as_deref(), Some(INTERNAL_DETAIL));
    }
}
