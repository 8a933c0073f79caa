//! API errors: one type, each variant knowing its HTTP status, rendered as
//! PowerDNS renders them (`{"error": "..."}`, optionally with `errors`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::zones::ZoneError;

/// An error reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Unauthorized")]
    Unauthorized,
    #[error("Not Found")]
    NotFound,
    #[error("Conflict")]
    Conflict,
    /// Validation failures (PowerDNS `ApiException`): 422.
    #[error("{0}")]
    Unprocessable(String),
    /// Several validation failures at once.
    #[error("Multiple errors found in RRset")]
    Multiple(Vec<String>),
    /// Something failed on our side; details are logged, not returned.
    #[error("Internal Server Error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status PowerDNS uses for this kind of error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) | ApiError::Multiple(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Shorthand for a 422.
pub fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError::Unprocessable(message.into())
}

/// How a refused or failed registry write is reported (PowerDNS's wording
/// and codes): what the client can fix is 404, 409 or 422 with the reason;
/// storage and key failures are 500, their detail logged only.
impl From<ZoneError> for ApiError {
    fn from(err: ZoneError) -> ApiError {
        match err {
            ZoneError::NotFound(_) => ApiError::NotFound,
            ZoneError::Exists(_) => ApiError::Conflict,
            ZoneError::FileZone { zone, file } => unprocessable(format!(
                "Zone {zone} is loaded from the zone file {}; it is read-only through the API. \
                 Edit the file and send SIGHUP to dnsd to reload it.",
                file.display()
            )),
            ZoneError::Secondary { zone, primaries } => unprocessable(format!(
                "Zone {zone} is a secondary zone of {primaries}; it is read-only through the API. \
                 Change it on the primary."
            )),
            ZoneError::CatalogZone(zone) => unprocessable(format!(
                "Zone {zone} is the catalog zone of this server; it is read-only through the API. \
                 It lists the zones created through the API (and the zone files marked for it)."
            )),
            ZoneError::Invalid(err) => unprocessable(err.to_string()),
            ZoneError::Transfer(err) => unprocessable(err.to_string()),
            err @ ZoneError::Persist { .. } => ApiError::Internal(err.to_string()),
            ZoneError::Store(err) => ApiError::Internal(err.to_string()),
            ZoneError::Keys(err) => ApiError::Internal(err.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "api internal error");
        }
        let body = match &self {
            ApiError::Multiple(errors) => {
                serde_json::json!({"error": self.to_string(), "errors": errors})
            }
            _ => serde_json::json!({"error": self.to_string()}),
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        if self == ApiError::Unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("X-API-Key realm=\"PowerDNS\""),
            );
        }
        response
    }
}
