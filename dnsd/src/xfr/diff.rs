//! The difference between two versions of a zone, as IXFR carries it
//! (RFC 1995 §4): the old SOA, the records deleted, the new SOA, the
//! records added.
//!
//! Three users: the primary computes a [`Diff`] for every serial change
//! ([`diff_zones`]) and keeps it in the history; a full transfer lists a
//! zone's records in order ([`zone_records`]); a secondary applies what it
//! received, either to a record list ([`apply`]) or, without touching the
//! names that did not change, to its served [`Zone`] ([`apply_to_zone`]).
//!
//! Records are compared by owner (without case, as names are), type and
//! exact RDATA octets. A diff therefore never drops a change of case inside
//! RDATA; applying one is more lenient, since a primary may spell a name in
//! RDATA differently from the copy we hold (RFC 4034 §6.2 lowercases those
//! names in canonical form).
//!
//! IXFR has no "TTL changed": an RRset whose TTL moved is deleted whole and
//! added whole, so a secondary ends up with the new TTL on every record.

use std::cmp::Ordering;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::wire::{Name, RType, rdata};
use crate::zone::{
    BuildError, NamesBelow, Node, OwnerChange, PackedRdatas, RRset, Record, Zone, rdata_eq,
    update_zone,
};

/// One serial change of a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// The SOA before the change.
    pub old_soa: Record,
    /// Records that were in the old version and are not in the new, SOA
    /// excluded; each record once, in canonical order.
    pub deleted: Vec<Record>,
    /// The SOA after the change.
    pub new_soa: Record,
    /// Records in the new version that were not in the old, SOA excluded.
    pub added: Vec<Record>,
}

impl Diff {
    pub fn old_serial(&self) -> u32 {
        soa_serial(&self.old_soa)
    }
    pub fn new_serial(&self) -> u32 {
        soa_serial(&self.new_soa)
    }
    /// True when nothing but the SOA changed.
    pub fn is_empty(&self) -> bool {
        self.deleted.is_empty() && self.added.is_empty()
    }
    /// Octets of owner names and RDATA in the diff, SOAs included: what
    /// the history counts against its byte limit.
    pub fn size(&self) -> usize {
        [&self.old_soa, &self.new_soa]
            .into_iter()
            .chain(&self.deleted)
            .chain(&self.added)
            .map(|r| r.owner.wire_len() + r.rdata.len())
            .sum()
    }
}

/// The serial of an SOA record's RDATA (its last 20 octets start with it).
pub fn soa_serial(soa: &Record) -> u32 {
    let tail = &soa.rdata[soa.rdata.len().saturating_sub(20)..];
    tail.get(..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The difference between `old` and `new` (same origin). When `names`
/// (lower-case wire names) is given, only those names can differ: the
/// writer knows what it changed, and a big zone is not walked. Nodes the
/// two versions share (`Arc::ptr_eq`) are equal without a look.
///
/// The SOAs are read from the apexes whatever `names` holds; the apex's
/// other records are compared only if the apex is among `names`.
pub fn diff_zones(old: &Zone, new: &Zone, names: Option<&[Box<[u8]>]>) -> Diff {
    let mut keys: Vec<Box<[u8]>> = match names {
        // Lowercased again: cheap for a few names, and a caller's slip in
        // case would otherwise silently hide a change.
        Some(names) => names
            .iter()
            .map(|n| n.to_ascii_lowercase().into())
            .collect(),
        None => changed_keys(old, new),
    };
    sort_canonical(&mut keys, |k| k);
    keys.dedup();

    let apex = old.origin.to_lowercase();
    let mut diff = Diff {
        old_soa: soa_record(old),
        deleted: Vec::new(),
        new_soa: soa_record(new),
        added: Vec::new(),
    };
    for key in &keys {
        let (before, after) = (old.nodes.get(&key[..]), new.nodes.get(&key[..]));
        if let (Some(a), Some(b)) = (before, after)
            && Arc::ptr_eq(a, b)
        {
            continue;
        }
        diff_node(
            before.map(|n| &**n),
            after.map(|n| &**n),
            &key[..] == apex.as_wire(),
            &mut diff,
        );
    }
    diff
}

/// Keys of the nodes that are not shared between the two versions.
fn changed_keys(old: &Zone, new: &Zone) -> Vec<Box<[u8]>> {
    // Only the shards the versions do not share can hold a difference.
    let mut keys = Vec::new();
    for key in new.nodes.keys_not_shared(&old.nodes) {
        match (old.nodes.get(&key), new.nodes.get(&key)) {
            (Some(before), Some(after)) if Arc::ptr_eq(before, after) => {}
            _ => keys.push(key),
        }
    }
    keys.extend(
        old.nodes
            .keys_not_shared(&new.nodes)
            .into_iter()
            .filter(|key| !new.nodes.contains_key(key)),
    );
    keys
}

/// Adds to `diff` what differs between two versions of one name.
fn diff_node(old: Option<&Node>, new: Option<&Node>, is_apex: bool, diff: &mut Diff) {
    let old_sets: &[RRset] = old.map_or(&[], |n| &n.rrsets);
    let new_sets: &[RRset] = new.map_or(&[], |n| &n.rrsets);
    let (mut i, mut j) = (0, 0);
    // Both lists are sorted by type: walk them together.
    while i < old_sets.len() || j < new_sets.len() {
        let order = match (old_sets.get(i), new_sets.get(j)) {
            (Some(a), Some(b)) => a.rtype.cmp(&b.rtype),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        let before = (order != Ordering::Greater).then(|| &old_sets[i]);
        let after = (order != Ordering::Less).then(|| &new_sets[j]);
        i += usize::from(before.is_some());
        j += usize::from(after.is_some());
        let rtype = before.or(after).map_or(RType(0), |s| s.rtype);
        if is_apex && rtype == RType::SOA {
            continue;
        }
        let record = |node: Option<&Node>, ttl: u32, rdata: &[u8]| Record {
            // Invariant: a set comes from a node, so the node is there.
            owner: node.map_or_else(Name::root, |n| n.name.clone()),
            rtype,
            class: 1,
            ttl,
            rdata: rdata.into(),
            location: None,
        };
        match (before, after) {
            (Some(a), Some(b)) if a.ttl == b.ttl => {
                let (gone, came) = (
                    missing_from(&a.rdatas, &b.rdatas),
                    missing_from(&b.rdatas, &a.rdatas),
                );
                diff.deleted.extend(gone.map(|r| record(old, a.ttl, r)));
                diff.added.extend(came.map(|r| record(new, b.ttl, r)));
            }
            _ => {
                if let Some(a) = before {
                    diff.deleted
                        .extend(a.rdatas.iter().map(|r| record(old, a.ttl, r)));
                }
                if let Some(b) = after {
                    diff.added
                        .extend(b.rdatas.iter().map(|r| record(new, b.ttl, r)));
                }
            }
        }
    }
}

/// The RDATAs of `these` that `those` lacks (exact octets), in order.
fn missing_from<'a>(
    these: &'a PackedRdatas,
    those: &'a PackedRdatas,
) -> Box<dyn Iterator<Item = &'a [u8]> + 'a> {
    // A hash set only pays off for big sets (NS farms, TXT piles).
    if these.len() * those.len() > 1024 {
        let set: FxHashSet<&[u8]> = those.iter().collect();
        Box::new(these.iter().filter(move |r| !set.contains(r)))
    } else {
        Box::new(these.iter().filter(move |r| !those.iter().any(|t| t == *r)))
    }
}

/// The apex SOA of a zone as a record.
fn soa_record(zone: &Zone) -> Record {
    let apex = zone.apex();
    // Invariant: build_zone and update_zone refuse a zone whose apex has
    // no SOA, so every Zone has one.
    let set = apex
        .rrset(RType::SOA)
        .expect("a built zone has an apex SOA");
    Record {
        owner: apex.name.clone(),
        rtype: RType::SOA,
        class: 1,
        ttl: set.ttl,
        rdata: set.rdatas.first().map(Box::from).unwrap_or_default(),
        location: None,
    }
}

/// Every record of `zone` (RRsets of a name together; SOA first), as a
/// full transfer sends them.
pub fn zone_records(zone: &Zone) -> Vec<Record> {
    let mut out = Vec::with_capacity(zone.record_count + 1);
    out.push(soa_record(zone));
    let apex = zone.origin.to_lowercase();
    for (key, node) in nodes_in_canonical_order(zone) {
        let is_apex = &key[..] == apex.as_wire();
        for set in &node.rrsets {
            if is_apex && set.rtype == RType::SOA {
                continue;
            }
            out.extend(set.rdatas.iter().map(|rdata| Record {
                owner: node.name.clone(),
                rtype: set.rtype,
                class: 1,
                ttl: set.ttl,
                rdata: rdata.into(),
                location: None,
            }));
        }
    }
    out
}

/// The nodes of `zone` with their lowercase wire keys, in canonical order
/// (RFC 4034 §6.1; the apex first), for a transfer that streams a big
/// zone instead of listing its records first.
pub fn nodes_in_canonical_order(zone: &Zone) -> Vec<(Box<[u8]>, &Node)> {
    let mut nodes: Vec<(Box<[u8]>, &Node)> = zone
        .nodes()
        .map(|node| (node.name.as_wire().to_ascii_lowercase().into(), node))
        .collect();
    sort_canonical(&mut nodes, |(key, _)| key);
    nodes
}

/// Sorts by the canonical order of lowercase wire names.
fn sort_canonical<T>(items: &mut [T], key: impl Fn(&T) -> &[u8]) {
    // One key per item, compared as plain octets: far cheaper than
    // splitting both names into labels at every comparison.
    items.sort_by_cached_key(|item| canonical_key(key(item)));
}

/// A byte string whose plain order is the canonical order (RFC 4034 §6.1)
/// of the lowercase wire name `wire` (see
/// [`crate::dnssec::ranges::canonical_key_into`], which builds it).
pub fn canonical_key(wire: &[u8]) -> Vec<u8> {
    let mut key = crate::dnssec::ranges::CanonicalKey::new();
    crate::dnssec::ranges::canonical_key_into(wire, &mut key);
    key.to_vec()
}

pub use crate::dnssec::ranges::canonical_cmp;

/// Why a diff does not apply.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the diff starts at serial {diff} but the zone is at {zone}")]
    WrongSerial { zone: u32, diff: u32 },
    #[error("the diff deletes {0}, which the zone does not hold")]
    MissingRecord(String),
    #[error("the records hold no SOA")]
    NoSoa,
    #[error("the zone after the diff cannot be served: {0}")]
    Build(#[from] BuildError),
}

/// A record for an error message: owner, type and RDATA in text.
fn describe(record: &Record) -> String {
    let text = rdata::to_text(record.rtype, &record.rdata)
        .unwrap_or_else(|_| format!("\\# {}", record.rdata.len()));
    format!("{} {} {}", record.owner, record.rtype, text)
}

/// True when `held` is the record `wanted` names: same owner and type, and
/// the same RDATA (names in the RDATA of the classic types without case).
/// TTLs are not compared: a deletion names a record, not its TTL.
fn same_record(held: &Record, wanted: &Record) -> bool {
    held.rtype == wanted.rtype
        && held.owner == wanted.owner
        && (held.rdata == wanted.rdata || rdata_eq(held.rtype, &held.rdata, &wanted.rdata))
}

/// `records` (a whole zone, SOA included) with `diffs` applied in order.
///
/// RFC 1995 semantics, strictly: each diff must start at the serial the
/// records are at, and every record it deletes must be there
/// ([`ApplyError::MissingRecord`] otherwise; a primary that deletes what
/// we do not hold has a different zone than ours, and an AXFR is the
/// cure). An added record that is already there replaces it (its TTL
/// wins). Records keep their order; added ones follow.
pub fn apply(records: Vec<Record>, diffs: &[Diff]) -> Result<Vec<Record>, ApplyError> {
    // Only the (owner, type) pairs a diff touches are indexed, so a big
    // zone costs one pass and no allocation per record.
    let touched: FxHashSet<(&Name, RType)> = diffs
        .iter()
        .flat_map(|d| d.deleted.iter().chain(&d.added))
        .map(|r| (&r.owner, r.rtype))
        .collect();
    let mut soa_at = None;
    let mut slots: Vec<Option<Record>> = Vec::with_capacity(records.len());
    let mut index: FxHashMap<(Name, RType), Vec<usize>> = FxHashMap::default();
    for record in records {
        if record.rtype == RType::SOA && soa_at.is_none() {
            soa_at = Some(slots.len());
        } else if touched.contains(&(&record.owner, record.rtype)) {
            index
                .entry((record.owner.clone(), record.rtype))
                .or_default()
                .push(slots.len());
        }
        slots.push(Some(record));
    }
    let soa_at = soa_at.ok_or(ApplyError::NoSoa)?;

    for diff in diffs {
        let serial = slots[soa_at].as_ref().map_or(0, soa_serial);
        if serial != diff.old_serial() {
            return Err(ApplyError::WrongSerial {
                zone: serial,
                diff: diff.old_serial(),
            });
        }
        for gone in &diff.deleted {
            let mut found = false;
            for &at in index
                .get(&(gone.owner.clone(), gone.rtype))
                .into_iter()
                .flatten()
            {
                if slots[at]
                    .as_ref()
                    .is_some_and(|held| same_record(held, gone))
                {
                    slots[at] = None;
                    found = true;
                }
            }
            if !found {
                return Err(ApplyError::MissingRecord(describe(gone)));
            }
        }
        for came in &diff.added {
            let at = index.entry((came.owner.clone(), came.rtype)).or_default();
            match at.iter().find(|&&i| {
                slots[i]
                    .as_ref()
                    .is_some_and(|held| same_record(held, came))
            }) {
                Some(&i) => slots[i] = Some(came.clone()),
                None => {
                    at.push(slots.len());
                    slots.push(Some(came.clone()));
                }
            }
        }
        slots[soa_at] = Some(diff.new_soa.clone());
    }
    Ok(slots.into_iter().flatten().collect())
}

/// `zone` with `diffs` applied in order: the same records [`apply`] gives
/// for [`zone_records`], as a new version of `zone` that shares every
/// name the diffs leave alone, so a change of a few RRsets costs about
/// that much whatever the zone's size.
///
/// The one exception: when a name loses all its records, or gains or
/// loses a zone cut (NS below the apex, DNAME), what lies below it is
/// found by one pass over the zone's names.
pub fn apply_to_zone(zone: &Zone, diffs: &[Diff]) -> Result<Zone, ApplyError> {
    let apex = zone.origin.to_lowercase();
    // The new records of each touched name, by lowercase wire name.
    let mut work: FxHashMap<Box<[u8]>, Vec<Record>> = FxHashMap::default();
    let mut order: Vec<Box<[u8]>> = Vec::new();
    let mut serial = zone.serial;
    for diff in diffs {
        if serial != diff.old_serial() {
            return Err(ApplyError::WrongSerial {
                zone: serial,
                diff: diff.old_serial(),
            });
        }
        for gone in &diff.deleted {
            let held = records_of(zone, &mut work, &mut order, &gone.owner);
            let before = held.len();
            held.retain(|r| !same_record(r, gone));
            if held.len() == before {
                return Err(ApplyError::MissingRecord(describe(gone)));
            }
        }
        for came in &diff.added {
            let held = records_of(zone, &mut work, &mut order, &came.owner);
            match held.iter_mut().find(|r| same_record(r, came)) {
                Some(r) => *r = came.clone(),
                None => held.push(came.clone()),
            }
        }
        let held = records_of(zone, &mut work, &mut order, &zone.origin);
        match held.iter_mut().find(|r| r.rtype == RType::SOA) {
            Some(r) => *r = diff.new_soa.clone(),
            None => held.insert(0, diff.new_soa.clone()),
        }
        serial = diff.new_serial();
    }

    let below = Below::new(zone, &work, apex.as_wire());
    let changes = order.iter().map(|key| {
        let records = work.get(key).cloned().unwrap_or_default();
        let owner = match records.first() {
            Some(r) => r.owner.clone(),
            None => zone
                .node(key)
                .map(|n| n.name.clone())
                // Invariant: the key came from a Name.
                .unwrap_or_else(|| Name::from_wire(key).unwrap_or_else(|_| Name::root())),
        };
        OwnerChange { owner, records }
    });
    Ok(update_zone(zone, changes, &below)?)
}

/// The records `owner` holds so far, taken from `zone` the first time.
fn records_of<'w>(
    zone: &Zone,
    work: &'w mut FxHashMap<Box<[u8]>, Vec<Record>>,
    order: &mut Vec<Box<[u8]>>,
    owner: &Name,
) -> &'w mut Vec<Record> {
    let key: Box<[u8]> = owner.to_lowercase().as_wire().into();
    if !work.contains_key(&key) {
        order.push(key.clone());
    }
    work.entry(key)
        .or_insert_with_key(|key| zone.node(key).map(node_records).unwrap_or_default())
}

/// A node's records, in the order its RRsets hold them.
fn node_records(node: &Node) -> Vec<Record> {
    node.rrsets
        .iter()
        .flat_map(|set| {
            set.rdatas.iter().map(|rdata| Record {
                owner: node.name.clone(),
                rtype: set.rtype,
                class: 1,
                ttl: set.ttl,
                rdata: rdata.into(),
                location: None,
            })
        })
        .collect()
}

/// What lies below a name once the diffs are applied, for `update_zone`.
///
/// The node map has no order, so the names whose answers `update_zone`
/// may ask for (emptied names and their ancestors, names whose cut status
/// flips) are answered by one pass over the old zone's names plus the
/// touched ones; a question about any other name costs a pass of its own.
struct Below<'a> {
    zone: &'a Zone,
    work: &'a FxHashMap<Box<[u8]>, Vec<Record>>,
    /// Lowercase wire name -> the names strictly below it with records.
    known: FxHashMap<Box<[u8]>, Vec<Name>>,
}

impl<'a> Below<'a> {
    fn new(zone: &'a Zone, work: &'a FxHashMap<Box<[u8]>, Vec<Record>>, apex: &[u8]) -> Self {
        let mut asked: FxHashSet<Box<[u8]>> = FxHashSet::default();
        for (key, records) in work {
            // The apex is never a cut for update_zone, and everything is
            // below it: never worth a question.
            let is_cut_type = |t: RType| t == RType::NS || t == RType::DNAME;
            let was_cut = zone
                .node(key)
                .is_some_and(|n| n.rrsets.iter().any(|s| is_cut_type(s.rtype)));
            let is_cut = records.iter().any(|r| is_cut_type(r.rtype));
            if was_cut != is_cut && &key[..] != apex {
                asked.insert(key.clone());
            }
            if records.is_empty() {
                // This name and its ancestors up to (not including) the apex.
                let mut pos = 0;
                while pos < key.len() && key.len() - pos > apex.len() {
                    asked.insert(key[pos..].into());
                    pos += 1 + key[pos] as usize;
                }
            }
        }
        let mut below = Below {
            zone,
            work,
            known: FxHashMap::default(),
        };
        if !asked.is_empty() {
            below.known = below.scan(&asked);
        }
        below
    }

    /// For each name in `asked`, the names strictly below it that own
    /// records after the change.
    fn scan(&self, asked: &FxHashSet<Box<[u8]>>) -> FxHashMap<Box<[u8]>, Vec<Name>> {
        let mut found: FxHashMap<Box<[u8]>, Vec<Name>> =
            asked.iter().map(|k| (k.clone(), Vec::new())).collect();
        let mut note = |key: &[u8], name: &Name| {
            for q in asked {
                if key.len() > q.len() && key.ends_with(q) && at_label_boundary(key, q.len()) {
                    // Invariant: every asked name has an entry.
                    found
                        .get_mut(q)
                        .expect("entry per asked name")
                        .push(name.clone());
                }
            }
        };
        let mut key = Vec::with_capacity(255);
        for node in self.zone.nodes().filter(|node| !node.rrsets.is_empty()) {
            key.clear();
            key.extend(node.name.as_wire().iter().map(u8::to_ascii_lowercase));
            if !self.work.contains_key(&key[..]) {
                note(&key, &node.name);
            }
        }
        for (key, records) in self.work {
            if let Some(first) = records.first() {
                note(key, &first.owner);
            }
        }
        found
    }

    /// Calls `f` for each name strictly below `name` with records.
    fn each_below(&self, name: &Name, f: &mut dyn FnMut(&Name)) {
        let key: Box<[u8]> = name.to_lowercase().as_wire().into();
        match self.known.get(&key) {
            Some(names) => names.iter().for_each(f),
            None => {
                let asked: FxHashSet<Box<[u8]>> = [key.clone()].into_iter().collect();
                self.scan(&asked).values().flatten().for_each(f);
            }
        }
    }
}

/// True when the last `suffix_len` octets of the wire name `key` start at
/// a label.
fn at_label_boundary(key: &[u8], suffix_len: usize) -> bool {
    let mut pos = 0;
    while pos < key.len() && key.len() - pos > suffix_len {
        pos += 1 + key[pos] as usize;
    }
    pos <= key.len() && key.len() - pos == suffix_len
}

impl NamesBelow for Below<'_> {
    fn any_below(&self, name: &Name) -> bool {
        let mut any = false;
        self.each_below(name, &mut |_| any = true);
        any
    }

    fn for_each_below(&self, name: &Name, f: &mut dyn FnMut(&Name)) {
        self.each_below(name, f);
    }
}

#[cfg(test)]
mod tests;
