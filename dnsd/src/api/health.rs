//! `GET /api/v1/health-checks`: what the LUA health checker knows, for
//! operators (PowerDNS has no such view; spec §16 suggests one).
//!
//! The reply is [`Snapshot`] as JSON:
//!
//! ```json
//! {
//!   "generation": 7,
//!   "interval_secs": 5.0,
//!   "expire_delay_secs": 3600.0,
//!   "checks": [{
//!     "target": "192.0.2.1",            // "ip:port" for tcp, null for http-unpinned
//!     "kind": "http",                   // "tcp" | "http" | "http-unpinned"
//!     "url": "https://www.example.org/hc", // null for tcp
//!     "options": {"timeout": "1"},      // the record's option table (the check's identity)
//!     "status": "down",                 // "pending" | "up" | "down"
//!     "weight": 0,                      // body weight of the last success
//!     "consecutive_failures": 3,
//!     "checks": 120,                    // completed checks
//!     "registered": 1767225600,         // Unix seconds
//!     "last_check": 1767226200,         // null until the first check completes
//!     "last_change": 1767226190,        // null until then too
//!     "last_error": "connecting to 192.0.2.1:443: Connection refused (os error 111)",
//!     "idle_secs": 2                    // since a query last asked
//!   }]
//! }
//! ```
//!
//! The checker reaches the handler as an `Extension<Arc<HealthChecker>>`
//! layered on the router by whoever starts it; without one the route
//! answers 404. It reads the registry only and never blocks queries.

use std::sync::Arc;

use axum::Extension;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::dynamic::health::{HealthChecker, Snapshot};

/// `GET /api/v1/health-checks`.
pub(super) async fn list(checker: Option<Extension<Arc<HealthChecker>>>) -> Response {
    match checker {
        Some(Extension(checker)) => axum::Json::<Snapshot>(checker.snapshot()).into_response(),
        None => ApiError::NotFound.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamic::health::CheckerSettings;
    use axum::http::StatusCode;

    #[tokio::test]
    async fn lists_the_checks_or_404_without_a_checker() {
        let checker = HealthChecker::start(
            CheckerSettings::default(),
            &tokio::runtime::Handle::current(),
        )
        .unwrap();
        let reply = list(Some(Extension(checker))).await;
        assert_eq!(reply.status(), StatusCode::OK);
        let body = axum::body::to_bytes(reply.into_body(), 1 << 20)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["checks"], serde_json::json!([]));
        assert_eq!(json["interval_secs"], 5.0);
        assert_eq!(list(None).await.status(), StatusCode::NOT_FOUND);
    }
}
