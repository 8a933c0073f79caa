//! JSON shapes of zones and RRsets as PowerDNS returns them.

use serde_json::{Value, json};

use super::ids;
use crate::zones::ZoneView;
use crate::zones::model::{ApiZone, content_text};

/// `/api/v1/servers/localhost`.
pub fn server() -> Value {
    json!({
        "type": "Server",
        "id": "localhost",
        "daemon_type": "authoritative",
        "version": concat!("dnsd ", env!("CARGO_PKG_VERSION")),
        "url": "/api/v1/servers/localhost",
        "config_url": "/api/v1/servers/localhost/config{/config_setting}",
        "zones_url": "/api/v1/servers/localhost/zones{/zone}",
        "autoprimaries_url": "/api/v1/servers/localhost/autoprimaries{/autoprimary}",
    })
}

/// Options of a zone listing or detail.
#[derive(Debug, Clone, Copy)]
pub struct Detail<'a> {
    pub dnssec_fields: bool,
    pub rrsets: bool,
    /// Only the RRsets at this name (and of this type).
    pub rrset_name: Option<&'a crate::wire::Name>,
    pub rrset_type: Option<crate::wire::RType>,
    pub include_disabled: bool,
}

/// The zone object; `detail` = `None` gives the list form.
pub fn zone(view: &ZoneView, detail: Option<Detail<'_>>) -> Value {
    let zone = view.zone();
    let serial = zone.map_or(0, |z| z.serial);
    let name = view.origin().to_lowercase().to_string();
    let id = ids::encode(&name);
    let (settings, model) = match view {
        ZoneView::Api { model, .. } => (model.settings.clone(), Some(model.as_ref())),
        ZoneView::File { .. } => (Default::default(), None),
        ZoneView::Secondary { source, .. } => (
            crate::zones::model::ZoneSettings {
                kind: "Slave".into(),
                masters: source
                    .primaries
                    .iter()
                    .map(|p| p.addr.to_string())
                    .collect(),
                ..Default::default()
            },
            None,
        ),
    };
    let mut out = json!({
        "id": id,
        "url": format!("/api/v1/servers/localhost/zones/{id}"),
        "name": name,
        "kind": settings.kind,
        "catalog": settings.catalog,
        "account": settings.account,
        "masters": settings.masters,
        "serial": serial,
        "notified_serial": settings.notified_serial,
        "last_check": 0,
    });
    let object = out.as_object_mut().expect("built as an object");
    if let ZoneView::Secondary {
        state,
        expired,
        source,
        ..
    } = view
    {
        // PowerDNS's last_check, and the refresh timers it does not show.
        let secs = |t: Option<std::time::SystemTime>| {
            t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs())
        };
        object.insert("last_check".into(), json!(secs(state.last_refresh)));
        object.insert(
            "replication".into(),
            json!({
                "primary": source.primaries.first().map(|p| p.addr.to_string()),
                "last_refresh": secs(state.last_refresh),
                "next_refresh": secs(state.next_refresh),
                "expires_at": secs(state.expires_at),
                "expired": expired,
                "last_error": state.last_error,
            }),
        );
    }
    let dnssec_fields = detail.is_none_or(|d| d.dnssec_fields);
    if dnssec_fields {
        // True when the zone has an active key (PowerDNS's rule).
        object.insert("dnssec".into(), json!(view.keys().is_some()));
        object.insert("edited_serial".into(), json!(serial));
    }
    let Some(detail) = detail else { return out };
    object.insert("soa_edit_api".into(), json!(settings.soa_edit_api));
    object.insert("soa_edit".into(), json!(settings.soa_edit));
    object.insert("nsec3param".into(), json!(settings.nsec3param));
    object.insert("nsec3narrow".into(), json!(settings.nsec3narrow));
    object.insert("api_rectify".into(), json!(settings.api_rectify));
    object.insert("master_tsig_key_ids".into(), json!([]));
    object.insert("slave_tsig_key_ids".into(), json!([]));
    if detail.rrsets {
        let rrsets = match (model, zone) {
            (Some(model), _) => api_rrsets(model, &detail),
            (None, Some(zone)) => file_rrsets(zone, &detail),
            (None, None) => Vec::new(),
        };
        object.insert("rrsets".into(), Value::Array(rrsets));
    }
    out
}

fn wanted(detail: &Detail<'_>, owner: &crate::wire::Name, rtype: crate::wire::RType) -> bool {
    detail.rrset_name.is_none_or(|n| n == owner) && detail.rrset_type.is_none_or(|t| t == rtype)
}

fn api_rrsets(model: &ApiZone, detail: &Detail<'_>) -> Vec<Value> {
    model
        .rrsets
        .iter()
        .filter(|(key, _)| wanted(detail, &key.owner, key.rtype))
        .filter_map(|(key, set)| {
            let records: Vec<Value> = set
                .records
                .iter()
                .filter(|r| detail.include_disabled || !r.disabled)
                .map(|r| json!({"content": r.content, "disabled": r.disabled}))
                .collect();
            (!records.is_empty() || !set.comments.is_empty()).then(|| {
                json!({
                    "name": key.owner.to_string(),
                    "type": key.rtype.to_string(),
                    "ttl": set.ttl,
                    "records": records,
                    "comments": set.comments,
                })
            })
        })
        .collect()
}

fn file_rrsets(zone: &crate::zone::Zone, detail: &Detail<'_>) -> Vec<Value> {
    let mut nodes: Vec<_> = zone.nodes().collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Vec::new();
    for node in nodes {
        for set in &node.rrsets {
            if !wanted(detail, &node.name, set.rtype) {
                continue;
            }
            let records: Vec<Value> = set
                .rdatas
                .iter()
                .map(|rdata| {
                    let content = content_text(set.rtype, rdata).unwrap_or_default();
                    json!({"content": content, "disabled": false})
                })
                .collect();
            out.push(json!({
                "name": node.name.to_lowercase().to_string(),
                "type": set.rtype.to_string(),
                "ttl": set.ttl,
                "records": records,
                "comments": [],
            }));
        }
    }
    out
}

/// A key as PowerDNS's cryptokeys endpoints show it (pdns-api.md §7).
/// `id` is the key tag: unique within a zone, as key files are named by it.
pub fn cryptokey(key: &crate::dnssec::store::ZoneKey) -> Value {
    use crate::dnssec::{DigestType, KeyRole};
    let signing = &key.key;
    let keytype = match key.role {
        KeyRole::Csk => "csk",
        KeyRole::Ksk => "ksk",
        KeyRole::Zsk => "zsk",
    };
    let mut out = json!({
        "type": "Cryptokey",
        "id": signing.tag(),
        "active": key.state.active,
        "published": key.state.published,
        "keytype": keytype,
        "flags": signing.flags(),
        "dnskey": signing.dnskey_text(),
        "algorithm": signing.algorithm().mnemonic(),
        "bits": 256,
    });
    if signing.flags() & 1 == 1 {
        let ds: Vec<String> = [DigestType::Sha256, DigestType::Sha384]
            .into_iter()
            .map(|d| signing.ds_text(d))
            .collect();
        out["cds"] = json!([ds[0]]);
        out["ds"] = json!(ds);
    }
    out
}
