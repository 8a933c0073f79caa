//! The sharded CLOCK cache behind the signature cache (`dnssec/cache.rs`)
//! and the LUA answer cache (`dynamic/cache.rs`).
//!
//! Each shard is a slot vector with a free list, an index from the full key
//! hash to a slot, and a CLOCK hand: a hit sets the entry's reference bit,
//! and making room sweeps from the hand, clearing set bits (a second chance)
//! and evicting entries whose bit is clear, until the new entry's cost fits
//! the shard's budget. What an entry costs is up to the entry
//! ([`ClockEntry::cost`]): bytes for signatures, 1 for LUA answers.
//!
//! Shards are `std::sync::Mutex`es taken with `try_lock` only: a busy shard
//! is a miss (lookup, counted as `contended`) or a skipped insert. Nobody
//! waits, and a hit allocates nothing (the caller's `read` clones what it
//! returns, an `Arc` or the like).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use rustc_hash::FxHashMap;

/// What the shard needs to know of an entry.
pub(crate) trait ClockEntry {
    /// What a lookup compares an entry with.
    type Key<'k>: ?Sized;

    /// The full key hash the entry was stored under.
    fn hash(&self) -> u64;

    /// What the entry takes of the budget.
    fn cost(&self) -> usize;

    /// Whether the entry is the one for `key` (the hash alone may collide).
    fn matches(&self, key: &Self::Key<'_>) -> bool;
}

/// Counters shared by the shards of one cache.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Entries held.
    pub entries: AtomicUsize,
    /// Sum of the costs held.
    pub cost: AtomicUsize,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub inserts: AtomicU64,
    /// Entries dropped: for room, replaced, or stale.
    pub evictions: AtomicU64,
    pub contended: AtomicU64,
}

struct Slot<E> {
    entry: E,
    referenced: bool,
}

/// One shard: entries, their index and the CLOCK hand.
pub(crate) struct ClockShard<E> {
    /// Full key hash -> index in `slots`.
    index: FxHashMap<u64, u32>,
    slots: Vec<Option<Slot<E>>>,
    free: Vec<u32>,
    hand: usize,
    cost: usize,
}

impl<E> Default for ClockShard<E> {
    fn default() -> Self {
        ClockShard {
            index: FxHashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            hand: 0,
            cost: 0,
        }
    }
}

impl<E: ClockEntry> ClockShard<E> {
    /// Looks `key` up. `read` gives what a usable entry yields, or `None`
    /// for a stale one, which is then dropped. A usable entry is marked
    /// referenced.
    pub(crate) fn get<T>(
        &mut self,
        hash: u64,
        key: &E::Key<'_>,
        read: impl FnOnce(&E) -> Option<T>,
        counters: &Counters,
    ) -> Option<T> {
        let &at = self.index.get(&hash)?;
        let slot = self.slots[at as usize].as_mut()?;
        if !slot.entry.matches(key) {
            return None;
        }
        match read(&slot.entry) {
            Some(value) => {
                slot.referenced = true;
                Some(value)
            }
            None => {
                self.remove_at(at, counters);
                None
            }
        }
    }

    /// Stores `entry` in place of any entry with its hash, evicting others
    /// until it fits `budget`.
    pub(crate) fn insert(&mut self, entry: E, budget: usize, counters: &Counters) {
        let hash = entry.hash();
        let cost = entry.cost();
        if let Some(&at) = self.index.get(&hash) {
            self.remove_at(at, counters);
        }
        self.make_room(cost, budget, counters);
        let at = match self.free.pop() {
            Some(at) => at,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        self.slots[at as usize] = Some(Slot {
            entry,
            referenced: false,
        });
        self.index.insert(hash, at);
        self.cost += cost;
        counters.cost.fetch_add(cost, Relaxed);
        counters.entries.fetch_add(1, Relaxed);
        counters.inserts.fetch_add(1, Relaxed);
    }

    /// CLOCK: sweep from the hand, giving referenced entries a second
    /// chance, until `cost` more fits `budget`.
    fn make_room(&mut self, cost: usize, budget: usize, counters: &Counters) {
        // Two full turns always free enough: the first clears every
        // reference bit, the second evicts.
        let mut steps = 2 * self.slots.len() + 1;
        while self.cost + cost > budget && steps > 0 && !self.slots.is_empty() {
            steps -= 1;
            let at = self.hand % self.slots.len();
            self.hand = at + 1;
            let evict = match &mut self.slots[at] {
                None => false,
                Some(slot) if slot.referenced => {
                    slot.referenced = false;
                    false
                }
                Some(_) => true,
            };
            if evict {
                self.remove_at(at as u32, counters);
            }
        }
    }

    fn remove_at(&mut self, at: u32, counters: &Counters) {
        if let Some(slot) = self.slots[at as usize].take() {
            self.index.remove(&slot.entry.hash());
            self.free.push(at);
            let cost = slot.entry.cost();
            self.cost -= cost;
            counters.cost.fetch_sub(cost, Relaxed);
            counters.entries.fetch_sub(1, Relaxed);
            counters.evictions.fetch_add(1, Relaxed);
        }
    }
}

/// Shards of [`ClockShard`] with one budget each and shared counters.
pub(crate) struct ClockCache<E> {
    pub(crate) shards: Box<[Mutex<ClockShard<E>>]>,
    /// Budget of one shard, in the entries' cost unit.
    pub(crate) shard_budget: usize,
    pub(crate) counters: Counters,
}

impl<E: ClockEntry> ClockCache<E> {
    /// `shards` shards (at least one) of `shard_budget` each.
    pub(crate) fn new(shards: usize, shard_budget: usize) -> Self {
        ClockCache {
            shards: (0..shards.max(1))
                .map(|_| Mutex::new(ClockShard::default()))
                .collect(),
            shard_budget,
            counters: Counters::default(),
        }
    }

    fn shard(&self, hash: u64) -> &Mutex<ClockShard<E>> {
        // The low bits pick the slot in the shard's table; use the high ones.
        &self.shards[((hash >> 40) as usize) % self.shards.len()]
    }

    /// What `read` yields from the entry for `key`, unless absent, stale
    /// (`read` gives `None`; the entry is dropped) or its shard busy.
    /// Counts a hit or a miss. Never blocks.
    pub(crate) fn get<T>(
        &self,
        hash: u64,
        key: &E::Key<'_>,
        read: impl FnOnce(&E) -> Option<T>,
    ) -> Option<T> {
        let c = &self.counters;
        let Ok(mut shard) = self.shard(hash).try_lock() else {
            c.contended.fetch_add(1, Relaxed);
            c.misses.fetch_add(1, Relaxed);
            return None;
        };
        let found = shard.get(hash, key, read, c);
        drop(shard);
        match found {
            Some(_) => c.hits.fetch_add(1, Relaxed),
            None => c.misses.fetch_add(1, Relaxed),
        };
        found
    }

    /// Like [`ClockCache::get`], but counts nothing and leaves the entry's
    /// reference bit alone: for a caller that only asks whether a later
    /// `get` would hit. A busy shard reads as absent.
    pub(crate) fn peek<T>(
        &self,
        hash: u64,
        key: &E::Key<'_>,
        read: impl FnOnce(&E) -> Option<T>,
    ) -> Option<T> {
        let shard = self.shard(hash).try_lock().ok()?;
        let &at = shard.index.get(&hash)?;
        let slot = shard.slots[at as usize].as_ref()?;
        if !slot.entry.matches(key) {
            return None;
        }
        read(&slot.entry)
    }

    /// Stores `entry`. Skipped when it alone exceeds a shard's budget or
    /// the shard is busy (counted as contended).
    pub(crate) fn insert(&self, entry: E) {
        if entry.cost() > self.shard_budget {
            return;
        }
        let Ok(mut shard) = self.shard(entry.hash()).try_lock() else {
            self.counters.contended.fetch_add(1, Relaxed);
            return;
        };
        shard.insert(entry, self.shard_budget, &self.counters);
    }

    /// Drops every entry; counters other than entries and cost are kept.
    /// Waits for each shard's lock.
    pub(crate) fn clear(&self) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let (n, cost) = (shard.slots.iter().flatten().count(), shard.cost);
            *shard = ClockShard::default();
            self.counters.entries.fetch_sub(n, Relaxed);
            self.counters.cost.fetch_sub(cost, Relaxed);
        }
    }

    /// The budget of all shards together.
    pub(crate) fn capacity(&self) -> usize {
        self.shard_budget * self.shards.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key `id`, costing `cost`.
    struct Item {
        id: u64,
        cost: usize,
    }

    impl ClockEntry for Item {
        type Key<'k> = u64;

        fn hash(&self) -> u64 {
            self.id
        }

        fn cost(&self) -> usize {
            self.cost
        }

        fn matches(&self, key: &u64) -> bool {
            self.id == *key
        }
    }

    fn hit(shard: &mut ClockShard<Item>, id: u64, c: &Counters) -> bool {
        shard.get(id, &id, |e| Some(e.id), c).is_some()
    }

    #[test]
    fn referenced_entries_get_a_second_chance() {
        let c = Counters::default();
        let mut shard = ClockShard::default();
        for id in 0..4 {
            shard.insert(Item { id, cost: 1 }, 4, &c);
        }
        // 0 and 2 are referenced; the sweep passes them and takes 1, then 3.
        assert!(hit(&mut shard, 0, &c) && hit(&mut shard, 2, &c));
        shard.insert(Item { id: 10, cost: 1 }, 4, &c);
        assert!(!hit(&mut shard, 1, &c));
        shard.insert(Item { id: 11, cost: 1 }, 4, &c);
        assert!(!hit(&mut shard, 3, &c));
        for id in [0, 2, 10, 11] {
            assert!(hit(&mut shard, id, &c), "{id} evicted");
        }
        assert_eq!(c.evictions.load(Relaxed), 2);
        assert_eq!(c.entries.load(Relaxed), 4);
    }

    #[test]
    fn budget_holds_and_free_slots_are_reused() {
        let c = Counters::default();
        let mut shard = ClockShard::default();
        for id in 0..100 {
            shard.insert(
                Item {
                    id,
                    cost: 3 + id as usize % 5,
                },
                20,
                &c,
            );
            assert!(shard.cost <= 20);
            assert_eq!(shard.cost, c.cost.load(Relaxed));
            assert_eq!(
                shard.slots.iter().flatten().count(),
                c.entries.load(Relaxed)
            );
        }
        // Never more slots than entries ever fit at once (cost 3 each).
        assert!(shard.slots.len() <= 20 / 3 + 1, "{}", shard.slots.len());
        // A stale entry is dropped and its slot taken by the next insert.
        let (slots, free) = (shard.slots.len(), shard.free.len());
        let live = shard.index.keys().copied().next().unwrap();
        assert_eq!(shard.get(live, &live, |_| None::<()>, &c), None);
        assert_eq!(shard.free.len(), free + 1);
        shard.insert(Item { id: 500, cost: 1 }, 20, &c);
        assert_eq!(shard.slots.len(), slots);
        assert!(hit(&mut shard, 500, &c));
        // Replacing a key keeps one entry.
        let n = c.entries.load(Relaxed);
        shard.insert(Item { id: 500, cost: 1 }, 20, &c);
        assert_eq!(c.entries.load(Relaxed), n);
    }

    #[test]
    fn cache_counts_and_skips_oversized() {
        let cache: ClockCache<Item> = ClockCache::new(2, 10);
        cache.insert(Item { id: 1, cost: 11 });
        assert_eq!(cache.get(1, &1, |e| Some(e.cost)), None);
        cache.insert(Item { id: 2, cost: 10 });
        assert_eq!(cache.get(2, &2, |e| Some(e.cost)), Some(10));
        let c = &cache.counters;
        let counts = [&c.hits, &c.misses, &c.inserts].map(|a| a.load(Relaxed));
        assert_eq!(counts, [1, 1, 1]);
        assert_eq!(cache.capacity(), 20);
        cache.clear();
        assert_eq!(c.entries.load(Relaxed) + c.cost.load(Relaxed), 0);
    }
}
