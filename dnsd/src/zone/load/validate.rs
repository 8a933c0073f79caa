//! Zone rules checked after parsing: one SOA at the apex, NS at the apex,
//! CNAME exclusivity, no data outside the zone, delegations and DNAMEs
//! occluding what lies below them, and the RFC 2181 TTL limit.
//!
//! Work is linear in the number of records: names are grouped in a hash map
//! keyed by their wire bytes (case-insensitively), and ancestors are looked
//! up as suffixes of the same bytes, so no name is copied. The same grouping
//! finds duplicate records, which can only share an owner: one hash lookup
//! per run of records at one owner serves both jobs.

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
    /// Records at this owner, duplicates included.
    records: u32,
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

/// `node_of` of a record outside the zone.
const OUTSIDE: u32 = u32::MAX;

/// The in-zone records grouped by owner (pass 1 of the checks).
struct Owners<'a> {
    /// Owner name -> index into `nodes`.
    index: FxHashMap<Key<'a>, u32>,
    nodes: Vec<Node<'a>>,
    /// The node of each record, or [`OUTSIDE`].
    node_of: Vec<u32>,
}

/// Checks the zone rules; returns every violation in file order.
/// Identical records are checked as one.
pub fn validate(origin: &Name, records: &[Record]) -> Vec<LoadError> {
    let owners = group_owners(origin, records);
    let duplicate = find_duplicates(records, &owners);
    check_rules(origin, records, owners, &duplicate)
}

/// Drops records identical to an earlier one (same owner, ignoring case;
/// same type, class and RDATA; the first occurrence and its TTL are kept),
/// and checks the zone rules as [`validate`] does. Both need the records
/// grouped by owner, so they share the grouping.
pub fn dedup_and_validate(origin: &Name, records: Vec<Record>) -> (Vec<Record>, Vec<LoadError>) {
    let owners = group_owners(origin, &records);
    let duplicate = find_duplicates(&records, &owners);
    let errors = check_rules(origin, &records, owners, &duplicate);
    if !duplicate.contains(&true) {
        return (records, errors);
    }
    let kept = records
        .into_iter()
        .zip(duplicate)
        .filter_map(|(r, dup)| (!dup).then_some(r))
        .collect();
    (kept, errors)
}

/// Pass 1: groups in-zone records by owner.
fn group_owners<'a>(origin: &Name, records: &'a [Record]) -> Owners<'a> {
    let mut index: FxHashMap<Key<'_>, u32> = FxHashMap::default();
    // Most zones have one to two records per name: no rehash while filling.
    index.reserve(records.len() / 2);
    let mut nodes: Vec<Node<'_>> = Vec::new();
    let mut node_of: Vec<u32> = Vec::with_capacity(records.len());
    // Records of one owner mostly come together: the previous in-zone
    // record's owner is tried before the map.
    let mut last: Option<(&[u8], u32)> = None;
    for record in records {
        let owner = record.owner.as_wire();
        let id = match last {
            Some((wire, id)) if wire.eq_ignore_ascii_case(owner) => id,
            _ if !record.owner.is_subdomain_of(origin) => {
                node_of.push(OUTSIDE);
                continue;
            }
            _ => *index.entry(Key(owner)).or_insert_with(|| {
                nodes.push(Node::default());
                (nodes.len() - 1) as u32
            }),
        };
        last = Some((owner, id));
        node_of.push(id);
        let node = &mut nodes[id as usize];
        node.records += 1;
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
    Owners {
        index,
        nodes,
        node_of,
    }
}

/// Owners with at most this many records are searched for duplicates by
/// walking their earlier records; larger ones go through a hash table, so
/// a name with a huge RRset stays linear.
const WALK_LIMIT: u32 = 8;

/// Marks each record identical to an earlier one at the same owner.
fn find_duplicates(records: &[Record], owners: &Owners<'_>) -> Vec<bool> {
    const NONE: u32 = u32::MAX;
    let same =
        |a: &Record, b: &Record| a.rtype == b.rtype && a.class == b.class && a.rdata == b.rdata;
    let mut duplicate = vec![false; records.len()];
    // The last kept record of each small owner, and for each kept record
    // the one before it at the same owner.
    let mut last = vec![NONE; owners.nodes.len()];
    let mut earlier = vec![NONE; records.len()];
    // Kept records of large owners, by owner and data.
    let hash = |node: u32, r: &Record| {
        let mut hasher = FxHasher::default();
        (node, r.rtype, r.class, &r.rdata[..]).hash(&mut hasher);
        // FxHash alone leaves hashbrown's tag bits poorly mixed.
        fold_mul(hasher.finish(), 0x9e37_79b9_7f4a_7c15)
    };
    let mut large: HashTable<u32> = HashTable::new();
    for (i, record) in records.iter().enumerate() {
        let node = owners.node_of[i];
        if node == OUTSIDE {
            continue;
        }
        if owners.nodes[node as usize].records <= WALK_LIMIT {
            let mut j = last[node as usize];
            while j != NONE && !same(&records[j as usize], record) {
                j = earlier[j as usize];
            }
            if j == NONE {
                earlier[i] = last[node as usize];
                last[node as usize] = i as u32;
            } else {
                duplicate[i] = true;
            }
            continue;
        }
        let found = large.entry(
            hash(node, record),
            |&j| owners.node_of[j as usize] == node && same(&records[j as usize], record),
            |&j| hash(owners.node_of[j as usize], &records[j as usize]),
        );
        match found {
            Entry::Occupied(_) => duplicate[i] = true,
            Entry::Vacant(slot) => {
                slot.insert(i as u32);
            }
        }
    }
    duplicate
}

/// Passes 2 and 3: every rule, over the records not marked `duplicate`.
fn check_rules(
    origin: &Name,
    records: &[Record],
    owners: Owners<'_>,
    duplicate: &[bool],
) -> Vec<LoadError> {
    let Owners {
        index,
        mut nodes,
        node_of,
    } = owners;
    let apex = origin.as_wire();
    let mut errors: Vec<(usize, LoadError)> = Vec::new();
    let err = |i: usize, reason: String| (i, LoadError::new(records[i].location.clone(), reason));
    for (i, record) in records.iter().enumerate() {
        if node_of[i] == OUTSIDE {
            errors.push(err(
                i,
                format!("{} is outside the zone {origin}", record.owner),
            ));
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
                let anc = anc as usize;
                if nodes[anc].ns {
                    below = Some((Occluder::Cut, suffix));
                } else if nodes[anc].dname {
                    below = Some((Occluder::Dname, suffix));
                }
            }
        }
        nodes[id as usize].below = below;
    }

    // Pass 3: per-record rules.
    let is_apex = |name: &Name| Key(name.as_wire()) == apex_key;
    let mut soa_seen = None;
    let mut cnames_seen: FxHashMap<u32, u32> = FxHashMap::default();
    for (i, record) in records.iter().enumerate() {
        let id = node_of[i];
        if id == OUTSIDE || duplicate[i] {
            continue;
        }
        let node = &nodes[id as usize];
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
            let apex_ns = index
                .get(&apex_key)
                .is_some_and(|&id| nodes[id as usize].ns);
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
