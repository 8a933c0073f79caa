//! The per-zone budget of fresh negative signatures (spec §2.4, "Random-
//! subdomain floods"; hardening issue #19 item 10).
//!
//! Compact denial signs an NSEC owned by each missing name, so a stream of
//! unique nonexistent names with DO=1 costs a signature per query. Each
//! zone may make `budget` such signatures per second; past that the zone
//! is *in fallback*: missing names are proven with NSECs over its real
//! names ([`super::ranges`]), a finite set whose signatures the cache
//! keeps. A zone leaves fallback after one whole second in which it asked
//! for at most `budget` fresh signatures (it keeps counting what it would
//! have signed while in fallback). Each change is logged once per zone.
//!
//! Lock-free on the answer path: a zone's state is a few atomics, found
//! through an [`ArcSwap`] of the table; the lock is taken only to add a
//! zone seen for the first time. The chain a zone falls back to is built on
//! a thread of its own, once per zone version and flood, and dropped when
//! the flood is over; until it is ready, answers stay compact (correct,
//! just not cheaper).

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use arc_swap::{ArcSwap, ArcSwapOption};
use rustc_hash::FxHashMap;

use super::ranges::RangeChain;
use crate::wire::Name;
use crate::zone::Zone;

/// Default fresh negative signatures per zone per second.
pub const DEFAULT_NEGATIVE_SIGNATURES_PER_ZONE: u32 = 1000;

/// What the denial stage does for one missing name that has no cached
/// compact signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charge {
    /// Sign a compact NSEC (within budget).
    Compact,
    /// Prove it with the zone's real-name ranges.
    Ranges,
}

/// One zone's budget, fallback state and counters.
pub struct ZoneFlood {
    /// The apex, for logs and metrics.
    zone: Name,
    /// `second << 32 | fresh signatures asked for in that second`.
    window: AtomicU64,
    /// The zone is in fallback.
    fallback: AtomicBool,
    /// A chain build is running.
    building: AtomicBool,
    /// The chain of the zone version last built.
    chain: ArcSwapOption<RangeChain>,
    /// Compact NSECs signed fresh within the budget.
    signed: AtomicU64,
    /// Missing names proven from ranges.
    ranged: AtomicU64,
    /// Times the zone entered fallback.
    episodes: AtomicU64,
}

impl ZoneFlood {
    fn new(zone: Name) -> ZoneFlood {
        ZoneFlood {
            zone,
            window: AtomicU64::new(0),
            fallback: AtomicBool::new(false),
            building: AtomicBool::new(false),
            chain: ArcSwapOption::empty(),
            signed: AtomicU64::new(0),
            ranged: AtomicU64::new(0),
            episodes: AtomicU64::new(0),
        }
    }

    /// Counts one fresh signature asked for at `now` (seconds) and says
    /// whether to make it.
    fn charge(&self, now: u64, budget: u32) -> Charge {
        let now32 = now as u32;
        let mut current = self.window.load(Relaxed);
        let count = loop {
            let (second, count) = split(current);
            // The window is this second, or a later one that a worker whose
            // clock read is a hair newer opened: count in it rather than
            // turning the window back.
            let current_or_later = second.wrapping_sub(now32) < 1 << 31;
            if current != 0 && current_or_later {
                let previous = self.window.fetch_add(1, Relaxed);
                break split(previous).1.saturating_add(1);
            }
            match self
                .window
                .compare_exchange(current, join(now32, 1), AcqRel, Relaxed)
            {
                Ok(_) => {
                    // The window turned: was the last second quiet?
                    self.settle_from(second, count, now32, budget);
                    break 1;
                }
                Err(seen) => current = seen,
            }
        };
        if count > budget && !self.fallback.swap(true, AcqRel) {
            self.episodes.fetch_add(1, Relaxed);
            tracing::warn!(
                zone = %self.zone,
                budget,
                "random-subdomain flood: over the budget of fresh negative \
                 signatures; proving missing names with NSEC ranges over the real names"
            );
        }
        if self.fallback.load(Acquire) {
            Charge::Ranges
        } else {
            self.signed.fetch_add(1, Relaxed);
            Charge::Compact
        }
    }

    /// Ends fallback when the window (`second`, `count`) shows a whole
    /// second at or under `budget` before `now`.
    fn settle_from(&self, second: u32, count: u32, now: u32, budget: u32) {
        let quiet = now.wrapping_sub(second) > 1 || count <= budget;
        if quiet && self.fallback.swap(false, AcqRel) {
            // The chain is only for floods: the next one builds it again
            // (off the answer path), and a zone since deleted keeps none.
            self.chain.store(None);
            tracing::info!(
                zone = %self.zone,
                "random-subdomain flood over; compact denial again"
            );
        }
    }

    /// Ends fallback if a quiet second has passed by `now`, without a
    /// query (a scrape of `/metrics` calls it).
    fn settle(&self, now: u64, budget: u32) {
        if !self.fallback.load(Relaxed) {
            return;
        }
        let (second, count) = split(self.window.load(Relaxed));
        if second != now as u32 {
            self.settle_from(second, count, now as u32, budget);
        }
    }

    /// The chain of exactly this version of the zone, or `None` while it
    /// is being built (a build is started on a thread of its own).
    pub fn chain_for(self: &Arc<Self>, zone: &Arc<Zone>) -> Option<Arc<RangeChain>> {
        let current = self.chain.load_full();
        if let Some(chain) = current.filter(|chain| chain.is_for(zone)) {
            return Some(chain);
        }
        if self
            .building
            .compare_exchange(false, true, AcqRel, Relaxed)
            .is_ok()
        {
            let (state, zone) = (Arc::clone(self), Arc::clone(zone));
            let spawned = std::thread::Builder::new()
                .name("nsec-ranges".into())
                .spawn(move || {
                    let chain = RangeChain::build(&zone);
                    state.chain.store(Some(Arc::new(chain)));
                    state.building.store(false, Release);
                });
            if spawned.is_err() {
                self.building.store(false, Release);
            }
        }
        None
    }

    /// Counts an answer proven from ranges.
    pub fn count_ranged(&self) {
        self.ranged.fetch_add(1, Relaxed);
    }
}

fn split(window: u64) -> (u32, u32) {
    ((window >> 32) as u32, window as u32)
}

fn join(second: u32, count: u32) -> u64 {
    u64::from(second) << 32 | u64::from(count)
}

/// One zone's figures for `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloodStats {
    pub zone: Name,
    /// Compact NSECs signed fresh within the budget.
    pub fresh_signatures: u64,
    /// Missing names proven from ranges.
    pub range_answers: u64,
    /// Times the zone entered fallback.
    pub episodes: u64,
    /// In fallback now.
    pub active: bool,
}

/// The budget of every signed zone. Shared by all workers (in the
/// [`super::Signer`]).
pub struct NegativeBudget {
    /// Fresh negative signatures per zone per second; 0: no cap.
    per_second: u32,
    zones: ArcSwap<FxHashMap<Box<[u8]>, Arc<ZoneFlood>>>,
    /// Taken only to add a zone to `zones`.
    adding: Mutex<()>,
}

impl std::fmt::Debug for NegativeBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NegativeBudget")
            .field("per_second", &self.per_second)
            .field("zones", &self.zones.load().len())
            .finish()
    }
}

impl NegativeBudget {
    /// A budget of `per_second` fresh negative signatures per zone; 0
    /// turns the cap off (always compact).
    pub fn new(per_second: u32) -> NegativeBudget {
        NegativeBudget {
            per_second,
            zones: ArcSwap::from_pointee(FxHashMap::default()),
            adding: Mutex::new(()),
        }
    }

    /// The cap, 0 when off.
    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// True when there is a cap.
    pub fn enabled(&self) -> bool {
        self.per_second > 0
    }

    /// Counts one fresh compact signature that `zone` (its lowercase
    /// apex) asks for at `now`. With [`Charge::Ranges`], the zone's state
    /// is returned for the chain and the count of range answers.
    pub fn charge(&self, zone: &Name, now: u64) -> (Charge, Option<Arc<ZoneFlood>>) {
        if !self.enabled() {
            return (Charge::Compact, None);
        }
        let state = self.zone(zone);
        let charge = state.charge(now, self.per_second);
        (charge, Some(state))
    }

    /// The state of `zone`, added on first sight.
    fn zone(&self, zone: &Name) -> Arc<ZoneFlood> {
        if let Some(state) = self.zones.load().get(zone.as_wire()) {
            return Arc::clone(state);
        }
        let _adding = self.adding.lock().unwrap_or_else(|e| e.into_inner());
        let table = self.zones.load_full();
        if let Some(state) = table.get(zone.as_wire()) {
            return Arc::clone(state);
        }
        let state = Arc::new(ZoneFlood::new(zone.clone()));
        let mut next = (*table).clone();
        next.insert(zone.as_wire().into(), Arc::clone(&state));
        self.zones.store(Arc::new(next));
        state
    }

    /// Every zone seen so far, after ending fallbacks whose flood is over
    /// by `now`; sorted by zone.
    pub fn stats(&self, now: u64) -> Vec<FloodStats> {
        let mut out: Vec<FloodStats> = self
            .zones
            .load()
            .values()
            .map(|state| {
                state.settle(now, self.per_second);
                FloodStats {
                    zone: state.zone.clone(),
                    fresh_signatures: state.signed.load(Relaxed),
                    range_answers: state.ranged.load(Relaxed),
                    episodes: state.episodes.load(Relaxed),
                    active: state.fallback.load(Relaxed),
                }
            })
            .collect();
        out.sort_by(|a, b| a.zone.cmp(&b.zone));
        out
    }
}

#[cfg(test)]
mod tests;
