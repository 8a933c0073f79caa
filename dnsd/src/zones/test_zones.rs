//! API zones built for tests without the API's request handling: the
//! registry's tests must not depend on `api/`, which depends on it.

use super::model::{ApiZone, RRsetKey, StoredRRset, StoredRecord, parse_content};
use super::serial::next_serial;
use crate::wire::{Name, RType};

/// 2026-11-27T12:00:00Z.
pub(super) const NOW: u64 = 1_795_780_800;

fn name(text: &str) -> Name {
    Name::from_text(text, None).expect("test names are valid")
}

/// A zone with an apex SOA and one NS, as a create with one nameserver
/// makes it.
pub(super) fn zone(origin: &str) -> ApiZone {
    let empty = ApiZone {
        name: name(origin),
        settings: Default::default(),
        rrsets: Default::default(),
    };
    let soa = format!("ns1.{origin} hostmaster.{origin} 2026112701 10800 3600 604800 3600");
    let with_soa = replace(&empty, origin, "SOA", 3600, &[(&soa, false)]);
    replace(
        &with_soa,
        origin,
        "NS",
        3600,
        &[(&format!("ns1.{origin}"), false)],
    )
}

/// `zone` with the RRset (`owner`, `rtype`) now `records` (content,
/// disabled).
pub(super) fn replace(
    zone: &ApiZone,
    owner: &str,
    rtype: &str,
    ttl: u32,
    records: &[(&str, bool)],
) -> ApiZone {
    let rtype = RType::from_text(rtype).expect("test types are known");
    let records = records
        .iter()
        .map(|&(content, disabled)| StoredRecord {
            content: content.to_string(),
            disabled,
            wire: parse_content(rtype, content, &zone.name)
                .expect("test content parses")
                .into_boxed_slice(),
        })
        .collect();
    let mut next = zone.clone();
    let set = StoredRRset {
        ttl,
        records,
        comments: Vec::new(),
    };
    let key = RRsetKey {
        owner: name(owner),
        rtype,
    };
    next.rrsets.insert(key, std::sync::Arc::new(set));
    next
}

/// `zone` without the RRset (`owner`, `rtype`).
pub(super) fn remove(zone: &ApiZone, owner: &str, rtype: &str) -> ApiZone {
    let mut next = zone.clone();
    next.rrsets.remove(&RRsetKey {
        owner: name(owner),
        rtype: RType::from_text(rtype).expect("test types are known"),
    });
    next
}

/// `zone` with its serial moved as an API change at `now` moves it.
pub(super) fn bump_serial(zone: &ApiZone, now: u64) -> ApiZone {
    let mut next = zone.clone();
    let old = zone.serial().expect("test zones have an SOA");
    next.set_serial(next_serial(&zone.settings.soa_edit_api, old, None, now));
    next
}
