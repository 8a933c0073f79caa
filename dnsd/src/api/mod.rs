//! The control API: a PowerDNS Authoritative REST API v1 subset, so that
//! external-dns, the pool-domain manager, cert-manager's webhook and lego
//! work against dnsd unchanged; plus `/metrics`, `/healthz`, `/readyz`.
//!
//! Handlers never touch the answer path: changes go through the zone
//! registry ([`crate::zones::Registry`]), which builds, persists and then
//! publishes a new catalog. The stored zone model and its journal belong to
//! the registry (`crate::zones::{model, store}`); this module holds the
//! HTTP side: routes, request rules (`patch`), JSON views and errors.

pub mod error;
/// `GET /api/v1/health-checks`: the LUA health checker's state.
mod health;
pub mod ids;
pub mod patch;
pub mod serve;
/// The API's TLS certificate and key, loaded at start.
pub mod tls;
mod view;
mod zones;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;

use crate::zones::Registry;
use error::ApiError;

/// A secret compared in constant time and never printed.
#[derive(Clone)]
pub struct ApiKey(Arc<[u8]>);

impl ApiKey {
    /// Wraps a key; surrounding whitespace (e.g. a newline in a key file) is dropped.
    pub fn new(key: &str) -> ApiKey {
        ApiKey(key.trim().as_bytes().into())
    }

    fn matches(&self, offered: &[u8]) -> bool {
        self.0.ct_eq(offered).into()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub zones: Arc<Registry>,
    pub key: ApiKey,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Secondary zones created through the API are refreshed by it.
    pub replicator: Arc<crate::xfr::Replicator>,
}

/// Largest request body read, as PowerDNS's `webserver-max-bodysize`
/// default (2 MB); a larger one is answered 413 before it is parsed.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The whole HTTP surface.
pub fn router(state: ApiState) -> Router {
    let api = zones::router()
        .route("/api/v1/health-checks", get(health::list))
        .route("/api", get(|| async { axum::Json(serde_json::json!([{"url": "/api/v1", "version": 1}])) }))
        .route(
            "/api/v1",
            get(|| async { axum::Json(serde_json::json!([{"server_url": "/api/v1/servers{/server}", "api_features": []}])) }),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), require_key));
    Router::new()
        .merge(api)
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ready\n" }))
        .fallback(|| async { ApiError::NotFound })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// `X-API-Key` authentication (PowerDNS `webserver.cc`): 401 with a JSON
/// body and `WWW-Authenticate` when missing or wrong.
async fn require_key(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let offered = request.headers().get("x-api-key").map(|v| v.as_bytes());
    match offered {
        Some(key) if state.key.matches(key) => next.run(request).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let body = state.metrics.render(&state.zones);
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}
