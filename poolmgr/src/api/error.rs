//! The error body every route uses: `{"error":"<code>","detail":"<text>"}`
//! with the Go PDM's codes and statuses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

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

    /// An error with only the `error` field (PDM's bare 400/500 bodies).
    pub fn bare(status: StatusCode, text: impl Into<String>) -> Self {
        ApiError {
            status,
            code: text.into(),
            detail: None,
            extra: Map::new(),
        }
    }

    /// Adds a top-level field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
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
