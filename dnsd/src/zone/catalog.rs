//! The set of served zones, found by the most specific enclosing apex.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashMap;

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

/// Every zone the server answers for. Built off the answer path and
/// published whole; never modified once shared.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    zones: FxHashMap<Box<[u8]>, Served>,
    /// Changes with every change to the zones; two catalogs with the same
    /// generation hold the same data (a clone keeps it). Workers' reply
    /// templates follow it.
    generation: u64,
}

/// Source of catalog generations; 0 is the empty default catalog's.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
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
        self.zones
            .insert(served.zone.origin.to_lowercase().as_wire().into(), served);
    }

    /// Removes the zone at `origin`.
    pub fn remove(&mut self, origin: &Name) -> Option<Arc<Zone>> {
        self.changed();
        self.zones
            .remove(origin.to_lowercase().as_wire())
            .map(|s| s.zone)
    }

    /// The zone with exactly this origin.
    pub fn get(&self, origin: &Name) -> Option<&Arc<Zone>> {
        self.zones
            .get(origin.to_lowercase().as_wire())
            .map(|s| &s.zone)
    }

    /// The zone with exactly this origin, with its keys.
    pub fn get_served(&self, origin: &Name) -> Option<&Served> {
        self.zones.get(origin.to_lowercase().as_wire())
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
        self.zones.len()
    }

    /// True when no zone is served.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// Iterates over the zones.
    pub fn zones(&self) -> impl Iterator<Item = &Arc<Zone>> {
        self.zones.values().map(|s| &s.zone)
    }

    /// The most specific zone enclosing `lower_wire` (a lowercase wire name),
    /// with the offset in `lower_wire` where the zone's apex starts.
    /// `skip_exact` ignores a zone whose apex is the name itself (DS queries
    /// are answered by the parent side of a cut, RFC 4035 §3.1.4.1).
    #[inline]
    pub fn find(&self, lower_wire: &[u8], skip_exact: bool) -> Option<(&Served, usize)> {
        if self.zones.is_empty() {
            return None;
        }
        let mut pos = 0;
        if skip_exact && lower_wire.len() > 1 {
            pos = 1 + lower_wire[0] as usize;
        }
        loop {
            if let Some(served) = self.zones.get(&lower_wire[pos..]) {
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
