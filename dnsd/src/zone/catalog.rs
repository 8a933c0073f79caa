//! The set of served zones, found by the most specific enclosing apex.
//!
//! A server may hold hundreds of thousands of zones (one per pool
//! allocation), and every change to one of them publishes a new catalog.
//! So the zones are kept in shards by the hash of their name, and the
//! shards in groups, all shared between catalogs: a new catalog copies the
//! group pointers, then the one group and the one shard it changes (a few
//! dozen entries each), never the whole set. Each pointer copied touches
//! a reference count far away in memory, so two small levels cost less
//! than one large one: with 100,000 zones a change copies about 200
//! pointers, with 1,000 about 140. A name is hashed once per lookup.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashTable;

use super::nodemap::{lowercase_name_hash, name_hash};

use super::tree::Zone;
use crate::dnssec::ZoneKeys;
use crate::wire::Name;

/// The catalog readers see, shared by every transport. The zone registry
/// (`crate::zones`) swaps a new one in whole; readers never wait for it.
pub type SharedCatalog = Arc<arc_swap::ArcSwap<Catalog>>;

/// A served zone and, when it is signed, its keys.
#[derive(Debug, Clone)]
pub struct Served {
    pub zone: Arc<Zone>,
    /// Present when answers from this zone are signed (DO=1 queries).
    pub keys: Option<Arc<ZoneKeys>>,
    /// A secondary zone past its SOA expire time: its data is kept but
    /// every query for it is answered SERVFAIL (RFC 1035 §3.3.13).
    pub expired: bool,
}

/// The zones whose apex hash selects one shard, each with that hash. The
/// apex is not stored again as a key: a change copies a shard, and copying
/// a few hundred entries without an allocation each keeps that cheap. The
/// full hash tells entries apart; the apex itself is compared only on a
/// match.
type Shard = HashTable<(u64, Served)>;

/// Shards of one group; a change copies one group.
type Group = Arc<[Arc<Shard>]>;

/// Zones per shard a catalog grows to before it is re-sharded with twice
/// as many shards: a change copies about this many entries.
const ZONES_PER_SHARD: usize = 64;

/// Shards per group a catalog grows to before the groups double instead.
const SHARDS_PER_GROUP: usize = 64;

/// Every zone the server answers for. Built off the answer path and
/// published whole; never modified once shared (a clone shares the
/// groups, and a change to the clone copies only the group and the shard
/// it touches).
#[derive(Debug, Clone)]
pub struct Catalog {
    /// A power of two of groups of the same power of two of shards; a
    /// zone lives in the shard its apex's hash selects.
    groups: Box<[Group]>,
    len: usize,
    /// Changes with every change to the zones; two catalogs with the same
    /// generation hold the same data (a clone keeps it). Workers' reply
    /// templates follow it.
    generation: u64,
}

impl Default for Catalog {
    fn default() -> Catalog {
        Catalog::with_layout(1, 1)
    }
}

/// Source of catalog generations; 0 is the empty default catalog's.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    fn with_layout(groups: usize, shards_per_group: usize) -> Catalog {
        let group = || -> Group { (0..shards_per_group).map(|_| Arc::default()).collect() };
        Catalog {
            groups: (0..groups).map(|_| group()).collect(),
            len: 0,
            generation: 0,
        }
    }

    /// The group and the shard in it that `hash` selects. Bits 34 to 55:
    /// the shard's own table uses the low bits for slots and the top seven
    /// for tags.
    #[inline]
    fn place(&self, hash: u64) -> (usize, usize) {
        let group = (hash >> 40) as usize & (self.groups.len() - 1);
        let shard = (hash >> 34) as usize & (self.groups[group].len() - 1);
        (group, shard)
    }

    #[inline]
    fn shard(&self, hash: u64) -> &Shard {
        let (group, shard) = self.place(hash);
        &self.groups[group][shard]
    }

    /// The shard `hash` selects, copied first if it or its group is shared.
    fn shard_mut(&mut self, hash: u64) -> &mut Shard {
        let (group, shard) = self.place(hash);
        let group = &mut self.groups[group];
        if Arc::get_mut(group).is_none() {
            *group = group.iter().cloned().collect();
        }
        let group = Arc::get_mut(group).expect("copied above");
        Arc::make_mut(&mut group[shard])
    }

    /// The zone at `key`, a lowercase wire name.
    #[inline]
    fn lookup(&self, key: &[u8]) -> Option<&Served> {
        self.find_apex(lowercase_name_hash(key), key)
    }

    #[inline]
    fn find_apex(&self, hash: u64, apex: &[u8]) -> Option<&Served> {
        self.shard(hash)
            .find(hash, |(h, served)| *h == hash && is_apex_of(served, apex))
            .map(|(_, served)| served)
    }

    /// Twice the shards once every shard is full on average, so a change
    /// copies about [`ZONES_PER_SHARD`] entries: more shards per group up
    /// to [`SHARDS_PER_GROUP`], then more groups.
    fn grow_if_full(&mut self) {
        let per_group = self.groups[0].len();
        if self.len < self.groups.len() * per_group * ZONES_PER_SHARD {
            return;
        }
        let mut grown = if per_group < SHARDS_PER_GROUP {
            Catalog::with_layout(self.groups.len(), per_group * 2)
        } else {
            Catalog::with_layout(self.groups.len() * 2, per_group)
        };
        for (hash, served) in self.entries() {
            grown
                .shard_mut(*hash)
                .insert_unique(*hash, (*hash, served.clone()), |(h, _)| *h);
        }
        self.groups = grown.groups;
    }

    fn entries(&self) -> impl Iterator<Item = &(u64, Served)> {
        self.groups
            .iter()
            .flat_map(|group| group.iter())
            .flat_map(|shard| shard.iter())
    }

    /// Adds or replaces an unsigned zone at its origin.
    pub fn insert(&mut self, zone: Arc<Zone>) {
        self.insert_served(Served {
            zone,
            keys: None,
            expired: false,
        });
    }

    /// Adds or replaces a zone, signed when it has keys.
    pub fn insert_served(&mut self, served: Served) {
        self.changed();
        self.grow_if_full();
        let apex = served.zone.origin.as_wire();
        let hash = name_hash(apex);
        let shard = self.shard_mut(hash);
        match shard.entry(
            hash,
            |(h, old)| *h == hash && is_apex_of(old, apex),
            |(h, _)| *h,
        ) {
            hashbrown::hash_table::Entry::Occupied(mut entry) => entry.get_mut().1 = served,
            hashbrown::hash_table::Entry::Vacant(entry) => {
                entry.insert((hash, served));
                self.len += 1;
            }
        }
    }

    /// Removes the zone at `origin`.
    pub fn remove(&mut self, origin: &Name) -> Option<Arc<Zone>> {
        self.changed();
        let apex = origin.as_wire();
        let hash = name_hash(apex);
        let matches = |(h, served): &(u64, Served)| *h == hash && is_apex_of(served, apex);
        // Only a shard that holds the zone is copied.
        self.shard(hash).find(hash, matches)?;
        let (entry, _) = self
            .shard_mut(hash)
            .find_entry(hash, matches)
            .ok()?
            .remove();
        self.len -= 1;
        Some(entry.1.zone)
    }

    /// The zone with exactly this origin.
    pub fn get(&self, origin: &Name) -> Option<&Arc<Zone>> {
        self.get_served(origin).map(|s| &s.zone)
    }

    /// The zone with exactly this origin, with its keys.
    pub fn get_served(&self, origin: &Name) -> Option<&Served> {
        let apex = origin.as_wire();
        self.find_apex(name_hash(apex), apex)
    }

    /// Identifies this catalog's content: equal generations, equal data.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn changed(&mut self) {
        self.generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no zone is served.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Iterates over the zones.
    pub fn zones(&self) -> impl Iterator<Item = &Arc<Zone>> {
        self.entries().map(|(_, served)| &served.zone)
    }

    /// The most specific zone enclosing `lower_wire` (a lowercase wire name),
    /// with the offset in `lower_wire` where the zone's apex starts.
    /// `skip_exact` ignores a zone whose apex is the name itself (DS queries
    /// are answered by the parent side of a cut, RFC 4035 §3.1.4.1).
    #[inline]
    pub fn find(&self, lower_wire: &[u8], skip_exact: bool) -> Option<(&Served, usize)> {
        if self.len == 0 {
            return None;
        }
        let mut pos = 0;
        if skip_exact && lower_wire.len() > 1 {
            pos = 1 + lower_wire[0] as usize;
        }
        loop {
            if let Some(served) = self.lookup(&lower_wire[pos..]) {
                return Some((served, pos));
            }
            let len = lower_wire[pos] as usize;
            if len == 0 {
                return None;
            }
            pos += 1 + len;
        }
    }
}

/// True when `apex` (a wire name, any case) is the origin of `served`.
/// Origins and query names are mostly lowercase both: the plain
/// comparison settles those without folding case octet by octet.
#[inline]
fn is_apex_of(served: &Served, apex: &[u8]) -> bool {
    let origin = served.zone.origin.as_wire();
    origin == apex || origin.eq_ignore_ascii_case(apex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::{build_zone, load};

    fn zone(origin: &str) -> Arc<Zone> {
        let name = Name::from_text(origin, None).unwrap();
        let text = "@ 300 IN SOA ns1 h 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n";
        let records = load::parse_untrusted(&name, text, "test").unwrap();
        Arc::new(build_zone(&name, records).unwrap())
    }

    fn wire(text: &str) -> Vec<u8> {
        Name::from_text(text, None)
            .unwrap()
            .to_lowercase()
            .as_wire()
            .to_vec()
    }

    fn found(catalog: &Catalog, qname: &str) -> Option<String> {
        catalog
            .find(&wire(qname), false)
            .map(|(served, _)| served.zone.origin.to_string())
    }

    /// Apexes are matched whatever the case they were written in, on
    /// insert, replace, lookup and removal, in one shard and in many.
    #[test]
    fn apex_case_does_not_matter() {
        for fillers in [0, 2000] {
            let mut catalog = Catalog::new();
            for i in 0..fillers {
                catalog.insert(zone(&format!("f{i}.test.")));
            }
            catalog.insert(zone("Mixed.Example."));
            assert_eq!(
                found(&catalog, "www.mixed.example.").as_deref(),
                Some("Mixed.Example.")
            );
            catalog.insert(zone("MIXED.example."));
            assert_eq!(catalog.len(), fillers + 1, "replaced, not added");
            assert_eq!(
                found(&catalog, "mixed.example.").as_deref(),
                Some("MIXED.example.")
            );
            let lower = Name::from_text("mixed.example.", None).unwrap();
            assert!(catalog.get(&lower).is_some());
            assert!(
                catalog
                    .remove(&Name::from_text("Mixed.EXAMPLE.", None).unwrap())
                    .is_some()
            );
            assert_eq!(catalog.len(), fillers);
            assert_eq!(found(&catalog, "www.mixed.example."), None);
            assert!(catalog.remove(&lower).is_none());
        }
    }

    #[test]
    fn many_zones_are_found_by_the_closest_apex() {
        let mut catalog = Catalog::new();
        for i in 0..3000 {
            catalog.insert(zone(&format!("z{i}.pool.test.")));
        }
        catalog.insert(zone("pool.test."));
        assert_eq!(catalog.len(), 3001);
        assert!(catalog.groups[0].len() > 1, "grown past one shard");
        for i in (0..3000).step_by(7) {
            assert_eq!(
                found(&catalog, &format!("www.Z{i}.pool.test.")).as_deref(),
                Some(format!("z{i}.pool.test.").as_str())
            );
        }
        assert_eq!(
            found(&catalog, "other.pool.test.").as_deref(),
            Some("pool.test.")
        );
        assert_eq!(found(&catalog, "example.org."), None);
        assert_eq!(catalog.zones().count(), 3001);
        // DS is answered by the parent side of a cut.
        let (served, _) = catalog.find(&wire("z5.pool.test."), true).unwrap();
        assert_eq!(served.zone.origin.to_string(), "pool.test.");
    }

    #[test]
    fn a_change_copies_one_shard_and_leaves_the_old_catalog_whole() {
        let mut old = Catalog::new();
        for i in 0..5000 {
            old.insert(zone(&format!("z{i}.pool.test.")));
        }
        let mut new = old.clone();
        assert_eq!(new.generation(), old.generation());
        new.insert(zone("fresh.pool.test."));
        assert!(
            new.remove(&Name::from_text("z17.pool.test.", None).unwrap())
                .is_some()
        );
        assert!(
            new.remove(&Name::from_text("absent.test.", None).unwrap())
                .is_none()
        );
        assert_ne!(new.generation(), old.generation());
        assert!(old.groups.len() > 1, "grown past one group");
        // Each change copied one group and one shard in it.
        let groups_shared = old
            .groups
            .iter()
            .zip(new.groups.iter())
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert!(
            groups_shared >= old.groups.len() - 2,
            "{groups_shared} of {} groups shared",
            old.groups.len()
        );
        let shards = |c: &Catalog| {
            c.groups
                .iter()
                .flat_map(|g| g.iter().cloned())
                .collect::<Vec<_>>()
        };
        let (old_shards, new_shards) = (shards(&old), shards(&new));
        let shared = old_shards
            .iter()
            .zip(&new_shards)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert!(
            shared >= old_shards.len() - 2,
            "{shared} of {} shards shared",
            old_shards.len()
        );
        assert_eq!((old.len(), new.len()), (5000, 5000));
        assert_eq!(found(&old, "z17.pool.test."), Some("z17.pool.test.".into()));
        assert_eq!(found(&new, "z17.pool.test."), None);
        assert_eq!(found(&old, "fresh.pool.test."), None);
        assert_eq!(
            found(&new, "a.fresh.pool.test."),
            Some("fresh.pool.test.".into())
        );
        // Replacing a zone keeps the count.
        new.insert(zone("z1.pool.test."));
        assert_eq!(new.len(), 5000);
    }
}
