//! Records -> an indexed [`Zone`], with the per-node flags precomputed.
//!
//! The loader has already checked the zone's rules (one SOA, no CNAME beside
//! data, ...); this step only indexes, and refuses the few shapes it cannot
//! index at all, so a zone built here is always answerable.

use std::sync::Arc;

use super::record::Record;
use super::tree::{LuaRecord, Node, NodeMap, PackedRdatas, RRset, Zone};
use crate::dynamic::{compile_rdata, settings};
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
    /// No DNS message can carry the RRset whole (RFC 1035 §4.2.2 caps a
    /// message at 65,535 octets): it could only ever be answered as an
    /// empty truncated reply, so it is refused where it is written.
    #[error(
        "RRset {owner} {rtype} takes {size} octets in a reply; a DNS message holds at most 65535"
    )]
    RRsetTooLarge {
        owner: String,
        rtype: RType,
        size: usize,
    },
}

/// Largest DNS message (the TCP length prefix is 16 bits).
const MAX_MESSAGE: usize = 65535;

/// Refuses a node holding an RRset that no reply can carry: header,
/// question for the owner, then each record with its owner compressed to a
/// pointer and its RDATA as stored (an upper bound for the few types whose
/// RDATA names compress).
pub(super) fn check_rrsets_fit(node: &Node) -> Result<(), BuildError> {
    let question = 12 + node.name.as_wire().len() + 4;
    for set in &node.rrsets {
        let size = question
            + set
                .rdatas
                .iter()
                .map(|rdata| 2 + 10 + rdata.len())
                .sum::<usize>();
        if size > MAX_MESSAGE {
            return Err(BuildError::RRsetTooLarge {
                owner: node.name.to_string(),
                rtype: set.rtype,
                size,
            });
        }
    }
    Ok(())
}

/// Indexes `records` as the zone `origin`.
pub fn build_zone(origin: &Name, records: Vec<Record>) -> Result<Zone, BuildError> {
    let record_count = records.len();
    let mut nodes = NodeMap::for_names(record_count);
    // Records of one name mostly come together: the node being filled is
    // kept out of the map until the owner changes, so each record costs no
    // lookup and each node's RRsets are sized once.
    let mut filling: Option<Node> = None;
    for record in records {
        check_in_zone(&record.owner, origin)?;
        let same_owner = filling.as_ref().is_some_and(|node| {
            node.name
                .as_wire()
                .eq_ignore_ascii_case(record.owner.as_wire())
        });
        if !same_owner {
            if let Some(done) = filling.take() {
                nodes.insert(Arc::new(done));
            }
            filling = Some(match nodes.remove(record.owner.as_wire()) {
                // Invariant: nodes are not shared while building.
                Some(node) => Arc::try_unwrap(node).expect("nodes are not shared yet"),
                None => {
                    add_ancestors(&mut nodes, &record.owner, origin);
                    empty_node(record.owner.clone())
                }
            });
        }
        // Invariant: set just above when the owner changed.
        let node = filling.as_mut().expect("a node is being filled");
        add_record(node, record.rtype, record.ttl, &record.rdata);
    }
    if let Some(done) = filling {
        nodes.insert(Arc::new(done));
    }

    for node in nodes.values() {
        check_rrsets_fit(node)?;
    }
    let apex_key = origin.as_wire();
    let (negative_ttl, serial) = soa_figures(nodes.get(apex_key).map(|n| &**n), origin)?;

    adjust(&mut nodes, apex_key);

    Ok(Zone {
        origin: origin.clone(),
        nodes,
        negative_ttl,
        serial,
        record_count,
    })
}

/// Refuses an owner outside the zone.
pub(super) fn check_in_zone(owner: &Name, origin: &Name) -> Result<(), BuildError> {
    if owner.is_subdomain_of(origin) {
        Ok(())
    } else {
        Err(BuildError::OutOfZone {
            owner: owner.to_string(),
            origin: origin.to_string(),
        })
    }
}

/// `(negative_ttl, serial)` from the apex SOA: the negative TTL is
/// min(SOA TTL, SOA MINIMUM) (RFC 2308 §3).
pub(super) fn soa_figures(apex: Option<&Node>, origin: &Name) -> Result<(u32, u32), BuildError> {
    let (soa_ttl, soa_rdata) = apex
        .and_then(|apex| apex.rrset(RType::SOA))
        .and_then(|set| set.rdatas.first().map(|rdata| (set.ttl, rdata)))
        .ok_or_else(|| BuildError::NoSoa(origin.to_string()))?;
    if soa_rdata.len() < 22 {
        return Err(BuildError::BadSoa(origin.to_string()));
    }
    let tail = &soa_rdata[soa_rdata.len() - 20..];
    let serial = u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let minimum = u32::from_be_bytes([tail[16], tail[17], tail[18], tail[19]]);
    Ok((soa_ttl.min(minimum), serial))
}

pub(super) fn empty_node(name: Name) -> Node {
    Node {
        name,
        rrsets: Box::default(),
        is_delegation: false,
        is_occluded: false,
        is_dname: false,
        has_wildcard_child: false,
        lua: Box::default(),
        records_loaded: 0,
    }
}

/// Creates the empty non-terminals between `owner` and the apex.
fn add_ancestors(nodes: &mut NodeMap, owner: &Name, origin: &Name) {
    let mut current = owner.parent();
    while let Some(name) = current {
        if name.wire_len() < origin.wire_len() || nodes.contains_key(name.as_wire()) {
            break;
        }
        let parent = name.parent();
        nodes.insert(Arc::new(empty_node(name)));
        current = parent;
    }
}

/// Adds one record to its node: the RRset's TTL is the smallest given,
/// and a duplicate (by [`rdata_eq`]) is counted but not stored twice.
pub(super) fn add_record(node: &mut Node, rtype: RType, ttl: u32, rdata: &[u8]) {
    node.records_loaded += 1;
    match node.rrsets.binary_search_by_key(&rtype, |set| set.rtype) {
        Ok(i) => {
            let set = &mut node.rrsets[i];
            set.ttl = set.ttl.min(ttl);
            if !set.rdatas.iter().any(|r| rdata_eq(rtype, r, rdata)) {
                set.rdatas.push(rdata);
            }
        }
        Err(i) => {
            // Exact capacity: a node keeps its RRsets in a boxed slice.
            let mut rrsets = Vec::with_capacity(node.rrsets.len() + 1);
            let mut old = std::mem::take(&mut node.rrsets).into_vec().into_iter();
            rrsets.extend(old.by_ref().take(i));
            let mut rdatas = PackedRdatas::default();
            rdatas.push(rdata);
            rrsets.push(RRset { rtype, ttl, rdatas });
            rrsets.extend(old);
            node.rrsets = rrsets.into_boxed_slice();
        }
    }
}

/// RDATA equality; names in the RDATA of the classic types compare without case
/// (RFC 4034 §6.2), so `NS A.example.` and `NS a.example.` are one record.
pub(crate) fn rdata_eq(rtype: RType, a: &[u8], b: &[u8]) -> bool {
    match rtype {
        RType::NS | RType::CNAME | RType::PTR | RType::DNAME | RType::MX | RType::SOA => {
            a.eq_ignore_ascii_case(b)
        }
        _ => a == b,
    }
}

/// Sets the flags that follow from a node's own records, and compiles its
/// LUA records.
pub(super) fn set_own_flags(node: &mut Node, is_apex: bool) {
    node.is_dname = node.rrset(RType::DNAME).is_some();
    node.is_delegation = !is_apex && node.rrset(RType::NS).is_some();
    node.lua = compile_lua(node);
}

/// Compiles every LUA record of `node` (lua-records.md §2). A record that
/// does not compile is kept with its error: it answers SERVFAIL.
fn compile_lua(node: &Node) -> Box<[LuaRecord]> {
    let Some(set) = node.rrset(RType::LUA) else {
        return Box::default();
    };
    set.rdatas
        .iter()
        .filter(|rdata| rdata.len() >= 2)
        .map(|rdata| LuaRecord {
            produced: RType(u16::from_be_bytes([rdata[0], rdata[1]])),
            rule: compile_rdata(rdata, settings::whitespace()).map(Arc::new),
        })
        .collect()
}

/// True when `key`, a wire name at or below `apex_key`, lies strictly
/// below a zone cut (NS or DNAME between it and the apex).
pub(super) fn is_below_cut(nodes: &NodeMap, key: &[u8], apex_key: &[u8]) -> bool {
    if key.len() <= apex_key.len() {
        return false;
    }
    let mut pos = 1 + key[0] as usize;
    while key.len() - pos > apex_key.len() {
        if nodes
            .get(&key[pos..])
            .is_some_and(|n| n.is_delegation || n.is_dname)
        {
            return true;
        }
        pos += 1 + key[pos] as usize;
    }
    false
}

/// True when `key` is a wildcard name (`*` as its first label).
pub(super) fn is_wildcard_key(key: &[u8]) -> bool {
    key.len() > 2 && key[0] == 1 && key[1] == b'*'
}

/// Computes the flags of every node once all records are in. Nodes are
/// not shared yet, so make_mut never copies here.
fn adjust(nodes: &mut NodeMap, apex_key: &[u8]) {
    let mut wildcards = Vec::new();
    for node in nodes.values_mut() {
        let node = Arc::make_mut(node);
        let is_apex = node.name.as_wire().eq_ignore_ascii_case(apex_key);
        set_own_flags(node, is_apex);
        if is_wildcard_key(node.name.as_wire()) {
            wildcards.push(node.name.clone());
        }
    }
    for wildcard in &wildcards {
        if let Some(parent) = nodes.get_mut(&wildcard.as_wire()[2..]) {
            Arc::make_mut(parent).has_wildcard_child = true;
        }
    }
    // Glue and other data below cuts: found first, flagged after, since
    // the test reads the map.
    let occluded: Vec<Name> = nodes
        .values()
        .filter(|node| is_below_cut(nodes, node.name.as_wire(), apex_key))
        .map(|node| node.name.clone())
        .collect();
    for name in &occluded {
        let node = nodes.get_mut(name.as_wire()).expect("name from this map");
        Arc::make_mut(node).is_occluded = true;
    }
}
