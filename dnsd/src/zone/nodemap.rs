//! Nodes by wire name, kept in shards so that a new version of a zone
//! copies only the shards it changes.
//!
//! A change to one name in a zone of a million names must not cost a
//! million reference-count bumps: that is what a single hash map shared
//! between versions costs, since the new version needs a map of its own.
//! Here the map is cut into shards by the name's hash; versions share
//! every shard they did not touch, and a change copies one shard of a few
//! thousand entries. Small zones have a single shard; a zone that grows is
//! re-sharded as it passes each power of two.
//!
//! The map holds no key of its own: an entry is the node, found by the
//! node's name hashed and compared without ASCII case, so a name is stored
//! once (in the case of its first appearance) and a lookup by a lowercase
//! query name still finds it. One hash picks both the shard and the slot.

use std::sync::Arc;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use super::tree::Node;

type Shard = HashTable<Arc<Node>>;

/// Names per shard a zone is built with; it is re-sharded when it reaches
/// four times as many.
const NAMES_PER_SHARD: usize = 2048;
const MAX_SHARDS: usize = 4096;

/// Nodes by wire name, compared without ASCII case.
#[derive(Debug, Clone)]
pub(crate) struct NodeMap {
    /// A power of two of shards; entry `i` holds the names whose hash
    /// selects `i`.
    shards: Box<[Arc<Shard>]>,
    len: usize,
}

impl Default for NodeMap {
    fn default() -> Self {
        NodeMap::for_names(0)
    }
}

fn shard_count(names: usize) -> usize {
    (names / NAMES_PER_SHARD)
        .next_power_of_two()
        .clamp(1, MAX_SHARDS)
}

/// Eight octets with `A`..=`Z` made lowercase, all at once: a byte's high
/// bit after each addition says whether it is at least `A`, or above `Z`.
#[inline(always)]
fn lowercase_word(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = word & (0x7f * ONES);
    let from_a = low7 + (0x80 - u64::from(b'A')) * ONES;
    let after_z = low7 + (0x7f - u64::from(b'Z')) * ONES;
    let upper = from_a & !after_z & !word & (0x80 * ONES);
    word | (upper >> 2)
}

/// Multiplies as 128 bits and folds the halves: every output bit depends
/// on every input bit, which a plain 64-bit multiply does not give its
/// low and high bits (with FxHash, names differing only in one digit
/// shared shards and hashbrown's 7-bit tags, and lookups crawled).
#[inline(always)]
pub(crate) fn fold_mul(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

/// The hash of a wire name, the same whatever the case of its letters
/// (label length octets are below 64, so never letters).
#[inline]
pub(crate) fn name_hash(wire: &[u8]) -> u64 {
    hash_words::<true>(wire)
}

/// [`name_hash`] of a name known to be lowercase already (the answer
/// path's query names): the same value without folding the case.
#[inline(always)]
pub(crate) fn lowercase_name_hash(wire: &[u8]) -> u64 {
    hash_words::<false>(wire)
}

#[inline(always)]
fn hash_words<const FOLD_CASE: bool>(wire: &[u8]) -> u64 {
    let fold = |word: u64| {
        if FOLD_CASE {
            lowercase_word(word)
        } else {
            word
        }
    };
    let mut hash = SEED ^ wire.len() as u64;
    let mut words = wire.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("eight octets"));
        hash = fold_mul(hash ^ fold(word), MIX);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    fold_mul(hash ^ fold(u64::from_le_bytes(tail)), MIX)
}

/// True when two wire names are the same name.
#[inline(always)]
fn same_name(node: &Node, wire: &[u8]) -> bool {
    let name = node.name.as_wire();
    // Zone names are mostly lowercase already: one memcmp.
    name == wire || name.eq_ignore_ascii_case(wire)
}

fn hash_node(node: &Arc<Node>) -> u64 {
    name_hash(node.name.as_wire())
}

impl NodeMap {
    /// An empty map sized for about `names` names.
    pub(crate) fn for_names(names: usize) -> NodeMap {
        let count = shard_count(names);
        let per_shard = names / count;
        NodeMap {
            shards: (0..count)
                .map(|_| Arc::new(Shard::with_capacity(per_shard)))
                .collect(),
            len: 0,
        }
    }

    #[inline(always)]
    fn shard_of(&self, hash: u64) -> usize {
        // The high bits: the shard's own table uses the low ones and the
        // top seven.
        (hash >> 40) as usize & (self.shards.len() - 1)
    }

    /// The node named `wire` (any case).
    #[inline(always)]
    pub(crate) fn get(&self, wire: &[u8]) -> Option<&Arc<Node>> {
        let hash = name_hash(wire);
        self.shards[self.shard_of(hash)].find(hash, |node| same_name(node, wire))
    }

    /// The node named `wire`, which must be lowercase (a query name):
    /// what [`NodeMap::get`] finds, a little cheaper.
    #[inline(always)]
    pub(crate) fn get_lowercase(&self, wire: &[u8]) -> Option<&Arc<Node>> {
        debug_assert!(!wire.iter().any(u8::is_ascii_uppercase), "not lowercase");
        let hash = lowercase_name_hash(wire);
        self.shards[self.shard_of(hash)].find(hash, |node| same_name(node, wire))
    }

    pub(crate) fn contains_key(&self, wire: &[u8]) -> bool {
        self.get(wire).is_some()
    }

    /// The node named `wire`, to change; its shard is copied first if
    /// another version shares it.
    pub(crate) fn get_mut(&mut self, wire: &[u8]) -> Option<&mut Arc<Node>> {
        let hash = name_hash(wire);
        let at = self.shard_of(hash);
        self.shards[at].find(hash, |node| same_name(node, wire))?;
        Arc::make_mut(&mut self.shards[at]).find_mut(hash, |node| same_name(node, wire))
    }

    /// Puts `node` in under its own name, replacing the node of that name
    /// (any case), which is returned.
    pub(crate) fn insert(&mut self, node: Arc<Node>) -> Option<Arc<Node>> {
        let hash = hash_node(&node);
        let at = self.shard_of(hash);
        let shard = Arc::make_mut(&mut self.shards[at]);
        let wire = node.name.as_wire();
        if let Some(old) = shard.find_mut(hash, |n| same_name(n, wire)) {
            return Some(std::mem::replace(old, node));
        }
        shard.insert_unique(hash, node, hash_node);
        self.len += 1;
        None
    }

    /// The node named `wire` (any case), made by `make` when there is none
    /// (one lookup either way); its shard is copied first if shared.
    pub(crate) fn get_or_insert_with(
        &mut self,
        wire: &[u8],
        make: impl FnOnce() -> Node,
    ) -> &mut Arc<Node> {
        let hash = name_hash(wire);
        let at = self.shard_of(hash);
        let shard = Arc::make_mut(&mut self.shards[at]);
        match shard.entry(hash, |node| same_name(node, wire), hash_node) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let node = make();
                debug_assert!(same_name(&node, wire), "node made for another name");
                self.len += 1;
                entry.insert(Arc::new(node)).into_mut()
            }
        }
    }

    /// Takes out the node named `wire` (any case).
    pub(crate) fn remove(&mut self, wire: &[u8]) -> Option<Arc<Node>> {
        let hash = name_hash(wire);
        let at = self.shard_of(hash);
        self.shards[at].find(hash, |node| same_name(node, wire))?;
        let shard = Arc::make_mut(&mut self.shards[at]);
        let entry = shard.find_entry(hash, |node| same_name(node, wire)).ok()?;
        self.len -= 1;
        Some(entry.remove().0)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The lowercase wire name of every node.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> impl Iterator<Item = Box<[u8]>> + '_ {
        self.values()
            .map(|node| node.name.as_wire().to_ascii_lowercase().into())
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Arc<Node>> {
        self.shards.iter().flat_map(|shard| shard.iter())
    }

    /// The lowercase wire names of the nodes that may differ between
    /// `self` and `other` (two versions of one zone): those of the shards
    /// the two do not share. Shards are the same layout when both have as
    /// many.
    pub(crate) fn keys_not_shared(&self, other: &NodeMap) -> Vec<Box<[u8]>> {
        let lower = |node: &Arc<Node>| node.name.as_wire().to_ascii_lowercase().into();
        if self.shards.len() != other.shards.len() {
            return self.values().map(lower).collect();
        }
        self.shards
            .iter()
            .zip(other.shards.iter())
            .filter(|(mine, theirs)| !Arc::ptr_eq(mine, theirs))
            .flat_map(|(mine, _)| mine.iter().map(lower))
            .collect()
    }

    /// Re-shards when the map has outgrown its shards (a zone grown by
    /// many changes), so one change keeps copying a small shard.
    pub(crate) fn fit(&mut self) {
        if self.shards.len() >= shard_count(self.len)
            || self.len < 4 * NAMES_PER_SHARD * self.shards.len()
        {
            return;
        }
        let mut resharded = NodeMap::for_names(self.len);
        for node in self.values() {
            resharded.insert(node.clone());
        }
        *self = resharded;
    }
}

impl std::ops::Index<&[u8]> for NodeMap {
    type Output = Arc<Node>;

    fn index(&self, wire: &[u8]) -> &Arc<Node> {
        self.get(wire).expect("no node at that name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Name;

    fn node(name: &str) -> Arc<Node> {
        Arc::new(super::super::build::empty_node(
            Name::from_text(name, None).unwrap(),
        ))
    }

    fn name(i: usize) -> String {
        format!("h{i}.example.test.")
    }

    fn key(i: usize) -> Box<[u8]> {
        Name::from_text(&name(i), None).unwrap().as_wire().into()
    }

    #[test]
    fn lowercase_word_folds_letters_only() {
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b, b'Q', 0x5b, 0x40, b'a', 0xc1, b'Z', b'@']);
            let want = u64::from_le_bytes([
                b.to_ascii_lowercase(),
                b'q',
                0x5b,
                0x40,
                b'a',
                0xc1,
                b'z',
                b'@',
            ]);
            assert_eq!(lowercase_word(word), want, "byte {b:#x}");
        }
    }

    #[test]
    fn names_are_found_in_any_case_and_keep_their_own() {
        let mut map = NodeMap::default();
        assert!(map.insert(node("WwW.Example.TEST.")).is_none());
        let lower = Name::from_text("www.example.test.", None).unwrap();
        let upper = Name::from_text("WWW.EXAMPLE.TEST.", None).unwrap();
        assert_eq!(name_hash(lower.as_wire()), name_hash(upper.as_wire()));
        assert_eq!(
            name_hash(lower.as_wire()),
            lowercase_name_hash(lower.as_wire())
        );
        assert!(map.get_lowercase(lower.as_wire()).is_some());
        let found = map
            .get(lower.as_wire())
            .expect("found by its lowercase name");
        assert_eq!(found.name.to_string(), "WwW.Example.TEST.", "case kept");
        assert!(map.get(upper.as_wire()).is_some());
        assert!(map.get(b"\x03wwx\x07example\x04test\x00").is_none());
        // Replacing by another spelling keeps one entry.
        let old = map.insert(node("www.example.test.")).expect("replaced");
        assert_eq!(old.name.to_string(), "WwW.Example.TEST.");
        assert_eq!(map.len(), 1);
        assert_eq!(
            map.keys_not_shared(&NodeMap::default()),
            vec![key_of(&lower)]
        );
        assert!(map.remove(upper.as_wire()).is_some());
        assert!(map.get(lower.as_wire()).is_none());
        assert_eq!(map.len(), 0);
    }

    fn key_of(name: &Name) -> Box<[u8]> {
        name.as_wire().into()
    }

    #[test]
    fn a_change_copies_one_shard_and_shares_the_rest() {
        let mut map = NodeMap::for_names(100_000);
        assert!(map.shards.len() > 1);
        for i in 0..100_000 {
            map.insert(node(&name(i)));
        }
        assert_eq!(map.len(), 100_000);
        let mut next = map.clone();
        let replaced = next
            .insert(node(&name(7).to_uppercase()))
            .expect("replaced");
        assert_eq!(replaced.name.as_wire(), &key(7)[..]);
        let shared = map
            .shards
            .iter()
            .zip(next.shards.iter())
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert_eq!(shared, map.shards.len() - 1, "one shard copied");
        let not_shared = next.keys_not_shared(&map);
        assert_eq!(
            not_shared.len(),
            map.shards[map.shard_of(name_hash(&key(7)))].len()
        );
        assert!(
            not_shared.contains(&key(7)),
            "lowercase key of the new node"
        );
        assert!(next.remove(&key(8)).is_some());
        assert!(next.remove(&key(8)).is_none());
        assert_eq!(next.len(), 99_999);
        assert!(map.contains_key(&key(8)), "the old version is untouched");
        assert_eq!(next.values().count(), 99_999);
        assert!(Arc::ptr_eq(&map[&key(9)], &next[&key(9)]), "nodes shared");
    }

    #[test]
    fn a_grown_map_is_resharded_and_keeps_every_name() {
        let mut map = NodeMap::default();
        assert_eq!(map.shards.len(), 1);
        for i in 0..40_000 {
            map.insert(node(&name(i)));
        }
        map.fit();
        assert!(map.shards.len() > 1, "re-sharded");
        assert_eq!(map.len(), 40_000);
        assert!((0..40_000).all(|i| map.contains_key(&key(i))));
        assert!(map.get_mut(&key(39_999)).is_some());
        assert!(map.get_mut(&key(40_000)).is_none());
    }
}
