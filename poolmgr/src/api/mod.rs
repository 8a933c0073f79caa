//! The HTTP API: the Go PDM's routes, fields and codes (spec pdm-api.md
//! §3–§4), bearer-token authentication, `/openapi.json` and `/metrics`.

pub mod error;
pub mod registrar;

use std::sync::Arc;

use axum::Router;

use crate::config::Settings;
use crate::dns::PdnsClient;
use crate::store::Store;

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
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    Router::new().merge(registrar::routes()).with_state(state)
}
