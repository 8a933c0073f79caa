//! The LUA answer cache: what one LUA record produced for one client, reused
//! until a health state or GeoIP database it may depend on changes (issue 6
//! item 5), so a hot dynamic name costs a lookup, not an evaluation and a
//! parse.
//!
//! **Key:** (the compiled rule, the client key, the query name when the rule
//! reads it). The rule is the `Arc<LuaRule>` of the zone snapshot, compared
//! by address; each entry holds a `Weak` of it, so the allocation cannot be
//! reused by a reloaded zone while the entry exists and a reload never hits a
//! stale entry. The client key is `bestwho()`: the ECS address masked to its
//! source prefix, or the source address; `None` for rules that do not read
//! it ([`LuaRule::reads_client`]), so all clients share one entry of an
//! `ifportup` with the `random` selector. No evaluation reads anything else
//! of the client (`who` only sets the ECS scope, computed outside). The query
//! name is part of the key only for rules that read it
//! ([`LuaRule::reads_qname`]), so a wildcard of `pickwhashed` shares one
//! entry per client over every name it covers.
//!
//! **Value:** the RDATA set, already parsed and de-duplicated; or the
//! candidates of a uniform draw still to be made ([`Produced::OneOf`]: the
//! up addresses a `random` selector picks from, parsed, so a hit costs one
//! draw from a thread-local generator and no evaluation); or "this record
//! fails" (SERVFAIL). With it, the health and GeoIP generations it was
//! computed under and when. An entry whose generations differ from the
//! current ones, or older than the maximum age, is a miss and is dropped.
//!
//! **What is stored:** only results that are a function of the key.
//! Never a rule that draws randomness ([`LuaRule::is_cacheable`]; the draw
//! of an `if*up` selector is deferred into `OneOf` instead), never an
//! evaluation that drew (ties in `pickclosest`), never one that saw a
//! registering call's [`Health::Unknown`] (including `IncompleteCheck`).
//! Sharing one entry between clients with the same `bestwho` is the same
//! answer evaluation would give them (spec "Packet cache": dnsd evaluates per
//! query; this is a memo of that evaluation, not a packet cache).
//!
//! **Health-check expiry:** a hit does not call `HealthView::status`, which
//! is what keeps a check alive. Entries therefore live at most
//! [`max_age_for`] the expire delay (half of it, and never more than 60 s):
//! every key still in use is asked about again, from a re-evaluation, well
//! before it could expire. (An expiry also moves the generation, so a
//! mistake here would cost a re-registration, not a wrong answer.)
//!
//! **Bounds and concurrency:** as the signature cache (`dnssec/cache.rs`): a
//! fixed number of entries split over shards, CLOCK eviction per shard,
//! `std::sync::Mutex` shards taken with `try_lock` only; a busy shard is a
//! miss (lookup) or a skipped insert. Nobody waits.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::cache::{ClockCache, ClockEntry};
#[cfg(doc)]
use crate::dynamic::Health;
use crate::dynamic::LuaRule;

/// Default number of entries (`--lua-cache-entries`).
pub const DEFAULT_ENTRIES: usize = 65_536;

/// Longest life of an entry whatever the expire delay.
pub const MAX_AGE_CAP: Duration = Duration::from_secs(60);

/// The maximum age of an entry for a health checker that drops checks
/// unused for `expire_delay`: half of it, at most [`MAX_AGE_CAP`].
pub fn max_age_for(expire_delay: Duration) -> Duration {
    (expire_delay / 2).min(MAX_AGE_CAP)
}

/// What one LUA record produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Produced {
    /// Wire RDATA of the produced type, duplicates removed (maybe empty).
    Records(Arc<[Box<[u8]>]>),
    /// One of these wire RDATA, drawn uniformly for each query (at least
    /// two; repeats kept, since a repeated candidate is drawn more often).
    OneOf(Arc<[Box<[u8]>]>),
    /// The record fails: SERVFAIL.
    Fail,
}

/// What the result was computed from besides the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generations {
    /// `HealthView::generation`.
    pub health: u64,
    /// `GeoView::generation`.
    pub geo: u64,
}

/// A cache key.
#[derive(Clone, Copy, Debug)]
pub struct CacheKey<'a> {
    /// The compiled rule, compared by address.
    pub rule: &'a Arc<LuaRule>,
    /// `bestwho()`, for rules that read it.
    pub client: Option<IpAddr>,
    /// The lowercase query name in wire form, for rules that read it.
    pub qname: Option<&'a [u8]>,
}

/// Counters for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LuaCacheStats {
    /// Entries held.
    pub entries: usize,
    /// Most entries held.
    pub capacity: usize,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that found nothing usable (including contended ones).
    pub misses: u64,
    /// Results stored.
    pub inserts: u64,
    /// Entries dropped: for room, stale generation or age.
    pub evictions: u64,
    /// Lookups or inserts skipped because a shard was busy.
    pub contended: u64,
}

struct Entry {
    hash: u64,
    rule: Weak<LuaRule>,
    client: Option<IpAddr>,
    qname: Option<Box<[u8]>>,
    generations: Generations,
    born: Instant,
    value: Produced,
}

impl ClockEntry for Entry {
    type Key<'k> = CacheKey<'k>;

    fn hash(&self) -> u64 {
        self.hash
    }

    /// The budget counts entries.
    fn cost(&self) -> usize {
        1
    }

    fn matches(&self, key: &CacheKey<'_>) -> bool {
        std::ptr::eq(self.rule.as_ptr(), Arc::as_ptr(key.rule))
            && self.client == key.client
            && self.qname.as_deref() == key.qname
    }
}

/// A bounded, sharded cache of LUA results. Share it (`Arc`) between workers.
pub struct LuaCache {
    /// Budget in entries.
    clock: ClockCache<Entry>,
    max_age: Duration,
    hasher: RandomState,
}

impl std::fmt::Debug for LuaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaCache")
            .field("stats", &self.stats())
            .finish()
    }
}

impl LuaCache {
    /// A cache of about `entries` entries (rounded down to a multiple of the
    /// shard count; at least one per shard) whose entries live at most
    /// `max_age`. Shards: four per CPU, fewer for a tiny cache.
    pub fn new(entries: usize, max_age: Duration) -> LuaCache {
        let per_cpu = std::thread::available_parallelism().map_or(4, |n| n.get() * 4);
        LuaCache::with_shards(entries, max_age, per_cpu.min(entries / 16).max(1))
    }

    /// [`new`](Self::new) with an explicit shard count (at least one).
    pub fn with_shards(entries: usize, max_age: Duration, shards: usize) -> LuaCache {
        let shards = shards.max(1);
        LuaCache {
            clock: ClockCache::new(shards, (entries / shards).max(1)),
            max_age,
            hasher: RandomState::new(),
        }
    }

    /// The longest life of an entry.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    fn hash(&self, key: &CacheKey<'_>) -> u64 {
        self.hasher
            .hash_one((Arc::as_ptr(key.rule) as usize, key.client, key.qname))
    }

    /// The result stored for `key`, unless absent, computed under other
    /// generations, older than the maximum age at `now`, or its shard busy.
    /// Never blocks.
    pub fn get(&self, key: &CacheKey<'_>, current: Generations, now: Instant) -> Option<Produced> {
        let hash = self.hash(key);
        self.clock.get(hash, key, |e| {
            (e.generations == current && now.saturating_duration_since(e.born) < self.max_age)
                .then(|| e.value.clone())
        })
    }

    /// Stores `value`, computed under `generations` (read before the
    /// evaluation started) at `now`. Skipped when the shard is busy.
    pub fn insert(
        &self,
        key: &CacheKey<'_>,
        generations: Generations,
        now: Instant,
        value: Produced,
    ) {
        let hash = self.hash(key);
        self.clock.insert(Entry {
            hash,
            rule: Arc::downgrade(key.rule),
            client: key.client,
            qname: key.qname.map(Into::into),
            generations,
            born: now,
            value,
        });
    }

    /// Current counters.
    pub fn stats(&self) -> LuaCacheStats {
        let c = &self.clock.counters;
        LuaCacheStats {
            entries: c.entries.load(Relaxed),
            capacity: self.clock.capacity(),
            hits: c.hits.load(Relaxed),
            misses: c.misses.load(Relaxed),
            inserts: c.inserts.load(Relaxed),
            evictions: c.evictions.load(Relaxed),
            contended: c.contended.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::dynamic::compile;
    use crate::wire::RType;

    fn rule() -> Arc<LuaRule> {
        Arc::new(compile("'192.0.2.1'", RType::A).unwrap())
    }

    fn value(n: u8) -> Produced {
        Produced::Records(vec![vec![192, 0, 2, n].into_boxed_slice()].into())
    }

    const G0: Generations = Generations { health: 0, geo: 0 };

    #[test]
    fn size_is_bounded() {
        let cache = LuaCache::with_shards(8, Duration::from_secs(60), 2);
        let rule = rule();
        let now = Instant::now();
        for i in 0..100u8 {
            let key = CacheKey {
                rule: &rule,
                client: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))),
                qname: None,
            };
            cache.insert(&key, G0, now, value(i));
            assert_eq!(cache.get(&key, G0, now), Some(value(i)));
            assert!(cache.stats().entries <= 8);
        }
        let s = cache.stats();
        assert_eq!((s.entries, s.capacity, s.inserts), (8, 8, 100));
        assert_eq!(s.evictions, 92);
    }

    #[test]
    fn geo_generation_counts_too() {
        let cache = LuaCache::with_shards(8, Duration::from_secs(60), 1);
        let rule = rule();
        let key = CacheKey {
            rule: &rule,
            client: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            qname: None,
        };
        let now = Instant::now();
        cache.insert(&key, G0, now, Produced::Fail);
        assert_eq!(cache.get(&key, G0, now), Some(Produced::Fail));
        let reloaded = Generations { health: 0, geo: 1 };
        assert_eq!(cache.get(&key, reloaded, now), None);
        assert_eq!(cache.get(&key, G0, now), None, "a stale entry is dropped");
        assert_eq!(cache.stats().entries, 0);
    }

    #[test]
    fn busy_shard_is_a_miss() {
        let cache = LuaCache::with_shards(8, Duration::from_secs(60), 1);
        let rule = rule();
        let key = CacheKey {
            rule: &rule,
            client: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            qname: None,
        };
        let now = Instant::now();
        cache.insert(&key, G0, now, value(1));
        let guard = cache.clock.shards[0].lock().unwrap();
        assert_eq!(cache.get(&key, G0, now), None);
        drop(guard);
        assert_eq!(cache.get(&key, G0, now), Some(value(1)));
        assert_eq!(cache.stats().contended, 1);
    }

    #[test]
    fn max_age_follows_the_expire_delay() {
        assert_eq!(max_age_for(Duration::from_secs(3600)), MAX_AGE_CAP);
        assert_eq!(
            max_age_for(Duration::from_secs(20)),
            Duration::from_secs(10)
        );
    }
}
