//! The Dynadot REST (`/restful/v1`) name server endpoints in the mock,
//! with Bearer auth and the `X-Signature` check Dynadot makes on
//! transactional calls. The adapter speaks api3; this surface exists so
//! clients of the REST API can be tested against the same state.
//!
//! Signature: `base64(HMAC-SHA256(secret, key + "\n" + path_and_query +
//! "\n" + x_request_id + "\n" + body))`, the path starting at
//! `/restful/`. Envelopes: `{"code":200,"message":"Success","data":{…}}`,
//! errors `{"code":N,"message":…,"error":{"description":…}}` with the same
//! HTTP status. The `nameservers_list` body is single-sourced.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

use super::Dd;
use crate::types::HostName;

/// The `X-Signature` for one REST request.
pub fn signature(
    api_key: &str,
    api_secret: &str,
    path_and_query: &str,
    request_id: &str,
    body: &[u8],
) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(api_secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(api_key.as_bytes());
    mac.update(b"\n");
    mac.update(path_and_query.as_bytes());
    mac.update(b"\n");
    mac.update(request_id.as_bytes());
    mac.update(b"\n");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn error(status: u16, message: &str, description: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body =
        json!({ "code": status, "message": message, "error": { "description": description } });
    (code, axum::Json(body)).into_response()
}

fn success(data: Value) -> Response {
    axum::Json(json!({ "code": 200, "message": "Success", "data": data })).into_response()
}

/// The account the Bearer key names, after the signature check when
/// `signed` (transactional calls).
fn authenticate(
    dd: &Dd,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    signed: bool,
) -> Result<String, Response> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let key = header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            error(
                401,
                "Unauthorized",
                "missing or malformed Authorization header",
            )
        })?;
    let (account, secret) = {
        let world = dd.state.world();
        let a = world
            .account_where(|a| a.credential("api_key") == Some(key))
            .ok_or_else(|| error(401, "Unauthorized", "invalid api key"))?;
        (
            a.id.clone(),
            a.credential("api_secret").unwrap_or_default().to_owned(),
        )
    };
    if signed {
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let expected = signature(
            key,
            &secret,
            path,
            header("x-request-id").unwrap_or(""),
            body,
        );
        if header("x-signature") != Some(expected.as_str()) {
            return Err(error(403, "Forbidden", "invalid signature"));
        }
    }
    Ok(account)
}

/// `GET /restful/v1/domains/{domain}/nameservers`.
pub(super) async fn get_nameservers(
    State(dd): State<Dd>,
    uri: Uri,
    headers: HeaderMap,
    Path(domain): Path<String>,
) -> Response {
    let account = match authenticate(&dd, &uri, &headers, b"", false) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let world = dd.state.world();
    match world.account(&account).and_then(|a| a.domain(&domain)) {
        Some(d) => success(json!({ "domain_name": d.name, "nameservers_list": d.nameservers })),
        None => error(
            404,
            "Not Found",
            &format!("could not find {domain} in your account"),
        ),
    }
}

/// `PUT /restful/v1/domains/{domain}/nameservers` with
/// `{"nameservers_list":[…]}`; the same registration precondition as api3.
pub(super) async fn put_nameservers(
    State(dd): State<Dd>,
    uri: Uri,
    headers: HeaderMap,
    Path(domain): Path<String>,
    body: Bytes,
) -> Response {
    let account = match authenticate(&dd, &uri, &headers, &body, true) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let list: Option<Vec<String>> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("nameservers_list").cloned())
        .and_then(|v| serde_json::from_value(v).ok());
    let Some(list) = list.filter(|l| !l.is_empty() && l.len() <= 13) else {
        return error(
            400,
            "Bad Request",
            "nameservers_list must hold 1 to 13 host names",
        );
    };
    let Ok(hosts) = list
        .iter()
        .map(|h| HostName::new(h).map(String::from))
        .collect::<Result<Vec<_>, _>>()
    else {
        return error(400, "Bad Request", "invalid host name in nameservers_list");
    };
    let known = super::servers::known(&dd, &account);
    if let Some(missing) = hosts.iter().find(|h| !known.contains_key(*h)) {
        return error(
            400,
            "Bad Request",
            &format!(
                "'{missing}' needs to be registered with an ip address before it can be used."
            ),
        );
    }
    let mut world = dd.state.world();
    match world.domain_mut(&account, &domain) {
        Some(d) => {
            d.nameservers = hosts.clone();
            drop(world);
            dd.state.note(format!("write nameservers {domain}"));
            success(json!({ "domain_name": domain, "nameservers_list": hosts }))
        }
        None => error(
            404,
            "Not Found",
            &format!("could not find {domain} in your account"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example in the spec (§6.2), from lego's signer test.
    #[test]
    fn spec_vectors() {
        let path = "/restful/v2/domains/example.com/records";
        assert_eq!(
            signature(
                "key",
                "secret",
                path,
                "8e5bc897-75c8-4a9c-9362-5671405c7761",
                br#"{"sub_list":[]}"#
            ),
            "1v6pCnviEO/dqOIRV2wSc+YRJHt92L+P2xqkyuTVQyk="
        );
        assert_eq!(
            signature("key", "secret", path, "", b""),
            "bmpyYo9wpBlZBrcjmZOGrHdp1nQcsesmr8fxibvpefA="
        );
    }
}
