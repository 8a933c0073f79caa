//! OVH mock authentication: the four `X-Ovh-*` headers checked against the
//! seeded keys, the timestamp against the mock's clock, and the signature
//! recomputed over the URL this mock actually received — so an adapter
//! whose base URL differs from what reaches the server fails, as it would
//! against OVH. Also OVH's error envelope.

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::clock::{Clock, SystemClock};
use crate::mock::MockState;
use crate::providers::ovh::signature;

/// OVH's error body, with the `X-Ovh-QueryID` header real answers carry.
pub(super) fn error(status: u16, class: &str, error_code: Option<&str>, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut body = json!({
        "class": class,
        "message": message,
        "httpCode": format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")),
    });
    if let Some(code) = error_code {
        body["errorCode"] = json!(code);
    }
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        "x-ovh-queryid",
        axum::http::HeaderValue::from_static("EU.mock-query-0001"),
    );
    resp
}

/// 404 for an unknown service (domain or zone).
pub(super) fn not_found() -> Response {
    error(404, "Client::NotFound", None, "This service does not exist")
}

/// 400 with OVH's generic class.
pub(super) fn bad_request(message: &str) -> Response {
    error(400, "Client::BadRequest", None, message)
}

/// Seconds of skew tolerated: `ovh_time_tolerance_secs` (default 30).
fn tolerance(state: &MockState) -> i64 {
    state
        .world()
        .options
        .extra
        .get("ovh_time_tolerance_secs")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(30)
}

/// The mock's clock: the system clock plus `ovh_clock_offset_secs`, so
/// tests can put OVH ahead of or behind the adapter.
pub(super) fn now(state: &MockState) -> i64 {
    let offset = state
        .world()
        .options
        .extra
        .get("ovh_clock_offset_secs")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    SystemClock.now_unix() + offset
}

/// Checks a signed request; the account id on success, OVH's refusal
/// otherwise.
pub(super) fn authenticate(
    state: &MockState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let invalid_key = || {
        error(
            403,
            "Client::Forbidden",
            Some("INVALID_KEY"),
            "This application key is invalid",
        )
    };
    let app_key = header("x-ovh-application").ok_or_else(invalid_key)?;
    let (account, secret, consumer, denied) = {
        let world = state.world();
        let account = world
            .account_where(|a| a.credential("application_key") == Some(app_key))
            .ok_or_else(invalid_key)?;
        (
            account.id.clone(),
            account
                .credential("application_secret")
                .unwrap_or_default()
                .to_owned(),
            account
                .credential("consumer_key")
                .unwrap_or_default()
                .to_owned(),
            account.access_denied,
        )
    };
    let Some(ck) = header("x-ovh-consumer") else {
        return Err(error(
            403,
            "Client::Forbidden",
            Some("NOT_CREDENTIAL"),
            "This call has not been granted",
        ));
    };
    if ck != consumer {
        return Err(error(
            403,
            "Client::Forbidden",
            Some("INVALID_CREDENTIAL"),
            "This credential does not exist",
        ));
    }
    let ts: i64 = header("x-ovh-timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| bad_request("Invalid timestamp"))?;
    if (ts - now(state)).abs() > tolerance(state) {
        return Err(bad_request("Invalid timestamp"));
    }
    let host = header("host").unwrap_or("127.0.0.1");
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let url = format!("http://{host}{path}");
    let expected = signature(&secret, &consumer, method.as_str(), &url, body, ts);
    if header("x-ovh-signature") != Some(expected.as_str()) {
        return Err(error(
            400,
            "Client::BadRequest",
            Some("INVALID_SIGNATURE"),
            "Invalid signature",
        ));
    }
    if denied {
        return Err(error(
            403,
            "Client::Forbidden",
            Some("NOT_GRANTED_CALL"),
            "This call has not been granted",
        ));
    }
    Ok(account)
}
