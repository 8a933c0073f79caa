//! Dynadot api3.json envelopes: `{"<Command>Response":{"ResponseCode",
//! "Status","Error",…}}`, always with HTTP 200.
//!
//! Three quirks decide the shape of this module: `ResponseCode` is an int
//! on success and a string on errors; the fields sit directly under the
//! one top-level key (no `ResponseHeader`), except that a bad key answers
//! with a generic `Response` whose fields may sit under `ResponseHeader`;
//! and errors are told apart only by their text.

use serde_json::{Map, Value};

use crate::error::RegistrarError;
use crate::http::HttpResponse;

/// A string-or-number field as text (`ResponseCode`, ids).
pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The response object under the single top-level key, or the error the
/// envelope carries. `domain` names the domain for "not in account".
pub fn parse(resp: &HttpResponse, domain: &str) -> Result<Map<String, Value>, RegistrarError> {
    if let Some(err) = resp.status_error() {
        return Err(err);
    }
    if !resp.status.is_success() {
        return Err(RegistrarError::Rejected {
            code: format!("HTTP {}", resp.status.as_u16()),
            message: "unexpected HTTP status from api3".into(),
        });
    }
    let root: Map<String, Value> = resp.json("api3 JSON object")?;
    let Some(Value::Object(inner)) = root.into_iter().next().map(|(_, v)| v) else {
        return Err(RegistrarError::protocol(
            "api3 response has no <Command>Response object",
        ));
    };
    // The generic bad-key answer nests its fields one level down.
    let fields = match inner.get("ResponseHeader") {
        Some(Value::Object(header)) => header.clone(),
        _ => inner.clone(),
    };
    let code = text(fields.get("ResponseCode"))
        .or_else(|| text(fields.get("SuccessCode")))
        .ok_or_else(|| RegistrarError::protocol("api3 response without ResponseCode"))?;
    let status = fields.get("Status").and_then(Value::as_str).unwrap_or("");
    if code.trim() == "0" && !status.eq_ignore_ascii_case("error") {
        return Ok(inner);
    }
    let message = fields
        .get("Error")
        .and_then(Value::as_str)
        .unwrap_or("no error text")
        .to_owned();
    Err(classify(&code, message, domain))
}

/// Turns an api3 error text into the error kind it means.
pub fn classify(code: &str, message: String, domain: &str) -> RegistrarError {
    let lower = message.to_ascii_lowercase();
    if lower.contains("invalid key") || lower.contains("key is invalid") {
        RegistrarError::InvalidCredentials { message }
    } else if lower.contains("could not find") || lower.contains("not in your account") {
        RegistrarError::DomainNotInAccount {
            domain: domain.to_owned(),
        }
    } else if lower.contains("needs to be registered") {
        // "'ns1.x' needs to be registered with an ip address before …"
        let host = message.split('\'').nth(1).unwrap_or_default().to_owned();
        RegistrarError::NameserverNotRegistered { host, message }
    } else if lower.contains("problem with connection") {
        RegistrarError::Unavailable {
            message,
            retry_after: None,
        }
    } else if lower.contains("too many") {
        // Over the per-minute quota, or a second request while one runs.
        RegistrarError::RateLimited { retry_after: None }
    } else {
        RegistrarError::Rejected {
            code: code.to_owned(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;

    fn resp(body: &str) -> HttpResponse {
        HttpResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn int_and_string_codes() {
        let ok = parse(
            &resp(r#"{"SetNsResponse":{"ResponseCode":0,"Status":"success"}}"#),
            "x.com",
        );
        assert!(ok.is_ok());
        let ok = parse(
            &resp(r#"{"SetNsResponse":{"ResponseCode":"0","Status":"success"}}"#),
            "x.com",
        );
        assert!(ok.is_ok());
        let err = parse(
            &resp(r#"{"SetNsResponse":{"ResponseCode":"-1","Status":"error","Error":"could not find x.com in your account"}}"#),
            "x.com",
        )
        .unwrap_err();
        assert_eq!(
            err,
            RegistrarError::DomainNotInAccount {
                domain: "x.com".into()
            }
        );
    }

    #[test]
    fn bad_key_shape_and_unregistered_host() {
        let err = parse(
            &resp(r#"{"Response":{"ResponseHeader":{"ResponseCode":"-1","Error":"invalid key"}}}"#),
            "x.com",
        )
        .unwrap_err();
        assert!(matches!(err, RegistrarError::InvalidCredentials { .. }));
        let err = classify(
            "-1",
            "'ns1.x.com' needs to be registered with an ip address before it can be used.".into(),
            "x.com",
        );
        assert!(
            matches!(err, RegistrarError::NameserverNotRegistered { ref host, .. } if host == "ns1.x.com")
        );
    }
}
