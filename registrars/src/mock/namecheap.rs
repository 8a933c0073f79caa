//! namecheap mock server — being written. Until then it serves no provider
//! routes (every provider path is 404); the shared control routes work.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{Fault, MockState, ProviderMock, render_status_fault};

/// The plug-in: base path, routes and fault rendering.
pub fn mock() -> ProviderMock {
    ProviderMock {
        base_path: "/xml.response",
        router,
        render_fault,
    }
}

/// Provider routes.
pub fn router(state: MockState) -> Router {
    Router::new().with_state(state)
}

/// How this provider signals a fault.
pub fn render_fault(fault: &Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after_secs } => {
            render_status_fault(429, "", retry_after_secs.map(|s| s.to_string()).as_deref())
        }
        Fault::ProviderError {
            code,
            message,
            status,
        } => (
            StatusCode::from_u16(status.unwrap_or(400)).unwrap_or(StatusCode::BAD_REQUEST),
            format!("{code}: {message}"),
        )
            .into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
