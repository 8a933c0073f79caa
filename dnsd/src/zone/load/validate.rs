//! Zone rules checked after parsing: one SOA at the apex, NS at the apex,
//! CNAME exclusivity, no data outside the zone, delegations and DNAMEs
//! occluding what lies below them, and the RFC 2181 TTL limit.
//!
//! Work is linear in the number of records: names are grouped in a hash map
//! keyed by their wire bytes (case-insensitively), and ancestors are looked
//! up as suffixes of the same bytes, so no name is copied.

use std::hash::{Hash, Hasher};

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::{FxHashMap, FxHasher};

use super::LoadError;
use crate::wire::{Name, RType};
use crate::zone::Record;
use crate::zone::nodemap::{fold_mul, name_hash};

/// Largest TTL allowed (RFC 2181 §8).
pub const MAX_TTL: u32 = 2_147_483_647;

/// A wire name compared and hashed without regard to ASCII case.
#[derive(Clone, Copy)]
struct Key<'a>(&'a [u8]);

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(name_hash(self.0));
    }
}

/// What one owner name holds, as far as the rules care.
#[derive(Default)]
struct Node<'a> {
    ns: bool,
    dname: bool,
    cnames: u32,
    /// First type other than CNAME and DNSSEC metadata, for messages.
    other: Option<RType>,
    /// Highest delegation point or DNAME owner strictly above this name.
    below: Option<(Occluder, &'a [u8])>,
}

#[derive(Clone, Copy)]
enum Occluder {
    Cut,
    Dname,
}

/// Types that may sit beside anything (RFC 4035 §2.5: RRSIG and NSEC at a
/// CNAME; at a delegation point they are the parent's proof data).
fn is_dnssec_meta(rtype: RType) -> bool {
    rtype == RType::RRSIG || rtype == RType::NSEC
}

/// Checks the zone rules; returns every violation in file order.
pub fn validate(origin: &Name, records: &[Record]) -> Vec<LoadError> {
    let apex = origin.as_wire();
    let mut errors: Vec<(usize, LoadError)> = Vec::new();
    let err = |i: usize, reason: String| (i, LoadError::new(records[i].location.clone(), reason));

    // Pass 1: group in-zone records by owner.
    let mut index: FxHashMap<Key<'_>, usize> = FxHashMap::default();
    // Most zones have one to two records per name: no rehash while filling.
    index.reserve(records.len() / 2);
    let mut nodes: Vec<Node<'_>> = Vec::new();
    let mut node_of: Vec<Option<usize>> = Vec::with_capacity(records.len());
    // Records of one owner mostly come together: the previous in-zone
    // record's owner is tried before the map.
    let mut last: Option<(&[u8], usize)> = None;
    for (i, record) in records.iter().enumerate() {
        let owner = record.owner.as_wire();
        let id = match last {
            Some((wire, id)) if wire.eq_ignore_ascii_case(owner) => id,
            _ if !record.owner.is_subdomain_of(origin) => {
                errors.push(err(
                    i,
                    format!("{} is outside the zone {origin}", record.owner),
                ));
                node_of.push(None);
                continue;
            }
            _ => *index.entry(Key(owner)).or_insert_with(|| {
                nodes.push(Node::default());
                nodes.len() - 1
            }),
        };
        last = Some((owner, id));
        node_of.push(Some(id));
        let node = &mut nodes[id];
        match record.rtype {
            RType::NS => node.ns = true,
            RType::DNAME => node.dname = true,
            RType::CNAME => node.cnames += 1,
            _ => {}
        }
        if record.rtype != RType::CNAME && !is_dnssec_meta(record.rtype) && node.other.is_none() {
            node.other = Some(record.rtype);
        }
    }

    // Pass 2: find, for each name, the highest cut or DNAME above it.
    let apex_key = Key(apex);
    for (key, &id) in &index {
        if *key == apex_key {
            continue;
        }
        let wire = key.0;
        let mut pos = 0;
        let mut below = None;
        loop {
            pos += 1 + usize::from(wire[pos]);
            if wire.len() - pos <= apex.len() {
                break;
            }
            let suffix = &wire[pos..];
            if let Some(&anc) = index.get(&Key(suffix)) {
                if nodes[anc].ns {
                    below = Some((Occluder::Cut, suffix));
                } else if nodes[anc].dname {
                    below = Some((Occluder::Dname, suffix));
                }
            }
        }
        nodes[id].below = below;
    }

    // Pass 3: per-record rules.
    let is_apex = |name: &Name| Key(name.as_wire()) == apex_key;
    let mut soa_seen = None;
    let mut cnames_seen: FxHashMap<usize, u32> = FxHashMap::default();
    for (i, record) in records.iter().enumerate() {
        let Some(id) = node_of[i] else { continue };
        let node = &nodes[id];
        let owner = &record.owner;
        let at_apex = is_apex(owner);
        if record.ttl > MAX_TTL {
            errors.push(err(
                i,
                format!(
                    "TTL {} is above the maximum of {MAX_TTL} (RFC 2181)",
                    record.ttl
                ),
            ));
        }
        match record.rtype {
            RType::SOA if !at_apex => {
                errors.push(err(
                    i,
                    format!("SOA record at {owner}; it belongs only at the zone apex {origin}"),
                ));
            }
            RType::SOA if soa_seen.is_some() => {
                errors.push(err(i, "second SOA record; a zone has exactly one".into()));
            }
            RType::SOA => soa_seen = Some(i),
            RType::CNAME => {
                let seen = cnames_seen.entry(id).or_insert(0);
                *seen += 1;
                if at_apex {
                    errors.push(err(i, format!("CNAME record at the zone apex {origin}")));
                } else if *seen > 1 {
                    errors.push(err(i, format!("more than one CNAME record at {owner}")));
                } else if let Some(other) = node.other {
                    errors.push(err(
                        i,
                        format!("CNAME record at {owner} beside other data ({other})"),
                    ));
                }
            }
            RType::DNAME if node.ns && !at_apex => {
                errors.push(err(
                    i,
                    format!("DNAME and NS records at {owner}; only the zone apex may have both"),
                ));
            }
            _ => {}
        }
        let allowed_at_cut = matches!(record.rtype, RType::NS | RType::DS | RType::A | RType::AAAA)
            || is_dnssec_meta(record.rtype);
        if node.ns && !at_apex && !allowed_at_cut {
            errors.push(err(
                i,
                format!(
                    "{} record at the delegation point {owner}; only NS, DS and glue A/AAAA belong there",
                    record.rtype
                ),
            ));
        }
        match node.below {
            Some((Occluder::Cut, cut)) if !matches!(record.rtype, RType::A | RType::AAAA) => {
                errors.push(err(
                    i,
                    format!(
                        "{} record at {owner} is occluded by the delegation at {}",
                        record.rtype,
                        display_wire(cut)
                    ),
                ));
            }
            Some((Occluder::Dname, dname)) => {
                errors.push(err(
                    i,
                    format!(
                        "{} record at {owner} is occluded by the DNAME at {}",
                        record.rtype,
                        display_wire(dname)
                    ),
                ));
            }
            _ => {}
        }
    }

    errors.sort_by_key(|(i, _)| *i);
    let mut errors: Vec<LoadError> = errors.into_iter().map(|(_, e)| e).collect();
    match soa_seen {
        None => errors.push(LoadError::new(
            None,
            format!("zone {origin} has no SOA record at its apex"),
        )),
        Some(soa) => {
            let apex_ns = index.get(&apex_key).is_some_and(|&id| nodes[id].ns);
            if !apex_ns {
                errors.push(LoadError::new(
                    records[soa].location.clone(),
                    format!("zone {origin} has no NS records at its apex"),
                ));
            }
        }
    }
    errors
}

/// Prints a wire name that came from a valid [`Name`].
fn display_wire(wire: &[u8]) -> String {
    Name::from_wire(wire)
        .map(|n| n.to_string())
        .unwrap_or_else(|_| format!("{wire:?}"))
}

/// Drops records identical to an earlier one (same owner, ignoring case;
/// same type, class and RDATA). The first occurrence, and its TTL, is kept.
pub fn dedup(records: Vec<Record>) -> Vec<Record> {
    // Indices into `records`, hashed by record: a fifth of the memory of a
    // set of borrowed fields, which matters at a million records.
    let hash = |r: &Record| {
        let mut hasher = FxHasher::default();
        (r.rtype, r.class, &r.rdata[..]).hash(&mut hasher);
        // FxHash alone leaves hashbrown's tag bits poorly mixed.
        fold_mul(
            hasher.finish() ^ name_hash(r.owner.as_wire()),
            0x9e37_79b9_7f4a_7c15,
        )
    };
    let same = |a: &Record, b: &Record| {
        a.rtype == b.rtype
            && a.class == b.class
            && a.rdata == b.rdata
            && a.owner.as_wire().eq_ignore_ascii_case(b.owner.as_wire())
    };
    let mut seen: HashTable<u32> = HashTable::with_capacity(records.len());
    let mut keep = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let found = seen.entry(
            hash(record),
            |&j| same(&records[j as usize], record),
            |&j| hash(&records[j as usize]),
        );
        keep.push(matches!(found, Entry::Vacant(_)));
        if let Entry::Vacant(slot) = found {
            slot.insert(i as u32);
        }
    }
    drop(seen);
    if keep.iter().all(|&k| k) {
        return records;
    }
    records
        .into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect()
}
