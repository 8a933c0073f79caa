//! Registrar routes: `/api/v1/registrar/{registrar}/validate` and
//! `/set-ns` (PDM §4), plus the BYO-domain lifecycle.
// OWNED BY THE REGISTRAR ENGINEER.

use axum::Router;

use super::AppState;

/// The registrar routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
