//! The HTTP API: the Go PDM's routes, fields and codes (spec pdm-api.md
//! §3–§4), bearer-token authentication, `/openapi.json` and `/metrics`.
//!
//! Route scopes: `/healthz` and `/fleet` are open; the allocation and registrar routes
//! need a caller token; listings, `/metrics` and `/openapi.json` are
//! readable with any token, listings only with an operator token.

pub mod auth;
pub mod byo;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod pool;
pub mod registrar;
pub mod routes;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::dns::PdnsClient;
use crate::fleet::{Fleet, FleetSettings};
use crate::outbox::Applier;
use crate::store::Store;
use auth::{Auth, Scope};
use routes::Routes;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The DNS server's API.
    pub dns: PdnsClient,
    /// The settings poolmgr runs with.
    pub settings: Arc<Settings>,
    /// The managed pools, sorted.
    pub pools: Arc<Vec<String>>,
    /// Applies queued DNS work.
    pub applier: Applier,
    /// Bearer tokens.
    pub auth: Arc<Auth>,
    /// Request counters.
    pub http_metrics: Arc<metrics::HttpMetrics>,
    /// The pool zones' DS records (digest type 2), for the operator step
    /// at the registrar; refreshed in the background.
    pub pool_ds: Arc<RwLock<BTreeMap<String, Vec<String>>>>,
    /// Wall time (the system clock, or a test's).
    pub clock: SharedClock,
    /// The name servers watched for `/healthz`, `/fleet` and the commit
    /// wait; `None` when none are configured.
    pub fleet: Option<Arc<Fleet>>,
}

impl AppState {
    /// The parts the BYO steps ([`crate::byo`]) work with.
    pub fn byo_deps(&self) -> crate::byo::ByoDeps {
        crate::byo::ByoDeps {
            store: self.store.clone(),
            dns: self.dns.clone(),
            settings: self.settings.clone(),
            clock: self.clock.clone(),
        }
    }

    /// State over a database and DNS server, on the system clock.
    pub fn new(store: Store, dns: PdnsClient, settings: Settings, auth: Auth) -> AppState {
        AppState::with_clock(store, dns, settings, auth, Arc::new(SystemClock))
    }

    /// State over a database and DNS server, reading wall time from
    /// `clock` (tests move it instead of sleeping).
    pub fn with_clock(
        store: Store,
        dns: PdnsClient,
        settings: Settings,
        auth: Auth,
        clock: SharedClock,
    ) -> AppState {
        let pools = Arc::new(settings.pools());
        AppState {
            applier: Applier::new(
                store.clone(),
                dns.clone(),
                settings.outbox_lease,
                clock.clone(),
            ),
            clock,
            store,
            dns,
            settings: Arc::new(settings),
            pools,
            auth: Arc::new(auth),
            http_metrics: Arc::default(),
            pool_ds: Arc::default(),
            fleet: None,
        }
    }

    /// The same state watching `fleet` (see [`crate::fleet`]).
    pub fn with_fleet(mut self, fleet: Option<FleetSettings>) -> AppState {
        self.fleet = fleet.map(|f| Arc::new(Fleet::new(f)));
        self
    }
}

/// Every route, with the token scope it needs (`None`: open to anyone).
/// The router and [`routes`] are both built from this one table.
fn route_table() -> Vec<(Option<Scope>, Routes)> {
    let caller = pool::caller_routes()
        .merge(registrar::routes())
        .merge(byo::routes())
        .get("/metrics", metrics::render)
        .get("/openapi.json", openapi::document);
    vec![
        (
            None,
            Routes::new()
                .get("/healthz", healthz)
                .get("/fleet", fleet_status),
        ),
        (Some(Scope::Caller), caller),
        (Some(Scope::Operator), pool::operator_routes()),
    ]
}

/// Every (method, path) the router serves, e.g. `("POST",
/// "/api/v1/pool/{domain}/reserve")`: what `/openapi.json` must document.
pub fn routes() -> &'static [(&'static str, &'static str)] {
    static ROUTES: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        route_table()
            .iter()
            .flat_map(|(_, routes)| routes.served().iter().copied())
            .collect()
    })
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    let scoped = |scope: Scope| {
        let auth = state.auth.clone();
        axum::middleware::from_fn(move |req, next| auth::require(auth.clone(), scope, req, next))
    };
    let mut app = Router::new();
    for (scope, routes) in route_table() {
        let routes = routes.into_router();
        app = app.merge(match scope {
            None => routes,
            Some(scope) => routes.route_layer(scoped(scope)),
        });
    }
    app.fallback(not_found)
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

async fn not_found() -> Response {
    error::ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such route").into_response()
}

/// `GET /healthz`: liveness plus a database ping (PDM §3.1), and the pool
/// zones' DS for the operator to publish at the registrar (§10.6). A
/// failed ping is 503 with a fixed `db` text; the error itself is logged
/// (the disclosure rule of [`error`]: `/healthz` is open to anyone).
///
/// With fleet name servers configured, the body also has a `fleet` report
/// (see [`crate::fleet::status`]). It never changes the status code: a
/// lagging edge is not a reason to restart poolmgr. `GET /fleet` is the
/// probe that fails on it.
async fn healthz(State(state): State<AppState>) -> Response {
    if let Err(e) = state.store.ping().await {
        tracing::error!(error = %e, "health check: database ping failed");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "unhealthy", "db": "unreachable (see poolmgr logs)" })),
        )
            .into_response();
    }
    let mut registrars: Vec<&str> = registrars::Provider::ALL.iter().map(|p| p.name()).collect();
    registrars.sort_unstable();
    let ds = state
        .pool_ds
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut body = json!({
        "status": "ok",
        "managedDomains": *state.pools,
        "registrars": registrars,
        "ds": ds,
    });
    if let Some(fleet) = &state.fleet {
        let report = fleet
            .report(&state.dns, &state.pools, state.clock.now())
            .await;
        body["fleet"] = report.to_json();
    }
    axum::Json(body).into_response()
}

/// `GET /fleet`: the fleet report alone, 200 when every listed name
/// server serves every pool zone's current serial, 503 when any lags or
/// errs (a readiness or alerting probe). Open like `/healthz`, which shows
/// the same report. 404 `fleet-not-configured` without
/// `POOLMGR_FLEET_NAMESERVERS`.
async fn fleet_status(State(state): State<AppState>) -> Response {
    let Some(fleet) = &state.fleet else {
        return error::ApiError::new(
            StatusCode::NOT_FOUND,
            "fleet-not-configured",
            "no fleet name servers are configured (POOLMGR_FLEET_NAMESERVERS)",
        )
        .into_response();
    };
    let report = fleet
        .report(&state.dns, &state.pools, state.clock.now())
        .await;
    let status = if report.all_current() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report.to_json())).into_response()
}
