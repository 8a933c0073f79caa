//! Records -> an indexed [`Zone`], with the per-node flags precomputed.
//!
//! The loader has already checked the zone's rules (one SOA, no CNAME beside
//! data, ...); this step only indexes, and refuses the few shapes it cannot
//! index at all, so a zone built here is always answerable.

use std::borrow::Borrow;
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

/// Zones of at least this many records give the loader's freed memory
/// back to the system once built.
const TRIM_AFTER_RECORDS: usize = 100_000;

/// Called once the `records` a zone was built from are freed: for a large
/// zone, gives their memory back to the system. The records and text a
/// large zone was read from take more memory than the zone itself; freed,
/// glibc keeps their pages, and the server's RSS would stay at the
/// loader's peak.
pub(crate) fn records_freed(records: usize) {
    if records >= TRIM_AFTER_RECORDS {
        trim_heap();
    }
}

/// Returns free heap pages to the system (glibc only; elsewhere a no-op).
pub(crate) fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Indexes `records` as the zone `origin`. Records may be given owned or
/// borrowed; exact duplicates are ignored ([`add_record`]).
pub fn build_zone<R: Borrow<Record>>(
    origin: &Name,
    records: impl IntoIterator<Item = R>,
) -> Result<Zone, BuildError> {
    let mut records = records.into_iter().peekable();
    let mut nodes = NodeMap::for_names(records.size_hint().0);
    let mut record_count = 0;
    // The last owner whose ancestors all have nodes: records of one name,
    // and names under one parent, mostly come together, so most records
    // need no lookup for their ancestors. Kept in one buffer, not a Name
    // per owner.
    let mut known: Vec<u8> = Vec::new();
    // Names two or more labels below the apex (only they can be below a
    // cut), and wildcards: the flags that depend on other nodes are set
    // for these alone once every node is in.
    let mut deep: Vec<Name> = Vec::new();
    let mut wildcards: Vec<Name> = Vec::new();
    while let Some(first) = records.next() {
        let first = first.borrow();
        check_in_zone(&first.owner, origin)?;
        let owner = first.owner.as_wire();
        // The parent is the last owner, or its parent.
        let parent_known = !known.is_empty() && {
            let parent = parent_wire(owner);
            parent.eq_ignore_ascii_case(&known) || parent.eq_ignore_ascii_case(parent_wire(&known))
        };
        if !parent_known {
            add_ancestors(&mut nodes, &first.owner, origin, &mut deep, &mut wildcards);
        }
        let mut is_new = false;
        let node = nodes.get_or_insert_with(owner, || {
            is_new = true;
            empty_node(first.owner.clone())
        });
        // Invariant: nodes are not shared while the zone is built.
        let node = Arc::get_mut(node).expect("nodes are not shared yet");
        record_count += usize::from(add_record(node, first.rtype, first.ttl, &first.rdata));
        // The rest of this owner's run of records, under the same borrow.
        while let Some(record) =
            records.next_if(|r| r.borrow().owner.as_wire().eq_ignore_ascii_case(owner))
        {
            let record = record.borrow();
            record_count += usize::from(add_record(node, record.rtype, record.ttl, &record.rdata));
        }
        // Checked and flagged here while the node is in cache; an owner
        // that comes back later is done again then.
        check_rrsets_fit(node)?;
        set_own_flags(node, owner.eq_ignore_ascii_case(origin.as_wire()));
        if is_new && parent_wire(owner).len() > origin.wire_len() {
            deep.push(first.owner.clone());
        }
        if is_new && is_wildcard_key(owner) {
            wildcards.push(first.owner.clone());
        }
        known.clear();
        known.extend_from_slice(owner);
    }
    drop(records);

    let apex_key = origin.as_wire();
    let (negative_ttl, serial) = soa_figures(nodes.get(apex_key).map(|n| &**n), origin)?;
    set_context_flags(&mut nodes, apex_key, &deep, &wildcards);

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

/// The wire name of the parent of the wire name `wire` (the root's is empty).
fn parent_wire(wire: &[u8]) -> &[u8] {
    wire.get(1 + usize::from(*wire.first().unwrap_or(&0))..)
        .unwrap_or_default()
}

/// Creates the empty non-terminals between `owner` and the apex; those two
/// or more labels below the apex go to `deep` too, wildcards to `wildcards`.
fn add_ancestors(
    nodes: &mut NodeMap,
    owner: &Name,
    origin: &Name,
    deep: &mut Vec<Name>,
    wildcards: &mut Vec<Name>,
) {
    let mut current = owner.parent();
    while let Some(name) = current {
        if name.wire_len() < origin.wire_len() || nodes.contains_key(name.as_wire()) {
            break;
        }
        let parent = name.parent();
        if parent_wire(name.as_wire()).len() > origin.wire_len() {
            deep.push(name.clone());
        }
        if is_wildcard_key(name.as_wire()) {
            wildcards.push(name.clone());
        }
        nodes.insert(Arc::new(empty_node(name)));
        current = parent;
    }
}

/// Adds one record to its node: the RRset's TTL is the smallest given.
/// A record equal to a stored one by [`rdata_eq`] but written in another
/// case is counted but not stored twice; an exact copy of a stored one is
/// ignored, TTL included, as the loader's dedup drops it (the first
/// occurrence and its TTL are kept). Returns whether the record counted.
pub(super) fn add_record(node: &mut Node, rtype: RType, ttl: u32, rdata: &[u8]) -> bool {
    match node.rrsets.binary_search_by_key(&rtype, |set| set.rtype) {
        Ok(i) => {
            let set = &mut node.rrsets[i];
            match set.rdatas.iter().find(|r| rdata_eq(rtype, r, rdata)) {
                Some(stored) if stored == rdata => return false,
                Some(_) => {}
                None => set.rdatas.push(rdata),
            }
            set.ttl = set.ttl.min(ttl);
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
    node.records_loaded += 1;
    true
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

/// Sets the flags that depend on other nodes, once all records are in:
/// `has_wildcard_child` at the parents of `wildcards`, and `is_occluded`
/// at those of `deep` (every name two or more labels below the apex) that
/// lie below a cut. Nodes are not shared yet, so make_mut never copies.
fn set_context_flags(nodes: &mut NodeMap, apex_key: &[u8], deep: &[Name], wildcards: &[Name]) {
    for wildcard in wildcards {
        if let Some(parent) = nodes.get_mut(&wildcard.as_wire()[2..]) {
            Arc::make_mut(parent).has_wildcard_child = true;
        }
    }
    // Found first, flagged after, since the test reads the map.
    let occluded: Vec<&Name> = deep
        .iter()
        .filter(|name| is_below_cut(nodes, name.as_wire(), apex_key))
        .collect();
    for name in occluded {
        let node = nodes.get_mut(name.as_wire()).expect("name from this map");
        Arc::make_mut(node).is_occluded = true;
    }
}
