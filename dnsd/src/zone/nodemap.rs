//! Nodes by lowercase wire name, kept in shards so that a new version of a
//! zone copies only the shards it changes.
//!
//! A change to one name in a zone of a million names must not cost a
//! million reference-count bumps: that is what a single hash map shared
//! between versions costs, since the new version needs a map of its own.
//! Here the map is cut into shards by the name's hash; versions share
//! every shard they did not touch, and a change copies one shard of a few
//! thousand entries. Small zones have a single shard and never hash a name
//! twice; a zone that grows is re-sharded as it passes each power of two.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};

use super::tree::Node;

type Shard = FxHashMap<Arc<[u8]>, Arc<Node>>;

/// Names per shard a zone is built with; it is re-sharded when it reaches
/// four times as many.
const NAMES_PER_SHARD: usize = 2048;
const MAX_SHARDS: usize = 4096;

/// Nodes by lowercase wire name.
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

impl NodeMap {
    /// An empty map sized for about `names` names.
    pub(crate) fn for_names(names: usize) -> NodeMap {
        let count = shard_count(names);
        let per_shard = names / count;
        NodeMap {
            shards: (0..count)
                .map(|_| {
                    let mut shard = Shard::default();
                    shard.reserve(per_shard);
                    Arc::new(shard)
                })
                .collect(),
            len: 0,
        }
    }

    #[inline]
    fn shard_of(&self, key: &[u8]) -> usize {
        if self.shards.len() == 1 {
            return 0;
        }
        self.hashed_shard(key)
    }

    #[inline(never)]
    fn hashed_shard(&self, key: &[u8]) -> usize {
        let mut hasher = FxHasher::default();
        key.hash(&mut hasher);
        // The high bits: the shard's own table uses the low ones.
        (hasher.finish() >> 40) as usize & (self.shards.len() - 1)
    }

    #[inline(always)]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Arc<Node>> {
        self.shards[self.shard_of(key)].get(key)
    }

    pub(crate) fn get_key_value(&self, key: &[u8]) -> Option<(&Arc<[u8]>, &Arc<Node>)> {
        self.shards[self.shard_of(key)].get_key_value(key)
    }

    pub(crate) fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// The node at `key`, to change; its shard is copied first if another
    /// version shares it.
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut Arc<Node>> {
        let at = self.shard_of(key);
        if !self.shards[at].contains_key(key) {
            return None;
        }
        Arc::make_mut(&mut self.shards[at]).get_mut(key)
    }

    pub(crate) fn insert(&mut self, key: Arc<[u8]>, node: Arc<Node>) -> Option<Arc<Node>> {
        let at = self.shard_of(&key);
        let old = Arc::make_mut(&mut self.shards[at]).insert(key, node);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub(crate) fn remove_entry(&mut self, key: &[u8]) -> Option<(Arc<[u8]>, Arc<Node>)> {
        let at = self.shard_of(key);
        if !self.shards[at].contains_key(key) {
            return None;
        }
        let removed = Arc::make_mut(&mut self.shards[at]).remove_entry(key);
        if removed.is_some() {
            self.len -= 1;
        }
        removed
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Arc<[u8]>, &Arc<Node>)> {
        self.shards.iter().flat_map(|shard| shard.iter())
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &Arc<[u8]>> {
        self.iter().map(|(key, _)| key)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Arc<Node>> {
        self.iter().map(|(_, node)| node)
    }

    /// The keys that may differ between `self` and `other` (two versions
    /// of one zone): those of the shards the two do not share. Shards are
    /// the same layout when both have as many.
    pub(crate) fn keys_not_shared<'a>(&'a self, other: &'a NodeMap) -> Vec<&'a Arc<[u8]>> {
        if self.shards.len() != other.shards.len() {
            return self.keys().collect();
        }
        self.shards
            .iter()
            .zip(other.shards.iter())
            .filter(|(mine, theirs)| !Arc::ptr_eq(mine, theirs))
            .flat_map(|(mine, _)| mine.keys())
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
        for (key, node) in self.iter() {
            resharded.insert(key.clone(), node.clone());
        }
        *self = resharded;
    }
}

impl<'a> IntoIterator for &'a NodeMap {
    type Item = (&'a Arc<[u8]>, &'a Arc<Node>);
    type IntoIter = Box<dyn Iterator<Item = Self::Item> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl std::ops::Index<&[u8]> for NodeMap {
    type Output = Arc<Node>;

    fn index(&self, key: &[u8]) -> &Arc<Node> {
        self.get(key).expect("no node at that name")
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

    fn key(i: usize) -> Arc<[u8]> {
        Name::from_text(&format!("h{i}.example.test."), None)
            .unwrap()
            .as_wire()
            .into()
    }

    #[test]
    fn a_change_copies_one_shard_and_shares_the_rest() {
        let mut map = NodeMap::for_names(100_000);
        assert!(map.shards.len() > 1);
        for i in 0..100_000 {
            map.insert(key(i), node("x.example.test."));
        }
        assert_eq!(map.len(), 100_000);
        let mut next = map.clone();
        next.insert(key(7), node("y.example.test."));
        let shared = map
            .shards
            .iter()
            .zip(next.shards.iter())
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert_eq!(shared, map.shards.len() - 1, "one shard copied");
        assert_eq!(
            next.keys_not_shared(&map).len(),
            map.shards[map.shard_of(&key(7))].len()
        );
        assert!(next.remove_entry(&key(8)).is_some());
        assert!(next.remove_entry(&key(8)).is_none());
        assert_eq!(next.len(), 99_999);
        assert!(map.contains_key(&key(8)), "the old version is untouched");
        assert_eq!(next.iter().count(), 99_999);
    }

    #[test]
    fn a_grown_map_is_resharded_and_keeps_every_name() {
        let mut map = NodeMap::default();
        assert_eq!(map.shards.len(), 1);
        for i in 0..40_000 {
            map.insert(key(i), node("x.example.test."));
        }
        map.fit();
        assert!(map.shards.len() > 1, "re-sharded");
        assert_eq!(map.len(), 40_000);
        assert!((0..40_000).all(|i| map.contains_key(&key(i))));
        assert!(map.get_mut(&key(39_999)).is_some());
        assert!(map.get_mut(&key(40_000)).is_none());
    }
}
