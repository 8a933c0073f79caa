//! The OVH mock's zone API, `/domain/zone/{z}/…`: NS (and other) records
//! with OVH's LIKE filters, the `refresh` that makes edits live, and the
//! zone's own DNSSEC switch (`GET|POST|DELETE …/dnssec`, status
//! `enabled`/`disabled`; OVH's `…InProgress` states are skipped).

use std::collections::HashMap;

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::{bad_request, error};
use super::{Cx, null};
use crate::mock::seed::{Record, normalise};

impl Cx<'_> {
    /// `null` after a change that went through, journaled as `entry`; the
    /// refusal otherwise.
    fn noted(&self, done: Result<(), Response>, entry: String) -> Response {
        match done {
            Ok(()) => {
                self.ovh.state.note(entry);
                null()
            }
            Err(r) => r,
        }
    }

    pub(super) fn records(&self, z: &str, query: &HashMap<String, String>) -> Response {
        let field = query.get("fieldType").map(|s| s.to_ascii_uppercase());
        let sub = query.get("subDomain").map(|s| s.to_ascii_lowercase());
        self.zone(z, |dom| {
            let ids: Vec<u64> = dom
                .records
                .iter()
                .filter(|r| field.as_ref().is_none_or(|f| r.rtype == *f))
                // LIKE, not equality: `sub` also lists `sub2` and `a.sub`.
                .filter(|r| {
                    sub.as_ref()
                        .is_none_or(|s| sub_domain(&r.name).contains(s.as_str()))
                })
                .filter_map(|r| r.id.as_deref()?.parse().ok())
                .collect();
            Ok(axum::Json(ids).into_response())
        })
        .unwrap_or_else(|r| r)
    }

    pub(super) fn record(&self, z: &str, id: &str) -> Response {
        self.zone(z, |dom| {
            let zone = normalise(&dom.name);
            let r = dom
                .records
                .iter()
                .find(|r| r.id.as_deref() == Some(id))
                .ok_or_else(|| {
                    error(404, "Client::NotFound", None, "This record does not exist")
                })?;
            Ok(axum::Json(record_json(r, &zone)).into_response())
        })
        .unwrap_or_else(|r| r)
    }

    pub(super) fn create_record(&self, z: &str, body: &Value) -> Response {
        let s = |f: &str| body.get(f).and_then(Value::as_str);
        let (Some(field), Some(target)) = (s("fieldType"), s("target")) else {
            return bad_request("Missing parameter fieldType or target");
        };
        let field = field.to_ascii_uppercase();
        if field == "DS"
            || ![
                "A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "CAA", "PTR", "SPF", "TLSA",
            ]
            .contains(&field.as_str())
        {
            return bad_request(&format!("Invalid fieldType: {field}"));
        }
        let sub = normalise(s("subDomain").unwrap_or(""));
        let ttl = body.get("ttl").and_then(Value::as_u64).unwrap_or(0) as u32;
        let id = self.ovh.state.world().next_id().to_string();
        let created = self.zone(z, |dom| {
            let record = Record {
                id: Some(id),
                name: if sub.is_empty() { "@".into() } else { sub },
                rtype: field,
                content: if target.ends_with('.') {
                    normalise(target)
                } else {
                    target.to_owned()
                },
                ttl,
                priority: None,
            };
            let json = record_json(&record, &normalise(&dom.name));
            dom.records.push(record);
            dom.extra.insert("zone_unrefreshed".into(), json!(true));
            Ok(json)
        });
        match created {
            Ok(json) => {
                self.ovh.state.note(format!("write record {z}"));
                axum::Json(json).into_response()
            }
            Err(r) => r,
        }
    }

    pub(super) fn update_record(&self, z: &str, id: &str, body: &Value) -> Response {
        let done = self.zone(z, |dom| {
            let r = dom
                .records
                .iter_mut()
                .find(|r| r.id.as_deref() == Some(id))
                .ok_or_else(|| {
                    error(404, "Client::NotFound", None, "This record does not exist")
                })?;
            if let Some(ttl) = body.get("ttl").and_then(Value::as_u64) {
                r.ttl = ttl as u32;
            }
            if let Some(t) = body.get("target").and_then(Value::as_str) {
                r.content = normalise(t);
            }
            if let Some(sd) = body.get("subDomain").and_then(Value::as_str) {
                let sd = normalise(sd);
                r.name = if sd.is_empty() { "@".into() } else { sd };
            }
            dom.extra.insert("zone_unrefreshed".into(), json!(true));
            Ok(())
        });
        self.noted(done, format!("write record {z}"))
    }

    pub(super) fn delete_record(&self, z: &str, id: &str) -> Response {
        let done = self.zone(z, |dom| {
            let before = dom.records.len();
            dom.records.retain(|r| r.id.as_deref() != Some(id));
            if dom.records.len() == before {
                return Err(error(
                    404,
                    "Client::NotFound",
                    None,
                    "This record does not exist",
                ));
            }
            dom.extra.insert("zone_unrefreshed".into(), json!(true));
            Ok(())
        });
        self.noted(done, format!("write record {z}"))
    }

    pub(super) fn refresh(&self, z: &str) -> Response {
        self.noted(
            self.zone(z, |dom| {
                dom.extra.insert("zone_unrefreshed".into(), json!(false));
                Ok(())
            }),
            format!("refresh {z}"),
        )
    }

    /// `GET /domain/zone/{z}/dnssec`: OVH signs zones it hosts itself.
    pub(super) fn dnssec(&self, z: &str) -> Response {
        self.zone(z, |dom| {
            let status = dom
                .extra
                .get("zone_dnssec")
                .cloned()
                .unwrap_or_else(|| json!("disabled"));
            Ok(axum::Json(json!({ "status": status })).into_response())
        })
        .unwrap_or_else(|r| r)
    }

    /// `POST` (enable) or `DELETE` (disable) `/domain/zone/{z}/dnssec`.
    pub(super) fn set_dnssec(&self, z: &str, enable: bool) -> Response {
        let status = if enable { "enabled" } else { "disabled" };
        self.noted(
            self.zone(z, |dom| {
                dom.extra.insert("zone_dnssec".into(), json!(status));
                Ok(())
            }),
            format!("write dnssec {z}"),
        )
    }
}

/// The OVH `subDomain` of a stored record (`""` for the apex).
fn sub_domain(name: &str) -> String {
    if name == "@" {
        String::new()
    } else {
        normalise(name)
    }
}

fn record_json(r: &Record, zone: &str) -> Value {
    let target = if matches!(r.rtype.as_str(), "NS" | "CNAME" | "MX") {
        format!("{}.", r.content.trim_end_matches('.'))
    } else {
        r.content.clone()
    };
    json!({
        "id": r.id.as_deref().and_then(|i| i.parse::<u64>().ok()).unwrap_or(0),
        "fieldType": r.rtype,
        "subDomain": sub_domain(&r.name),
        "target": target,
        "ttl": r.ttl,
        "zone": zone,
    })
}
