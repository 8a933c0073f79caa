//! A new version of a zone from the previous one and the names whose
//! records changed: the same [`Zone`] [`build_zone`](super::build_zone)
//! makes of the whole new record set, at the cost of the change.
//!
//! The new version starts as a copy of the previous node map, which is
//! reference-count bumps, then replaces the changed names' nodes and
//! patches what depends on them:
//!
//! - empty non-terminals appear above new names and disappear with the last
//!   name below them;
//! - `has_wildcard_child` follows `*.<name>` appearing or disappearing;
//! - `is_occluded` is recomputed for new and replaced nodes, and for the
//!   whole subtree under a name that gained or lost NS or DNAME;
//! - `negative_ttl` and `serial` follow the apex SOA; `record_count` moves
//!   by what the changed names had and now have.
//!
//! What lies below a name is asked of the caller's own index of the new
//! records ([`NamesBelow`]), since the node map has no order. Unchanged
//! nodes are never copied; a node whose flags change is copied alone.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use super::build::{
    BuildError, add_record, check_in_zone, check_rrsets_fit, empty_node, is_below_cut,
    is_wildcard_key, set_own_flags, soa_figures,
};
use super::record::Record;
use super::tree::{Node, NodeMap, Zone};
use crate::wire::Name;

/// The new record set, as seen from a name: which names below it own
/// served records. API zones answer this from their ordered RRset map,
/// where a name's descendants follow it.
pub trait NamesBelow {
    /// True when some name strictly below `name` owns a served record.
    fn any_below(&self, name: &Name) -> bool;

    /// Calls `f` for each name strictly below `name` that owns a served
    /// record (each at least once, in any order).
    fn for_each_below(&self, name: &Name, f: &mut dyn FnMut(&Name));
}

/// Every served record of one name after a change; no records means the
/// name has none left.
#[derive(Debug, Clone)]
pub struct OwnerChange {
    /// The changed name; its case is kept for a new node.
    pub owner: Name,
    /// The name's records, all owned by `owner`, in the order
    /// [`build_zone`](super::build_zone) would get them.
    pub records: Vec<Record>,
}

/// Builds the next version of `prev` in which each name in `changes` holds
/// exactly the records given (each name at most once) and every other name
/// is as before. `below` describes the new record set. The result equals
/// `build_zone` of the new record set; the apex must keep a valid SOA.
pub fn update_zone(
    prev: &Zone,
    changes: impl IntoIterator<Item = OwnerChange>,
    below: &impl NamesBelow,
) -> Result<Zone, BuildError> {
    let origin = &prev.origin;
    let apex_lower = origin.to_lowercase();
    let apex_key = apex_lower.as_wire();
    let mut nodes: NodeMap = prev.nodes.clone();
    let mut record_count = prev.record_count;
    // Lowercase names of the changed owners.
    let mut changed: Vec<Name> = Vec::new();
    // Owners left with records (case kept, for the names of new ENTs).
    let mut filled: Vec<Name> = Vec::new();
    // Lowercase names of the nodes built here, whose context-dependent
    // flags are still unset.
    let mut fresh: Vec<Box<[u8]>> = Vec::new();
    // Lowercase names that came into or went out of existence.
    let mut appeared_or_gone: Vec<Box<[u8]>> = Vec::new();

    // 1. Replace each changed name's node; one left without records stays
    //    for now as an empty node and may go in step 2.
    for change in changes {
        check_in_zone(&change.owner, origin)?;
        let lower = change.owner.to_lowercase();
        let old = nodes.get(lower.as_wire());
        let key: Box<[u8]> = lower.as_wire().into();
        let mut node = empty_node(old.map_or_else(|| change.owner.clone(), |n| n.name.clone()));
        record_count -= old.map_or(0, |n| n.records_loaded as usize);
        let existed = old.is_some();
        for record in change.records {
            debug_assert!(record.owner == change.owner, "record of another name");
            record_count += usize::from(add_record(
                &mut node,
                record.rtype,
                record.ttl,
                &record.rdata,
            ));
        }
        check_rrsets_fit(&node)?;
        set_own_flags(&mut node, &key[..] == apex_key);
        if !node.rrsets.is_empty() {
            filled.push(change.owner);
        }
        if existed || !node.rrsets.is_empty() {
            if !existed {
                appeared_or_gone.push(key.clone());
            }
            nodes.insert(Arc::new(node));
            fresh.push(key);
        }
        changed.push(lower);
    }

    // 2. A name without records exists only while a name below it has
    //    some; walk up from each emptied name removing what is left bare.
    for owner in &changed {
        let mut current = Some(owner.clone());
        while let Some(name) = current {
            let key = name.as_wire();
            if key.len() <= apex_key.len()
                || nodes.get(key).is_some_and(|n| !n.rrsets.is_empty())
                || below.any_below(&name)
            {
                break;
            }
            if nodes.remove(key).is_some() {
                appeared_or_gone.push(key.into());
            }
            current = name.parent();
        }
    }

    // 3. Empty non-terminals above names with records, up to the first
    //    name that has a node. Its ancestors are complete: it existed
    //    before (and a name below it has records, so none went in step 2),
    //    or it is a changed owner or new ENT, walked up on its own.
    for owner in &filled {
        let mut current = owner.parent();
        while let Some(name) = current {
            let lower = name.to_lowercase();
            let key = lower.as_wire();
            if key.len() < apex_key.len() || nodes.contains_key(key) {
                break;
            }
            let key: Box<[u8]> = key.into();
            nodes.insert(Arc::new(empty_node(name.clone())));
            appeared_or_gone.push(key.clone());
            fresh.push(key);
            current = name.parent();
        }
    }

    // 4. Occlusion: every fresh node, and everything under a name whose
    //    cut status flipped. (The apex is never a cut.)
    let mut recheck: FxHashSet<Box<[u8]>> = FxHashSet::default();
    for owner in changed.iter().filter(|name| name.as_wire() != apex_key) {
        let key = owner.as_wire();
        let was_cut = prev.nodes.get(key).is_some_and(|n| is_cut(n));
        let is_now_cut = nodes.get(key).is_some_and(|n| is_cut(n));
        if was_cut == is_now_cut {
            continue;
        }
        below.for_each_below(owner, &mut |name| {
            let lower = name.to_lowercase();
            let wire = lower.as_wire();
            let mut pos = 0;
            while wire.len() - pos > key.len() {
                if nodes.contains_key(&wire[pos..]) && !recheck.insert(wire[pos..].into()) {
                    // Seen already, and so was every ancestor up to `owner`.
                    break;
                }
                pos += 1 + wire[pos] as usize;
            }
        });
    }
    recheck.extend(fresh.iter().cloned());
    for key in &recheck {
        let occluded = is_below_cut(&nodes, key, apex_key);
        if let Some(node) = nodes.get_mut(key)
            && node.is_occluded != occluded
        {
            Arc::make_mut(node).is_occluded = occluded;
        }
    }

    // 5. Wildcard children: fresh nodes look for theirs, and a wildcard
    //    that came or went tells its parent.
    let mut wildcard = Vec::with_capacity(64);
    for key in &fresh {
        if !nodes.contains_key(key) {
            continue;
        }
        wildcard.clear();
        wildcard.extend_from_slice(&[1, b'*']);
        wildcard.extend_from_slice(key);
        let has = nodes.contains_key(&wildcard[..]);
        if let Some(node) = nodes.get_mut(key) {
            set_wildcard_child(node, has);
        }
    }
    for key in appeared_or_gone.iter().filter(|k| is_wildcard_key(k)) {
        let has = nodes.contains_key(key);
        if let Some(parent) = nodes.get_mut(&key[2..]) {
            set_wildcard_child(parent, has);
        }
    }

    let apex_changed = changed.iter().any(|name| name.as_wire() == apex_key);
    let (negative_ttl, serial) = if apex_changed {
        soa_figures(nodes.get(apex_key).map(|n| &**n), origin)?
    } else {
        (prev.negative_ttl, prev.serial)
    };
    nodes.fit();
    Ok(Zone {
        origin: origin.clone(),
        nodes,
        negative_ttl,
        serial,
        record_count,
    })
}

/// A zone cut for occlusion: a delegation, or a DNAME below the apex.
fn is_cut(node: &Node) -> bool {
    node.is_delegation || node.is_dname
}

fn set_wildcard_child(node: &mut Arc<Node>, has: bool) {
    if node.has_wildcard_child != has {
        Arc::make_mut(node).has_wildcard_child = has;
    }
}

#[cfg(test)]
mod tests;
