//! API changes served by update (`next_zone`) against a full build of the
//! same model, over a sequence of changes: disabled records, delegations
//! with glue, wildcards, ENTs and SOA changes.

use std::sync::Arc;

use super::api_zones::next_zone;
use super::model::ApiZone;
use super::test_zones::{NOW, bump_serial, remove, replace, zone};
use crate::zone::{Node, Zone, build_zone};

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
                    let mut rdatas = set.rdatas.to_vec();
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

/// One change of a step: an RRset replaced (ttl 300) or deleted.
enum Change {
    Replace(&'static str, &'static str, &'static [(&'static str, bool)]),
    Delete(&'static str, &'static str),
}
use Change::{Delete, Replace};

/// `model` with `changes` applied and its serial moved, as a PATCH does.
fn apply(model: &ApiZone, changes: &[Change], now: u64) -> ApiZone {
    let mut next = model.clone();
    for change in changes {
        next = match *change {
            Replace(owner, rtype, records) => replace(&next, owner, rtype, 300, records),
            Delete(owner, rtype) => remove(&next, owner, rtype),
        };
    }
    bump_serial(&next, now)
}

#[test]
fn patches_are_served_as_a_full_build_would_serve_them() {
    let mut model = zone("example.org.");
    let mut zone = Arc::new(build_zone(&model.name, model.records()).unwrap());

    let steps: Vec<Vec<Change>> = vec![
        vec![Replace("www.example.org.", "A", &[("192.0.2.1", false)])],
        // Only disabled records: not served, so no node and no ENTs.
        vec![Replace("x.y.z.example.org.", "A", &[("192.0.2.2", true)])],
        vec![Replace("x.y.z.example.org.", "A", &[("192.0.2.2", false)])],
        vec![Replace(
            "x.y.z.example.org.",
            "A",
            &[("192.0.2.2", true), ("192.0.2.3", true)],
        )],
        vec![
            Replace("sub.example.org.", "NS", &[("ns.sub.example.org.", false)]),
            Replace("ns.sub.example.org.", "A", &[("192.0.2.53", false)]),
            Replace("deep.ns.sub.example.org.", "A", &[("192.0.2.54", false)]),
        ],
        vec![Replace("*.wild.example.org.", "TXT", &[("\"any\"", false)])],
        vec![Replace(
            "b.wild.example.org.",
            "AAAA",
            &[("2001:db8::1", false)],
        )],
        vec![Delete("*.wild.example.org.", "TXT")],
        vec![Replace(
            "sub.example.org.",
            "NS",
            &[("ns.sub.example.org.", true)],
        )],
        vec![Replace(
            "example.org.",
            "SOA",
            &[(
                "ns1.example.org. hostmaster.example.org. 2030010101 10800 3600 604800 60",
                false,
            )],
        )],
        vec![
            Delete("b.wild.example.org.", "AAAA"),
            Delete("deep.ns.sub.example.org.", "A"),
            Delete("www.example.org.", "A"),
        ],
    ];
    for (i, step) in steps.into_iter().enumerate() {
        let patched = apply(&model, &step, NOW + i as u64);
        let next = next_zone(&model, &zone, &patched, None).unwrap();
        let full = build_zone(&patched.name, patched.records()).unwrap();
        assert_eq!(snapshot(&next), snapshot(&full), "after step {i}");
        model = patched;
        zone = next;
    }
}

#[test]
fn a_change_that_changes_nothing_serves_the_same_zone() {
    let model = zone("example.org.");
    let zone = Arc::new(build_zone(&model.name, model.records()).unwrap());
    let next = next_zone(&model, &zone, &model.clone(), None).unwrap();
    assert!(Arc::ptr_eq(&zone, &next));
}
