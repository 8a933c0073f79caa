//! API changes served by update (`next_zone`) against a full build of the
//! same model, through real PATCH bodies: disabled records, delegations
//! with glue, wildcards, ENTs and SOA changes.

use serde_json::{Value, json};

use super::*;
use crate::api::patch::{CreateZone, RRsetChange, apply_patch, create_zone};
use crate::zone::Node;

const NOW: u64 = 1_795_780_800;

/// A zone as served, in a form two builds can be compared by: per node
/// (sorted by name) its name, RRsets as sets, and flags.
fn snapshot(zone: &Zone) -> Vec<String> {
    let mut nodes: Vec<&Node> = zone.nodes().collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out: Vec<String> = nodes
        .iter()
        .map(|node| {
            let mut sets: Vec<String> = node
                .rrsets
                .iter()
                .map(|set| {
                    let mut rdatas = set.rdatas.clone();
                    rdatas.sort();
                    format!("{} {} {:?}", set.rtype, set.ttl, rdatas)
                })
                .collect();
            sets.sort();
            format!(
                "{} deleg={} occl={} dname={} wild={} {:?}",
                node.name.to_lowercase(),
                node.is_delegation,
                node.is_occluded,
                node.is_dname,
                node.has_wildcard_child,
                sets
            )
        })
        .collect();
    out.push(format!(
        "serial={} negative_ttl={} records={}",
        zone.serial, zone.negative_ttl, zone.record_count
    ));
    out
}

fn rrset(name: &str, rtype: &str, records: &[(&str, bool)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(content, disabled)| json!({"content": content, "disabled": disabled}))
        .collect();
    json!({"name": name, "type": rtype, "ttl": 300, "changetype": "REPLACE", "records": records})
}

fn delete(name: &str, rtype: &str) -> Value {
    json!({"name": name, "type": rtype, "changetype": "DELETE"})
}

#[test]
fn patches_are_served_as_a_full_build_would_serve_them() {
    let body: CreateZone = serde_json::from_value(json!({
        "name": "example.org.", "kind": "Native",
        "nameservers": ["ns1.example.org."]
    }))
    .unwrap();
    let mut model = create_zone(&body, NOW).unwrap();
    let mut zone = Arc::new(build_zone(&model.name, model.records()).unwrap());

    let steps: Vec<Vec<Value>> = vec![
        vec![rrset("www.example.org.", "A", &[("192.0.2.1", false)])],
        // Only disabled records: not served, so no node and no ENTs.
        vec![rrset("x.y.z.example.org.", "A", &[("192.0.2.2", true)])],
        vec![rrset("x.y.z.example.org.", "A", &[("192.0.2.2", false)])],
        vec![rrset(
            "x.y.z.example.org.",
            "A",
            &[("192.0.2.2", true), ("192.0.2.3", true)],
        )],
        vec![
            rrset("sub.example.org.", "NS", &[("ns.sub.example.org.", false)]),
            rrset("ns.sub.example.org.", "A", &[("192.0.2.53", false)]),
            rrset("deep.ns.sub.example.org.", "A", &[("192.0.2.54", false)]),
        ],
        vec![rrset("*.wild.example.org.", "TXT", &[("\"any\"", false)])],
        vec![rrset(
            "b.wild.example.org.",
            "AAAA",
            &[("2001:db8::1", false)],
        )],
        vec![delete("*.wild.example.org.", "TXT")],
        vec![rrset(
            "sub.example.org.",
            "NS",
            &[("ns.sub.example.org.", true)],
        )],
        vec![rrset(
            "example.org.",
            "SOA",
            &[(
                "ns1.example.org. hostmaster.example.org. 2030010101 10800 3600 604800 60",
                false,
            )],
        )],
        vec![
            delete("b.wild.example.org.", "AAAA"),
            delete("deep.ns.sub.example.org.", "A"),
            delete("www.example.org.", "A"),
        ],
    ];
    for (i, step) in steps.into_iter().enumerate() {
        let changes: Vec<RRsetChange> = serde_json::from_value(Value::Array(step)).unwrap();
        let patched = apply_patch(&model, &changes, NOW + i as u64).unwrap();
        let next = next_zone(&model, &zone, &patched.zone, None).unwrap();
        let full = build_zone(&patched.zone.name, patched.zone.records()).unwrap();
        assert_eq!(snapshot(&next), snapshot(&full), "after step {i}");
        model = patched.zone;
        zone = next;
    }
}

#[test]
fn a_change_that_changes_nothing_serves_the_same_zone() {
    let body: CreateZone =
        serde_json::from_value(json!({"name": "example.org.", "kind": "Native"})).unwrap();
    let model = create_zone(&body, NOW).unwrap();
    let zone = Arc::new(build_zone(&model.name, model.records()).unwrap());
    let next = next_zone(&model, &zone, &model.clone(), None).unwrap();
    assert!(Arc::ptr_eq(&zone, &next));
}
