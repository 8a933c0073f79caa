//! Records -> an indexed [`Zone`], with the per-node flags precomputed.
//!
//! The loader has already checked the zone's rules (one SOA, no CNAME beside
//! data, ...); this step only indexes, and refuses the few shapes it cannot
//! index at all, so a zone built here is always answerable.

use rustc_hash::FxHashMap;

use super::record::Record;
use super::tree::{Node, RRset, Zone};
use crate::wire::{Name, RType};

/// Why records cannot become a zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("zone {0} has no SOA record at its apex")]
    NoSoa(String),
    #[error("record {owner} is outside zone {origin}")]
    OutOfZone { owner: String, origin: String },
    #[error("SOA record of zone {0} is malformed")]
    BadSoa(String),
}

/// Indexes `records` as the zone `origin`.
pub fn build_zone(origin: &Name, records: Vec<Record>) -> Result<Zone, BuildError> {
    let origin_lower = origin.to_lowercase();
    let mut nodes: FxHashMap<Box<[u8]>, Node> = FxHashMap::default();
    nodes.reserve(records.len());
    let record_count = records.len();

    for record in records {
        if !record.owner.is_subdomain_of(origin) {
            return Err(BuildError::OutOfZone {
                owner: record.owner.to_string(),
                origin: origin.to_string(),
            });
        }
        let key: Box<[u8]> = record.owner.to_lowercase().as_wire().into();
        if !nodes.contains_key(&key) {
            add_ancestors(&mut nodes, &record.owner, &origin_lower);
        }
        let node = nodes
            .entry(key)
            .or_insert_with(|| empty_node(record.owner.clone()));
        add_record(node, record);
    }

    let apex_key = origin_lower.as_wire();
    let apex = nodes
        .get(apex_key)
        .ok_or_else(|| BuildError::NoSoa(origin.to_string()))?;
    let soa = apex
        .rrset(RType::SOA)
        .and_then(|set| set.rdatas.first().map(|rdata| (set.ttl, rdata)))
        .ok_or_else(|| BuildError::NoSoa(origin.to_string()))?;
    let (soa_ttl, soa_rdata) = soa;
    if soa_rdata.len() < 22 {
        return Err(BuildError::BadSoa(origin.to_string()));
    }
    let tail = &soa_rdata[soa_rdata.len() - 20..];
    let serial = u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let minimum = u32::from_be_bytes([tail[16], tail[17], tail[18], tail[19]]);

    adjust(&mut nodes, apex_key);

    Ok(Zone {
        origin: origin.clone(),
        nodes,
        negative_ttl: soa_ttl.min(minimum),
        serial,
        record_count,
    })
}

fn empty_node(name: Name) -> Node {
    Node {
        name,
        rrsets: Vec::new(),
        is_delegation: false,
        is_occluded: false,
        is_dname: false,
        has_wildcard_child: false,
    }
}

/// Creates the empty non-terminals between `owner` and the apex.
fn add_ancestors(nodes: &mut FxHashMap<Box<[u8]>, Node>, owner: &Name, origin_lower: &Name) {
    let mut current = owner.parent();
    while let Some(name) = current {
        if name.wire_len() < origin_lower.wire_len() {
            break;
        }
        let key: Box<[u8]> = name.to_lowercase().as_wire().into();
        if nodes.contains_key(&key) {
            break;
        }
        let parent = name.parent();
        nodes.insert(key, empty_node(name));
        current = parent;
    }
}

fn add_record(node: &mut Node, record: Record) {
    let at = node
        .rrsets
        .binary_search_by_key(&record.rtype, |set| set.rtype);
    match at {
        Ok(i) => {
            let set = &mut node.rrsets[i];
            set.ttl = set.ttl.min(record.ttl);
            if !set
                .rdatas
                .iter()
                .any(|r| rdata_eq(record.rtype, r, &record.rdata))
            {
                set.rdatas.push(record.rdata);
            }
        }
        Err(i) => node.rrsets.insert(
            i,
            RRset {
                rtype: record.rtype,
                ttl: record.ttl,
                rdatas: vec![record.rdata],
            },
        ),
    }
}

/// RDATA equality; names in the RDATA of the classic types compare without case
/// (RFC 4034 §6.2), so `NS A.example.` and `NS a.example.` are one record.
fn rdata_eq(rtype: RType, a: &[u8], b: &[u8]) -> bool {
    match rtype {
        RType::NS | RType::CNAME | RType::PTR | RType::DNAME | RType::MX | RType::SOA => {
            a.eq_ignore_ascii_case(b)
        }
        _ => a == b,
    }
}

/// Computes the flags of every node once all records are in.
fn adjust(nodes: &mut FxHashMap<Box<[u8]>, Node>, apex_key: &[u8]) {
    let keys: Vec<Box<[u8]>> = nodes.keys().cloned().collect();
    for key in &keys {
        let node = nodes.get_mut(key).expect("key from this map");
        node.is_dname = node.rrset(RType::DNAME).is_some();
        node.is_delegation = &key[..] != apex_key && node.rrset(RType::NS).is_some();
    }
    for key in &keys {
        let wildcard_parent = key.len() > 2 && key[0] == 1 && key[1] == b'*';
        if wildcard_parent && let Some(parent) = nodes.get_mut(&key[2..]) {
            parent.has_wildcard_child = true;
        }
        // Walk up to the apex: any delegation strictly above makes this node occluded.
        let mut pos = 1 + key[0] as usize;
        let mut occluded = false;
        while key.len() - pos >= apex_key.len() && &key[pos..] != apex_key {
            if nodes
                .get(&key[pos..])
                .is_some_and(|n| n.is_delegation || n.is_dname)
            {
                occluded = true;
                break;
            }
            pos += 1 + key[pos] as usize;
        }
        if occluded {
            nodes.get_mut(key).expect("key from this map").is_occluded = true;
        }
    }
}
