//! OVH wire format: the JSON the adapter reads and writes, and how an
//! error response (`{"class","message","errorCode","details"}`) becomes a
//! [`RegistrarError`].
//!
//! Parsing only, no I/O. Messages come from the parsed body, never from
//! request data.

use serde::{Deserialize, Serialize};

use crate::error::RegistrarError;
use crate::http::HttpResponse;

/// `GET /domain/{serviceName}` (only what we read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainInfo {
    /// `hosted` (OVH's own DNS) or `external`; only `external` takes NS edits.
    pub name_server_type: String,
    /// Whether host objects (glueRecord) exist for this TLD; if not, glue is
    /// an `ip` inside the NS entry.
    #[serde(default = "yes")]
    pub host_supported: bool,
    /// IPv6 glue allowed.
    #[serde(default = "yes")]
    pub glue_record_ipv6_supported: bool,
    /// More than one address per glue host allowed.
    #[serde(default = "yes")]
    pub glue_record_multi_ip_supported: bool,
}

fn yes() -> bool {
    true
}

/// `GET /domain/{serviceName}/nameServer/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NameServer {
    /// Host name.
    pub host: String,
    /// Glue address inside the entry (TLDs without host objects).
    #[serde(default)]
    pub ip: Option<String>,
    /// Being removed by a running task.
    #[serde(default)]
    pub to_delete: bool,
}

/// One entry of `POST /domain/{d}/nameServers/update`.
#[derive(Debug, Serialize)]
pub struct NameServerEntry {
    /// Host name.
    pub host: String,
    /// Only for in-domain hosts when `hostSupported` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// An OVH task (`/domain/{d}/task/{id}`, and what writes return).
#[derive(Debug, Deserialize)]
pub struct Task {
    /// Task id.
    pub id: u64,
    /// `todo|doing|done|error|problem|cancelled`.
    pub status: String,
    /// What the task does, e.g. `DomainDnsUpdate`.
    #[serde(default)]
    pub function: String,
    /// OVH's note, set on failures.
    #[serde(default)]
    pub comment: Option<String>,
}

/// `GET /domain/zone/{zone}/record/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneRecord {
    /// Record id.
    pub id: u64,
    /// `NS`, `A`, …
    pub field_type: String,
    /// Owner relative to the zone; `""` is the apex.
    pub sub_domain: String,
    /// Record data; NS targets end with a dot.
    pub target: String,
    /// TTL; 0 means the zone default.
    #[serde(default)]
    pub ttl: u32,
}

/// `GET /domain/{d}/glueRecord/{host}`.
#[derive(Debug, Deserialize)]
pub struct GlueRecord {
    /// Host name.
    pub host: String,
    /// Its addresses.
    #[serde(default)]
    pub ips: Vec<String>,
}

/// `GET /domain/{d}/dsRecord/{id}`: a DNSKEY as OVH keeps it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DsKey {
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// 256 or 257.
    pub flags: u16,
    /// Base64 public key.
    #[serde(alias = "publickey")]
    pub public_key: String,
    /// `created`, `creating`, `deleting`, …
    #[serde(default)]
    pub status: String,
}

/// One key of `POST /domain/{d}/dsRecord`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DsKeyInput {
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// 256 or 257.
    pub flags: u16,
    /// Base64 public key.
    pub public_key: String,
    /// Key tag.
    pub tag: u16,
}

/// OVH's error body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    details: Option<serde_json::Value>,
}

/// Maps a non-2xx response to an error; `context` is the domain or zone
/// the call was about, reported on a 404.
pub fn error(resp: &HttpResponse, context: &str) -> RegistrarError {
    if let Some(err) = resp.status_error() {
        return err;
    }
    let status = resp.status.as_u16();
    let body: ErrorBody = serde_json::from_slice(&resp.body).unwrap_or_default();
    let code = body
        .error_code
        .clone()
        .or_else(|| body.class.clone())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = body.message.clone();
    match body.error_code.as_deref() {
        Some("INVALID_KEY" | "INVALID_CREDENTIAL" | "NOT_CREDENTIAL" | "INVALID_SIGNATURE") => {
            return RegistrarError::InvalidCredentials {
                message: format!("{code}: {message}"),
            };
        }
        Some("NOT_GRANTED_CALL" | "FORBIDDEN") => {
            return RegistrarError::NotPermitted {
                message: format!("{code}: {message}"),
            };
        }
        _ => {}
    }
    let iam_denied = body
        .details
        .as_ref()
        .and_then(|d| d.get("unauthorizedActionsByIAM"))
        .is_some();
    if iam_denied {
        return RegistrarError::NotPermitted {
            message: format!("{code}: {message}"),
        };
    }
    // The wording is not documented; OVH says "timestamp" in it.
    if status == 400 && message.to_ascii_lowercase().contains("timestamp") {
        return RegistrarError::ClockSkew { message };
    }
    crate::providers::shared::rest_refusal(status, code, message, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn classifies() {
        let e = error(
            &resp(
                403,
                r#"{"errorCode":"INVALID_CREDENTIAL","message":"This credential does not exist"}"#,
            ),
            "x.com",
        );
        assert!(matches!(e, RegistrarError::InvalidCredentials { .. }));
        let e = error(
            &resp(
                403,
                r#"{"errorCode":"NOT_GRANTED_CALL","message":"This call has not been granted"}"#,
            ),
            "x.com",
        );
        assert!(matches!(e, RegistrarError::NotPermitted { .. }));
        let e = error(
            &resp(
                400,
                r#"{"class":"Client::BadRequest","message":"Invalid timestamp"}"#,
            ),
            "x.com",
        );
        assert!(matches!(e, RegistrarError::ClockSkew { .. }));
        let e = error(
            &resp(
                404,
                r#"{"class":"Client::NotFound","message":"This service does not exist"}"#,
            ),
            "x.com",
        );
        assert_eq!(
            e,
            RegistrarError::DomainNotInAccount {
                domain: "x.com".into()
            }
        );
        let e = error(
            &resp(409, r#"{"class":"Client::Conflict","message":"busy"}"#),
            "x.com",
        );
        assert!(matches!(e, RegistrarError::Conflict { .. }));
        let e = error(
            &resp(460, r#"{"class":"Client::Gone","message":"expired"}"#),
            "x.com",
        );
        assert!(matches!(e, RegistrarError::Rejected { ref code, .. } if code == "Client::Gone"));
    }
}
