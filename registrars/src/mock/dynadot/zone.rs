//! Dynadot-hosted zone records in the mock (`get_dns`, `set_dns2`). The
//! two traps are kept: the record types have no NS or DS (which is why
//! child delegation is unsupported), and a `set_dns2` without
//! `add_dns_to_current_setting=1` replaces the whole zone.

use serde_json::{Map, Value, json};

use super::Params;
use crate::mock::seed::{Domain, Record, normalise};

/// Types `set_dns2` takes for the apex and for sub-hosts.
const MAIN_TYPES: [&str; 8] = [
    "a", "aaaa", "cname", "forward", "txt", "mx", "stealth", "email",
];
const SUB_TYPES: [&str; 9] = [
    "a", "aaaa", "cname", "forward", "txt", "srv", "mx", "stealth", "email",
];

/// `get_dns`: the zone as main (apex) and sub-host records.
pub(super) fn get_dns(d: &Domain) -> Map<String, Value> {
    let (main, sub): (Vec<&Record>, Vec<&Record>) = d.records.iter().partition(|r| r.name == "@");
    let ttl = d.records.first().map(|r| r.ttl).unwrap_or(3600);
    let mut out = Map::new();
    out.insert(
        "GetDns".into(),
        json!({ "NameServerSettings": {
            "Type": "Dynadot DNS",
            "MainDomains": main.iter().map(|r| json!({ "RecordType": r.rtype.to_ascii_lowercase(), "Value": r.content })).collect::<Vec<_>>(),
            "SubDomains": sub.iter().map(|r| json!({ "Subhost": r.name, "RecordType": r.rtype.to_ascii_lowercase(), "Value": r.content })).collect::<Vec<_>>(),
            "TTL": ttl.to_string(),
        }}),
    );
    out
}

/// The records a `set_dns2` call carries, and whether it adds to the zone.
pub(super) fn parse_set_dns2(params: &Params) -> Result<(Vec<Record>, bool), String> {
    let ttl = params
        .get("ttl")
        .and_then(|t| t.parse().ok())
        .unwrap_or(3600);
    let mut records = Vec::new();
    for i in 0..20 {
        let (Some(rtype), Some(value)) = (
            params.get(&format!("main_record_type{i}")),
            params.get(&format!("main_record{i}")),
        ) else {
            continue;
        };
        if !MAIN_TYPES.contains(&rtype.to_ascii_lowercase().as_str()) {
            return Err(format!("invalid main record type: {rtype}"));
        }
        records.push(record("@", rtype, value, ttl));
    }
    for i in 0..100 {
        let (Some(host), Some(rtype), Some(value)) = (
            params.get(&format!("subdomain{i}")),
            params.get(&format!("sub_record_type{i}")),
            params.get(&format!("sub_record{i}")),
        ) else {
            continue;
        };
        if !SUB_TYPES.contains(&rtype.to_ascii_lowercase().as_str()) {
            return Err(format!("invalid sub record type: {rtype}"));
        }
        records.push(record(&normalise(host), rtype, value, ttl));
    }
    Ok((
        records,
        params.get("add_dns_to_current_setting").map(String::as_str) == Some("1"),
    ))
}

fn record(name: &str, rtype: &str, value: &str, ttl: u32) -> Record {
    Record {
        id: None,
        name: name.to_owned(),
        rtype: rtype.to_ascii_uppercase(),
        content: value.to_owned(),
        ttl,
        priority: None,
    }
}

/// Writes the records: added to the zone, or replacing all of it.
pub(super) fn apply(d: &mut Domain, records: Vec<Record>, add: bool) {
    if !add {
        d.records.clear();
    }
    d.records.extend(records);
}
